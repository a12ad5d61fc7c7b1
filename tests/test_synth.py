import numpy as np
import pytest

from recognizer import synth


@pytest.fixture(scope="module")
def source(mnist):
    return synth.load_source(("mnist",))


def test_source_is_the_test_split_only(source, mnist):
    assert len(source) == len(mnist["y_test"])
    assert np.array_equal(source.labels, mnist["y_test"])


@pytest.mark.parametrize("tier", list(synth.TIERS))
def test_pages_have_consistent_ground_truth(source, tier):
    for seed in range(3):
        page = synth.compose_page(np.random.default_rng(seed), source, tier)
        height, width = page.image.shape[:2]
        assert (width, height) == synth.PAGE_SIZE and page.image.dtype == np.uint8
        digits = page.text.replace(" ", "").replace("\n", "")
        assert digits == "".join(str(d) for d in page.labels)
        assert len(page.boxes) == len(page.labels) == len(page.lines) == len(page.numbers)
        assert len(page.sources) == len(page.labels)
        assert page.text.count("\n") == max(page.lines) - min(page.lines)
        for x, y, w, h in page.boxes:
            assert w > 0 and h > 0 and x >= -5 and y >= -5 and x + w <= width + 5 and y + h <= height + 5


def test_perspective_keeps_every_digit_inside_the_photo(source):
    """This page's full-strength warp pushed a digit out of the frame (so did 10 of the 300
    multiline benchmark pages): the warp is weakened for it, and pages without one keep theirs."""
    page = synth.compose_page(np.random.default_rng([2, 4]), source, "multiline")
    height, width = page.image.shape[:2]
    for x, y, w, h in page.boxes:
        assert x >= synth.FRAME_MARGIN and y >= synth.FRAME_MARGIN
        assert x + w <= width - synth.FRAME_MARGIN and y + h <= height - synth.FRAME_MARGIN


def test_sources_are_the_digits_drawn_in_reading_order(source):
    page = synth.compose_page(np.random.default_rng(3), source, "multiline")
    index = {id(image): label for image, label in zip(source.images, source.labels, strict=True)}
    assert [index[id(image)] for image in page.sources] == page.labels


def test_same_seed_same_page(source):
    a = synth.compose_page(np.random.default_rng(7), source, "multiline")
    b = synth.compose_page(np.random.default_rng(7), source, "multiline")
    assert a.text == b.text and a.boxes == b.boxes and np.array_equal(a.image, b.image)


def test_digits_are_dark_on_brighter_paper(source):
    page = synth.compose_page(np.random.default_rng(0), source, "clean")
    x, y, w, h = page.boxes[0]
    assert page.image[y : y + h, x : x + w].min() < np.median(page.image) - 80


def test_touching_tier_makes_digits_overlap(source):
    overlaps = 0
    for seed in range(5):
        page = synth.compose_page(np.random.default_rng(seed), source, "touching")
        for a, b in zip(page.boxes, page.boxes[1:], strict=False):
            overlaps += b[0] <= a[0] + a[2]
    assert overlaps >= 5


def test_render_numbers_places_digits_where_asked(source):
    images = [source.images[i] for i in range(3)]
    placement = synth.Placement(images, [int(v) for v in source.labels[:3]], x=50, y=40, height=60,
                                gaps=[15, 15])
    ink, boxes = synth.render_numbers((400, 200), [placement])
    assert ink.shape == (200, 400) and len(boxes) == 1 and len(boxes[0]) == 3
    xs = [b[0] for b in boxes[0]]
    assert xs == sorted(xs) and 45 <= xs[0] <= 55
    for x, y, w, h in boxes[0]:
        assert 50 <= h <= 62 and ink[y : y + h, x : x + w].max() > 0.9
    assert ink[:, :40].max() == 0  # nothing left of the number
