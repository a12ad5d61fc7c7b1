"""The ONNX graph the apps run must compute what the Keras model computes."""

import numpy as np

from recognizer.cnn import build_model, multiply_adds
from recognizer.export import save_onnx
from recognizer.runtime import OnnxCnn
from recognizer.train import fit_temperature


def test_onnx_matches_keras_with_trained_batch_norm(tmp_path):
    import keras

    keras.utils.set_random_seed(1)
    model = build_model()
    rng = np.random.default_rng(0)
    for layer in model.layers:  # give batch norm non-trivial statistics to fold
        if layer.__class__.__name__ == "BatchNormalization":
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 2, n), rng.normal(0, 0.5, n), rng.normal(0, 0.5, n),
                               rng.uniform(0.5, 2, n)])
    x = rng.random((5, 28, 28)).astype(np.float32)
    expected = model(x[..., None], training=False).numpy()  # ten digits and the reject class
    runtime = OnnxCnn(save_onnx(model, tmp_path / "m.onnx"))
    probs, single, features, conv1 = runtime.run(x, ("probs", "single", "features", "conv1"))
    digits = expected[:, :10] / expected[:, :10].sum(axis=1, keepdims=True)
    assert np.allclose(probs, digits, atol=1e-5)
    assert np.allclose(single, 1 - expected[:, 10], atol=1e-5)
    assert features.shape == (5, 128) and conv1.shape[:2] == (5, 24)
    # the inner tensors come from a second session: the reading graph stays fused and fast
    assert {o.name for o in runtime.session.get_outputs()} == {"probs", "single", "logits"}
    assert np.allclose(runtime.run(x, ("probs",))[0], probs)
    assert 3_000_000 < multiply_adds(model) < 8_000_000


def test_big_batches_use_the_two_thread_session_with_the_same_answer(tmp_path):
    import keras

    keras.utils.set_random_seed(2)
    model = build_model(classes=10)
    x = np.random.default_rng(0).random((40, 28, 28)).astype(np.float32)
    runtime = OnnxCnn(save_onnx(model, tmp_path / "m.onnx"))
    small = np.concatenate([runtime.predict_proba(x[i : i + 8]) for i in range(0, 40, 8)])
    probs, single = runtime.proba_single(x)
    assert runtime._wide is not None  # 40 >= WIDE_BATCH digits went to the two-thread session
    assert np.allclose(probs, small, atol=1e-6)
    assert np.allclose(single, 1.0)  # a ten-class model has no reject class


def test_temperature_fit_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 10))
    p = np.exp(logits / 2.0)
    p /= p.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in p])
    assert abs(fit_temperature(logits, labels) - 2.0) < 0.2


def test_a_model_trained_deskewed_normalized_or_redrawn_makes_the_recognizer_prepare_so(tmp_path, mnist):
    import keras

    from recognizer import Recognizer
    from recognizer.preprocess import (
        batch_deskew,
        batch_moment_normalize,
        batch_normalize_strokes,
        batch_to_mnist,
    )

    keras.utils.set_random_seed(3)
    model = build_model()
    plain = Recognizer.load(save_onnx(model, tmp_path / "plain.onnx"))
    upright = Recognizer.load(save_onnx(model, tmp_path / "deskew.onnx", convention=("deskew",)))
    redrawn = Recognizer.load(save_onnx(model, tmp_path / "strokes.onnx", convention=("strokes",)))
    both = Recognizer.load(save_onnx(model, tmp_path / "both.onnx", convention=("moments", "deskew")))
    x = mnist["x_test"][:20]
    assert plain.backend.convention == () and upright.backend.convention == ("deskew",)
    assert redrawn.backend.convention == ("strokes",)
    assert both.backend.convention == ("deskew", "moments")  # always in preprocess.ADAPTATIONS' order
    assert np.allclose(plain.prepare(x), batch_to_mnist(x))
    assert np.allclose(upright.prepare(x), batch_deskew(batch_to_mnist(x)))
    assert np.allclose(redrawn.prepare(x), batch_normalize_strokes(batch_to_mnist(x)))
    assert np.allclose(both.prepare(x), batch_moment_normalize(batch_deskew(batch_to_mnist(x))))
