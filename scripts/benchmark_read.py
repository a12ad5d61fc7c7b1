"""Reading whole pages: exact text, digit F1 and speed per difficulty tier, beside Tesseract.

`python scripts/benchmark_read.py [--pages 200] [--tiers clean,touching,multiline,hard] [--json PATH]`

Pages are composed by `recognizer.synth` from the **test** splits of MNIST and USPS (never
training data), about one megapixel each (1200x900); `--validation` composes other pages from the
MNIST hold-out and USPS train instead, for choosing between options. Per tier it reports:
- exact: share of pages whose whole text is read exactly;
- numbers: share of the pages' numbers read exactly (same digits, same place);
- F1 (text): digit-level F1 from the longest common subsequence of the page's digits, computed the
  same way for us and for Tesseract;
- F1 (boxes): our digits matched to the true ones by label and box overlap (IoU >= 0.5);
- ceiling: share of pages whose every digit the model reads right when given the source digit
  image alone (no page, no segmentation): what exact text could be with perfect cutting and a
  perfect photo, so the gap below it is segmentation and photo loss, the rest the model's own;
- ms/page (wall clock, mean and median) and CPU ms/page with pages/s from it: OpenCV and ONNX
  Runtime are limited to one thread, so CPU time is one core's work even on a busy machine;
- turned (`--turned N`): the first N pages turned 90 degrees each way, as a photo without its EXIF
  tag lies: the share read exactly (pages are read as `read` reads photos, `upright=True`).
Tesseract (`apt-get install tesseract-ocr`) runs on the same pages with a digits-only whitelist
when it is installed; `--tesseract-pages` bounds how many (it is slow).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognizer import Recognizer, reader, runtime, segment, synth  # noqa: E402
from recognizer.pagecrops import iou  # noqa: E402

IOU_MATCH = 0.5  # a found digit counts when it overlaps the true box this much and has its label
TESSERACT_ARGS = ["--psm", "6", "-c", "tessedit_char_whitelist=0123456789"]  # block of text, digits


VALIDATION_PAGES = 50000  # validation pages are numbered from here, so no test page repeats


def page_for(tier: str, i: int, source: synth.DigitSource) -> synth.Page:
    """The i-th page of a tier: a fixed seed per (tier, i), so every run reads the same pages."""
    seed = [list(synth.TIERS).index(tier) if tier in synth.TIERS else 99, i]
    return synth.compose_page(np.random.default_rng(seed), source, tier)


VALIDATION_USPS = 1000  # USPS train digits beside the 5,000 MNIST hold-out: the test pages' 5:1 mix


def validation_source() -> synth.DigitSource:
    """The 5,000 MNIST train digits seed 0 holds out and 1,000 of USPS train: digits no shipped model
    trained on and no test figure uses, mixed as the test pages mix MNIST and USPS test
    (10,000 and 2,007), for choosing between options (`--validation`)."""
    from recognizer.data import dataset_path, load_mnist, load_npz
    from recognizer.train import holdout_split

    x, y, _, _ = load_mnist()
    hold, _ = holdout_split(len(x), 0)
    usps = load_npz(dataset_path("usps"))
    ux, uy = usps["x_train"][:VALIDATION_USPS], usps["y_train"][:VALIDATION_USPS]
    return synth.DigitSource([*x[hold], *ux], np.concatenate([y[hold], uy]).astype(np.int64),
                             ("mnist hold-out", "usps train"))


def normalize(text: str) -> str:
    """Lines stripped, runs of spaces collapsed, empty lines dropped (Tesseract pads freely)."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def lcs(a: str, b: str) -> int:
    """Length of the longest common subsequence of two digit strings."""
    prev = [0] * (len(b) + 1)
    for ca in a:
        cur = [0]
        for j, cb in enumerate(b):
            cur.append(prev[j] + 1 if ca == cb else max(prev[j + 1], cur[j]))
        prev = cur
    return prev[-1]


def text_counts(pred: str, truth: str) -> tuple[int, int, int]:
    """(matched, predicted, true) digit counts for the text-level F1."""
    p, t = [c for c in pred if c.isdigit()], [c for c in truth if c.isdigit()]
    return lcs("".join(p), "".join(t)), len(p), len(t)


def box_matches(reading, page: synth.Page) -> list[int | None]:
    """For each found digit, the index of the true digit it matches (label and IoU), else None."""
    used: set[int] = set()
    out: list[int | None] = []
    for d in reading.digits:
        best, best_iou = None, IOU_MATCH
        for k, (box, label) in enumerate(zip(page.boxes, page.labels, strict=True)):
            if k in used or label != d.label:
                continue
            v = iou(d.box, box)
            if v >= best_iou:
                best, best_iou = k, v
        if best is not None:
            used.add(best)
        out.append(best)
    return out


def numbers_exact(reading, page: synth.Page, matches: list[int | None]) -> tuple[int, int]:
    """(numbers read exactly, true numbers): a number is exact when one found number holds exactly
    its digits, all matched, and nothing else."""
    truth: dict[tuple[int, int], set[int]] = {}
    for k, (li, ni) in enumerate(zip(page.lines, page.numbers, strict=True)):
        truth.setdefault((li, ni), set()).add(k)
    found: dict[tuple[int, int], list[int | None]] = {}
    for d, m in zip(reading.digits, matches, strict=True):
        found.setdefault((d.line, d.number), []).append(m)
    exact = sum(1 for ms in found.values() if None not in ms and set(ms) in truth.values()
                and len(set(ms)) == len(ms))
    return exact, len(truth)


def tesseract_read(image: np.ndarray) -> tuple[str, float]:
    """Tesseract's text for an image and its CPU time in ms (one single-threaded process per page)."""
    ok, png = cv2.imencode(".png", image)
    start = os.times()
    out = subprocess.run(["tesseract", "stdin", "stdout", *TESSERACT_ARGS], input=png.tobytes(),
                         capture_output=True, check=False,
                         env={"OMP_THREAD_LIMIT": "1", "PATH": "/usr/bin:/bin"})
    end = os.times()
    cpu = (end.children_user - start.children_user) + (end.children_system - start.children_system)
    return out.stdout.decode("utf-8", "replace"), cpu * 1000


def run_tier(rec: Recognizer, tier: str, pages: int, source, tess_pages: int, fast: bool,
             first: int = 0, turned: int = 0) -> dict:
    exact = num_ok = num_all = ceiling = 0
    tm = tp_ = tt = 0
    box_tp = box_found = box_true = 0
    times: list[float] = []
    cpu_times: list[float] = []  # CPU time of this process: one core's work, whatever else runs
    tess = {"exact": 0, "m": 0, "p": 0, "t": 0, "times": [], "pages": 0}
    failures: list[dict] = []
    turned_exact = 0
    for i in range(pages):
        page = page_for(tier, first + i, source)
        start, cpu = time.perf_counter(), time.process_time()
        reading = rec.read(page.image, fast=fast, upright=not fast)  # as `read` reads photos
        times.append((time.perf_counter() - start) * 1000)
        cpu_times.append((time.process_time() - cpu) * 1000)
        ok = reading.text == page.text
        exact += ok
        if page.sources:
            ceiling += bool((rec.predict(page.sources) == np.asarray(page.labels)).all())
        if not ok and len(failures) < 20:
            failures.append({"page": i, "truth": page.text, "read": reading.text})
        m, p, t = text_counts(reading.text, page.text)
        tm, tp_, tt = tm + m, tp_ + p, tt + t
        matches = box_matches(reading, page)
        box_tp += sum(1 for k in matches if k is not None)
        box_found += len(reading.digits)
        box_true += len(page.boxes)
        e, n = numbers_exact(reading, page, matches)
        num_ok, num_all = num_ok + e, num_all + n
        if i < turned:
            turned_exact += sum(rec.read(np.ascontiguousarray(np.rot90(page.image, k)), upright=True).text
                                == page.text for k in (1, 3))
        if i < tess_pages:
            text, ms = tesseract_read(page.image)
            text = normalize(text)
            tess["exact"] += text == page.text
            m, p, t = text_counts(text, page.text)
            tess["m"], tess["p"], tess["t"] = tess["m"] + m, tess["p"] + p, tess["t"] + t
            tess["times"].append(ms)
            tess["pages"] += 1
    row = {
        "tier": tier, "pages": pages, "exact": exact / pages, "ceiling": ceiling / pages,
        "numbers_exact": num_ok / max(num_all, 1),
        "f1_text": f1(tm, tp_, tt), "f1_boxes": f1(box_tp, box_found, box_true),
        "ms_median": statistics.median(times), "ms_mean": statistics.fmean(times),
        "pages_per_s": 1000 / statistics.fmean(times), "cpu_ms_mean": statistics.fmean(cpu_times),
        "cpu_pages_per_s": 1000 / statistics.fmean(cpu_times), "digits": tt, "failures": failures,
    }
    if turned:
        row["turned"] = {"pages": 2 * turned, "exact": turned_exact / (2 * turned)}
    if tess["pages"]:
        row["tesseract"] = {
            "pages": tess["pages"], "exact": tess["exact"] / tess["pages"],
            "f1_text": f1(tess["m"], tess["p"], tess["t"]), "ms_median": statistics.median(tess["times"]),
        }
    return row


FRAME_TIER = synth.Tier("frame", lines=(1, 2), numbers_per_line=(1, 2), digits=(3, 5), height=(40, 70),
                        light=0.3, noise=4.0, blur=0.8, jpeg=(70, 90))  # ~10 digits in a webcam frame
FRAME_SIZE = (640, 480)


def frame_speed(rec: Recognizer, source, frames: int) -> dict:
    """CPU ms per 640x480 webcam-like frame read with fast=True, and its exact-text rate."""
    cpu_times, exact, digits = [], 0, 0
    for i in range(frames):
        page = synth.compose_page(np.random.default_rng([77, i]), source, FRAME_TIER, FRAME_SIZE)
        cpu = time.process_time()
        reading = rec.read(page.image, fast=True)
        cpu_times.append((time.process_time() - cpu) * 1000)
        exact += reading.text == page.text
        digits += len(page.labels)
    return {"frames": frames, "cpu_ms_mean": statistics.fmean(cpu_times),
            "cpu_ms_p95": float(np.percentile(cpu_times, 95)), "exact": exact / frames,
            "digits_per_frame": digits / frames}


def f1(matched: int, predicted: int, true: int) -> float:
    precision = matched / predicted if predicted else 0.0
    recall = matched / true if true else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200, help="pages per tier")
    parser.add_argument("--tiers", default=",".join(synth.TIERS))
    parser.add_argument("--model", default="cnn", help="cnn, ensemble, svc or a .onnx path")
    parser.add_argument("--fast", action="store_true", help="read with fast=True (webcam setting)")
    parser.add_argument("--tesseract-pages", type=int, default=100, help="pages per tier for Tesseract")
    parser.add_argument("--no-tesseract", action="store_true")
    parser.add_argument("--sources", default="mnist,usps", help="digit sets (test splits) to compose from")
    parser.add_argument("--validation", action="store_true",
                        help="pages of USPS train and MNIST hold-out digits instead (choosing options)")
    parser.add_argument("--frames", type=int, default=100, help="webcam-like frames to time (0: skip)")
    parser.add_argument("--strings", help="the string reader's .onnx (default: the models folder's);"
                        " 'none': cut by the CNN alone")
    parser.add_argument("--count-weight", type=float, default=segment.COUNT_WEIGHT,
                        help="weight of the string reader's digit count in the cut search"
                        " (default: %(default)s)")
    parser.add_argument("--string-weight", type=float, default=reader.STRING_WEIGHT,
                        help="power of the string reader's digit probabilities against the CNN's"
                        " (0: its count only; default: %(default)s)")
    parser.add_argument("--turned", type=int, default=0,
                        help="pages per tier also read turned 90 degrees each way (0: skip)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    cv2.setNumThreads(1)  # one core, as the speed target says
    runtime.WIDE_THREADS = 1
    rec = Recognizer.load(args.model)
    if args.strings:
        rec.strings = None if args.strings == "none" else runtime.OnnxStrings(args.strings)
    segment.COUNT_WEIGHT = args.count_weight
    reader.STRING_WEIGHT = args.string_weight
    source = validation_source() if args.validation else synth.load_source(args.sources.split(","))
    sources = "validation digits" if args.validation else f"{args.sources} test splits"
    first = VALIDATION_PAGES if args.validation else 0
    has_tess = shutil.which("tesseract") is not None and not args.no_tesseract
    tess_pages = args.tesseract_pages if has_tess else 0
    if not has_tess and not args.no_tesseract:
        print("tesseract not installed (apt-get install -y tesseract-ocr): its columns are skipped")
    rows = []
    for tier in args.tiers.split(","):
        rows.append(run_tier(rec, tier, args.pages, source, min(tess_pages, args.pages), args.fast, first,
                             min(args.turned, args.pages)))
    frame = frame_speed(rec, source, args.frames) if args.frames else None
    version = ""
    if has_tess:
        out = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False)
        version = (out.stdout or out.stderr).splitlines()[0] if (out.stdout or out.stderr) else ""
    print(f"model {args.model}{' (fast)' if args.fast else ''}; pages of 1200x900 from "
          f"{sources}; {version or 'no Tesseract'}")
    print("tier | pages | exact text | ceiling (digits read alone) | numbers exact | digit F1 (text) "
          "| digit F1 (boxes) | ms/page (median) "
          "| CPU ms/page | pages/s on one core | Tesseract exact | Tesseract F1 (text) "
          "| Tesseract CPU ms/page")
    print("---|---|---|---|---|---|---|---|---|---|---|---|---")
    for r in rows:
        t = r.get("tesseract")
        tess_cols = (f"{t['exact']:.1%} ({t['pages']}) | {t['f1_text']:.3f} | {t['ms_median']:.0f}"
                     if t else "- | - | -")
        print(f"{r['tier']} | {r['pages']} | {r['exact']:.1%} | {r['ceiling']:.1%} | "
              f"{r['numbers_exact']:.1%} | "
              f"{r['f1_text']:.3f} | {r['f1_boxes']:.3f} | {r['ms_mean']:.1f} ({r['ms_median']:.1f}) | "
              f"{r['cpu_ms_mean']:.1f} | {r['cpu_pages_per_s']:.1f} | {tess_cols}")
    for r in rows:
        if "turned" in r:
            print(f"{r['tier']} turned 90 degrees either way: {r['turned']['exact']:.1%} of "
                  f"{r['turned']['pages']} exact (upright: {r['exact']:.1%} of {r['pages']})")
    if frame:
        print(f"webcam-like 640x480 frames, fast=True: {frame['cpu_ms_mean']:.1f} CPU ms/frame "
              f"(p95 {frame['cpu_ms_p95']:.1f}), {frame['digits_per_frame']:.1f} digits/frame, "
              f"exact {frame['exact']:.1%} of {frame['frames']}")
    if args.json:
        meta = {"model": args.model, "strings": None if rec.strings is None else rec.strings.path.name,
                "count_weight": args.count_weight, "string_weight": args.string_weight, "fast": args.fast,
                "sources": sources, "tesseract": version, "page_size": list(synth.PAGE_SIZE)}
        Path(args.json).write_text(json.dumps({"meta": meta, "rows": rows, "frames": frame}, indent=2))


if __name__ == "__main__":
    main()
