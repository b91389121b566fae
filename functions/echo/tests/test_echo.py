def test_returns_key1(lambda_module, capsys):
    event = {"key1": "a", "key2": "b", "key3": "c"}
    assert lambda_module.lambda_handler(event, None) == "a"
    assert capsys.readouterr().out.splitlines() == ["value1 = a", "value2 = b", "value3 = c"]
