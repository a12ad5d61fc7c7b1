"""Dataset loading: an explicit path, else an environment variable, else the standard download.

Tests and CI read the local copies in ../shared/datasets; users without them get Keras' MNIST
download. Nothing here is imported by the apps at run time.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

SHARED_DATASETS = Path(__file__).resolve().parent.parent.parent / "shared" / "datasets"


def dataset_path(name: str, path: str | Path | None = None) -> Path | None:
    """Where `name` (e.g. "mnist") lives: `path`, $<NAME>_NPZ, ../shared/datasets, or None."""
    if path:
        return Path(path)
    env = os.environ.get(f"{name.upper()}_NPZ")
    if env:
        return Path(env)
    shared = SHARED_DATASETS / f"{name}.npz"
    return shared if shared.exists() else None


def load_npz(path: str | Path) -> dict[str, np.ndarray]:
    """All arrays of an .npz file (no pickles), with a clear error when it is missing."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"dataset not found: {path}")
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files}


def load_mnist(path: str | Path | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_test, y_test) as uint8, from a local npz or the standard download."""
    local = dataset_path("mnist", path)
    if local is not None:
        d = load_npz(local)
        return d["x_train"], d["y_train"], d["x_test"], d["y_test"]
    import keras  # the standard download, for users without a local copy

    (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    return x_train, y_train, x_test, y_test


def fingerprint(*arrays: np.ndarray) -> str:
    """A short SHA-256 of the arrays' bytes, recorded with each trained model."""
    digest = hashlib.sha256()
    for a in arrays:
        digest.update(np.ascontiguousarray(a).tobytes())
    return digest.hexdigest()[:16]
