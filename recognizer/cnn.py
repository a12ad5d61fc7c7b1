"""The Keras CNN: its architecture, in one page, in the spirit of keras-io's mnist_convnet.

Sized by measurement (scripts/benchmark.py): small enough that ONNX Runtime reads a batch of 64
digits within 10 ms on one core, deep enough for >= 99.7% on MNIST test with augmentation.
Keras is imported inside the functions so that the apps, which use ONNX Runtime, never load it.
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # keep TensorFlow's start-up chatter off the terminal

WIDTHS = (24, 48, 96)  # channels of the three convolution stages
HIDDEN = 128  # dense units on the flattened 5x5 maps: capacity for 0.3 M multiply-adds


@contextlib.contextmanager
def _stderr_silenced():
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ start-up lines bypass Python logging."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_keras(verbose: bool = False):
    """Import Keras (and TensorFlow) without their start-up log lines unless `verbose`."""
    if verbose:
        import keras

        return keras
    warnings.filterwarnings("ignore", module="(tensorflow|keras|absl).*")
    with _stderr_silenced():
        import keras
    return keras


def build_model(widths: tuple[int, int, int] = WIDTHS, dropout: float = 0.3, classes: int = 11):
    """Conv-BN-ReLU stages with max pooling, then a dense BN-ReLU layer and a softmax head.

    `classes`: the ten digits plus, by default, the reject class "not one digit" (negatives.py).
    """
    import keras
    from keras import layers

    def conv_bn(filters: int, size: int = 3, padding: str = "same") -> list:
        return [
            layers.Conv2D(filters, size, padding=padding, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
        ]

    a, b, c = widths
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            *conv_bn(a, 5),  # 28x28
            layers.MaxPooling2D(2),  # 14x14
            *conv_bn(b),
            layers.MaxPooling2D(2),  # 7x7
            *conv_bn(c),
            *conv_bn(c, padding="valid"),  # 5x5
            layers.Flatten(),
            layers.Dense(HIDDEN, use_bias=False),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.Dropout(dropout),
            layers.Dense(classes, activation="softmax"),
        ],
        name="digit_cnn",
    )
    return model


def multiply_adds(model) -> int:
    """Multiply-adds per digit of the convolution and dense layers (the cost of inference)."""
    total = 0
    for layer in model.layers:
        kind = layer.__class__.__name__
        if kind == "Conv2D":
            kh, kw, cin, cout = layer.kernel.shape
            _, oh, ow, _ = layer.output.shape
            total += kh * kw * cin * cout * oh * ow
        elif kind == "Dense":
            cin, cout = layer.kernel.shape
            total += cin * cout
    return int(total)
