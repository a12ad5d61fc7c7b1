"""`python -m recognizer evaluate|...`: the command-line edge of the package.

Errors are one line on stderr (a traceback only with --verbose); exit status 2 for usage or
input errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m recognizer", description="Read handwritten digits.")
    parser.add_argument("--verbose", action="store_true", help="show tracebacks and library logs")
    sub = parser.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="accuracy, per-class recall and confusion matrix on an npz")
    ev.add_argument("--model", choices=MODEL_NAMES, default="cnn")
    ev.add_argument("--data", required=True, help="npz file with x_test and y_test")
    ev.add_argument("--limit", type=int, help="use only the first N digits")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (ValueError, OSError, RuntimeError) as exc:
        if args.verbose:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
