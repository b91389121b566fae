"""Trains the `predict` example's model and writes it as a numpy `.npz` file.

The data set is the iris flowers table that scikit-learn ships inside its wheel, so training needs no
download. The model is a multinomial logistic regression on standardised features; only its numbers
are exported (mean, scale, coefficients, intercepts, class names), so the function itself needs numpy
alone and none of scikit-learn at run time.

    python scripts/train_model.py [--out models/iris.npz]
"""

import argparse
import io
import os
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = REPO_ROOT / "models" / "iris.npz"
# A fixed timestamp keeps the archive's bytes a function of the weights alone.
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)


def train() -> dict[str, np.ndarray]:
    """Fits the model on the whole iris set and returns the arrays the function loads."""
    iris = load_iris()
    scaler = StandardScaler().fit(iris.data)
    model = LogisticRegression(max_iter=1000).fit(scaler.transform(iris.data), iris.target)
    return {
        "mean": scaler.mean_,
        "scale": scaler.scale_,
        "coef": model.coef_,
        "intercept": model.intercept_,
        "classes": np.array(iris.target_names, dtype=str),
        "feature_names": np.array(iris.feature_names, dtype=str),
    }


def write_npz(arrays: dict[str, np.ndarray], out: Path) -> None:
    """Writes `arrays` like `np.savez` does, but with fixed timestamps, atomically."""
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.")
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as archive:
            for name in sorted(arrays):
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(arrays[name]), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=_ZIP_DATE)
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, buffer.getvalue())
        os.replace(tmp, out)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the .npz")
    args = parser.parse_args(argv)
    write_npz(train(), args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
