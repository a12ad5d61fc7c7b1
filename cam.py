"""`python cam.py`: hold handwritten numbers up to a webcam and read them live.

The thin OpenCV edge of the product: it opens a camera, a video file or an image, sends each
frame (or the region of interest) through `Recognizer.read` (one batched model call per frame),
steadies the per-frame results with `recognizer.tracking.Tracker`, and draws boxes, labels and a
status bar. `--headless --json` prints one JSON line per frame instead of showing a window.

Keys: space pause, S save the annotated frame and the reading, M switch CNN/SVC, R clear the
region of interest, Q or Esc quit. Drag with the mouse to choose a region of interest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # FFmpeg's own log lines are not for users: we explain

import cv2  # noqa: E402
import numpy as np  # noqa: E402

from recognizer import ModelError, Reading, Recognizer, runtime  # noqa: E402
from recognizer.tracking import Tracker  # noqa: E402

Box = tuple[int, int, int, int]

READ_RETRIES = 5  # a camera that returns no frame this many times in a row has stopped
RETRY_WAIT_S = 0.2  # pause between retries: USB cameras drop out for a moment when re-negotiating
CUT_SHORT = 0.95  # a video ending before this share of its announced frames was cut (counts may be estimates)
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".pgm", ".ppm")
STATUS_BAR_H = 52  # px under the video for the reading, the frame rate and the model
MIN_ROI_SIDE = 16  # a drag smaller than this is a click, not a region
FPS_SMOOTHING = 0.9  # exponential average of the frame rate: readable, yet follows a change in a second
KEYS = "space pause  S save  M model  R clear ROI  Q quit"  # shown in the status bar where it fits
WINDOW = "Digit Recognition - webcam"
GREEN, ORANGE, GREY = (60, 200, 60), (0, 150, 255), (150, 150, 150)  # BGR
BLUE, WHITE = (255, 160, 40), (255, 255, 255)
FONT = cv2.FONT_HERSHEY_SIMPLEX
MIN_TEXT_SCALE = 0.35  # the smallest status bar text still readable; longer text is cut with "..."
UNSURE = 0.7  # stable digits below this voted confidence are boxed orange: worth a second look


class SourceError(RuntimeError):
    """A camera or file that cannot be opened; the message says what to do instead."""


class RoiError(ValueError):
    """--roi lies wholly outside the frame (known only once the first frame is read)."""


# ---------------------------------------------------------------- sources

@dataclass
class Source:
    """Frames from a camera, a video file or one still image, at most `size` (w, h) large."""

    name: str
    kind: str  # "camera", "video" or "image"
    read_frame: Callable[[], np.ndarray | None]
    release: Callable[[], None] = lambda: None
    size: tuple[int, int] = (640, 480)
    frame_count: int = 0  # frames a video file's header announces (0: unknown, a camera or an image)
    delivered: int = 0  # frames yielded so far
    native: tuple[int, int] | None = None  # (w, h) of the last frame as read, before `fit` scaled it

    def frames(self, on_retry: Callable[[str], None] = lambda _: None):
        """Yield frames until the file ends or the camera stops (after READ_RETRIES tries)."""
        if self.kind == "image":
            frame = self.read_frame()
            if frame is not None:
                yield self._fitted(frame)
            return
        while True:
            frame = self.read_frame()
            tries = 0
            while frame is None and self.kind == "camera" and tries < READ_RETRIES:
                tries += 1
                on_retry(f"{self.name}: no frame, retrying ({tries}/{READ_RETRIES})")
                time.sleep(RETRY_WAIT_S)
                frame = self.read_frame()
            if frame is None:
                return
            yield self._fitted(frame)

    def _fitted(self, frame: np.ndarray) -> np.ndarray:
        self.delivered += 1
        self.native = (frame.shape[1], frame.shape[0])
        return fit(frame, self.size)

    def end_reason(self) -> str:
        """Why the frames ran out. A file that ends well short of the frame count in its header was cut
        short (an interrupted download or recording): said, since it would otherwise pass as whole."""
        if self.kind == "camera":
            return "camera stopped delivering frames"
        if self.frame_count and self.delivered < CUT_SHORT * self.frame_count - 1:
            return (f"end of input after {self.delivered} of the {self.frame_count} frames the file "
                    "announces (cut short or damaged)")
        return "end of input"


def fit(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale a frame larger than `size` (keeping its shape); grey frames become BGR for drawing."""
    if frame.ndim == 2:
        frame = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    elif frame.shape[2] == 4:
        frame = cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    if frame.dtype != np.uint8:
        frame = cv2.normalize(frame, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    h, w = frame.shape[:2]
    scale = min(size[0] / w, size[1] / h)
    if scale < 1:
        frame = cv2.resize(frame, (max(1, round(w * scale)), max(1, round(h * scale))),
                           interpolation=cv2.INTER_AREA)
    return frame


def open_source(spec: str, size: tuple[int, int]) -> Source:
    """`spec` is a camera index ("0", "1", ...) or a path to a video file or an image."""
    if spec.lstrip("-").isdigit():
        return open_camera(int(spec), size)
    path = Path(spec)
    if not path.exists():
        raise SourceError(f"{spec}: no such file (a camera is chosen by its index, e.g. --source 0)")
    if path.is_dir():
        raise SourceError(f"{spec}: is a folder, not a video or image")
    if path.suffix.lower() in IMAGE_EXTENSIONS:
        image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if image is None:
            raise SourceError(f"{spec}: cannot read this image (damaged or unsupported format)")
        return Source(str(path), "image", lambda: image, size=size)
    return open_video(path, size)


def open_video(path: Path, size: tuple[int, int]) -> Source:
    """A video file whose first frame can be read: one that opens but yields no frame (a recording cut
    off in its header) is as unreadable as one that does not open, in the window as headless."""
    with quiet_stderr():
        cap = cv2.VideoCapture(str(path))
        first = _grab(cap) if cap.isOpened() else None
    if first is None:
        cap.release()
        raise SourceError(f"{path}: cannot read this file as a video (damaged, empty or unsupported format)")
    pending = [first]
    count = max(0, int(cap.get(cv2.CAP_PROP_FRAME_COUNT)))
    return Source(str(path), "video", lambda: pending.pop() if pending else _grab(cap), cap.release, size,
                  count)


@contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send the process's own stderr (fd 2) to /dev/null: OpenCV's built-in AVI reader prints its parse
    errors there past any log level, and the user gets our one-line explanation instead."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def open_camera(index: int, size: tuple[int, int]) -> Source:
    """Camera `index`; a negative one is refused here, since OpenCV's "any camera" (-1) crashes the
    process (a segmentation fault) when there is none."""
    if index < 0:
        raise SourceError(f"camera {index}: a camera index is 0 or more; "
                          f"choose a camera with --source N (0, 1, 2, ...) or read a file with --source FILE")
    level = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # backends log each failed probe
    try:
        cap = cv2.VideoCapture(index)
    finally:
        cv2.utils.logging.setLogLevel(level)
    if not cap.isOpened():
        cap.release()
        raise SourceError(
            f"camera {index} cannot be opened (none connected, or in use by another program); "
            f"choose another camera with --source N (0, 1, 2, ...) or read a file with --source FILE"
        )
    cap.set(cv2.CAP_PROP_FRAME_WIDTH, size[0])
    cap.set(cv2.CAP_PROP_FRAME_HEIGHT, size[1])
    cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)  # show the newest frame, not one queued while we were reading
    return Source(f"camera {index}", "camera", lambda: _grab(cap), cap.release, size)


def _grab(cap: cv2.VideoCapture) -> np.ndarray | None:
    ok, frame = cap.read()
    return frame if ok and frame is not None and frame.size else None


# ---------------------------------------------------------------- the per-frame path

@dataclass
class FrameResult:
    stable: Reading  # the steady reading (tracked and voted)
    raw: Reading  # this frame's own reading
    ms: float  # time spent reading and tracking this frame


def clip_roi(roi: Box | None, shape: tuple[int, ...]) -> Box:
    """The region to read, inside the frame; the whole frame when there is none."""
    h, w = shape[:2]
    if roi is None:
        return (0, 0, w, h)
    x, y, rw, rh = roi
    x0, y0 = min(max(0, x), w - 1), min(max(0, y), h - 1)
    x1, y1 = min(w, x + rw), min(h, y + rh)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return (0, 0, w, h)
    return (x0, y0, x1 - x0, y1 - y0)


def fit_roi(roi: Box | None, shape: tuple[int, ...], native: tuple[int, int] | None = None) -> Box | None:
    """`roi` inside the frame, with one warning when it reaches past an edge and is clipped; one wholly
    outside is refused (`clip_roi` would read the whole frame instead, a silent surprise). `native`: the
    source's own frame size, named when it was scaled down, since --roi counts the scaled frame's pixels
    (a 4K video's user measured a region in 4K pixels and was told of a 640x480 frame)."""
    if roi is None:
        return None
    h, w = shape[:2]
    text = ",".join(map(str, roi))
    scaled = (f" (the {native[0]}x{native[1]} source scaled down to fit --width/--height: --roi is in "
              "the scaled frame's pixels)") if native and native != (w, h) else ""
    if roi[0] >= w or roi[1] >= h:  # parse_roi refuses negative x and y
        raise RoiError(f"--roi {text} lies outside the {w}x{h} frame, x below {w}, y below {h}{scaled}")
    clipped = clip_roi(roi, shape)
    if clipped != roi:
        _warn(f"cam.py: warning: --roi {text} reaches past the {w}x{h} frame{scaled}; "
              f"reading {','.join(map(str, clipped))}")
    return clipped


def process_frame(rec: Recognizer, tracker: Tracker, frame: np.ndarray,
                  roi: Box | None = None) -> FrameResult:
    """Read the region of interest (one batched model call), move boxes to frame pixels, track."""
    start = time.perf_counter()
    x, y, w, h = bounds = clip_roi(roi, frame.shape)
    raw = rec.read(frame[y : y + h, x : x + w], fast=True)
    if x or y:
        for d in raw.digits:
            d.box = (d.box[0] + x, d.box[1] + y, d.box[2], d.box[3])
    stable = tracker.update(raw.digits, bounds)
    return FrameResult(stable, raw, (time.perf_counter() - start) * 1000)


def frame_json(index: int, result: FrameResult) -> str:
    return json.dumps({"frame": index, "text": result.stable.text,
                       "digits": [d.to_dict() for d in result.stable.digits], "ms": round(result.ms, 2)})


# ---------------------------------------------------------------- drawing

def annotate(frame: np.ndarray, result: FrameResult, roi: Box | None, status: str,
             keys: str = "") -> np.ndarray:
    """The frame with raw boxes (thin grey), stable digits (green, orange when unsure, labelled), the ROI
    (blue) and a status bar with the stable reading, the status and, where they fit, the `keys`."""
    out = frame.copy()
    stable_boxes = {d.box for d in result.stable.digits}
    for d in result.raw.digits:
        if d.box not in stable_boxes:
            x, y, w, h = d.box
            cv2.rectangle(out, (x, y), (x + w, y + h), GREY, 1)
    for d in result.stable.digits:
        x, y, w, h = d.box
        colour = GREEN if d.confidence >= UNSURE else ORANGE
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, 2)
        label = f"{d.label}"
        scale = max(0.5, min(1.2, h / 50))
        (tw, th), _ = cv2.getTextSize(label, FONT, scale, 2)
        lx, ty = label_place(d.box, (tw, th), out.shape)
        cv2.rectangle(out, (lx, ty - th - 3), (lx + tw + 4, ty + 3), colour, -1)
        cv2.putText(out, label, (lx + 2, ty), FONT, scale, (0, 0, 0), 2, cv2.LINE_AA)
    if roi is not None:
        x, y, w, h = roi
        cv2.rectangle(out, (x, y), (x + w, y + h), BLUE, 1)
    bar = np.full((STATUS_BAR_H, out.shape[1], 3), 30, np.uint8)
    room = out.shape[1] - 16  # 8 px margins
    text = result.stable.text.replace(" ", "  ").replace("\n", "  /  ") or "-"  # wider gaps: Hershey is tight
    text, scale = fit_text(text, room, 0.7, 2)
    cv2.putText(bar, text, (8, 22), FONT, scale, WHITE, 2, cv2.LINE_AA)
    line = f"{status}   {keys}" if keys and text_width(f"{status}   {keys}", 0.45, 1) <= room else status
    line, scale = fit_text(line, room, 0.45, 1)
    cv2.putText(bar, line, (8, 44), FONT, scale, (200, 200, 200), 1, cv2.LINE_AA)
    return np.vstack([out, bar])


def label_place(box: Box, size: tuple[int, int], shape: tuple[int, ...]) -> tuple[int, int]:
    """Where a digit's label of `size` (w, h) is drawn (left, baseline): above its box, else below, else
    inside its top, and slid sideways to stay whole in the frame (at an edge it used to be cut off)."""
    x, y, w, h = box
    tw, th = size
    height, width = shape[:2]
    lx = min(max(0, x), max(0, width - tw - 5))
    if y - th - 7 >= 0:
        return lx, y - 4
    if y + h + th + 8 <= height:
        return lx, y + h + th + 4
    return lx, min(max(0, y) + th + 4, height - 4)


def text_width(text: str, scale: float, thickness: int) -> int:
    return cv2.getTextSize(text, FONT, scale, thickness)[0][0]


def fit_text(text: str, width: int, scale: float, thickness: int) -> tuple[str, float]:
    """`text` and a font scale that fit `width` px: smaller down to MIN_TEXT_SCALE, then cut with "..."
    (a long reading, or any status on a narrow or portrait frame, ran off the bar's right edge)."""
    full = text_width(text, scale, thickness)
    if full > width:
        scale = max(MIN_TEXT_SCALE, scale * width / full)
    if text_width(text, scale, thickness) <= width:
        return text, scale
    while text and text_width(text + "...", scale, thickness) > width:
        text = text[:-1]
    return text.rstrip() + "...", scale


# ---------------------------------------------------------------- runs

def summary(name: str, times: list[float], wall_s: float, last: str, reason: str) -> str:
    n = len(times)
    if not n:
        return f"{name}: {reason}; no frames"
    p95 = float(np.percentile(times, 95))
    fps = n / wall_s if wall_s > 0 else 0.0
    frames = f"{n} frame" if n == 1 else f"{n} frames"
    return (f"{name}: {reason}; {frames}, {statistics.median(times):.1f} ms median per frame "
            f"(p95 {p95:.1f}), {fps:.1f} fps; last reading: {last.replace(chr(10), ' / ') or '(none)'}")


def new_tracker(source: Source) -> Tracker:
    """A still image has no frames to vote over: its one reading is the stable one."""
    return Tracker(min_votes=1, text_confirm=1) if source.kind == "image" else Tracker()


def frame_line(index: int, text: str) -> str:
    """`frame 4: 305 8 6 / 7`: a reading's lines on one line, as the summary and `read` write them."""
    return f"frame {index}: {text.replace(chr(10), ' / ') or '(no digits)'}"


def run_headless(source: Source, rec: Recognizer, roi: Box | None, as_json: bool, out=sys.stdout) -> int:
    """Every frame, no window: one JSON line per frame on stdout (or, with --headless alone, a line
    each time the reading changes)."""
    tracker = new_tracker(source)
    times: list[float] = []
    last, prev = "", None
    start = time.perf_counter()
    for i, frame in enumerate(source.frames(on_retry=_warn)):
        if i == 0:
            roi = fit_roi(roi, frame.shape, source.native)
        result = process_frame(rec, tracker, frame, roi)
        times.append(result.ms)
        last = result.stable.text
        line = frame_json(i, result) if as_json else frame_line(i, last) if last != prev else None
        if line is not None and not emit(line, out):
            _warn(summary(source.name, times, time.perf_counter() - start, last, "output closed"))
            return 0
        prev = last
    _warn(summary(source.name, times, time.perf_counter() - start, last, source.end_reason()))
    return 1 if source.kind == "camera" else 0


def emit(line: str, out) -> bool:
    """Print one line; False when the reader has gone (`| head -1`, a closed pipe), which ends the run
    quietly rather than with a BrokenPipeError traceback."""
    try:
        print(line, file=out, flush=True)
    except BrokenPipeError:
        with suppress(AttributeError, OSError, ValueError):  # Python's own flush at exit would fail again
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, out.fileno())
            os.close(null)
        return False
    return True


class Viewer:
    """The window: shows annotated frames, handles keys and the mouse (ROI drag)."""

    def __init__(self, source: Source, rec: Recognizer, roi: Box | None, save_dir: Path,
                 models: dict[str, Recognizer]) -> None:
        self.source, self.rec, self.roi, self.save_dir, self.models = source, rec, roi, save_dir, models
        self.tracker = new_tracker(source)
        self.drag_start: tuple[int, int] | None = None
        self.drag_box: Box | None = None
        self.fps = 0.0
        self.paused = False
        self.saves = 0

    def on_mouse(self, event: int, x: int, y: int, _flags: int, _param) -> None:
        if event == cv2.EVENT_LBUTTONDOWN:
            self.drag_start, self.drag_box = (x, y), None
        elif event == cv2.EVENT_MOUSEMOVE and self.drag_start:
            x0, y0 = self.drag_start
            self.drag_box = (min(x0, x), min(y0, y), abs(x - x0), abs(y - y0))
        elif event == cv2.EVENT_LBUTTONUP and self.drag_start:
            if self.drag_box and min(self.drag_box[2:]) >= MIN_ROI_SIDE:
                self.roi = self.drag_box
                self.tracker.reset()
            self.drag_start, self.drag_box = None, None

    def run(self) -> int:
        frames = self.source.frames(on_retry=_warn)
        frame = next(frames, None)
        if frame is None:
            _warn(f"{self.source.name}: no frames")
            return 1
        self.roi = fit_roi(self.roi, frame.shape, self.source.native)
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE | cv2.WINDOW_GUI_NORMAL)  # no Qt toolbar: drags are ROIs
        cv2.setMouseCallback(WINDOW, self.on_mouse)
        times: list[float] = []
        start = last_tick = time.perf_counter()
        reason, code = "end of input", 0
        shown = None
        while True:
            roi = clip_roi(self.roi, frame.shape) if self.roi else None
            # a frozen frame (paused, or an image) is read again only after a reset (M, R, a new region),
            # until the tracker settles: the new model or region shows its own reading, not the old one
            frozen = self.paused or self.source.kind == "image"
            if shown is None or not frozen or not self.tracker.settled:
                result = process_frame(self.rec, self.tracker, frame, roi)
                times.append(result.ms)
                now = time.perf_counter()
                rate = 1.0 / max(now - last_tick, 1e-6)
                self.fps = rate if self.fps == 0 else FPS_SMOOTHING * self.fps + (1 - FPS_SMOOTHING) * rate
                last_tick = now
            paused = "  PAUSED" if self.paused else ""
            status = f"{self.fps:5.1f} fps  {result.ms:5.1f} ms/frame  {self.rec.name.upper()}{paused}"
            shown = annotate(frame, result, self.drag_box or roi, status, KEYS)
            cv2.imshow(WINDOW, shown)
            key = cv2.waitKey(30 if self.source.kind == "image" or self.paused else 1) & 0xFF
            if key in (ord("q"), ord("Q"), 27):
                reason = "quit"
                break
            if key == ord(" "):
                self.paused = not self.paused
            elif key in (ord("s"), ord("S")):
                self.save(shown, result.stable)
            elif key in (ord("m"), ord("M")):
                self.switch_model()
            elif key in (ord("r"), ord("R")) and self.roi is not None:  # none to clear: keep the reading
                self.roi = None
                self.tracker.reset()
            if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                reason = "window closed"
                break
            if not self.paused and self.source.kind != "image":
                frame = next(frames, None)
                if frame is None:
                    reason, code = self.source.end_reason(), int(self.source.kind == "camera")
                    break
        cv2.destroyAllWindows()
        _warn(summary(self.source.name, times, time.perf_counter() - start, result.stable.text, reason))
        return code

    def save(self, annotated: np.ndarray, reading: Reading) -> None:
        """The annotated frame as PNG and the reading as JSON beside it, named by the time. A folder that
        cannot be written is a warning: the live session goes on (it used to end in a traceback)."""
        self.saves += 1
        stem = self.save_dir / f"{time.strftime('cam-%Y%m%d-%H%M%S')}-{self.saves}"  # two saves in a second
        try:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(stem.with_suffix(".png")), annotated):
                raise OSError(f"cannot write {stem}.png")
            stem.with_suffix(".json").write_text(json.dumps(reading.to_dict(), indent=1) + "\n")
        except OSError as exc:
            _warn(f"cam.py: warning: not saved: {exc} (choose another folder with --save-dir DIR)")
            return
        _warn(f"saved {stem}.png and {stem}.json: {reading.text.replace(chr(10), ' / ') or '(no digits)'}")

    def switch_model(self) -> None:
        cnns = [name for name in self.models if name != "svc"]  # the CNN or ensemble it started with
        other = "svc" if self.rec.name != "svc" else (cnns[0] if cnns else "cnn")
        try:
            if other not in self.models:
                self.models[other] = Recognizer.load(other)
        except (ModelError, OSError, ValueError) as exc:
            _warn(f"cannot switch to {other.upper()}: {exc}")
            return
        self.rec = self.models[other]
        self.tracker.reset()  # votes from the other model's probabilities do not mix
        _warn(f"model: {other.upper()}")


def _warn(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- command line

def parse_roi(text: str) -> Box:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--roi wants x,y,w,h in pixels, got {text!r}") from None
    if w < 1 or h < 1 or x < 0 or y < 0:
        raise argparse.ArgumentTypeError(f"--roi {text}: x and y must be >= 0, w and h > 0")
    return (x, y, w, h)


# --help named no keys: a user found them only in the README or the status bar
HELP_KEYS = ("keys in the window: space pause/resume, S save the annotated frame and the reading to "
             "--save-dir, M switch model (CNN/SVC), R clear the region of interest, Q or Esc quit; drag with "
             "the mouse to read only a region. Ctrl+C stops a headless run.")
DEFAULT_MODEL = "ensemble"  # its 22 ms a frame fits 30 fps, and it reads the test videos best


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cam.py", description="Read handwritten numbers from a webcam, live.",
                                epilog=HELP_KEYS)
    p.add_argument("--source", default="0", help="camera index (default 0) or a video file or an image")
    p.add_argument("--width", type=int, default=640, help="frame width in pixels (default 640)")
    p.add_argument("--height", type=int, default=480, help="frame height in pixels (default 480)")
    p.add_argument("--roi", type=parse_roi, help="read only this region: x,y,w,h in frame pixels")
    p.add_argument("--model", default=DEFAULT_MODEL,
                   help="ensemble (default: three CNNs, ~15 ms a frame on one core), cnn (one: faster), "
                   "svc or a .onnx")
    p.add_argument("--headless", action="store_true", help="no window: process every frame and print")
    p.add_argument("--json", action="store_true", help="with --headless: one JSON object per frame")
    p.add_argument("--save-dir", type=Path, default=Path("captures"), help="where S saves (captures/)")
    p.add_argument("--threads", type=int, default=1, help="OpenCV and ONNX Runtime threads (default 1)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.width < 16 or args.height < 16:
        _warn("cam.py: error: --width and --height must be at least 16")
        return 2
    if args.json and not args.headless:
        _warn("cam.py: error: --json needs --headless")
        return 2
    if not args.headless and sys.platform.startswith("linux") and not (
            os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        _warn("cam.py: error: no display to show a window on; use --headless (and --json) instead")
        return 2
    try:
        return start(args)
    except KeyboardInterrupt:  # also while the model loads or a camera is probed, which can take seconds
        _warn("cam.py: interrupted")
        return 130


def start(args: argparse.Namespace) -> int:
    """Load the model, open the source and run; a fault in any of them is a one-line error (status 2)."""
    cv2.setNumThreads(max(1, args.threads))
    runtime.WIDE_THREADS = max(1, args.threads)
    try:
        rec = Recognizer.load(args.model)
    except (ModelError, ValueError) as exc:
        _warn(f"cam.py: error: {exc}")
        return 2
    try:
        source = open_source(args.source, (args.width, args.height))
    except SourceError as exc:
        _warn(f"cam.py: error: {exc}")
        return 2
    try:
        if args.headless:
            return run_headless(source, rec, args.roi, args.json)
        return Viewer(source, rec, args.roi, args.save_dir, {rec.name: rec}).run()
    except RoiError as exc:
        _warn(f"cam.py: error: {exc}")
        return 2
    finally:
        source.release()


if __name__ == "__main__":
    sys.exit(main())
