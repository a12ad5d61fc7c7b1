import numpy as np

from recognizer.preprocess import batch_to_8x8
from recognizer.svc import fit_svc, load_digits_split


def test_classic_split_accuracy():
    x_train, x_test, y_train, y_test = load_digits_split()
    model = fit_svc(x_train, y_train)
    assert (model.predict(x_test) == y_test).mean() > 0.98


def test_8x8_conversion_reads_load_digits_like_digits():
    """Upscaled load_digits images, converted back by the shared preprocessing, stay readable."""
    import cv2

    x_train, x_test, y_train, y_test = load_digits_split()
    model = fit_svc(x_train, y_train)
    big = [cv2.resize((im.reshape(8, 8) * 15).astype(np.uint8), (64, 64), interpolation=cv2.INTER_NEAREST)
           for im in x_test[:200]]
    back = batch_to_8x8([np.pad(b, 10) for b in big]).reshape(200, -1)
    assert (model.predict(back) == y_test[:200]).mean() > 0.85
