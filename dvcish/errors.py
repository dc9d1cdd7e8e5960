"""The exceptions the core raises; the CLI turns them into one line and an exit code."""


class DvcishError(Exception):
    """A failure the user can act on. The message is one line naming what failed and what to do."""

    exit_code = 1


class UsageError(DvcishError):
    """The command line itself is wrong (exit code 2)."""

    exit_code = 2


class LockError(DvcishError):
    """Another dvcish process holds the repository lock."""


class CorruptObjectError(DvcishError):
    """An object's bytes do not hash to its oid."""

    def __init__(self, message: str, oid: str, actual: str | None = None):
        super().__init__(message)
        self.oid = oid
        self.actual = actual  # what the bytes hash to, when known


class ObjectNotFoundError(DvcishError):
    """A store does not hold the object asked for."""

    def __init__(self, message: str, oid: str):
        super().__init__(message)
        self.oid = oid


class RemoteUnavailableError(DvcishError):
    """A remote failed so many requests in a row that the transfer stops (not one per object)."""
