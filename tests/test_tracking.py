"""Tracking and voting on synthetic per-frame digit lists (no images, no model)."""

import numpy as np
import pytest

from recognizer import tracking
from recognizer.result import Digit, reading_text
from recognizer.tracking import Tracker

FRAME = (0, 0, 640, 480)


def digit(label: int, box, confidence: float = 0.9, line: int = 0, number: int = 0) -> Digit:
    proba = np.full(10, (1 - confidence) / 9, np.float32)
    proba[label] = confidence
    return Digit(label, confidence, tuple(int(v) for v in box), proba, np.zeros((28, 28), np.float32),
                 line, number)


def row(labels: str, x: float, y: float, h: float = 40, pitch: float = 35) -> list[Digit]:
    """One number: digits side by side, 0.7 h wide, `pitch` px apart."""
    return [digit(int(c), (x + i * pitch, y, 0.7 * h, h)) for i, c in enumerate(labels)]


def run(tracker: Tracker, frames) -> list[str]:
    return [tracker.update(f, FRAME).text for f in frames]


def test_steady_page_reads_after_a_short_warm_up():
    texts = run(Tracker(), [row("123", 100, 100)] * 10)
    warm_up = tracking.MIN_VOTES + tracking.TEXT_CONFIRM - 1
    assert texts[: warm_up - 1] == [""] * (warm_up - 1)
    assert texts[warm_up - 1 :] == ["123"] * (10 - warm_up + 1)


def test_occasional_misreads_are_outvoted():
    rng = np.random.default_rng(0)
    frames = []
    for i in range(60):
        digits = row("123", 100, 100)
        if i % 4 == 1:  # every fourth frame one digit is read as a confident 7
            k = int(rng.integers(3))
            digits[k] = digit(7, digits[k].box, 0.95)
        frames.append(digits)
    texts = run(Tracker(), frames)
    assert set(texts[10:]) == {"123"}


def test_missed_frames_and_specks_do_not_flicker():
    frames = []
    for i in range(60):
        digits = row("4567", 80, 200)
        if i % 7 == 3:
            digits = digits[:2] + digits[3:]  # the segmentation loses a digit for one frame
        if i % 5 == 2:
            digits.append(digit(1, (400, 300, 4, 12), 0.6))  # a speck read as a 1 now and then
        if i % 11 == 5:
            digits = []  # a completely failed frame
        frames.append(digits)
    texts = run(Tracker(), frames)
    assert set(texts[10:]) == {"4567"}


@pytest.mark.parametrize("speed", [1.0, 4.0, 12.0])
def test_slow_panning_keeps_one_track_per_digit(speed):
    rng = np.random.default_rng(1)
    tracker = Tracker()
    texts = []
    for i in range(80):
        dx, dy = speed * i + rng.normal(0, 1), 0.3 * speed * i + rng.normal(0, 1)
        frame = row("908", 60 + dx, 60 + dy) + row("12", 60 + dx, 140 + dy)
        for d in frame:
            d.line = 0 if d.box[1] < 120 + dy else 1
        texts.append(tracker.update(frame, (0, 0, 2000, 2000)).text)
    assert set(texts[6:]) == {"908\n12"}
    assert tracker._next_id == 5  # no digit ever lost and re-created


def test_merged_blob_does_not_take_over_a_digit():
    frames = []
    for i in range(30):
        digits = row("38", 100, 100)
        if i % 3 == 0:  # the two digits read as one wide blob: a confident "0" covering both
            x, y, _, h = digits[0].box
            digits = [digit(0, (x, y, 35 + 28, h), 0.8)]
        frames.append(digits)
    texts = run(Tracker(), frames)
    assert set(texts[10:]) == {"38"}


def test_digits_cut_by_the_frame_edge_do_not_vote():
    tracker = Tracker()
    for _ in range(10):
        cut = digit(5, (0, 100, 20, 40))  # touching the left edge: maybe half a digit
        text = tracker.update([cut, *row("42", 200, 100)], FRAME).text
    assert text == "42"
    assert tracker.update(row("42", 200, 100), None).text == "42"


def test_text_format_matches_read():
    frame = row("12", 50, 50) + row("34", 300, 50) + row("56", 50, 200)
    for d in frame[2:4]:
        d.number = 1
    for d in frame[4:]:
        d.line = 1
    texts = run(Tracker(), [frame] * 8)
    assert texts[-1] == reading_text(frame) == "12 34\n56"


def test_page_taken_away_clears_the_reading():
    tracker = Tracker()
    run(tracker, [row("77", 100, 100)] * 8)
    texts = run(tracker, [[]] * 12)
    assert texts[-1] == "" and tracker.stable.digits == []
    assert tracker.tracks == []


def test_new_number_appears_within_a_bounded_delay():
    tracker = Tracker()
    run(tracker, [row("31", 100, 100)] * 8)
    texts = run(tracker, [row("31", 100, 100) + row("9", 100, 250)] * 8)
    delay = texts.index("31\n9")
    assert delay <= tracking.MIN_VOTES + tracking.TEXT_CONFIRM
    assert set(texts[:delay]) == {"31"}


def test_stable_boxes_follow_the_page():
    tracker = Tracker()
    for i in range(20):
        stable = tracker.update(row("65", 100 + 3 * i, 100), FRAME)
    assert stable.text == "65"
    assert [d.box[0] for d in stable.digits] == [100 + 57, 135 + 57]
    assert [d.label for d in stable.digits] == [6, 5]
    assert all(0.85 < d.confidence <= 1 for d in stable.digits)


def test_pass_through_for_a_still_image():
    tracker = Tracker(min_votes=1, text_confirm=1)
    frame = row("2024", 10, 10)
    assert tracker.update(frame, FRAME).text == "2024"


def test_reset_forgets():
    tracker = Tracker()
    run(tracker, [row("5", 100, 100)] * 8)
    tracker.reset()
    assert tracker.stable.text == "" and tracker.tracks == []


@pytest.mark.parametrize("min_votes, text_confirm",
                         [(tracking.MIN_VOTES, tracking.TEXT_CONFIRM), (1, 1), (2, 4)])
def test_settled_when_a_still_page_shows_its_reading(min_votes, text_confirm):
    """A paused window re-reads its frozen frame until `settled`: then, and not before, the text is shown."""
    tracker = Tracker(min_votes=min_votes, text_confirm=text_confirm)
    for _ in range(2):  # and again after a reset (a new model or region)
        assert not tracker.settled
        texts = []
        while not tracker.settled:
            texts.append(tracker.update(row("305", 100, 100), FRAME).text)
        assert texts[-1] == "305" and set(texts[:-1]) <= {""}
        tracker.reset()
