import json
import subprocess
import sys

import numpy as np


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "recognizer", *args], capture_output=True, text=True,
                          timeout=300)


def test_evaluate_prints_accuracy_recall_and_confusion(tmp_path, mnist):
    path = tmp_path / "small.npz"
    np.savez(path, x_test=mnist["x_test"][:300], y_test=mnist["y_test"][:300])
    out = run_cli("evaluate", "--model", "cnn", "--data", str(path), "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["digits"] == 300 and result["accuracy"] > 0.98
    assert np.array(result["confusion"]).sum() == 300 and len(result["recall"]) == 10
    text = run_cli("evaluate", "--model", "svc", "--data", str(path))
    assert "accuracy" in text.stdout and "recall" in text.stdout
    assert text.stderr == ""  # quiet: no library chatter


def test_evaluate_bad_file_is_one_line_error(tmp_path):
    out = run_cli("evaluate", "--data", str(tmp_path / "missing.npz"))
    assert out.returncode == 2
    assert out.stderr.strip().count("\n") == 0 and "missing.npz" in out.stderr
