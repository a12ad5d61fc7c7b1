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
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognizer import Recognizer  # noqa: E402
from recognizer.data import dataset_path, load_npz  # noqa: E402

COLD_START = """
import time; t0 = time.perf_counter()
from recognizer import Recognizer
rec = Recognizer.load({name!r}); t1 = time.perf_counter()
import numpy as np; rec.predict(np.pad(np.eye(12, dtype=np.uint8) * 255, 8)[None]); t2 = time.perf_counter()
print(t1 - t0, t2 - t0)
"""


def median_ms(fn, repeats: int) -> tuple[float, float]:
    """Median and 95th percentile of `fn()` in milliseconds after a warm-up."""
    for _ in range(10):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), float(np.percentile(times, 95))


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
    few = max(repeats // 5, 30)
    one_ms, one_p95 = median_ms(lambda: rec.predict(x[:1]), repeats)
    b64_ms, b64_p95 = median_ms(lambda: rec.predict(x), few)
    load_s, first_s = cold_start(name)
    return {
        "model": name, "one_digit_ms": one_ms, "one_digit_p95_ms": one_p95,
        "batch64_ms": b64_ms, "batch64_p95_ms": b64_p95,
        "model_only_one_ms": median_ms(lambda: rec.proba_prepared(batch[:1]), repeats)[0],
        "model_only_batch64_ms": median_ms(lambda: rec.proba_prepared(batch), few)[0],
        "preprocess_batch64_ms": median_ms(lambda: rec.prepare(x), few)[0],
        "cold_start_s": load_s, "cold_start_first_prediction_s": first_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=300)
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    x = load_npz(dataset_path("mnist"))["x_test"][:64]
    rows = [measure(name, x, args.repeats) for name in ("cnn", "svc")]
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
