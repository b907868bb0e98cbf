"""One exception type that the CLI turns into a one-line message and an exit code."""


class CleanerError(Exception):
    """A user-facing error: `message` is printed as is, `exit_code` is returned to the shell."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
