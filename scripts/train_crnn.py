"""Train the string reader: `python scripts/train_crnn.py [--epochs 24] [--strings 80000] [--mnist PATH]`.

Writes models/strings.keras, models/strings.onnx (what the reader runs) and models/strings.json
(what this run measured). Training strings are composed each epoch from freshly distorted MNIST
**train** digits (recognizer/strings.py); the CNN's 5,000 hold-out digits (seed 0) are kept out
and make the validation strings. Runs on the CPU; a GPU is used when TensorFlow finds one.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from recognizer import crnn  # noqa: E402
from recognizer.augment import AugmentConfig, add_styles, augment_batch  # noqa: E402
from recognizer.cnn import import_keras  # noqa: E402
from recognizer.data import fingerprint, load_mnist  # noqa: E402
from recognizer.strings import STEP, compose_strings, stack_strips  # noqa: E402
from recognizer.train import holdout_split  # noqa: E402

# The digit CNN's augmentation without neighbour edges (a string's neighbours are really there),
# as it was when this was trained: feet on 30% of the flagged 1s (the CNN's last fine-tuning: 60%).
AUGMENT = AugmentConfig(neighbour_prob=0.0, flag_one_prob=0.35, flag_max=0.9, foot_one_prob=0.3,
                        slash_upright=0.5)


def epoch_strings(x: np.ndarray, y: np.ndarray, count: int, seed: int
                  ) -> tuple[list[np.ndarray], list[list[int]]]:
    """One epoch's strips: the digits styled and distorted afresh with `seed`, then composed."""
    x = augment_batch(add_styles(x, y, seed, AUGMENT), seed, AUGMENT)
    return compose_strings(x, y, count, seed)


def batches(strips: list[np.ndarray], texts: list[list[int]], size: int, rng: np.random.Generator):
    """Batches of strips of similar width (little padding), in random order."""
    order = np.argsort([s.shape[1] + rng.uniform(0, STEP) for s in strips])
    chunks = [order[i : i + size] for i in range(0, len(order), size)]
    for k in rng.permutation(len(chunks)):
        idx = chunks[k]
        batch, widths = stack_strips([strips[i] for i in idx])
        lengths = np.array([len(texts[i]) for i in idx], np.int32)
        labels = np.zeros((len(idx), int(lengths.max())), np.int32)
        for row, i in enumerate(idx):
            labels[row, : len(texts[i])] = texts[i]
        yield batch[..., None], labels, lengths, (widths // STEP).astype(np.int32)


def evaluate(model, strips: list[np.ndarray], texts: list[list[int]]) -> dict[str, float]:
    """Exact strings and right digit counts, greedy decoding with the Keras model."""
    got = []
    for start in range(0, len(strips), 256):
        batch, widths = stack_strips(strips[start : start + 256])
        logits = np.asarray(model(batch[..., None], training=False))
        probs = np.exp(logits - logits.max(axis=2, keepdims=True))
        probs /= probs.sum(axis=2, keepdims=True)
        got += [crnn.ctc_decode(p, int(widths[k]) // STEP)[0] for k, p in enumerate(probs)]
    return crnn.string_scores(got, texts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=24)
    parser.add_argument("--strings", type=int, default=80000, help="training strings per epoch")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--peak-lr", type=float, default=2e-3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--mnist", help="path to mnist.npz (default: $MNIST_NPZ, ../shared, download)")
    parser.add_argument("--out", default="models")
    parser.add_argument("--name", default="strings")
    args = parser.parse_args()

    keras = import_keras()
    import tensorflow as tf

    from recognizer.export import crnn_to_onnx

    started = time.time()
    keras.utils.set_random_seed(args.seed)
    x_raw, y_raw, x_test, y_test = load_mnist(args.mnist)
    hold, fit_idx = holdout_split(len(x_raw), 0)  # the digit CNN's hold-out (seed 0) stays unseen
    x_fit, y_fit = x_raw[fit_idx].astype(np.float32) / 255, y_raw[fit_idx].astype(np.int64)
    val = compose_strings(x_raw[hold], y_raw[hold], 3000, 10_000)
    test = compose_strings(x_test, y_test, 5000, 20_000)

    model = crnn.build_crnn()
    steps_per_epoch = -(-args.strings // args.batch_size)
    total = args.epochs * steps_per_epoch
    schedule = keras.optimizers.schedules.CosineDecay(
        args.peak_lr / 30, decay_steps=total - total // 20, warmup_target=args.peak_lr,
        warmup_steps=total // 20, alpha=0.01)
    optimizer = keras.optimizers.AdamW(schedule, weight_decay=1e-4)

    spec = [tf.TensorSpec([None, None, None, 1], tf.float32), tf.TensorSpec([None, None], tf.int32),
            tf.TensorSpec([None], tf.int32), tf.TensorSpec([None], tf.int32)]

    @tf.function(input_signature=spec)
    def step(x, labels, label_len, logit_len):
        with tf.GradientTape() as tape:
            logits = model(x, training=True)
            loss = tf.reduce_mean(tf.nn.ctc_loss(labels, logits, label_len, logit_len,
                                                 logits_time_major=False, blank_index=crnn.BLANK))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
        return loss

    def make(epoch: int, out: dict) -> None:
        out["data"] = epoch_strings(x_fit, y_fit, args.strings, args.seed * 1000 + epoch)

    history: dict[str, list[float]] = {"loss": [], "val_exact": [], "val_count": []}
    pending: dict = {}
    worker = threading.Thread(target=make, args=(0, pending))
    worker.start()
    for epoch in range(args.epochs):
        worker.join()
        strips, texts = pending["data"]
        if epoch + 1 < args.epochs:
            pending = {}
            worker = threading.Thread(target=make, args=(epoch + 1, pending))
            worker.start()
        t0, losses = time.time(), []
        rng = np.random.default_rng(epoch)
        for x, labels, lengths, steps in batches(strips, texts, args.batch_size, rng):
            losses.append(float(step(x, labels, lengths, steps)))
        scores = evaluate(model, *val)
        history["loss"].append(round(float(np.mean(losses)), 4))
        history["val_exact"].append(round(scores["exact"], 4))
        history["val_count"].append(round(scores["count"], 4))
        print(f"epoch {epoch + 1}/{args.epochs}: loss {np.mean(losses):.4f}, hold-out strings exact "
              f"{scores['exact']:.2%}, right count {scores['count']:.2%} ({time.time() - t0:.0f} s)",
              flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / f"{args.name}.keras")
    import onnx

    onnx.save(crnn_to_onnx(model), str(out / f"{args.name}.onnx"))
    from recognizer.runtime import OnnxStrings

    reader = OnnxStrings(out / f"{args.name}.onnx")
    test_scores = reader.score(*test)
    record = {
        "model": f"{args.name}.onnx",
        "test_strings_exact": round(test_scores["exact"], 5),
        "test_strings_count": round(test_scores["count"], 5),
        "test_strings": len(test[0]),
        "holdout_strings_exact": history["val_exact"][-1],
        "parameters": int(model.count_params()),
        "epochs": args.epochs,
        "strings_per_epoch": args.strings,
        "batch_size": args.batch_size,
        "peak_lr": args.peak_lr,
        "seed": args.seed,
        "wall_seconds": round(time.time() - started, 1),
        "data_sha256": fingerprint(x_raw, y_raw, x_test, y_test),
        "history": history,
    }
    (out / f"{args.name}.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"MNIST test strings: exact {test_scores['exact']:.2%}, right count {test_scores['count']:.2%}; "
          f"{record['wall_seconds']:.0f} s")


if __name__ == "__main__":
    main()
