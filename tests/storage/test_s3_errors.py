"""S3 failures become one-line DvcishErrors that name the remote and never show a secret.

Also here: the S3-only behaviour the shared contract cannot see (settings parsing, SSE).

Everything here talks to real servers on 127.0.0.1: moto, rclone, a closed port, a socket that
never answers, and a tiny HTTP server that answers every request with 503 SlowDown.
"""

from __future__ import annotations

import http.server
import io
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dvcish.errors import CorruptObjectError, DvcishError
from dvcish.hashing import hash_bytes
from dvcish.storage.s3 import S3Options, S3Store

SECRET = "SENTINEL-secret-0123456789abcdef"
TOKEN = "SENTINEL-token-fedcba9876543210"
DESCRIPTION = "remote 'origin'"
OID = hash_bytes(b"payload")


def make_store(settings: dict[str, object]) -> S3Store:
    return S3Store(str(settings["url"]), S3Options.from_config(settings, "origin"), DESCRIPTION)


def error_of(action, *args) -> str:
    """The message of the DvcishError ``action`` raises; checks it is one clean line."""
    with pytest.raises(DvcishError) as excinfo:
        action(*args)
    message = str(excinfo.value)
    assert message.startswith(DESCRIPTION + ": ")
    assert "\n" not in message
    assert "Traceback" not in message
    assert SECRET not in message and TOKEN not in message
    return message


def every_operation(store: S3Store, tmp_path: Path) -> list[str]:
    """The error message of each store operation against a broken remote."""
    source = tmp_path / "payload"
    source.write_bytes(b"payload")
    many = [hash_bytes(b"%d" % i) for i in range(100)]
    return [
        error_of(store.check_readable),
        error_of(store.put, OID, str(source)),
        error_of(store.get, OID, io.BytesIO()),
        error_of(store.missing, [OID]),
        error_of(store.missing, many),
        error_of(lambda: list(store.list())),
        error_of(store.delete, [OID]),
    ]


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def silent_endpoint() -> Iterator[str]:
    """A port that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


class _SlowDown(http.server.BaseHTTPRequestHandler):
    requests = 0
    body = (
        b"<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"
    )

    def _answer(self) -> None:
        type(self).requests += 1
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(503)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(self.body)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def throttling_endpoint() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowDown)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("server_fixture", ["moto_server", "rclone_server"])
def test_bucket_does_not_exist(
    request: pytest.FixtureRequest, tmp_path: Path, server_fixture: str
) -> None:
    settings = request.getfixturevalue(server_fixture).new_bucket()
    settings["url"] = "s3://dvcish-no-such-bucket/store"
    store = make_store(settings)
    message = error_of(store.check_readable)
    assert "bucket 'dvcish-no-such-bucket' does not exist" in message
    assert "does not exist" in error_of(store.put, OID, str(_write(tmp_path, b"payload")))
    assert "does not exist" in error_of(lambda: list(store.list()))


def test_wrong_secret_is_access_denied(rclone_server, tmp_path: Path) -> None:
    # moto accepts any credentials, so only rclone can refuse them.
    settings = rclone_server.new_bucket()
    store = make_store({**settings, "secret_access_key": SECRET})
    messages = every_operation(store, tmp_path)
    for message in messages:
        assert "access denied" in message
    assert "SignatureDoesNotMatch" in messages[0]


def test_unknown_access_key_is_access_denied(rclone_server) -> None:
    settings = rclone_server.new_bucket()
    store = make_store({**settings, "access_key_id": "nobody-at-all", "secret_access_key": SECRET})
    message = error_of(store.check_readable)
    assert "access denied (InvalidAccessKeyId)" in message
    assert "check access_key_id/secret_access_key" in message


def test_unreachable_endpoint(closed_port: int, tmp_path: Path) -> None:
    endpoint = f"http://127.0.0.1:{closed_port}"
    store = make_store(
        {"url": "s3://bucket/x", "endpointurl": endpoint, "access_key_id": "key",
         "secret_access_key": SECRET, "session_token": TOKEN, "connect_timeout": "1"}
    )  # fmt: skip
    message = error_of(store.check_readable)
    assert f"cannot reach {endpoint}" in message
    assert "check endpointurl" in message


def test_no_credentials_fails_fast(
    moto_server, silent_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No variables, no config files, and an instance-metadata service that never answers:
    # the credential chain must give up within seconds, not hang.
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.delenv("AWS_EC2_METADATA_DISABLED", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_SERVICE_ENDPOINT", silent_endpoint)
    monkeypatch.setenv("AWS_METADATA_SERVICE_TIMEOUT", "30")  # dvcish must override these
    monkeypatch.setenv("AWS_METADATA_SERVICE_NUM_ATTEMPTS", "5")
    store = make_store({"url": "s3://bucket/x", "endpointurl": moto_server.endpoint_url})
    started = time.monotonic()
    message = error_of(store.check_readable)
    assert time.monotonic() - started < 10, "the credential lookup hung"
    assert "no credentials found" in message


def test_unknown_profile(moto_server) -> None:
    store = make_store(
        {"url": "s3://bucket/x", "endpointurl": moto_server.endpoint_url, "profile": "nobody"}
    )
    assert "AWS profile 'nobody' not found" in error_of(store.check_readable)


def test_throttling_is_retried_then_reported(throttling_endpoint: str) -> None:
    _SlowDown.requests = 0
    store = make_store(
        {"url": "s3://bucket/x", "endpointurl": throttling_endpoint, "access_key_id": "key",
         "secret_access_key": SECRET}
    )  # fmt: skip
    message = error_of(store.check_readable)
    assert "server error SlowDown (retried)" in message
    assert _SlowDown.requests == 3  # botocore "standard" mode: three attempts


def test_secrets_are_not_in_reprs(moto_server) -> None:
    settings = {"url": "s3://bucket/x", "access_key_id": "key", "secret_access_key": SECRET,
                "session_token": TOKEN, "endpointurl": moto_server.endpoint_url}  # fmt: skip
    options = S3Options.from_config(settings, "origin")
    store = S3Store(settings["url"], options, DESCRIPTION)
    for text in (repr(options), str(options), repr(store), str(store)):
        assert SECRET not in text and TOKEN not in text
    assert "secret_access_key='***'" in repr(options)
    assert "access_key_id='key'" in repr(options)


def test_secrets_are_not_in_validation_errors() -> None:
    cases = [
        {"secret_access_key": SECRET},  # without access_key_id
        {"secret_access_key": SECRET, "session_token": TOKEN, "jobs": "many"},
        {"secret_access_key": SECRET, "access_key_id": "k", "ssl_verify": SECRET},
    ]
    for settings in cases:
        with pytest.raises(DvcishError) as excinfo:
            S3Options.from_config({"url": "s3://b", **settings}, "origin")
        message = str(excinfo.value)
        assert message.startswith("remote 'origin': ")
        assert SECRET not in message and TOKEN not in message


def test_options_from_string_settings() -> None:
    options = S3Options.from_config(
        {"url": "s3://b/p", "endpointurl": "http://127.0.0.1:9", "use_ssl": "false",
         "ssl_verify": "no", "jobs": "16", "connect_timeout": "2.5", "read_timeout": 30,
         "sse": "AES256", "region": "eu-west-1"},
        "origin",
    )  # fmt: skip
    assert (options.use_ssl, options.ssl_verify, options.jobs) == (False, False, 16)
    assert (options.connect_timeout, options.read_timeout) == (2.5, 30.0)
    assert options.addressing_style == "path"  # the default with an endpoint
    assert S3Options.from_config({"url": "s3://b"}, "o").addressing_style == "auto"
    assert S3Options.from_config({"url": "s3://b"}, "o").jobs >= 4


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"endpoint": "http://x"}, "unknown setting 'endpoint'"),
        ({"use_ssl": "maybe"}, "'use_ssl' must be true or false"),
        ({"jobs": "0"}, "'jobs' must be a positive number"),
        ({"read_timeout": "soon"}, "'read_timeout' must be a positive number"),
        ({"addressing_style": "sideways"}, "'addressing_style' must be one of"),
        ({"sse": "rot13"}, "'sse' must be one of"),
        ({"endpointurl": "ftp://127.0.0.1:9000"}, "must be http(s)://host[:port] or host[:port]"),
        ({"access_key_id": "k"}, "must be set together"),
        ({"ssl_verify": "/no/such/ca.pem"}, "CA bundle"),
    ],
)
def test_invalid_settings_name_the_remote_and_key(settings: dict, expected: str) -> None:
    with pytest.raises(DvcishError) as excinfo:
        S3Options.from_config({"url": "s3://b", **settings}, "origin")
    assert str(excinfo.value).startswith("remote 'origin': ")
    assert expected in str(excinfo.value)


@pytest.mark.parametrize("url", ["s3://", "gs://bucket/x", "bucket/x", "s3:/bucket"])
def test_bad_urls(url: str) -> None:
    with pytest.raises(DvcishError, match="url must look like s3://bucket/prefix"):
        S3Store(url, S3Options(), DESCRIPTION)


def test_url_prefix_is_normalised(moto_server) -> None:
    store = S3Store("s3://bucket//a/b/", S3Options(), DESCRIPTION)
    assert (store.bucket, store.prefix) == ("bucket", "a/b")
    assert store.key_of(OID) == f"a/b/{OID[:2]}/{OID[2:]}"
    assert S3Store("s3://bucket", S3Options(), DESCRIPTION).key_of(OID) == f"{OID[:2]}/{OID[2:]}"


def test_sse_is_requested_for_single_and_multipart_uploads(moto_server, tmp_path: Path) -> None:
    settings = moto_server.new_bucket()
    store = make_store({**settings, "sse": "AES256"})
    store.multipart_threshold = store.part_size = 5 << 20
    small, large = b"small", b"L" * (6 << 20)
    for data in (small, large):
        store.put(hash_bytes(data), str(_write(tmp_path, data)))
        head = moto_server.client.head_object(
            Bucket=store.bucket, Key=store.key_of(hash_bytes(data))
        )
        assert head["ServerSideEncryption"] == "AES256"
    assert head["ContentLength"] == len(large)


@pytest.mark.parametrize("server_fixture", ["moto_server", "rclone_server"])
def test_multipart_upload_that_hashes_wrong_is_aborted(
    request: pytest.FixtureRequest, tmp_path: Path, server_fixture: str
) -> None:
    # The parts are hashed as they are read and sent; the upload is completed (made visible)
    # only when the whole file hashes to the oid, aborted otherwise.
    server = request.getfixturevalue(server_fixture)
    store = make_store(server.new_bucket())
    store.multipart_threshold = store.part_size = 5 << 20
    source = _write(tmp_path, b"x" * (11 << 20))
    with pytest.raises(CorruptObjectError, match="does not hash to .* nothing stored"):
        store.put(OID, str(source))
    assert not store.exists(OID)
    assert list(store.list()) == []
    if server.name == "moto":  # rclone does not implement ListMultipartUploads
        assert "Uploads" not in server.client.list_multipart_uploads(Bucket=store.bucket)


def _write(folder: Path, data: bytes) -> Path:
    path = folder / hash_bytes(data)
    path.write_bytes(data)
    return path


def test_fanout_ranges_cover_every_prefix_once():
    from dvcish.storage.s3 import _fanout_ranges

    for count in (1, 2, 3, 8, 16, 64):
        ranges = _fanout_ranges(count)
        covered = [
            f"{n:02x}"
            for n in range(256)
            for low, high in ranges
            if low <= f"{n:02x}" and (not high or f"{n:02x}" < high)
        ]
        assert covered == [f"{n:02x}" for n in range(256)]
