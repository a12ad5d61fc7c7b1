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
    assert 3_000_000 < multiply_adds(model) < 8_000_000


def test_int8_model_agrees_with_the_float_model(tmp_path):
    import keras

    from recognizer.export import quantize_int8

    keras.utils.set_random_seed(2)
    model = build_model(classes=10)
    rng = np.random.default_rng(0)
    x = rng.random((64, 28, 28)).astype(np.float32)
    float_path = save_onnx(model, tmp_path / "f.onnx")
    int8_path = quantize_int8(float_path, tmp_path / "q.onnx", x)
    want, single = OnnxCnn(float_path).run(x, ("probs", "single"))
    got = OnnxCnn(int8_path).predict_proba(x)
    assert int8_path.stat().st_size < float_path.stat().st_size / 2
    assert np.abs(got - want).max() < 0.05
    assert np.allclose(single, 1.0)  # a ten-class model has no reject class
    wide = np.concatenate([x, x])  # the two-thread session for big batches gives the same answer
    assert np.allclose(OnnxCnn(int8_path).predict_proba(wide)[:64], got, atol=1e-6)


def test_temperature_fit_recovers_a_known_temperature():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 10))
    p = np.exp(logits / 2.0)
    p /= p.sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=row) for row in p])
    assert abs(fit_temperature(logits, labels) - 2.0) < 0.2
