"""Photos turned sideways: notice it from the reading's layout, and read them turned upright.

A phone photo carries its orientation in EXIF (`imageio` applies it), but copies through some
messengers and editors lose the tag, some scanners never write it, and a page lying sideways is
then read as scattered, doubtful digits. Reading every photo in three orientations would triple the time of
every page, and the model's confidence alone does not tell a turned page (its median confidence
is often as high). The layout does: turned digits stand wider than tall and stack above each
other instead of standing side by side. Only a reading that looks like that is read again,
turned both ways, and the reading that looks most like upright writing is kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import numpy as np

from .result import Reading, reading_text

SIDEWAYS_STACKED = 0.3  # share of digits whose nearest neighbour stands above or below, not beside
SIDEWAYS_ASPECT = 1.0  # median width/height of the boxes: upright digits ~0.75, turned ones ~1.3
SIDEWAYS_DOUBT = -0.3  # mean log confidence below this: perhaps turned digits read as something
TURNS = (1, 3)  # quarter turns counter-clockwise tried (np.rot90's k): sideways either way

Box = tuple[int, int, int, int]


def stacked_share(boxes: Sequence[Box]) -> float:
    """Share of boxes whose nearest neighbour (centre to centre) is more above/below than beside."""
    if len(boxes) < 2:
        return 0.0
    b = np.asarray(boxes, float)
    cx, cy = b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    dx, dy = cx[:, None] - cx[None], cy[:, None] - cy[None]
    dist = np.hypot(dx, dy)
    np.fill_diagonal(dist, np.inf)
    nearest = dist.argmin(axis=1)
    rows = np.arange(len(b))
    return float(np.mean(np.abs(dy[rows, nearest]) > np.abs(dx[rows, nearest])))


def mean_log_confidence(reading: Reading) -> float:
    """How surely the digits were read, on average (log: one doubtful digit counts)."""
    if not reading.digits:
        return float("-inf")
    return float(np.mean(np.log(np.maximum([d.confidence for d in reading.digits], 1e-6))))


def looks_sideways(reading: Reading) -> bool:
    """Whether a reading may be of a page turned sideways (worth reading again turned)."""
    if not reading.digits:
        return True
    boxes = [d.box for d in reading.digits]
    aspect = float(np.median([w / max(h, 1) for _, _, w, h in boxes]))
    return (stacked_share(boxes) >= SIDEWAYS_STACKED or aspect >= SIDEWAYS_ASPECT
            or mean_log_confidence(reading) < SIDEWAYS_DOUBT)


def upright_score(reading: Reading) -> float:
    """Higher for readings that look like upright writing: sure digits standing side by side."""
    return mean_log_confidence(reading) - stacked_share([d.box for d in reading.digits])


def turn_box(box: Box, k: int, shape: tuple[int, ...]) -> Box:
    """A box found in `np.rot90(image, k)` in the pixels of `image` (of `shape`)."""
    x, y, w, h = box
    height, width = shape[:2]
    k %= 4
    if k == 1:
        return (width - y - h, x, h, w)
    if k == 2:
        return (width - x - w, height - y - h, w, h)
    if k == 3:
        return (y, height - x - w, h, w)
    return box


def turned_back(reading: Reading, k: int, shape: tuple[int, ...]) -> Reading:
    """The reading of `np.rot90(image, k)` with its boxes in `image`'s pixels, `turned` noted."""
    digits = [replace(d, box=turn_box(d.box, k, shape)) for d in reading.digits]
    return Reading(reading_text(digits), digits, turned=(4 - k) % 4 * 90)


def read_upright(read: Callable[[np.ndarray], Reading], image: np.ndarray) -> Reading:
    """`read(image)`, or, when that looks sideways, the best of it and the image read turned
    90 degrees either way (ties keep the image as it is)."""
    best = read(image)
    if not looks_sideways(best):
        return best
    best_score = upright_score(best)
    for k in TURNS:
        turned = read(np.ascontiguousarray(np.rot90(image, k)))
        score = upright_score(turned)
        if score > best_score:
            best, best_score = turned_back(turned, k, image.shape), score
    return best
