"""Shared pytest setup: the S3 test servers live in tests/s3_fixtures.py (a plugin)."""

pytest_plugins = ["tests.s3_fixtures"]
