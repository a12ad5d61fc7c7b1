"""Train the shipped CNN: `python scripts/train_cnn.py [--epochs 40] [--mnist PATH]`.

Writes models/cnn.keras, models/cnn.onnx (what the apps run) and models/cnn.json (the metrics
this run measured). Runs on the CPU; a GPU is used when TensorFlow finds one.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recognizer.augment import AugmentConfig  # noqa: E402
from recognizer.cnn import WIDTHS  # noqa: E402
from recognizer.negatives import REJECT  # noqa: E402
from recognizer.train import REJECT_SHARE, Pool, export_again, train  # noqa: E402


def page_crop_pool(args: argparse.Namespace) -> Pool:
    """The reader's crops from pages made of this seed's training digits (never the hold-out)."""
    from recognizer.data import load_mnist
    from recognizer.pagecrops import page_crops
    from recognizer.reader import Recognizer
    from recognizer.train import holdout_split

    if args.pool_file and Path(args.pool_file).exists():
        with np.load(args.pool_file) as saved:
            return saved["x"], saved["y"]
    started = time.time()
    x, y, _, _ = load_mnist(args.mnist)
    _, fit_idx = holdout_split(len(x), args.seed, args.limit)
    pool = page_crops(Recognizer.load(args.crop_model), x[fit_idx], y[fit_idx], args.page_crops, args.seed,
                      candidates=args.candidate_crops)
    rejects = int((pool[1] == REJECT).sum())
    print(f"{len(pool[1])} page crops ({rejects} rejects) from {args.page_crops} pages in "
          f"{time.time() - started:.0f} s", flush=True)
    if args.pool_file:
        np.savez_compressed(args.pool_file, x=pool[0], y=pool[1])
    return pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--clean-epochs", type=int, default=3, help="final epochs without distortion")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", help="path to mnist.npz (default: $MNIST_NPZ, ../shared, download)")
    parser.add_argument("--out", default="models", help="output folder (default: models)")
    parser.add_argument("--name", default="cnn", help="file stem of the outputs (default: cnn)")
    parser.add_argument("--limit", type=int, help="train on this many digits only (smoke tests)")
    parser.add_argument("--no-augment", action="store_true", help="plain MNIST (ablation)")
    parser.add_argument("--box-fill", type=float, default=AugmentConfig().box_fill_prob,
                        help="share of digits widened toward a square box (default: %(default)s)")
    parser.add_argument("--neighbour", type=float, default=AugmentConfig().neighbour_prob,
                        help="share of digits cut from a touching pair with a neighbour's edge left in"
                        " (default: %(default)s)")
    parser.add_argument("--flag-one", type=float, default=AugmentConfig().flag_one_prob,
                        help="share of 1s given a lead-in flag (default: %(default)s)")
    parser.add_argument("--flag-max", type=float, default=AugmentConfig().flag_max,
                        help="longest flag, as a share of the 1's height (default: %(default)s)")
    parser.add_argument("--foot-one", type=float, default=AugmentConfig().foot_one_prob,
                        help="share of flagged 1s also given a base bar (default: %(default)s)")
    parser.add_argument("--slash-upright", type=float, default=AugmentConfig().slash_upright,
                        help="share of slashed 0s struck upright, like a phi (default: %(default)s)")
    parser.add_argument("--slash-level", type=float, default=AugmentConfig().slash_level,
                        help="share of slashed 0s struck level across, like a theta (default: %(default)s)")
    parser.add_argument("--curl-nine", type=float, default=AugmentConfig().curl_nine_prob,
                        help="share of 9s whose tail curls back left (default: %(default)s)")
    parser.add_argument("--bar-off-five", type=float, default=AugmentConfig().bar_off_five_prob,
                        help="share of 5s whose top bar is lost (default: %(default)s)")
    parser.add_argument("--deskew", action="store_true", help="shear every digit upright first")
    parser.add_argument("--moments", action="store_true",
                        help="place and size every input by its moments (preprocess.batch_moment_normalize)")
    parser.add_argument("--strokes", action="store_true",
                        help="redraw every input with one pen (preprocess.batch_normalize_strokes)")
    parser.add_argument("--widths", default=",".join(map(str, WIDTHS)),
                        help="channels of the three convolution stages (default: %(default)s)")
    parser.add_argument("--no-reject", action="store_true", help="ten classes, no reject class (ablation)")
    parser.add_argument("--reject-share", type=float, default=REJECT_SHARE,
                        help="reject-class crops per training digit each epoch (default: %(default)s)")
    parser.add_argument("--reject-ones", type=float, default=0.0,
                        help="share of reject-class pairs with a 1 on one side (default: %(default)s)")
    parser.add_argument("--scribbles", type=float, default=0.0,
                        help="share of reject-class crops that are doodles (default: %(default)s)")
    parser.add_argument("--page-crops", type=int, default=0, metavar="PAGES",
                        help="read this many synthetic pages of training digits with --crop-model and"
                        " mix the reader's crops in (see recognizer/pagecrops.py; default: none)")
    parser.add_argument("--candidate-crops", action="store_true",
                        help="keep every piece the reader scored on those pages, the cuts it turned down"
                        " too (their wrong cuts teach the reject class), not only its final digits")
    parser.add_argument("--page-crop-share", type=float, default=0.3,
                        help="page crops per training digit each epoch (default: %(default)s)")
    parser.add_argument("--crop-model", default="models/cnn_boxfill.onnx",
                        help="the model whose reader cuts the page crops; it must take its inputs as to_mnist"
                        " makes them (no --deskew, --moments, --strokes; default: %(default)s)")
    parser.add_argument("--pool-file", help="keep the page crops in this .npz: read it if it exists,"
                        " else write it (saves re-reading the pages across runs of one seed)")
    parser.add_argument("--init", help="fine-tune this .keras model instead of random weights")
    parser.add_argument("--peak-lr", type=float, default=3e-3, help="learning rate after warm-up")
    parser.add_argument("--average-last", type=int, default=0, metavar="K",
                        help="constant rate after warm-up; ship the mean weights of the last K epochs")
    parser.add_argument("--teacher", help="distil: a model name or .onnx (e.g. ensemble) whose probabilities"
                        " make up --teacher-weight of the targets")
    parser.add_argument("--teacher-weight", type=float, default=0.5)
    parser.add_argument("--export-only", action="store_true",
                        help="redo calibration, ONNX export and test of OUT/NAME.keras")
    parser.add_argument("--verbose", action="store_true", help="show TensorFlow's log lines")
    args = parser.parse_args()
    if args.export_only:
        record = export_again(args.out, args.name, args.mnist)
    else:
        augment = AugmentConfig.none() if args.no_augment else AugmentConfig(
            box_fill_prob=args.box_fill, neighbour_prob=args.neighbour, flag_one_prob=args.flag_one,
            flag_max=args.flag_max, foot_one_prob=args.foot_one, curl_nine_prob=args.curl_nine,
            slash_upright=args.slash_upright, slash_level=args.slash_level,
            bar_off_five_prob=args.bar_off_five)
        pool = page_crop_pool(args) if args.page_crops else None
        record = train(
            args.out, args.mnist, args.epochs, args.batch_size, args.seed, args.limit, augment,
            name=args.name, verbose=args.verbose, clean_epochs=args.clean_epochs,
            reject_share=0.0 if args.no_reject else args.reject_share, deskew=args.deskew,
            widths=tuple(int(v) for v in args.widths.split(",")),
            pool=pool, pool_share=args.page_crop_share, init=args.init, peak_lr=args.peak_lr,
            pool_candidates=bool(pool is not None and args.candidate_crops), reject_ones=args.reject_ones,
            scribbles=args.scribbles, average_last=args.average_last, teacher=args.teacher,
            teacher_weight=args.teacher_weight,
            strokes=args.strokes, moments=args.moments,
        )
    print(
        f"test accuracy {record['test_accuracy']:.4%} ({record['test_errors']} errors of "
        f"{record['test_digits']}), {record['wall_seconds']:.0f} s, T={record['temperature']}"
    )


if __name__ == "__main__":
    main()
