"""Latency of `Recognizer.predict` for one digit and a batch of 64, both models, and cold start.

`python scripts/benchmark.py [--repeats 300] [--json PATH]`. Cold start (a fresh interpreter:
import plus model load plus the first prediction) is measured in subprocesses. Prints a table.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognizer import Recognizer  # noqa: E402
from recognizer.data import dataset_path, load_npz  # noqa: E402
from recognizer.reader import MODEL_NAMES  # noqa: E402

COLD_START = """
import time; t0 = time.perf_counter()
from recognizer import Recognizer
rec = Recognizer.load({name!r}); t1 = time.perf_counter()
import numpy as np; rec.predict(np.pad(np.eye(12, dtype=np.uint8) * 255, 8)[None]); t2 = time.perf_counter()
print(t1 - t0, t2 - t0)
"""


def median_ms(fns: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple[float, float]]:
    """Median and 95th percentile milliseconds of each of `fns`, after a warm-up.

    The calls take turns, so a slow spell of the (shared, virtual) machine weighs on all of them
    alike and the parts of a prediction add up to the whole.
    """
    for fn in fns.values():
        for _ in range(10):
            fn()
    times: dict[str, list[float]] = {key: [] for key in fns}
    for _ in range(repeats):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append((time.perf_counter() - start) * 1000)
    return {key: (statistics.median(t), float(np.percentile(t, 95))) for key, t in times.items()}


def cold_start(name: str, runs: int = 3) -> tuple[float, float]:
    """Median seconds to import + load, and to import + load + first prediction."""
    results = []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD_START.format(name=name)], cwd=ROOT,
                             capture_output=True, text=True, check=True)
        results.append([float(v) for v in out.stdout.split()])
    load, first = zip(*results, strict=True)
    return statistics.median(load), statistics.median(first)


def measure(name: str, x: np.ndarray, repeats: int) -> dict:
    """All figures for one model on the digits `x` (a batch of 64)."""
    rec = Recognizer.load(name)
    batch = rec.prepare(x)
    one = median_ms({"predict": lambda: rec.predict(x[:1]),
                     "model": lambda: rec.proba_prepared(batch[:1])}, repeats)
    b64 = median_ms({"predict": lambda: rec.predict(x), "model": lambda: rec.proba_prepared(batch),
                     "preprocess": lambda: rec.prepare(x)}, repeats)
    load_s, first_s = cold_start(name)
    return {
        "model": name, "one_digit_ms": one["predict"][0], "one_digit_p95_ms": one["predict"][1],
        "batch64_ms": b64["predict"][0], "batch64_p95_ms": b64["predict"][1],
        "model_only_one_ms": one["model"][0], "model_only_batch64_ms": b64["model"][0],
        "preprocess_batch64_ms": b64["preprocess"][0],
        "cold_start_s": load_s, "cold_start_first_prediction_s": first_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--models", nargs="+", default=["cnn", "svc"], choices=MODEL_NAMES)
    args = parser.parse_args()

    x = load_npz(dataset_path("mnist"))["x_test"][:64]
    rows = [measure(name, x, args.repeats) for name in args.models]
    meta = json.loads((ROOT / "models" / "cnn.json").read_text())
    print(f"CNN: {meta['multiply_adds_per_digit'] / 1e6:.2f} M multiply-adds per digit, "
          f"{meta['parameters']:,} parameters, ONNX Runtime {meta['versions']['onnxruntime']}")
    print("model | 1 digit ms (p95) | 64 digits ms (p95) | model only 1 / 64 ms | preprocess 64 ms | "
          "cold start s | + first predict s")
    for r in rows:
        print(f"{r['model']} | {r['one_digit_ms']:.3f} ({r['one_digit_p95_ms']:.3f}) | "
              f"{r['batch64_ms']:.2f} ({r['batch64_p95_ms']:.2f}) | "
              f"{r['model_only_one_ms']:.3f} / {r['model_only_batch64_ms']:.2f} | "
              f"{r['preprocess_batch64_ms']:.2f} | {r['cold_start_s']:.2f} | "
              f"{r['cold_start_first_prediction_s']:.2f}")
    if args.json:
        figures = {"rows": rows, "multiply_adds": meta["multiply_adds_per_digit"]}
        Path(args.json).write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
