"""Shared pytest setup: the S3 test servers live in tests/s3_fixtures.py (a plugin)."""

import pytest

from dvcish.cli.bars import INTERVAL_ENV

pytest_plugins = ["tests.s3_fixtures"]


@pytest.fixture(scope="session", autouse=True)
def no_timed_progress_lines():
    """Without a terminal, progress prints a line every 10 s: on a slow machine a test that
    checks stderr exactly would see one. tests/test_transfer_progress.py sets its own interval."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(INTERVAL_ENV, "3600")
        yield
