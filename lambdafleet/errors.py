"""Error types that the command line turns into exit codes."""


class UserError(Exception):
    """A mistake in the user's input: printed as one line, exit code 2, never a traceback."""


class BuildError(Exception):
    """A build failed for a reason outside the user's files (network, tool crash): exit code 1."""
