"""The evaluation report runs end to end on a small subset and produces plausible figures."""

import json
import subprocess
import sys


def test_report_on_a_small_subset(tmp_path, cnn):
    out = subprocess.run(
        [sys.executable, "scripts/evaluate.py", "--limit", "60", "--out", str(tmp_path),
         "--sets", "mnist", "usps", "semeion", "unipen"],
        capture_output=True, text=True, timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    for name in ("README.md", "confusion_cnn.png", "confusion_svc.png", "misreadings_cnn.png",
                 "reliability_cnn.png", "training_curves.png", "pca_8x8.png", "features_cnn.png"):
        assert (tmp_path / name).stat().st_size > 1000, name
    figures = json.loads((tmp_path / "figures.json").read_text())["sets"]
    assert figures["mnist"]["cnn"] > 0.95
    assert figures["usps"]["cnn"] > 0.85 and figures["unipen"]["cnn"] > 0.85
    for f in figures.values():  # the baseline is weaker than the CNN, as it should be
        assert 0.0 <= f["cnn_ece"] <= 1.0 and f["svc"] <= f["cnn"]
    assert "| set |" in (tmp_path / "README.md").read_text()


def test_member_table_reads_each_member_as_the_recognizer_does(mnist):
    import importlib.util
    from pathlib import Path

    from recognizer import Recognizer
    from recognizer.reader import ENSEMBLE, MODELS_DIR

    spec = importlib.util.spec_from_file_location("evaluate_script", Path("scripts/evaluate.py"))
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    x, y = mnist["x_test"][:300], mnist["y_test"][:300]
    rows = script.member_table(MODELS_DIR, {"mnist": (x, y)})[2:]
    for member, row in zip(ENSEMBLE, rows, strict=True):
        want = float((Recognizer.load(MODELS_DIR / member).predict(x) == y).mean())
        # inputs made once for all members must not carry one member's convention into another's
        assert row.startswith(f"| `{member}` |") and row.endswith(f"| {want:.2%} |"), (row, want)
