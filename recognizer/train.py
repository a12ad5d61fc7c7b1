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
from .augment import AugmentConfig, augment_batch
from .data import fingerprint, load_mnist
from .preprocess import batch_to_mnist
from .preprocess import deskew as deskew_digit

HOLDOUT = 5000  # MNIST train digits kept out of training for validation and calibration


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The softmax temperature that minimizes the negative log-likelihood (Guo et al. 2017)."""
    from scipy.optimize import minimize_scalar

    def nll(t: float) -> float:
        z = logits / t
        z = z - z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(labels)), labels].mean())

    return float(minimize_scalar(nll, bounds=(0.05, 20.0), method="bounded").x)


class _Prefetch:
    """Computes the next epoch's augmentation on a thread while the current epoch trains."""

    def __init__(self, x: np.ndarray, cfg: AugmentConfig, seed: int) -> None:
        self.x, self.cfg, self.seed = x, cfg, seed
        self._result: np.ndarray | None = None
        self._thread: threading.Thread | None = None

    def start(self, epoch: int) -> None:
        def work() -> None:
            self._result = augment_batch(self.x, self.seed * 1000 + epoch, self.cfg)

        self._thread = threading.Thread(target=work, daemon=True)
        self._thread.start()

    def get(self) -> np.ndarray:
        assert self._thread is not None
        self._thread.join()
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
) -> dict:
    """Train, calibrate, export and evaluate; returns (and writes) the metrics record.

    The last `clean_epochs` epochs see the undistorted digits, at the schedule's lowest rates,
    so the model settles on real MNIST shapes after learning invariances from the distortions.
    """
    keras = cnn.import_keras(verbose)

    from .export import save_onnx
    from .reader import Recognizer

    started = time.time()
    keras.utils.set_random_seed(seed)
    x_train_raw, y_train_raw, x_test, y_test = load_mnist(mnist_path)
    data_hash = fingerprint(x_train_raw, y_train_raw, x_test, y_test)
    order = np.random.default_rng(seed).permutation(len(x_train_raw))
    hold, fit_idx = order[:HOLDOUT], order[HOLDOUT:]
    if limit:
        fit_idx, hold = fit_idx[:limit], hold[: max(limit // 10, 100)]
        x_test, y_test = x_test[:limit], y_test[:limit]
    print(f"preprocessing {len(fit_idx) + len(hold)} training digits...", flush=True)
    x_fit = batch_to_mnist(x_train_raw[fit_idx])
    y_fit = y_train_raw[fit_idx].astype(np.int64)
    x_val = batch_to_mnist(x_train_raw[hold])
    y_val = y_train_raw[hold].astype(np.int64)
    if deskew:  # ablation only: the apps' pipeline does not deskew (see scripts/ablate.py)
        x_fit, x_val = (np.stack([deskew_digit(d) for d in xs]) for xs in (x_fit, x_val))

    model = cnn.build_model(widths)
    steps = epochs * int(np.ceil(len(x_fit) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(
        1e-4, decay_steps=steps - steps // 20, warmup_target=3e-3, warmup_steps=steps // 20,
        alpha=0.01,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(schedule, weight_decay=1e-4),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    prefetch = _Prefetch(x_fit, augment, seed)
    prefetch.start(0)
    history: dict[str, list[float]] = {}
    verbose = 1 if sys.stdout.isatty() else 2
    distorted_epochs = epochs - clean_epochs
    for epoch in range(epochs):
        x_epoch = prefetch.get() if epoch < distorted_epochs else x_fit
        note = "" if epoch < distorted_epochs else " (undistorted)"
        print(f"epoch {epoch + 1}/{epochs}{note}", flush=True)
        if epoch + 1 < distorted_epochs:
            prefetch.start(epoch + 1)
        h = model.fit(
            x_epoch[..., None], y_fit, batch_size=batch_size, epochs=epoch + 1,
            initial_epoch=epoch, validation_data=(x_val[..., None], y_val), verbose=verbose,
        )
        for key, values in h.history.items():
            history.setdefault(key, []).extend(float(v) for v in values)
    train_seconds = time.time() - started

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / f"{name}.keras")
    save_onnx(model, out_dir / f"{name}.onnx")  # uncalibrated, to get logits for the fit
    logits = Recognizer.load(out_dir / f"{name}.onnx").logits(x_val)
    temperature = fit_temperature(logits, y_val)
    save_onnx(model, out_dir / f"{name}.onnx", temperature)

    rec = Recognizer.load(out_dir / f"{name}.onnx")
    if deskew:
        x_prepared = np.stack([deskew_digit(d) for d in batch_to_mnist(x_test)])
        predictions = rec.proba_prepared(x_prepared).argmax(axis=1)
    else:
        predictions = rec.predict(x_test)  # the public path the apps use
    test_accuracy = float((predictions == y_test).mean())
    record = {
        "model": f"{name}.onnx",
        "test_accuracy": round(test_accuracy, 5),
        "test_errors": int((predictions != y_test).sum()),
        "test_digits": int(len(y_test)),
        "holdout_accuracy": round(history["val_accuracy"][-1], 5),
        "temperature": round(temperature, 4),
        "epochs": epochs,
        "batch_size": batch_size,
        "train_digits": int(len(x_fit)),
        "wall_seconds": round(train_seconds, 1),
        "seed": seed,
        "widths": list(widths),
        "multiply_adds_per_digit": cnn.multiply_adds(model),
        "parameters": int(model.count_params()),
        "augment": asdict(augment),
        "deskew": deskew,
        "clean_epochs": clean_epochs,
        "data_sha256": data_hash,
        "versions": _versions(),
        "history": {k: [round(v, 5) for v in vals] for k, vals in history.items()},
    }
    (out_dir / f"{name}.json").write_text(json.dumps(record, indent=2) + "\n")
    return record


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
