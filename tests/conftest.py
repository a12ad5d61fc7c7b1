"""Shared fixtures: the local datasets in ../shared/datasets and the loaded models."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from recognizer.data import dataset_path, load_npz  # noqa: E402
from recognizer.reader import MODELS_DIR, Recognizer  # noqa: E402


def _dataset(name: str) -> dict[str, np.ndarray]:
    path = dataset_path(name)
    if path is None or not path.exists():
        pytest.skip(f"{name}.npz not found in ../shared/datasets")
    return load_npz(path)


@pytest.fixture(scope="session")
def mnist() -> dict[str, np.ndarray]:
    return _dataset("mnist")


@pytest.fixture(scope="session")
def usps() -> dict[str, np.ndarray]:
    return _dataset("usps")


@pytest.fixture(scope="session")
def semeion() -> dict[str, np.ndarray]:
    return _dataset("semeion")


@pytest.fixture(scope="session")
def cnn() -> Recognizer:
    if not (MODELS_DIR / "cnn.onnx").exists():
        pytest.fail("models/cnn.onnx is missing: train it with `python scripts/train_cnn.py`")
    return Recognizer.load("cnn")


@pytest.fixture(scope="session")
def svc() -> Recognizer:
    return Recognizer.load("svc")
