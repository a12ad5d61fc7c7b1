"""`python -m recognizer read|evaluate`: the command-line edge of the package.

Errors are one line on stderr (a traceback only with --verbose); exit status 2 for usage or
input errors. `read` exits 0 when every image was read (an image without digits counts as read),
1 when at least one file could not be read (the others are still read and printed), 2 for usage
errors or a missing model, 130 on Ctrl+C, 141 when the reader of its output stops (`| head`).
"""

from __future__ import annotations

import argparse
import csv
import functools
import io
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .reader import MODEL_NAMES, Recognizer


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import load_npz
    from .evaluate import evaluate

    data = load_npz(args.data)
    if "x_test" not in data or "y_test" not in data:
        raise ValueError(f"{args.data} has no x_test/y_test arrays (found: {', '.join(data)})")
    x, y = data["x_test"], data["y_test"]
    if args.limit:
        x, y = x[: args.limit], y[: args.limit]
    result = evaluate(Recognizer.load(args.model), x, y)
    if args.json:
        print(json.dumps({"model": args.model, "data": args.data, **result.to_dict()}))
    else:
        print(f"model {args.model}, data {args.data}")
        print(result.format())
    return 0


PROGRESS_MIN_FILES = 20  # fewer files finish before a progress bar would tell anything
EXIT_SOME_FAILED = 1  # `read`: at least one file could not be read


def expand_paths(paths: list[str]) -> Iterator[str]:
    """Each given path, folders replaced by the images found under them (sorted), as strings."""
    from .imageio import find_images

    for given in paths:
        if is_folder(given):
            for found in find_images(given):
                yield str(Path(given) / found.relative_to(given))
        else:
            yield given


def is_folder(path: str) -> bool:
    """Whether `path` is a folder; False when it cannot be looked at, which `load_image` then names
    (PermissionError here stopped the whole batch before it began)."""
    try:
        return Path(path).is_dir()
    except OSError:
        return False


def read_one(rec: Recognizer, path: str, args: argparse.Namespace) -> dict:
    """`{"path", "text", "digits"}` for a readable image, `{"path", "error"}` otherwise."""
    from .imageio import ImageError, load_image

    try:
        image = load_image(path)
        reading = rec.read(image, fast=args.fast, min_confidence=args.min_confidence, upright=not args.as_is)
    except (ImageError, ValueError, OSError, MemoryError) as exc:
        return {"path": path, "error": error_message(path, exc)}
    except Exception as exc:  # a bug met on one image must not cost the rest of the batch its readings
        if args.verbose:
            raise
        reason = error_message(path, exc).removeprefix(f"{path}: ")
        return {"path": path, "error": f"{path}: internal error ({type(exc).__name__}: {reason}); "
                                       f"--verbose shows the traceback"}
    return {"path": path, **reading.to_dict()}


def error_message(path: str, exc: Exception) -> str:
    """`path: reason` on one line; the reason's first line only, the path whole (it may hold a newline)."""
    text = str(exc).strip()
    if text.startswith(f"{path}: "):
        text = text[len(path) + 2:]
    reason = text.splitlines()[0] if text else type(exc).__name__
    return f"{path}: {reason}"


def shown(text: str) -> str:
    """`text` with control characters and undecodable bytes escaped (`\\n`, `\\udcff`): a file name may
    hold a newline, or bytes that are not UTF-8, and must neither split a line nor crash the print."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def format_line(result: dict) -> str:
    """A readable line: `path: 123 45 / 678 (min confidence 0.97)`."""
    if "error" in result:
        return f"error: {shown(result['error'])}"
    text = result["text"].replace("\n", " / ") if result["text"] else "(no digits)"
    confidences = [d["confidence"] for d in result["digits"]]
    low = f"  (lowest confidence {min(confidences):.2f})" if confidences else ""
    turned = f"  (read turned {result['turned']} degrees clockwise)" if result.get("turned") else ""
    return f"{shown(result['path'])}: {text}{low}{turned}"


READ_MODEL = "ensemble"  # photos: 23-50 pages/s on one core is no wait, and every page tier reads better


def wants_progress(files: int, json_mode: bool, stdout_tty: bool, stderr_tty: bool) -> bool:
    """A progress bar (on stderr) for many files on a terminal; never when JSON goes to a pipe."""
    return stderr_tty and files >= PROGRESS_MIN_FILES and not (json_mode and not stdout_tty)


def tolerant_stdout() -> None:
    """Names a non-UTF-8 stdout (a Windows pipe, LANG=C) cannot encode come out escaped instead of
    stopping the batch with UnicodeEncodeError."""
    if isinstance(sys.stdout, io.TextIOWrapper) and sys.stdout.errors == "strict":
        sys.stdout.reconfigure(errors="backslashreplace")


def cmd_read(args: argparse.Namespace) -> int:
    tolerant_stdout()
    paths = list(expand_paths(args.paths))
    if not paths:
        raise ValueError(f"no images found in {', '.join(args.paths)}")
    rec = Recognizer.load(args.model)  # once for the whole batch
    csv_to_stdout = args.csv == CSV_STDOUT
    show_bar = not csv_to_stdout and wants_progress(  # rows written by csv would land glued to the bar
        len(paths), args.json, sys.stdout.isatty(), sys.stderr.isatty())
    iterable = paths
    write, complain = print, functools.partial(print, file=sys.stderr)
    if show_bar:  # lines go through tqdm, which clears the bar first: else they land glued to it
        from tqdm import tqdm

        iterable = tqdm(paths, unit="image", file=sys.stderr)
        write, complain = tqdm.write, functools.partial(tqdm.write, file=sys.stderr)
    failed = 0
    with csv_output(args.csv) as writer:
        for path in iterable:
            result = read_one(rec, path, args)
            failed += "error" in result
            if args.json:
                write(json.dumps(result))
            elif "error" in result:
                complain(format_line(result))
            elif not csv_to_stdout:  # stdout is the CSV's
                write(format_line(result))
            if writer:
                writer.writerow(csv_row(result))
    return EXIT_SOME_FAILED if failed else 0


CSV_STDOUT = "-"  # `--csv -`: the rows on stdout, in place of the readable lines
CSV_COLUMNS = ["path", "text", "digits", "min_confidence", "error", "turned"]


@contextmanager
def csv_output(target: str | None) -> Iterator[Any]:
    """A csv writer with the header written, on `target` (a file, or stdout for "-"); None without --csv.

    A name's undecodable bytes are written as \\udcff, as --json writes them: the file stays UTF-8."""
    if not target:
        yield None
        return
    if target == CSV_STDOUT:
        writer = csv.writer(sys.stdout)
        writer.writerow(CSV_COLUMNS)
        yield writer
        return
    try:
        stream = open(target, "w", newline="", encoding="utf-8", errors="backslashreplace")  # noqa: SIM115
    except OSError as exc:
        raise OSError(f"cannot write --csv {target}: {exc.strerror or exc}") from exc
    with stream:
        writer = csv.writer(stream)
        writer.writerow(CSV_COLUMNS)
        yield writer


def csv_row(result: dict) -> list:
    """A result as a CSV row; an unreadable file has no digit count (0 would say "read, no digits")."""
    if "error" in result:
        return [result["path"], "", "", "", result["error"], ""]
    confidences = [d["confidence"] for d in result["digits"]]
    return [result["path"], result["text"], len(confidences), min(confidences) if confidences else "", "",
            result.get("turned", 0)]


def confidence_level(text: str) -> float:
    """A --min-confidence value: a probability, so outside 0..1 it would keep all or drop all."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:  # NaN fails this too
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text}")
    return value


def given_path(text: str) -> str:
    """An IMAGE_OR_FOLDER argument; an empty one (`read "$DIR"` with DIR unset) would be taken for the
    current folder by pathlib and have everything under it read."""
    if not text:
        raise argparse.ArgumentTypeError("empty path (an unset shell variable?)")
    return text


VERBOSE_HELP = "show tracebacks and library logs"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recognizer", description="Read handwritten digits.")
    parser.add_argument("--verbose", action="store_true", help=VERBOSE_HELP)
    # each subcommand takes --verbose too; SUPPRESS keeps its absence from undoing one given before it
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help=VERBOSE_HELP)
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", parents=[common],
                        help="accuracy, per-class recall and confusion matrix on an npz")
    ev.add_argument("--model", choices=MODEL_NAMES, default="cnn")
    ev.add_argument("--data", required=True, help="npz file with x_test and y_test")
    ev.add_argument("--limit", type=int, help="use only the first N digits")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_evaluate)

    rd = sub.add_parser(
        "read", parents=[common], help="read the handwritten numbers in photos or scans",
        description="Read handwritten numbers in images. Exit status: 0 every image read, "
        "1 some file could not be read (the rest are still read), 2 usage error or missing model.",
    )
    rd.add_argument("paths", nargs="+", type=given_path, metavar="IMAGE_OR_FOLDER",
                    help="image files or folders (walked)")
    out = rd.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="one JSON object per image per line")
    out.add_argument("--csv", metavar="FILE", help="also write path,text,digits,min_confidence,error,turned "
                     "rows to FILE; - writes them to stdout instead of the readable lines")
    rd.add_argument("--model", choices=MODEL_NAMES, default=READ_MODEL,
                    help="default %(default)s: three CNNs averaged, more accurate on photos at 1.1-1.5x "
                    "the time per page; cnn is the single model the drawing app uses")
    rd.add_argument("--fast", action="store_true", help="lower working resolution: faster, less accurate")
    rd.add_argument("--min-confidence", type=confidence_level, default=0.0,
                    help="drop digits read with less confidence than this, 0 to 1 (default 0: keep all)")
    rd.add_argument("--as-is", action="store_true",
                    help="read images only as they lie (by default a page that looks turned sideways, "
                    "e.g. a photo that lost its EXIF tag, is also read turned both ways)")
    rd.set_defaults(func=cmd_read)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except BrokenPipeError:  # `read scans/ | head`: the reader of our output has all it wants
        silence_stdout()
        return EXIT_BROKEN_PIPE
    except (ValueError, OSError, RuntimeError) as exc:
        if interrupted(exc):
            return EXIT_INTERRUPTED
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED


EXIT_INTERRUPTED = 130  # 128 + SIGINT, what a shell reports for Ctrl+C
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what `cat` ends with in `cat big | head`


def silence_stdout() -> None:
    """Point stdout at /dev/null so that Python's flush at exit does not print a second error."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


def interrupted(exc: BaseException) -> bool:
    """Whether Ctrl+C caused `exc`: onnxruntime's extension, interrupted while it loads, raises
    ImportError, which the model loader reports as a damaged model file (and advises a restore)."""
    seen: set[int] = set()
    cause: BaseException | None = exc
    while cause is not None and id(cause) not in seen:
        if isinstance(cause, KeyboardInterrupt):
            return True
        seen.add(id(cause))
        cause = cause.__cause__ or cause.__context__
    return False


if __name__ == "__main__":
    sys.exit(main())
