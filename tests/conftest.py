"""Shared fixtures: a git repo with dvcish initialised, and the S3 servers (tests/s3_fixtures.py)."""

pytest_plugins = ["tests.s3_fixtures"]
