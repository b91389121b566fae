"""stats in-process, and from its built zip with the numpy layer attached (numpy is not in its own zip)."""

import pytest


def test_summary(lambda_module):
    summary = lambda_module.lambda_handler({"values": [1, 2, 3, 4, 10]}, None)
    assert summary["count"] == 5 and summary["mean"] == 4.0 and summary["median"] == 3.0 and summary["max"] == 10.0


@pytest.mark.parametrize("values", [None, [], ["1"], [True], [float("nan")]])
def test_bad_input_is_rejected(lambda_module, values):
    with pytest.raises(ValueError, match="'values' must"):
        lambda_module.lambda_handler({"values": values}, None)


def test_numpy_comes_from_the_layer_at_opt(invoke_lambda):
    result = invoke_lambda("stats", {"values": [2, 4, 4, 4, 5, 5, 7, 9]})
    assert result.error is None, result.logs
    summary = result.response
    assert (summary["mean"], summary["std"]) == (5.0, 2.0)
    assert summary["numpy_from"] == "/opt/python/numpy/__init__.py"
