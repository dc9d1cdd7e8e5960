"""Use cases: one module per command (add, status, checkout, sync, gc, ...); nothing here prints."""
