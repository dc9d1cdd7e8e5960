"""``-v`` for S3: one debug line per request through botocore's event hooks on a client.

This module never imports boto3 or botocore: it only registers callbacks on a client that
storage/s3.py made. Only the method, operation, key, HTTP status, time and retry count are
logged: no header, so no credential.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

log = logging.getLogger("dvcish.storage.s3")


def log_requests(client: Any, redact: Callable[[str], str]) -> None:
    """``-v``: one debug line per S3 call (method, operation, key, status, time) through
    botocore's event hooks. Only these fields are logged: no header, so no credential."""

    def before(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        key = params.get("Key") or params.get("Prefix") or ""
        if "Delete" in params:
            key = f"{len(params['Delete'].get('Objects', ()))} keys"
        context["dvcish_request"] = (model.http.get("method", "?"), model.name, key)
        context["dvcish_started"] = time.monotonic()

    def describe(context: dict[str, Any]) -> tuple[str, float]:
        method, operation, key = context.get("dvcish_request", ("?", "?", ""))
        took = (time.monotonic() - context.get("dvcish_started", time.monotonic())) * 1000
        return redact(f"{method} {operation} {key}".rstrip()), took

    def after(http_response: Any, parsed: dict[str, Any], context: dict[str, Any], **_: Any):
        what, took = describe(context)
        retries = parsed.get("ResponseMetadata", {}).get("RetryAttempts", 0)
        again = f", {retries} retries" if retries else ""
        log.debug("s3 %s -> %s (%.1f ms%s)", what, http_response.status_code, took, again)

    def failed(exception: Exception, context: dict[str, Any], **_: Any) -> None:
        what, took = describe(context)
        log.debug("s3 %s -> %s (%.1f ms)", what, type(exception).__name__, took)

    client.meta.events.register("before-parameter-build.s3", before)
    client.meta.events.register("after-call.s3", after)
    client.meta.events.register("after-call-error.s3", failed)
