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
