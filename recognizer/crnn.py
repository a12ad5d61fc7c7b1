"""The string reader: a small fully convolutional network read with CTC, for blobs of touching digits.

A column of the strip (`strings.to_strip`) every STEP pixels gets a distribution over the ten
digits and a blank; greedy CTC decoding (drop repeats, then blanks) gives the digits left to right
without being told where one ends. Convolutions only, so it reads strips of any width and exports
to ONNX with the same few operators as the digit CNN (`export.crnn_to_onnx`).
Keras is imported inside the functions, as in cnn.py: the apps run the ONNX graph.
"""

from __future__ import annotations

import numpy as np

from .strings import STRIP_H

WIDTHS = (32, 64, 96)  # channels of the three convolution stages
CONTEXT = 5  # time steps seen by the last convolution: ~20 input columns, about one digit
HIDDEN = 128
BLANK = 10  # CTC's blank class, after the ten digits


def build_crnn(widths: tuple[int, int, int] = WIDTHS):
    """(N, STRIP_H, W, 1) strips -> (N, W / 4, 11) logits; the height is pooled away."""
    import keras
    from keras import layers

    def conv_bn(filters: int, size, padding: str = "same") -> list:
        return [layers.Conv2D(filters, size, padding=padding, use_bias=False),
                layers.BatchNormalization(), layers.ReLU()]

    a, b, c = widths
    return keras.Sequential(
        [
            keras.Input((STRIP_H, None, 1)),
            *conv_bn(a, 5),  # 24 x W
            layers.MaxPooling2D(2),  # 12 x W/2
            *conv_bn(b, 3),
            layers.MaxPooling2D(2),  # 6 x W/4
            *conv_bn(c, 3),
            *conv_bn(c, 3),
            layers.MaxPooling2D((2, 1)),  # 3 x W/4
            *conv_bn(HIDDEN, (3, 1), padding="valid"),  # 1 x W/4: the column's features
            *conv_bn(HIDDEN, (1, CONTEXT)),  # its neighbours' too
            layers.Conv2D(BLANK + 1, 1),  # logits per time step
            layers.Reshape((-1, BLANK + 1)),
        ],
        name="digit_strings",
    )


def ctc_decode(probs: np.ndarray, steps: int | None = None) -> tuple[list[int], list[float], list[int]]:
    """Greedy CTC decoding of one strip's (T, 11) probabilities: the digits, each one's confidence
    (its peak probability) and the time step of that peak. `steps`: the strip's own length."""
    p = probs[: steps or len(probs)]
    best = p.argmax(axis=1)
    labels, confs, where = [], [], []
    prev = BLANK
    for t, k in enumerate(best):
        if k != BLANK and k != prev:
            labels.append(int(k))
            confs.append(float(p[t, k]))
            where.append(t)
        elif k != BLANK and p[t, k] > confs[-1]:  # the same run: keep its peak
            confs[-1], where[-1] = float(p[t, k]), t
        prev = k
    return labels, confs, where


def digit_probs(probs: np.ndarray, where: list[int]) -> np.ndarray:
    """(n, 10) each decoded digit's distribution over the ten digits, at its peak time step."""
    rows = probs[where, :BLANK] if where else np.zeros((0, BLANK), np.float32)
    return rows / np.maximum(rows.sum(axis=1, keepdims=True), 1e-9)


def count_probs(probs: np.ndarray, most: int = 12) -> np.ndarray:
    """P(the strip holds n digits) for n = 0..most, summed over every CTC alignment.

    A forward pass that tracks how many digits have been emitted and the last class (a digit
    repeated without a blank between is one digit): the reader weighs the string reader's count
    against the CNN's cuts with this, not with the single greedy count.
    """
    # alpha[c, s]: probability of having emitted c digits with last class s (s == BLANK: blank)
    alpha = np.zeros((most + 2, BLANK + 1))
    alpha[0, BLANK] = 1.0
    for p in probs:
        total = alpha.sum(axis=1)
        new = np.empty_like(alpha)
        new[:, BLANK] = total * p[BLANK]
        fresh = np.zeros((most + 2, BLANK))  # a new digit starts: anything but the same digit before
        fresh[1:] = total[:-1, None] - alpha[:-1, :BLANK]
        new[:, :BLANK] = (alpha[:, :BLANK] + fresh) * p[:BLANK]  # or the same digit goes on
        alpha = new / max(float(new.sum()), 1e-300)  # rescaled each step; only the ratios matter
    out = alpha.sum(axis=1)[: most + 1]
    return out / max(out.sum(), 1e-300)


def string_scores(got: list[list[int]], texts: list[list[int]]) -> dict[str, float]:
    """Shares of strings read exactly and with the right digit count (training and tests)."""
    if not texts:
        return {"exact": 0.0, "count": 0.0}
    pairs = list(zip(got, texts, strict=True))
    return {"exact": float(np.mean([g == t for g, t in pairs])),
            "count": float(np.mean([len(g) == len(t) for g, t in pairs]))}
