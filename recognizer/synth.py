"""Synthetic photos of handwritten numbers on paper, with known text and digit boxes.

Pages are composed from real handwritten digits of held-out sets (MNIST **test**, USPS test,
Semeion), never from training data, so benchmark figures measure generalization. Everything is a
pure function of a `numpy.random.Generator`: the same seed gives the same page.

    source = load_source()                       # MNIST test + USPS test digits
    page = compose_page(rng, source, "touching")  # Page(image, text, boxes, labels, lines)

`render_numbers` places given numbers at given positions on a clean canvas (used by the webcam
helper to make test videos); `compose_page` adds layout, paper, light, noise and camera effects
according to a difficulty tier.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from .data import dataset_path, load_npz

Box = tuple[int, int, int, int]  # (x, y, w, h) in page pixels

PAGE_SIZE = (1200, 900)  # (width, height): about one megapixel, a typical downscaled phone photo
SOURCE_INK = 0.25  # source pixels above this fraction of full ink count as the digit when cropping
MAX_OVERLAP = 0.3  # touching digits overlap by at most this share of the narrower one's width
BOX_INK = 0.3  # page ink above this marks a digit's ground-truth box (ignores faint blur halo)


@dataclass(frozen=True)
class DigitSource:
    """Handwritten digit images (bright ink on black, any size) and their labels."""

    images: Sequence[np.ndarray]
    labels: np.ndarray
    names: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.labels)

    def sample(self, rng: np.random.Generator, label: int | None = None) -> tuple[np.ndarray, int]:
        """A random digit image (with the given label if asked) and its label."""
        if label is None:
            i = int(rng.integers(len(self.labels)))
        else:
            idx = np.flatnonzero(self.labels == label)
            i = int(idx[rng.integers(len(idx))])
        return self.images[i], int(self.labels[i])


def load_source(names: Sequence[str] = ("mnist", "usps")) -> DigitSource:
    """The **test** splits of the named sets in ../shared/datasets (never training data).

    Semeion is available too ("semeion") but its digits are stretched to fill a square, so a "1"
    is as wide as a "0"; it is left out of the default mix for that reason.
    """
    images: list[np.ndarray] = []
    labels: list[np.ndarray] = []
    for name in names:
        path = dataset_path(name)
        if path is None:
            raise FileNotFoundError(f"{name}.npz not found (set ${name.upper()}_NPZ)")
        data = load_npz(path)
        images.extend(data["x_test"])
        labels.append(data["y_test"].astype(np.int64))
    return DigitSource(images, np.concatenate(labels), tuple(names))


@dataclass(frozen=True)
class Tier:
    """How hard a page is: layout, spacing, paper, light and camera effects."""

    name: str
    lines: tuple[int, int] = (1, 1)  # lines per page (inclusive range)
    numbers_per_line: tuple[int, int] = (1, 1)
    digits: tuple[int, int] = (1, 8)  # digits per number
    height: tuple[float, float] = (50, 110)  # digit height in pixels
    gap: tuple[float, float] = (0.12, 0.35)  # gap between digits of a number, in digit heights
    touch_prob: float = 0.0  # chance that a pair of neighbouring digits touches/overlaps instead
    touch_gap: tuple[float, float] = (-0.16, -0.03)  # gap for touching pairs (negative = overlap)
    number_gap: tuple[float, float] = (1.3, 3.0)  # gap between numbers, in digit heights
    stroke: tuple[int, int] = (-1, 2)  # pixels of dilation (erosion if negative) of the strokes
    tilt_deg: float = 0.0  # max line tilt
    light: float = 0.0  # depth of the lighting gradient (0 = even light)
    shadow: float = 0.0  # depth of a soft shadow (0 = none)
    noise: float = 2.0  # sensor noise sigma, in grey levels
    blur: float = 0.0  # max Gaussian blur sigma
    jpeg: tuple[int, int] = (85, 95)  # JPEG quality range (0 = no JPEG)
    perspective: float = 0.0  # max corner displacement, as a fraction of the page size
    ruled_prob: float = 0.0  # chance of ruled lines under the digits
    specks: int = 0  # max number of dirt specks
    broken_prob: float = 0.0  # chance that a digit has a gap erased from one stroke
    colour: bool = False  # RGB photo with tinted paper and ink, else grey


TIERS: dict[str, Tier] = {
    "clean": Tier("clean"),
    "touching": Tier("touching", digits=(2, 8), touch_prob=0.8),
    "multiline": Tier(
        "multiline", lines=(2, 4), numbers_per_line=(1, 3), height=(40, 80), tilt_deg=3.0,
        light=0.45, shadow=0.35, noise=5.0, blur=1.0, jpeg=(50, 90), perspective=0.05,
        colour=True,
    ),
    "hard": Tier(
        "hard", lines=(2, 4), numbers_per_line=(1, 3), height=(32, 80), touch_prob=0.3, tilt_deg=3.0,
        light=0.55, shadow=0.45, noise=7.0, blur=1.4, jpeg=(40, 80), perspective=0.06,
        ruled_prob=0.7, specks=40, broken_prob=0.15, colour=True,
    ),
}


@dataclass
class Page:
    """A composed page and its ground truth (digits in reading order)."""

    image: np.ndarray  # uint8, (H, W) grey or (H, W, 3) RGB
    text: str
    boxes: list[Box]
    labels: list[int]
    lines: list[int] = field(default_factory=list)  # line index of each digit
    numbers: list[int] = field(default_factory=list)  # number index (within its line) of each digit
    sources: list[np.ndarray] = field(default_factory=list)  # each digit's image as drawn from the set


@dataclass
class Placement:
    """One number to draw: its digits' images and labels, top-left corner, height, gaps."""

    images: list[np.ndarray]
    labels: list[int]
    x: float
    y: float
    height: float
    gaps: list[float]  # len(images) - 1 gaps in pixels (negative overlaps)
    slope: float = 0.0  # dy/dx of the baseline
    strokes: list[int] = field(default_factory=list)  # dilation per digit (0 when empty)
    follows: float | None = None  # if set: start this many pixels right of the previous number's end


def digit_patch(image: np.ndarray, height: float, stroke: int = 0) -> np.ndarray:
    """A source digit as float ink 0..1 cropped to its ink and scaled to `height` pixels.

    Upscaled low-resolution digits are soft; a contrast stretch gives them pen-like edges.
    """
    ink = np.asarray(image, np.float32)
    ink = ink / max(float(ink.max()), 1.0)
    x, y, w, h = cv2.boundingRect((ink > SOURCE_INK).astype(np.uint8))
    ink = ink[y : y + h, x : x + w]
    scale = height / h
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    ink = cv2.resize(ink, size, interpolation=cv2.INTER_LINEAR if scale > 1 else cv2.INTER_AREA)
    ink = np.clip((ink - 0.2) / 0.5, 0.0, 1.0)
    if stroke:
        k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * abs(stroke) + 1, 2 * abs(stroke) + 1))
        ink = np.pad(ink, abs(stroke))
        ink = cv2.dilate(ink, k) if stroke > 0 else cv2.erode(ink, k)
    return ink


def break_stroke(rng: np.random.Generator, ink: np.ndarray) -> np.ndarray:
    """Erase a short band across the digit, as a pen skipping leaves a gap in a stroke."""
    out = ink.copy()
    h, w = out.shape
    band = max(2, round(h * rng.uniform(0.05, 0.1)))
    if rng.random() < 0.5:
        y = int(rng.integers(h // 5, max(h // 5 + 1, h - h // 5 - band)))
        out[y : y + band] = 0
    else:
        x = int(rng.integers(w // 5, max(w // 5 + 1, w - w // 5 - band)))
        out[:, x : x + band] = 0
    return out


def render_numbers(
    size: tuple[int, int], placements: Sequence[Placement], rng: np.random.Generator | None = None
) -> tuple[np.ndarray, list[list[Box]]]:
    """Draw numbers on an empty ink layer: (ink (H, W) float 0..1, per-number digit boxes).

    Digits are combined with `max`, so touching and overlapping digits merge like real ink.
    Boxes are the tight ink boxes of each digit where it was placed.
    """
    width, height = size
    ink = np.zeros((height, width), np.float32)
    all_boxes: list[list[Box]] = []
    right = 0.0  # where the previous number ended
    for p in placements:
        boxes: list[Box] = []
        x = p.x if p.follows is None else right + p.follows
        y_line = p.y + (x - p.x) * p.slope
        if p.follows is not None and x + 0.8 * p.height * len(p.images) > width:
            all_boxes.append(boxes)  # no room left on the line: the number is left out
            continue
        x0 = x
        prev_w = 0
        for i, image in enumerate(p.images):
            stroke = p.strokes[i] if p.strokes else 0
            h = p.height * (1.0 if rng is None else rng.uniform(0.9, 1.1))
            patch = digit_patch(image, h, stroke)
            if i:
                gap = p.gaps[i - 1]
                if gap < 0:  # overlap at most a share of the narrower digit: a 1 is never swallowed
                    gap = max(gap, -MAX_OVERLAP * min(prev_w, patch.shape[1]))
                x += prev_w + gap
            y = y_line + (x - x0) * p.slope + (p.height - h) * (0.5 if rng is None else rng.uniform(0.2, 0.8))
            if x + patch.shape[1] > width or y + patch.shape[0] > height or x < 0 or y < 0:
                break  # off the page: the number ends here (its ground truth too)
            box = _paste_max(ink, patch, round(x), round(y))
            if box is None:
                break
            boxes.append(box)
            prev_w = patch.shape[1]
            right = max(right, x + prev_w)
        all_boxes.append(boxes)
    return ink, all_boxes


def _paste_max(canvas: np.ndarray, patch: np.ndarray, x: int, y: int) -> Box | None:
    """Combine `patch` into `canvas` at (x, y) by maximum; the tight ink box on the canvas."""
    h, w = patch.shape
    x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + w, canvas.shape[1]), min(y + h, canvas.shape[0])
    if x1 <= x0 or y1 <= y0:
        return None
    part = patch[y0 - y : y1 - y, x0 - x : x1 - x]
    np.maximum(canvas[y0:y1, x0:x1], part, out=canvas[y0:y1, x0:x1])
    bx, by, bw, bh = cv2.boundingRect((part > BOX_INK).astype(np.uint8))
    if bw == 0:
        return None
    return (x0 + bx, y0 + by, bw, bh)


def plan_page(
    rng: np.random.Generator, source: DigitSource, tier: Tier, size: tuple[int, int] = PAGE_SIZE
) -> list[list[Placement]]:
    """Random lines of numbers that fit on the page, per the tier's ranges."""
    width, height = size
    n_lines = int(rng.integers(tier.lines[0], tier.lines[1] + 1))
    h = rng.uniform(*tier.height)
    if n_lines > 1:  # keep lines apart: at least 1.8 digit heights from baseline to baseline
        h = min(h, height * 0.8 / (n_lines * 1.8))
    pitch = (height * 0.8) / n_lines
    lines: list[list[Placement]] = []
    for li in range(n_lines):
        slope = np.tan(np.radians(rng.uniform(-tier.tilt_deg, tier.tilt_deg)))
        y = height * 0.1 + li * pitch + rng.uniform(0, max(pitch - 1.6 * h, 1))
        x = x_start = rng.uniform(0.04, 0.25) * width
        line: list[Placement] = []
        for _ in range(int(rng.integers(tier.numbers_per_line[0], tier.numbers_per_line[1] + 1))):
            placement = _plan_number(rng, source, tier, x, y + (x - x_start) * slope, h, slope)
            if line:  # numbers on a line keep their gap whatever the digits' real widths
                placement.follows = rng.uniform(*tier.number_gap) * h
            approx_width = h * 0.8 * len(placement.images) + sum(placement.gaps)
            if x + approx_width > width * 0.95:
                if line:
                    break
                placement = _shorten(placement, int((width * 0.9 - x) // (h * 1.0)))
            line.append(placement)
            x += approx_width + rng.uniform(*tier.number_gap) * h
        lines.append(line)
    return lines


def _plan_number(
    rng: np.random.Generator, source: DigitSource, tier: Tier, x: float, y: float, h: float, slope: float
) -> Placement:
    n = int(rng.integers(tier.digits[0], tier.digits[1] + 1))
    images, labels = zip(*(source.sample(rng) for _ in range(n)), strict=True)
    gaps = []
    for _ in range(n - 1):
        touching = rng.random() < tier.touch_prob
        gaps.append(rng.uniform(*(tier.touch_gap if touching else tier.gap)) * h)
    strokes = [int(rng.integers(tier.stroke[0], tier.stroke[1] + 1)) for _ in range(n)]
    if h < 45:  # thin strokes vanish at small sizes
        strokes = [max(s, 0) for s in strokes]
    return Placement(list(images), list(labels), x, y, h, gaps, slope, strokes)


def _shorten(p: Placement, n: int) -> Placement:
    n = max(1, n)
    return replace(p, images=p.images[:n], labels=p.labels[:n], gaps=p.gaps[: n - 1], strokes=p.strokes[:n])


def compose_page(
    rng: np.random.Generator,
    source: DigitSource,
    tier: str | Tier = "clean",
    size: tuple[int, int] = PAGE_SIZE,
) -> Page:
    """A synthetic photo of handwritten numbers with its ground truth, per the difficulty tier."""
    tier = TIERS[tier] if isinstance(tier, str) else tier
    plan = plan_page(rng, source, tier, size)
    flat = [p for line in plan for p in line]
    ink, boxes = render_numbers(size, flat, rng)
    if tier.broken_prob:
        for number_boxes in boxes:
            for bx, by, bw, bh in number_boxes:
                if rng.random() < tier.broken_prob:
                    ink[by : by + bh, bx : bx + bw] = break_stroke(rng, ink[by : by + bh, bx : bx + bw])
    ink = _add_clutter(rng, ink, tier, plan)
    image = photograph(rng, ink, tier)
    warped, matrix = _perspective(rng, image, tier.perspective, [b for nb in boxes for b in nb])
    image = _camera(rng, warped, tier)
    page_boxes, labels, lines, numbers, sources, text_lines = [], [], [], [], [], []
    k = 0
    for li, line in enumerate(plan):
        words = []
        for ni, p in enumerate(line):
            kept = boxes[k]
            k += 1
            digits = p.labels[: len(kept)]
            words.append("".join(str(d) for d in digits))
            for box, label, source_image in zip(kept, digits, p.images[: len(kept)], strict=True):
                page_boxes.append(_warp_box(box, matrix))
                labels.append(label)
                sources.append(source_image)
                lines.append(li)
                numbers.append(ni)
        text_lines.append(" ".join(w for w in words if w))
    return Page(image, "\n".join(t for t in text_lines if t), page_boxes, labels, lines, numbers, sources)


def _add_clutter(
    rng: np.random.Generator, ink: np.ndarray, tier: Tier, plan: list[list[Placement]]
) -> np.ndarray:
    """Ruled lines under each line of digits and small dirt specks (both are not digits)."""
    height, width = ink.shape
    clutter = np.zeros_like(ink)
    if tier.ruled_prob and rng.random() < tier.ruled_prob:
        strength = rng.uniform(0.25, 0.6)
        thickness = int(rng.integers(1, 4))
        for line in plan:
            p = line[0]
            base = p.y + p.height * rng.uniform(1.0, 1.1)
            y0, y1 = base - p.slope * p.x, base + p.slope * (width - p.x)
            cv2.line(clutter, (0, round(y0)), (width - 1, round(y1)), strength, thickness, cv2.LINE_AA)
    for _ in range(int(rng.integers(0, tier.specks + 1))):
        r = rng.uniform(0.8, 3.0)
        centre = (int(rng.integers(width)), int(rng.integers(height)))
        cv2.circle(clutter, centre, max(1, round(r)), rng.uniform(0.4, 0.9), -1, cv2.LINE_AA)
    return np.maximum(ink, clutter)


def photograph(rng: np.random.Generator, ink: np.ndarray, tier: Tier) -> np.ndarray:
    """Ink on paper under the tier's light: float32 (H, W, 3) or (H, W) in 0..255."""
    height, width = ink.shape
    paper = rng.uniform(200, 245)
    pen = rng.uniform(15, 70)
    reflect = paper * (1.0 - ink) + pen * ink
    light = np.ones((height, width), np.float32)
    if tier.light:
        angle = rng.uniform(0, 2 * np.pi)
        yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
        ramp = (np.cos(angle) * xx / width + np.sin(angle) * yy / height)
        ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
        light *= 1.0 - tier.light * rng.uniform(0.5, 1.0) * ramp
    if tier.shadow:
        mask = np.zeros((height, width), np.float32)
        pts = rng.uniform([0, 0], [width, height], size=(4, 2)).astype(np.int32)
        corner = rng.integers(4)
        pts[0] = [(0, 0), (width, 0), (0, height), (width, height)][corner]
        cv2.fillConvexPoly(mask, cv2.convexHull(pts), 1.0)
        mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(10, 40))
        light *= 1.0 - tier.shadow * rng.uniform(0.5, 1.0) * mask
    grey = reflect * light
    if not tier.colour:
        return grey.astype(np.float32)
    tint = rng.uniform(0.9, 1.05, size=3)
    ink_tint = rng.uniform(0.7, 1.3, size=3)
    rgb = grey[:, :, None] * tint * (1.0 - ink[:, :, None] * (1.0 - ink_tint))
    return np.clip(rgb, 0, 255).astype(np.float32)


FRAME_MARGIN = 2  # px: every digit stays this far inside the photo after the perspective warp


def _perspective(rng: np.random.Generator, image: np.ndarray, amount: float,
                 boxes: Sequence[Box] = ()) -> tuple[np.ndarray, np.ndarray]:
    """A mild camera perspective: each corner moves up to `amount` of the page size.

    Where the warp would push a digit out of the photo, it is weakened (the same corner
    directions, less far) until every box in `boxes` stays inside: a digit cut by the frame
    has no right reading, so a page holding one would test nothing.
    """
    height, width = image.shape[:2]
    if not amount:
        return image, np.eye(3)
    src = np.float32([[0, 0], [width, 0], [width, height], [0, height]])
    jitter = rng.uniform(-amount, amount, size=(4, 2)) * [width, height]
    for weaken in (1.0, 0.75, 0.5, 0.25, 0.0):
        matrix = cv2.getPerspectiveTransform(src, (src + weaken * jitter).astype(np.float32))
        moved = [_warp_box(b, matrix) for b in boxes]
        if all(x >= FRAME_MARGIN and y >= FRAME_MARGIN and x + w <= width - FRAME_MARGIN
               and y + h <= height - FRAME_MARGIN for x, y, w, h in moved):
            break
    border = float(np.median(image[: height // 20, : width // 20]))
    warped = cv2.warpPerspective(image, matrix, (width, height), flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_CONSTANT, borderValue=(border * 0.6,) * 3)
    return warped, matrix


def _warp_box(box: Box, matrix: np.ndarray) -> Box:
    x, y, w, h = box
    if np.allclose(matrix, np.eye(3)):
        return box
    corners = np.float32([[[x, y]], [[x + w, y]], [[x + w, y + h]], [[x, y + h]]])
    moved = cv2.perspectiveTransform(corners, matrix).reshape(-1, 2)
    x0, y0 = np.floor(moved.min(axis=0)).astype(int)
    x1, y1 = np.ceil(moved.max(axis=0)).astype(int)
    return (int(x0), int(y0), int(x1 - x0), int(y1 - y0))


def _camera(rng: np.random.Generator, image: np.ndarray, tier: Tier) -> np.ndarray:
    """Blur, sensor noise and JPEG compression; uint8 out."""
    out = image
    if tier.blur:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, tier.blur))
    if tier.noise:
        out = out + rng.normal(0, tier.noise, size=out.shape).astype(np.float32)
    out = np.clip(out, 0, 255).astype(np.uint8)
    if tier.jpeg[0]:
        quality = int(rng.integers(tier.jpeg[0], tier.jpeg[1] + 1))
        ok, data = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, quality])
        if ok:
            flags = cv2.IMREAD_COLOR if out.ndim == 3 else cv2.IMREAD_GRAYSCALE
            out = cv2.imdecode(data, flags)
    return out
