"""Training digits as the reader really cuts them from photographed pages.

MNIST digits are clean, centred scans. The reader's inputs are not: they are thresholded out of
uneven light, blur and JPEG, cut from touching neighbours at the cut the reader chose, and now and
then two digits left merged. This module composes synthetic pages from MNIST **train** digits
(the same generator the benchmark uses, with other digits and seeds), reads them with a trained
model, and keeps each crop's 28x28 model input with its true label: a found box that matches one
true digit gets that digit's label; a box that covers two true digits gets the reject class.
With `candidates=True` it keeps every piece the reader had the model score, the cuts it turned
down too: a merged pair, a cut across two digits, part of a round digit are the reject class's
real examples, cut from real-looking pages by the splitter that must learn to turn them down.

    x, y = page_crops(Recognizer.load("cnn"), images, labels, pages=2000, seed=0)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import synth
from .negatives import REJECT

TIERS = ("clean", "touching", "multiline", "hard")  # page kinds, drawn in turn
MATCH_IOU = 0.5  # a found box this close to one true box is that digit
COVER = 0.6  # a found box holding this share of two true boxes each is a merged pair (reject)
STRADDLE = 0.25  # an unmatched box holding this share of two true boxes each is a wrong cut (reject)
FRAGMENT = 0.6  # a candidate holding less than this share of one round digit and nothing else is a piece
ROUND_DIGITS = (0, 6, 8)  # ... rejected only for these: part of a 4 or a 9 can be a fine 1 (negatives.py)


def iou(a: synth.Box, b: synth.Box) -> float:
    """Intersection over union of two (x, y, w, h) boxes."""
    inter = _intersection(a, b)
    return inter / max(a[2] * a[3] + b[2] * b[3] - inter, 1)


def _intersection(a: synth.Box, b: synth.Box) -> int:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy


def crop_label(box: synth.Box, truth: Sequence[synth.Box], labels: Sequence[int]) -> int | None:
    """The training label of a found box: a true digit's label, REJECT for a merged pair or a cut
    across two digits, or None (a fragment or clutter: too unclear to teach either way)."""
    shares = [_intersection(box, t) / max(t[2] * t[3], 1) for t in truth]
    if sum(s >= COVER for s in shares) >= 2:  # first: a 1 merged into its neighbour leaves a box
        return REJECT  # close to the neighbour's
    scores = [iou(box, t) for t in truth]
    if scores and max(scores) >= MATCH_IOU:
        return int(labels[int(np.argmax(scores))])
    return REJECT if sum(s >= STRADDLE for s in shares) >= 2 else None


def candidate_label(box: synth.Box, truth: Sequence[synth.Box], labels: Sequence[int]) -> int | None:
    """`crop_label`, and REJECT for a piece of a round digit (the left half of a 0) that holds
    nothing of its neighbours: a final reading never keeps one, a candidate cut often makes one."""
    label = crop_label(box, truth, labels)
    if label is not None:
        return label
    covered = [_intersection(t, box) / max(t[2] * t[3], 1) for t in truth]  # each true digit's share
    inside = [k for k, c in enumerate(covered) if c > 0.05]
    if len(inside) == 1 and labels[inside[0]] in ROUND_DIGITS and covered[inside[0]] < FRAGMENT:
        own = _intersection(box, truth[inside[0]]) / max(box[2] * box[3], 1)
        return REJECT if own > 0.8 else None  # the box lies on the digit, not on clutter beside it
    return None


def page_crops(rec, images: Sequence[np.ndarray], labels: np.ndarray, pages: int, seed: int,
               tiers: Sequence[str] = TIERS, candidates: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(N, 28, 28) float model inputs and (N,) labels read off `pages` synthetic pages.

    `rec` is a loaded CNN `Recognizer` (its segmentation chooses the cuts); `images`/`labels`
    are the training digits the pages are made of. `candidates`: every scored piece, not only
    the final digits. The crops are kept as `to_mnist` makes them and training makes them as the
    model being trained sees them, so the cutting model must take them as `to_mnist` makes them.
    """
    if getattr(rec.backend, "convention", ()):
        raise ValueError(f"page crops keep the cutting model's inputs; {rec.backend.path.name} makes its"
                         f" own ({' + '.join(rec.backend.convention)}): cut with a plain CNN (--crop-model)")
    source = synth.DigitSource(images, np.asarray(labels, np.int64), ("train",))
    rng = np.random.default_rng(seed)
    xs: list[np.ndarray] = []
    ys: list[int] = []
    for i in range(pages):
        page = synth.compose_page(rng, source, tiers[i % len(tiers)])
        if candidates:
            cut: list = []
            rec.read(page.image, candidates=cut)
            kept = [(crop, candidate_label(box, page.boxes, page.labels)) for box, crop in cut]
            kept = [(crop, label) for crop, label in kept if label is not None]
            if kept:
                xs.extend(rec.prepare([crop for crop, _ in kept]))
                ys.extend(label for _, label in kept)
            continue
        for digit in rec.read(page.image).digits:
            label = crop_label(digit.box, page.boxes, page.labels)
            if label is not None:
                xs.append(digit.model_input)
                ys.append(label)
    if not xs:
        return np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64)
    return np.stack(xs).astype(np.float32), np.asarray(ys, np.int64)
