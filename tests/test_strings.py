"""The string reader's input (strings.py), its decoding (crnn.py) and its ONNX graph (export.py)."""

import numpy as np

from recognizer import crnn
from recognizer.strings import INK_H, STEP, STRIP_H, compose_strings, stack_strips, to_strip


def test_a_strip_keeps_the_aspect_ratio_at_the_fixed_height():
    crop = np.zeros((70, 200), np.float32)
    crop[10:60, 20:170] = 0.8  # ink 50 px high, 150 px wide
    strip = to_strip(crop)
    assert strip.shape[0] == STRIP_H and strip.shape[1] % STEP == 0
    rows = np.flatnonzero(strip.max(axis=1) > 0.5)
    cols = np.flatnonzero(strip.max(axis=0) > 0.5)
    assert len(rows) == INK_H
    assert abs(len(cols) - 150 * INK_H / 50) <= 1
    assert strip.max() == 1.0  # faint ink is stretched to full strength


def test_an_empty_crop_is_a_blank_strip_not_an_error():
    strip = to_strip(np.zeros((30, 30), np.float32))
    assert strip.shape[0] == STRIP_H and not strip.any()


def test_strips_of_different_widths_stack_with_blank_padding():
    a, b = np.ones((STRIP_H, 8), np.float32), np.ones((STRIP_H, 20), np.float32)
    batch, widths = stack_strips([a, b])
    assert batch.shape == (2, STRIP_H, 20) and widths.tolist() == [8, 20]
    assert not batch[0, :, 8:].any()


def test_composed_strings_hold_their_digits_touching(mnist):
    x, y = mnist["x_train"][:300], mnist["y_train"][:300]
    strips, texts = compose_strings(x, y, 40, seed=3)
    again, texts_again = compose_strings(x, y, 40, seed=3)
    assert texts == texts_again and all(np.array_equal(a, b) for a, b in zip(strips, again, strict=True))
    assert all(1 <= len(t) <= 6 for t in texts) and len({len(t) for t in texts}) > 2
    for strip, text in zip(strips, texts, strict=True):
        assert strip.shape[0] == STRIP_H
        # wider with more digits: each digit is 0.3-1.2 of the height wide, overlaps eat some
        assert strip.shape[1] >= 0.2 * INK_H * len(text)


def test_ctc_decoding_drops_repeats_and_blanks():
    b = crnn.BLANK

    def steps(*classes):
        p = np.full((len(classes), b + 1), 0.01, np.float32)
        for t, k in enumerate(classes):
            p[t, k] = 0.9
        return p

    labels, confs, where = crnn.ctc_decode(steps(b, 7, 7, b, 1, b, 1, 1, b))
    assert labels == [7, 1, 1] and where[0] in (1, 2) and len(confs) == 3
    assert crnn.ctc_decode(steps(b, b, b))[0] == []
    assert crnn.ctc_decode(steps(3, 3, 3, 3), steps=2)[0] == [3]  # only the strip's own steps
    rows = crnn.digit_probs(steps(b, 7, b), [1])
    assert rows.shape == (1, 10) and rows[0].argmax() == 7 and abs(rows.sum() - 1) < 1e-6


def test_count_probabilities_sum_every_alignment():
    import itertools

    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.full(crnn.BLANK + 1, 0.5), size=5)
    brute = np.zeros(6)
    for path in itertools.product(range(crnn.BLANK + 1), repeat=5):
        emitted, prev = 0, None
        for k in path:
            emitted += k != crnn.BLANK and k != prev
            prev = k
        brute[emitted] += np.prod([probs[t, k] for t, k in enumerate(path)])
    assert np.allclose(crnn.count_probs(probs, most=5), brute, atol=1e-9)


def test_the_onnx_string_reader_computes_what_keras_computes(tmp_path):
    import keras
    import onnx

    from recognizer.export import crnn_to_onnx
    from recognizer.runtime import OnnxStrings

    keras.utils.set_random_seed(4)
    model = crnn.build_crnn()
    rng = np.random.default_rng(0)
    for layer in model.layers:  # non-trivial batch-norm statistics to fold
        if layer.__class__.__name__ == "BatchNormalization":
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.5, n), rng.normal(0, 0.5, n),
                               rng.uniform(0.5, 2, n)])
    strips = [rng.random((STRIP_H, w)).astype(np.float32) for w in (16, 40, 64)]
    onnx.save(crnn_to_onnx(model), str(tmp_path / "s.onnx"))
    got = OnnxStrings(tmp_path / "s.onnx").probs(strips)
    batch, _ = stack_strips(strips)  # one call reads them padded to the widest, as Keras does here
    logits = model(batch[..., None], training=False).numpy()
    expected = np.exp(logits - logits.max(axis=2, keepdims=True))
    expected /= expected.sum(axis=2, keepdims=True)
    for k, (strip, p) in enumerate(zip(strips, got, strict=True)):
        assert p.shape == (strip.shape[1] // STEP, crnn.BLANK + 1)
        assert np.allclose(p, expected[k, : len(p)], atol=1e-5)
