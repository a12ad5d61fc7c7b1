"""`Recognizer`: the one reading path behind the app, the webcam and the photo reader.

Digit images of any size and polarity go through the shared MNIST-style preprocessing and one
batched model call. `read` (whole pages, canvases and frames) adds segmentation on top.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import preprocess
from .result import Digit, Reading, reading_text

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
TRAIN_COMMANDS = {"cnn.onnx": "`python scripts/train_cnn.py`"}  # a plain run writes only cnn.onnx
MEMBERS_DOC = "the command in README.md's ensemble members table (\"Other people's handwriting\")"
RESTORE = "the shipped models come with the repository: restore them with `git checkout models/`"
MODEL_NAMES = ("cnn", "svc", "ensemble")
ENSEMBLE = ("cnn.onnx", "cnn_boxfill.onnx", "cnn_deskew_moments.onnx")  # trained apart; each .json beside it
STRINGS = "strings.onnx"  # the string reader (crnn.py): reads each blob whole, touching digits and all
STRING_WEIGHT = 1.0  # a piece's digit probabilities: the CNN's times the string reader's to this power


class ModelError(RuntimeError):
    """A model file is missing or unreadable; the message names the file and the fix."""


class Recognizer:
    """A loaded model plus the preprocessing it expects. Build with `Recognizer.load`."""

    def __init__(self, name: str, backend, input_size: int, strings=None) -> None:
        self.name = name
        self.backend = backend
        self.input_size = input_size  # 28 for the CNN, 8 for the SVC baseline
        self.strings = strings  # runtime.OnnxStrings or None: `read` then cuts by the CNN alone

    @classmethod
    def load(cls, name: str | Path = "cnn", models_dir: str | Path | None = None) -> Recognizer:
        """"cnn" (the shipped model), "svc" (the 8x8 baseline), "ensemble" (the mean of the CNNs in
        ENSEMBLE: a little more accurate, one model call per member) or a path to a .onnx file (named
        after its stem).
        The CNNs come with the string reader (STRINGS) when its file is in the models folder."""
        if str(name) == "svc":
            from .svc import SvcBaseline

            return cls("svc", SvcBaseline(), preprocess.SVC_SIZE)
        if str(name) == "ensemble":
            folder = Path(models_dir or MODELS_DIR)
            members = [folder / member for member in ENSEMBLE]
            return cls("ensemble", _load_onnx(members), preprocess.MNIST_SIZE, _load_strings(folder))
        if str(name) == "cnn":
            path = Path(models_dir or MODELS_DIR) / "cnn.onnx"
        elif str(name).endswith(".onnx"):
            path = Path(name)
        else:
            raise ValueError(f"unknown model {name!r}: expected one of {', '.join(MODEL_NAMES)}")
        shipped = str(name) == "cnn"
        strings = _load_strings(Path(models_dir or MODELS_DIR))
        return cls(_model_name(path, shipped), _load_onnx(path, shipped), preprocess.MNIST_SIZE, strings)

    def prepare(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """The model's input batch: (N, 28, 28) in 0..1 for the CNN, (N, 8, 8) in 0..16 for the SVC."""
        if self.input_size == preprocess.SVC_SIZE:
            return preprocess.batch_to_8x8(images)
        batch = preprocess.batch_to_mnist(images)
        return self.backend.adapt(batch)

    def predict_proba(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """(N, 10) class probabilities for N digit images (any size, either polarity)."""
        return self.proba_prepared(self.prepare(images))

    def predict(self, images: np.ndarray | Sequence[np.ndarray]) -> np.ndarray:
        """(N,) predicted digits."""
        return self.predict_proba(images).argmax(axis=1)

    def proba_prepared(self, batch: np.ndarray) -> np.ndarray:
        """Probabilities for a batch already made by `prepare` (one model call)."""
        return np.asarray(self.backend.predict_proba(batch), dtype=np.float32)

    def proba_single_prepared(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, 10) digit probabilities and (N,) the probability that each input is one digit at all.

        The CNN's reject class ("not one digit": two squeezed digits, a piece of one) gives the
        second; the reader uses it to choose cuts. The SVC baseline says 1 everywhere.
        """
        proba, single = self.backend.proba_single(batch)
        return np.asarray(proba, np.float32), np.asarray(single, np.float32)

    def logits(self, batch28: np.ndarray) -> np.ndarray:
        """The CNN's temperature-scaled logits for prepared 28x28 inputs (used for calibration)."""
        return self.backend.run(batch28, ("logits",))[0]

    def read(self, image: np.ndarray, fast: bool = False, min_confidence: float | None = None,
             candidates: list | None = None, upright: bool = False) -> Reading:
        """Read every handwritten number in a page, canvas or camera frame.

        `image`: any 2-D/3-D array `to_gray` accepts, dark ink on light paper or bright ink on dark.
        Boxes are in `image`'s pixels; large images are segmented downscaled. `fast=True` works at a
        lower resolution (webcam frames). Digits below `min_confidence` (default
        READ_MIN_CONFIDENCE = 0: none) are dropped. A page without digits gives `Reading("", [])`.
        `candidates`, if given, receives every (box, crop) the segmentation had the model score,
        the cuts it did not choose too (training data: recognizer/pagecrops.py). `upright=True`
        (photos) also reads a page that looks sideways turned both ways and keeps the reading
        that looks upright (`orientation.read_upright`; its boxes stay in `image`'s pixels).
        """
        level = READ_MIN_CONFIDENCE if min_confidence is None else min_confidence
        if not upright:
            return _read(self, image, fast, level, candidates)
        from .orientation import read_upright

        # the orientation is judged on every digit found; the doubtful ones are dropped after
        source = np.asarray(image)  # (`candidates` collects the crops of the image as given only)
        reading = read_upright(lambda img: _read(self, img, fast, 0.0, candidates if img is source else None),
                               source)
        digits = [d for d in reading.digits if d.confidence >= level]
        if len(digits) == len(reading.digits):
            return reading
        return Reading(reading_text(digits), digits, reading.turned)


def _model_name(path: Path, shipped: bool) -> str:
    """"cnn" for the shipped CNN, else the file's stem (its full name where the stem would pass for
    another model: the webcam's M key tells "svc" from the CNNs by name)."""
    if shipped:
        return "cnn"
    return path.name if path.stem in MODEL_NAMES and path.stem != "cnn" else path.stem


def _load_onnx(path: Path | list[Path], shipped: bool = True):
    """One graph (a path) or an ensemble of graphs (a list of paths); `shipped`: from the models folder."""
    from .runtime import OnnxEnsemble

    if isinstance(path, list):
        return OnnxEnsemble([_load_graph(each, spin=False, shipped=shipped) for each in path])
    return _load_graph(path, shipped=shipped)


def _load_strings(folder: Path):
    """The string reader beside the CNNs, or None when its file is absent (reading works without it)."""
    from .runtime import OnnxStrings

    path = folder / STRINGS
    if not path.exists():
        return None
    try:
        return OnnxStrings(path)
    except ImportError as exc:
        raise _no_runtime(path, exc) from exc
    except Exception as exc:
        raise ModelError(f"model file {path} is unreadable; retrain it with "
                         f"`python scripts/train_crnn.py` or delete it") from exc


def _load_graph(path: Path, spin: bool = True, shipped: bool = True):
    """An ONNX Runtime session for `path`, or a ModelError naming the file and the fix."""
    from .runtime import OnnxCnn

    if not path.exists():
        where = " in the models folder" if shipped else ""
        raise ModelError(f"model file {path} not found{where}{_fix(path, shipped)}")
    try:
        return OnnxCnn(path, spin=spin)
    except ImportError as exc:
        raise _no_runtime(path, exc) from exc
    except Exception as exc:  # onnxruntime raises several types for a damaged file
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelError(f"model file {path} is unreadable ({first[:120]}){_fix(path, shipped)}") from exc


def _no_runtime(path: Path, exc: ImportError) -> ModelError:
    """The runtime is missing, not the file: restoring or retraining the model would not help."""
    return ModelError(f"cannot run {path.name}: {exc} (install the packages: `make run`, or "
                      f"`pip install -e .` in the project's environment)")


def _fix(path: Path, shipped: bool) -> str:
    """The fix for a missing or damaged model file: the shipped ones come with the repository, and a
    plain training run rebuilds only cnn.onnx (an ensemble member needs its own options)."""
    if not shipped:
        return ""
    return f"; {RESTORE}, or retrain it with {TRAIN_COMMANDS.get(path.name, MEMBERS_DOC)}"


READ_MIN_CONFIDENCE = 0.0  # `read` reports every digit found, however unsure; callers may pass a reject level


def _read(rec: Recognizer, image: np.ndarray, fast: bool, min_confidence: float,
          candidates: list | None = None) -> Reading:
    """Segment, then classify all digits in one batched model call (plus a few for split candidates),
    with one call of the string reader for all blobs when it is loaded."""
    from . import segment, strings

    # id(crop) -> (crop, proba, model input, probability of one digit)
    seen: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray, float]] = {}

    def score(crops: list[np.ndarray]) -> np.ndarray:
        """Each crop's confidence of being one digit AND its best digit."""
        batch = rec.prepare(crops)
        proba, single = rec.proba_single_prepared(batch)
        for crop, p, x, s in zip(crops, proba, batch, single, strict=True):
            seen[id(crop)] = (crop, p, x, float(s))  # keeping the crop keeps its id unique
        return proba.max(axis=1) * single

    def read_strings(crops: list[np.ndarray]) -> list[segment.StringReading]:
        """Each blob read whole by the string reader (one call for all blobs)."""
        return [segment.StringReading(rows, steps)
                for rows, steps in rec.strings.read([strings.to_strip(c) for c in crops])]

    hints: dict[int, np.ndarray] = {}
    max_side = segment.FAST_MAX_SIDE if fast else segment.MAX_SIDE
    layout = segment.find_digits(np.asarray(image), score=score, max_side=max_side,
                                 join=rec.backend.rejects, candidates=candidates,
                                 strings=read_strings if rec.strings is not None else None, hints=hints)
    todo = [s.crop for s in layout.segments if id(s.crop) not in seen]
    if todo:
        score(todo)
    digits: list[Digit] = []
    for s in layout.segments:
        _, proba, model_input, single = seen[id(s.crop)]
        if id(s.crop) in hints and STRING_WEIGHT:  # two readers of the same piece: the product of experts
            proba = proba * hints[id(s.crop)] ** STRING_WEIGHT
            proba = proba / max(float(proba.sum()), 1e-12)
        label = int(proba.argmax())
        confidence = float(proba[label]) * single
        if confidence < min_confidence:
            continue
        digits.append(Digit(label, confidence, s.box, proba, model_input, s.line, s.number))
    return Reading(reading_text(digits), digits)
