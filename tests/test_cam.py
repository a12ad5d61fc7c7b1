"""cam.py end to end: headless JSON on generated videos and images, and its faults."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import cam
from recognizer import Recognizer
from recognizer.result import Digit, Reading
from scripts import benchmark_cam as bench

ROOT = Path(__file__).resolve().parent.parent
STILL_FRAMES = 24


@pytest.fixture(scope="module")
def source(mnist):
    return bench.load_set("mnist", np.random.default_rng(0))


def scene_of(source, seed: int, frames: int, speed: float = 0.0) -> bench.Scene:
    """A mild webcam (slight blur and noise) centred on 1-3 lines of MNIST test numbers."""
    rng = np.random.default_rng(seed)
    camera = bench.Camera(perspective=0.02, blur=0.6, noise=3.0, flicker=0.02, jpeg=85, jitter=0.8)
    return bench.make_scene(rng, source, camera, speed=speed, frames=frames, seed=seed)


def decoded(data: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def write_video(path: Path, frames: list[np.ndarray]) -> Path:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, bench.VIEW)
    for frame in frames:
        writer.write(frame)
    writer.release()
    return path


def run_cam(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "cam.py"), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)


def json_lines(stdout: str) -> list[dict]:
    lines = [json.loads(line) for line in stdout.splitlines()]
    assert [r["frame"] for r in lines] == list(range(len(lines)))
    for r in lines:
        assert set(r) == {"frame", "text", "digits", "ms"} and r["ms"] > 0
        for d in r["digits"]:
            assert set(d) == {"label", "confidence", "box"} and len(d["box"]) == 4
    return lines


def test_headless_json_reads_a_panning_video(source, tmp_path):
    scene = scene_of(source, seed=3, frames=40, speed=2.0)
    frames, full = zip(*((decoded(d), f) for d, f in bench.scene_frames(scene)), strict=True)
    assert all(full)  # the numbers stay in view while the camera drifts
    video = write_video(tmp_path / "pan.avi", list(frames))
    done = run_cam("--source", str(video), "--headless", "--json")
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stdout)
    assert len(lines) == len(frames)
    texts = [r["text"] for r in lines]
    assert texts[-1] == scene.text
    assert sum(t == scene.text for t in texts[10:]) >= 0.9 * len(texts[10:])
    last = lines[-1]
    assert "".join(str(d["label"]) for d in last["digits"]) == scene.text.replace(" ", "").replace("\n", "")
    assert "end of input" in done.stderr and f"{len(frames)} frames" in done.stderr


def test_single_image(source, tmp_path):
    scene = scene_of(source, seed=4, frames=1)
    image = tmp_path / "note.png"
    data, full = next(bench.scene_frames(scene))
    assert full
    cv2.imwrite(str(image), decoded(data))
    done = run_cam("--source", str(image), "--headless", "--json")
    assert done.returncode == 0, done.stderr
    (line,) = json_lines(done.stdout)
    assert line["text"] == scene.text
    assert len(line["digits"]) == len(scene.boxes)


def test_empty_video_gives_no_digits_and_no_error(tmp_path):
    black = np.zeros((480, 640, 3), np.uint8)
    white = np.full((480, 640, 3), 255, np.uint8)
    grey_noise = np.random.default_rng(0).normal(128, 3, (480, 640, 3)).clip(0, 255).astype(np.uint8)
    video = write_video(tmp_path / "empty.avi", [black] * 4 + [white] * 4 + [grey_noise] * 4)
    done = run_cam("--source", str(video), "--headless", "--json")
    assert done.returncode == 0, done.stderr
    lines = json_lines(done.stdout)
    assert len(lines) == 12
    assert all(r["text"] == "" and r["digits"] == [] for r in lines)


def test_region_of_interest_reads_only_inside(source, tmp_path):
    scene = scene_of(source, seed=6, frames=12)
    frames = [decoded(d) for d, _ in bench.scene_frames(scene)]
    assert "\n" in scene.text
    first = [b for b, li in zip(scene.boxes, _lines_of(scene), strict=True) if li == 0]
    matrix = bench.view_matrix(scene, 0)
    corners = np.float32([[[x, y]] for bx, by, bw, bh in first
                          for x, y in ((bx, by), (bx + bw, by + bh))])
    moved = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
    x0, y0 = (moved.min(axis=0) - 12).astype(int)
    x1, y1 = (moved.max(axis=0) + 12).astype(int)
    video = write_video(tmp_path / "roi.avi", frames)
    done = run_cam("--source", str(video), "--headless", "--json", "--roi", f"{x0},{y0},{x1 - x0},{y1 - y0}")
    assert done.returncode == 0, done.stderr
    last = json_lines(done.stdout)[-1]
    assert last["text"] == scene.text.split("\n")[0]
    for d in last["digits"]:
        x, y, w, h = d["box"]
        assert x0 <= x and y0 <= y and x + w <= x1 and y + h <= y1


def _lines_of(scene: bench.Scene) -> list[int]:
    """Line index of each true box, from the text's digit counts per line."""
    out = []
    for li, line in enumerate(scene.text.split("\n")):
        out += [li] * len(line.replace(" ", ""))
    return out


def test_missing_camera_index_is_a_clear_error():
    done = run_cam("--source", "7", "--headless", "--json")
    assert done.returncode != 0
    assert done.stdout == ""
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "camera 7" in err[0] and "--source" in err[0]


@pytest.mark.parametrize("args, words", [
    (["--headless", "--model", "/nonexistent/cnn.onnx"], ["/nonexistent/cnn.onnx", "not found"]),
    (["--headless", "--source", "/nonexistent/video.mp4"], ["/nonexistent/video.mp4", "no such file"]),
    (["--json"], ["--headless"]),
])
def test_bad_options_are_one_line_errors(args, words, tmp_path):
    image = tmp_path / "blank.png"
    cv2.imwrite(str(image), np.full((48, 64), 255, np.uint8))
    done = run_cam("--source", str(image), *args)
    assert done.returncode == 2 and done.stdout == ""
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err


def test_not_a_video_is_a_clear_error(tmp_path):
    bogus = tmp_path / "clip.mp4"
    bogus.write_bytes(b"this is not a video")
    done = run_cam("--source", str(bogus), "--headless", "--json")
    assert done.returncode == 2 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1 and "clip.mp4" in done.stderr


def test_camera_that_stops_is_retried_then_ends_cleanly(source, monkeypatch, capsys):
    """A fake camera: three frames, then nothing; the run retries, prints its summary, exits 1."""
    monkeypatch.setattr(cam, "RETRY_WAIT_S", 0.0)
    scene = scene_of(source, seed=8, frames=3)
    frames = [decoded(d) for d, _ in bench.scene_frames(scene)]
    calls = {"n": 0}

    def read():
        calls["n"] += 1
        return frames[calls["n"] - 1] if calls["n"] <= len(frames) else None

    fake = cam.Source("camera 0", "camera", read)
    out = io.StringIO()
    code = cam.run_headless(fake, Recognizer.load("cnn"), None, True, out)
    assert code == 1
    assert len(json_lines(out.getvalue())) == 3
    assert calls["n"] == 3 + 1 + cam.READ_RETRIES
    err = capsys.readouterr().err
    assert err.count("retrying") == cam.READ_RETRIES and "camera stopped delivering frames" in err


def test_annotated_frame_has_boxes_and_status_bar(source):
    scene = scene_of(source, seed=9, frames=1)
    frame = decoded(next(bench.scene_frames(scene))[0])
    tracker = cam.Tracker(min_votes=1, text_confirm=1)
    result = cam.process_frame(Recognizer.load("cnn"), tracker, frame)
    shown = cam.annotate(frame, result, (10, 10, 100, 100), "status")
    assert shown.shape == (frame.shape[0] + cam.STATUS_BAR_H, frame.shape[1], 3)
    x, y, w, h = result.stable.digits[0].box
    assert (shown[y, x : x + w] == cam.GREEN).all(axis=1).mean() > 0.5  # the box outline is drawn


def test_the_webcam_reads_with_the_ensemble_unless_told_otherwise():
    assert cam.build_parser().parse_args([]).model == "ensemble"
    assert cam.build_parser().parse_args(["--model", "cnn"]).model == "cnn"


def test_roi_past_the_frame_is_clipped_with_a_warning_and_one_outside_is_refused(capsys):
    shape = (480, 640, 3)
    assert cam.fit_roi((600, 400, 200, 200), shape) == (600, 400, 40, 80)
    assert cam.fit_roi((10, 10, 100, 100), shape) == (10, 10, 100, 100)  # inside: said nothing
    assert cam.fit_roi(None, shape) is None
    assert capsys.readouterr().err.splitlines() == [
        "cam.py: warning: --roi 600,400,200,200 reaches past the 640x480 frame; reading 600,400,40,80"]
    for outside in ((640, 0, 50, 50), (0, 480, 50, 50)):
        with pytest.raises(cam.RoiError, match="outside the 640x480 frame"):
            cam.fit_roi(outside, shape)


def test_headless_text_is_one_readable_line_per_change_and_warns_of_a_clipped_roi_once(source, capsys):
    scene = scene_of(source, seed=6, frames=12)
    frames = iter([decoded(d) for d, _ in bench.scene_frames(scene)])
    fake = cam.Source("clip.avi", "video", lambda: next(frames, None))
    out = io.StringIO()
    height, width = decoded(next(bench.scene_frames(scene))[0]).shape[:2]
    code = cam.run_headless(fake, Recognizer.load("cnn"), (0, 0, width + 100, height + 100), False, out)
    assert code == 0
    lines = out.getvalue().splitlines()
    assert "\n" in scene.text and re.fullmatch(rf"frame \d+: {scene.text.replace(chr(10), ' / ')}", lines[-1])
    assert all(re.fullmatch(r"frame \d+: [\d /]+|frame \d+: \(no digits\)", line) for line in lines), lines
    err = capsys.readouterr().err
    assert err.count("reaches past") == 1 and "12 frames" in err
    assert "; 1 frame, " in cam.summary("x.png", [5.0], 0.1, "2024", "end of input")
    assert cam.frame_line(0, "") == "frame 0: (no digits)"


def roi_refused(tmp_path, height: int, width: int, roi: str) -> str:
    """cam.py on a blank image of that size with that --roi: refused (status 2, nothing on stdout),
    and the one stderr line that says why."""
    image = tmp_path / "blank.png"
    cv2.imwrite(str(image), np.full((height, width), 255, np.uint8))
    done = run_cam("--source", str(image), "--headless", "--model", "cnn", "--roi", roi)
    assert done.returncode == 2 and done.stdout == ""
    err = done.stderr.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_roi_wholly_outside_the_frame_is_a_one_line_error(tmp_path):
    assert "--roi 100,0,10,10 lies outside the 64x48 frame" in roi_refused(tmp_path, 48, 64, "100,0,10,10")


def test_negative_camera_index_is_a_clear_error_not_a_crash():
    done = run_cam("--source", "-1", "--headless", "--model", "cnn")
    assert done.returncode == 2 and done.stdout == ""  # OpenCV's "any camera" index crashed: status -11
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "camera -1" in err[0] and "--source N" in err[0], err


@pytest.mark.parametrize("cut", ["in the header", "before the first frame"])
def test_video_cut_before_its_first_frame_is_a_one_line_error(source, tmp_path, cut):
    """OpenCV's own AVI reader printed "Unexpected element..." above our line for a cut header, and a
    file that opened but held no frame ended as a normal, empty run."""
    frames = [decoded(d) for d, _ in bench.scene_frames(scene_of(source, seed=10, frames=3))]
    data = write_video(tmp_path / "whole.avi", frames).read_bytes()
    movi = data.index(b"movi")  # the frames' list: the header lies before it
    end = movi - 2000 if cut == "in the header" else data.index(b"00dc", movi) + 4
    video = tmp_path / "cut.avi"
    video.write_bytes(data[:end])
    done = run_cam("--source", str(video), "--model", "cnn", "--headless", "--json")
    assert done.returncode == 2 and done.stdout == ""
    err = done.stderr.strip().splitlines()
    assert len(err) == 1 and "cut.avi: cannot read this file as a video" in err[0], err
    with pytest.raises(cam.SourceError, match="cannot read"):  # the window opens its source the same way
        cam.open_source(str(video), bench.VIEW)


def test_video_cut_short_says_so_in_its_summary(source, tmp_path):
    """A file that stops well before the frame count in its header used to end like a whole one."""
    frames = [decoded(d) for d, _ in bench.scene_frames(scene_of(source, seed=11, frames=10))]
    whole = write_video(tmp_path / "whole.avi", frames)
    cut = tmp_path / "cut.avi"
    data = whole.read_bytes()
    cut.write_bytes(data[: len(data) // 3])
    done = run_cam("--source", str(cut), "--headless", "--json", "--model", "cnn")
    assert done.returncode == 0, done.stderr
    n = len(json_lines(done.stdout))
    assert 1 <= n < len(frames)
    assert f"end of input after {n} of the {len(frames)} frames the file announces (cut short" in done.stderr
    done = run_cam("--source", str(whole), "--headless", "--json", "--model", "cnn")
    assert done.returncode == 0 and "end of input; 10 frames" in done.stderr
    assert "cut short" not in done.stderr


def test_reader_that_stops_reading_ends_the_run_quietly(tmp_path):
    """`cam.py --headless --json | head -1`: the closed pipe used to end in a BrokenPipeError traceback."""
    video = write_video(tmp_path / "still.avi", [np.full((480, 640, 3), 255, np.uint8)] * 6)
    command = [sys.executable, str(ROOT / "cam.py"), "--source", str(video), "--headless", "--json",
               "--model", "cnn"]
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
    run.stdout.close()  # the reader leaves before the first line
    err = run.communicate(timeout=120)[1]
    assert run.returncode == 0, err
    assert "Traceback" not in err and "Exception ignored" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{video}: output closed; 1 frame,"), lines


@pytest.mark.parametrize("step", ["Recognizer.load", "open_source"])
def test_ctrl_c_while_starting_is_one_line(step, monkeypatch, capsys):
    """Ctrl+C while the model loads or a camera is probed used to print a KeyboardInterrupt traceback."""
    def interrupted(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cam.runtime, "WIDE_THREADS", cam.runtime.WIDE_THREADS)  # restored after: main sets it
    monkeypatch.setattr(cam.cv2, "setNumThreads", lambda _: None)
    if step == "open_source":
        monkeypatch.setattr(cam, "open_source", interrupted)
    else:
        monkeypatch.setattr(cam.Recognizer, "load", interrupted)
    assert cam.main(["--source", "0", "--headless", "--model", "cnn"]) == 130
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.splitlines() == ["cam.py: interrupted"]


def test_saving_to_a_folder_that_cannot_be_written_warns_and_goes_on(tmp_path, monkeypatch, capsys):
    """S with a --save-dir under a file (or a full disk) used to end the live session in a traceback."""
    frame = np.full((48, 64, 3), 255, np.uint8)
    reading = Recognizer.load("cnn").read(frame)
    blocker = tmp_path / "notes.txt"
    blocker.write_text("a file, not a folder")
    viewer = cam.Viewer(cam.Source("x.png", "image", lambda: frame), Recognizer.load("cnn"), None,
                        blocker / "captures", {})
    viewer.save(frame, reading)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith("cam.py: warning: not saved: ") and "--save-dir" in err[0], err
    viewer.save_dir = tmp_path / "full"
    monkeypatch.setattr(cam.cv2, "imwrite", lambda *_: False)  # what imwrite answers when the disk is full
    viewer.save(frame, reading)
    err = capsys.readouterr().err
    assert "not saved: cannot write" in err and "saved " not in err.replace("not saved", "")
    assert not list((tmp_path / "full").glob("*.json"))


class FakeWindow:
    """cv2's window calls, scripted: `keys` are answered by waitKey in turn (-1: none), then Q."""

    def __init__(self, monkeypatch, keys: str) -> None:
        self.keys = [-1 if k == "." else ord(k) for k in keys]
        self.shown: list[np.ndarray] = []
        for name, fn in {"namedWindow": lambda *_: None, "setMouseCallback": lambda *_: None,
                         "destroyAllWindows": lambda: None, "getWindowProperty": lambda *_: 1.0,
                         "imshow": lambda _, image: self.shown.append(image),
                         "waitKey": lambda *_: self.keys.pop(0) if self.keys else ord("q")}.items():
            monkeypatch.setattr(cam.cv2, name, fn)


def test_model_switched_while_paused_reads_the_frozen_frame_again(source, tmp_path, monkeypatch, capsys):
    """Paused, M showed the new model's name over the old model's reading, and S saved that reading."""
    frames = [decoded(d) for d, _ in bench.scene_frames(scene_of(source, seed=6, frames=12))]
    feed = iter(frames)
    cnn, svc = Recognizer.load("cnn"), Recognizer.load("svc")
    FakeWindow(monkeypatch, "." * 7 + " m" + "." * 6 + "s")  # play, pause, switch to SVC, wait, save
    viewer = cam.Viewer(cam.Source("clip.avi", "video", lambda: next(feed, None)), cnn, None, tmp_path,
                        {"cnn": cnn, "svc": svc})
    assert viewer.run() == 0
    frozen = frames[7]  # the frame on screen when space was pressed (the 8th key)
    tracker = cam.Tracker()
    while not tracker.settled:
        expected = cam.process_frame(svc, tracker, frozen).stable.text
    before = cam.process_frame(cnn, cam.new_tracker(cam.Source("f", "image", lambda: frozen)), frozen)
    assert expected and expected != before.stable.text  # the two models read this frame apart
    (saved,) = tmp_path.glob("*.json")
    assert json.loads(saved.read_text())["text"] == expected
    assert "model: SVC" in capsys.readouterr().err


def _labelled(shape: tuple[int, int], box: cam.Box, text: str = "", keys: str = "") -> np.ndarray:
    """An annotated flat grey frame with one stable digit 2 in `box`."""
    frame = np.full((*shape, 3), 128, np.uint8)
    two = Digit(2, 0.99, box, np.eye(10, dtype=np.float32)[2], np.zeros((28, 28), np.float32))
    reading = Reading(text or "2", [two])
    result = cam.FrameResult(reading, Reading("", []), 1.0)
    return cam.annotate(frame, result, None, "30.0 fps  CNN", *([keys] if keys else []))


def test_labels_stay_whole_at_the_edges_of_the_frame():
    """A digit at the right edge (a page panning out) had its label cut off by the frame's edge."""
    def label_ink(shown: np.ndarray) -> int:
        return int((shown[: -cam.STATUS_BAR_H] < 60).all(axis=2).sum())  # the label's black text on grey

    for box in [(622, 200, 28, 40), (630, 0, 10, 40), (0, 0, 28, 480), (600, 445, 40, 35), (-8, 100, 20, 40)]:
        whole = label_ink(_labelled((1200, 1600), (800, 600, 28, box[3])))  # its label in the open
        assert whole > 20
        assert label_ink(_labelled((480, 640), box)) == whole, box
        tw, th = cv2.getTextSize("2", cam.FONT, 0.8, 2)[0]
        x, y = cam.label_place(box, (tw, th), (480, 640))
        assert 0 <= x and x + tw + 4 < 640 and 0 <= y - th - 3 and y + 3 < 480, box


def test_status_bar_text_fits_narrow_frames():
    """On a 320 px wide (or portrait) frame the reading and the status ran off the bar's right edge."""
    long_text = "1\n".join(["12345 67890 12 3"] * 4)
    for width in (640, 360, 320, 160, 64):
        shown = _labelled((240, width), (10, 60, 28, 40), long_text, cam.KEYS)
        bar = shown[-cam.STATUS_BAR_H :]
        assert (bar[:, -6:] == 30).all(), width  # nothing drawn in the right margin
        assert (bar[:30] > 200).any() and (bar[30:] > 150).any(), width  # the reading and the status
    wide = _labelled((480, 640), (10, 60, 28, 40), "75318\n177 96", cam.KEYS)[-cam.STATUS_BAR_H :]
    narrow = _labelled((480, 320), (10, 60, 28, 40), "75318\n177 96", cam.KEYS)[-cam.STATUS_BAR_H :]
    assert (wide[30:, 320:] > 150).any() and not (narrow[30:, 300:] > 150).any()  # keys only where they fit
    text, scale = cam.fit_text("12  34  /  56", 1000, 0.7, 2)
    assert (text, scale) == ("12  34  /  56", 0.7)  # short text is left as it is
    text, scale = cam.fit_text("1234567890" * 10, 100, 0.7, 2)
    assert text.endswith("...") and scale == cam.MIN_TEXT_SCALE and cam.text_width(text, scale, 2) <= 100


def test_roi_outside_a_scaled_down_source_names_the_source_size(tmp_path, capsys):
    """A 4K video is read at 640x480: its user, measuring --roi in the video, was told of a 640x480
    frame with no word of the scaling."""
    err = roi_refused(tmp_path, 2160, 3840, "1200,600,800,400")
    assert "lies outside the 640x360 frame" in err and "the 3840x2160 source scaled down" in err
    assert cam.fit_roi((600, 300, 100, 100), (360, 640, 3), (3840, 2160)) == (600, 300, 40, 60)
    assert "reaches past the 640x360 frame (the 3840x2160 source scaled down" in capsys.readouterr().err
    cam.fit_roi((600, 300, 100, 100), (480, 640, 3), (640, 480))  # not scaled: no word of it
    assert "scaled" not in capsys.readouterr().err


def test_r_without_a_region_keeps_the_reading(source, monkeypatch, capsys):
    """R with no region of interest to clear used to reset the tracker: the reading vanished for 5 frames."""
    scene = scene_of(source, seed=6, frames=12)
    frames = [decoded(d) for d, _ in bench.scene_frames(scene)]
    cnn = Recognizer.load("cnn")
    for roi, resets in ((None, False), ((0, 0, 640, 240), True)):  # R on the 10th frame of 12
        feed = iter(frames)
        FakeWindow(monkeypatch, "." * 9 + "r" + "." * 12)
        viewer = cam.Viewer(cam.Source("clip.avi", "video", lambda feed=feed: next(feed, None)), cnn, roi,
                            Path("unused"), {"cnn": cnn})
        assert viewer.run() == 0
        assert viewer.roi is None
        assert viewer.tracker.frame == (1 if resets else len(frames) - 1)
        if not resets:  # two frames after R: a reset tracker would show nothing yet
            assert capsys.readouterr().err.endswith("last reading: " + scene.text.replace("\n", " / ") + "\n")


def test_help_names_the_window_keys():
    """The keys and the mouse drag were only in the README and the window's status bar, not in --help."""
    done = run_cam("--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for words in ("space pause", "S save", "M switch model", "R clear the region", "Q or Esc quit", "drag",
                  "Ctrl+C"):
        assert words in text, words
