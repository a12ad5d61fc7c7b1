"""The real-handwriting evaluation sets, as digit images ready for `Recognizer.predict`.

None of these is ever trained on. USPS train serves as the validation set for choosing among
training options; the pen-trajectory sets are rendered as drawings with the app's own pen
(recognizer.strokes), so their figures predict what the drawing app will do.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .data import dataset_path, load_npz

UNIPEN_SAMPLE = 3000  # a fixed random sample keeps the report quick; the seed fixes which digits
SAMPLE_SEED = 0

DESCRIPTIONS = {
    "mnist": "MNIST test (10,000; the training distribution)",
    "usps_train": "USPS train (7,291 envelope scans, 16x16; validation for choosing options)",
    "usps": "USPS test (2,007 envelope scans, 16x16)",
    "semeion": "Semeion (1,593 binary 16x16 scans, stretched to the box)",
    "unipen": f"UNIPEN 1a pen trajectories drawn with the app's pen ({UNIPEN_SAMPLE:,} sampled, 268 writers)",
    "pendigits": "UCI pendigits test (3,498; 8-point polylines drawn with the app's pen)",
}
ALL = tuple(DESCRIPTIONS)


def _render(strokes_list: Iterable[list[np.ndarray]]) -> list[np.ndarray]:
    from .strokes import digit_replay, render_strokes

    images = []
    for strokes in strokes_list:
        placed, size = digit_replay(strokes)
        images.append(render_strokes(placed, size))
    return images


def load_set(name: str, limit: int | None = None) -> tuple[list[np.ndarray] | np.ndarray, np.ndarray]:
    """(images, labels) of one evaluation set; `limit` keeps the first N (for quick runs)."""
    if name in ("mnist", "usps", "semeion", "usps_train"):
        base = "usps" if name == "usps_train" else name
        path = dataset_path(base)
        if path is None:
            raise FileNotFoundError(f"{base}.npz not found (set ${base.upper()}_NPZ)")
        data = load_npz(path)
        split = "train" if name == "usps_train" else "test"
        x, y = data[f"x_{split}"], data[f"y_{split}"].astype(np.int64)
        return (x[:limit], y[:limit]) if limit else (x, y)
    if name == "unipen":
        from .strokes import load_unipen

        unipen = load_unipen()
        idx = np.random.default_rng(SAMPLE_SEED).choice(len(unipen), UNIPEN_SAMPLE, replace=False)
        idx = idx[:limit] if limit else idx
        return _render(unipen.strokes(int(j)) for j in idx), unipen.labels[idx]
    if name == "pendigits":
        path = dataset_path("pendigits_8pt")
        if path is None:
            raise FileNotFoundError("pendigits_8pt.npz not found (set $PENDIGITS_8PT_NPZ)")
        data = load_npz(path)
        x, y = data["x_test"].astype(np.float32), data["y_test"].astype(np.int64)
        x, y = (x[:limit], y[:limit]) if limit else (x, y)
        return _render([pts] for pts in x), y
    raise ValueError(f"unknown evaluation set {name!r}; expected one of {', '.join(ALL)}")
