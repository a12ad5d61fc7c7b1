"""Digit strings as one strip: the input of the string reader (`crnn.py`) and its training data.

The cut search in `segment.py` reads a blob of touching digits piece by piece and must guess
where one digit ends; the string reader reads the whole blob at once and says how many digits it
holds and which. Its input is the blob's ink scaled to a fixed height (`to_strip`); its training
strings are MNIST train digits drawn touching and overlapping the way pages draw them
(`compose_strings`, through `synth.render_numbers`). Pure functions on numpy arrays.
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np

from .synth import SOURCE_INK, Placement, render_numbers

STRIP_H = 24  # strip height: the digits' 20 px (MNIST's box) plus 2 px above and below
INK_H = 20  # the blob's ink is scaled to this height
SIDE_PAD = 4  # blank columns either side: a digit at the edge still has blank context
STEP = 4  # the reader's time step in input columns (two 2x poolings); strips are padded to it
MAX_STRIP_W = 320  # wider blobs (a dozen touching digits) are squeezed to this
MIN_INK = 0.1  # ink below this is the paper's noise, not a stroke


def to_strip(crop: np.ndarray) -> np.ndarray:
    """A blob's ink (float 0..1, any size) as a (STRIP_H, W) float32 strip, W a multiple of STEP.

    Cropped to its ink, scaled to INK_H rows keeping the aspect ratio, and padded: the same for
    training strings and for the reader's blobs, so the model sees one convention.
    """
    ink = np.asarray(crop, np.float32)
    rows, cols = np.flatnonzero(ink.max(axis=1) > MIN_INK), np.flatnonzero(ink.max(axis=0) > MIN_INK)
    if len(rows) == 0:
        return np.zeros((STRIP_H, 2 * SIDE_PAD), np.float32)
    ink = ink[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    ink = ink / max(float(ink.max()), 1e-6)
    h, w = ink.shape
    width = int(np.clip(round(w * INK_H / h), 1, MAX_STRIP_W - 2 * SIDE_PAD))
    scaled = cv2.resize(ink, (width, INK_H), interpolation=cv2.INTER_AREA if h > INK_H else cv2.INTER_LINEAR)
    total = -(-(width + 2 * SIDE_PAD) // STEP) * STEP
    top = (STRIP_H - INK_H) // 2
    strip = np.zeros((STRIP_H, total), np.float32)
    left = (total - width) // 2
    strip[top : top + INK_H, left : left + width] = np.clip(scaled, 0.0, 1.0)
    return strip


def stack_strips(strips: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Strips padded with blank columns on the right into one (N, STRIP_H, W) batch, and their widths."""
    widths = np.array([s.shape[1] for s in strips], np.int32)
    batch = np.zeros((len(strips), STRIP_H, int(widths.max()) if len(strips) else STEP), np.float32)
    for i, s in enumerate(strips):
        batch[i, :, : s.shape[1]] = s
    return batch, widths


# How training strings are drawn: like the benchmark's touching pages (synth.TIERS), a little wider.
LENGTHS = (1, 2, 3, 4, 5, 6)
LENGTH_WEIGHTS = (0.15, 0.35, 0.22, 0.13, 0.09, 0.06)  # blobs of two touching digits are the commonest
HEIGHT = (36.0, 110.0)  # digit height in pixels before the strip's scaling: the page's pen sizes
TOUCH_GAP = (-0.2, -0.02)  # overlaps in digit heights (synth's touching pairs: -0.16..-0.03)
OPEN_GAP = (0.0, 0.08)  # sometimes a pair nearly touches: one blob still (a broken stroke, merged bits)
OPEN_SHARE = 0.15
STROKE = (-1, 2)  # pen dilation in pixels
BLUR = 1.2  # largest Gaussian blur sigma, in the drawing's pixels


def compose_strings(images: np.ndarray, labels: np.ndarray, count: int, seed: int
                    ) -> tuple[list[np.ndarray], list[list[int]]]:
    """`count` strips of 1-6 touching digits drawn from `images` (28x28 uint8 or float, ink bright),
    with the labels each strip holds, left to right."""
    rng = np.random.default_rng(seed)
    images = np.asarray(images)
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    usable = np.flatnonzero(images.reshape(len(images), -1).max(axis=1) > SOURCE_INK * scale)  # not erased
    strips, texts = [], []
    while len(strips) < count:
        n = int(rng.choice(LENGTHS, p=LENGTH_WEIGHTS))
        idx = usable[rng.integers(0, len(usable), n)]
        height = float(rng.uniform(*HEIGHT))
        gaps = [float(rng.uniform(*(OPEN_GAP if rng.random() < OPEN_SHARE else TOUCH_GAP))) * height
                for _ in range(n - 1)]
        strokes = rng.integers(STROKE[0], STROKE[1] + 1, n).tolist()
        placement = Placement([images[i] for i in idx], [int(labels[i]) for i in idx], x=8.0,
                              y=0.3 * height, height=height, gaps=gaps, strokes=strokes)
        size = (int(n * 1.6 * height + 40), int(1.8 * height))
        ink, boxes = render_numbers(size, [placement], rng)
        placed = len(boxes[0])
        if placed == 0:
            continue
        sigma = rng.uniform(0.0, BLUR)
        if sigma > 0.3:
            ink = cv2.GaussianBlur(ink, (0, 0), sigma)
        ink = np.where(ink > MIN_INK, ink, 0.0)
        strips.append(to_strip(ink))
        texts.append([int(labels[i]) for i in idx[:placed]])
    return strips, texts
