import numpy as np

from recognizer.augment import AugmentConfig, augment_batch
from recognizer.preprocess import batch_to_mnist


def test_augmentation_is_reproducible_and_changes_digits(mnist):
    x = batch_to_mnist(mnist["x_train"][:32])
    a, b = augment_batch(x, seed=3), augment_batch(x, seed=3)
    assert np.array_equal(a, b)
    assert a.shape == x.shape and a.dtype == np.float32
    assert not np.allclose(a, x)
    assert np.abs(a - x).mean() < 0.2  # distorted, not destroyed
    assert (a.reshape(32, -1).max(axis=1) > 0.3).all()  # no digit erased


def test_no_augmentation_is_identity(mnist):
    x = batch_to_mnist(mnist["x_train"][:8])
    assert np.allclose(augment_batch(x, 0, AugmentConfig.none()), x)
