"""Find the digits in a whole image: ink map, components, cleaning, splitting and reading order.

Pure functions on numpy arrays, no model: where touching digits must be split, the caller passes a
`score` callback (crops -> confidence per crop) and the split whose pieces the model reads most
confidently wins. The steps, each a small function:

    ink = ink_layer(gray)            # 0..1 ink strength, paper/light removed (either polarity)
    mask = binarize(ink)             # hysteresis threshold
    mask = remove_rules(mask)        # ruled / printed lines
    boxes = components(mask)         # connected components
    boxes = merge_broken(boxes)      # a 5 whose top bar floats, a dotted 7
    boxes = drop_specks(boxes)       # dirt, dots, leftovers of lines, lone dashes
    pieces = split_touching(...)     # wide blobs -> several digits; a digit in two strokes -> one
    order = group_lines(boxes)       # lines (tilt allowed) -> numbers -> digits
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import cv2
import numpy as np

from .preprocess import to_gray

Box = tuple[int, int, int, int]  # (x, y, w, h)
ScoreFn = Callable[[list[np.ndarray]], np.ndarray]  # digit crops -> (N,) confidence of the best class


@dataclass
class StringReading:
    """The string reader on one blob: its digits' (n, 10) probabilities, left to right, and its
    (T, 11) time-step probabilities, from which the digit count's probabilities come when asked."""

    rows: np.ndarray
    steps: np.ndarray

    @cached_property
    def count_log(self) -> np.ndarray:
        """Log-probability that the blob holds 0, 1, 2, ... digits (every alignment, not only the
        best): computed only for blobs with a choice of cuts, not on every blob of every frame."""
        from .crnn import count_probs

        return np.log(np.maximum(count_probs(self.steps), 1e-12))


StringFn = Callable[[list[np.ndarray]], list[StringReading]]  # blob crops -> their string readings

MAX_SIDE = 1600  # larger images are read downscaled: digits stay >= ~25 px in a 12 MP photo of a note
FAST_MAX_SIDE = 800  # `fast=True` (webcam frames): half the pixels to touch, digits still >= 20 px
POLARITY_WINDOW = 0.1  # polarity: median window, share of the short side; wider than strokes, not shadows
CROP_SIDE = 240  # photos shorter than this are crops around writing, not pages or frames ...
CROP_KERNEL = 0.5  # ... whose paper estimate needs a window this share of the short side
POLARITY_MARGIN = 10.0  # grey levels around the background that are paper texture, not ink
MIN_CONTRAST = 12.0  # an image whose grey levels span less than this holds no ink at all
NOISE_SIGMAS_LOW = 4.0  # the low threshold stays this many noise sigmas above the background
NOISE_SIGMAS_HIGH = 10.0  # and the strong level this many (noisy photos raise both)
MIN_SIDE = 96  # tiny images (a lone 28x28 digit) are upscaled so strokes survive the morphology
BACKGROUND_SCALE = 4  # estimate paper/light on a 1/4 image: light varies slowly, 16x fewer pixels
BACKGROUND_KERNEL = 1 / 25  # paper estimate window, fraction of the longer side: wider than any stroke
FLAT_SHARE = 0.5  # one exact grey level on most pixels: a digital canvas, whose paper needs no estimate
INK_LOW = 0.14  # hysteresis low threshold on ink strength: keeps faint anti-aliased edges of strokes
INK_HIGH = 0.3  # a component needs some pixels this strong: sensor noise and paper texture never are
INK_HIGH_OF_MAX = 0.45  # ... or this fraction of the page's strong ink, whichever is larger (grey pens)
RULE_MIN_FRACTION = 0.3  # a ruled line spans at least this fraction of the image width
RULE_ASPECT = 25  # and is this many times longer than thick; a 7's bar on a canvas is not
MAX_RULE_SLOPE = 0.2  # rules tilt at most ~11 degrees (a photo's perspective included)
RULE_SLOPE_STEP = 0.005  # slopes tried when looking for rules: 0.5 px over 100 columns
RULE_VOTERS = 1500  # at most this many column runs vote for a line's slope and offset (speed)
RULE_WOBBLE = 0.12  # a rule is ruler-straight: its crossings' RMS distance from the fit is at most
# this share of its thickness (or 1 px) ...
RULE_LENGTH = 40  # ... and it is this many times longer than thick; a big digit's bar or base
# photographed filling the frame (a 2, a 7 in a thin pen) wobbles and is short for its pen
CROSS_REACH = 3  # px of strong ink above and below a rule's band where a stroke crosses it
MARGIN_ASPECT = 4  # edge-touching blobs this elongated are not writing: a wedge of table in a corner
# (a lone 1 is thinner only upright)
MARGIN_CONTACT = 0.5  # ... or lying along the edge for this share of its longer side (a 1's foot is short)
TABLE_REACH = 1.0  # a blob this many digit heights from the image edge may be the page's own edge ...
TABLE_REACH_CORNER = 3.0  # ... or this many, when it touches another edge and only table lies between
TABLE_STEP = 0.2  # ... when the ground just beyond it differs this much from the paper on its inner side
TABLE_BAND = 0.15  # width of the bands compared, in digit heights
MIN_DIGIT_PX = 6  # components shorter than this (working pixels) are never digits
SPECK_FRACTION = 0.3  # after merging, pieces smaller than this fraction of the digit height are dirt
MAX_DIGIT_FRACTION = 3.0  # blobs taller than this many digit heights are shadows or page edges
SHADOW_FILL = 0.1  # a component inking less of its box than this may be a shadow band (digits: >= 0.16)
SHADOW_INK = 3.0  # ... if it holds this many times the ink per unit of height of the well-filled ones
DASH_THICKNESS = 2.0  # a lone stroke no thicker across than this many pen widths ...
DASH_LENGTH = 3.0  # ... and this many times longer than thick ...
DASH_TILT = 30.0  # ... lying within this many degrees of the horizontal ...
DASH_STACKED = 0.1  # ... and crossing at most this share of its columns twice is a dash, not a digit
MERGE_OVERLAP = 0.5  # fragments overlapping this share of the narrower one's width belong together
MERGE_GAP = 0.35  # ... when the vertical gap between them is below this fraction of a digit height
MERGE_STACKED = 0.15  # pieces one above the other (this little overlap or gap) merge even when slanted
MERGE_MAX_HEIGHT = 1.35  # ... and the merged box is no taller than this many digit heights
MERGE_BAR_HEIGHT = 1.7  # ... or this many when the upper piece is a floating top bar (see `is_top_bar`)
BAR_MAX_HEIGHT = 0.45  # a top bar is no taller than this many digit heights ...
BAR_MIN_ASPECT = 1.5  # ... at least this many times as wide as tall, and no wider than the body below
SPLIT_ASPECT = 0.9  # wider than this times its height: maybe touching digits (a 4 and a 1 together)
SPLIT_DOUBT = 0.5  # a narrower blob read with less confidence than this is tried in pieces too ...
MIN_SPLIT_ASPECT = 0.55  # ... if it is at least this wide (two squeezed digits: "11", "17")
DIGIT_ASPECT = 0.75  # typical width/height of a handwritten digit (MNIST median without the 1s)
MIN_PIECE = 0.12  # no cut closer to a blob's end than this many heights: a sliver is no digit
FLAT_PIECE = 0.55  # a piece whose ink is lower than this share of its blob's height is a stroke
                   # of a neighbour (a 5's detached bar, a 1's flag), never a digit of its own
REJECTED_PIECE = 0.05  # a chosen piece read below this is no digit: its blob gets a third look, denser cuts
DENSE_ACCEPT = 0.3  # ... whose reading replaces the first only if every piece is read this well
CUT_SPACING = 0.1  # cut points at least this many heights apart (fewer crops to score)
MAX_CUTS_PER_DIGIT = 4  # keep the lowest-ink cut points, this many per expected digit
FEW_CUTS_BELOW = 1.2  # blobs narrower than this many heights are mostly one digit ...
FEW_CUTS = 2  # ... and get only this many cut points (speed)
MAX_PIECE = 1.6  # pieces wider than this many heights are never one digit (not scored) ...
MAX_WHOLE = 2.0  # ... but a whole blob up to this wide is: 0.3% of MNIST digits are flat 5s, 7s, 2s
WIDE_DIGIT = 1.2  # width/height above this grows unlikely for one digit (MNIST p95 is 1.1) ...
WIDE_SPREAD = 0.7  # ... with this spread (tuned on composed pages: the CNN's confidence decides most)
NARROW_DIGIT = 0.2  # below this a piece is a sliver, not even a 1 ...
NARROW_SPREAD = 0.08  # ... and quickly less likely
SIDE_GAP = 0.08  # two blobs side by side this close (heights) may be one digit of two strokes (an open 4) ...
SIDE_OVERLAP = 0.6  # ... when they share this share of the shorter one's rows ...
SIDE_MAX_ASPECT = 1.7  # ... and together no wider than the widest digits (1 in 2,000 of MNIST)
FRAGMENT_MIN = 0.25  # a piece too small for a digit but this long (digit heights) may be a stroke of one ...
FRAGMENT_REACH = 0.15  # ... tried with each digit whose box is this close to its own (digit heights) ...
FRAGMENT_ACCEPT = 0.5  # ... joining the one the model reads it with best, if at least this surely one digit
COUNT_WEIGHT = 3.0  # the string reader's log-probability of a digit count, against the CNN's cuts (tuned)
CONFIDENCE_WEIGHT = 3.0  # the CNN's log-confidence counts this much against the width prior (tuned)
LINE_OVERLAP = 0.4  # boxes sharing this fraction of the smaller height vertically are on one line
LINE_REACH = 4.0  # ... and no more than this many digit heights apart horizontally (chained)
LINE_EXTEND = 0.5  # a line piece whose centre is this close (heights) to another's fitted line joins it,
LINE_TILT_SLACK = 0.035  # ... plus this per pixel apart: a short piece's own tilt is unknown (+-2 degrees)
MAX_LINE_SLOPE = 0.2  # lines tilt at most ~11 degrees (a steeper fit comes from a stray box)
LINE_SAME_ROW = 0.7  # boxes sharing this much height are on one line at any distance
NUMBER_GAP = 0.6  # a gap wider than this fraction of the line's digit height starts a new number
CROP_PAD = 2  # zero margin around a crop so the polarity vote sees background on the border
CORE_LEVEL = 0.5  # a crop's faint ink counts only near ink at least this share of its strongest ...
CORE_REACH = 3  # ... within this many working pixels: a stroke's soft edge, not a shadow's joined to it


@dataclass
class Segment:
    """One digit found: its box in the input image's pixels, its ink crop and its place in the text."""

    box: Box
    crop: np.ndarray  # float32 ink 0..1 (bright ink on black), working resolution
    line: int = 0
    number: int = 0


@dataclass
class Layout:
    """Everything `find_digits` found, in reading order; `scale` maps working to input pixels."""

    segments: list[Segment]
    scale: float  # working pixels per input pixel

    @property
    def text_shape(self) -> list[list[int]]:
        """Digits per number, per line: [[3, 2], [5]] for "123 45\\n67890"."""
        shape: list[list[int]] = []
        for s in self.segments:
            while len(shape) <= s.line:
                shape.append([])
            while len(shape[s.line]) <= s.number:
                shape[s.line].append(0)
            shape[s.line][s.number] += 1
        return shape


def working_image(image: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, float]:
    """Grey float32 0..255 at a resolution fit for segmentation, and the scale used.

    8-bit photos take OpenCV's fast path (same luma weights as `to_gray`) and are resized before
    going to float; everything else goes through `to_gray`, which also rejects non-images.
    """
    a = np.asarray(image)
    if a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3 and a.size:
        a = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY)
    gray = a if (a.dtype == np.uint8 and a.ndim == 2 and a.size) else to_gray(a)
    h, w = gray.shape
    side = max(h, w)
    scale = 1.0
    if side > max_side:
        scale = max_side / side
    elif side < MIN_SIDE:
        scale = MIN_SIDE / side
    if scale != 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return gray.astype(np.float32, copy=False), scale


def ink_is_dark(gray: np.ndarray, paper: float | None = None) -> bool:
    """Pen on paper (dark ink) or light ink on a dark canvas? Ink is what stands out from the
    background by more than the noise: compare the mass of both tails.

    The background is the canvas's own level when it is flat (`paper`, the app), else a median
    filter a tenth of the image wide: with the global median, a shadow over much of a webcam
    frame put a whole lit region in the bright tail and the frame read as light ink on dark.
    A crop around writing (shorter than `CROP_SIDE`) has strokes as wide as such a window; its
    border is mostly paper, whatever the ink touches.
    """
    h, w = gray.shape
    f = max(1, min(h, w) // 100)
    size = (max(1, w // f), max(1, h // f))
    small = gray if f == 1 else cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    if is_crop(gray, paper):
        background = np.float32(np.median(border_ring(gray)))
    elif paper is None:
        k = max(3, int(min(small.shape) * POLARITY_WINDOW) | 1)
        background = cv2.medianBlur(np.clip(small, 0, 255).astype(np.uint8), k).astype(np.float32)
    else:
        background = np.float32(paper)
    diff = small - background
    margin = max(POLARITY_MARGIN, 3.0 * 1.4826 * float(np.median(np.abs(diff))))
    dark_mass = float(np.clip(-diff - margin, 0, None).sum())
    bright_mass = float(np.clip(diff - margin, 0, None).sum())
    return dark_mass >= bright_mass


def is_crop(gray: np.ndarray, paper: float | None) -> bool:
    """A photo shorter than `CROP_SIDE`: a crop around writing, not a page, a frame or a canvas."""
    return paper is None and min(gray.shape[:2]) < CROP_SIDE


def border_ring(gray: np.ndarray, width: int = 2) -> np.ndarray:
    """The pixels of the image's outer `width` rows and columns."""
    return np.concatenate([gray[:width].ravel(), gray[-width:].ravel(), gray[:, :width].ravel(),
                           gray[:, -width:].ravel()])


def flat_background(gray: np.ndarray) -> float | None:
    """The grey level of a perfectly uniform background (the app's canvas), or None for photos."""
    levels = np.clip(np.rint(gray[::2, ::2]), 0, 255).astype(np.uint8).ravel()
    counts = np.bincount(levels, minlength=256)
    peak = int(counts.argmax())
    return float(peak) if counts[peak] > FLAT_SHARE * levels.size else None


def ink_layer(gray: np.ndarray, paper: float | None = None, dark: bool | None = None) -> np.ndarray:
    """Ink strength 0..1 per pixel with the paper and its uneven light divided out.

    The background (paper under its light) is what a max filter wider than any stroke leaves (in a
    crop around writing, shorter than `CROP_SIDE`, digits fill the height: half of it is wider);
    light multiplies reflectance, so dark ink is 1 - gray/background. Bright ink on a dark canvas
    is the difference over the remaining range. `paper` (`flat_background`) and `dark`
    (`ink_is_dark`) are measured here unless the caller has them.
    """
    h, w = gray.shape
    gray = cv2.GaussianBlur(gray, (3, 3), 0)  # sensor/JPEG noise down ~2x, strokes keep their core
    lo, hi, _, _ = cv2.minMaxLoc(gray)
    if hi - lo < MIN_CONTRAST:  # one small digit is a tiny share of a page: extremes, not percentiles
        return np.zeros_like(gray, dtype=np.float32)
    if dark is None:
        paper = flat_background(gray)
        dark = ink_is_dark(gray, paper)
    factor = BACKGROUND_SCALE if min(h, w) >= 8 * BACKGROUND_SCALE else 1
    small = cv2.resize(gray, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA)
    side = max(max(h, w) * BACKGROUND_KERNEL, min(h, w) * CROP_KERNEL if is_crop(gray, paper) else 0)
    k = max(3, int(side / factor) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (k, k))
    op = cv2.MORPH_CLOSE if dark else cv2.MORPH_OPEN  # closing removes dark strokes, opening bright
    # no smoothing after the closing: it keeps a shadow's edge sharp, a blur would make it ink
    background = cv2.morphologyEx(small, op, kernel, borderType=cv2.BORDER_REPLICATE)
    background = cv2.resize(background, (w, h), interpolation=cv2.INTER_LINEAR)
    if paper is not None:  # a drawn canvas: a window narrower than a thick pen would hollow its strokes
        background = np.full_like(background, paper)
    if dark:
        ink = 1.0 - gray / np.maximum(background, 1.0)
    else:
        ink = (gray - background) / np.maximum(255.0 - background, 32.0)
    return np.clip(ink, 0.0, 1.0, out=ink).astype(np.float32, copy=False)


def label_ink(ink: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Hysteresis in one labelling pass: (labels, stats, keep, strong) where keep[label] marks
    components above the low threshold that reach the `strong` ink level somewhere."""
    sample = ink[::3, ::3]
    mid = float(np.median(sample))
    if mid > INK_LOW and (sample <= INK_LOW).sum() > 10:  # a crop mostly ink (a bold number cut tight):
        sample = sample[sample <= INK_LOW]  # the noise is the paper's, measured where it shows
        mid = float(np.median(sample))
    sigma = 1.4826 * float(np.median(np.abs(sample - mid)))
    top = float(np.percentile(sample, 99.9))
    strong = max(INK_HIGH, INK_HIGH_OF_MAX * top, mid + NOISE_SIGMAS_HIGH * sigma)
    low = (ink > max(min(INK_LOW, strong * 0.6), mid + NOISE_SIGMAS_LOW * sigma)).view(np.uint8)
    n, labels, stats = _label(low)
    return labels, stats, reaching(labels, n, ink, strong), strong


def reaching(labels: np.ndarray, n: int, ink: np.ndarray, strong: float) -> np.ndarray:
    """keep[label]: the components (not the background) that reach the `strong` ink level somewhere."""
    keep = np.zeros(n, bool)
    keep[labels[ink > strong]] = True
    keep[0] = False
    return keep


def binarize(ink: np.ndarray) -> np.ndarray:
    """Hysteresis: pixels above INK_LOW, in components that reach the strong-ink level somewhere."""
    labels, _, keep, _ = label_ink(ink)
    return keep[labels].view(np.uint8)


def remove_rules(mask: np.ndarray, solid: np.ndarray | None = None) -> np.ndarray:
    """Erase long thin lines (ruled paper, form lines), tilted or not; digits crossing them keep the rest.

    A component much wider than any number is a rule candidate. Several rules may be one component
    (joined by the page's edge, or by a digit written across two of them), so each is found on its
    own (`rule_lines`); a component with no such rule may still be one straight stroke at a steeper
    tilt (`straight_stroke`). A band of each line's thickness is erased along its fit, but for the
    columns where a stroke crosses it (`crossing`; with `solid`, the strong ink, a stroke of it: a
    faint shadow across the rule is no stroke, and must not stay joined to the rule's strong ink).
    """
    h, w = mask.shape
    n, labels, stats = _label(mask)
    out = mask
    for i in np.flatnonzero(stats[1:, cv2.CC_STAT_WIDTH] >= RULE_MIN_FRACTION * w) + 1:
        x, y, bw, bh = (int(v) for v in stats[i, :4])
        own = labels[y : y + bh, x : x + bw] == i
        lines = rule_lines(own, RULE_MIN_FRACTION * w) or straight_stroke(own, RULE_MIN_FRACTION * w)
        for slope, offset, thickness in lines:
            line_y = slope * np.arange(bw) + offset
            reach = thickness / 2 + 1.5
            top = max(0, int(line_y.min() - reach))
            bottom = min(bh, int(np.ceil(line_y.max() + reach)) + 1)  # only the rows it crosses
            band = np.abs(np.arange(top, bottom)[:, None] - line_y[None]) <= reach
            if out is mask:
                out = mask.copy()
            region = out[y + top : y + bottom, x : x + bw]
            strokes = own if solid is None else own & solid[y : y + bh, x : x + bw]
            region[band & own[top:bottom] & ~crossing(strokes, line_y, reach)[None]] = 0
    return out


def crossing(strokes: np.ndarray, line_y: np.ndarray, reach: float) -> np.ndarray:
    """Per column, whether a stroke crosses the line there: `strokes` for `CROSS_REACH` px above and
    below the band erased along it. Those columns keep their ink, or a digit written across a rule
    loses a slice (a 0 read as 5, a 2 as 1); a rule between strokes has paper on both sides, and a
    sliver the band left over ends within a pixel or two."""
    bh, bw = strokes.shape
    cols = np.arange(bw)
    out = np.ones(bw, bool)
    for d in range(1, CROSS_REACH + 1):  # a stroke goes on; a sliver the band left over does not
        above = np.clip(np.floor(line_y - reach - d).astype(int), 0, bh - 1)
        below = np.clip(np.ceil(line_y + reach + d).astype(int), 0, bh - 1)
        out &= strokes[above, cols] & strokes[below, cols]
    return out


def straight_stroke(own: np.ndarray, min_length: float) -> list[tuple[float, float, float]]:
    """A component that is one long straight stroke at any tilt (a shadow's thin edge, a line
    drawn across the page): [(slope, offset, thickness)] fitted through its thin columns' centres,
    or [] when it is not straight over at least `min_length` columns."""
    bh, bw = own.shape
    counts = own.sum(axis=0)
    cols = np.flatnonzero(counts)
    if len(cols) < min_length:
        return []
    thickness = float(np.percentile(counts[cols], 25))  # the line alone; digits/margins are thicker
    thin = cols[counts[cols] <= thickness * 1.5 + 1]
    if len(thin) < min_length or bw < RULE_ASPECT * thickness:
        return []
    centres = (own[:, thin] * np.arange(bh)[:, None]).sum(axis=0) / counts[thin]
    slope, offset = np.polyfit(thin, centres, 1)
    near = np.abs(centres - (slope * thin + offset)) <= max(2.0, thickness)
    if near.sum() < min_length:
        return []  # not straight: a long scribble, not a rule
    slope, offset = np.polyfit(thin[near], centres[near], 1)  # refit without stray columns
    return [(float(slope), float(offset), thickness)]


def rule_lines(own: np.ndarray, min_length: float) -> list[tuple[float, float, float]]:
    """The straight thin lines through a component: (slope, offset, thickness), box coordinates.

    Every column's runs of ink are cut out; the thin ones (a rule's crossing, not a digit's
    upright stroke) vote, Hough-style, for the straight lines through them. The line with the
    most votes is fitted, its runs are taken away, and the next one is looked for, until no line
    crosses at least `min_length` columns. Only ruler-straight lines much longer than thick are
    rules (RULE_WOBBLE, RULE_LENGTH): a hand-drawn bar wobbles, and is short for its pen.
    """
    bh, bw = own.shape
    columns = np.zeros((bw, bh + 2), np.int8)  # one row per column, zero-padded at both ends
    columns[:, 1:-1] = own.T
    cols, rows = np.nonzero(np.diff(columns, axis=1))  # per column: a run's start, its end, ...
    cols, starts, ends = cols[0::2], rows[0::2], rows[1::2]
    lengths = ends - starts
    if len(lengths) < min_length:
        return []
    thickness = float(np.percentile(lengths, 25))  # the line alone; digits/margins are thicker
    if bw < RULE_ASPECT * thickness:
        return []
    thin = lengths <= thickness * 1.5 + 1
    x, yc, run = cols[thin].astype(float), (starts[thin] + ends[thin] - 1) / 2.0, lengths[thin]
    slopes = np.linspace(-MAX_RULE_SLOPE, MAX_RULE_SLOPE, 2 * int(MAX_RULE_SLOPE / RULE_SLOPE_STEP) + 1)
    width = max(2.0, thickness)  # vote bins: a line's crossings share one offset within this
    lines = []
    while len(x) >= min_length:
        step = max(1, len(x) // RULE_VOTERS)  # a sample votes (speed); all the runs are fitted
        offsets = yc[None, ::step] - slopes[:, None] * x[None, ::step]
        low = offsets.min()
        bins = np.floor((offsets - low) / width).astype(np.int64)
        n_bins = int(bins.max()) + 2
        votes = np.bincount((bins + np.arange(len(slopes))[:, None] * n_bins).ravel(),
                            minlength=len(slopes) * n_bins).reshape(len(slopes), n_bins)
        votes[:, :-1] += votes[:, 1:]  # a line on a bin's edge splits its votes: count pairs of bins
        best_slope, best_bin = np.unravel_index(int(votes.argmax()), votes.shape)
        if votes[best_slope, best_bin] * step < min_length:
            break
        guess = slopes[best_slope] * x + low + (best_bin + 1) * width
        near = np.abs(yc - guess) <= width
        slope, offset = np.polyfit(x[near], yc[near], 1)
        on = np.abs(yc - (slope * x + offset)) <= max(2.0, thickness)
        if np.unique(x[on]).size < min_length:
            break  # not straight: a long scribble, not a rule
        slope, offset = np.polyfit(x[on], yc[on], 1)  # refit without stray columns
        line_thickness = float(np.median(run[on]))
        wobble = float(np.sqrt(np.mean((yc[on] - (slope * x[on] + offset)) ** 2)))
        if wobble <= max(1.0, RULE_WOBBLE * line_thickness) and np.ptp(x[on]) >= RULE_LENGTH * line_thickness:
            lines.append((float(slope), float(offset), line_thickness))
        x, yc, run = x[~on], yc[~on], run[~on]  # a hand-drawn bar is taken away too, not erased
    return lines


def components(mask: np.ndarray) -> tuple[np.ndarray, list[Box]]:
    """Label image and the boxes of connected ink components (index i -> label i + 1)."""
    n, labels, stats = _label(mask)
    return labels, [tuple(int(v) for v in stats[i, :4]) for i in range(1, n)]


def _label(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """8-connected labelling with stats; BBDT is ~8x faster here than OpenCV's default choice."""
    n, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(mask, 8, cv2.CV_32S, cv2.CCL_BBDT)
    return n, labels, stats


def is_margin(box: Box, shape: tuple[int, int], contact: float = 0.0) -> bool:
    """A blob touching the image edge and elongated, or lying along it for `contact`
    (`edge_contact`) of its longer side: the table or shadow beyond the page. Its size alone says
    nothing: a number cropped tight to its ink touches the edges with every digit."""
    x, y, w, h = box
    touches = x == 0 or y == 0 or x + w == shape[1] or y + h == shape[0]
    along = contact >= MARGIN_CONTACT
    return touches and (along or w > MARGIN_ASPECT * h or h > 2 * MARGIN_ASPECT * w)


def edge_contact(labels: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Per label, its longest stretch of image edge (pixels on one border) over its longer side.

    The table or floor beyond a photographed page enters at the edge and lies along it; writing
    cut by the frame touches it with the end of a stroke.
    """
    n = len(stats)
    on_edge = np.zeros(n)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        on_edge = np.maximum(on_edge, np.bincount(edge, minlength=n)[:n])
    longer = np.maximum(stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT])
    return on_edge / np.maximum(longer, 1)


def beyond_page(box: Box, gray: np.ndarray, digit_h: float, dark: bool = True) -> bool:
    """A blob near the image edge with darker ground right beyond it (towards the edge) than the
    paper on its inner side (brighter, for light ink): the page's border against the table, a
    sliver the paper estimate left (read as a "1" in a corner). Writing near the edge has paper
    on both sides; a shadow's edge lit on the outer side does not count, nor a digit written up to
    the page's edge (its ink is much darker than the table).

    Both bands are `TABLE_BAND` digit heights wide; the inner one's paper level is a high
    percentile for dark ink (a low one for light ink): a neighbour's strokes are not ground.
    A blob touching one image edge (the sliver where a page's slanted border leaves the frame)
    may lie up to `TABLE_REACH_CORNER` digit heights from another; the whole stretch between
    them must then be table, its most paper-like part too.
    """
    x, y, w, h = box
    rows, cols = gray.shape
    right, bottom = cols - x - w, rows - y - h
    corner = min(x, y, right, bottom) == 0
    reach = (TABLE_REACH_CORNER if corner else TABLE_REACH) * digit_h
    near, band = TABLE_REACH * digit_h, max(3, round(TABLE_BAND * digit_h))
    strips = []  # (beyond the blob towards the edge, just inside it, the stretch reaches the edge)
    if 2 <= x <= reach:
        beyond = x if x > near else band
        strips.append((gray[y : y + h, max(0, x - beyond) : x], gray[y : y + h, x + w : x + w + band],
                       x > near))
    if 2 <= right <= reach:
        beyond = right if right > near else band
        strips.append((gray[y : y + h, x + w : x + w + beyond], gray[y : y + h, max(0, x - band) : x],
                       right > near))
    if 2 <= y <= reach:
        beyond = y if y > near else band
        strips.append((gray[max(0, y - beyond) : y, x : x + w], gray[y + h : y + h + band, x : x + w],
                       y > near))
    if 2 <= bottom <= reach:
        beyond = bottom if bottom > near else band
        strips.append((gray[y + h : y + h + beyond, x : x + w], gray[max(0, y - band) : y, x : x + w],
                       bottom > near))
    if not strips:
        return False
    sign = 1.0 if dark else -1.0  # below: "darker" means further towards the ink's side of the paper
    own = sign * float(np.percentile(gray[y : y + h, x : x + w], 5 if dark else 95))
    for outside, inside, whole in strips:
        if outside.size and inside.size:
            level = (90 if dark else 10) if whole else 50  # the stretch's most paper-like part
            out = sign * float(np.percentile(outside, level))
            inn = sign * float(np.percentile(inside, 90 if dark else 10))
            step = TABLE_STEP * max(abs(out), abs(inn), 1.0)
            if inn - out > step and own - out > -step:  # a table beyond, and the blob no inkier than it
                return True
    return False


def typical_height(boxes: Sequence[Box], areas: Sequence[int]) -> float:
    """The digit height: median component height weighted by ink area (specks weigh nothing).

    A band of shadow joined to a line of digits can hold more ink than all the digits, and would
    make every digit look small. It is left out when it inks little of its box (digits written at
    any size ink much of theirs), yet holds far more ink per unit of height than the well-filled
    components (a stroke as broad as a shadow, not a fine pen), and stands more than
    `MAX_DIGIT_FRACTION` times taller than those make the digit height.
    """
    hs = np.array([b[3] for b in boxes], float)
    ws = np.asarray(areas, float)
    ok = hs >= MIN_DIGIT_PX
    if not ok.any():
        return 0.0
    fill = ws / np.maximum([b[2] * b[3] for b in boxes], 1)
    solid = ok & (fill >= SHADOW_FILL)
    if solid.any():
        height = _weighted_median(hs[solid], ws[solid])
        per_px = _weighted_median(ws[solid] / hs[solid], ws[solid])
        ok &= ~((fill < SHADOW_FILL) & (hs > MAX_DIGIT_FRACTION * height) & (ws > SHADOW_INK * per_px * hs))
    return _weighted_median(hs[ok], ws[ok])


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, cum[-1] / 2)])


def _union(a: Box, b: Box) -> Box:
    x0, y0 = min(a[0], b[0]), min(a[1], b[1])
    x1, y1 = max(a[0] + a[2], b[0] + b[2]), max(a[1] + a[3], b[1] + b[3])
    return (x0, y0, x1 - x0, y1 - y0)


def merge_broken(
    groups: list[list[int]], boxes: list[Box], digit_h: float
) -> tuple[list[list[int]], list[Box]]:
    """Join fragments stacked above each other into one digit (repeat until nothing changes)."""
    groups, boxes = [list(g) for g in groups], list(boxes)
    changed = True
    while changed:
        changed = False
        order = sorted(range(len(boxes)), key=lambda i: boxes[i][0])
        for ii, i in enumerate(order):
            if not groups[i]:
                continue
            for j in order[ii + 1 :]:
                if not groups[j]:
                    continue
                a, b = boxes[i], boxes[j]
                if b[0] > a[0] + a[2]:
                    break  # sorted by x: nothing further right overlaps a
                overlap = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
                gap = max(a[1], b[1]) - min(a[1] + a[3], b[1] + b[3])
                union = _union(a, b)
                above = gap >= -MERGE_STACKED * min(a[3], b[3]) and overlap >= -MERGE_STACKED * digit_h
                bar = is_top_bar(a, b, digit_h) or is_top_bar(b, a, digit_h)
                tallest = MERGE_BAR_HEIGHT if bar else MERGE_MAX_HEIGHT
                if ((overlap >= MERGE_OVERLAP * min(a[2], b[2]) or above) and gap <= MERGE_GAP * digit_h
                        and union[3] <= tallest * digit_h):
                    groups[i] += groups[j]
                    groups[j] = []
                    boxes[i] = a = union
                    changed = True
    keep = [k for k, g in enumerate(groups) if g]
    return [groups[k] for k in keep], [boxes[k] for k in keep]


def attach_fragments(ink: np.ndarray, labels: np.ndarray, groups: list[list[int]], boxes: list[Box],
                     keep: list[int], digit_h: float, score: ScoreFn) -> None:
    """Give a digit back a stroke that lies beside it, apart: a 7's bar lifted off its stem, the
    end of a 6's loop after the pen skipped. Too small for a digit, it would be dropped as dirt
    and the rest read alone (a 7 as 1, a 6 as 1 or 5).

    A fragment at least FRAGMENT_MIN digit heights long (dirt specks are dots) is read together
    with each digit blob within FRAGMENT_REACH of it, all in one model call, and joins the blob it
    is read best with, if the model reads the two as one digit with confidence FRAGMENT_ACCEPT or
    more (the reject class says "not one digit" of a fragment and a digit that do not belong
    together). The blobs in `keep` grow in place, by one fragment each at most.
    """
    kept = set(keep)
    reach = FRAGMENT_REACH * digit_h
    pairs: list[tuple[int, int, Box]] = []
    for f, (fx, fy, fw, fh) in enumerate(boxes):
        if f in kept or max(fw, fh) < FRAGMENT_MIN * digit_h or fh > MAX_DIGIT_FRACTION * digit_h:
            continue
        for k in keep:
            x, y, w, h = boxes[k]
            dx = max(x - (fx + fw), fx - (x + w), 0)
            dy = max(y - (fy + fh), fy - (y + h), 0)
            union = _union(boxes[k], boxes[f])
            if (dx <= reach and dy <= reach and w <= WIDE_DIGIT * h and union[3] <= MERGE_MAX_HEIGHT * digit_h
                    and union[2] <= SIDE_MAX_ASPECT * union[3]):
                pairs.append((k, f, union))
    if not pairs:
        return
    joined = np.asarray(score([crop_of(ink, labels, groups[k] + groups[f], union) for k, f, union in pairs]))
    taken: set[int] = set()
    for i in np.argsort(joined)[::-1]:
        k, f, union = pairs[i]
        if joined[i] < FRAGMENT_ACCEPT:
            break
        if k in taken or f in taken:
            continue
        taken |= {k, f}
        groups[k] = groups[k] + groups[f]
        boxes[k] = union


def is_top_bar(bar: Box, body: Box, digit_h: float) -> bool:
    """`bar` is a flat stroke lying on top of `body`: the floating top of a 5 (or a 7).

    The digit height is a median of blobs, and on a canvas holding one such 5 the only blob is its
    body, so bar and body together stand taller than the limit for merged fragments.
    """
    bx, by, bw, bh = bar
    x, y, w, h = body
    flat = bh <= BAR_MAX_HEIGHT * digit_h and bw >= BAR_MIN_ASPECT * bh and bw <= w
    on_top = by + bh <= y + 0.25 * h  # it may dip into the body's top quarter, no lower
    return flat and on_top and bx + bw > x and bx < x + w


def is_digit_sized(box: Box, digit_h: float) -> bool:
    """Not a speck, not a shadow: tall enough for a digit (a 1 is narrow, so height decides)."""
    _, _, w, h = box
    if h < MIN_DIGIT_PX or h > MAX_DIGIT_FRACTION * digit_h:
        return False
    return h >= SPECK_FRACTION * digit_h * 1.6 or (w >= SPECK_FRACTION * digit_h * 2 and h >= 0.5 * digit_h)


def is_dash(labels: np.ndarray, index: int, box: Box) -> bool:
    """A minus sign or a crossed-out stroke: one straight, flat stroke (no digit is one).

    Alone on a canvas a dash is its own "digit height", so it is cut into squares read as 0s.
    The pen width is twice the largest inset of the ink (distance transform); the stroke's length,
    thickness across and direction come from its second moments (a bar t thick gives exactly t).
    A row of touching bold digits can look as flat, but most of its columns cross ink twice.
    """
    x, y, w, h = box
    if w < h:
        return False
    mask = (labels[y : y + h, x : x + w] == index + 1).astype(np.uint8)
    m = cv2.moments(mask, binaryImage=True)
    if m["m00"] == 0:
        return False
    a, b, c = m["mu20"] / m["m00"], m["mu11"] / m["m00"], m["mu02"] / m["m00"]
    spread = np.hypot((a - c) / 2, b)
    length, across = np.sqrt(12 * ((a + c) / 2 + spread)), np.sqrt(12 * max((a + c) / 2 - spread, 0.0))
    tilt = abs(np.degrees(0.5 * np.arctan2(2 * b, a - c)))
    if length < DASH_LENGTH * across or tilt > DASH_TILT:
        return False  # most blobs stop here, before the distance transform
    pen = 2.0 * float(cv2.distanceTransform(mask, cv2.DIST_L2, 3).max())
    if across > DASH_THICKNESS * pen:
        return False
    runs = (np.diff(mask, axis=0) == 1).sum(axis=0) + mask[0]  # ink runs starting in each column
    return float((runs > 1).mean()) <= DASH_STACKED


def crop_of(ink: np.ndarray, labels: np.ndarray, group: Sequence[int], box: Box,
            cols: tuple[int, int] | None = None) -> np.ndarray:
    """The ink of the group's components inside `box` (columns `cols` only), others blanked."""
    x, y, w, h = box
    c0, c1 = cols if cols else (x, x + w)
    lab = labels[y : y + h, c0:c1]
    own = lab == group[0] + 1 if len(group) == 1 else np.isin(lab, np.asarray(group) + 1)
    own = cv2.dilate(own.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)  # soft edges too
    crop = np.where(own, ink[y : y + h, c0:c1], 0.0).astype(np.float32)
    return np.pad(near_core(crop), CROP_PAD)


def near_core(crop: np.ndarray) -> np.ndarray:
    """The crop without its faint ink far from the strokes' core: the edge of a shadow or a stain
    that the low threshold joined to the digit would move its centre of mass and widen its box."""
    top = float(crop.max())
    if top <= 0.0:
        return crop
    core = (crop >= CORE_LEVEL * top).view(np.uint8)
    near = cv2.dilate(core, np.ones((2 * CORE_REACH + 1, 2 * CORE_REACH + 1), np.uint8))
    return np.where(near.view(bool), crop, np.float32(0.0))


def cut_points(profile: np.ndarray, height: int, dense: bool = False) -> list[int]:
    """Candidate columns to cut a wide blob at: ink-profile minima plus equal divisions, 0 and w.

    Over-segmenting is cheap: the scorer and the search in `best_path` pick which cuts to use.
    """
    w = len(profile)
    smooth = np.convolve(profile, np.ones(3) / 3, mode="same")
    inner = smooth[1:-1]
    minima = np.flatnonzero((inner <= smooth[:-2]) & (inner <= smooth[2:])) + 1
    k0 = w / (DIGIT_ASPECT * height)
    equal = [round(w * j / k) for k in {max(2, int(np.floor(k0))), int(np.ceil(k0)) + 1} for j in range(1, k)]
    min_piece = MIN_PIECE * height
    points = sorted({int(c) for c in (*minima, *equal) if min_piece <= c <= w - min_piece})
    if dense:  # every minimum and equal division (overlapping digits leave no ink minimum between them)
        return [0, *points, w]
    kept: list[int] = []
    for c in sorted(points, key=lambda c: smooth[c]):  # lowest ink first, then thin out neighbours
        if all(abs(c - k) >= CUT_SPACING * height for k in kept):
            kept.append(c)
    few = w < FEW_CUTS_BELOW * height
    budget = FEW_CUTS if few else MAX_CUTS_PER_DIGIT * max(1, round(k0))
    return [0, *sorted(kept[:budget]), w]


def width_prior(aspect: float) -> float:
    """Log-prior of a piece's width/height as one digit: flat for 1s to wide 0s, falling outside."""
    if aspect > WIDE_DIGIT:
        return -0.5 * ((aspect - WIDE_DIGIT) / WIDE_SPREAD) ** 2
    if aspect < NARROW_DIGIT:
        return -(((NARROW_DIGIT - aspect) / NARROW_SPREAD) ** 2)
    return 0.0


def best_path(points: list[int], height: int, conf: dict[tuple[int, int], float],
              count_prior: np.ndarray | None = None) -> list[tuple[int, int]]:
    """The pieces (between cut points) maximizing the summed log-confidence and width prior;
    with `count_prior` (log-probabilities of 0, 1, 2, ... digits, from the string reader) plus
    COUNT_WEIGHT times the log-probability of the path's number of pieces. [] if no chain spans.

    A sum, not a mean: every extra piece costs its own doubt, so a confident whole beats halves.
    """
    n = len(points)
    most = 0 if count_prior is None else min(n - 1, len(count_prior) - 1)
    # best[j, k]: the best chain from cut 0 to cut j of k pieces (without a prior, k = 0: any number)
    best = np.full((n, most + 1), -np.inf)
    back = np.zeros((n, most + 1), int)
    best[0, 0] = 0.0
    for j in range(1, n):
        for i in range(j):
            c = conf.get((i, j))
            if c is None:
                continue
            gain = CONFIDENCE_WEIGHT * np.log(max(c, 1e-6)) + width_prior((points[j] - points[i]) / height)
            for k in ([0] if count_prior is None else range(1, min(j, most) + 1)):
                s = best[i, k - 1 if k else 0] + gain
                if s > best[j, k]:
                    best[j, k], back[j, k] = s, i
    k = 0
    if count_prior is not None:
        k = int(np.argmax(best[-1] + COUNT_WEIGHT * np.asarray(count_prior[: most + 1])))
    if best[-1, k] == -np.inf:
        return []  # no chain of scored pieces spans the blob
    path, j = [], n - 1
    while j > 0:
        i = back[j, k]
        path.append((i, j))
        j, k = i, (k - 1 if k else 0)
    return path[::-1]


def split_touching(ink: np.ndarray, labels: np.ndarray, groups: list[list[int]], boxes: list[Box],
                   score: ScoreFn | None, join: bool = True, seen: list[tuple[Box, np.ndarray]] | None = None,
                   strings: StringFn | None = None, hints: dict[int, np.ndarray] | None = None
                   ) -> list[tuple[Box, np.ndarray]]:
    """Each digit-sized group as (box, crop); blobs that may hold several digits split into the
    pieces the scorer reads best.

    A wide blob gets candidate cut points; every piece between two cut points that could be one
    digit is a crop. All crops of all wide blobs, and every narrow blob whole, go to `score` in
    ONE call. A narrow blob the model doubts (two squeezed digits, as a reject-class model says)
    gets its own pieces in a second call. `best_path` then picks the cuts. A blob whose best
    reading still holds a piece that is no digit (strongly overlapping digits leave no ink minimum
    between them) is tried at every minimum and equal division in a third call. Whole blobs that
    nearly touch side by side are tried as one digit in a last call (`join_sideways`). Without a
    scorer, a wide blob is cut at the width estimate's count. `seen`, if given, collects every
    piece scored (box, crop): the wrong cuts too, which teach the model what is not one digit.
    `strings` (the string reader, crnn.py) reads every blob whole, in one call; its probability
    of each digit count weighs in `best_path` (a 1 stuck to its neighbour is read as the
    neighbour, confidently, by a model that sees one piece at a time; the string reader sees
    both), and a narrow blob it reads as several digits is tried in pieces. `hints`, if given,
    receives id(crop) -> its digit probabilities for each piece where the cuts give as many
    pieces as it read digits.
    """
    out: list[list[tuple[Box, np.ndarray]]] = []
    pending: list[tuple[int, Box, list[int], dict[tuple[int, int], tuple[Box, np.ndarray]]]] = []
    wholes: list[np.ndarray] = []  # each pending blob's whole crop, for the string reader
    for group, box in zip(groups, boxes, strict=True):
        x, y, w, h = box
        whole = (box, crop_of(ink, labels, group, box))
        wide = w > SPLIT_ASPECT * h
        if score is None:
            out.append(_equal_cuts(ink, labels, group, box) if wide else [whole])
            continue
        points, pieces = _pieces(ink, labels, group, box, whole) if wide else ([0, w], {(0, 1): whole})
        pending.append((len(out), box, points, pieces))
        wholes.append(whole[1])
        out.append([whole])
    if pending:
        conf = _score_pieces(score, [p[3] for p in pending], seen)
        read = dict(enumerate(strings(wholes))) if strings is not None and wholes else {}
        doubtful = [k for k, (_, box, points, _) in enumerate(pending)
                    if len(points) == 2 and box[2] >= MIN_SPLIT_ASPECT * box[3]
                    and (conf[k][(0, 1)] < SPLIT_DOUBT or (k in read and len(read[k].rows) > 1))]
        if doubtful:
            known = []  # the whole blob's key among its new pieces and its score from the first call
            for k in doubtful:
                slot, box, _, pieces = pending[k]
                points, more = _pieces(ink, labels, groups[slot], box, pieces[(0, 1)])
                pending[k] = (slot, box, points, more)
                known.append(((0, len(points) - 1), conf[k][(0, 1)]))
            new = [{key: p for key, p in pending[k][3].items() if key != whole} for k, (whole, _) in
                   zip(doubtful, known, strict=True)]  # the whole is scored already
            for k, scored, (whole, c) in zip(doubtful, _score_pieces(score, new, seen), known, strict=True):
                conf[k] = {**scored, whole: c} if whole in pending[k][3] else scored  # (faint: dropped)
        def prior(k: int, points: list[int]) -> np.ndarray | None:
            """The string reader's count, for blobs with a choice of cuts (one piece has none)."""
            return read[k].count_log if k in read and len(points) > 2 else None

        paths = [best_path(points, box[3], conf[k], prior(k, points))
                 for k, (_, box, points, _) in enumerate(pending)]
        rejected = [k for k, (_, box, _, _) in enumerate(pending)
                    if paths[k] and box[2] >= MIN_SPLIT_ASPECT * box[3]
                    and min(conf[k][key] for key in paths[k]) < REJECTED_PIECE]
        if rejected:  # a third look, at more cut points, for blobs whose best reading is still no digit
            denser = []
            for k in rejected:
                slot, box, points, pieces = pending[k]
                whole = pieces.get((0, len(points) - 1)) or (box, crop_of(ink, labels, groups[slot], box))
                denser.append(_pieces(ink, labels, groups[slot], box, whole, dense=True))
            rescored = _score_pieces(score, [pieces for _, pieces in denser], seen)
            for k, (points, pieces), scored in zip(rejected, denser, rescored, strict=True):
                path = best_path(points, pending[k][1][3], scored, prior(k, points))
                if path and min(scored[key] for key in path) >= DENSE_ACCEPT:
                    pending[k] = (pending[k][0], pending[k][1], points, pieces)
                    paths[k] = path
        whole_conf: dict[int, float] = {}
        for k, ((slot, _, points, pieces), path) in enumerate(zip(pending, paths, strict=True)):
            if path:
                out[slot] = [pieces[key] for key in path]
                rows = read[k].rows if k in read else None
                if hints is not None and rows is not None and len(path) == len(rows):
                    hints.update((id(crop), row) for (_, crop), row in zip(out[slot], rows, strict=True))
            if path == [(0, len(points) - 1)] or (not path and len(points) == 2):
                whole_conf[slot] = conf[k].get((0, len(points) - 1), 0.0)
        if join:
            join_sideways(ink, labels, groups, boxes, out, whole_conf, score)
    flat = [item for items in out for item in items]
    return [(b, c) for b, c in flat if c.max() > INK_HIGH]


def join_sideways(ink: np.ndarray, labels: np.ndarray, groups: list[list[int]], boxes: list[Box],
                  out: list[list[tuple[Box, np.ndarray]]], whole_conf: dict[int, float],
                  score: ScoreFn) -> None:
    """Read two whole blobs that nearly touch side by side as one digit where the model reads
    them better so: a 4 whose open top leaves its two strokes apart was two 1s ("4559" -> "11559").

    The rule of `best_path`: the joined piece's log-confidence and width prior must beat the two
    blobs' summed log-confidence (they are whole components: a thin 1 is no sliver here), so two
    sure digits ("11") are never joined. Changes `out` in place.
    """
    slots = sorted(whole_conf, key=lambda k: boxes[k][0])
    candidates = []
    for i, a in enumerate(slots):
        ax, ay, aw, ah = boxes[a]
        for b in slots[i + 1 :]:
            bx, by, bw, bh = boxes[b]
            height = max(ah, bh)
            if bx - (ax + aw) > SIDE_GAP * height:
                break  # sorted by x: the rest are further right
            union = _union(boxes[a], boxes[b])
            rows = min(ay + ah, by + bh) - max(ay, by)
            if rows >= SIDE_OVERLAP * min(ah, bh) and union[2] <= SIDE_MAX_ASPECT * union[3]:
                candidates.append((a, b, union))
    if not candidates:
        return
    crops = [crop_of(ink, labels, groups[a] + groups[b], union) for a, b, union in candidates]
    joined = np.asarray(score(crops), float)

    def value(c: float) -> float:
        return CONFIDENCE_WEIGHT * np.log(max(c, 1e-6))
    gains = [value(cu) + width_prior(union[2] / union[3]) - value(whole_conf[a]) - value(whole_conf[b])
             for (a, b, union), cu in zip(candidates, joined, strict=True)]
    used: set[int] = set()
    for k in np.argsort(gains)[::-1]:
        a, b, union = candidates[k]
        if gains[k] <= 0:
            break
        if a in used or b in used:
            continue
        used |= {a, b}
        out[a], out[b] = [(_tight(union, crops[k]), crops[k])], []


def _pieces(ink: np.ndarray, labels: np.ndarray, group: list[int], box: Box, whole: tuple[Box, np.ndarray],
            dense: bool = False) -> tuple[list[int], dict[tuple[int, int], tuple[Box, np.ndarray]]]:
    """Cut points of a blob and its candidate pieces (between two cut points) with their crops."""
    x, y, w, h = box
    lab = labels[y : y + h, x : x + w]
    profile = (np.isin(lab, np.asarray(group) + 1) * ink[y : y + h, x : x + w]).sum(axis=0)
    points = cut_points(profile, h, dense)
    pieces: dict[tuple[int, int], tuple[Box, np.ndarray]] = {}
    for i in range(len(points)):
        for j in range(i + 1, len(points)):
            a, b = points[i], points[j]
            if (b - a) > MAX_PIECE * h and not ((a, b) == (0, w) and w <= MAX_WHOLE * h):
                continue
            crop = whole[1] if (a, b) == (0, w) else crop_of(ink, labels, group, box, (x + a, x + b))
            if float(crop.max()) <= INK_HIGH:
                continue
            tight = _tight((x + a, y, b - a, h), crop)
            if tight[3] >= FLAT_PIECE * h or (a, b) == (0, w):
                pieces[(i, j)] = (tight, crop)
    return points, pieces


def _score_pieces(score: ScoreFn, blobs: list[dict[tuple[int, int], tuple[Box, np.ndarray]]],
                  seen: list[tuple[Box, np.ndarray]] | None = None) -> list[dict[tuple[int, int], float]]:
    """Every piece of every blob scored in one call; per blob, piece key -> confidence."""
    crops = [crop for pieces in blobs for _, crop in pieces.values()]
    if seen is not None:
        seen.extend(piece for pieces in blobs for piece in pieces.values())
    conf = iter(np.asarray(score(crops), float).tolist()) if crops else iter(())
    return [{key: next(conf) for key in pieces} for pieces in blobs]


def _equal_cuts(ink: np.ndarray, labels: np.ndarray, group: list[int], box: Box
                ) -> list[tuple[Box, np.ndarray]]:
    """Without a scorer: cut a wide blob into as many equal pieces as its width suggests."""
    x, y, w, h = box
    k = max(1, round(w / (DIGIT_ASPECT * h)))
    cuts = [round(w * j / k) for j in range(k + 1)]
    return [(_tight((x + a, y, b - a, h), c), c) for a, b in zip(cuts, cuts[1:], strict=False)
            for c in [crop_of(ink, labels, group, box, (x + a, x + b))] if c.max() > INK_HIGH]


def _tight(box: Box, crop: np.ndarray) -> Box:
    """Shrink a piece's box to its ink (crop includes CROP_PAD)."""
    x, y, w, h = box
    bx, by, bw, bh = cv2.boundingRect((crop > INK_LOW).astype(np.uint8))
    if bw == 0:
        return box
    return (x + bx - CROP_PAD, y + by - CROP_PAD, bw, bh)


def group_lines(boxes: Sequence[Box], spans: Sequence[tuple[int, int]] | None = None
                ) -> list[list[list[int]]]:
    """Indices of `boxes` as lines (top to bottom) of numbers (left to right) of digits.

    Boxes that overlap vertically and stand near each other chain into a line, so a slightly
    tilted line stays one line. Within a line a gap wider than NUMBER_GAP digit heights starts a
    new number; touching or overlapping digits stay in one number. `spans` (left, right), when
    given, are the columns each digit's ink blob covers, for the gaps: the pieces of one blob are
    one number, and ink that is no digit of its own (a 5's detached bar) still fills its gap.
    """
    n = len(boxes)
    if n == 0:
        return []
    b = np.asarray(boxes, float)
    x0, y0, w, h = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    top, bottom = y0, y0 + h
    v_overlap = np.minimum(bottom[:, None], bottom[None]) - np.maximum(top[:, None], top[None])
    min_h = np.minimum(h[:, None], h[None])
    h_gap = np.maximum(x0[:, None], x0[None]) - np.minimum((x0 + w)[:, None], (x0 + w)[None])
    reach = LINE_REACH * np.maximum(h[:, None], h[None])
    linked = ((v_overlap >= LINE_OVERLAP * min_h) & (h_gap <= reach)) | (v_overlap >= LINE_SAME_ROW * min_h)
    line_of = _connected(linked)
    lines: dict[int, list[int]] = {}
    for i, lab in enumerate(line_of):
        lines.setdefault(lab, []).append(i)
    ordered = _join_along(list(lines.values()), x0 + w / 2, y0 + h / 2, h)
    ordered = sorted(ordered, key=lambda idx: float(np.mean(y0[idx] + h[idx] / 2)))
    result = []
    left, right_of = (x0, x0 + w) if spans is None else np.asarray(spans, float).T
    for idx in ordered:
        idx = sorted(idx, key=lambda i: x0[i] + w[i] / 2)
        line_h = float(np.median(h[idx]))
        numbers = [[idx[0]]]
        right = right_of[idx[0]]
        for i in idx[1:]:
            if left[i] - right > NUMBER_GAP * line_h:
                numbers.append([])
            numbers[-1].append(i)
            right = max(right, right_of[i])
        result.append(numbers)
    return result


def _join_along(lines: list[list[int]], cx: np.ndarray, cy: np.ndarray, h: np.ndarray) -> list[list[int]]:
    """Join line pieces that continue each other: side by side, each on the other's extended line.

    Numbers far apart on one tilted line do not overlap vertically; the fitted line of a piece
    with several digits predicts where the other piece should sit.
    """
    def own_slope(idx: list[int]) -> float | None:
        xs = cx[idx]
        if len(idx) >= 3 and np.ptp(xs) > 2 * float(np.median(h[idx])):
            return float(np.clip(np.polyfit(xs, cy[idx], 1)[0], -MAX_LINE_SLOPE, MAX_LINE_SLOPE))
        return None  # too short to tell: use the page's tilt

    def fit(idx: list[int]) -> tuple[float, float, float, float]:
        slope = own_slope(idx)
        slope = page_slope if slope is None else slope
        return slope, float(np.mean(cx[idx])), float(np.mean(cy[idx])), float(np.median(h[idx]))

    slopes = [v for v in map(own_slope, lines) if v is not None]
    page_slope = float(np.median(slopes)) if slopes else 0.0  # camera tilt is shared by all lines

    joined = True
    while joined and len(lines) > 1:
        joined = False
        fits = [fit(idx) for idx in lines]
        for a in range(len(lines)):
            for b in range(a + 1, len(lines)):
                (sa, xa, ya, ha), (sb, xb, yb, hb) = fits[a], fits[b]
                apart = min(cx[lines[b]]) > max(cx[lines[a]]) or min(cx[lines[a]]) > max(cx[lines[b]])
                slope = sa if len(lines[a]) >= len(lines[b]) else sb
                off = abs(ya + slope * (xb - xa) - yb)
                if apart and off <= LINE_EXTEND * min(ha, hb) + LINE_TILT_SLACK * abs(xb - xa):
                    lines[a] = lines[a] + lines[b]
                    del lines[b]
                    joined = True
                    break
            if joined:
                break
    return lines


def _connected(adjacency: np.ndarray) -> list[int]:
    """Connected-component label of each node of a boolean adjacency matrix."""
    n = len(adjacency)
    label = [-1] * n
    for start in range(n):
        if label[start] >= 0:
            continue
        label[start] = start
        stack = [start]
        while stack:
            i = stack.pop()
            for j in np.flatnonzero(adjacency[i]):
                if label[j] < 0:
                    label[j] = start
                    stack.append(int(j))
    return label


def find_digits(image: np.ndarray, score: ScoreFn | None = None, max_side: int = MAX_SIDE,
                join: bool = True, candidates: list[tuple[Box, np.ndarray]] | None = None,
                strings: StringFn | None = None, hints: dict[int, np.ndarray] | None = None) -> Layout:
    """The digits of a page/canvas/frame in reading order, boxes in the input's pixels.

    `score` (optional) reads candidate crops and returns each one's best-class confidence; it is
    used only to choose how to split touching digits (and, with `join`, whether two blobs side by
    side are one digit: only a scorer that knows "not one digit" can say).
    `max_side` bounds the working resolution. `candidates`, if given, receives every crop the
    scorer was asked about, with its box in the input's pixels (training data, pagecrops.py).
    `strings` (optional, the string reader) says how many digits a blob holds and which; `hints`
    then receives its digit probabilities per piece (see `split_touching`).
    """
    gray, scale = working_image(image, max_side)
    paper = flat_background(gray)
    dark = ink_is_dark(gray, paper)
    ink = ink_layer(gray, paper, dark)
    labels, stats, keep, strong = label_ink(ink)
    if (keep & (stats[:, cv2.CC_STAT_WIDTH] >= RULE_MIN_FRACTION * ink.shape[1])).any():
        mask = keep[labels].view(np.uint8)
        cleaned = remove_rules(mask, ink >= strong)
        if cleaned is not mask:  # lines were erased: label what is left, and what reaches strong ink
            n, labels, stats = _label(cleaned)  # (a faint shadow that touched a rule no longer does)
            keep = reaching(labels, n, ink, strong)
    boxes = [(int(a), int(b), int(c), int(d)) for a, b, c, d in stats[1:, :4]]
    contact = edge_contact(labels, stats)
    # a canvas or a crop around writing has no table around it: what touches its edge is writing
    framed = paper is None and not is_crop(gray, paper)
    big = [i for i, b in enumerate(boxes) if keep[i + 1] and (b[3] >= 2 or b[2] >= 2)
           and not (framed and is_margin(b, ink.shape, float(contact[i + 1])))]
    if not big:
        return Layout([], scale)
    digit_h = typical_height([boxes[i] for i in big], stats[1:, cv2.CC_STAT_AREA][big])
    if digit_h <= 0:
        return Layout([], scale)
    if paper is None:  # a photo (a drawn canvas has no table around it)
        big = [i for i in big if not beyond_page(boxes[i], gray, digit_h, dark)]
    if not big:
        return Layout([], scale)
    groups, merged = merge_broken([[i] for i in big], [boxes[i] for i in big], digit_h)
    keep = [k for k, b in enumerate(merged) if is_digit_sized(b, digit_h)
            and not (len(groups[k]) == 1 and is_dash(labels, groups[k][0], b))]
    if join and score is not None:
        attach_fragments(ink, labels, groups, merged, keep, digit_h, score)
    blobs = [merged[k] for k in keep]
    seen: list[tuple[Box, np.ndarray]] | None = [] if candidates is not None else None
    pieces = split_touching(ink, labels, [groups[k] for k in keep], blobs, score, join, seen, strings, hints)
    if candidates is not None and seen:
        candidates.extend((to_input_box(box, scale, image.shape), crop) for box, crop in seen)
    spans = blob_spans(blobs, [b for k, b in enumerate(merged) if k not in keep], digit_h)
    order = group_lines([p[0] for p in pieces], [span_of(p[0], blobs, spans) for p in pieces])
    segments = []
    for li, numbers in enumerate(order):
        for ni, number in enumerate(numbers):
            for i in number:
                box, crop = pieces[i]
                segments.append(Segment(to_input_box(box, scale, image.shape), crop, li, ni))
    return Layout(segments, scale)


def blob_spans(blobs: Sequence[Box], fragments: Sequence[Box], digit_h: float) -> list[tuple[int, int]]:
    """The columns each digit blob's ink covers, widened by the fragments over or under it that
    are no digit of their own (a 5's floating bar): number gaps are measured between these."""
    spans = []
    for x, y, w, h in blobs:
        left, right = x, x + w
        for fx, fy, fw, fh in fragments:
            beside = min(x + w, fx + fw) - max(x, fx) > 0
            if beside and max(y, fy) - min(y + h, fy + fh) <= MERGE_GAP * digit_h:
                left, right = min(left, fx), max(right, fx + fw)
        spans.append((left, right))
    return spans


def span_of(piece: Box, blobs: Sequence[Box], spans: Sequence[tuple[int, int]]) -> tuple[int, int]:
    """The span of the smallest blob holding `piece` (a split blob's pieces lie inside it)."""
    x, y, w, h = piece
    inside = [k for k, b in enumerate(blobs)
              if b[0] <= x and x + w <= b[0] + b[2] and b[1] <= y and y + h <= b[1] + b[3]]
    if not inside:
        return x, x + w
    return spans[min(inside, key=lambda k: blobs[k][2] * blobs[k][3])]


def to_input_box(box: Box, scale: float, shape: tuple[int, ...]) -> Box:
    """A working-resolution box in the input image's pixels, clipped to the image."""
    x, y, w, h = box
    x0, y0 = int(np.floor(x / scale)), int(np.floor(y / scale))
    x1, y1 = int(np.ceil((x + w) / scale)), int(np.ceil((y + h) / scale))
    x0, y0 = max(0, x0), max(0, y0)
    x1, y1 = min(shape[1], x1), min(shape[0], y1)
    return (x0, y0, x1 - x0, y1 - y0)
