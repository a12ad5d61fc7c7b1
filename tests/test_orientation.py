"""Sideways photos: noticed from the layout, read turned, boxes back in the photo's pixels."""

import numpy as np
import pytest

from recognizer import Reading, orientation, synth
from recognizer.result import Digit


@pytest.fixture(scope="module")
def source(mnist):
    return synth.load_source(("mnist",))


def reading_of(boxes, confidence=0.99) -> Reading:
    digits = [Digit(1, confidence, box, np.full(10, 0.1), np.zeros((28, 28))) for box in boxes]
    return Reading("1" * len(digits), digits)


@pytest.mark.parametrize("k", [0, 1, 2, 3])
def test_turn_box_finds_the_same_pixels(k):
    image = np.zeros((90, 160), np.uint8)
    image[20:50, 100:112] = 255  # a box (100, 20, 12, 30)
    turned = np.rot90(image, k)
    ys, xs = np.nonzero(turned)
    box = (int(xs.min()), int(ys.min()), int(np.ptp(xs)) + 1, int(np.ptp(ys)) + 1)
    assert orientation.turn_box(box, k, image.shape) == (100, 20, 12, 30)


def test_digits_side_by_side_look_upright_and_stacked_ones_sideways():
    beside = [(10 + 40 * i, 10, 30, 40) for i in range(5)]  # one number on a line
    stacked = [(10, 10 + 40 * i, 40, 30) for i in range(5)]  # the same number turned
    assert orientation.stacked_share(beside) == 0.0
    assert orientation.stacked_share(stacked) == 1.0
    assert not orientation.looks_sideways(reading_of(beside))
    assert orientation.looks_sideways(reading_of(stacked))
    assert orientation.looks_sideways(reading_of(beside, confidence=0.4))  # read, but doubtfully
    assert orientation.looks_sideways(Reading("", []))
    assert orientation.upright_score(reading_of(beside)) > orientation.upright_score(reading_of(stacked))


def test_upright_pages_are_read_once(cnn, source, monkeypatch):
    calls = []
    original = orientation.looks_sideways
    monkeypatch.setattr(orientation, "looks_sideways", lambda r: calls.append(r) or original(r))
    for i in range(4):
        page = synth.compose_page(np.random.default_rng([3, i]), source, "multiline")
        reading = cnn.read(page.image, upright=True)
        assert reading.turned == 0 and reading.text == cnn.read(page.image).text
    assert len(calls) == 4


@pytest.mark.parametrize("k", [1, 3])
def test_a_sideways_page_is_read_upright(cnn, source, k):
    page = synth.compose_page(np.random.default_rng(7), source, "multiline")
    upright = cnn.read(page.image)
    assert upright.text == page.text
    photo = np.ascontiguousarray(np.rot90(page.image, k))
    assert cnn.read(photo).text != page.text  # as it lies: scattered digits
    reading = cnn.read(photo, upright=True)
    assert reading.text == page.text
    assert reading.turned == 90 * k and reading.to_dict()["turned"] == reading.turned
    for d, u in zip(reading.digits, upright.digits, strict=True):  # boxes in the photo's pixels
        assert d.label == u.label and d.box == orientation.turn_box(u.box, 4 - k, photo.shape)
        x, y, w, h = d.box
        assert 0 <= x and x + w <= photo.shape[1] and 0 <= y and y + h <= photo.shape[0]


def test_min_confidence_applies_after_the_turn(cnn, source):
    page = synth.compose_page(np.random.default_rng(7), source, "multiline")
    photo = np.ascontiguousarray(np.rot90(page.image, 1))
    every = cnn.read(photo, upright=True)
    sure = cnn.read(photo, upright=True, min_confidence=0.9)
    assert sure.turned == every.turned == 90
    assert [d.box for d in sure.digits] == [d.box for d in every.digits if d.confidence >= 0.9]
