"""Steady readings from flickering frames: follow each digit across frames and vote on its label.

A single camera frame is read with noise, blur and a hand that moves, so the raw per-frame text
flickers (a 7 read as 1 in one frame, a digit missed in the next). The tracker keeps one track per
physical digit, matched frame to frame by position after removing the common motion of the page
(slow panning), and sums each track's class probabilities over its last frames. The shown reading
is made of the tracks seen often enough, grouped into numbers and lines by the same rule as
`Recognizer.read`, and changes only when a new text has held for a few frames.

    tracker = Tracker()
    for frame in frames:
        stable = tracker.update(rec.read(frame).digits, bounds=(0, 0, width, height))

Pure logic on boxes and probabilities: no images, no model, no I/O.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .result import Digit, Reading, reading_text
from .segment import group_lines

Box = tuple[int, int, int, int]  # (x, y, w, h)

VOTE_WINDOW = 15  # frames of evidence per digit: half a second at 30 fps outvotes a few bad frames
MIN_VOTES = 3  # a digit seen in fewer full frames may be a speck or a mis-split piece: not shown yet
PRESENCE = 0.5  # ... and it must be seen in at least half of the frames since its first vote
HOLD_FRAMES = 5  # a digit the segmentation misses keeps its place this long (one bad frame is common)
TEXT_CONFIRM = 3  # a new text replaces the shown one after this many identical frames: no one-frame flicker
MATCH_GATE = 0.6  # largest matching cost: centre distance in digit heights plus log size change
SEARCH_GATE = 1.5  # looser gate for estimating the page's motion (a hand moves more than a digit wobbles)
SIZE_GATE = 0.3  # largest log size change of a match: a digit's box wobbles, a merged or split blob jumps
EDGE_MARGIN = 2  # px: a box this close to the edge of the read region may be cut off, so it does not vote


@dataclass
class Track:
    """One physical digit followed across frames."""

    id: int
    box: tuple[float, float, float, float]
    first_vote: int = -1  # frame index of the first full (not cut-off) sighting, -1 before
    last_seen: int = 0
    votes: deque = field(default_factory=lambda: deque(maxlen=VOTE_WINDOW))  # (frame index, proba)
    model_input: np.ndarray | None = None

    def recent_votes(self, frame: int, window: int) -> int:
        return sum(1 for f, _ in self.votes if f > frame - window)

    def voted(self) -> tuple[int, float, np.ndarray]:
        """Label with the highest summed probability, its mean probability, the mean distribution."""
        mean = np.mean([p for _, p in self.votes], axis=0)
        label = int(mean.argmax())
        return label, float(mean[label]), mean


def centre(box: Sequence[float]) -> np.ndarray:
    return np.array([box[0] + box[2] / 2, box[1] + box[3] / 2], float)


def match_costs(track_boxes: Sequence[Sequence[float]],
                det_boxes: Sequence[Sequence[float]]) -> tuple[np.ndarray, np.ndarray]:
    """(T, D) centre distances in digit heights, and (T, D) log size changes (width at half weight).

    Size matters as much as place: a blob that merges two digits in one frame must not take over
    either digit's track, nor drag the motion estimate half a digit sideways.
    """
    t = np.asarray(track_boxes, float).reshape(-1, 4)
    d = np.asarray(det_boxes, float).reshape(-1, 4)
    tc, dc = t[:, :2] + t[:, 2:] / 2, d[:, :2] + d[:, 2:] / 2
    height = np.maximum(np.maximum(t[:, None, 3], d[None, :, 3]), 1.0)
    dist = np.linalg.norm(tc[:, None] - dc[None], axis=2) / height
    tw, th = np.maximum(t[:, 2:3], 1.0), np.maximum(t[:, 3:4], 1.0)
    dw, dh = np.maximum(d[None, :, 2], 1.0), np.maximum(d[None, :, 3], 1.0)
    size = 0.5 * np.abs(np.log(dw / tw)) + np.abs(np.log(dh / th))
    return dist, size


def greedy_match(track_boxes: Sequence[Sequence[float]], det_boxes: Sequence[Sequence[float]],
                 gate: float) -> list[tuple[int, int]]:
    """(track index, detection index) pairs, cheapest first, each used once, cost below `gate`."""
    if len(track_boxes) == 0 or len(det_boxes) == 0:
        return []
    dist, size = match_costs(track_boxes, det_boxes)
    cost = dist + size
    ok = (size <= SIZE_GATE) & (cost < gate)
    ts, ds = np.nonzero(ok)
    order = np.argsort(cost[ts, ds], kind="stable")
    used_t: set[int] = set()
    used_d: set[int] = set()
    out = []
    for t, d in zip(ts[order].tolist(), ds[order].tolist(), strict=True):
        if t not in used_t and d not in used_d:
            used_t.add(t)
            used_d.add(d)
            out.append((t, d))
    return out


def shifted(box: Sequence[float], shift: np.ndarray) -> tuple[float, float, float, float]:
    return (box[0] + shift[0], box[1] + shift[1], box[2], box[3])


def estimate_shift(track_boxes: Sequence[Sequence[float]], det_boxes: Sequence[Sequence[float]],
                   prior: np.ndarray) -> np.ndarray:
    """The page's motion since the last frame: the median displacement of loosely matched digits.

    The median ignores the few digits matched wrongly; with nothing matched the last motion goes on.
    """
    moved = [shifted(b, prior) for b in track_boxes]
    pairs = greedy_match(moved, det_boxes, SEARCH_GATE)
    if not pairs:
        return prior
    offsets = [centre(det_boxes[d]) - centre(moved[t]) for t, d in pairs]
    return prior + np.median(np.array(offsets), axis=0)


def is_cut_off(box: Box, bounds: Box) -> bool:
    """A box touching the edge of the region that was read may hold only part of a digit."""
    x, y, w, h = box
    bx, by, bw, bh = bounds
    return (x <= bx + EDGE_MARGIN or y <= by + EDGE_MARGIN
            or x + w >= bx + bw - EDGE_MARGIN or y + h >= by + bh - EDGE_MARGIN)


class Tracker:
    """Follows digits across frames and gives the stable reading (see the module docstring).

    `min_votes=1, text_confirm=1` turns it into a pass-through for a single still image.
    """

    def __init__(self, min_votes: int = MIN_VOTES, text_confirm: int = TEXT_CONFIRM,
                 hold_frames: int = HOLD_FRAMES) -> None:
        self.min_votes = min_votes
        self.text_confirm = text_confirm
        self.hold_frames = hold_frames
        self.reset()

    def reset(self) -> None:
        """Forget everything (a new source, a new model, a new region of interest)."""
        self.frame = -1
        self.tracks: list[Track] = []
        self.motion = np.zeros(2)
        self._next_id = 0
        self._shown: list[tuple[int, Digit]] = []  # (track id, digit) of the stable reading
        self._shown_text = ""
        self._pending_text = ""
        self._pending_count = 0
        self._grouped_ids: tuple[int, ...] = ()
        self._grouping: list[list[list[int]]] = []

    @property
    def settled(self) -> bool:
        """Enough frames since the last reset for a page held still to show its reading: `min_votes`
        to confirm its digits, and `text_confirm - 1` more to adopt their text. A paused window re-reads
        its frozen frame this often after a reset, so a new model or region shows its own reading."""
        return self.frame + 1 >= self.min_votes + self.text_confirm - 1

    def update(self, digits: Sequence[Digit], bounds: Box | None = None) -> Reading:
        """Take one frame's raw digits (boxes in frame pixels) and return the stable reading.

        `bounds`: the region that was read, (x, y, w, h); digits touching its edge follow their
        track but do not vote, since part of them may be outside. None: no edge rule.
        """
        self.frame += 1
        boxes = [tuple(float(v) for v in d.box) for d in digits]
        old = [t.box for t in self.tracks]
        shift = estimate_shift(old, boxes, self.motion) if old and boxes else self.motion * 0.5
        self.motion = shift
        predicted = [shifted(b, shift) for b in old]
        pairs = dict((d, t) for t, d in greedy_match(predicted, boxes, MATCH_GATE))
        for track, box in zip(self.tracks, predicted, strict=True):
            track.box = box  # unmatched tracks drift with the page
        for d, digit in enumerate(digits):
            if d in pairs:
                track = self.tracks[pairs[d]]
            else:
                track = Track(self._next_id, boxes[d])
                self._next_id += 1
                self.tracks.append(track)
            track.box = boxes[d]
            track.last_seen = self.frame
            if bounds is None or not is_cut_off(digit.box, bounds):
                if track.first_vote < 0:
                    track.first_vote = self.frame
                track.votes.append((self.frame, np.asarray(digit.proba, np.float32)))
                track.model_input = digit.model_input
        shown_ids = {tid for tid, _ in self._shown}
        self.tracks = [t for t in self.tracks
                       if self.frame - t.last_seen <= self.hold_frames or t.id in shown_ids]
        return self._decide()

    def confirmed(self, track: Track) -> bool:
        """Seen in enough full frames, often enough, and not lost for long."""
        if track.first_vote < 0 or self.frame - track.last_seen > self.hold_frames:
            return False
        span = min(VOTE_WINDOW, self.frame - track.first_vote + 1)
        recent = track.recent_votes(self.frame, VOTE_WINDOW)
        return recent >= self.min_votes and recent >= PRESENCE * span

    def candidate(self) -> list[tuple[int, Digit]]:
        """This frame's best reading from the confirmed tracks, in reading order.

        Digits on a page keep their places relative to each other as it moves, so the grouping into
        lines and numbers is redone only when the set of confirmed digits changes.
        """
        tracks = [t for t in self.tracks if self.confirmed(t)]
        boxes = [tuple(int(round(v)) for v in t.box) for t in tracks]
        ids = tuple(t.id for t in tracks)
        if ids != self._grouped_ids:
            self._grouped_ids, self._grouping = ids, group_lines(boxes)
        out: list[tuple[int, Digit]] = []
        for li, numbers in enumerate(self._grouping):
            for ni, number in enumerate(numbers):
                for i in number:
                    label, confidence, proba = tracks[i].voted()
                    digit = Digit(label, confidence, boxes[i], proba, tracks[i].model_input, li, ni)
                    out.append((tracks[i].id, digit))
        return out

    def _decide(self) -> Reading:
        """Adopt the candidate when its text equals the shown one or has held TEXT_CONFIRM frames."""
        candidate = self.candidate()
        text = reading_text([d for _, d in candidate])
        if text == self._shown_text:
            self._pending_count = 0
            self._shown = candidate
        else:
            self._pending_count = self._pending_count + 1 if text == self._pending_text else 1
            self._pending_text = text
            if self._pending_count >= self.text_confirm:
                self._shown, self._shown_text, self._pending_count = candidate, text, 0
        return self.stable

    @property
    def stable(self) -> Reading:
        """The shown reading, its boxes where their tracks are now."""
        where = {t.id: t.box for t in self.tracks}
        digits = []
        for tid, d in self._shown:
            box = tuple(int(round(v)) for v in where.get(tid, d.box))
            digits.append(Digit(d.label, d.confidence, box, d.proba, d.model_input, d.line, d.number))
        return Reading(self._shown_text, digits)
