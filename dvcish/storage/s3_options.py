"""S3 remote settings (``S3Options``): parsing and validating a remote's config mapping.

Kept apart from ``s3.py`` so that reading and checking settings never imports boto3.
Secrets (secret_access_key, session_token) never appear in a message or a repr.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Callable
from typing import Any

from dvcish.errors import DvcishError

SSE_VALUES = ("AES256", "aws:kms", "aws:kms:dsse")
ADDRESSING_STYLES = ("auto", "path", "virtual")
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")
SECRET_FIELDS = ("secret_access_key", "session_token")


@dataclasses.dataclass(repr=False)
class S3Options:
    """How to reach an S3 (or S3-compatible) endpoint; built from a remote's settings."""

    endpointurl: str | None = None
    region: str | None = None
    profile: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    use_ssl: bool = True
    ssl_verify: bool | str = True  # or the path of a CA bundle
    addressing_style: str | None = None  # None: "path" with an endpointurl, else "auto"
    sse: str | None = None
    jobs: int = dataclasses.field(default_factory=lambda: 4 * (os.cpu_count() or 1))
    connect_timeout: float = 10.0
    read_timeout: float = 60.0

    def __post_init__(self) -> None:
        if self.endpointurl and "://" not in self.endpointurl:  # host[:port]: use_ssl decides
            self.endpointurl = f"{'https' if self.use_ssl else 'http'}://{self.endpointurl}"
        if self.addressing_style is None:
            self.addressing_style = "path" if self.endpointurl else "auto"

    def __repr__(self) -> str:
        shown = {f.name: repr(getattr(self, f.name)) for f in dataclasses.fields(self)}
        for name in SECRET_FIELDS:
            if getattr(self, name):
                shown[name] = "'***'"
        return f"S3Options({', '.join(f'{k}={v}' for k, v in shown.items())})"

    def secrets(self) -> list[str]:
        return [value for name in SECRET_FIELDS if (value := getattr(self, name))]

    @classmethod
    def from_config(cls, settings: dict[str, Any], remote_name: str) -> S3Options:
        """Options from a remote's raw settings (strings from YAML or the CLI are accepted)."""

        def error(what: str) -> DvcishError:
            for name in SECRET_FIELDS:  # a secret pasted into the wrong setting stays secret
                if settings.get(name):
                    what = what.replace(str(settings[name]), "***")
            return DvcishError(f"remote '{remote_name}': {what}")

        values: dict[str, Any] = {}
        for key, value in settings.items():
            if key == "url" or value is None or value == "":
                continue
            try:
                values[key] = parse_setting(key, value)
            except ValueError as exc:
                raise error(str(exc)) from None
        if bool(values.get("access_key_id")) != bool(values.get("secret_access_key")):
            raise error("access_key_id and secret_access_key must be set together")
        if values.get("session_token") and not values.get("access_key_id"):
            raise error("session_token needs access_key_id and secret_access_key")
        return cls(**values)


def parse_setting(key: str, value: Any) -> Any:
    """The parsed value of one remote option; ValueError naming the option when it is bad."""
    parse = _PARSERS.get(key)
    if parse is None:
        known = ", ".join(["url", *_PARSERS])
        raise ValueError(f"unknown setting '{key}'; remove it or use one of {known}")
    try:
        return parse(value)
    except ValueError as exc:
        raise ValueError(f"setting '{key}' {exc}") from None


def check_setting(remote_name: str, key: str, value: Any) -> None:
    """Refuse a bad value for a remote option before it is written (one line)."""
    try:
        parse_setting(key, value)
    except ValueError as exc:
        shown = "***" if key in SECRET_FIELDS else None
        message = str(exc) if shown is None else str(exc).replace(str(value), shown)
        raise DvcishError(f"remote '{remote_name}': {message}") from None


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).strip().lower() in _TRUE:
        return True
    if str(value).strip().lower() in _FALSE:
        return False
    raise ValueError(f"must be true or false, not {value!r}")


def _ssl_verify(value: Any) -> bool | str:
    with contextlib.suppress(ValueError):
        return _boolean(value)
    if not os.path.isfile(str(value)):
        raise ValueError(f"must be true, false or an existing CA bundle file, not {value!r}")
    return str(value)


def _endpoint(value: Any) -> str:
    """``http(s)://host[:port][/path]``, or ``host[:port]`` whose scheme use_ssl decides."""
    text = str(value)
    scheme, sep, rest = text.partition("://")
    host = rest if sep else text
    if (sep and scheme not in ("http", "https")) or not host or host[0] in "/:" or " " in text:
        raise ValueError(f"must be http(s)://host[:port] or host[:port], not {value!r}")
    return text


def _one_of(*allowed: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        if str(value) not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}, not {value!r}")
        return str(value)

    return parse


def _positive(kind: type[int] | type[float]) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        try:
            number = 0 if isinstance(value, bool) else kind(str(value).strip())
        except ValueError:
            number = 0
        if number <= 0:
            raise ValueError(f"must be a positive number, not {value!r}")
        return number

    return parse


_PARSERS: dict[str, Callable[[Any], Any]] = {
    "endpointurl": _endpoint,
    "region": str,
    "profile": str,
    "access_key_id": str,
    "secret_access_key": str,
    "session_token": str,
    "use_ssl": _boolean,
    "ssl_verify": _ssl_verify,
    "addressing_style": _one_of(*ADDRESSING_STYLES),
    "sse": _one_of(*SSE_VALUES),
    "jobs": _positive(int),
    "connect_timeout": _positive(float),
    "read_timeout": _positive(float),
}


def parse_s3_url(url: str, description: str) -> tuple[str, str]:
    """(bucket, prefix) of ``s3://bucket/some/prefix``; the prefix has no leading/trailing '/'."""
    scheme, sep, rest = url.partition("://")
    bucket, _, path = rest.partition("/")
    if scheme != "s3" or not sep or not bucket:
        raise DvcishError(f"{description}: url must look like s3://bucket/prefix, not {url!r}")
    return bucket, "/".join(part for part in path.split("/") if part)
