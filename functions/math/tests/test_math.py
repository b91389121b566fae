import pytest


def test_square(lambda_module):
    assert lambda_module.lambda_handler({"action": "square", "number": 3}, None) == 9


def test_unknown_action_is_rejected(lambda_module):
    with pytest.raises(ValueError, match="unknown action"):
        lambda_module.lambda_handler({"action": "cube", "number": 3}, None)


def test_non_number_is_rejected(lambda_module):
    with pytest.raises(ValueError, match="must be a number"):
        lambda_module.lambda_handler({"action": "square", "number": "3"}, None)
