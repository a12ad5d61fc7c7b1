"""The drawing app end to end, headless: real pygame events in, readings and pixels out."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

os.environ["SDL_VIDEODRIVER"] = "dummy"
os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
pygame = pytest.importorskip("pygame")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import app as appmod  # noqa: E402
from recognizer import strokes as st  # noqa: E402

needs_cnn = pytest.mark.skipif(not (ROOT / "models" / "cnn.onnx").exists(), reason="no models/cnn.onnx")

# simple digits in logical canvas px (560x280): a person's 1, 7 and 0
ONE = [[(280, 60), (282, 120), (284, 180), (285, 225)]]
SEVEN = [[(230, 60), (290, 60), (335, 62)], [(335, 62), (310, 120), (285, 175), (265, 225)]]
ZERO = [[(440, 60), (400, 80), (385, 140), (400, 205), (440, 225), (480, 205), (495, 140), (480, 80),
         (440, 60)]]


def shift(strokes, dx):
    return [[(x + dx, y) for x, y in s] for s in strokes]


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    saved = str(tmp_path_factory.mktemp("saved"))
    args = appmod.parse_args(["--headless", "--fps", "0", "--save-dir", saved])
    a = appmod.App(args)
    yield a
    pygame.quit()


@pytest.fixture
def ready(app):
    if not app.wait_ready(20):
        pytest.skip(f"model not available: {app.model_errors}")
    app.model_name = "cnn"
    press(app, pygame.K_c)
    app.show_help = app.show_maps = app.eraser = False
    return app


def press(app, key, mod=0):
    pygame.event.post(pygame.event.Event(pygame.KEYDOWN, key=key, mod=mod, unicode="", scancode=0))
    app.step()


def drag(app, strokes, button=1):
    """Post real mouse events for each stroke (down, motions, up), as a user's mouse would."""
    for s in strokes:
        pts = [app.to_screen(x, y) for x, y in s]
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=pts[0], button=button))
        for p in pts[1:]:
            pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=p, rel=(0, 0), buttons=(1, 0, 0)))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=pts[-1], button=button))
        app.step()
    return app.wait_reading(20)


@needs_cnn
def test_draw_one_digit_is_read(ready):
    reading = drag(ready, ONE)
    assert reading is not None and reading.text == "1"
    d = reading.digits[0]
    assert d.proba.shape == (10,) and d.model_input.shape == (28, 28)
    x, y, w, h = d.box  # box in logical canvas px, around the stroke
    assert x <= 282 <= x + w and y <= 100 <= y + h


@needs_cnn
def test_two_digits_side_by_side(ready):
    reading = drag(ready, shift(ONE, 50) + ZERO)
    assert reading.text == "10"
    assert len(reading.digits) == 2


@needs_cnn
def test_clear_and_undo(ready):
    drag(ready, shift(ONE, 50))
    drag(ready, ZERO)
    assert ready.current_reading().text == "10"
    press(ready, pygame.K_z, pygame.KMOD_CTRL)  # undo the 0
    assert ready.wait_reading(20).text == "1"
    press(ready, pygame.K_c, pygame.KMOD_LCTRL)  # a copy habit: the drawing stays
    assert not ready.drawing.is_empty()
    press(ready, pygame.K_c)
    assert ready.drawing.is_empty() and ready.current_reading() is None
    press(ready, pygame.K_z, pygame.KMOD_LCTRL)  # undo the clear
    assert ready.wait_reading(20).text == "1"


@needs_cnn
def test_right_button_erases(ready):
    drag(ready, shift(ONE, 50) + ZERO)
    drag(ready, [[(440, 40), (440, 140), (440, 250)], [(380, 140), (500, 140)]], button=3)
    raster = ready.drawing.render()
    assert raster[225, 440] == 0  # the 0's bottom is wiped where the eraser passed
    assert raster[140, 332] == 255  # the 1 is untouched


@needs_cnn
def test_a_pen_up_draws_only_the_new_stroke_on_the_canvas_and_undo_redraws_all(ready, monkeypatch):
    for k in range(40):  # a long session: many strokes on the canvas
        drag(ready, [[(20 + 13 * k, 40 + (k % 5) * 40), (26 + 13 * k, 70 + (k % 5) * 40)]])
    drag(ready, [[(300, 30), (300, 250)]], button=3)  # an eraser stroke among them
    ready.step()
    screen_renders = []
    real = st.render_strokes

    def counting(strokes, size=st.CANVAS_SIZE, *args, **kw):
        if tuple(size) == ready.layout.canvas.size:  # the screen's canvas, not the worker's reading
            screen_renders.append(len(strokes))
        return real(strokes, size, *args, **kw)

    monkeypatch.setattr(st, "render_strokes", counting)
    drag(ready, ONE)
    drag(ready, [[(100, 20), (140, 260)]], button=3)
    ready.step()
    assert screen_renders == []  # each pen-up drew its one stroke, not all 43 again

    def full():
        s = ready.drawing.strokes
        return real([p.points for p in s], ready.layout.canvas.size, st.PEN_WIDTH, [p.erase for p in s],
                    ready.layout.scale)

    assert np.array_equal(ready._base, full())  # the same pixels as drawing them all
    shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
    x, y = ready.to_screen(284, 200)  # on the 1, below the last eraser stroke
    assert np.abs(shot[y, x] - appmod.INK).max() < 30
    press(ready, pygame.K_z, pygame.KMOD_CTRL)
    press(ready, pygame.K_z, pygame.KMOD_CTRL)  # the eraser stroke, then the 1
    assert screen_renders and np.array_equal(ready._base, full())
    shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
    assert np.abs(shot[y, x] - appmod.PAPER).max() < 30  # the 1 is gone from the screen


@needs_cnn
def test_model_switch_reads_with_the_svc(ready):
    drag(ready, ONE)
    press(ready, pygame.K_m)
    assert ready.model_name == "svc"
    assert ready.wait_ready(90)  # the SVC is fitted at first use: seconds on a busy machine
    reading = ready.wait_reading(20)
    assert ready.result.model == "svc"
    assert reading.digits[0].model_input.shape == (8, 8)
    assert reading.digits[0].proba.sum() == pytest.approx(1.0, abs=1e-3)
    press(ready, pygame.K_m)
    assert ready.model_name == "cnn" and ready.wait_reading(20).digits[0].model_input.shape == (28, 28)


@needs_cnn
def test_ensemble_reads_and_m_switches_it_with_the_svc(ready):
    ready.cnn_name = ready.model_name = "ensemble"  # as `app.py --model ensemble` starts
    try:
        ready.load_model("ensemble")
        assert ready.wait_ready(30), ready.model_errors
        reading = drag(ready, SEVEN)
        assert ready.result.model == "ensemble" and reading.text == "7"
        press(ready, pygame.K_m)
        assert ready.model_name == "svc"
        press(ready, pygame.K_m)
        assert ready.model_name == "ensemble" and ready.wait_reading(20).text == "7"
    finally:
        ready.cnn_name = "cnn"


@needs_cnn
def test_a_stroke_begun_just_outside_the_canvas_draws_and_one_on_the_panel_does_not(ready):
    r = ready.layout.canvas
    for start, drawn in (((r.centerx, r.top - 8), True), ((ready.layout.panel.centerx, r.top + 20), False)):
        press(ready, pygame.K_c)
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=start, button=1))
        for y in range(r.top - 4, r.top + 150, 10):
            pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(start[0], y), rel=(0, 10),
                                                 buttons=(1, 0, 0)))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(start[0], r.top + 150), button=1))
        ready.step()
        assert ready.drawing.is_empty() is not drawn
    assert ready.drawing.strokes == [] and ready.wait_reading(20) is None
    press(ready, pygame.K_c)
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=(r.centerx, r.top - 8), button=1))
    pygame.event.post(pygame.event.Event(pygame.MOUSEMOTION, pos=(r.centerx, r.top + 100), rel=(0, 108),
                                         buttons=(1, 0, 0)))
    pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=(r.centerx, r.top + 100), button=1))
    ready.step()
    (stroke,) = ready.drawing.strokes
    assert stroke.points[0][1] == 0.0  # clamped to the top edge: the stroke starts where the pen came in


@needs_cnn
def test_a_digit_drawn_smaller_than_the_pen_allows_is_unsure_with_a_hint(ready):
    big = drag(ready, ONE).digits[0]
    assert not ready.too_small(big) and not ready.unsure(big)
    press(ready, pygame.K_c)
    (small,) = drag(ready, [[(280, 120), (281, 134), (282, 148)]]).digits  # a 1 drawn 28 px tall
    assert ready.too_small(small) and ready.unsure(small)
    ready.step()
    shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
    r = ready.layout.reading
    hint = shot[r.top : r.top + 30, r.centerx : r.right]  # "write bigger" at the panel's top right
    assert np.all(np.abs(hint - appmod.UNSURE) < 40, axis=2).sum() > 100


@needs_cnn
def test_two_lines_are_read_with_a_visible_separator(ready):
    reading = drag(ready, [[(200, 20), (202, 70), (204, 115)], [(200, 160), (202, 210), (204, 260)]])
    assert reading.text == "1\n1"
    ready.step()
    shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
    (a, _), (b, _) = ready._glyph_rects
    between = shot[a.top : a.bottom, a.right : b.left]
    assert np.all(np.abs(between - appmod.DIM) < 12, axis=2).sum() > 100  # the " / " between the lines


@needs_cnn
def test_on_two_lines_each_box_label_is_clear_of_the_other_boxes_and_labels(ready):
    top = [[(x, 20), (x + 2, 70), (x + 4, 120)] for x in (150, 230, 310)]
    bottom = [[(x, 150), (x + 2, 205), (x + 4, 260)] for x in (150, 230, 310)]
    assert drag(ready, top + bottom).text == "111\n111"
    ready.step()
    shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
    tags = ready._tag_rects
    assert len(tags) == 6
    for k, (tag, box) in enumerate(tags):
        others = [b for j, (_, b) in enumerate(tags) if j != k]
        assert tag.collidelist([b.inflate(6, 6) for b in others]) < 0  # not on another digit's box
        assert tag.collidelist([t for j, (t, _) in enumerate(tags) if j != k]) < 0  # nor on its label
        gap = min(abs(tag.bottom - box.top), abs(tag.top - box.bottom), abs(tag.top - box.top))
        assert all(gap < min(abs(tag.bottom - b.top), abs(tag.top - b.bottom)) for b in others)  # nearest
        label = shot[tag.top : tag.bottom, tag.left : tag.right]
        assert np.all(np.abs(label - appmod.GOOD) < 40, axis=2).sum() + \
            np.all(np.abs(label - appmod.ACCENT) < 40, axis=2).sum() > 10  # drawn there


@needs_cnn
def test_save_writes_png_with_the_reading(ready, tmp_path):
    drag(ready, SEVEN)
    text = ready.current_reading().text
    before = set(Path(ready.args.save_dir).glob("*.png"))
    press(ready, pygame.K_s)
    new = set(Path(ready.args.save_dir).glob("*.png")) - before
    assert len(new) == 1
    path = new.pop()
    assert text in path.name
    image = pygame.image.load(str(path))
    w, h = image.get_size()
    assert w == st.CANVAS_SIZE[0] and h > st.CANVAS_SIZE[1]  # the drawing plus a caption band
    px = pygame.surfarray.array3d(image).swapaxes(0, 1)
    assert px[:st.CANVAS_SIZE[1]].min() < 50 and np.median(px[:st.CANVAS_SIZE[1]]) > 200  # dark ink on white
    assert px[st.CANVAS_SIZE[1]:].min() < 100  # the caption is written


@needs_cnn
def test_s_before_the_reading_is_in_saves_once_it_is_with_that_reading(ready):
    saved = Path(ready.args.save_dir)
    before = set(saved.glob("*.png"))
    cnn = ready.models.pop("cnn")
    ready._loading.add("cnn")  # as at start, while the model loads
    try:
        drag(ready, SEVEN[:1] + shift(ONE, 100))  # "drawn", not read: no model yet
        press(ready, pygame.K_s)
        assert set(saved.glob("*.png")) == before  # not saved as "read: (nothing)" under a drawn number
        assert "saving once the reading is in" in ready.status
    finally:
        ready.models["cnn"] = cnn
        ready._loading.discard("cnn")
    text = ready.wait_reading(20).text
    ready.step()
    (path,) = set(saved.glob("*.png")) - before
    assert text and path.stem.endswith("-" + text) and str(path) in ready.status
    press(ready, pygame.K_s)  # the reading is in: saved at once
    assert len(set(saved.glob("*.png")) - before) == 2


@needs_cnn
def test_drop_file_reads_it_and_a_bad_file_is_reported(ready, tmp_path):
    import cv2

    paper = 255 - st.render_strokes(ONE + shift(SEVEN, 100))  # dark ink on white, like a scan
    good = tmp_path / "number.png"
    cv2.imwrite(str(good), paper)
    pygame.event.post(pygame.event.Event(pygame.DROPFILE, file=str(good)))
    ready.step()
    for _ in range(400):
        ready.step()
        time.sleep(0.005)  # let the worker thread have the GIL (the test loop runs uncapped)
        if ready.file_result is not None and ready.file_result.reading is not None:
            break
    assert ready.current_reading().text == "17"
    bad = tmp_path / "notes.png"
    bad.write_text("this is not an image")
    drop(ready, bad)
    assert "not an image" in ready.status and ready.running


def drop(app, path):
    """Drop a file on the window and run frames until its reading (or its error) is in."""
    pygame.event.post(pygame.event.Event(pygame.DROPFILE, file=str(path)))
    for _ in range(400):
        app.step()
        time.sleep(0.005)  # let the worker thread have the GIL (the test loop runs uncapped)
        f = app.file_result
        if (f is None or f.reading is not None) and app.worker.idle() and not app.worker.results:
            break
    app.step()


@needs_cnn
def test_a_dropped_photo_lying_sideways_is_read_turned(ready, tmp_path):
    import cv2

    path = tmp_path / "sideways.png"
    cv2.imwrite(str(path), np.rot90(255 - st.render_strokes(ONE + shift(SEVEN, 100)), 1))
    drop(ready, path)
    assert ready.current_reading().text == "17" and ready.file_result.reading.turned == 90
    assert "turned 90 degrees" in ready.status


def number_png(tmp_path):
    import cv2

    path = tmp_path / "number.png"
    cv2.imwrite(str(path), 255 - st.render_strokes(ONE + shift(SEVEN, 100)))  # dark on white, "17"
    return path


@needs_cnn
def test_a_bad_drop_brings_the_drawing_and_its_reading_back(ready, tmp_path):
    drag(ready, shift(ONE, 50) + ZERO)
    bad = tmp_path / "notes.txt"
    bad.write_text("shopping list")
    drop(ready, bad)
    assert ready.file_result is None and ready.current_reading().text == "10"
    assert ready.status.startswith("could not read") and ready.status_color == appmod.BAD
    press(ready, pygame.K_z, pygame.KMOD_CTRL)
    assert ready.wait_reading(20).text == "1"
    assert ready.status_color != appmod.BAD and "could not read" not in ready.status  # the next reading


@needs_cnn
def test_a_drop_clears_the_canvas_undoably_and_undo_on_the_image_goes_back(ready, tmp_path):
    drag(ready, shift(SEVEN, -150))
    drop(ready, number_png(tmp_path))
    assert ready.current_reading().text == "17" and ready.drawing.is_empty()
    assert ready.status.startswith("read number.png")
    assert drag(ready, ONE).text == "1"  # drawing dismisses the image: a blank canvas, not the old 7
    assert "number.png" not in ready.status  # nor a status bar about the image gone
    press(ready, pygame.K_z, pygame.KMOD_CTRL)
    press(ready, pygame.K_z, pygame.KMOD_CTRL)  # the stroke, then the drop's clear
    assert ready.wait_reading(20).text == "7"
    drop(ready, number_png(tmp_path))
    press(ready, pygame.K_z, pygame.KMOD_CTRL)  # on the image: back to the drawing, nothing of it undone
    assert ready.file_result is None and ready.wait_reading(20).text == "7"


@needs_cnn
def test_m_on_a_dropped_image_while_the_svc_loads_rereads_it_once_loaded(ready, tmp_path):
    ready.load_model("svc")
    for _ in range(900):  # the SVC is fitted at first use: seconds on a busy machine
        if "svc" in ready.models or "svc" in ready.model_errors:
            break
        time.sleep(0.1)
    assert "svc" in ready.models, ready.model_errors
    drop(ready, number_png(tmp_path))
    svc = ready.models.pop("svc")
    ready._loading.add("svc")  # as if still loading
    try:
        press(ready, pygame.K_m)
        assert ready.current_reading() is None and ready.file_result.image is not None  # no CNN data
        assert "loading the SVC" in ready.status
    finally:
        ready.models["svc"] = svc
        ready._loading.discard("svc")
    ready.step()
    assert ready.file_result.seq > 0  # sent to the worker as soon as the model is there
    for _ in range(400):
        ready.step()
        time.sleep(0.005)
        if ready.file_result.reading is not None:
            break
    assert ready.file_result.model == "svc" and ready.current_reading().digits[0].model_input.shape == (8, 8)
    press(ready, pygame.K_m)


@needs_cnn
def test_screenshot_has_canvas_ink_reading_and_chart(ready):
    drag(ready, shift(ONE, 50) + ZERO)
    ready.step()
    shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
    L = ready.layout
    canvas = shot[L.canvas.top + 2 : L.canvas.bottom - 2, L.canvas.left + 2 : L.canvas.right - 2]
    paper = np.all(np.abs(canvas - appmod.PAPER) < 8, axis=2).mean()
    ink = np.all(np.abs(canvas - appmod.INK) < 30, axis=2).mean()
    assert paper > 0.6 and 0.02 < ink < 0.3  # mostly paper, some ink where we drew
    x, y = ready.to_screen(332, 140)  # on the 1's stroke
    assert np.abs(shot[y, x] - appmod.INK).max() < 30
    panel = shot[L.panel.top : L.panel.bottom, L.panel.left : L.panel.right]
    bar = np.all(np.abs(panel - appmod.GOOD) < 10, axis=2)
    bar |= np.all(np.abs(panel - appmod.UNSURE) < 10, axis=2)
    assert bar.sum() > 200  # the winning class's bar is drawn
    reading = shot[L.reading.top : L.reading.bottom, L.reading.left : L.reading.right]
    assert np.all(reading > 200, axis=2).sum() > 500  # the large reading text


@needs_cnn
def test_feature_maps_view_shows_the_first_convolution(ready):
    drag(ready, ONE)
    press(ready, pygame.K_i)
    ready.step()
    maps = ready._maps_cache[1]
    assert maps.shape == (24, 28, 28) and maps.std() > 0  # the CNN's conv1 responses to the 1
    press(ready, pygame.K_i)
    assert not ready.show_maps


@needs_cnn
def test_i_on_the_svc_still_shows_what_it_sees_and_says_maps_are_the_cnns(ready):
    drag(ready, ONE)
    press(ready, pygame.K_i)
    press(ready, pygame.K_m)
    try:
        assert ready.wait_ready(90) and ready.wait_reading(20).digits[0].model_input.shape == (8, 8)
        ready.step()
        shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
        r = ready.layout.panel
        panel = shot[r.top : r.bottom, r.left : r.right]
        assert np.all(np.abs(panel - appmod.PAPER) < 8, axis=2).sum() > 64 * 100  # the 8x8 input, scaled up
        hint = np.all(np.abs(panel - appmod.UNSURE) < 40, axis=2)
        assert hint.sum() > 50  # "feature maps: CNN only (M)"
    finally:
        press(ready, pygame.K_m)
        ready.show_maps = False


def test_empty_canvas_shows_prompt_not_a_prediction(app):
    press(app, pygame.K_c)
    app.step()
    assert app.current_reading() is None
    shot = pygame.surfarray.array3d(app.screen).swapaxes(0, 1).astype(int)
    r = app.layout.canvas
    canvas = shot[r.top + 2 : r.bottom - 2, r.left + 2 : r.right - 2]
    assert np.all(np.abs(canvas - appmod.INK) < 30, axis=2).sum() == 0  # no ink, only the faint prompt
    assert np.any(np.abs(canvas - appmod.PAPER).max(axis=2) > 30)  # the prompt text is there


def test_keys_help_eraser_and_resize_do_not_crash(app):
    press(app, pygame.K_h)
    assert app.show_help
    press(app, pygame.K_ESCAPE)
    assert not app.show_help and app.running
    press(app, pygame.K_e)
    assert app.eraser
    press(app, pygame.K_e)
    old = app.layout.canvas.size
    app.screen = pygame.display.set_mode((800, 500), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(800, 500), w=800, h=500))
    app.step()
    assert app.layout.canvas.width < old[0]
    assert app.layout.canvas.width / app.layout.canvas.height == pytest.approx(2.0, abs=0.02)
    app.screen = pygame.display.set_mode(tuple(appmod.WINDOW_SIZE), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=appmod.WINDOW_SIZE))
    app.step()


@needs_cnn
@pytest.mark.parametrize("size", [(700, 1400), (2400, 500)])
def test_a_tall_or_wide_window_gives_the_canvas_its_room(ready, size):
    ready.screen = pygame.display.set_mode(size, pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=size, w=size[0], h=size[1]))
    try:
        ready.step()
        L = ready.layout
        w, h = size
        if h > w:  # the canvas spans the width (the panel goes under the reading), not 378 px of 700
            assert L.canvas.width >= w - 2 * appmod.MARGIN - 1
        else:  # it spans the height (the reading goes beside it), not 320 px of 500
            assert L.canvas.height >= h - L.status.height - 2 * appmod.MARGIN - 1
        assert L.canvas.width / L.canvas.height == pytest.approx(2.0, abs=0.02)
        window = ready.screen.get_rect()
        rects = [L.canvas, L.reading, L.panel, L.status]
        for k, r in enumerate(rects):
            assert window.contains(r) and r.collidelist(rects[k + 1 :]) < 0  # in the window, no overlaps
        assert drag(ready, shift(ONE, 50) + ZERO).text == "10"  # the mouse still draws where the canvas is
        ready.step()
        shot = pygame.surfarray.array3d(ready.screen).swapaxes(0, 1).astype(int)
        r = L.reading
        assert np.all(shot[r.top : r.bottom, r.left : r.right] > 200, axis=2).sum() > 2000  # "10", large
        r = L.panel
        assert np.all(np.abs(shot[r.top : r.bottom, r.left : r.right] - appmod.GOOD) < 10, axis=2).sum() > 200
    finally:
        ready.screen = pygame.display.set_mode(tuple(appmod.WINDOW_SIZE), pygame.RESIZABLE)
        pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=appmod.WINDOW_SIZE))
        ready.step()


def test_a_window_resized_below_the_minimum_is_set_back_to_it(app):
    app.screen = pygame.display.set_mode((500, 300), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=(500, 300), w=500, h=300))
    app.step()
    assert app.screen.get_size() == appmod.MIN_WINDOW == pygame.display.get_surface().get_size()
    app.screen = pygame.display.set_mode(tuple(appmod.WINDOW_SIZE), pygame.RESIZABLE)
    pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=appmod.WINDOW_SIZE))
    app.step()


def test_missing_model_is_reported_in_window_and_stderr(tmp_path, monkeypatch, capsys):
    from recognizer import reader

    monkeypatch.setattr(reader, "MODELS_DIR", tmp_path)
    a = appmod.App(appmod.parse_args(["--headless", "--fps", "0"]))
    assert not a.wait_ready(10)
    a.step()
    assert "not found" in a.status
    assert "not found" in capsys.readouterr().err
    drag_without_model = [[(100, 100), (120, 200)]]
    for s in drag_without_model:  # drawing still works without a model
        p = [a.to_screen(x, y) for x, y in s]
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONDOWN, pos=p[0], button=1))
        pygame.event.post(pygame.event.Event(pygame.MOUSEBUTTONUP, pos=p[1], button=1))
    a.step()
    assert not a.drawing.is_empty() and a.running


def run_app(*args, timeout=60):
    return subprocess.run([sys.executable, str(ROOT / "app.py"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


@needs_cnn
def test_replay_cli_prints_one_json_line(tmp_path):
    wide = st.Replay((1120, 560), [np.float32(s) * 2 for s in shift(ONE, 50) + ZERO])  # scaled uniformly
    path = tmp_path / "ten.json"
    st.write_replay(path, wide)
    out = run_app("--replay", str(path), "--headless", "--json")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    data = json.loads(lines[0])
    assert data["text"] == "10"
    assert set(data["digits"][0]) == {"label", "confidence", "box"}


@pytest.mark.parametrize("canvas", ["[10]", "[Infinity, 280]"])
def test_replay_cli_bad_file_is_one_line_error(tmp_path, canvas):
    path = tmp_path / "bad.json"
    path.write_text(f'{{"canvas": {canvas}, "strokes": []}}')
    out = run_app("--replay", str(path), "--headless", "--json")
    assert out.returncode == 2
    assert out.stdout == "" and len(out.stderr.strip().splitlines()) == 1 and "canvas" in out.stderr


@needs_cnn
def test_speak_uses_local_tts_or_says_it_is_missing(monkeypatch, capsys):
    monkeypatch.setattr(appmod, "find_tts", lambda: None)
    a = appmod.App(appmod.parse_args(["--headless", "--speak", "--fps", "0"]))
    assert "espeak" in a.status and "espeak" in capsys.readouterr().err
    spoken = []
    monkeypatch.setattr(appmod, "SPEAK_DELAY", 0.0)
    monkeypatch.setattr(appmod.subprocess, "Popen", lambda cmd, **kw: spoken.append(cmd))
    a.tts = "/usr/bin/espeak-ng"
    assert a.wait_ready(20)
    drag(a, ONE)
    for _ in range(5):
        a.step()
    assert spoken == [["/usr/bin/espeak-ng", "1"]]


def test_headless_without_replay_is_refused(capsys):
    assert appmod.main(["--headless"]) == 2  # it would otherwise run forever, showing nothing
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["app: --headless needs --replay STROKES.json"]


def test_no_display_and_missing_package_get_their_own_hints(monkeypatch, capsys):
    def no_display(args):
        raise RuntimeError("no display found")

    monkeypatch.setattr(appmod, "App", no_display)
    assert appmod.main([]) == 2
    assert "--replay STROKES.json --headless" in capsys.readouterr().err
    monkeypatch.undo()
    monkeypatch.setitem(sys.modules, "pygame", None)  # as outside the venv: `import pygame` fails
    assert appmod.main(["--replay", "x.json", "--headless"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pygame" in err[0] and "make run" in err[0] and "display" not in err[0]


def replay_file(tmp_path):
    path = tmp_path / "one.json"
    st.write_replay(path, st.Replay(st.CANVAS_SIZE, [np.float32(s) for s in ONE]))
    return path


def test_replay_with_a_damaged_model_prints_the_error_once(tmp_path, monkeypatch, capsys):
    from recognizer import reader

    (tmp_path / "cnn.onnx").write_bytes(b"not a model")
    monkeypatch.setattr(reader, "MODELS_DIR", tmp_path)
    a = appmod.App(appmod.parse_args(["--headless", "--fps", "0", "--replay", str(replay_file(tmp_path))]))
    assert appmod.run_replay(a, a.args) == 2
    a.finish_loading()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot load the CNN model" in err[0]


def test_replay_with_a_failing_reading_prints_the_error_once(tmp_path, monkeypatch, capsys):
    import recognizer

    class Broken:
        backend = None

        def read(self, image):
            raise RuntimeError("the model broke")

    monkeypatch.setattr(recognizer.Recognizer, "load", classmethod(lambda cls, name: Broken()))
    a = appmod.App(appmod.parse_args(["--headless", "--fps", "0", "--replay", str(replay_file(tmp_path))]))
    assert appmod.run_replay(a, a.args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["app: reading failed: the model broke"]


CLOSE_DURING_A_READING = """
import sys, time
import pygame
sys.path.insert(0, sys.argv[1])
import app as appmod
import recognizer
from recognizer import strokes as st

read = recognizer.Recognizer.read
recognizer.Recognizer.read = lambda self, image: [read(self, image) for _ in range(200)][-1]  # a long reading
run = appmod.App.run


def close_during_a_reading(self):
    assert self.wait_ready(30)
    self.post_replay(st.Replay((560, 280), [st.as_stroke([(280, 60), (282, 140), (285, 225)])]))
    end = time.perf_counter() + 30
    while (self.replay_events or self.drawing.drawing or self.worker.idle()) and time.perf_counter() < end:
        self.step()  # until the pen-up's reading runs
    pygame.event.post(pygame.event.Event(pygame.QUIT))  # the user closes the window
    print("reading when closed:", not self.worker.idle(), flush=True)
    return run(self)


appmod.App.run = close_during_a_reading
sys.exit(appmod.main(["--fps", "0"]))
"""


@needs_cnn
def test_closing_the_window_during_a_reading_exits_cleanly(tmp_path):
    script = tmp_path / "close.py"
    script.write_text(CLOSE_DURING_A_READING)
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy"}
    out = subprocess.run([sys.executable, str(script), str(ROOT)], capture_output=True, text=True, timeout=99,
                         cwd=ROOT, env=env)
    assert out.stdout.strip() == "reading when closed: True"
    assert out.returncode == 0 and "terminate called" not in out.stderr, out.stderr  # not an abort (134)


def test_confidence_line_shows_the_bar_and_the_one_digit_probability():
    from recognizer.result import Digit

    proba = np.float32([0.69, 0.31] + [0.0] * 8)
    d = Digit(0, 0.52, (0, 0, 10, 10), proba, np.zeros((28, 28), np.float32))
    assert appmod.confidence_line(d) == "= 69% a 0 (bars) \u00d7 75% one digit"  # 0.52 = 0.69 x 0.75


@needs_cnn
def test_small_window_shows_status_bar_and_keeps_labels_in_the_panel():
    a = appmod.App(appmod.parse_args(["--headless", "--fps", "0", "--size", "640", "400"]))
    try:
        assert a.screen.get_size() == appmod.MIN_WINDOW  # opened as small as the panels allow
        assert a.wait_ready(20)
        drag(a, ONE)
        for show_maps in (False, True):
            a.show_maps = show_maps
            a.step()
            shot = pygame.surfarray.array3d(a.screen).swapaxes(0, 1).astype(int)
            L = a.layout
            assert L.status.bottom == a.screen.get_height()
            status = shot[L.status.top : L.status.bottom, : L.status.right]
            assert np.any(np.abs(status - appmod.PANEL).max(axis=2) > 40)  # its text is drawn
            edge = shot[L.panel.top + 10 : L.panel.bottom - 10, L.panel.right - 12 : L.panel.right]
            assert np.all(np.abs(edge - appmod.PANEL).max(axis=2) < 8)  # no label runs into the edge
    finally:
        pygame.display.set_mode(appmod.WINDOW_SIZE, pygame.RESIZABLE)


@needs_cnn
def test_the_window_closes_before_the_app_waits_for_a_model_still_loading(tmp_path, monkeypatch, capsys):
    """Last in this file: main() quits pygame."""
    shown_while_waiting = []
    monkeypatch.setattr(appmod.App, "finish_loading",
                        lambda self, timeout=10.0: shown_while_waiting.append(pygame.display.get_init()))
    assert appmod.main(["--replay", str(replay_file(tmp_path)), "--headless"]) == 0
    assert capsys.readouterr().out.strip() == "1"
    assert shown_while_waiting == [False]  # a model load in progress no longer holds the closed window up
