"""Repository-wide pytest plugins (pytest only honours `pytest_plugins` in the root conftest)."""

pytest_plugins = [
    "lambdafleet.testing.bytecode",
    "lambdafleet.testing.endpoint",
    "lambdafleet.testing.invoke",
    "lambdafleet.testing.parallel",
]
