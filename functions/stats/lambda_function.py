"""Summary statistics of `{"values": [numbers]}`: count, mean, standard deviation, min, median, 90th percentile, max.

numpy is not in this function's zip: it comes from the `numpy` layer (layers/numpy/), shared with predict, which
Lambda (and the local runtime) extracts into /opt, where /opt/python is on the path after the task root.
"""

import math

import numpy as np

MAX_VALUES = 100_000


def lambda_handler(event: dict, context: object) -> dict:
    values = event.get("values") if isinstance(event, dict) else None
    if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
        raise ValueError(f"'values' must be a non-empty list of at most {MAX_VALUES} numbers")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values):
        raise ValueError("'values' must hold finite numbers only")
    data = np.asarray(values, dtype=float)
    return {
        "count": int(data.size),
        "mean": float(data.mean()),
        "std": float(data.std()),
        "min": float(data.min()),
        "median": float(np.median(data)),
        "p90": float(np.percentile(data, 90)),
        "max": float(data.max()),
        "numpy": np.__version__,
        "numpy_from": np.__file__,
    }
