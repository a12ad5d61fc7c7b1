"""`Recognizer.read` end to end on composed pages, canvases and frames."""

import json

import cv2
import numpy as np
import pytest

from recognizer import Reading, synth


@pytest.fixture(scope="module")
def source(mnist):
    return synth.load_source(("mnist",))


def count_calls(rec, monkeypatch) -> list[int]:
    """Record the batch size of every model call the recognizer makes."""
    calls: list[int] = []
    original = rec.proba_single_prepared

    def counting(batch):
        calls.append(len(batch))
        return original(batch)

    monkeypatch.setattr(rec, "proba_single_prepared", counting)
    return calls


def test_reads_clean_pages(cnn, source):
    pages = [synth.compose_page(np.random.default_rng([0, i]), source, "clean") for i in range(12)]
    exact = sum(cnn.read(p.image).text == p.text for p in pages)
    assert exact >= 11  # the benchmark measures the rate; here a clear majority must be exact


def test_multiline_page_text_and_boxes(cnn, source):
    page = synth.compose_page(np.random.default_rng(5), source, "multiline")
    reading = cnn.read(page.image)
    assert reading.text.count("\n") == page.text.count("\n")
    assert abs(len(reading.digits) - len(page.labels)) <= 1
    centres = [(x + w / 2, y + h / 2) for x, y, w, h in page.boxes]
    for d in reading.digits:  # every digit found sits on a true digit
        x, y, w, h = d.box
        assert any(x <= cx <= x + w and y <= cy <= y + h for cx, cy in centres)


def test_digit_fields_and_json_contract(cnn, source):
    page = synth.compose_page(np.random.default_rng(1), source, "clean")
    reading = cnn.read(page.image)
    assert isinstance(reading, Reading) and reading.digits
    for d in reading.digits:
        assert 0 <= d.label <= 9 and 0.0 <= d.confidence <= 1.0
        assert d.proba.shape == (10,) and d.model_input.shape == (28, 28)
        assert int(d.proba.argmax()) == d.label
    data = json.loads(json.dumps(reading.to_dict()))
    assert set(data) == {"text", "digits"}
    assert all(set(d) == {"label", "confidence", "box"} and len(d["box"]) == 4 for d in data["digits"])


def test_one_batched_call_per_image(cnn, source, monkeypatch):
    calls = count_calls(cnn, monkeypatch)
    for tier in ("clean", "touching", "multiline"):
        page = synth.compose_page(np.random.default_rng(3), source, tier)
        calls.clear()
        reading = cnn.read(page.image)
        assert 1 <= len(calls) <= 2  # the digits, plus one call for split candidates
        assert sum(calls) >= len(reading.digits)


def test_blank_pages_read_as_empty(cnn):
    for image in (np.full((480, 640), 255, np.uint8), np.zeros((480, 640, 3), np.uint8),
                  np.full((5, 5), 128, np.uint8)):
        reading = cnn.read(image)
        assert reading.text == "" and reading.digits == []


def test_canvas_either_polarity(cnn, mnist):
    x, y = mnist["x_test"][:3], mnist["y_test"][:3]
    canvas = np.zeros((280, 560), np.uint8)  # the app's canvas: bright strokes on black
    for i, digit in enumerate(x):
        region = canvas[40:180, 40 + 120 * i : 180 + 120 * i]
        np.maximum(region, cv2.resize(digit, (140, 140)), out=region)
    expected = "".join(str(v) for v in y)
    assert cnn.read(canvas).text == expected
    assert cnn.read(255 - canvas).text == expected  # dark ink on white


def test_large_photo_boxes_in_original_pixels(cnn, source):
    page = synth.compose_page(np.random.default_rng(2), source, "clean")
    big = cv2.resize(page.image, None, fx=3.5, fy=3.5, interpolation=cv2.INTER_LINEAR)  # 4200x3150
    small, large = cnn.read(page.image), cnn.read(big)
    assert large.text == small.text
    for a, b in zip(small.digits, large.digits, strict=True):
        assert np.allclose(np.array(b.box), np.array(a.box) * 3.5, atol=12)


def test_fast_mode_on_a_webcam_frame(cnn, source):
    page = synth.compose_page(np.random.default_rng(4), source, "clean", size=(640, 480))
    assert cnn.read(page.image, fast=True).text == cnn.read(page.image).text


def test_min_confidence_drops_unsure_digits(cnn, source):
    page = synth.compose_page(np.random.default_rng(6), source, "hard")
    everything = cnn.read(page.image)
    level = float(np.median([d.confidence for d in everything.digits]))
    sure = cnn.read(page.image, min_confidence=level)
    assert all(d.confidence >= level for d in sure.digits)
    assert len(sure.digits) < len(everything.digits)


def test_svc_reads_too(svc, source):
    page = synth.compose_page(np.random.default_rng(0), source, "clean")
    reading = svc.read(page.image)
    assert len(reading.digits) == len(page.labels)
    assert all(d.model_input.shape == (8, 8) for d in reading.digits)


def test_bad_arrays_raise_value_error(cnn):
    for bad in (np.zeros((0, 0)), np.zeros((3, 3, 3, 3)), np.full((10, 10), np.nan)):
        with pytest.raises(ValueError):
            cnn.read(bad)


def test_the_string_reader_reads_touching_pages_better_than_cuts_alone(cnn, source):
    """With the shipped string reader (models/strings.onnx) touching digits are read whole as well
    as cut: more touching pages come out exact than with the CNN's cut search alone."""
    assert cnn.strings is not None, "models/strings.onnx is missing: python scripts/train_crnn.py"
    pages = [synth.compose_page(np.random.default_rng([7, i]), source, "touching") for i in range(30)]
    with_strings = sum(cnn.read(p.image).text == p.text for p in pages)
    strings, cnn.strings = cnn.strings, None
    try:
        alone = sum(cnn.read(p.image).text == p.text for p in pages)
    finally:
        cnn.strings = strings
    assert with_strings >= alone and with_strings >= 25


def test_the_string_reader_reads_composed_strings_of_test_digits(cnn, mnist):
    from recognizer.strings import compose_strings

    strips, texts = compose_strings(mnist["x_test"][:2000], mnist["y_test"][:2000], 200, seed=11)
    scores = cnn.strings.score(strips, texts)
    assert scores["count"] > 0.97 and scores["exact"] > 0.9  # strings of 1-6 touching digits
