"""Strokes as data: smoothing, rendering, fitting, UNIPEN composition, replay files, undo."""

from __future__ import annotations

import json

import numpy as np
import pytest

from recognizer import preprocess
from recognizer import strokes as st
from recognizer.data import dataset_path


def test_smooth_stroke_passes_through_points_without_gaps():
    pts = np.float32([[0, 0], [100, 0], [100, 100], [0, 100]])
    curve = st.smooth_stroke(pts)
    steps = np.linalg.norm(np.diff(curve, axis=0), axis=1)
    assert steps.max() <= st.SMOOTH_STEP * 1.6  # the curve bulges a little between samples
    for p in pts:  # every recorded point is on the curve
        assert np.min(np.linalg.norm(curve - p, axis=1)) < 1e-3


def test_fast_stroke_renders_without_gaps():
    """Two mouse events far apart must still give one continuous line."""
    raster = st.render_strokes([[[20, 140], [540, 140]]])
    row = raster[140, 20:541]
    assert row.min() == 255
    assert raster.shape == (280, 560) and raster.dtype == np.uint8


def test_render_is_antialiased_and_round_dot_for_a_click():
    raster = st.render_strokes([[[100, 100]]])
    assert raster[100, 100] == 255
    values = set(np.unique(raster))
    assert len(values - {0, 255}) > 0  # soft edges, not a binary stamp
    ys, xs = np.nonzero(raster > 127)
    assert abs((ys.max() - ys.min()) - (xs.max() - xs.min())) <= 1  # round


def test_eraser_stroke_removes_ink():
    line = [[50, 100], [300, 100]]
    raster = st.render_strokes([line, [[175, 60], [175, 140]]], erase=[False, True])
    assert raster[100, 60] == 255 and raster[100, 290] == 255
    assert raster[100, 175] == 0


def test_scale_renders_same_drawing_at_screen_resolution():
    strokes = [[[100, 50], [120, 230]]]
    small = st.render_strokes(strokes)
    big = st.render_strokes(strokes, size=(1120, 560), scale=2.0)
    assert big.shape == (560, 1120)
    n_small, n_big = int(small.astype(bool).sum()), int(big.astype(bool).sum())
    assert abs(n_big - 4 * n_small) < 0.1 * 4 * n_small


def test_fit_strokes_keeps_aspect_ratio_and_centres():
    wide = [[[0, 0], [560, 280]]]
    fitted = st.fit_strokes(wide, (560, 280), (280, 280))[0]
    assert np.allclose(fitted, [[0, 70], [280, 210]])  # a wide replay stays wide
    tall = st.fit_strokes([[[0, 0], [100, 100]]], (100, 100), (560, 280))[0]
    assert np.allclose(tall, [[140, 0], [420, 280]])


def test_replay_roundtrip_and_errors(tmp_path):
    replay = st.Replay((560, 280), [np.float32([[1, 2], [3.5, 4]]), np.float32([[5, 6]])])
    path = tmp_path / "r.json"
    st.write_replay(path, replay)
    back = st.read_replay(path)
    assert back.canvas == (560, 280)
    assert [s.tolist() for s in back.strokes] == [[[1, 2], [3.5, 4]], [[5, 6]]]
    bad = tmp_path / "bad.json"
    for text, words in [
        ("{not json", "not valid JSON"),
        (json.dumps({"strokes": []}), '"canvas"'),
        (json.dumps({"canvas": [0, 10], "strokes": []}), "positive"),
        ('{"canvas": [Infinity, 280], "strokes": []}', "finite positive"),
        ('{"canvas": [560, NaN], "strokes": []}', "finite positive"),
        (json.dumps({"canvas": [0.3, 280], "strokes": []}), "1 px or more"),  # rounds to 0 px
        (json.dumps({"canvas": [10, 10], "strokes": [[[1, 2, 3]]]}), "stroke 0"),
        (json.dumps({"canvas": [10, 10], "strokes": [[]]}), "stroke 0"),
    ]:
        bad.write_text(text)
        with pytest.raises(ValueError, match=words):
            st.read_replay(bad)
    with pytest.raises(ValueError, match="cannot read"):
        st.read_replay(tmp_path / "missing.json")


def test_drawing_undo_clear_and_versions():
    d = st.Drawing()
    assert d.is_empty()
    d.begin(10, 10)
    d.extend(20, 20)
    assert d.drawing and not d.is_empty()
    d.end()
    d.begin(30, 30)
    d.end()
    assert len(d.strokes) == 2
    v = d.version
    d.clear()
    assert d.is_empty() and d.version > v
    assert d.undo() and len(d.strokes) == 2  # undo brings back what C cleared
    assert d.undo() and len(d.strokes) == 1
    assert d.undo() and d.is_empty()
    assert not d.undo()


def test_eraser_only_drawing_counts_as_empty():
    d = st.Drawing()
    d.begin(10, 10, erase=True)
    d.end()
    assert d.is_empty()


def _thickness(image28: np.ndarray) -> float:
    """Mean stroke width: twice the ink area over its outline length."""
    import cv2

    b = (image28 > 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(b, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return 2 * b.sum() / max(sum(cv2.arcLength(c, True) for c in contours), 1)


def test_pen_width_gives_mnist_like_strokes():
    """A digit drawn at the usual size keeps MNIST's ~2.5 px stroke width after preprocessing."""
    h = st.CANVAS_SIZE[1] * st.DIGIT_HEIGHT
    seven = [[[200, 140 - h / 2], [300, 140 - h / 2], [240, 140 + h / 2]]]
    image = preprocess.to_mnist(st.render_strokes(seven))
    assert 2.0 < _thickness(image) < 3.2


unipen_path = dataset_path("unipen_1a_strokes")
needs_unipen = pytest.mark.skipif(unipen_path is None, reason="unipen_1a_strokes.npz not available")


@needs_unipen
def test_load_unipen_matches_provenance_counts():
    u = st.load_unipen()
    assert len(u) == 15945
    assert u.checked.sum() == 7274  # segments whose quality field is OK
    strokes = u.strokes(0)
    assert all(s.ndim == 2 and s.shape[1] == 2 for s in strokes)
    assert np.allclose(np.vstack(strokes).min(axis=0), 0)  # bbox starts at (0, 0)


@needs_unipen
def test_compose_number_places_digits_left_to_right():
    u = st.load_unipen()
    rng = np.random.default_rng(0)
    numbers = st.sample_numbers(u, 5, rng, lengths=(4,))
    for text, picks in numbers:
        assert len(text) == 4 and len({int(u.writer[j]) for j in picks}) == 4
        strokes, canvas = st.compose_number([u.strokes(j) for j in picks], rng)
        assert canvas[1] == st.CANVAS_SIZE[1] and canvas[0] >= st.CANVAS_SIZE[0]
        # each digit's strokes come in order; their boxes do not overlap horizontally
        boxes, k = [], 0
        for j in picks:
            n = len(u.strokes(j))
            boxes.append(st.strokes_bbox(strokes[k : k + n]))
            k += n
        assert all(a[2] < b[0] for a, b in zip(boxes, boxes[1:], strict=False))
        x0, y0, x1, y1 = st.strokes_bbox(strokes)
        assert x0 > 0 and y0 > 0 and x1 < canvas[0] and y1 < canvas[1]


@needs_unipen
def test_digit_replay_is_square_and_sized_like_a_drawn_digit():
    u = st.load_unipen()
    strokes, canvas = st.digit_replay(u.strokes(7))
    assert canvas == (280, 280)
    x0, y0, x1, y1 = st.strokes_bbox(strokes)
    assert abs((y1 - y0) - st.DIGIT_HEIGHT * 280) < 1 or (x1 - x0) == pytest.approx(st.MAX_ASPECT * 168, 0.01)


def test_render_for_reading_is_the_canvas_at_read_scale():
    strokes = [[[100, 50], [120, 230]]]
    image = st.render_for_reading(strokes)
    w, h = st.CANVAS_SIZE
    assert image.shape == (round(h * st.READ_SCALE), round(w * st.READ_SCALE))
    ys, xs = np.nonzero(image > 127)
    assert abs(xs.mean() / st.READ_SCALE - 110) < 3 and abs(ys.mean() / st.READ_SCALE - 140) < 3


@needs_unipen
def test_a_big_digit_filling_the_photo_keeps_its_bar():
    """A 2's base or a 7's bar, photographed large in a thin pen, is long and nearly straight, but
    it wobbles as a hand does: no rule (segment.rule_lines) is found in it."""
    import cv2

    from recognizer import segment

    u = st.load_unipen()
    picks = [j for j in range(len(u)) if u.labels[j] in (2, 7)][:30]
    for j in picks:
        strokes = u.strokes(j)
        k = 250 / max(float(np.ptp(np.vstack(strokes)[:, 1])), 1.0)
        ink = st.render_strokes([s * k + (60, 25) for s in strokes], (400, 300), pen_width=5) > 127
        n, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8))
        big = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        x, y, w, h = stats[big, :4]
        assert segment.rule_lines(labels[y : y + h, x : x + w] == big, 0.3 * 400) == [], j
