"""A tiny end-to-end run of the training script: files written, metrics recorded, model loadable."""

import json
import subprocess
import sys

from recognizer import Recognizer


def test_train_script_smoke(tmp_path):
    out = subprocess.run(
        [sys.executable, "scripts/train_cnn.py", "--epochs", "1", "--limit", "600", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    record = json.loads((tmp_path / "cnn.json").read_text())
    for key in ("test_accuracy", "epochs", "wall_seconds", "seed", "versions", "data_sha256", "temperature"):
        assert key in record
    assert (tmp_path / "cnn.keras").exists()
    rec = Recognizer.load(tmp_path / "cnn.onnx")
    assert rec.predict_proba([__import__("numpy").eye(28) * 255]).shape == (1, 10)


def test_a_run_trained_on_normalized_redrawn_inputs_says_so_to_the_recognizer(tmp_path):
    out = subprocess.run(
        [sys.executable, "scripts/train_cnn.py", "--epochs", "1", "--limit", "300", "--strokes", "--moments",
         "--out", str(tmp_path), "--name", "redrawn"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    record = json.loads((tmp_path / "redrawn.json").read_text())
    assert record["strokes"] is True and record["moments"] is True and record["deskew"] is False
    # its inputs are normalized, then redrawn, as its training digits were
    assert Recognizer.load(tmp_path / "redrawn.onnx").backend.convention == ("moments", "strokes")


def test_average_weights_takes_the_mean_and_refreshes_batch_norm():
    import numpy as np

    from recognizer import cnn
    from recognizer.train import average_weights

    cnn.import_keras()
    model = cnn.build_model((4, 4, 4))
    first = model.get_weights()
    second = [w + 1.0 for w in first]
    x = np.random.default_rng(0).random((64, 28, 28)).astype(np.float32)
    average_weights(model, [first, second], x, batch=32, steps=50)
    bn = next(layer for layer in model.layers if "batch_normalization" in layer.name)
    trainable = {id(v) for v in model.trainable_weights}
    for var, a in zip(model.weights, first, strict=True):
        if id(var) in trainable:  # kernels, gammas, betas: the mean of the two snapshots
            assert np.allclose(var.numpy(), a + 0.5, atol=1e-5)
    # the running mean follows the data the averaged weights produce, not either snapshot's value
    index = [id(v) for v in model.weights].index(id(bn.moving_mean))
    assert not np.allclose(bn.moving_mean.numpy(), first[index] + 0.5, atol=1e-3)


def test_teacher_targets_mix_the_teachers_eleven_classes_with_the_labels():
    import numpy as np

    from recognizer.preprocess import batch_to_mnist
    from recognizer.train import _teacher_targets

    x = batch_to_mnist([np.eye(28, dtype=np.float32) * 255, np.fliplr(np.eye(28, dtype=np.float32)) * 255])
    y = np.array([1, 10])  # a digit and the reject class
    soft = _teacher_targets("cnn", 0.7)(x, y)
    assert soft.shape == (2, 11)
    assert np.allclose(soft.sum(axis=1), 1.0, atol=1e-5)
    assert (soft[np.arange(2), y] >= 0.3 - 1e-6).all()  # the label keeps at least its 30%
    assert np.allclose(_teacher_targets("cnn", 0.0)(x, y), np.eye(11)[y])
