"""Examples of "not one digit" for the CNN's reject class, made from MNIST train digits.

Splitting touching digits means asking the model "is this crop one digit?". A plain 10-class
softmax has no way to say no: half a 0 reads as a confident 1 and two squeezed digits as a
confident 8. The reject class learns the crops a wrong cut produces, all composed from the
training digits (never from evaluation sets):

    pair      two digits side by side, overlapping or touching, fitted into one box
    straddle  a window over the right part of one digit and the left part of the next
    fragment  one side of a round digit (0, 6, 8) cut off at 40-60% of its width
    scribble  a shape no digit has, drawn with a pen: a zigzag, a spiral, hatching, a star
              (a user testing the app with a doodle must not get a confident digit)

Pure functions on 28x28 float images (ink bright on 0) and a numpy Generator.
"""

from __future__ import annotations

import cv2
import numpy as np

from .preprocess import frame_ink

REJECT = 10  # the reject class's index after the ten digits
SHARES = {"pair": 0.45, "straddle": 0.45, "fragment": 0.1}  # mix of the kinds of wrong crops
ROUND_DIGITS = (0, 6, 8)  # cutting these leaves shapes no digit has; a cut 4 or 9 leaves a 1
INK = 0.1  # pixels above this are ink when measuring a digit's extent
SCRIBBLE_CANVAS = 64  # scribbles are drawn this big with a 4-7 px pen, then framed as digits are


def _ink_columns(digit: np.ndarray) -> tuple[int, int]:
    cols = np.flatnonzero(digit.max(axis=0) > INK)
    return int(cols[0]), int(cols[-1]) + 1


def _side_by_side(a: np.ndarray, b: np.ndarray, gap: int, rng: np.random.Generator
                  ) -> tuple[np.ndarray, np.ndarray]:
    """`a` and `b` on one canvas (separate layers), `b` starting `gap` columns after `a`'s ink ends
    (negative: overlapping) and a little up or down."""
    _, a_end = _ink_columns(a)
    b_start, _ = _ink_columns(b)
    dx = a_end + gap - b_start
    dy = int(rng.integers(-3, 4))
    shape = (28 + 8, 28 + max(dx, 0) + 8)
    first, second = np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    first[4 : 4 + 28, 4 : 4 + 28] = a
    second[4 + dy : 4 + dy + 28, 4 + dx : 4 + dx + 28] = b
    return first, second


def pair(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Two digits touching or overlapping, as one crop (what an unsplit blob looks like).

    The second digit always sticks out of the first by a few pixels: one digit hiding a thin 1
    inside its box is still one digit to the eye.
    """
    b0, b1 = _ink_columns(b)
    gap = int(rng.integers(-5, 2))
    gap = max(gap, 4 - (b1 - b0))  # union at least 4 px wider than `a`
    first, second = _side_by_side(a, b, gap, rng)
    return frame_ink(np.maximum(first, second))


def straddle(a: np.ndarray, b: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A cut that starts inside `a` and ends inside `b`, holding 20-75% of each one's ink."""
    first, second = _side_by_side(a, b, int(rng.integers(-2, 3)), rng)
    a0, a1 = _ink_columns(first)
    for _ in range(4):
        start = a0 + int(rng.uniform(0.3, 0.75) * (a1 - a0))
        stop = start + int(rng.uniform(0.6, 1.0) * 20)
        share_a = first[:, start:stop].sum() / first.sum()
        share_b = second[:, start:stop].sum() / second.sum()
        if 0.2 <= share_a <= 0.75 and 0.2 <= share_b <= 0.75:
            return frame_ink(np.maximum(first, second)[:, start:stop])
    return pair(a, b, rng)


def fragment(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The left or right 40-60% of a round digit."""
    c0, c1 = _ink_columns(digit)
    keep = max(2, int(rng.uniform(0.4, 0.6) * (c1 - c0)))
    part = digit[:, c0 : c0 + keep] if rng.random() < 0.5 else digit[:, c1 - keep : c1]
    return frame_ink(part)


def scribble(rng: np.random.Generator) -> np.ndarray:
    """A doodle no digit looks like: a zigzag of 3-8 sharp turns, 3-6 parallel hatching strokes, or
    a star of 3-4 strokes crossing near its middle. (Shapes a digit can take are left out: an X, a
    +, a dot, a tangle that may read as 8, a spiral that curls like a 6.)"""
    c = SCRIBBLE_CANVAS
    kind = rng.choice(["zigzag", "hatch", "star"])
    pen = int(rng.integers(4, 8))
    lines: list[np.ndarray] = []
    if kind == "zigzag":
        n = int(rng.integers(5, 10))
        along = np.linspace(8, c - 8, n)
        across = np.where(np.arange(n) % 2 == 0, 12, c - 12) + rng.uniform(-6, 6, n)
        lines.append(np.stack([along, across], 1) if rng.random() < 0.5 else np.stack([across, along], 1))
    elif kind == "hatch":
        angle = rng.uniform(0, np.pi)
        d, n = np.array([np.cos(angle), np.sin(angle)]), int(rng.integers(3, 7))
        normal = np.array([-d[1], d[0]])
        for k in np.linspace(-1, 1, n):
            mid = c / 2 + k * (c / 2 - 10) * normal + rng.uniform(-3, 3, 2)
            half = rng.uniform(0.25, 0.45) * c
            lines.append(np.stack([mid - half * d, mid + half * d]))
    else:
        n = int(rng.integers(3, 5))
        for angle in rng.uniform(0, np.pi / n) + np.arange(n) * np.pi / n + rng.uniform(-0.15, 0.15, n):
            half = rng.uniform(0.3, 0.45) * c * np.array([np.cos(angle), np.sin(angle)])
            mid = c / 2 + rng.uniform(-4, 4, 2)
            lines.append(np.stack([mid - half, mid + half]))
    canvas = np.zeros((c, c), np.uint8)
    for line in lines:
        pts = np.clip(line, 2, c - 3).round().astype(np.int32).reshape(-1, 1, 2)
        cv2.polylines(canvas, [pts], False, 255, pen, cv2.LINE_AA)
    return frame_ink(canvas.astype(np.float32) / 255.0)


def pair_indices(n: int, one_idx: np.ndarray, ones: float, rng: np.random.Generator) -> np.ndarray:
    """Two random digits of `n`; with probability `ones` one of them (either side) is a 1."""
    pick = rng.integers(n, size=2)
    if ones and len(one_idx) and rng.random() < ones:
        one = rng.choice(one_idx)
        pick[1 if rng.random() < 0.5 else 0] = one
    return pick


def make_negatives(digits: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator,
                   ones: float = 0.0, scribbles: float = 0.0) -> np.ndarray:
    """`n` reject-class images (n, 28, 28) from a batch of prepared digits and their labels;
    `ones` of the pairs hold a 1 on one side (a 1 stuck to its neighbour reads as the neighbour);
    `scribbles` of the `n` are doodles (`scribble`) instead of wrong cuts."""
    kinds = rng.choice(list(SHARES), size=n, p=list(SHARES.values()))
    doodles = rng.random(n) < scribbles if scribbles else np.zeros(n, bool)  # none: the cuts' stream
    # stays as it was, so earlier recipes make the same crops
    round_idx = np.flatnonzero(np.isin(labels, ROUND_DIGITS))
    one_idx = np.flatnonzero(labels == 1)
    out = np.empty((n, 28, 28), np.float32)
    for k, kind in enumerate(kinds):
        if doodles[k]:
            out[k] = scribble(rng)
            continue
        if kind == "fragment":
            out[k] = fragment(digits[rng.choice(round_idx)], rng)
            continue
        a, b = digits[pair_indices(len(digits), one_idx, ones if kind == "pair" else 0.0, rng)]
        out[k] = pair(a, b, rng) if kind == "pair" else straddle(a, b, rng)
    return out
