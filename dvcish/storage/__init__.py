"""Object stores: one narrow interface (base.py) with local, S3 and in-memory implementations."""
