"""Run the exported CNN with ONNX Runtime: fast, small to import, no TensorFlow at run time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

THREADS = 1  # one digit or a batch of 64 is too small to gain from more threads; leaves the UI a core


class OnnxCnn:
    """A loaded CNN graph (see export.py): 28x28 float batches in, probabilities out."""

    def __init__(self, path: str | Path, threads: int = THREADS) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        self.path = Path(path)
        self.session = ort.InferenceSession(
            str(path), options, providers=["CPUExecutionProvider"]
        )

    def run(self, batch: np.ndarray, outputs: tuple[str, ...] = ("probs",)) -> list[np.ndarray]:
        """The named graph outputs for a (N, 28, 28) float32 batch in 0..1."""
        feed = {"images": np.ascontiguousarray(batch, dtype=np.float32)}
        return self.session.run(list(outputs), feed)

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        return self.run(batch)[0]
