"""Train the CNN on MNIST train (plus augmentation) and write models/cnn.{keras,onnx,json}.

5,000 training digits are held out (never trained on) for the validation curve and for fitting
the softmax temperature, so the confidence the apps show is calibrated. MNIST test is used once,
at the end, through the same `Recognizer.predict` path the apps use.
"""

from __future__ import annotations

import json
import platform
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from . import cnn
from .augment import AugmentConfig, add_neighbours, add_styles, augment_batch
from .data import fingerprint, load_mnist
from .negatives import REJECT, make_negatives
from .preprocess import ADAPTATIONS, adapt, batch_deskew, batch_to_mnist

HOLDOUT = 5000  # MNIST train digits kept out of training for validation and calibration
REJECT_SHARE = 0.12  # reject-class crops per training digit each epoch (see negatives.py)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature that minimizes the negative log-likelihood (Guo et al. 2017)."""
    from scipy.optimize import minimize_scalar

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(labels)), labels].mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


Pool = tuple[np.ndarray, np.ndarray]  # (N, 28, 28) model inputs and their labels (pagecrops.py)


def epoch_data(x: np.ndarray, y: np.ndarray, seed: int, cfg: AugmentConfig | None,
               reject_share: float, pool: Pool | None = None, pool_share: float = 0.0,
               reject_ones: float = 0.0, scribbles: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """One epoch's training set: styled and distorted digits (`cfg`, None: as they are),
    `reject_share` of their number in reject-class crops composed from them, and `pool_share`
    of their number drawn from `pool` (crops the reader cut from pages, used as they are);
    `reject_ones` of the reject pairs have a 1 for one of their two digits, `scribbles` of the
    reject crops are doodles."""
    n_digits = len(x)
    if cfg is not None:
        x = augment_batch(add_neighbours(add_styles(x, y, seed, cfg), seed, cfg), seed, cfg)
    parts_x, parts_y = [x], [y]
    n = int(reject_share * n_digits)
    if n:
        parts_x.append(make_negatives(x, y, n, np.random.default_rng(seed + 1), reject_ones, scribbles))
        parts_y.append(np.full(n, REJECT, y.dtype))
    if pool is not None and pool_share and len(pool[1]):
        pick = np.random.default_rng(seed + 2).permutation(len(pool[1]))[: int(pool_share * n_digits)]
        parts_x.append(pool[0][pick])
        parts_y.append(pool[1][pick].astype(y.dtype))
    return np.concatenate(parts_x), np.concatenate(parts_y)


class _Prefetch:
    """Computes the next epoch's training set on a thread while the current epoch trains."""

    def __init__(self, x: np.ndarray, y: np.ndarray, cfg: AugmentConfig, seed: int,
                 reject_share: float, pool: Pool | None = None, pool_share: float = 0.0,
                 reject_ones: float = 0.0, after: tuple[str, ...] = (),
                 scribbles: float = 0.0) -> None:
        self.x, self.y, self.cfg, self.seed, self.reject_share = x, y, cfg, seed, reject_share
        self.after = after  # input-convention steps made after the distortion (preprocess.adapt)
        self.reject_ones, self.scribbles = reject_ones, scribbles
        self.pool, self.pool_share = pool, pool_share
        self._result: tuple[np.ndarray, np.ndarray] | BaseException | None = None
        self._thread: threading.Thread | None = None

    def start(self, epoch: int, distorted: bool = True) -> None:
        def work() -> None:
            cfg = self.cfg if distorted else None
            try:
                x, y = epoch_data(self.x, self.y, self.seed * 1000 + epoch, cfg,
                                  self.reject_share, self.pool, self.pool_share, self.reject_ones,
                                  self.scribbles)
                self._result = adapt(x, self.after), y
            except BaseException as error:  # re-raised in the training loop, not lost on the thread
                self._result = error

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def get(self) -> tuple[np.ndarray, np.ndarray]:
        assert self._thread is not None
        self._thread.join()
        if isinstance(self._result, BaseException):
            raise self._result
        return self._result


def train(
    out_dir: str | Path = "models",
    mnist_path: str | Path | None = None,
    epochs: int = 30,
    batch_size: int = 128,
    seed: int = 0,
    limit: int | None = None,
    augment: AugmentConfig = AugmentConfig(),
    widths: tuple[int, int, int] = cnn.WIDTHS,
    name: str = "cnn",
    verbose: bool = False,
    deskew: bool = False,
    clean_epochs: int = 0,
    reject_share: float = REJECT_SHARE,
    pool: Pool | None = None,
    pool_share: float = 0.0,
    init: str | Path | None = None,
    peak_lr: float = 3e-3,
    pool_candidates: bool = False,
    reject_ones: float = 0.0,
    scribbles: float = 0.0,
    average_last: int = 0,
    teacher: str | Path | None = None,
    teacher_weight: float = 0.5,
    strokes: bool = False,
    moments: bool = False,
) -> dict:
    """Train, calibrate, export and evaluate; returns (and writes) the metrics record.

    The last `clean_epochs` epochs see the undistorted digits, at the schedule's lowest rates,
    so the model settles on real MNIST shapes after learning invariances from the distortions.
    `pool` (see pagecrops.py) mixes reader-cut crops in; `init` fine-tunes a saved .keras model
    instead of starting from random weights (use a lower `peak_lr` then). `pool_candidates` only
    records that the pool holds every scored cut, not only the final digits. `reject_ones`: the
    share of reject-class pairs with a 1 in them (a 1 stuck to its neighbour, the commonest merge);
    `scribbles`: the share of reject-class crops that are doodles (`negatives.scribble`).
    `average_last`: hold the learning rate at its peak after warm-up and ship the mean of the
    weights after each of the last this-many epochs (stochastic weight averaging, see
    `average_weights`) instead of annealing to one point. `teacher`: a model name or .onnx path
    (e.g. "ensemble") whose probabilities on each epoch's inputs make up `teacher_weight` of the
    targets, the true labels the rest (distillation: what several models agree on, in one).
    `strokes`: every input, distorted or not, is redrawn with one pen (`batch_normalize_strokes`).
    `moments`: every input, distorted or not, is placed and sized by its moments
    (`batch_moment_normalize`).
    """
    keras = cnn.import_keras(verbose)

    started = time.time()
    keras.utils.set_random_seed(seed)
    x_train_raw, y_train_raw, _, _ = load_mnist(mnist_path)
    hold, fit_idx = holdout_split(len(x_train_raw), seed, limit)
    print(f"preprocessing {len(fit_idx) + len(hold)} training digits...", flush=True)
    x_fit = batch_to_mnist(x_train_raw[fit_idx])
    y_fit = y_train_raw[fit_idx].astype(np.int64)
    x_val = batch_to_mnist(x_train_raw[hold])
    y_val = y_train_raw[hold].astype(np.int64)
    if deskew:  # the exported model tells Recognizer.prepare to deskew its inputs too
        x_fit, x_val = batch_deskew(x_fit), batch_deskew(x_val)
        pool = None if pool is None else (batch_deskew(pool[0]), pool[1])
    after = tuple(name for name, on in (("moments", moments), ("strokes", strokes)) if on)
    x_val = adapt(x_val, after)  # the training inputs are made so after their distortion (_Prefetch)

    if init:
        model = keras.models.load_model(init)
    else:
        model = cnn.build_model(widths, classes=11 if reject_share else 10)
    pooled = pool_share if pool is not None else 0.0
    steps = epochs * int(np.ceil(len(x_fit) * (1 + reject_share + pooled) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        peak_lr / 30, decay_steps=steps - steps // 20, warmup_target=peak_lr, warmup_steps=steps // 20,
        alpha=1.0 if average_last else 0.01,  # alpha 1: no decay, the average does the settling
    )
    if teacher is not None and (deskew or after or not reject_share):
        raise ValueError("distillation needs the reject class and inputs as to_mnist makes them"
                         " (no --deskew, --moments, --strokes or --no-reject)")
    teach = None if teacher is None else _teacher_targets(teacher, teacher_weight)
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
        loss="categorical_crossentropy" if teach else "sparse_categorical_crossentropy",
        metrics=["categorical_accuracy" if teach else "accuracy"],
    )
    prefetch = _Prefetch(x_fit, y_fit, augment, seed, reject_share, pool, pooled, reject_ones, after,
                         scribbles)
    prefetch.start(0, distorted=clean_epochs < epochs)
    history: dict[str, list[float]] = {}
    verbose = 1 if sys.stdout.isatty() else 2
    distorted_epochs = epochs - clean_epochs
    snapshots: list[list[np.ndarray]] = []
    for epoch in range(epochs):
        x_epoch, y_epoch = prefetch.get()
        note = "" if epoch < distorted_epochs else " (undistorted)"
        print(f"epoch {epoch + 1}/{epochs}{note}", flush=True)
        if epoch + 1 < epochs:
            prefetch.start(epoch + 1, distorted=epoch + 1 < distorted_epochs)
        targets, val_targets = y_epoch, y_val
        if teach is not None:
            targets, val_targets = teach(x_epoch, y_epoch), _one_hot(y_val)
        h = model.fit(
            x_epoch[..., None], targets, batch_size=batch_size, shuffle=True, epochs=epoch + 1,
            initial_epoch=epoch, validation_data=(x_val[..., None], val_targets), verbose=verbose,
        )
        for key, values in h.history.items():
            key = key.replace("categorical_accuracy", "accuracy")  # one name for the curves either way
            history.setdefault(key, []).extend(float(v) for v in values)
        if epoch >= epochs - average_last:
            snapshots.append(model.get_weights())
    if snapshots:
        average_weights(model, snapshots, x_epoch)
    train_seconds = time.time() - started
    record = {
        "epochs": epochs,
        "batch_size": batch_size,
        "train_digits": int(len(x_fit)),
        "wall_seconds": round(train_seconds, 1),
        "seed": seed,
        "widths": list(widths),
        "augment": asdict(augment),
        "deskew": deskew,
        "strokes": strokes,
        "moments": moments,
        "clean_epochs": clean_epochs,
        "reject_share": reject_share,
        "reject_ones": reject_ones,
        "scribbles": scribbles,
        "page_crops": 0 if pool is None else int(len(pool[1])),
        "page_crop_share": pooled,
        "page_crop_rejects": 0 if pool is None else int((pool[1] == REJECT).sum()),
        "page_crop_candidates": pool_candidates,
        "init": str(init) if init else None,
        "peak_lr": peak_lr,
        "limit": limit,
        "average_last": average_last,
        "teacher": str(teacher) if teacher else None,
        "teacher_weight": teacher_weight if teacher else None,
        "history": {k: [round(v, 5) for v in vals] for k, vals in history.items()},
    }
    parent = Path(init).with_suffix(".json") if init else None
    if parent is not None and parent.exists():  # the run it continues, so its curves stay on record
        record["parent"] = json.loads(parent.read_text())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{name}.keras")
    return finish(model, record, out_dir, name, mnist_path)


def _one_hot(y: np.ndarray, classes: int = REJECT + 1) -> np.ndarray:
    return np.eye(classes, dtype=np.float32)[y]


def _teacher_targets(teacher: str | Path, weight: float):
    """A function (inputs, labels) -> soft targets: `weight` of the teacher's eleven-class
    probabilities (the ten digits times "one digit", then the reject class), the rest one-hot."""
    from .reader import Recognizer

    backend = Recognizer.load(teacher).backend

    def targets(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        parts = []
        for start in range(0, len(x), 1024):  # a whole epoch at once would need gigabytes
            probs, single = backend.run(x[start:start + 1024], ("probs", "single"))
            parts.append(np.concatenate([probs * single[:, None], 1 - single[:, None]], axis=1))
        return (weight * np.concatenate(parts) + (1 - weight) * _one_hot(y)).astype(np.float32)

    return targets


def average_weights(model, snapshots: list[list[np.ndarray]], x: np.ndarray, batch: int = 256,
                    steps: int = 600) -> None:
    """Set the mean of the snapshots' weights, then re-estimate batch-norm statistics on `x`.

    The averaged weights are a point no snapshot visited, so the running means and variances the
    batch-norm layers kept belong to none of them: forward passes in training mode over the last
    epoch's data let the layers' own momentum settle them anew.
    """
    model.set_weights([np.mean(parts, axis=0) for parts in zip(*snapshots, strict=True)])
    rng = np.random.default_rng(0)
    for _ in range(steps):  # momentum 0.99: what 600 batches ago left weighs 0.2%
        model(x[rng.choice(len(x), min(batch, len(x)), replace=False)][..., None], training=True)


def finish(model, record: dict, out_dir: Path, name: str, mnist_path: str | Path | None) -> dict:
    """Export a trained model: calibrate on the hold-out, test, write the metrics file.

    `record` holds the training run's settings and history (what `train` measured); this adds
    what the exported model measures and writes both to `<name>.json`.
    """
    from .export import save_onnx
    from .reader import Recognizer

    started = time.time()
    x_train_raw, y_train_raw, x_test, y_test = load_mnist(mnist_path)
    data_hash = fingerprint(x_train_raw, y_train_raw, x_test, y_test)
    hold, _ = holdout_split(len(x_train_raw), record["seed"], record.get("limit"))
    if record.get("limit"):
        x_test, y_test = x_test[: record["limit"]], y_test[: record["limit"]]
    y_val = y_train_raw[hold].astype(np.int64)
    path = out_dir / f"{name}.onnx"
    convention = tuple(name for name in ADAPTATIONS if record.get(name))
    save_onnx(model, path, convention=convention)  # uncalibrated, to get logits for the fit
    uncalibrated = Recognizer.load(path)
    temperature = fit_temperature(uncalibrated.logits(uncalibrated.prepare(x_train_raw[hold])), y_val)
    save_onnx(model, path, temperature, convention)

    rec = Recognizer.load(out_dir / f"{name}.onnx")
    predictions = rec.predict(x_test)  # the public path the apps use (its input convention too)
    out = {
        "model": f"{name}.onnx",
        "test_accuracy": round(float((predictions == y_test).mean()), 5),
        "test_errors": int((predictions != y_test).sum()),
        "test_digits": int(len(y_test)),
        "holdout_accuracy": record["history"]["val_accuracy"][-1],
        "temperature": round(temperature, 4),
        "multiply_adds_per_digit": cnn.multiply_adds(model),
        "parameters": int(model.count_params()),
        "export_seconds": round(time.time() - started, 1),
        "data_sha256": data_hash,
        "versions": _versions(),
    }
    record = {**out, **{k: v for k, v in record.items() if k not in out}}
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


def export_again(out_dir: str | Path = "models", name: str = "cnn",
                 mnist_path: str | Path | None = None) -> dict:
    """Redo `finish` for a trained `<name>.keras` (after an exporter change), keeping its training record."""
    keras = cnn.import_keras()
    out_dir = Path(out_dir)
    record = json.loads((out_dir / f"{name}.json").read_text())
    model = keras.models.load_model(out_dir / f"{name}.keras")
    return finish(model, record, out_dir, name, mnist_path)


def holdout_split(n: int, seed: int, limit: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the hold-out digits and of the training digits (the same for a given seed)."""
    order = np.random.default_rng(seed).permutation(n)
    hold, fit_idx = order[:HOLDOUT], order[HOLDOUT:]
    if limit:
        fit_idx, hold = fit_idx[:limit], hold[: max(limit // 10, 100)]
    return hold, fit_idx


def _versions() -> dict[str, str]:
    import keras
    import onnxruntime
    import tensorflow as tf

    return {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "onnxruntime": onnxruntime.__version__,
    }
