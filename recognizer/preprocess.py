"""MNIST-style normalization shared by training, the app, the webcam and the photo reader.

MNIST digits were made by cropping the ink, fitting the longest side into a 20x20 box with
anti-aliasing, and placing that box in a 28x28 frame so that the centre of mass sits at the
centre. Every surface of the product sends its digit crops through `to_mnist`, and training
sends MNIST itself through the same function, so the model never sees two conventions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import cv2
import numpy as np

MNIST_SIZE = 28
BOX_SIZE = 20  # MNIST fits the longest side of the ink into 20 px
INK_THRESHOLD = 0.12  # pixels above 12% of the ink range count when cropping (drops faint JPEG/AA fringe)
MIN_CONTRAST = 8.0  # an image whose values span less than this (of 255) is blank
SVC_SIZE = 8  # scikit-learn's load_digits are 8x8 counts of on-pixels, 0..16


def to_gray(image: np.ndarray) -> np.ndarray:
    """Any 2-D/3-D image (uint8/uint16/bool/float, 1/3/4 channels) as float32 gray in 0..255.

    Float input is taken as 0..1 when its maximum is at most 1, else as 0..255.
    Raises ValueError for shapes, dtypes or values that are not an image.
    """
    a = np.asarray(image)
    if a.size == 0:
        raise ValueError(f"expected a non-empty 2-D grayscale image, got shape {a.shape}")
    if a.ndim == 3 and a.shape[2] in (1, 3, 4):
        if a.shape[2] == 1:
            a = a[:, :, 0]
        else:
            a = _rgb_to_gray(a)
    if a.ndim != 2:
        raise ValueError(
            f"expected a 2-D grayscale image (H, W) or colour (H, W, 3|4), got shape {a.shape}"
        )
    if a.dtype == bool:
        return a.astype(np.float32) * 255.0
    if a.dtype == np.uint8:
        return a.astype(np.float32)
    if a.dtype == np.uint16:
        return a.astype(np.float32) / 257.0
    if np.issubdtype(a.dtype, np.integer):
        a = a.astype(np.float64)
        if a.min() < 0 or a.max() > 255:
            raise ValueError(f"integer image values must lie in 0..255, got {a.min()}..{a.max()}")
        return a.astype(np.float32)
    if np.issubdtype(a.dtype, np.floating):
        if not np.all(np.isfinite(a)):
            raise ValueError("image contains NaN or infinite values")
        lo, hi = float(a.min()), float(a.max())
        if lo < 0 or hi > 255:
            raise ValueError(f"float image values must lie in 0..1 or 0..255, got {lo:g}..{hi:g}")
        scale = 255.0 if hi <= 1.0 else 1.0
        return (a * scale).astype(np.float32)
    raise ValueError(f"unsupported image dtype {a.dtype}; expected uint8, uint16, bool or float")


def _rgb_to_gray(a: np.ndarray) -> np.ndarray:
    """Luma of RGB(A); a transparent background (alpha) counts as white paper."""
    full = 65535.0 if a.dtype == np.uint16 else (1.0 if np.issubdtype(a.dtype, np.floating) else 255.0)
    with np.errstate(all="ignore"):  # out-of-range floats become inf/NaN, rejected by to_gray
        gray = a[:, :, :3].astype(np.float64) @ np.array([0.299, 0.587, 0.114])
        if a.shape[2] == 4:
            alpha = a[:, :, 3].astype(np.float64) / full
            if alpha.min() < 1.0:  # drawn on transparency: composite over white
                gray = gray * alpha + full * (1.0 - alpha)
    return gray.astype(a.dtype) if a.dtype in (np.uint8, np.uint16) else gray


def _stack_median(flat: np.ndarray) -> np.ndarray:
    """Per-row median (upper middle element, as `_median`) of a (N, P) uint8 array, by histogram."""
    n, size = flat.shape
    counts = np.bincount((flat + np.arange(n, dtype=np.int64)[:, None] * 256).ravel(), minlength=n * 256)
    below = counts.reshape(n, 256).cumsum(axis=1)
    return (below > size // 2).argmax(axis=1).astype(np.float32)


def _median(values: np.ndarray) -> float:
    """Median by partial sort: numpy's np.median costs ~50 us of overhead per 28x28 digit."""
    flat = values.ravel()
    k = flat.size // 2
    return float(np.partition(flat, k)[k])


BORDER_WEIGHT = 2.0  # the border is the better cue: the two disagree only for bold, box-filling digits


def ink_is_dark(gray: np.ndarray, lo: float | None = None, hi: float | None = None) -> bool:
    """True when the ink is darker than the background (pen on paper), so it must be inverted.

    Background is what covers most of the border and most of the image. Both are voted on,
    the border counting double: USPS and Semeion scans whose bold strokes fill their box have
    more than half their pixels bright, yet their border stays mostly background.
    `lo`/`hi` (the image's extremes) may be passed when the caller already has them.
    """
    lo = float(gray.min()) if lo is None else lo
    hi = float(gray.max()) if hi is None else hi
    mid = (lo + hi) / 2.0
    bright_all = float(np.count_nonzero(gray > mid)) / gray.size
    border = np.concatenate([gray[0], gray[-1], gray[1:-1, 0], gray[1:-1, -1]])
    bright_border = float(np.count_nonzero(border > mid)) / border.size
    return (BORDER_WEIGHT * bright_border + bright_all) / (BORDER_WEIGHT + 1.0) > 0.5


def ink_map(image: np.ndarray) -> np.ndarray:
    """Float32 image in 0..1 with bright ink on a zero background, whatever the input polarity.

    Raises ValueError for a blank image (no contrast), since there is no digit to read.
    """
    gray = to_gray(image)
    lo, hi = float(gray.min()), float(gray.max())
    if hi - lo < MIN_CONTRAST:
        raise ValueError("blank image: no ink found (expected a digit on a plain background)")
    if ink_is_dark(gray, lo, hi):
        gray = 255.0 - gray
        lo, hi = 255.0 - hi, 255.0 - lo
    background = _median(gray)
    if hi - background < MIN_CONTRAST:  # ink covers most pixels: use the full range instead
        background = lo
    ink = gray - np.float32(background)
    ink *= np.float32(1.0 / (hi - background))
    return np.clip(ink, 0.0, 1.0, out=ink)


def crop_to_ink(ink: np.ndarray, threshold: float = INK_THRESHOLD) -> np.ndarray:
    """The tight bounding box of the pixels brighter than `threshold` of the maximum."""
    mask = (ink > threshold * float(ink.max())).view(np.uint8)
    x, y, w, h = cv2.boundingRect(mask)
    return ink[y : y + h, x : x + w]


def fit_box(crop: np.ndarray, size: int) -> np.ndarray:
    """Resize so the longest side is `size`, keeping the aspect ratio, with area anti-aliasing."""
    h, w = crop.shape
    scale = size / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(crop, (new_w, new_h), interpolation=interp)


def center_by_mass(digit: np.ndarray, size: int = MNIST_SIZE) -> np.ndarray:
    """Place `digit` in a size x size frame with its centre of mass at the frame's centre."""
    # numpy, not cv2.moments: OpenCV reads an (N, 2) float array as a list of points
    h, w = digit.shape
    total = float(digit.sum())
    cx = float(digit.sum(axis=0) @ np.arange(w, dtype=np.float32)) / total
    cy = float(digit.sum(axis=1) @ np.arange(h, dtype=np.float32)) / total
    shift = np.float32([[1, 0, size / 2 - 0.5 - cx], [0, 1, size / 2 - 0.5 - cy]])
    return cv2.warpAffine(digit, shift, (size, size), flags=cv2.INTER_LINEAR, borderValue=0.0)


def to_mnist(image: np.ndarray) -> np.ndarray:
    """One digit image of any size/polarity -> 28x28 float32 in 0..1, ink bright, MNIST-style."""
    return frame_ink(ink_map(image))


def frame_ink(ink: np.ndarray) -> np.ndarray:
    """An ink map (bright on 0) cropped, fitted into the 20 px box and centred by mass in 28x28."""
    return center_by_mass(fit_box(crop_to_ink(ink), BOX_SIZE))


def deskew(digit: np.ndarray) -> np.ndarray:
    """Shear a 28x28 digit upright by its second-order moments (OpenCV's digits.py step).

    A model trained on deskewed digits says so in its ONNX metadata and `Recognizer.prepare`
    then deskews its inputs too (scripts/ablate.py measures whether it helps).
    """
    h, w = digit.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    total = float(digit.sum())
    cx, cy = float((digit * xs).sum()) / total, float((digit * ys).sum()) / total
    mu11 = float((digit * (xs - cx) * (ys - cy)).sum())
    mu02 = float((digit * (ys - cy) ** 2).sum())
    if abs(mu02) < 1e-2:
        return digit.copy()
    skew = mu11 / mu02
    matrix = np.float32([[1, skew, -skew * cy], [0, 1, 0]])
    return cv2.warpAffine(digit, matrix, (w, h), flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)


def batch_deskew(batch: np.ndarray) -> np.ndarray:
    """`deskew` for a (N, 28, 28) batch, the moments computed for all digits at once."""
    n, h, w = batch.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    total = batch.sum(axis=(1, 2))
    cx = np.einsum("nij,ij->n", batch, xs) / total
    cy = np.einsum("nij,ij->n", batch, ys) / total
    dx, dy = xs[None] - cx[:, None, None], ys[None] - cy[:, None, None]
    mu11 = np.einsum("nij,nij->n", batch, dx * dy)
    mu02 = np.einsum("nij,nij->n", batch, dy * dy)
    out = batch.copy()
    for i in np.flatnonzero(np.abs(mu02) >= 1e-2):
        skew = float(mu11[i] / mu02[i])
        matrix = np.float32([[1, skew, -skew * float(cy[i])], [0, 1, 0]])
        cv2.warpAffine(batch[i], matrix, (w, h), dst=out[i], flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR)
    return out


MOMENT_SPAN = 3.6  # moment normalization: the digit's extent is this many standard deviations of its ink


def batch_moment_normalize(batch: np.ndarray, map_aspect: bool = True) -> np.ndarray:
    """Place and size every digit of a (N, 28, 28) batch by its ink's moments, not its bounding box.

    The bounding box that `to_mnist` fits into 20 px is set by the outermost pixel: a 1's long
    lead-in flag, a 7's tail or a speck left by the cut shrinks the rest of the digit. Moment
    normalization (Liu et al., "Handwritten digit recognition: benchmarking of state-of-the-art
    techniques", 2003) centres the ink's centroid and scales MOMENT_SPAN standard deviations of
    it, each axis on its own, to the 20 px box; the aspect ratio r (short / long) becomes
    sqrt(sin(pi / 2 * r)), so a 1 is widened but stays narrow (`map_aspect=False` keeps r: it
    made more validation errors in short runs). Ink beyond the span may leave the frame. A model
    trained so says it in its ONNX metadata and its inputs are made so too.
    """
    n, h, w = batch.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    total = batch.sum(axis=(1, 2))
    live = np.flatnonzero(total > 1e-3)
    out = batch.copy()
    if not len(live):
        return out
    part = batch[live]
    mass = total[live]
    cx = np.einsum("nij,ij->n", part, xs) / mass
    cy = np.einsum("nij,ij->n", part, ys) / mass
    sx = np.sqrt(np.einsum("nij,nij->n", part, (xs[None] - cx[:, None, None]) ** 2) / mass)
    sy = np.sqrt(np.einsum("nij,nij->n", part, (ys[None] - cy[:, None, None]) ** 2) / mass)
    span_x, span_y = np.maximum(MOMENT_SPAN * sx, 1.0), np.maximum(MOMENT_SPAN * sy, 1.0)
    ratio = np.minimum(span_x, span_y) / np.maximum(span_x, span_y)
    short = BOX_SIZE * (np.sqrt(np.sin(np.pi / 2 * ratio)) if map_aspect else ratio)
    wide = span_x >= span_y
    scale_x = np.where(wide, BOX_SIZE, short) / span_x
    scale_y = np.where(wide, short, BOX_SIZE) / span_y
    centre = MNIST_SIZE / 2 - 0.5  # where center_by_mass puts the centroid
    for k, i in enumerate(live):
        matrix = np.float32([[scale_x[k], 0, centre - scale_x[k] * cx[k]],
                             [0, scale_y[k], centre - scale_y[k] * cy[k]]])
        cv2.warpAffine(batch[i], matrix, (w, h), dst=out[i], flags=cv2.INTER_LINEAR, borderValue=0.0)
    return out


STROKE_PX = 5  # the redrawn pen, at twice the 28x28 scale: 2.5 px there, MNIST's median stroke width
_NEIGHBOURS = ((-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1))  # N, NE, ... NW


def _thinning_tables() -> tuple[np.ndarray, np.ndarray]:
    """Zhang-Suen's two deletion rules as lookup tables over the 8-neighbour code (bit k: neighbour k)."""
    tables = []
    for first in (True, False):
        table = np.zeros(256, bool)
        for code in range(256):
            p = [(code >> k) & 1 for k in range(8)]
            n, ne, e, se, s, sw, w, nw = p
            crossings = sum(p[k] == 0 and p[(k + 1) % 8] == 1 for k in range(8))
            keeps = (n * e * s == 0 and e * s * w == 0) if first else (n * e * w == 0 and n * s * w == 0)
            table[code] = 2 <= sum(p) <= 6 and crossings == 1 and keeps
        tables.append(table)
    return tables[0], tables[1]


_THINNING = _thinning_tables()


def thin(binary: np.ndarray) -> np.ndarray:
    """Zhang-Suen thinning of a (N, H, W) bool batch to one-pixel-wide, connected skeletons."""
    img = binary.astype(np.uint8)
    n, h, w = img.shape
    changed = True
    while changed:
        changed = False
        for table in _THINNING:
            pad = np.pad(img, ((0, 0), (1, 1), (1, 1)))
            code = np.zeros(img.shape, np.uint8)
            for k, (dy, dx) in enumerate(_NEIGHBOURS):
                code |= pad[:, 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] << k
            drop = (img == 1) & table[code]
            if drop.any():
                img[drop] = 0
                changed = True
    return img.astype(bool)


def batch_normalize_strokes(batch: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Redraw every digit of a (N, 28, 28) batch with one pen: thinned to its skeleton at twice
    the scale, then drawn again STROKE_PX wide and anti-aliased back to 28x28.

    Pens differ between writers, scanners and the app (a fine pen, a marker, a 16x16 scan's
    blocky strokes); a model that only ever sees one width cannot be misled by it. A model
    trained so says it in its ONNX metadata and its inputs are normalized the same way. No
    shipped model is: a bold digit whose loop is filled thins to a line, and such a model made
    three times the validation errors (reports/HISTORY.md, "Stroke-width normalization").
    """
    n, h, w = batch.shape
    out = np.zeros_like(batch, dtype=np.float32)
    pen = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (STROKE_PX, STROKE_PX))
    for start in range(0, n, chunk):
        part = batch[start : start + chunk]
        big = np.stack([cv2.resize(d, (2 * w, 2 * h), interpolation=cv2.INTER_LINEAR) for d in part])
        peak = big.reshape(len(part), -1).max(axis=1)
        skeletons = thin(big > 0.35 * np.maximum(peak, 1e-6)[:, None, None])
        for i, skeleton in enumerate(skeletons):
            drawn = cv2.dilate(skeleton.astype(np.uint8), pen).astype(np.float32)
            drawn = cv2.GaussianBlur(drawn, (3, 3), 0.7)
            out[start + i] = cv2.resize(drawn, (w, h), interpolation=cv2.INTER_AREA)
    top = out.reshape(n, -1).max(axis=1)
    return out / np.maximum(top, 1e-6)[:, None, None]


# A model's input convention: the steps, named in its ONNX metadata, that make a batch as `to_mnist`
# makes it into what the model was trained on; applied in this order.
ADAPTATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "deskew": batch_deskew,
    "moments": batch_moment_normalize,
    "strokes": batch_normalize_strokes,
}


def adapt(batch: np.ndarray, convention: Sequence[str]) -> np.ndarray:
    """`batch` made as a model of this input `convention` (names in ADAPTATIONS) was trained to see it."""
    for name, step in ADAPTATIONS.items():
        if name in convention:
            batch = step(batch)
    return batch


def to_8x8(image: np.ndarray) -> np.ndarray:
    """One digit -> 8x8 float in 0..16 like scikit-learn's load_digits.

    load_digits were scaled so the digit fills its box: crop to the ink, pad the short side to a
    square (keeping the aspect ratio, so a 1 stays thin), then average 4x4-style with INTER_AREA.
    """
    crop = crop_to_ink(ink_map(image))
    h, w = crop.shape
    side = max(h, w)
    square = np.zeros((side, side), np.float32)
    y0, x0 = (side - h) // 2, (side - w) // 2
    square[y0 : y0 + h, x0 : x0 + w] = crop
    big = cv2.resize(square, (32, 32), interpolation=cv2.INTER_AREA if side > 32 else cv2.INTER_LINEAR)
    small = cv2.resize(big, (SVC_SIZE, SVC_SIZE), interpolation=cv2.INTER_AREA)
    return np.clip(small * 16.0 / max(float(small.max()), 1e-6), 0, 16).astype(np.float32)


def as_image_list(images: np.ndarray | Sequence[np.ndarray]) -> list[np.ndarray]:
    """Accept an (N, H, W) array or a sequence of 2-D images; reject anything else clearly."""
    if isinstance(images, np.ndarray):
        if images.ndim == 2:
            raise ValueError(
                "expected a batch of images (N, H, W) or a list of 2-D images, got one 2-D image; "
                "wrap it in a list"
            )
        if images.ndim not in (3, 4) or images.shape[0] == 0:
            raise ValueError(
                f"expected a non-empty batch of images shaped (N, H, W), got shape {images.shape}"
            )
        return list(images)
    items = list(images)
    if not items:
        raise ValueError("expected at least one image, got an empty sequence")
    return [np.asarray(item) for item in items]


def batch_to_mnist(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """(N, 28, 28) float32 batch from any batch of digit images (see `to_mnist`).

    A stacked uint8 batch (N, H, W), what MNIST-like arrays and tests pass, takes a vectorized
    path with the same result: per-image numpy calls cost more than the arithmetic.
    """
    if isinstance(images, np.ndarray) and images.ndim == 3 and images.dtype == np.uint8 and len(images):
        return _stack_to_mnist(images)
    return np.stack([to_mnist(im) for im in as_image_list(images)])


def _stack_to_mnist(stack: np.ndarray) -> np.ndarray:
    """`to_mnist` for every image of a (N, H, W) uint8 stack, the per-image steps vectorized."""
    n = len(stack)
    flat = stack.reshape(n, -1)
    lo, hi = flat.min(axis=1).astype(np.float32), flat.max(axis=1).astype(np.float32)
    if np.any(hi - lo < MIN_CONTRAST):
        raise ValueError("blank image: no ink found (expected a digit on a plain background)")
    mid = (lo + hi) / 2
    bright_all = (flat > mid[:, None]).mean(axis=1)
    border = np.concatenate([stack[:, 0], stack[:, -1], stack[:, 1:-1, 0], stack[:, 1:-1, -1]], axis=1)
    bright_border = (border > mid[:, None]).mean(axis=1)
    dark = (BORDER_WEIGHT * bright_border + bright_all) / (BORDER_WEIGHT + 1.0) > 0.5
    if dark.any():
        stack = stack.copy()
        stack[dark] = 255 - stack[dark]
        flat = stack.reshape(n, -1)
        lo, hi = np.where(dark, 255.0 - hi, lo), np.where(dark, 255.0 - lo, hi)
    background = _stack_median(flat)
    background = np.where(hi - background < MIN_CONTRAST, lo, background)
    scale = (1.0 / (hi - background)).astype(np.float32)
    ink = stack.astype(np.float32)
    ink -= background[:, None, None].astype(np.float32)
    ink *= scale[:, None, None]
    np.clip(ink, 0.0, 1.0, out=ink)
    mask = ink > (INK_THRESHOLD * ink.reshape(n, -1).max(axis=1))[:, None, None]
    rows, cols = mask.any(axis=2), mask.any(axis=1)  # the bounding boxes of `crop_to_ink`, all at once
    y0, x0 = rows.argmax(axis=1), cols.argmax(axis=1)
    y1, x1 = rows.shape[1] - rows[:, ::-1].argmax(axis=1), cols.shape[1] - cols[:, ::-1].argmax(axis=1)
    boxes = np.zeros((n, BOX_SIZE, BOX_SIZE), np.float32)  # each fitted digit at the top left
    for i in range(n):
        fitted = fit_box(ink[i, y0[i] : y1[i], x0[i] : x1[i]], BOX_SIZE)
        boxes[i, : fitted.shape[0], : fitted.shape[1]] = fitted
    total = boxes.sum(axis=(1, 2))
    steps = np.arange(BOX_SIZE, dtype=np.float32)
    cx = boxes.sum(axis=1) @ steps / total
    cy = boxes.sum(axis=2) @ steps / total
    out = np.empty((n, MNIST_SIZE, MNIST_SIZE), np.float32)
    for i in range(n):
        shift = np.float32([[1, 0, MNIST_SIZE / 2 - 0.5 - cx[i]], [0, 1, MNIST_SIZE / 2 - 0.5 - cy[i]]])
        cv2.warpAffine(boxes[i], shift, (MNIST_SIZE, MNIST_SIZE), dst=out[i], flags=cv2.INTER_LINEAR,
                       borderValue=0.0)
    return out


def batch_to_8x8(images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
    """(N, 8, 8) float32 batch in 0..16 from any batch of digit images (see `to_8x8`)."""
    return np.stack([to_8x8(im) for im in as_image_list(images)])
