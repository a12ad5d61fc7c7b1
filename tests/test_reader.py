import numpy as np
import pytest

from recognizer import ModelError, Recognizer


def test_cnn_reads_mnist_test_as_is(cnn, mnist):
    x, y = mnist["x_test"][:2000], mnist["y_test"][:2000]
    assert (cnn.predict(x) == y).mean() > 0.99


def test_probabilities_are_a_distribution(cnn, svc, mnist):
    for rec in (cnn, svc):
        proba = rec.predict_proba(mnist["x_test"][:16])
        assert proba.shape == (16, 10) and proba.dtype == np.float32
        assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-4)


def test_any_size_either_polarity_and_lists(cnn, mnist):
    x, y = mnist["x_test"][:50], mnist["y_test"][:50]
    import cv2

    big_paper = [255 - cv2.resize(im, (140, 90)) for im in x]  # dark pen on white, stretched
    padded = [np.pad(im, 40) for im in x]
    assert (cnn.predict(padded) == y).mean() > 0.95
    assert (cnn.predict(big_paper) == y).mean() > 0.8  # stretching distorts, but most survive


def test_svc_baseline_is_selectable_and_weaker(svc, cnn, mnist):
    x, y = mnist["x_test"][:500], mnist["y_test"][:500]
    svc_acc = (svc.predict(x) == y).mean()
    assert 0.4 < svc_acc < (cnn.predict(x) == y).mean()


@pytest.mark.parametrize(
    "bad, message",
    [
        ([], "at least one"),
        (np.zeros((0, 28, 28), np.uint8), "non-empty"),
        (np.zeros((28, 28), np.uint8), "batch"),
        (np.zeros((3, 28, 28), np.uint8), "blank"),
        ([np.full((5, 5), np.nan)], "NaN"),
    ],
)
def test_bad_input_is_a_value_error(cnn, svc, bad, message):
    for rec in (cnn, svc):
        with pytest.raises(ValueError, match=message):
            rec.predict(bad)


def test_missing_model_names_file_and_command(tmp_path):
    with pytest.raises(ModelError, match=r"cnn\.onnx.*train_cnn\.py"):
        Recognizer.load("cnn", models_dir=tmp_path)


def test_corrupt_model_names_file_and_command(tmp_path):
    (tmp_path / "cnn.onnx").write_bytes(b"not a model at all")
    with pytest.raises(ModelError, match=r"unreadable.*train_cnn\.py"):
        Recognizer.load("cnn", models_dir=tmp_path)


def test_the_string_reader_is_optional_but_a_damaged_one_is_named(tmp_path):
    import shutil

    from recognizer.reader import MODELS_DIR, STRINGS

    shutil.copy(MODELS_DIR / "cnn.onnx", tmp_path / "cnn.onnx")
    rec = Recognizer.load("cnn", models_dir=tmp_path)  # no string reader: cuts by the CNN alone
    assert rec.strings is None
    page = np.full((120, 200), 255, np.uint8)
    page[30:90, 60:66] = 0  # a plain 1
    assert rec.read(page).text == "1"
    (tmp_path / STRINGS).write_bytes(b"garbage")
    with pytest.raises(ModelError, match=r"strings\.onnx.*unreadable.*train_crnn\.py"):
        Recognizer.load("cnn", models_dir=tmp_path)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="cnn, svc"):
        Recognizer.load("resnet")


def test_reject_class_doubts_two_squeezed_digits_not_one(cnn, mnist):
    from recognizer.negatives import pair

    x = cnn.prepare(mnist["x_test"][:400])
    rng = np.random.default_rng(0)
    pairs = np.stack([pair(x[i], x[i + 200], rng) for i in range(100)])
    _, single_digits = cnn.proba_single_prepared(x)
    _, single_pairs = cnn.proba_single_prepared(pairs)
    assert np.median(single_digits) > 0.98
    assert np.median(single_pairs) < 0.2
    assert (single_pairs < 0.5).mean() > (single_digits < 0.5).mean() + 0.5


def test_ensemble_averages_its_members(tmp_path, cnn, mnist):
    import shutil

    from recognizer.reader import ENSEMBLE, MODELS_DIR

    for member in ENSEMBLE:  # the same graph twice: the mean must be that graph's output
        shutil.copy(MODELS_DIR / "cnn.onnx", tmp_path / member)
    twice = Recognizer.load("ensemble", models_dir=tmp_path)
    assert twice.name == "ensemble" and len(twice.backend.members) == len(ENSEMBLE)
    images = mnist["x_test"][:40]
    x, own = twice.prepare(images), cnn.prepare(images)  # each member makes its own inputs from x
    assert np.allclose(twice.proba_prepared(x), cnn.proba_prepared(own), atol=1e-6)
    for got, want in zip(twice.proba_single_prepared(x), cnn.proba_single_prepared(own), strict=True):
        assert np.allclose(got, want, atol=1e-6)
    assert twice.backend.run(x[:1], ("conv1",))[0].shape[:2] == (1, 24)  # inner tensors: the first member's


def test_ensemble_with_a_missing_member_names_it(tmp_path):
    import shutil

    from recognizer.reader import ENSEMBLE, MODELS_DIR

    shutil.copy(MODELS_DIR / "cnn.onnx", tmp_path / ENSEMBLE[0])
    with pytest.raises(ModelError, match=rf"{ENSEMBLE[1]}.*not found"):
        Recognizer.load("ensemble", models_dir=tmp_path)


def test_a_missing_member_is_restored_not_retrained_with_the_cnn_command(tmp_path):
    """A plain `train_cnn.py` writes cnn.onnx, never a member: the fix is git or the member's own command."""
    import shutil

    from recognizer.reader import ENSEMBLE, MODELS_DIR

    for member in ENSEMBLE:
        shutil.copy(MODELS_DIR / member, tmp_path / member)
    (tmp_path / "cnn_boxfill.onnx").unlink()
    with pytest.raises(ModelError) as info:
        Recognizer.load("ensemble", models_dir=tmp_path)
    message = str(info.value)
    assert "cnn_boxfill.onnx not found in the models folder" in message
    assert "`git checkout models/`" in message and "README.md" in message
    assert "train_cnn.py" not in message and "\n" not in message


def test_a_model_file_is_named_after_its_stem(tmp_path):
    import shutil

    from recognizer.reader import MODELS_DIR

    shutil.copy(MODELS_DIR / "cnn.onnx", tmp_path / "mine.onnx")
    assert Recognizer.load(tmp_path / "mine.onnx").name == "mine"
    assert Recognizer.load(str(tmp_path / "mine.onnx")).name == "mine"
    with pytest.raises(ModelError, match=r"^model file \S*gone\.onnx not found$"):
        Recognizer.load(tmp_path / "gone.onnx")  # the user's own file: no talk of the models folder


def test_an_ensemble_member_trained_deskewed_gets_deskewed_inputs(mnist):
    from recognizer.preprocess import batch_deskew, batch_to_mnist
    from recognizer.reader import MODELS_DIR
    from recognizer.runtime import OnnxCnn, OnnxEnsemble

    plain, skewed = OnnxCnn(MODELS_DIR / "cnn_boxfill.onnx"), OnnxCnn(MODELS_DIR / "cnn_boxfill.onnx")
    assert plain.convention == ()  # this member takes its inputs as to_mnist makes them
    skewed.convention = ("deskew",)  # as a model exported with deskew=1 says in its metadata
    ensemble = OnnxEnsemble([plain, skewed])
    x = batch_to_mnist(mnist["x_test"][:40])
    assert ensemble.adapt(x) is x  # Recognizer.prepare leaves the deskewing to the member
    want = (plain.predict_proba(x) + plain.predict_proba(batch_deskew(x))) / 2
    assert np.allclose(ensemble.predict_proba(x), want, atol=1e-6)


def test_a_missing_runtime_is_not_called_a_damaged_model(monkeypatch):
    """Without onnxruntime, restoring or retraining the model would not help: say what would."""
    import sys

    from recognizer import ModelError, Recognizer

    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` raises ImportError
    with pytest.raises(ModelError) as info:
        Recognizer.load("cnn")
    message = str(info.value)
    assert "make run" in message and "unreadable" not in message and "retrain" not in message
