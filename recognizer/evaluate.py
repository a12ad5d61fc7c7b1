"""Accuracy, per-class recall and the confusion matrix of a model on a labelled digit set."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .reader import Recognizer

BATCH = 1024  # digits per model call: large enough to amortize the call, small enough for memory


@dataclass
class Evaluation:
    accuracy: float
    recall: np.ndarray  # (10,) per-class recall
    confusion: np.ndarray  # (10, 10) rows = truth, columns = prediction
    proba: np.ndarray  # (N, 10)

    def to_dict(self) -> dict:
        return {
            "accuracy": round(float(self.accuracy), 5),
            "digits": int(self.confusion.sum()),
            "recall": [round(float(r), 4) for r in self.recall],
            "confusion": self.confusion.astype(int).tolist(),
        }

    def format(self) -> str:
        lines = [f"accuracy {self.accuracy:.4%} on {int(self.confusion.sum())} digits", ""]
        lines.append("class  recall   " + " ".join(f"{c:>5d}" for c in range(10)) + "   <- predicted")
        for t in range(10):
            row = " ".join(f"{int(v):>5d}" for v in self.confusion[t])
            lines.append(f"{t:>5d}  {self.recall[t]:6.2%}   {row}")
        return "\n".join(lines)


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    matrix = np.zeros((10, 10), np.int64)
    np.add.at(matrix, (truth.astype(int), predicted.astype(int)), 1)
    return matrix


def evaluate(rec: Recognizer, images: np.ndarray, labels: np.ndarray) -> Evaluation:
    """Run `images` through the public predict path in batches and score against `labels`."""
    if len(images) == 0:
        raise ValueError("the evaluation set is empty")
    proba = np.concatenate([rec.predict_proba(images[i : i + BATCH]) for i in range(0, len(images), BATCH)])
    confusion = confusion_matrix(labels, proba.argmax(axis=1))
    recall = np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    accuracy = float(np.trace(confusion) / confusion.sum())
    return Evaluation(accuracy, recall, confusion, proba)


ECE_BINS = 15  # the usual choice (Guo et al. 2017); enough bins to see the shape, few enough to fill


def reliability(proba: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS):
    """Per confidence bin: (mean confidence, accuracy, count), and the expected calibration error.

    ECE is the count-weighted mean gap between confidence and accuracy over the bins.
    """
    confidence = proba.max(axis=1)
    correct = proba.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    conf = np.zeros(bins)
    acc = np.zeros(bins)
    count = np.bincount(which, minlength=bins).astype(np.int64)
    for b in range(bins):
        if count[b]:
            conf[b] = confidence[which == b].mean()
            acc[b] = correct[which == b].mean()
    ece = float((np.abs(conf - acc) * count).sum() / max(count.sum(), 1))
    return conf, acc, count, ece
