"""Pen strokes as data: smoothing, rasterizing, fitting to a canvas, UNIPEN replay sets, replay files.

The drawing app, its benchmark and the evaluation report all turn strokes into pixels through
`render_strokes`, so a digit replayed from a tablet recording and one drawn with the mouse become
the same kind of image before `Recognizer.read` sees them.

Conventions: a stroke is an (n, 2) float32 array of (x, y) points in canvas pixels, y pointing
down; a canvas size is (width, height); rasters are uint8 (H, W) with bright ink (255) on 0, like
MNIST. Only numpy and OpenCV are used, so this module is cheap to import and has no UI.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

CANVAS_SIZE = (560, 280)  # the app's logical canvas (W, H): 2:1 leaves room for a 4-digit number
PEN_WIDTH = 20.0  # canvas px: a 60%-height digit gets MNIST's stroke width after to_mnist (2.4 px, measured)
ERASER_WIDTH = 3.0 * PEN_WIDTH  # wide enough to wipe a stroke in one pass, narrow enough to aim
SMOOTH_STEP = 2.0  # canvas px between interpolated points: finer than any pen width, so no facets show
SUBPIXEL_BITS = 4  # cv2 drawing `shift`: points are placed to 1/16 px, so slow strokes stay smooth

Stroke = np.ndarray  # (n, 2) float32 points
Size = tuple[int, int]  # (width, height)


# ---------------------------------------------------------------- smoothing and rasterizing


def as_stroke(points: Iterable[Sequence[float]] | np.ndarray) -> Stroke:
    """Points as an (n, 2) float32 array; raises ValueError for anything else."""
    a = np.asarray(points, dtype=np.float32)
    if a.ndim != 2 or a.shape[1] != 2 or len(a) == 0:
        raise ValueError(f"a stroke must be a non-empty list of [x, y] points, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError("a stroke contains NaN or infinite coordinates")
    return a


def smooth_stroke(points: np.ndarray, step: float = SMOOTH_STEP) -> Stroke:
    """A Catmull-Rom curve through the points, sampled every `step` px or closer.

    Mouse events arrive 5-15 ms apart, so a fast stroke is a few far-apart points; joining them
    with straight lines gives visible corners. The curve passes through every recorded point.
    """
    p = as_stroke(points)
    keep = np.ones(len(p), bool)
    keep[1:] = np.any(np.diff(p, axis=0) != 0, axis=1)  # repeated points add nothing
    p = p[keep]
    if len(p) < 3:
        return p
    padded = np.vstack([p[:1], p, p[-1:]])
    p0, p1, p2, p3 = padded[:-3], padded[1:-2], padded[2:-1], padded[3:]
    lengths = np.linalg.norm(p2 - p1, axis=1)
    counts = np.maximum(1, np.ceil(lengths / step).astype(int))
    seg = np.repeat(np.arange(len(p1)), counts)
    t = (np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)) / np.repeat(counts, counts)
    t = t[:, None].astype(np.float32)
    a, b, c, d = p0[seg], p1[seg], p2[seg], p3[seg]
    curve = 0.5 * (
        2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t**2 + (3 * b - a - 3 * c + d) * t**3
    )
    return np.vstack([curve, p[-1:]]).astype(np.float32)


def smooth_segment(points: np.ndarray, k: int, step: float = SMOOTH_STEP) -> Stroke:
    """The Catmull-Rom piece of `smooth_stroke` from point k to point k+1 (both included).

    Lets the app draw a stroke in progress piece by piece: piece k is final once point k+2 exists.
    """
    p = np.asarray(points, dtype=np.float32)
    a, b, c, d = p[max(k - 1, 0)], p[k], p[k + 1], p[min(k + 2, len(p) - 1)]
    m = max(1, int(np.ceil(np.linalg.norm(c - b) / step)))
    t = (np.arange(m + 1, dtype=np.float32) / m)[:, None]
    return (0.5 * (2 * b + (c - a) * t + (2 * a - 5 * b + 4 * c - d) * t**2
                   + (3 * b - a - 3 * c + d) * t**3)).astype(np.float32)


def draw_stroke(
    raster: np.ndarray, points: np.ndarray, width: float, value: int = 255, smooth: bool = True
) -> np.ndarray:
    """Draw one stroke in place with a round, anti-aliased pen of `width` px; returns `raster`."""
    p = smooth_stroke(points) if smooth else as_stroke(points)
    thickness = max(1, int(round(width)))
    fixed = np.round(p * (1 << SUBPIXEL_BITS)).astype(np.int32)
    if len(fixed) == 1 or np.all(fixed == fixed[0]):  # a click: a round dot
        cv2.circle(raster, tuple(int(v) for v in fixed[0]), (thickness << SUBPIXEL_BITS) // 2,
                   int(value), -1, cv2.LINE_AA, SUBPIXEL_BITS)
    else:
        cv2.polylines(raster, [fixed], False, int(value), thickness, cv2.LINE_AA, SUBPIXEL_BITS)
    return raster


def render_strokes(
    strokes: Sequence[np.ndarray],
    size: Size = CANVAS_SIZE,
    pen_width: float = PEN_WIDTH,
    erase: Sequence[bool] | None = None,
    scale: float = 1.0,
) -> np.ndarray:
    """Strokes (canvas px) -> uint8 (H, W) raster with bright ink on black, as the app draws them.

    `scale` renders the same drawing at another resolution (the app's on-screen canvas): size is
    then the output size and points and pen width are multiplied by `scale`. `erase[i]` marks
    eraser strokes, drawn in background colour with ERASER_WIDTH / PEN_WIDTH times the pen width.
    """
    width, height = int(size[0]), int(size[1])
    raster = np.zeros((height, width), np.uint8)
    for i, stroke in enumerate(strokes):
        is_eraser = bool(erase[i]) if erase is not None else False
        w = pen_width * (ERASER_WIDTH / PEN_WIDTH if is_eraser else 1.0)
        draw_stroke(raster, as_stroke(stroke) * scale, w * scale, 0 if is_eraser else 255)
    return raster


READ_SCALE = 0.5  # the recognizer gets the canvas at half size: digits stay ~80 px tall, segmenting is faster


def render_for_reading(strokes: Sequence[np.ndarray], erase: Sequence[bool] | None = None) -> np.ndarray:
    """The image `Recognizer.read` gets for a drawing on the app's canvas (READ_SCALE of CANVAS_SIZE).

    Multiply the reading's boxes by 1 / READ_SCALE for canvas pixels.
    """
    size = (round(CANVAS_SIZE[0] * READ_SCALE), round(CANVAS_SIZE[1] * READ_SCALE))
    return render_strokes(strokes, size, PEN_WIDTH, erase, READ_SCALE)


# ---------------------------------------------------------------- geometry


def strokes_bbox(strokes: Sequence[np.ndarray]) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of all points."""
    allp = np.vstack([as_stroke(s) for s in strokes])
    x0, y0 = allp.min(axis=0)
    x1, y1 = allp.max(axis=0)
    return float(x0), float(y0), float(x1), float(y1)


def fit_transform(src: Size, dst: Size) -> tuple[float, float, float]:
    """(scale, dx, dy) mapping a src-sized canvas uniformly into dst, centred (aspect kept)."""
    sw, sh = float(src[0]), float(src[1])
    if sw <= 0 or sh <= 0:
        raise ValueError(f"canvas size must be positive, got {src}")
    scale = min(dst[0] / sw, dst[1] / sh)
    return scale, (dst[0] - sw * scale) / 2.0, (dst[1] - sh * scale) / 2.0


def fit_strokes(strokes: Sequence[np.ndarray], src: Size, dst: Size = CANVAS_SIZE) -> list[Stroke]:
    """Strokes drawn on a src canvas, scaled uniformly and centred onto dst (a wide replay stays wide)."""
    scale, dx, dy = fit_transform(src, dst)
    return [as_stroke(s) * scale + np.float32([dx, dy]) for s in strokes]


def normalize_digit(
    strokes: Sequence[np.ndarray], height: float, max_width: float | None = None
) -> list[Stroke]:
    """One digit's strokes moved to (0, 0) and scaled so the ink is `height` tall.

    Tablets differ 20-fold in units per mm, so each digit is sized by its own bounding box, as a
    person would write it at a chosen size. A wide, flat digit is capped at `max_width` instead.
    """
    x0, y0, x1, y1 = strokes_bbox(strokes)
    h, w = max(y1 - y0, 1e-6), max(x1 - x0, 1e-6)
    scale = height / h
    if max_width is not None and w * scale > max_width:
        scale = max_width / w
    return [(as_stroke(s) - np.float32([x0, y0])) * scale for s in strokes]


# ---------------------------------------------------------------- UNIPEN


@dataclass
class UnipenDigits:
    """The flat arrays of unipen_1a_strokes.npz (layout in the datasets' PROVENANCE.md)."""

    points: np.ndarray
    stroke_offsets: np.ndarray
    sample_offsets: np.ndarray
    labels: np.ndarray
    writer: np.ndarray
    checked: np.ndarray  # bool: the segment's quality field is OK, not '?' (never looked at)

    def __len__(self) -> int:
        return len(self.labels)

    def strokes(self, j: int) -> list[Stroke]:
        """Digit j as a list of (n, 2) strokes in tablet units, y down, bbox at (0, 0)."""
        so, co = self.stroke_offsets, self.sample_offsets
        return [self.points[so[i] : so[i + 1]] for i in range(co[j], co[j + 1])]


def load_unipen(path: str | Path | None = None) -> UnipenDigits:
    """Load the UNIPEN 1a digits (path, else `$UNIPEN_1A_STROKES_NPZ`, else ../shared/datasets)."""
    if path is None:
        from .data import dataset_path

        path = dataset_path("unipen_1a_strokes")
        if path is None:
            raise FileNotFoundError("unipen_1a_strokes.npz not found (set $UNIPEN_1A_STROKES_NPZ)")
    with np.load(path) as d:
        return UnipenDigits(
            points=d["points"].astype(np.float32),
            stroke_offsets=d["stroke_offsets"],
            sample_offsets=d["sample_offsets"],
            labels=d["labels"].astype(np.int64),
            writer=d["writer"],
            checked=d["quality_ok"].astype(bool),
        )


DIGIT_HEIGHT = 0.6  # a digit drawn on the app's canvas fills about 60% of its height (replays use this)
DIGIT_HEIGHT_JITTER = 0.12  # +-12%: different writers write at different sizes
MAX_ASPECT = 1.2  # wide, flat recordings (a few UNIPEN segmentation slips) are capped at 1.2 x height
GAP_RANGE = (0.12, 0.4)  # space between neighbouring digits, as a fraction of digit height
BASELINE_JITTER = 0.06  # digits of a handwritten number do not sit on one exact line
MARGIN = 0.1  # empty border of a composed canvas, as a fraction of its height


def digit_replay(
    strokes: Sequence[np.ndarray], rng: np.random.Generator | None = None, canvas: Size = CANVAS_SIZE
) -> tuple[list[Stroke], Size]:
    """One tablet digit placed on a square canvas as tall as `canvas`, sized like a drawn digit."""
    h = float(canvas[1])
    jitter = 1.0 + (rng.uniform(-DIGIT_HEIGHT_JITTER, DIGIT_HEIGHT_JITTER) if rng is not None else 0.0)
    height = DIGIT_HEIGHT * h * jitter
    digit = normalize_digit(strokes, height, MAX_ASPECT * height)
    x0, y0, x1, y1 = strokes_bbox(digit)
    offset = np.float32([(h - (x1 - x0)) / 2.0, (h - (y1 - y0)) / 2.0])
    return [s + offset for s in digit], (int(h), int(h))


def compose_number(
    digits: Sequence[Sequence[np.ndarray]], rng: np.random.Generator, canvas: Size = CANVAS_SIZE
) -> tuple[list[Stroke], Size]:
    """Several digits (each a stroke list in any units) written side by side as one number.

    Returns the strokes and a canvas as tall as `canvas`, as wide as the number needs (at least
    `canvas`'s width). Gaps, sizes and baselines vary as between real writers; a number too wide
    for `canvas` is then scaled down by the app's uniform fit, as a user would write smaller.
    """
    h = float(canvas[1])
    out: list[Stroke] = []
    x = MARGIN * h
    for i, strokes in enumerate(digits):
        height = DIGIT_HEIGHT * h * (1.0 + rng.uniform(-DIGIT_HEIGHT_JITTER, DIGIT_HEIGHT_JITTER))
        digit = normalize_digit(strokes, height, MAX_ASPECT * height)
        x0, y0, x1, y1 = strokes_bbox(digit)
        if i:
            x += rng.uniform(*GAP_RANGE) * DIGIT_HEIGHT * h
        y = (h - (y1 - y0)) / 2.0 + rng.uniform(-BASELINE_JITTER, BASELINE_JITTER) * h
        out.extend(s + np.float32([x, y]) for s in digit)
        x += x1 - x0
    width = max(int(math.ceil(x + MARGIN * h)), int(canvas[0]))
    shift = np.float32([(width - (x + MARGIN * h)) / 2.0, 0.0])  # centre a short number
    return [s + shift for s in out], (width, int(h))


def sample_numbers(
    unipen: UnipenDigits, count: int, rng: np.random.Generator, lengths: Sequence[int] = (2, 3, 4)
) -> list[tuple[str, list[int]]]:
    """`count` numbers as (text, digit indices), each digit from a different writer where possible."""
    out = []
    for _ in range(count):
        n = int(rng.choice(lengths))
        picks: list[int] = []
        while len(picks) < n:
            j = int(rng.integers(len(unipen)))
            if all(unipen.writer[j] != unipen.writer[k] for k in picks):
                picks.append(j)
        out.append(("".join(str(int(unipen.labels[j])) for j in picks), picks))
    return out


# ---------------------------------------------------------------- replay files


@dataclass
class Replay:
    """A replay file: strokes (canvas px) drawn on a canvas of `canvas` = (W, H) pixels."""

    canvas: Size
    strokes: list[Stroke] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "canvas": [int(self.canvas[0]), int(self.canvas[1])],
            "strokes": [[[round(float(x), 2), round(float(y), 2)] for x, y in s] for s in self.strokes],
        }

    @classmethod
    def from_dict(cls, data: object) -> Replay:
        """Validate `{"canvas": [W, H], "strokes": [[[x, y], ...], ...]}`; ValueError says what is wrong."""
        if not isinstance(data, dict) or "canvas" not in data or "strokes" not in data:
            raise ValueError('replay must be a JSON object with "canvas": [W, H] and "strokes": [...]')
        canvas = data["canvas"]
        if not isinstance(canvas, list) or len(canvas) != 2 or not all(_is_side(v) for v in canvas):
            raise ValueError(f'"canvas" must be [W, H], finite positive numbers (1 px or more), '
                             f'got {canvas!r}')
        if not isinstance(data["strokes"], list):
            raise ValueError('"strokes" must be a list of strokes, each a list of [x, y] points')
        strokes = []
        for i, s in enumerate(data["strokes"]):
            try:
                strokes.append(as_stroke(s))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"stroke {i}: {exc}") from None
        return cls((int(round(canvas[0])), int(round(canvas[1]))), strokes)


def _is_side(v: object) -> bool:
    """Finite (Infinity cannot be rounded) and 1 px or more once rounded (0 px cannot be fitted)."""
    return isinstance(v, int | float) and math.isfinite(v) and round(v) >= 1


def read_replay(path: str | Path) -> Replay:
    """Load and validate a replay file; raises ValueError with a one-line reason."""
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise ValueError(f"cannot read replay file {path}: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"replay file {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    return Replay.from_dict(data)


def write_replay(path: str | Path, replay: Replay) -> None:
    Path(path).write_text(json.dumps(replay.to_dict()))


# ---------------------------------------------------------------- the drawing being edited


@dataclass(frozen=True)
class PenStroke:
    """One button-down drag: its points (canvas px) and whether it was drawn with the eraser."""

    points: tuple[tuple[float, float], ...]
    erase: bool = False


class Drawing:
    """The strokes on the canvas with undo. Every change bumps `version` (readings name the version)."""

    def __init__(self) -> None:
        self.strokes: list[PenStroke] = []
        self.current: list[tuple[float, float]] | None = None
        self.current_erase = False
        self.version = 0
        self._undo: list[list[PenStroke]] = []  # states before each finished action

    @property
    def drawing(self) -> bool:
        return self.current is not None

    def begin(self, x: float, y: float, erase: bool = False) -> None:
        self.end()
        self.current, self.current_erase = [(float(x), float(y))], erase
        self.version += 1

    def extend(self, x: float, y: float) -> None:
        if self.current is not None and (x, y) != self.current[-1]:
            self.current.append((float(x), float(y)))
            self.version += 1

    def end(self) -> bool:
        """Finish the stroke in progress; True if there was one."""
        if self.current is None:
            return False
        self._undo.append(list(self.strokes))
        self.strokes.append(PenStroke(tuple(self.current), self.current_erase))
        self.current = None
        self.version += 1
        return True

    def clear(self) -> None:
        self.end()
        if self.strokes:
            self._undo.append(list(self.strokes))
            self.strokes = []
            self.version += 1

    def undo(self) -> bool:
        """Back to the state before the last stroke or clear; False when there is nothing to undo."""
        self.end()
        if not self._undo:
            return False
        self.strokes = self._undo.pop()
        self.version += 1
        return True

    def all_strokes(self) -> list[PenStroke]:
        """Finished strokes plus the one in progress."""
        if self.current is None:
            return list(self.strokes)
        return [*self.strokes, PenStroke(tuple(self.current), self.current_erase)]

    def is_empty(self) -> bool:
        return not any(not s.erase for s in self.all_strokes())

    def render(
        self, size: Size = CANVAS_SIZE, scale: float = 1.0, pen_width: float = PEN_WIDTH
    ) -> np.ndarray:
        """The drawing as the recognizer gets it (bright ink on black), or at `scale` for the screen."""
        strokes = self.all_strokes()
        return render_strokes([s.points for s in strokes], size, pen_width, [s.erase for s in strokes], scale)
