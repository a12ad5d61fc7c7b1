"""Run the exported CNN with ONNX Runtime: fast, small to import, no TensorFlow at run time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .preprocess import ADAPTATIONS, adapt

THREADS = 1  # one digit or a few: a second thread costs more in hand-over than it saves
WIDE_THREADS = 2  # batches of at least WIDE_BATCH digits (a page, a batch of 64) use both cores;
# ONNX Runtime's threads spin briefly between layers (its default): 64 digits in 7 ms, not 10 ms asleep
WIDE_BATCH = 16
INNER = {"features", "conv1"}  # inner tensors export.py names for the views that look inside


def _session(path: str | Path | bytes, threads: int, spin: bool = True):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if not spin:  # idle threads sleep at once: a graph that runs next gets the cores
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    model = path if isinstance(path, bytes) else str(path)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _with_outputs(path: Path, names: set[str]) -> bytes:
    """The graph at `path` with inner tensors `names` made outputs too (see export.py)."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load(str(path)))
    known = {v.name: v for v in model.graph.value_info}
    missing = names - known.keys()
    if missing:
        raise ValueError(f"{path.name} has no tensor named {', '.join(sorted(missing))}")
    model.graph.output.extend(known[name] for name in sorted(names))
    return model.SerializeToString()


class _Readings:
    """What the reader asks of a CNN backend, in terms of its `run`."""

    rejects = True  # an eleventh class, "not one digit" (see negatives.py)

    def run(self, batch: np.ndarray, outputs: tuple[str, ...] = ("probs",)) -> list[np.ndarray]:
        raise NotImplementedError

    def predict_proba(self, batch: np.ndarray) -> np.ndarray:
        return self.run(batch)[0]

    def proba_single(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Digit probabilities and the probability that each crop is one digit at all."""
        probs, single = self.run(batch, ("probs", "single"))
        return probs, single


class OnnxCnn(_Readings):
    """A loaded CNN graph (see export.py): 28x28 float batches in, probabilities out."""

    def __init__(self, path: str | Path, threads: int = THREADS, spin: bool = True) -> None:
        self.path, self.spin = Path(path), spin
        self.session = _session(path, threads, spin)
        meta = self.session.get_modelmeta().custom_metadata_map
        # trained on deskewed, moment-normalized or redrawn digits: its inputs are made so too
        self.convention = tuple(name for name in ADAPTATIONS if meta.get(name) == "1")
        self._wide = None  # the two-thread session, made at the first large batch
        self.outputs = {o.name for o in self.session.get_outputs()}
        self._inspect = None  # a session that also returns inner tensors, made when first asked

    def adapt(self, batch: np.ndarray) -> np.ndarray:
        """A batch as `to_mnist` makes it, made as this model was trained to see it."""
        return adapt(batch, self.convention)

    def run(self, batch: np.ndarray, outputs: tuple[str, ...] = ("probs",)) -> list[np.ndarray]:
        """The named outputs ("probs", "single", "logits"; or inner "features", "conv1") for a
        (N, 28, 28) float32 batch in 0..1."""
        feed = {"images": np.ascontiguousarray(batch, dtype=np.float32)}
        session = self.session
        if not set(outputs) <= self.outputs:
            session = self.inspector()
        elif len(batch) >= WIDE_BATCH and WIDE_THREADS > 1:
            if self._wide is None:
                self._wide = _session(self.path, WIDE_THREADS, self.spin)
            session = self._wide
        return session.run(list(outputs), feed)

    def inspector(self):
        """The session that also returns the inner tensors (made once; the app makes it early,
        in its loader thread, so that the first look inside does not stall the window)."""
        if self._inspect is None:
            self._inspect = _session(_with_outputs(self.path, INNER - self.outputs), THREADS)
        return self._inspect


class OnnxEnsemble(_Readings):
    """Several CNN graphs read the same batch and their outputs are averaged.

    Models trained apart (another seed, another augmentation) err on different digits, so the mean
    is right more often than either; each member costs one model call (reports/README.md measures
    both). Members are made with spin=False: a graph's threads spinning after its run took the
    cores from the next graph's (64 digits through three graphs 53 ms spinning, 19 ms not).
    Inner tensors (the app's I view, the report's projection) are the first member's.
    """

    def __init__(self, members: list[OnnxCnn]) -> None:
        self.members = members
        self.path = members[0].path

    def run(self, batch: np.ndarray, outputs: tuple[str, ...] = ("probs",)) -> list[np.ndarray]:
        first = self.members[0]
        if not set(outputs) <= first.outputs:
            return first.run(first.adapt(batch), outputs)
        each = [m.run(m.adapt(batch), outputs) for m in self.members]
        return [np.mean([result[k] for result in each], axis=0) for k in range(len(outputs))]

    def adapt(self, batch: np.ndarray) -> np.ndarray:
        """Inputs arrive as `to_mnist` makes them; each member adapts its own (see `run`)."""
        return batch

    def inspector(self):
        return self.members[0].inspector()


class OnnxStrings:
    """The string reader's graph (see crnn.py, export.crnn_to_onnx): strips in, digit strings out."""

    def __init__(self, path: str | Path, threads: int = THREADS) -> None:
        self.path = Path(path)
        self.session = _session(path, threads)

    def probs(self, strips: list[np.ndarray]) -> list[np.ndarray]:
        """Each strip's (T, 11) time-step probabilities, from one model call for all of them."""
        from .strings import STEP, stack_strips

        if not strips:
            return []
        batch, widths = stack_strips(strips)
        out = self.session.run(["probs"], {"strips": batch})[0]
        return [out[k, : int(w) // STEP] for k, w in enumerate(widths)]

    def read(self, strips: list[np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
        """Each strip's digits as (n, 10) probability rows, left to right (greedy decoding), with
        its (T, 11) time-step probabilities (`crnn.count_probs` turns them into a digit count)."""
        from .crnn import ctc_decode, digit_probs

        out = []
        for p in self.probs(strips):
            _, _, where = ctc_decode(p)
            out.append((digit_probs(p, where), p))
        return out

    def score(self, strips: list[np.ndarray], texts: list[list[int]]) -> dict[str, float]:
        """Exact strings and right digit counts against `texts` (training and tests)."""
        from .crnn import string_scores

        return string_scores([rows.argmax(axis=1).tolist() for rows, _ in self.read(strips)], texts)
