"""Segmentation on constructed pages whose digit boxes are known."""

import cv2
import numpy as np
import pytest

from recognizer import segment, synth


def iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    return ix * iy / (a[2] * a[3] + b[2] * b[3] - ix * iy)


@pytest.fixture(scope="module")
def digits(mnist):
    """A few clean MNIST test digits (no very wide ones, so no split is needed)."""
    x, y = mnist["x_test"], mnist["y_test"]
    keep = [i for i in range(200) if cv2.boundingRect((x[i] > 60).astype(np.uint8))[2] < 18][:12]
    return [x[i] for i in keep], [int(y[i]) for i in keep]


def paper(ink: np.ndarray, paper_level=230.0, pen=40.0) -> np.ndarray:
    return (paper_level * (1 - ink) + pen * ink).astype(np.uint8)


def page_of(digits, layout, size=(900, 500), height=60):
    """Paper with numbers: layout is a list of (n_digits, x, y) per number; returns image, boxes."""
    images, _ = digits
    placements, k = [], 0
    for n, x, y in layout:
        placements.append(synth.Placement(images[k : k + n], [0] * n, x, y, height, [12] * (n - 1)))
        k += n
    ink, boxes = synth.render_numbers(size, placements)
    return ink, boxes


def assert_found(layout, boxes):
    found = [s.box for s in layout.segments]
    flat = [b for number in boxes for b in number]
    assert len(found) == len(flat), (found, flat)
    for b in flat:
        assert max(iou(b, f) for f in found) > 0.7


def test_clean_page_boxes_lines_and_numbers(digits):
    ink, boxes = page_of(digits, [(3, 60, 60), (2, 500, 60), (4, 100, 260)])
    layout = segment.find_digits(paper(ink))
    assert_found(layout, boxes)
    assert layout.text_shape == [[3, 2], [4]]
    # reading order: left to right within a line, lines top to bottom
    xs = [s.box[0] for s in layout.segments if s.line == 0]
    assert xs == sorted(xs)
    assert all(s.line == 1 for s in layout.segments[5:])


def test_either_polarity(digits):
    ink, boxes = page_of(digits, [(4, 80, 100)])
    bright_on_dark = (ink * 255).astype(np.uint8)
    assert_found(segment.find_digits(bright_on_dark), boxes)
    assert_found(segment.find_digits(paper(ink)), boxes)


def test_blank_and_noise_pages_have_no_digits():
    rng = np.random.default_rng(0)
    assert segment.find_digits(np.full((480, 640), 255, np.uint8)).segments == []
    assert segment.find_digits(np.zeros((480, 640), np.uint8)).segments == []
    noisy = np.clip(rng.normal(200, 6, (480, 640)), 0, 255).astype(np.uint8)
    assert segment.find_digits(noisy).segments == []


def test_uneven_light_and_shadow(digits):
    ink, boxes = page_of(digits, [(4, 80, 100), (3, 200, 300)])
    h, w = ink.shape
    light = np.linspace(1.0, 0.45, w)[None, :] * np.ones((h, 1))
    light[:, : w // 3] *= 0.7  # a hard shadow edge across the page
    image = (paper(ink).astype(np.float32) * light).astype(np.uint8)
    layout = segment.find_digits(image)
    assert_found(layout, boxes)
    assert layout.text_shape == [[4], [3]]


def test_dark_ink_in_a_shadow_over_most_of_the_frame(digits):
    """A webcam frame half in shadow: the lit part is not 'bright ink' (the global median said so)."""
    ink, boxes = page_of(digits, [(2, 80, 150), (2, 300, 150)], size=(640, 480), height=40)
    h, w = ink.shape
    yy, xx = np.mgrid[:h, :w]
    light = np.where(yy > 0.6 * xx - 90, 0.62, 1.0)  # a diagonal shadow edge; the digits are under it
    noise = np.random.default_rng(0).normal(0, 3, (h, w))  # a camera's: no canvas-flat paper level
    image = np.clip(paper(ink, 220.0) * light + noise, 0, 255).astype(np.uint8)
    assert segment.ink_is_dark(image.astype(np.float32))
    assert_found(segment.find_digits(image), boxes)


def test_ruled_lines_and_specks_are_not_digits(digits):
    ink, boxes = page_of(digits, [(4, 80, 100), (3, 200, 300)])
    for y in (163, 362, 450):
        cv2.line(ink, (0, y), (899, y + 12), 0.5, 2, cv2.LINE_AA)  # tilted, touching the digits
    for x, y in [(30, 30), (600, 220), (820, 400), (450, 470)]:
        cv2.circle(ink, (x, y), 3, 0.9, -1)
    layout = segment.find_digits(paper(ink))
    assert_found(layout, boxes)


def test_digits_written_across_a_ruled_line_keep_the_strokes_that_cross_it(cnn, mnist):
    """Erasing a rule took a slice out of every digit written across it (a 0 read as 5, a 2 as 1);
    the columns where a stroke goes on above and below the rule now keep their ink."""
    x, y = mnist["x_test"], mnist["y_test"]
    right = 0
    for k in range(5):
        idx = range(8 * k, 8 * k + 8)
        placement = synth.Placement([x[i] for i in idx], [0] * 8, 60, 80, 90, [14] * 7)
        ink, _ = synth.render_numbers((900, 300), [placement])
        rule_y = 80 + int(90 * (0.3 + 0.1 * k))  # through the digits, 30-70% down their height
        cv2.line(ink, (0, rule_y), (899, rule_y + 6), 0.6, 3, cv2.LINE_AA)
        right += cnn.read(paper(ink)).text == "".join(str(y[i]) for i in idx)
    assert right >= 4  # 0 of 5 before


def test_rules_joined_into_one_component_are_each_erased(digits):
    """Ruled lines that meet the page's dark edge (or a digit across two of them) form one component
    as wide and tall as the page; each rule is still found and erased, and the digits read."""
    ink, boxes = page_of(digits, [(4, 80, 80), (3, 200, 240), (2, 500, 400)])
    for y0, y1 in ((143, 133), (303, 306), (463, 478)):  # tilted both ways, as perspective makes them
        cv2.line(ink, (0, y0), (899, y1), 0.5, 2, cv2.LINE_AA)
    ink[:, 880:] = 1.0  # the page's edge, beyond it the dark table: it joins every rule
    noise = np.random.default_rng(0).normal(0, 3, ink.shape)  # a photo's (a canvas has no table)
    layout = segment.find_digits(np.clip(paper(ink) + noise, 0, 255).astype(np.uint8))
    assert_found(layout, boxes)
    assert layout.text_shape == [[4], [3], [2]]


def test_a_long_steep_stroke_is_no_digit(digits):
    """A thin shadow edge or a line drawn across the page at 30 degrees: erased, not read."""
    ink, boxes = page_of(digits, [(3, 80, 60), (2, 600, 380)])
    cv2.line(ink, (380, 470), (880, 180), 0.8, 9, cv2.LINE_AA)
    layout = segment.find_digits(paper(ink))
    assert_found(layout, boxes)


def test_broken_stroke_is_merged(digits):
    images, _ = digits
    ink, boxes = page_of(digits, [(3, 80, 100)])
    x, y, w, h = boxes[0][1]
    ink[y + h // 2 - 3 : y + h // 2 + 3, x : x + w] = 0  # cut the middle digit in two
    layout = segment.find_digits(paper(ink))
    assert_found(layout, boxes)


def test_tilted_line_stays_one_line():
    boxes = [(40 + 60 * i, 100 + 9 * i, 40, 55) for i in range(8)]  # 8 digits climbing ~9 degrees
    boxes += [(40 + 60 * i, 300, 40, 55) for i in range(3)]
    assert segment.group_lines(boxes) == [[list(range(8))], [[8, 9, 10]]]


def test_numbers_split_by_gap():
    h = 50
    xs = [0, 45, 90, 90 + 40 + int(1.5 * 0.8 * h), 0]
    boxes = [(x, 0, 36, h) for x in xs[:4]]
    assert segment.group_lines(boxes) == [[[0, 1, 2], [3]]]
    touching = [(0, 0, 40, h), (35, 0, 40, h)]  # overlapping digits: one number
    assert segment.group_lines(touching) == [[[0, 1]]]
    assert segment.group_lines([]) == []


def test_numbers_far_apart_on_a_tilted_line_stay_one_line():
    """Multiline page 33's boxes: "8" and "62" stand ten heights apart on a line tilted 3 degrees
    more than the page's flat first line; they share little height, yet are one line."""
    first = [(240, 231, 45, 55), (298, 228, 39, 62), (343, 234, 68, 51), (419, 231, 55, 61),
             (483, 233, 39, 55), (531, 235, 39, 54), (582, 232, 43, 60), (638, 232, 49, 63)]
    second = [(161, 650, 64, 62), (810, 684, 48, 71), (866, 689, 61, 67)]
    assert segment.group_lines(first + second) == [[list(range(8))], [[8], [9, 10]]]
    above = [(810, 684 - 120, 48, 64), (866, 689 - 120, 61, 64)]  # the next line up is not joined
    assert len(segment.group_lines(first + second[:1] + above)) == 3


def test_floating_bar_keeps_its_digit_in_the_number():
    """A 5 whose bar floats up and right: the bar fills the gap to the next digit."""
    h = 60
    five, nine, bar = (100, 80, 57, h), (207, 74, 38, h), (133, 71, 65, 16)  # clean page 59's boxes
    assert segment.group_lines([five, nine]) == [[[0], [1]]]  # by the digits' boxes: two numbers
    spans = segment.blob_spans([five, nine], [bar], h)
    assert spans[0] == (100, 198) and spans[1] == (207, 245)
    assert segment.group_lines([five, nine], spans) == [[[0, 1]]]
    far_bar = (133, 71 - h, 65, 16)  # a stroke a line above is not the 5's
    assert segment.blob_spans([five], [far_bar], h) == [(100, 157)]


def test_a_5s_floating_top_bar_joins_its_body_on_a_canvas_of_one_digit():
    """Alone on a canvas the body is the digit height, so bar and body stand 1.4 heights tall."""
    ink = np.zeros((140, 280), np.float32)
    cv2.line(ink, (140, 30), (172, 30), 1.0, 10)  # the bar, lifted well clear of the body
    cv2.line(ink, (112, 58), (110, 84), 1.0, 10)  # the stem ...
    cv2.ellipse(ink, (132, 96), (26, 22), 0, -160, 150, 1.0, 10)  # ... and the belly
    layout = segment.find_digits(paper(ink))
    assert len(layout.segments) == 1
    x, y, w, h = layout.segments[0].box
    assert y <= 26 and y + h >= 118  # the bar is inside the digit's box


def test_only_a_short_flat_bar_on_top_stretches_the_merge_limit():
    body, h = (94, 52, 93, 65), 65
    bar = (137, 24, 38, 16)  # UNIPEN's 5 read as 0: the bar 12 px above the body
    assert len(segment.merge_broken([[0], [1]], [bar, body], h)[0]) == 1
    underline = (60, 24, 160, 10)  # wider than the digit below: a rule, not its bar
    tall = (137, 10, 38, 30)  # a stroke of its own height: a digit of the line above
    for other in (underline, tall):
        assert len(segment.merge_broken([[0], [1]], [other, body], h)[0]) == 2


def test_touching_digits_split_by_the_scorer(digits):
    images, labels = digits
    wide = [im for im, label in zip(images, labels, strict=True) if label != 1][:3]
    for overlap in range(2, 14):  # the least overlap that makes the three digits one blob
        placement = synth.Placement(wide, [0] * 3, 80, 80, 70, [-overlap, -overlap])
        ink, boxes = synth.render_numbers((500, 250), [placement])
        image = paper(ink)
        _, blobs = segment.components(segment.binarize(segment.ink_layer(image.astype(np.float32))))
        if len(blobs) == 1:
            break
    assert len(blobs) == 1  # the three digits really touch
    true_widths = np.array([b[2] for b in boxes[0]])
    seen = []

    def score(crops):  # a stand-in for the CNN: confident when a crop is about one true digit wide
        seen.append(len(crops))
        widths = np.array([cv2.boundingRect((c > 0.3).astype(np.uint8))[2] for c in crops])
        close = np.abs(widths[:, None] - true_widths[None]).min(axis=1) <= 0.15 * true_widths.min()
        return np.where(close, 0.99, 0.2)

    layout = segment.find_digits(image, score=score)
    assert len(seen) == 1  # every candidate of every blob in one call
    assert len(layout.segments) == 3
    for found, true in zip(layout.segments, boxes[0], strict=True):
        assert abs((found.box[0] + found.box[2] / 2) - (true[0] + true[2] / 2)) < 0.3 * true[2]


def test_large_image_boxes_in_original_pixels(digits):
    ink, boxes = page_of(digits, [(3, 60, 60)], size=(600, 300))
    image = paper(ink)
    big = cv2.resize(image, None, fx=5, fy=5, interpolation=cv2.INTER_LINEAR)  # 3000x1500
    layout = segment.find_digits(big)
    assert layout.scale < 1
    scaled = [[tuple(v * 5 for v in b) for b in number] for number in boxes]
    assert_found(layout, scaled)


def test_tiny_single_digit(mnist):
    layout = segment.find_digits(mnist["x_test"][0])
    assert len(layout.segments) == 1
    x, y, w, h = layout.segments[0].box
    assert 0 <= x and x + w <= 28 and 0 <= y and y + h <= 28 and h > 12


def test_rejects_non_images():
    with pytest.raises(ValueError):
        segment.find_digits(np.zeros((0, 10)))
    with pytest.raises(ValueError):
        segment.find_digits(np.zeros((4, 4, 4, 4)))


def test_flat_background_only_for_a_uniform_canvas():
    """A drawn canvas has one exact paper level (no light to divide out); a photo never does."""
    canvas = np.full((140, 280), 250.0, np.float32)
    canvas[30:110, 100:112] = 20.0  # a thick pen stroke
    assert segment.flat_background(canvas) == 250.0
    photo = canvas + np.random.default_rng(0).normal(0, 3, canvas.shape).astype(np.float32)
    assert segment.flat_background(photo) is None


def test_a_faint_doubted_blob_is_dropped_without_error():
    """A blob the model doubts is tried in pieces; when all are too faint to be ink, none is kept
    (this raised KeyError on a 'hard' benchmark page)."""
    ink = np.zeros((40, 60), np.float32)
    ink[10:32, 20:38] = 0.19  # 18x22: narrow enough to be one digit, wide enough to be doubted
    labels = (ink > 0).astype(np.int32)
    doubtful = lambda crops: np.full(len(crops), 0.1)  # noqa: E731
    assert segment.split_touching(ink, labels, [[0]], [(20, 10, 18, 22)], doubtful) == []


def test_a_flat_stroke_sticking_out_of_a_digit_is_not_cut_off_as_a_digit():
    """A 5 whose detached bar touches it on the right: a scorer that would read the bar alone
    confidently must not get the chance (the bar is lower than FLAT_PIECE of the blob)."""
    ink = np.zeros((80, 140), np.float32)
    cv2.ellipse(ink, (45, 50), (22, 20), 0, 0, 360, 1.0, 6)  # a round digit, 60 px tall with the bar
    ink[20:27, 50:95] = 1.0  # a flat stroke from its top to the right, longer than a 5's bar
    labels = (ink > 0).astype(np.int32)
    box = cv2.boundingRect(labels.astype(np.uint8))
    seen = []

    def score(crops):  # loves anything flat: the bar alone would win if it were offered
        hs = np.array([cv2.boundingRect((c > 0.3).astype(np.uint8))[3] for c in crops])
        seen.extend(hs)
        return np.where(hs < 0.3 * box[3], 0.99, 0.6)

    pieces = segment.split_touching(ink, labels, [[0]], [box], score)
    assert seen and min(seen) >= segment.FLAT_PIECE * box[3]
    assert len(pieces) == 1 and pieces[0][0][2] >= 0.9 * box[2]


def test_a_strip_of_table_along_the_edge_is_not_a_digit_but_a_1_reaching_it_is():
    """The floor beyond a photographed page enters along the frame's edge and reads as a 1;
    a 1 written down to the photo's bottom edge touches it only with its foot."""
    image = np.full((300, 400), 230, np.uint8)
    cv2.putText(image, "7", (60, 170), cv2.FONT_HERSHEY_SIMPLEX, 4, 20, 12)
    image[60:180, 360:] = 90  # a dark strip lying along the right edge, 40 x 120
    cv2.line(image, (250, 200), (250, 299), 20, 16)  # a 1 whose foot is cut by the bottom edge
    noise = np.random.default_rng(0).normal(0, 3, image.shape)  # a photo's (a canvas has no table)
    found = [s.box for s in segment.find_digits(np.clip(image + noise, 0, 255).astype(np.uint8)).segments]
    assert not any(x >= 350 for x, _, _, _ in found)  # no box on the strip
    assert any(abs(x + w / 2 - 250) < 10 for x, _, w, _ in found)  # the 1 is read
    assert len(found) == 2


def test_digits_drawn_against_a_canvas_edge_are_kept():
    """A canvas has no table around it: a 0 drawn up against its left edge, a 1 from its top edge
    and a 7 whose bar runs along the top are digits (they were all dropped as the table's edge)."""
    canvas = np.full((140, 280), 255, np.uint8)
    cv2.ellipse(canvas, (18, 70), (20, 35), 0, 0, 360, 0, 10)  # its left side runs along the edge
    cv2.line(canvas, (120, 0), (120, 100), 0, 10)
    cv2.polylines(canvas, [np.array([[180, 2], [240, 2], [205, 110]])], False, 0, 10)
    found = [s.box for s in segment.find_digits(canvas).segments]
    assert [x // 50 for x, _, _, _ in found] == [0, 2, 3]  # the 0 at x 0, the 1 at 115, the 7 at 175


def first_number_crop(page: synth.Page, pad: int) -> np.ndarray:
    """The page's first number cut out of the photo, `pad` px around its digits' boxes."""
    boxes = np.array(page.boxes[: len(page.text.split()[0])])
    x0, y0 = boxes[:, :2].min(axis=0) - pad
    x1, y1 = (boxes[:, :2] + boxes[:, 2:]).max(axis=0) + pad
    return page.image[max(0, y0) : y1, max(0, x0) : x1]


@pytest.mark.parametrize("tier, i, text",
                         [("clean", 2, "75995"), ("clean", 8, "8"), ("touching", 0, "34121827")])
@pytest.mark.parametrize("pad", [0, 20])
def test_a_number_cut_out_of_a_photo_is_read(cnn, mnist, usps, tier, i, text, pad):
    """Numbers cut out of validation pages of `benchmark_read.py`, tight to their ink or with a
    margin. Cut tight, every digit touched the crop's edge and was taken for the table beyond a
    page; the strokes were as wide as the windows that find the paper, so a bold 8 read as light
    ink on dark; a bold crop is mostly ink, which the noise estimate took for paper; and touching
    digits made one blob as wide as the crop."""
    page = validation_page(mnist, usps, tier, i)
    assert page.text.split()[0] == text
    assert cnn.read(first_number_crop(page, pad)).text == text


def test_overlapping_digits_without_an_ink_minimum_between_them_get_a_denser_look(monkeypatch):
    """Two rings overlapping by a third: the lowest-ink columns are at the blob's ends, so the
    first cut points miss the middle; when every reading of the blob is rejected, the third look
    at all minima and equal divisions finds the two digits."""
    ink = np.zeros((80, 110), np.float32)
    for cx in (36, 62):
        cv2.ellipse(ink, (cx, 40), (17, 25), 0, 0, 360, 1.0, 5)
    labels = (ink > 0).astype(np.int32)
    box = cv2.boundingRect(labels.astype(np.uint8))
    ring_w = 2 * 17 + 6  # a ring's outer width

    def score(crops):  # a stand-in for the CNN: one digit only where a crop spans about one ring
        widths = np.array([c.shape[1] - 2 * segment.CROP_PAD for c in crops])
        return np.where(np.abs(widths - ring_w) <= 8, 0.99, 0.01)

    pieces = segment.split_touching(ink, labels, [[0]], [box], score)
    assert len(pieces) == 2
    monkeypatch.setattr(segment, "DENSE_ACCEPT", 0.999)  # a denser reading no better than a guess
    assert len(segment.split_touching(ink, labels, [[0]], [box], score)) == 1  # is not taken
    monkeypatch.setattr(segment, "DENSE_ACCEPT", 0.0)
    monkeypatch.setattr(segment, "REJECTED_PIECE", 0.0)
    assert len(segment.split_touching(ink, labels, [[0]], [box], score)) == 1


def test_a_flat_digit_wider_than_any_piece_is_still_read_whole():
    """A 7 written flat (1.7 times as wide as tall, as 0.3% of MNIST digits are): the whole blob
    is offered to the scorer, which reads it as one digit, and it is not cut in two."""
    ink = np.zeros((60, 120), np.float32)
    cv2.line(ink, (25, 12), (110, 12), 1.0, 5)  # the bar
    cv2.line(ink, (110, 12), (70, 54), 1.0, 5)  # the stem, slanting down to the left
    labels = (ink > 0).astype(np.int32)
    box = cv2.boundingRect(labels.astype(np.uint8))
    assert segment.MAX_PIECE * box[3] < box[2] <= segment.MAX_WHOLE * box[3]

    def score(crops):  # the CNN's verdict on such a 7: the whole is sure, any part is a guess
        widths = np.array([c.shape[1] - 2 * segment.CROP_PAD for c in crops])
        return np.where(widths >= box[2] - 2, 0.98, 0.3)

    pieces = segment.split_touching(ink, labels, [[0]], [box], score)
    assert len(pieces) == 1 and pieces[0][0][2] >= box[2] - 2


def test_the_page_edge_against_the_table_is_not_a_1(mnist, usps):
    """A photographed page's border leaves a thin sliver of "ink" where paper meets table; these
    composed photos (perspective, light, JPEG) each had one read as a 1 near a corner."""
    source = synth.load_source(["mnist", "usps"])
    for i in (76, 151):
        page = synth.compose_page(np.random.default_rng([2, i]), source, "multiline")
        found = [s.box for s in segment.find_digits(page.image).segments]
        rows, cols = page.image.shape[:2]
        assert not [b for b in found if min(b[0], b[1], cols - b[0] - b[2], rows - b[1] - b[3]) < 20]
        assert len(found) == len(page.boxes)


def validation_page(mnist, usps, tier: str, i: int) -> synth.Page:
    """The i-th validation page of a tier, as `scripts/benchmark_read.py --validation` makes it:
    MNIST train's seed-0 hold-out and 1,000 USPS train digits."""
    from recognizer.train import holdout_split

    hold, _ = holdout_split(len(mnist["x_train"]), 0)
    labels = np.concatenate([mnist["y_train"][hold], usps["y_train"][:1000]]).astype(np.int64)
    source = synth.DigitSource([*mnist["x_train"][hold], *usps["x_train"][:1000]], labels)
    return synth.compose_page(np.random.default_rng([list(synth.TIERS).index(tier), 50000 + i]), source, tier)


def test_the_page_edge_leaving_the_frame_away_from_a_corner_is_not_a_1(mnist, usps):
    """Where the page's slanted border leaves the frame at the bottom, 50 px (more than a digit
    height) from the right edge with only table between, its sliver was read as a 1 (a validation
    page of `benchmark_read.py`: MNIST train's seed-0 hold-out and USPS train digits)."""
    page = validation_page(mnist, usps, "multiline", 35)
    found = [s.box for s in segment.find_digits(page.image).segments]
    rows = page.image.shape[0]
    assert not [b for b in found if b[1] + b[3] >= rows - 2]  # nothing on the bottom edge
    assert len(found) == len(page.boxes)


def test_a_faint_shadow_that_touched_a_ruled_line_is_no_digit_once_the_line_is_erased(cnn, mnist, usps):
    """A narrow shadow across a ruled page is faint "ink", and joined to a rule it passed the
    hysteresis (the rule is strong ink). Erasing the rule left it alone, still kept, read as a
    2 as big as two digits (a validation page of `benchmark_read.py`)."""
    page = validation_page(mnist, usps, "hard", 6)
    found = [d.box for d in cnn.read(page.image).digits]
    assert not [b for b in found if iou(b, (470, 429, 161, 98)) > 0.3]
    assert len([b for b in found if b[1] < 620]) == len(page.boxes)  # the two lines' digits, each once


def test_a_digit_written_up_to_the_page_edge_is_kept(digits):
    """Right beyond the digit is table, as beyond the sliver, but its ink is far darker than it."""
    ink, boxes = page_of(digits, [(2, 790, 200)], size=(900, 500))  # 26 px from the image edge
    image = paper(ink, 215.0, 40.0).astype(np.float32)
    right = boxes[0][-1][0] + boxes[0][-1][2]
    image[:, right + 3 :] = 130  # the table starts just right of the last digit
    image = cv2.GaussianBlur(image, (0, 0), 1.0) + np.random.default_rng(0).normal(0, 3, image.shape)
    assert_found(segment.find_digits(np.clip(image, 0, 255).astype(np.uint8)), boxes)  # a photo: noisy


def test_a_lone_dash_is_no_digit_but_a_flat_zero_a_seven_and_a_one_are_kept():
    """A minus sign alone was its own digit height, cut into squares and read "0000".
    (Without a scorer a wide blob is cut by its width, so only "kept" is checked.)"""
    def canvas(*polylines, closed=False):
        img = np.full((140, 280), 255, np.uint8)
        for pts in polylines:
            cv2.polylines(img, [np.int32(pts)], closed, 0, 10, cv2.LINE_AA)
        return img

    for dash in ([(80, 70), (200, 64)], [(80, 60), (140, 70), (200, 62)], [(90, 80), (190, 40)]):
        assert segment.find_digits(canvas(dash)).segments == [], dash
    flat_zero = cv2.ellipse2Poly((140, 70), (60, 22), 0, 0, 360, 10)
    seven = [(90, 45), (190, 45), (130, 120)]
    one = [(140, 20), (130, 120)]
    for kept in (canvas(flat_zero, closed=True), canvas(seven), canvas(one)):
        assert segment.find_digits(kept).segments


def test_two_strokes_side_by_side_are_joined_only_where_the_scorer_reads_them_better_so():
    """An open 4 drawn as an L and a stem that do not touch was read "11"; two sure 1s as close
    together stay two digits."""
    image = np.full((180, 420), 255, np.uint8)
    cv2.polylines(image, [np.int32([(100, 40), (90, 100), (136, 100)])], False, 0, 8, cv2.LINE_AA)
    cv2.line(image, (150, 30), (150, 140), 0, 8, cv2.LINE_AA)  # the 4's stem, 6 px from the L
    cv2.line(image, (300, 30), (300, 140), 0, 8, cv2.LINE_AA)  # "11", 8 px apart
    cv2.line(image, (316, 30), (316, 140), 0, 8, cv2.LINE_AA)

    def score(crops):  # a stand-in for the CNN, by the width of the crop's ink
        widths = np.array([cv2.boundingRect((c > 0.3).astype(np.uint8))[2] for c in crops])
        return np.select([widths < 15, widths < 30, widths < 62], [0.95, 0.3, 0.6], 0.98)

    found = sorted(s.box for s in segment.find_digits(image, score=score).segments)
    assert len(found) == 3, found
    four, one, other_one = found
    assert four[0] <= 90 and four[0] + four[2] >= 150  # the L and the stem, one box
    assert one[0] + one[2] < other_one[0] + 4
    # a scorer without a "not one digit" class (the SVC) cannot say, so nothing is joined for it
    assert len(segment.find_digits(image, score=score, join=False).segments) == 4


def test_a_wide_digits_broken_off_tail_joins_it(cnn, mnist, usps):
    """A wide 5 (its box 1.3 times wider than tall: a long top bar) whose bowl's end broke off was
    read "55". Joining was only tried for pairs no wider than 1.2 heights; 4% of MNIST's digits are."""
    page = validation_page(mnist, usps, "hard", 4)
    truth = (382, 304, 79, 60)
    near = [d for d in cnn.read(page.image).digits if abs(d.box[0] + d.box[2] / 2 - 421) < 40]
    assert [d.label for d in near] == [5] and iou(near[0].box, truth) > 0.8


def test_a_stroke_beside_a_digit_too_small_for_one_joins_it_where_the_scorer_reads_them_as_one():
    """A 7 whose bar the pen lifted off the stem: the bar alone is too small for a digit, was
    dropped as dirt, and the stem was read as 1. A dirt speck beside a 1 stays dirt."""
    image = np.full((180, 420), 255, np.uint8)
    cv2.line(image, (86, 34), (112, 34), 0, 8, cv2.LINE_AA)  # the bar, left of the stem's top ...
    cv2.line(image, (130, 32), (124, 140), 0, 8, cv2.LINE_AA)  # ... not over its columns
    cv2.line(image, (300, 32), (300, 140), 0, 8, cv2.LINE_AA)  # a 1 ...
    cv2.circle(image, (285, 40), 3, 0, -1, cv2.LINE_AA)  # ... and a speck beside it

    def score(crops):  # a stand-in for the CNN: wide enough for a 7 is one digit, a bar alone is not
        boxes = [cv2.boundingRect((c > 0.3).astype(np.uint8)) for c in crops]
        return np.array([0.1 if h < 30 else 0.9 for _, _, _, h in boxes])

    found = sorted(s.box for s in segment.find_digits(image, score=score).segments)
    assert len(found) == 2, found
    seven, one = found
    assert seven[0] <= 86 and seven[1] <= 32 and seven[0] + seven[2] >= 132  # bar and stem, one box
    assert one[0] >= 294  # not widened to the speck
    alone = sorted(s.box for s in segment.find_digits(image, score=score, join=False).segments)
    assert alone[0][0] >= 118  # without a scorer that knows "not one digit", the bar is left out


def test_a_7s_bar_lifted_off_its_stem_is_read_with_it(cnn, mnist, usps):
    """A validation page of `benchmark_read.py` where "4799" was read "4199": the 7's bar stood
    apart from its stem after the stroke was thinned, and was dropped as a speck."""
    page = validation_page(mnist, usps, "multiline", 8)
    assert cnn.read(page.image).text == page.text


def test_a_shadow_band_holding_most_of_the_ink_does_not_set_the_digit_height():
    digits = [(0, 0, 30, 40)] * 5
    band = (0, 0, 900, 640)  # a diagonal band across the page: 5% of its box is ink
    assert segment.typical_height(digits + [band], [400] * 5 + [30000]) == 40
    fine_pen = [(0, 0, 90, 150)] * 3  # big digits in a fine pen ink little of their boxes, and stay
    assert segment.typical_height(fine_pen + [(0, 0, 20, 20)], [900] * 3 + [300]) == 150


def test_a_shadow_band_joined_to_a_line_of_digits_leaves_the_page_readable(cnn, mnist, usps):
    """A validation page of `benchmark_read.py` read as "3": a narrow shadow joined to a line of
    digits held most of the page's ink, the digit height came out at 642 px for 40 px digits,
    and every digit merged into one."""
    page = validation_page(mnist, usps, "hard", 153)
    found = [d.box for d in cnn.read(page.image).digits]
    assert sum(max(iou(b, f) for f in found) > 0.5 for b in page.boxes) >= len(page.boxes) - 2


def test_the_string_readers_count_weighs_in_the_path_search():
    from recognizer.segment import best_path

    points = [0, 30, 60, 90]
    conf = {(0, 3): 0.9, (0, 1): 0.6, (1, 3): 0.6, (0, 2): 0.5, (2, 3): 0.5, (1, 2): 0.3}
    assert best_path(points, 100, conf) == [(0, 3)]  # one confident whole beats doubtful halves
    sure_two = np.log([1e-6, 0.01, 0.98, 0.01])
    assert best_path(points, 100, conf, sure_two) == [(0, 1), (1, 3)]
    sure_three = np.log([1e-6, 1e-6, 0.01, 0.99])
    assert best_path(points, 100, conf, sure_three) == [(0, 1), (1, 2), (2, 3)]
    unsure = np.log([1e-6, 0.45, 0.55, 1e-6])  # a hesitant count does not overrule a confident whole
    assert best_path(points, 100, conf, unsure) == [(0, 3)]


def test_faint_ink_far_from_the_strokes_leaves_the_crop():
    """A shadow's edge joined to a digit by the low threshold: its faint ink away from the strokes
    is dropped; the strokes' own soft edges stay."""
    crop = np.zeros((40, 30), np.float32)
    crop[5:30, 12:17] = 0.9  # a stroke
    crop[5:30, 11] = crop[5:30, 17] = 0.3  # its anti-aliased edges
    crop[30:38, 2:28] = 0.25  # a faint band below it, joined
    out = segment.near_core(crop)
    assert (out[5:30, 11:18] == crop[5:30, 11:18]).all()
    assert out[35:38].max() == 0.0 and out[31:34, 2:8].max() == 0.0
    assert segment.near_core(np.zeros((5, 5), np.float32)).max() == 0.0
