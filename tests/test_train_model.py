"""scripts/train_model.py reproduces the committed model, and that model is accurate."""

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.stack  # slow end to end: trains the model with scikit-learn

REPO_ROOT = Path(__file__).resolve().parent.parent
COMMITTED = REPO_ROOT / "models" / "iris.npz"


def _load(path: Path) -> dict[str, Any]:
    import numpy as np  # numpy and sklearn are imported by the tests, not at collection (every worker collects)

    with np.load(path, allow_pickle=False) as archive:
        return {name: archive[name] for name in archive.files}


def test_training_reproduces_the_committed_model(tmp_path):
    out = tmp_path / "iris.npz"
    subprocess.run([sys.executable, "scripts/train_model.py", "--out", str(out)], cwd=REPO_ROOT, check=True)
    import numpy

    fresh, committed = _load(out), _load(COMMITTED)
    assert fresh.keys() == committed.keys()
    for name, array in committed.items():
        if array.dtype.kind == "U":
            assert (fresh[name] == array).all(), name
        else:
            numpy.testing.assert_allclose(fresh[name], array, rtol=1e-6, err_msg=name)


def test_committed_model_classifies_the_iris_set():
    from sklearn.datasets import load_iris

    model, iris = _load(COMMITTED), load_iris()
    scores = ((iris.data - model["mean"]) / model["scale"]) @ model["coef"].T + model["intercept"]
    accuracy = (scores.argmax(axis=1) == iris.target).mean()
    assert accuracy >= 0.95
    assert list(model["classes"]) == list(iris.target_names)
