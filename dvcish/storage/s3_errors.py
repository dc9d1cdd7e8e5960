"""What S3 failures mean: each boto3/botocore error as (problem, hint) for a one-line message,
and which failures are worth another attempt. Part of the S3 backend (with s3.py)."""

from __future__ import annotations

from typing import Any

from botocore import exceptions as bx

from dvcish.storage.s3_options import S3Options

_ACCESS_CODES = {"AccessDenied", "AllAccessDisabled", "ExpiredToken", "InvalidAccessKeyId"}
_ACCESS_CODES |= {"InvalidToken", "SignatureDoesNotMatch", "TokenRefreshRequired"}
_REGION_CODES = {"AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
_CREDENTIALS_HINT = "check access_key_id/secret_access_key, the profile or the AWS_* variables"
# Failures before any answer from S3: (exception types, problem, hint); first match wins.
_TRANSPORT_ERRORS: list[tuple[Any, str, str]] = [
    (bx.NoCredentialsError, "no credentials found", _CREDENTIALS_HINT),
    (bx.PartialCredentialsError, "incomplete credentials", _CREDENTIALS_HINT),
    (bx.ProfileNotFound, "AWS profile '{profile}' not found", "fix the remote's profile"),
    (bx.SSLError, "TLS error talking to {endpoint}", "check ssl_verify and the CA bundle"),
    (bx.ConnectionError, "cannot reach {endpoint}", "check endpointurl and the network"),
    (bx.ReadTimeoutError, "{endpoint} did not answer in time", "try again or raise read_timeout"),
    (
        (bx.ResponseStreamingError, bx.IncompleteReadError, bx.ConnectionClosedError),
        "the connection to {endpoint} broke off",
        "check the network and try again",
    ),
    (bx.NoRegionError, "no region configured", "set the remote's region"),
]
# Failures worth another attempt: transport trouble after the connection was made (botocore's
# HTTPClientError covers resets, read timeouts and broken streams) and a body cut short.
TRANSIENT = (bx.HTTPClientError, bx.IncompleteReadError)
OVERLOADED = {429, 500, 502, 503, 504}  # the same request may well pass a moment later


def error_code(exc: bx.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_status(exc: bx.ClientError) -> int | None:
    return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")


def explain(exc: Exception, bucket: str, options: S3Options) -> tuple[str, str]:
    """(what went wrong, what to do) for a boto3/botocore failure, in words for one line."""
    if not isinstance(exc, bx.ClientError):
        for kinds, problem, hint in _TRANSPORT_ERRORS:
            if isinstance(exc, kinds):
                endpoint = options.endpointurl or "the AWS S3 endpoint"
                return problem.format(endpoint=endpoint, profile=options.profile), hint
        return f"{type(exc).__name__}: {exc}", "check the remote settings and the network"
    code, status = error_code(exc), error_status(exc)
    if code == "NoSuchBucket":
        return f"bucket '{bucket}' does not exist", "create it or fix the remote url"
    if code in _ACCESS_CODES or status == 403:
        return f"access denied ({code})", f"{_CREDENTIALS_HINT}, and the bucket policy"
    if code in _REGION_CODES or status == 301:
        return f"wrong region ({code})", "set the remote's region to the bucket's region"
    if status is not None and (status >= 500 or status == 429):
        return f"server error {code} (retried)", "try again later or lower jobs"
    message = exc.response.get("Error", {}).get("Message") or ""
    return f"request failed: {code} {message}".rstrip(), "check the remote settings"
