"""Test-time augmentation, measured: is reading each digit several ways worth its cost?

`python scripts/measure_tta.py [--model cnn] [--sets usps_train,mnist,usps,semeion,unipen]`

Each digit's prepared 28x28 input is also read shifted, rotated, zoomed, sheared, thickened and
thinned, and the probabilities are averaged per group of variants. USPS train is the validation
set that decides; the README reports the result (measured, not shipped).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognizer import Recognizer  # noqa: E402
from recognizer.evalsets import load_set  # noqa: E402

CENTRE = 13.5  # of a 28x28 input


def warp(batch: np.ndarray, angle: float = 0.0, zoom: float = 1.0, dx: float = 0.0, shear: float = 0.0):
    """Every input turned, zoomed, shifted or sheared about the centre."""
    m = cv2.getRotationMatrix2D((CENTRE, CENTRE), angle, zoom)
    m[0, 1] += shear
    m[0, 2] += dx - shear * CENTRE
    return np.stack([cv2.warpAffine(b, m, (28, 28), flags=cv2.INTER_LINEAR) for b in batch])


def pen(batch: np.ndarray, thicker: bool) -> np.ndarray:
    """Every input's strokes one pixel thicker or thinner."""
    op = cv2.dilate if thicker else cv2.erode
    return np.stack([op(b, np.ones((2, 2), np.uint8)) for b in batch])


VARIANTS = {
    "rotate": (lambda b: warp(b, angle=7), lambda b: warp(b, angle=-7)),
    "zoom": (lambda b: warp(b, zoom=0.9), lambda b: warp(b, zoom=1.1)),
    "shear": (lambda b: warp(b, shear=0.2), lambda b: warp(b, shear=-0.2)),
    "pen": (lambda b: pen(b, True), lambda b: pen(b, False)),
    "shift": (lambda b: warp(b, dx=1), lambda b: warp(b, dx=-1)),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--sets", default="usps_train,mnist,usps,semeion,unipen")
    args = parser.parse_args()
    rec = Recognizer.load(args.model)
    print("set | plain | " + " | ".join(f"+{name}" for name in VARIANTS) + " | all (11 reads)")
    for name in args.sets.split(","):
        x, y = load_set(name)
        batch = rec.prepare(x)
        plain = rec.proba_prepared(batch)
        extra = {v: [rec.proba_prepared(f(batch)) for f in fs] for v, fs in VARIANTS.items()}
        row = [plain] + [np.mean([plain, *ps], axis=0) for ps in extra.values()]
        row.append(np.mean([plain, *(p for ps in extra.values() for p in ps)], axis=0))
        print(name + " | " + " | ".join(f"{(p.argmax(1) == y).mean():.2%}" for p in row), flush=True)


if __name__ == "__main__":
    main()
