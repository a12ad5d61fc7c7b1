"""Ablation of the training and preprocessing options, on short runs.

`python scripts/ablate.py [--epochs 5] [--limit 20000] [--only NAME ...] [--out reports/ablation.json]`

Each variant trains the same CNN for a few epochs on a subset of MNIST train, then is scored on
the MNIST train hold-out, USPS train (the validation set used to choose options), and, for the
record, MNIST test, USPS test, Semeion and the UNIPEN drawings. Short runs rank options; the
shipped model is then trained for the full schedule with the chosen ones.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from recognizer import Recognizer  # noqa: E402
from recognizer.augment import AugmentConfig  # noqa: E402
from recognizer.evalsets import load_set  # noqa: E402
from recognizer.preprocess import ADAPTATIONS  # noqa: E402
from recognizer.train import REJECT_SHARE, train  # noqa: E402

SHIPPED = AugmentConfig()  # what scripts/train_cnn.py uses
STYLED = replace(SHIPPED, neighbour_prob=0.0)  # the shipped set before neighbour edges were added
NO_STYLES = replace(STYLED, slash_zero_prob=0.0, flag_one_prob=0.0)
BASE = replace(NO_STYLES, stretch=0.0, lowres_prob=0.0)  # affine + elastic + thickness
VARIANTS = {  # name: (augmentation, reject-class share, input convention: steps of preprocess.adapt)
    "plain": (AugmentConfig.none(), 0.0, ()),
    "affine": (replace(BASE, elastic_prob=0.0, thickness_prob=0.0), 0.0, ()),
    "affine+elastic": (replace(BASE, thickness_prob=0.0), 0.0, ()),
    "affine+elastic+thickness": (BASE, 0.0, ()),
    "+stretch": (replace(BASE, stretch=SHIPPED.stretch), 0.0, ()),
    "+lowres": (replace(BASE, lowres_prob=SHIPPED.lowres_prob), 0.0, ()),
    "+stretch+lowres": (NO_STYLES, 0.0, ()),
    "+stretch+lowres+styles": (STYLED, 0.0, ()),
    "+styles+reject": (STYLED, REJECT_SHARE, ()),
    "+styles+reject+deskew": (STYLED, REJECT_SHARE, ("deskew",)),
    "+styles+reject+neighbours": (SHIPPED, REJECT_SHARE, ()),
    "+styles+reject+neighbours+strokes": (SHIPPED, REJECT_SHARE, ("strokes",)),
    "+styles+reject+neighbours+moments": (SHIPPED, REJECT_SHARE, ("moments",)),
    "+styles+reject+neighbours+deskew+moments": (SHIPPED, REJECT_SHARE, ("deskew", "moments")),
}
SETS = ("usps_train", "usps", "semeion", "unipen")


def score(rec: Recognizer, images, labels: np.ndarray) -> float:
    """Accuracy through the public path (a deskew-trained model deskews its inputs itself)."""
    return float((rec.predict(images) == labels).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--limit", type=int, default=15000, help="MNIST train digits per run")
    parser.add_argument("--only", nargs="*", choices=list(VARIANTS), help="run only these variants")
    parser.add_argument("--work", default="/tmp/ablation", help="folder for the short runs' models")
    parser.add_argument("--out", default=str(ROOT / "reports" / "ablation.json"))
    args = parser.parse_args()

    eval_sets = {name: load_set(name) for name in SETS}
    out_path = Path(args.out)
    results = json.loads(out_path.read_text()) if out_path.exists() else {}
    for name in args.only or list(VARIANTS):
        cfg, reject_share, convention = VARIANTS[name]
        started = time.time()
        work = Path(args.work) / "".join(c if c.isalnum() else "_" for c in name)
        record = train(work, epochs=args.epochs, limit=args.limit, augment=cfg, seed=0,
                       reject_share=reject_share, **{step: step in convention for step in ADAPTATIONS})
        rec = Recognizer.load(work / "cnn.onnx")
        row = {"mnist_holdout": record["holdout_accuracy"], "mnist_test": record["test_accuracy"]}
        row.update({s: round(score(rec, *eval_sets[s]), 5) for s in SETS})
        row["seconds"] = round(time.time() - started, 1)
        results[name] = row
        print(name, row, flush=True)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        ordered = {k: results[k] for k in VARIANTS if k in results}
        out_path.write_text(json.dumps({"epochs": args.epochs, "limit": args.limit, **ordered}, indent=2))
    print(f"{'variant':<36}" + "".join(f"{k:>14}" for k in ("mnist_holdout", "mnist_test", *SETS)))
    for name, row in results.items():
        if isinstance(row, dict):
            print(f"{name:<36}" + "".join(f"{row[k]:>14.4f}" for k in ("mnist_holdout", "mnist_test", *SETS)))


if __name__ == "__main__":
    main()
