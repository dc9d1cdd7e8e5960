"""What a transfer reports: a ``Failure`` record per object that could not be moved (oid, path,
kind, message) and a ``TransferSummary``, so the CLI and ``--json`` can group them."""

from __future__ import annotations

from dataclasses import dataclass, field

from dvcish.errors import CorruptObjectError, ObjectNotFoundError

# Failure kinds
NOT_FOUND = "not-found"  # the source (remote, or cache for a push) does not hold the object
CORRUPT = "corrupt"  # the object's bytes do not match its oid
NOT_IN_SELECTION = "not-in-data"  # a path inside a folder that this version does not hold
SKIPPED = "skipped"  # a tree not pushed because some of its members could not be
ERROR = "error"  # anything else: transport, permissions, disk


@dataclass(frozen=True)
class Failure:
    oid: str
    path: str  # the data path the object stands for, as printed ("" when unknown)
    kind: str
    message: str

    def to_dict(self) -> dict:
        return {"oid": self.oid, "path": self.path, "kind": self.kind, "message": self.message}


@dataclass
class TransferSummary:
    transferred: int = 0
    present: int = 0  # already at the destination
    failed: list[Failure] = field(default_factory=list)

    def merge(self, other: TransferSummary) -> None:
        self.transferred += other.transferred
        self.present += other.present
        self.failed.extend(other.failed)

    def to_dict(self) -> dict:
        return {
            "transferred": self.transferred,
            "present": self.present,
            "failed": [failure.to_dict() for failure in self.failed],
        }


def failure_of(exc: Exception, oid: str, path: str) -> Failure:
    """The record for an exception raised while moving ``oid``."""
    if isinstance(exc, ObjectNotFoundError):
        return Failure(oid, path, NOT_FOUND, str(exc))
    if isinstance(exc, CorruptObjectError):
        return Failure(oid, path, CORRUPT, str(exc))
    if isinstance(exc, OSError):
        where = f"{exc.filename}: " if exc.filename else ""
        return Failure(oid, path, ERROR, f"object {oid}: {where}{exc.strerror or exc}")
    return Failure(oid, path, ERROR, str(exc))
