"""`python -m recognizer read`: the JSON contract, batches with bad files, exit status."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from recognizer import ModelError, cli, synth

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def pages(mnist, tmp_path_factory):
    """A folder of three composed photos, a sub-folder with a corrupt and a blank file."""
    source = synth.load_source(("mnist",))
    root = tmp_path_factory.mktemp("photos")
    texts = {}
    for i, tier in enumerate(("clean", "clean", "multiline")):
        page = synth.compose_page(np.random.default_rng([9, i]), source, tier)
        path = root / f"page{i}.png"
        cv2.imwrite(str(path), page.image)
        texts[str(path)] = page.text
    (root / "sub").mkdir()
    (root / "sub" / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not really a jpeg")
    cv2.imwrite(str(root / "sub" / "blank.png"), np.full((100, 150), 255, np.uint8))
    (root / "readme.txt").write_text("not picked up by the folder walk")
    return root, texts


def run(capsys, *args):
    code = cli.main(["read", *map(str, args)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_lines_in_given_order(pages, capsys, cnn):
    root, texts = pages
    order = [root / "page2.png", root / "page0.png"]
    code, out, err = run(capsys, *order, "--json")
    assert code == 0 and err == ""
    lines = [json.loads(line) for line in out.splitlines()]
    assert [d["path"] for d in lines] == [str(p) for p in order]
    for d in lines:
        assert set(d) == {"path", "text", "digits"}
        for digit in d["digits"]:
            assert set(digit) == {"label", "confidence", "box"}
            assert isinstance(digit["label"], int) and isinstance(digit["confidence"], float)
            assert len(digit["box"]) == 4 and all(isinstance(v, int) for v in digit["box"])
        digits = d["text"].replace(" ", "").replace("\n", "")
        assert digits == "".join(str(x["label"]) for x in d["digits"])
    assert lines[1]["text"] == texts[str(order[1])]


def test_folder_with_a_corrupt_file(pages, capsys, cnn):
    root, _ = pages
    code, out, err = run(capsys, root, "--json")
    assert code == cli.EXIT_SOME_FAILED
    lines = [json.loads(line) for line in out.splitlines()]
    names = [Path(d["path"]).relative_to(root).as_posix() for d in lines]
    assert names == ["page0.png", "page1.png", "page2.png", "sub/blank.png", "sub/corrupt.jpg"]
    bad = lines[-1]
    assert set(bad) == {"path", "error"} and "\n" not in bad["error"] and "corrupt.jpg" in bad["error"]
    assert lines[3]["text"] == "" and lines[3]["digits"] == []
    assert all("text" in d for d in lines[:4])


def test_readable_lines_and_errors_on_stderr(pages, capsys, cnn):
    root, texts = pages
    missing = root / "missing.png"
    code, out, err = run(capsys, root / "page0.png", missing)
    assert code == 1
    assert out.strip().startswith(f"{root / 'page0.png'}: {texts[str(root / 'page0.png')]}")
    assert err.strip() == f"error: {missing}: file not found"


def test_csv_output(pages, capsys, tmp_path, cnn):
    root, texts = pages
    target = tmp_path / "out.csv"
    code, _, _ = run(capsys, root / "page1.png", root / "sub" / "corrupt.jpg", "--csv", target)
    assert code == 1
    rows = list(csv.DictReader(target.open()))
    assert [r["path"] for r in rows] == [str(root / "page1.png"), str(root / "sub" / "corrupt.jpg")]
    assert rows[0]["text"] == texts[str(root / "page1.png")] and rows[0]["error"] == ""
    assert rows[1]["error"] and rows[1]["text"] == ""


def test_svc_model_option(pages, capsys, svc):
    root, _ = pages
    code, out, _ = run(capsys, root / "page0.png", "--json", "--model", "svc")
    assert code == 0 and json.loads(out)["digits"]


def test_ensemble_model_option_reads_the_pages(pages, capsys, cnn):
    root, texts = pages
    code, out, _ = run(capsys, root / "page0.png", root / "page1.png", "--json", "--model", "ensemble")
    assert code == 0
    for line in out.splitlines():
        item = json.loads(line)
        assert item["text"] == texts[item["path"]]


def test_usage_errors_exit_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    code, _, err = run(capsys, tmp_path / "empty")
    assert code == 2 and err.startswith("error: no images found")
    with pytest.raises(SystemExit) as info:
        cli.main(["read", "x.png", "--json", "--csv", "y.csv"])  # mutually exclusive
    assert info.value.code == 2


def test_missing_model_exit_2(pages, capsys, monkeypatch, tmp_path):
    root, _ = pages
    monkeypatch.setattr("recognizer.reader.MODELS_DIR", tmp_path)
    code, out, err = run(capsys, root / "page0.png")
    assert code == 2 and out == "" and "not found" in err and len(err.strip().splitlines()) == 1


def test_model_loaded_once_per_batch(pages, capsys, monkeypatch, cnn):
    root, _ = pages
    loads = []
    original = cli.Recognizer.load

    def counting(*args, **kwargs):
        loads.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(cli.Recognizer, "load", counting)
    run(capsys, root, "--json")
    assert len(loads) == 1


def test_real_entry_point_on_a_pipe(pages, cnn):
    root, texts = pages
    path = root / "page0.png"
    out = subprocess.run([sys.executable, "-m", "recognizer", "read", str(path), "--json"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and out.stderr == ""  # no progress bar, no log noise on a pipe
    assert json.loads(out.stdout)["text"] == texts[str(path)]


def test_progress_bar_only_on_a_terminal_with_many_files():
    many = cli.PROGRESS_MIN_FILES
    assert cli.wants_progress(many, json_mode=False, stdout_tty=True, stderr_tty=True)
    assert cli.wants_progress(many, json_mode=False, stdout_tty=False, stderr_tty=True)  # plain to a file
    assert not cli.wants_progress(many - 1, json_mode=False, stdout_tty=True, stderr_tty=True)
    assert not cli.wants_progress(many, json_mode=True, stdout_tty=False, stderr_tty=True)  # JSON pipe
    assert cli.wants_progress(many, json_mode=True, stdout_tty=True, stderr_tty=True)
    assert not cli.wants_progress(many, json_mode=False, stdout_tty=True, stderr_tty=False)


def test_read_defaults_to_the_ensemble_and_cnn_stays_selectable():
    parser = cli.build_parser()
    assert parser.parse_args(["read", "x.png"]).model == "ensemble"
    assert parser.parse_args(["read", "x.png", "--model", "cnn"]).model == "cnn"


@pytest.mark.parametrize("value", ["2", "-0.1", "nan", "high"])
def test_min_confidence_outside_0_to_1_is_a_usage_error(value, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["read", "x.png", "--min-confidence", value])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "--min-confidence: expected a number from 0 to 1" in err
    assert cli.build_parser().parse_args(["read", "x.png", "--min-confidence", "1"]).min_confidence == 1.0


def test_verbose_before_or_after_the_subcommand():
    parser = cli.build_parser()
    assert parser.parse_args(["--verbose", "read", "x.png"]).verbose
    assert parser.parse_args(["read", "x.png", "--verbose"]).verbose
    assert parser.parse_args(["evaluate", "--data", "d.npz", "--verbose"]).verbose
    assert not parser.parse_args(["read", "x.png"]).verbose


def test_verbose_after_the_subcommand_shows_the_traceback(pages, monkeypatch, tmp_path):
    root, _ = pages
    monkeypatch.setattr("recognizer.reader.MODELS_DIR", tmp_path)
    with pytest.raises(ModelError):  # raised, not turned into one line
        cli.main(["read", str(root / "page0.png"), "--verbose"])


def test_ctrl_c_while_onnxruntime_loads_is_not_a_damaged_model(pages, capsys, monkeypatch):
    """Ctrl+C in onnxruntime's import surfaces as ImportError, which the loader calls a damaged model
    file (advising a restore or a retrain): the user pressed Ctrl+C, so exit 130, quietly."""
    root, _ = pages

    def interrupted_import(self, *args, **kwargs):
        raise ImportError("initialization failed") from KeyboardInterrupt()

    monkeypatch.setattr("recognizer.runtime.OnnxCnn.__init__", interrupted_import)
    code, out, err = run(capsys, root / "page0.png", "--model", "cnn")
    assert code == cli.EXIT_INTERRUPTED == 130 and out == "" and err == ""


def test_a_damaged_model_is_still_reported(pages, capsys, monkeypatch):
    root, _ = pages

    def damaged(self, *args, **kwargs):
        raise RuntimeError("protobuf parsing failed")

    monkeypatch.setattr("recognizer.runtime.OnnxCnn.__init__", damaged)
    code, _, err = run(capsys, root / "page0.png", "--model", "cnn")
    assert code == 2 and "unreadable (protobuf parsing failed)" in err


def test_dot_slash_paths_are_not_named_twice(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    code, out, _ = run(capsys, "./nope.png", "--json")
    assert code == 1 and json.loads(out) == {"path": "./nope.png", "error": "./nope.png: file not found"}


ODD_NAMES = ["two\nlines.png", os.fsdecode(b"latin1-\xe9t\xe9.png")]  # a newline; bytes that are not UTF-8


def test_odd_file_names_stay_one_line_and_do_not_stop_the_batch(pages, capsys, tmp_path, cnn):
    root, texts = pages
    for name in ODD_NAMES:
        (tmp_path / name).write_bytes((root / "page0.png").read_bytes())
    (tmp_path / "broken\nname.png").write_bytes(b"not an image")
    code, out, err = run(capsys, tmp_path, "--model", "cnn")
    assert code == 1 and len(out.splitlines()) == 2 and len(err.splitlines()) == 1
    assert err.startswith(f"error: {tmp_path}/broken\\nname.png: not an image")
    assert f"{tmp_path}/latin1-\\udce9t\\udce9.png: {texts[str(root / 'page0.png')]}" in out
    assert f"{tmp_path}/two\\nlines.png: " in out
    code, out, _ = run(capsys, tmp_path, "--json", "--model", "cnn")
    assert sorted(json.loads(line)["path"] for line in out.splitlines()) == sorted(
        str(tmp_path / name) for name in [*ODD_NAMES, "broken\nname.png"])


def test_csv_with_a_name_that_is_not_utf8(pages, capsys, tmp_path, cnn):
    root, texts = pages
    odd = tmp_path / ODD_NAMES[1]
    odd.write_bytes((root / "page0.png").read_bytes())
    target = tmp_path / "out.csv"
    code, _, _ = run(capsys, odd, root / "page1.png", "--csv", target, "--model", "cnn")
    assert code == 0
    rows = list(csv.DictReader(target.open(encoding="utf-8")))  # valid UTF-8, both rows written
    assert [r["path"] for r in rows] == [f"{tmp_path}/latin1-\\udce9t\\udce9.png", str(root / "page1.png")]
    assert rows[0]["text"] == texts[str(root / "page0.png")]


def test_unicode_names_on_an_ascii_stdout(pages, tmp_path, cnn):
    root, _ = pages
    photo = tmp_path / "ünï €.png"
    photo.write_bytes((root / "page0.png").read_bytes())
    out = subprocess.run([sys.executable, "-m", "recognizer", "read", str(photo), "--model", "cnn"], cwd=ROOT,
                         capture_output=True, timeout=120, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    shown = f"{tmp_path}/\\xfcn\\xef \\u20ac.png: "
    assert out.returncode == 0 and out.stdout.decode("ascii").startswith(shown)


def test_output_closed_early_ends_quietly(pages, cnn):
    """`read scans/ --json | head -1`: no "error: [Errno 32] Broken pipe", no exit status 2."""
    root, _ = pages
    many = [str(root / "page2.png")] * 40  # more JSON than a pipe's buffer holds
    proc = subprocess.Popen([sys.executable, "-m", "recognizer", "read", *many, "--json", "--model", "cnn"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert json.loads(proc.stdout.readline())["path"] == many[0]
    proc.stdout.close()
    err = proc.stderr.read()
    assert proc.wait(timeout=120) == cli.EXIT_BROKEN_PIPE and err == b""


def test_a_folder_without_permission_is_an_error_line(pages, capsys, monkeypatch, tmp_path, cnn):
    """Before, the walk skipped it in silence: given alone it was "no images found" (exit 2)."""
    root, _ = pages
    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "page.png").write_bytes((root / "page0.png").read_bytes())
    real = os.scandir
    monkeypatch.setattr(os, "scandir", lambda p=".": _raise(PermissionError(13, "Permission denied", str(p)))
                        if Path(p) == locked else real(p))
    code, out, err = run(capsys, tmp_path, root / "page0.png", "--model", "cnn")
    assert code == 1 and err == f"error: {locked}: cannot open folder (Permission denied)\n"
    assert out.startswith(f"{root / 'page0.png'}: ")


def _raise(exc: Exception):
    raise exc


def test_white_ink_on_a_transparent_png_is_read(pages, capsys, tmp_path, cnn):
    """Before, transparency always became white paper and white digits read as "(no digits)"."""
    root, texts = pages
    gray = cv2.imread(str(root / "page0.png"), cv2.IMREAD_GRAYSCALE)
    rgba = np.dstack([np.full_like(gray, 255)] * 3 + [255 - gray])  # the ink in alpha alone
    cv2.imwrite(str(tmp_path / "white_ink.png"), rgba)
    code, out, _ = run(capsys, tmp_path / "white_ink.png", "--json", "--model", "cnn")
    assert code == 0 and json.loads(out)["text"] == texts[str(root / "page0.png")]


def run_on_a_terminal(args: list[str]) -> str:
    """What a terminal 100 columns wide receives from `python -m recognizer read ARGS` (stdout and
    stderr both on it)."""
    import fcntl
    import pty
    import struct
    import termios

    main_fd, child_fd = pty.openpty()
    fcntl.ioctl(child_fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "recognizer", "read", *args], cwd=ROOT,
                            stdin=subprocess.DEVNULL, stdout=child_fd, stderr=child_fd)
    os.close(child_fd)
    chunks = []
    while True:
        try:
            chunk = os.read(main_fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main_fd)
    assert proc.wait(timeout=120) == cli.EXIT_SOME_FAILED
    return b"".join(chunks).decode("utf-8", "replace")


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_error_lines_are_not_glued_to_the_progress_bar(pages, tmp_path, cnn):
    root, _ = pages
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    many = [str(root / "page0.png")] * 10 + [str(bad)] + [str(root / "page0.png")] * 10
    screen = run_on_a_terminal([*many, "--model", "cnn"])
    assert "image/s]" in screen  # the bar was drawn
    before = screen[: screen.index("error: ")]
    assert before.endswith(("\r", "\n"))  # the error line starts at the left edge, the bar cleared
    assert screen.count(f"{root / 'page0.png'}: ") == 20


def test_csv_to_stdout_with_a_dash(pages, capsys, tmp_path, monkeypatch, cnn):
    """`--csv -` wrote a file named "-" in the current folder, and the CSV nowhere the user looked."""
    root, texts = pages
    monkeypatch.chdir(tmp_path)
    bad = root / "sub" / "corrupt.jpg"
    code, out, err = run(capsys, root / "page1.png", bad, "--csv", "-", "--model", "cnn")
    assert code == 1 and not (tmp_path / "-").exists()
    rows = list(csv.DictReader(io.StringIO(out)))  # stdout is the CSV alone: no readable lines mixed in
    assert [r["path"] for r in rows] == [str(root / "page1.png"), str(root / "sub" / "corrupt.jpg")]
    assert rows[0]["text"] == texts[str(root / "page1.png")]
    assert err.startswith(f"error: {root / 'sub' / 'corrupt.jpg'}: ")  # errors still on stderr


def test_csv_error_rows_have_no_digit_count(pages, capsys, tmp_path, cnn):
    root, _ = pages
    target = tmp_path / "out.csv"
    run(capsys, root / "sub" / "blank.png", root / "sub" / "corrupt.jpg", "--csv", target, "--model", "cnn")
    blank, bad = csv.DictReader(target.open())
    assert blank["digits"] == "0" and blank["error"] == ""  # read: no digits
    assert bad["digits"] == "" and bad["min_confidence"] == "" and bad["error"]  # not read at all


@pytest.mark.parametrize("where, reason", [("missing/out.csv", "No such file or directory"),
                                           (".", "Is a directory")])
def test_csv_that_cannot_be_written_is_named(pages, capsys, tmp_path, cnn, where, reason):
    root, _ = pages
    code, out, err = run(capsys, root / "page0.png", "--csv", tmp_path / where, "--model", "cnn")
    assert code == 2 and out == ""
    assert err == f"error: cannot write --csv {tmp_path / where}: {reason}\n"


def test_an_empty_path_is_a_usage_error(capsys, monkeypatch, tmp_path):
    """`read "$DIR"` with DIR unset: pathlib took "" for "." and every image below was read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "private.png").write_bytes(b"x")
    with pytest.raises(SystemExit) as info:
        cli.main(["read", ""])
    err = capsys.readouterr().err
    assert info.value.code == 2 and "empty path" in err and "private.png" not in err


@pytest.mark.skipif(not Path("/dev/stdin").exists(), reason="no /dev/stdin")
def test_an_image_piped_to_dev_stdin(pages, cnn):
    """`curl ... | read /dev/stdin`: a pipe's size is 0 until read, and it was refused as an empty file."""
    root, texts = pages
    command = [sys.executable, "-m", "recognizer", "read", "/dev/stdin", "--json", "--model", "cnn"]
    out = subprocess.run(command, cwd=ROOT, input=(root / "page0.png").read_bytes(), capture_output=True,
                         timeout=120)
    assert out.returncode == 0 and json.loads(out.stdout)["text"] == texts[str(root / "page0.png")]


def test_a_bug_on_one_image_does_not_stop_the_batch(pages, capsys, monkeypatch, cnn):
    """An unexpected exception in reading one image ended the batch with a traceback: the rest unread."""
    root, texts = pages
    original = cli.Recognizer.read

    def fails_on_blank(self, image, *args, **kwargs):
        if image.shape == (100, 150):  # sub/blank.png
            raise IndexError("index 3 is out of bounds")
        return original(self, image, *args, **kwargs)

    monkeypatch.setattr(cli.Recognizer, "read", fails_on_blank)
    blank = root / "sub" / "blank.png"
    code, out, err = run(capsys, blank, root / "page0.png", "--model", "cnn")
    assert code == 1 and out.startswith(f"{root / 'page0.png'}: {texts[str(root / 'page0.png')]}")
    assert err == (f"error: {blank}: internal error (IndexError: index 3 is out of bounds); "
                   "--verbose shows the traceback\n")
    with pytest.raises(IndexError):
        cli.main(["read", str(blank), "--model", "cnn", "--verbose"])


def test_a_path_that_cannot_be_looked_at_does_not_stop_the_batch(pages, capsys, monkeypatch, cnn):
    """A file in a folder without search permission, given by name: pathlib's PermissionError ended the
    batch before it began ("error: [Errno 13] Permission denied", exit 2, nothing read)."""
    root, texts = pages
    hidden = root / "locked" / "a.png"
    real = Path.stat
    monkeypatch.setattr(Path, "stat", lambda self, *a, **k: _raise(PermissionError(13, "Permission denied"))
                        if self == hidden else real(self, *a, **k))
    code, out, err = run(capsys, hidden, root / "page0.png", "--model", "cnn")
    assert code == 1 and err == f"error: {hidden}: cannot read image (Permission denied)\n"
    assert out.startswith(f"{root / 'page0.png'}: {texts[str(root / 'page0.png')]}")


def test_a_photo_lying_sideways_is_read_turned_unless_as_is(pages, capsys, tmp_path, cnn):
    """A photo that lost its EXIF tag lies sideways: `read` notices it and says it turned it."""
    root, texts = pages
    upright = root / "page2.png"
    sideways = tmp_path / "sideways.png"
    cv2.imwrite(str(sideways), np.rot90(cv2.imread(str(upright)), 1))
    code, out, _ = run(capsys, sideways, "--json", "--model", "cnn")
    result = json.loads(out)
    assert code == 0 and result["text"] == texts[str(upright)] and result["turned"] == 90
    height, width = cv2.imread(str(sideways)).shape[:2]
    assert all(x + w <= width and y + h <= height for x, y, w, h in (d["box"] for d in result["digits"]))
    _, out, _ = run(capsys, sideways, "--model", "cnn")
    assert out.rstrip().endswith("(read turned 90 degrees clockwise)")
    _, out, _ = run(capsys, sideways, "--json", "--model", "cnn", "--as-is")
    assert "turned" not in json.loads(out) and json.loads(out)["text"] != texts[str(upright)]
    target = tmp_path / "out.csv"
    run(capsys, sideways, upright, "--csv", target, "--model", "cnn")
    assert [r["turned"] for r in csv.DictReader(target.open())] == ["90", "0"]
