import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from recognizer import preprocess as pp


def _draw_seven(canvas_size: int, x0: int, y0: int, size: int, thickness: int) -> np.ndarray:
    """A '7' drawn dark on white paper at (x0, y0) with the given size."""
    img = np.full((canvas_size, canvas_size), 255, np.uint8)
    pts = np.array([[x0, y0], [x0 + size * 0.7, y0], [x0 + size * 0.3, y0 + size]], np.int32)
    cv2.polylines(img, [pts], False, 0, thickness, cv2.LINE_AA)
    return img


def test_mnist_digits_keep_their_layout(mnist):
    for digit in mnist["x_test"][:50]:
        out = pp.to_mnist(digit)
        assert out.shape == (28, 28) and out.dtype == np.float32
        assert 0.0 <= out.min() and out.max() <= 1.0
        # MNIST was made this way, so the result matches the original up to a pixel of placement
        a, b = (cv2.GaussianBlur(v.astype(np.float32), (0, 0), 1.5).ravel() for v in (out, digit))
        assert np.corrcoef(a, b)[0, 1] > 0.85


def test_box_is_20px_and_mass_is_centred(mnist):
    out = pp.to_mnist(mnist["x_test"][1])
    ys, xs = np.nonzero(out > 0.12)
    assert max(np.ptp(ys), np.ptp(xs)) + 1 in (19, 20, 21)
    cy = (out.sum(axis=1) @ np.arange(28)) / out.sum()
    cx = (out.sum(axis=0) @ np.arange(28)) / out.sum()
    assert abs(cx - 13.5) < 0.6 and abs(cy - 13.5) < 0.6


def test_small_corner_and_large_centre_digits_match():
    small = _draw_seven(400, 10, 12, 40, 4)
    large = _draw_seven(400, 100, 60, 260, 26)
    a, b = pp.to_mnist(small), pp.to_mnist(large)
    assert np.abs(a - b).mean() < 0.05
    assert np.corrcoef(a.ravel(), b.ravel())[0, 1] > 0.9


def test_polarity_dark_on_white_equals_bright_on_dark(mnist):
    digit = mnist["x_test"][2]
    assert np.allclose(pp.to_mnist(digit), pp.to_mnist(255 - digit), atol=1e-5)


@pytest.mark.parametrize("name", ["usps", "semeion"])
def test_box_filling_scans_are_not_mistaken_for_inverted(name, request):
    data = request.getfixturevalue(name)
    x = data["x_test"][:500]
    dark = [pp.ink_is_dark(pp.to_gray(im)) for im in x]
    inverted = [pp.ink_is_dark(pp.to_gray(255 - im)) for im in x]
    assert np.mean(dark) < 0.01  # ink is bright in these files
    assert np.mean(inverted) > 0.99


def test_colour_rgba_and_uint16_inputs(mnist):
    digit = mnist["x_test"][3]
    ref = pp.to_mnist(digit)
    rgb = np.repeat(255 - digit[..., None], 3, axis=2)
    rgba = np.dstack([rgb, np.full(digit.shape, 255, np.uint8)])
    u16 = digit.astype(np.uint16) * 257
    f01 = digit.astype(np.float32) / 255
    for variant in (rgb, rgba, u16, f01):
        assert np.allclose(pp.to_mnist(variant), ref, atol=0.02)


def test_to_8x8_scale_matches_load_digits(mnist):
    out = pp.to_8x8(mnist["x_test"][0])
    assert out.shape == (8, 8)
    assert out.min() >= 0 and out.max() == pytest.approx(16.0)


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((0, 5), np.uint8), "non-empty"),
        (np.zeros((28, 28), np.uint8), "blank"),
        (np.full((28, 28), 200, np.uint8), "blank"),
        (np.zeros((2, 3, 4, 5), np.uint8), "2-D"),
        (np.full((28, 28), np.nan, np.float32), "NaN"),
        (np.full((28, 28), -3.0), "0..1"),
        (np.array([["a"]]), "dtype"),
    ],
)
def test_bad_input_raises_clear_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        pp.to_mnist(bad)


def test_batch_rejects_single_image_and_empty_batch():
    with pytest.raises(ValueError, match="batch"):
        pp.batch_to_mnist(np.zeros((28, 28), np.uint8))
    with pytest.raises(ValueError, match="at least one"):
        pp.batch_to_mnist([])


@settings(max_examples=150, deadline=None)
@given(
    arrays(
        dtype=st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int32, bool]),
        shape=st.tuples(st.integers(1, 60), st.integers(1, 60)) | st.tuples(
            st.integers(1, 30), st.integers(1, 30), st.sampled_from([1, 3, 4])
        ),
    )
)
def test_any_shape_and_dtype_gives_valid_output_or_value_error(image):
    try:
        out = pp.to_mnist(image)
    except ValueError:
        return
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1.0 + 1e-6
    small = pp.to_8x8(image)
    assert small.shape == (8, 8) and np.isfinite(small).all()


def test_vectorized_batch_equals_one_by_one(mnist):
    from recognizer.preprocess import batch_to_mnist, to_mnist

    x = np.concatenate([mnist["x_test"][:100], 255 - mnist["x_test"][100:150]])
    one_by_one = np.stack([to_mnist(im) for im in x])
    assert np.abs(batch_to_mnist(x) - one_by_one).max() < 1e-5
    blank = x[:3].copy()
    blank[1] = 7
    with pytest.raises(ValueError, match="blank"):
        batch_to_mnist(blank)


def test_batch_deskew_equals_one_by_one_and_uprights_a_slanted_stroke(mnist):
    from recognizer.preprocess import batch_deskew, batch_to_mnist, deskew

    x = batch_to_mnist(mnist["x_test"][:200])
    assert np.abs(batch_deskew(x) - np.stack([deskew(d) for d in x])).max() < 1e-4
    slanted = np.zeros((1, 28, 28), np.float32)
    cv2.line(slanted[0], (9, 24), (19, 4), 1.0, 2)  # a 1 leaning right
    cols = np.flatnonzero(batch_deskew(slanted)[0].max(axis=0) > 0.5)
    assert np.ptp(cols) <= 4  # now (nearly) vertical


def test_moment_normalization_centres_the_ink_and_a_speck_shrinks_the_digit_less(mnist):
    from recognizer.preprocess import BOX_SIZE, batch_moment_normalize, batch_to_mnist

    x = batch_to_mnist(mnist["x_test"][:50])
    m = batch_moment_normalize(x)
    ys, xs = np.mgrid[0:28, 0:28]
    for d in m:
        assert abs((d * xs).sum() / d.sum() - 13.5) < 0.7 and abs((d * ys).sum() / d.sum() - 13.5) < 0.7
    # a 1 with a speck below it: the bounding box fits both into 20 px and shrinks the 1;
    # the speck moves the moments less
    canvas = np.zeros((2, 200, 200), np.uint8)
    for c in canvas:
        cv2.line(c, (100, 20), (100, 130), 255, 12)
    cv2.circle(canvas[1], (100, 190), 4, 255, -1)
    plain, specked = batch_to_mnist(canvas)
    height = [np.ptp(np.flatnonzero(d.max(axis=1) > 0.25)) for d in (plain, specked)]
    assert height[1] < 0.7 * height[0]  # to_mnist: the speck shrank the 1 by a third (19 -> 12 px)
    moved = batch_moment_normalize(np.stack([plain, specked]))
    height = [np.ptp(np.flatnonzero(d.max(axis=1) > 0.25)) for d in moved]
    assert height[1] > 0.8 * height[0] and height[0] >= BOX_SIZE - 4  # by a sixth (19 -> 16 px)
    assert batch_moment_normalize(np.zeros((2, 28, 28), np.float32)).max() == 0  # nothing to place


def test_thinning_leaves_a_one_pixel_connected_skeleton():
    from recognizer.preprocess import thin

    bars = np.zeros((2, 40, 40), bool)
    bars[0, 10:17, 5:35] = True  # a bar 7 px thick
    cv2.circle(bars[1].view(np.uint8), (20, 20), 12, 1, 5)  # a ring 5 px thick
    bar, ring = thin(bars)
    assert bar.sum(axis=0)[10:30].max() == 1 and bar.any(axis=0)[10:30].all()  # one pixel per column
    assert cv2.connectedComponents(ring.astype(np.uint8))[0] == 2  # still one closed curve
    assert ring[20, 20] == 0 and (ring & bars[1]).sum() == ring.sum()  # within the ring's ink


def test_redrawn_strokes_have_one_width_whatever_the_pen():
    from recognizer.preprocess import STROKE_PX, batch_normalize_strokes, batch_to_mnist

    drawn = []
    for pen in (3, 8, 14):  # a fine pen, a marker, a brush on a 200 px canvas
        canvas = np.zeros((200, 200), np.uint8)
        cv2.line(canvas, (60, 40), (140, 40), 255, pen)
        cv2.line(canvas, (140, 40), (80, 170), 255, pen)  # a 7
        drawn.append(canvas)
    before = batch_to_mnist(np.stack(drawn))
    after = batch_normalize_strokes(before)
    widths = [2 * (d > 0.5).sum() / _outline(d > 0.5) for d in after]
    assert max(widths) - min(widths) < 0.3 and abs(np.mean(widths) - STROKE_PX / 2) < 0.8
    spread = [2 * (d > 0.5).sum() / _outline(d > 0.5) for d in before]
    assert max(spread) - min(spread) > 0.7  # the pens did differ before
    assert batch_normalize_strokes(np.zeros((2, 28, 28), np.float32)).max() == 0  # nothing to draw


def _outline(mask: np.ndarray) -> float:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return float(sum(cv2.arcLength(c, True) for c in contours))
