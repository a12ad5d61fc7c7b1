"""Training augmentation aimed at other people's handwriting, on 28x28 float images in 0..1.

Each transform imitates a way real digits differ from MNIST: slant and rotation (affine shear and
rotation), imperfect segmentation (small zoom and shift), wobbly strokes (elastic distortion, as in
Simard et al. 2003), pens of other widths (dilation and erosion), and the pieces the reader cuts
from touching digits (a neighbour's stroke end left at one side). Pure functions of the images and
a numpy Generator, so an epoch's augmentation is reproducible from its seed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import cv2
import numpy as np

from .preprocess import crop_to_ink, frame_ink


@dataclass(frozen=True)
class AugmentConfig:
    """How strongly to distort; `none()` gives the plain-MNIST ablation."""

    rotate_deg: float = 12.0  # handwriting tilts by a few degrees either way
    shear: float = 0.25  # slant, as tan(angle)
    zoom: float = 0.12  # +-12% size: the segmenter's crops are not exactly MNIST's 20 px box
    shift_px: float = 2.0  # centre of mass jitter
    elastic_prob: float = 0.5
    elastic_alpha: float = 8.0  # gives ~1.5 px displacement std, like Simard's alpha=34, sigma=4
    elastic_sigma: float = 4.0
    thickness_prob: float = 0.4  # share of digits drawn with a thicker or thinner pen
    stretch: float = 0.15  # +-share of extra width vs height: scans stretched to their box (Semeion)
    lowres_prob: float = 0.15  # share of digits seen through a coarse 16x16-like scanner, half binarized
    slash_zero_prob: float = 0.2  # share of 0s given a slash (written so across Europe, rare in MNIST)
    slash_upright: float = 0.0  # share of those slashes drawn upright through the oval, like a phi
    slash_level: float = 0.0  # share drawn level across its middle, like a theta
    flag_one_prob: float = 0.25  # share of 1s given a long lead-in flag (European 1s)
    flag_max: float = 0.6  # longest flag, as a share of the 1's height (Semeion's reach near the foot)
    foot_one_prob: float = 0.0  # share of flagged 1s also given a foot (a base bar, as printed)
    curl_nine_prob: float = 0.0  # share of 9s whose tail curls back left, like a g (Semeion's)
    bar_off_five_prob: float = 0.0  # share of 5s whose top bar is lost (scanned off, dropped as a fragment)
    box_fill_prob: float = 0.0  # share of digits widened toward a square, as scans stretched to their box
    neighbour_prob: float = 0.2  # share of digits cut from a touching pair, a neighbour's edge left in

    @classmethod
    def none(cls) -> AugmentConfig:
        off = {f.name: 0.0 for f in fields(cls) if f.name.endswith("_prob")}
        return cls(rotate_deg=0.0, shear=0.0, zoom=0.0, shift_px=0.0, elastic_alpha=0.0, stretch=0.0, **off)


def random_affine(image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    """Rotate, shear, zoom and shift about the image centre."""
    angle = np.deg2rad(rng.uniform(-cfg.rotate_deg, cfg.rotate_deg))
    scale = rng.uniform(1 - cfg.zoom, 1 + cfg.zoom)
    shear = rng.uniform(-cfg.shear, cfg.shear)
    aspect = np.exp(rng.uniform(-cfg.stretch, cfg.stretch))  # log-uniform width/height change
    c, s = np.cos(angle), np.sin(angle)
    linear = scale * np.array([[c, -s], [s, c]]) @ np.array([[aspect, shear], [0.0, 1.0]])
    h, w = image.shape
    centre = np.array([(w - 1) / 2, (h - 1) / 2])
    offset = centre - linear @ centre + rng.uniform(-cfg.shift_px, cfg.shift_px, size=2)
    matrix = np.hstack([linear, offset[:, None]]).astype(np.float32)
    return cv2.warpAffine(image, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0.0)


def elastic(image: np.ndarray, rng: np.random.Generator, alpha: float, sigma: float) -> np.ndarray:
    """Smooth random displacement field, the classic elastic distortion."""
    h, w = image.shape
    field = rng.uniform(-1, 1, size=(2, h, w)).astype(np.float32)
    dx = cv2.GaussianBlur(field[0], (0, 0), sigma) * alpha * sigma
    dy = cv2.GaussianBlur(field[1], (0, 0), sigma) * alpha * sigma
    xs, ys = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(image, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=0.0)


def change_thickness(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Grow or shrink the strokes by about one pixel (grey-level dilation or erosion)."""
    kernel = np.ones((2, 2), np.uint8) if rng.random() < 0.5 else np.ones((3, 3), np.uint8)
    if rng.random() < 0.6:
        return cv2.dilate(image, kernel)
    thinner = cv2.erode(image, np.ones((2, 2), np.uint8))
    return thinner if thinner.max() > 0.3 else image  # never erase a thin digit entirely


LOWRES_RANGE = (15, 22)  # frame sides whose 20/28 digit box spans 11-16 px, like 16x16 USPS/Semeion scans


def low_resolution(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Down- and up-sample like a coarse scan; half the time threshold it like Semeion's binary cells."""
    h, w = image.shape
    side = int(rng.integers(LOWRES_RANGE[0], LOWRES_RANGE[1] + 1))
    small = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.5:
        small = (small > 0.4 * float(small.max())).astype(np.float32)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


FILL_MAX_STRETCH = 2.5  # a bar-like 1 widens into a thick bar, not a filled square (Semeion's look so)
FILL_EDGE_GAIN = 1.6  # the stretch widens the strokes' soft edges too; a scan of wider strokes has sharp ones


def fill_box(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Widen the digit toward its height, as Semeion's scanner stretched every digit to fill 16x16.

    MNIST keeps each digit's aspect ratio; a scan that fills its box makes 2s, 4s and 7s as wide as
    tall, which an aspect-keeping model has never seen.
    """
    crop = crop_to_ink(image)
    h, w = crop.shape
    width = min(float(h), w * FILL_MAX_STRETCH) * rng.uniform(0.85, 1.0)
    if width <= w:
        return image
    wide = cv2.resize(crop, (round(width), h), interpolation=cv2.INTER_LINEAR)
    return frame_ink(np.clip(FILL_EDGE_GAIN * (wide - 0.5) + 0.5, 0.0, 1.0))


def augment_one(image: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig) -> np.ndarray:
    out = image
    if cfg.box_fill_prob and rng.random() < cfg.box_fill_prob:
        out = fill_box(out, rng)
    if cfg.thickness_prob and rng.random() < cfg.thickness_prob:
        out = change_thickness(out, rng)
    if cfg.elastic_prob and rng.random() < cfg.elastic_prob:
        out = elastic(out, rng, cfg.elastic_alpha, cfg.elastic_sigma)
    if cfg.rotate_deg or cfg.shear or cfg.zoom or cfg.shift_px or cfg.stretch:
        out = random_affine(out, rng, cfg)
    if cfg.lowres_prob and rng.random() < cfg.lowres_prob:
        out = low_resolution(out, rng)
    return out


def _pen(digit: np.ndarray) -> int:
    """A pen width like the digit's own: 2 px for thin strokes, 3 for heavy ones (MNIST's range)."""
    return 2 if (digit > 0.5).sum() < 110 else 3


Point = tuple[float, float]


def _diagonal_slash(box: tuple[int, int, int, int], rng: np.random.Generator) -> tuple[Point, Point]:
    """Lower left to upper right, overshooting the oval by up to 30% of its height at each end."""
    x0, x1, y0, y1 = box
    over = rng.uniform(0.0, 0.3, size=2) * (y1 - y0)
    return ((x0 - over[0] * 0.6 + rng.uniform(-2, 2), y1 + over[0]),
            (x1 + over[1] * 0.6 + rng.uniform(-2, 2), y0 - over[1]))


def _upright_slash(box: tuple[int, int, int, int], rng: np.random.Generator) -> tuple[Point, Point]:
    """Top to bottom near the middle, leaning a little, standing 10-35% of the height out (a phi)."""
    x0, x1, y0, y1 = box
    over = rng.uniform(0.1, 0.35, size=2) * (y1 - y0)
    cx, lean = (x0 + x1) / 2.0 + rng.uniform(-0.15, 0.15) * (x1 - x0), rng.uniform(-0.15, 0.3)
    half = ((y1 - y0) + over.sum()) / 2.0
    return (cx - lean * half, y1 + over[0]), (cx + lean * half, y0 - over[1])


def _level_slash(box: tuple[int, int, int, int], rng: np.random.Generator) -> tuple[Point, Point]:
    """Side to side across the middle, nearly level, up to 25% of the width out (a theta)."""
    x0, x1, y0, y1 = box
    over = rng.uniform(0.0, 0.25, size=2) * (x1 - x0)
    cy, tilt = (y0 + y1) / 2.0 + rng.uniform(-0.1, 0.1) * (y1 - y0), rng.uniform(-0.15, 0.15)
    half = ((x1 - x0) + over.sum()) / 2.0
    return (x0 - over[0], cy + tilt * half), (x1 + over[1], cy - tilt * half)


def slash_zero(digit: np.ndarray, rng: np.random.Generator, upright: float = 0.0,
               level: float = 0.0) -> np.ndarray:
    """A 0 struck through diagonally; with probability `upright` top to bottom instead (a phi-like
    0, as many UNIPEN writers strike it), with probability `level` across its middle (a theta)."""
    ys, xs = np.nonzero(digit > 0.1)
    box = (int(xs.min()), int(xs.max()), int(ys.min()), int(ys.max()))
    style = rng.random() if upright or level else 1.0
    slash = (_upright_slash if style < upright
             else _level_slash if style < upright + level else _diagonal_slash)
    start, end = slash(box, rng)
    pad = 8  # room for the overshoot; frame_ink fits the result back into the 20 px box
    return frame_ink(_line(np.pad(digit, pad), (start[0] + pad, start[1] + pad),
                           (end[0] + pad, end[1] + pad), _pen(digit)))


FLAG_MIN = 0.3  # shortest flag, as a share of the 1's height
FLAG_STEEP = 0.6  # flags longer than this share fall steeply (45-65 degrees), or the 1 becomes a 7


def flag_one(digit: np.ndarray, rng: np.random.Generator, longest: float = 0.6,
             foot: float = 0.0) -> np.ndarray:
    """A 1 with a lead-in stroke from its top down to the left, FLAG_MIN-`longest` of its height,
    steeply; with probability `foot` also a base bar centred under the stem."""
    ys, xs = np.nonzero(digit > 0.1)
    top, bottom = int(ys.min()), int(ys.max())
    tx = float(xs[ys <= top + 1].mean())
    share = rng.uniform(FLAG_MIN, max(longest, FLAG_MIN))
    length = share * (bottom - top)
    low = 45 if share > FLAG_STEEP else 30  # below the horizontal; a 7's bar is flatter and right
    angle = np.deg2rad(rng.uniform(low, 65))
    canvas = np.pad(digit, 8)
    start = (tx + 8, top + 8)
    end = (tx + 8 - length * np.cos(angle), top + 8 + length * np.sin(angle))
    out = _line(canvas, start, end, _pen(digit))
    if foot and rng.random() < foot:
        bx = float(xs[ys >= bottom - 1].mean())
        half = rng.uniform(0.2, 0.4) * (bottom - top)
        y = bottom + 8 + rng.uniform(-0.5, 1.0)
        out = _line(out, (bx + 8 - half, y), (bx + 8 + half * rng.uniform(0.8, 1.2), y), _pen(digit))
    return frame_ink(out)


def curl_nine(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 9 whose tail curls back to the left at the bottom, sagging first (a bent quadratic)."""
    ys, xs = np.nonzero(digit > 0.1)
    top, bottom = int(ys.min()), int(ys.max())
    height = bottom - top
    start = np.array([float(xs[ys >= bottom - 1].mean()) + 8, bottom + 7.0])
    reach, rise, sag = rng.uniform((0.25, 0.0, 0.05), (0.5, 0.3, 0.15)) * height
    end, bend = start + (-reach, -rise), start + (-0.4 * reach, sag)
    t = np.linspace(0.0, 1.0, 9)[:, None]
    points = (1 - t) ** 2 * start + 2 * (1 - t) * t * bend + t**2 * end
    out = np.pad(digit, 8)
    for a, b in zip(points[:-1], points[1:], strict=True):
        out = _line(out, tuple(a), tuple(b), _pen(digit))
    return frame_ink(out)


BAR_ROWS = (0.15, 0.3)  # the top bar a 5 loses: this share of its height from the top ...
STEM_KEEP = 4  # ... right of its stem's leftmost column plus this many px (and 0-2 more)


def bar_off_five(digit: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A 5 without its top bar, as USPS scans often cut it and as a reader dropping a floating bar
    sees it: the stem and belly only (a reversed c on a short stem), not a 3. Unchanged if that
    would take more than 40% of the ink (a 5 drawn mostly as its bar)."""
    ys, xs = np.nonzero(digit > 0.1)
    top, bottom = int(ys.min()), int(ys.max())
    cut = int(round(top + rng.uniform(*BAR_ROWS) * (bottom - top)))
    keep = int(xs[ys <= cut].min()) + STEM_KEEP + int(rng.integers(0, 3))
    out = digit.copy()
    out[: cut + 1, keep:] = 0.0
    if (out > 0.1).sum() < 0.6 * len(ys):
        return digit
    return frame_ink(out)


def _line(canvas: np.ndarray, start: tuple[float, float], end: tuple[float, float], width: int) -> np.ndarray:
    """Draw an anti-aliased line of full ink (sub-pixel endpoints) onto a float canvas."""
    shift = 4
    p0 = tuple(int(round(v * (1 << shift))) for v in start)
    p1 = tuple(int(round(v * (1 << shift))) for v in end)
    stroke = np.zeros_like(canvas)
    cv2.line(stroke, p0, p1, 1.0, width, cv2.LINE_AA, shift)
    return np.maximum(canvas, stroke)


def add_styles(images: np.ndarray, labels: np.ndarray, seed: int, cfg: AugmentConfig) -> np.ndarray:
    """A copy of prepared digits with some 0s slashed, 1s flagged, 9s curled, 5s barless (AugmentConfig)."""
    rng = np.random.default_rng(seed)
    out = images.copy()
    styles = (
        (0, cfg.slash_zero_prob, lambda d, r: slash_zero(d, r, cfg.slash_upright, cfg.slash_level)),
        (1, cfg.flag_one_prob, lambda d, r: flag_one(d, r, cfg.flag_max, cfg.foot_one_prob)),
        (9, cfg.curl_nine_prob, curl_nine),
        (5, cfg.bar_off_five_prob, bar_off_five),
    )
    for label, prob, style in styles:
        if prob:
            for i in np.flatnonzero((labels == label) & (rng.random(len(labels)) < prob)):
                out[i] = style(images[i], rng)
    return out


NEIGHBOUR_OVERLAP = (-6, 1)  # px (of a 20 px digit) the neighbour reaches over the digit, or its gap
NEIGHBOUR_MAX_SHARE = 0.2  # at most this share of the neighbour's ink is left in the crop ...
DIGIT_MIN_SHARE = 0.85  # ... and at least this share of the digit's own (else: a straddle, a reject)


def with_neighbour(digit: np.ndarray, other: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """`digit` as the segmenter cuts it from a touching pair: a straight cut in the overlap keeps
    the tip of the neighbour's stroke (a 9's stem beside a 3) and may shave the digit's own edge.

    Pieces of touching digits look like this; a model that never saw one reads a 3 plus a stem
    as an 8. Returns the digit unchanged when no cut meets the shares above.
    """
    right = rng.random() < 0.5
    a, b = (digit, other) if right else (np.fliplr(digit), np.fliplr(other))
    cols_a, cols_b = np.flatnonzero(a.max(axis=0) > 0.1), np.flatnonzero(b.max(axis=0) > 0.1)
    if not len(cols_a) or not len(cols_b):
        return digit
    dx = int(cols_a[-1]) + int(rng.integers(*NEIGHBOUR_OVERLAP)) - int(cols_b[0])
    dy = int(rng.integers(-3, 4))
    pad = 8
    first = np.zeros((28 + 2 * pad, 28 + 2 * pad + max(dx, 0)), np.float32)
    second = np.zeros_like(first)
    first[pad : pad + 28, pad : pad + 28] = a
    second[pad + dy : pad + dy + 28, pad + dx : pad + dx + 28] = b
    lo, hi = pad + int(cols_b[0]) + dx, pad + int(cols_a[-1]) + 2  # the overlap, where a cut falls
    for _ in range(4):
        cut = int(rng.integers(min(lo, hi), max(lo, hi) + 1))
        own = first[:, :cut].sum() / first.sum()
        theirs = second[:, :cut].sum() / second.sum()
        if own >= DIGIT_MIN_SHARE and theirs <= NEIGHBOUR_MAX_SHARE:
            crop = frame_ink(np.maximum(first, second)[:, :cut])
            return crop if right else np.fliplr(crop)
    return digit


def add_neighbours(images: np.ndarray, seed: int, cfg: AugmentConfig) -> np.ndarray:
    """A copy of prepared digits, `cfg.neighbour_prob` of them with a random other digit's edge."""
    if not cfg.neighbour_prob:
        return images
    rng = np.random.default_rng(seed + 7)
    out = images.copy()
    for i in np.flatnonzero(rng.random(len(images)) < cfg.neighbour_prob):
        out[i] = with_neighbour(images[i], images[rng.integers(len(images))], rng)
    return out


def augment_batch(images: np.ndarray, seed: int, cfg: AugmentConfig = AugmentConfig()) -> np.ndarray:
    """A distorted copy of an (N, 28, 28) float32 batch; the same seed gives the same copy."""
    rng = np.random.default_rng(seed)
    return np.stack([augment_one(im, rng, cfg) for im in images]).astype(np.float32)
