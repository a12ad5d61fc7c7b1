"""The classic 8x8 baseline: an RBF SVC on scikit-learn's bundled `load_digits`.

Trained at first use (well under a second), so no pickle is shipped. Its 8x8 inputs fill their
box, unlike MNIST's 20-in-28 layout, which is exactly why it reads other handwriting poorly; it
stays selectable so users can see that difference for themselves.
"""

from __future__ import annotations

import numpy as np

GAMMA = 0.001  # the value of scikit-learn's classic digits example


def load_digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """load_digits as (x_train, x_test, y_train, y_test), the usual train_test_split(random_state=0)."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    return train_test_split(digits.data, digits.target, random_state=0)


def fit_svc(x: np.ndarray | None = None, y: np.ndarray | None = None):
    """An SVC with Platt-scaled (sigmoid) probabilities; on all of load_digits unless data is given.

    CalibratedClassifierCV(ensemble=False) is scikit-learn's replacement for SVC(probability=True):
    one SVC on all the data, its scores mapped to probabilities fitted by cross-validation.
    """
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import SVC

    if x is None or y is None:
        from sklearn.datasets import load_digits

        digits = load_digits()
        x, y = digits.data, digits.target
    svc = SVC(kernel="rbf", gamma=GAMMA)
    return CalibratedClassifierCV(svc, method="sigmoid", cv=5, ensemble=False).fit(x, y)


class SvcBaseline:
    """(N, 8, 8) float batches in 0..16 -> class probabilities."""

    rejects = False  # no "not one digit" class: its confidence cannot tell one digit from two

    def __init__(self, model=None) -> None:
        self.model = model if model is not None else fit_svc()

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(batch.reshape(len(batch), -1)).astype(np.float32)

    def proba_single(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The baseline has no reject class: every crop counts as one digit."""
        return self.predict_proba(batch), np.ones(len(batch), np.float32)
