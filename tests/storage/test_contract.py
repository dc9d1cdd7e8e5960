"""The one contract every ObjectStore keeps, run against every store.

Adding a store: write a factory that returns a ``Backend`` (the store, and a way to drop a raw
junk file/key beside its objects when the store has such a thing) and add it to ``BACKENDS``.
"""

from __future__ import annotations

import dataclasses
import functools
import io
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dvcish.errors import CorruptObjectError, ObjectNotFoundError
from dvcish.fsutil import TEMP_PREFIX
from dvcish.hashing import hash_bytes
from dvcish.storage.base import ObjectStore, object_key
from dvcish.storage.cache import Cache
from dvcish.storage.local import LocalStore
from dvcish.storage.memory import MemoryStore

MiB = 1 << 20
# More than one listing page (1,000 keys), all in one fan-out prefix.
PAGED_COUNT = 1010


@dataclasses.dataclass
class Backend:
    store: ObjectStore
    # Writes raw bytes under a key relative to the store's root, bypassing the store.
    add_junk: Callable[[str, bytes], None] | None = None


def memory_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(MemoryStore())


def local_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    root = tmp_path / "store"
    root.mkdir()

    def add_junk(key: str, data: bytes) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)

    return Backend(LocalStore(str(root)), add_junk)


def cache_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    root = tmp_path / "cache"

    def add_junk(key: str, data: bytes) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)

    return Backend(Cache(str(root)), add_junk)


def s3_backend(server_fixture: str) -> Callable[[pytest.FixtureRequest, Path], Backend]:
    def make(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
        from dvcish.storage.s3 import S3Options, S3Store

        server = request.getfixturevalue(server_fixture)
        settings = server.new_bucket(prefix="team/store")
        store = S3Store(settings["url"], S3Options.from_config(settings, "test"), "test remote")
        store.multipart_threshold = store.part_size = 5 * MiB  # exercise multipart cheaply

        def add_junk(key: str, data: bytes) -> None:
            server.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}/{key}", Body=data)

        return Backend(store, add_junk)

    return make


BACKENDS = {
    "memory": memory_backend,
    "local": local_backend,
    "cache": cache_backend,
    "s3-moto": s3_backend("moto_server"),
    "s3-rclone": s3_backend("rclone_server"),
}


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    made = BACKENDS[request.param](request, tmp_path)
    yield made
    made.store.close()


@pytest.fixture
def store(backend: Backend) -> ObjectStore:
    return backend.store


class Blobs:
    """Writes source files for ``put`` and remembers their bytes by oid."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.data: dict[str, bytes] = {}

    def file(self, data: bytes) -> tuple[str, str]:
        oid = hash_bytes(data)
        path = self.folder / oid
        path.write_bytes(data)
        self.data[oid] = data
        return oid, str(path)

    def put(self, store: ObjectStore, *contents: bytes) -> list[str]:
        files = [self.file(data) for data in contents]
        with ThreadPoolExecutor(max_workers=16) as pool:
            list(pool.map(lambda f: store.put(*f), files))
        store.flush()  # a put is visible after flush at the latest
        return [oid for oid, _ in files]


@pytest.fixture
def blobs(tmp_path: Path) -> Blobs:
    folder = tmp_path / "sources"
    folder.mkdir()
    return Blobs(folder)


def read(store: ObjectStore, oid: str) -> bytes:
    buffer = io.BytesIO()
    count = store.get(oid, buffer)
    assert count == len(buffer.getvalue())
    return buffer.getvalue()


def absent_oids(count: int, prefix: str = "") -> list[str]:
    """Oids of contents nobody stores (optionally all starting with ``prefix``)."""
    return [hash_bytes(b"absent-%d" % i) for i in _indexes_with_prefix("absent-", prefix, count)]


@functools.cache
def _indexes_with_prefix(stem: str, prefix: str, count: int) -> tuple[int, ...]:
    found: list[int] = []
    i = 0
    while len(found) < count:
        if hash_bytes(b"%s%d" % (stem.encode(), i)).startswith(prefix):
            found.append(i)
        i += 1
    return tuple(found)


def contents_in_prefix(prefix: str, count: int) -> list[bytes]:
    """``count`` distinct contents whose oids all start with ``prefix`` (found by search)."""
    return [b"paged-%d" % i for i in _indexes_with_prefix("paged-", prefix, count)]


def test_put_then_exists_get_and_list(store: ObjectStore, blobs: Blobs) -> None:
    oids = blobs.put(store, b"hello\n", b"", bytes(range(256)) * 100)
    for oid in oids:
        assert store.exists(oid)
        assert read(store, oid) == blobs.data[oid]
    assert sorted(store.list()) == sorted(oids)
    store.put(*blobs.file(b"hello\n"))  # putting an object again is harmless
    store.flush()
    assert read(store, oids[0]) == b"hello\n"
    assert object_key(oids[0]) in store.url_of(oids[0])


def test_read_verified_checks_the_bytes(backend: Backend, blobs: Blobs) -> None:
    store = backend.store
    good, bad = blobs.put(store, b"a tree, say", b"bytes that will rot")
    assert store.read_verified(good) == b"a tree, say"
    [absent] = absent_oids(1)
    with pytest.raises(ObjectNotFoundError):
        store.read_verified(absent)
    if backend.add_junk is None:
        return
    backend.add_junk(object_key(bad), b"rotten")
    with pytest.raises(CorruptObjectError) as excinfo:
        store.read_verified(bad)
    assert excinfo.value.oid == bad and excinfo.value.actual == hash_bytes(b"rotten")


def test_put_refuses_content_that_does_not_hash_to_the_oid(
    store: ObjectStore, blobs: Blobs
) -> None:
    claimed = hash_bytes(b"what the caller meant")
    _, path = blobs.file(b"what is actually in the file")
    with pytest.raises(CorruptObjectError) as excinfo:
        store.put(claimed, path)
    assert excinfo.value.oid == claimed
    store.flush()
    assert not store.exists(claimed)
    assert list(store.list()) == []


def test_large_object_round_trip(store: ObjectStore, blobs: Blobs) -> None:
    data = bytes(range(256)) * (48 * 1024) + b"tail"  # 12 MiB + 4: several upload parts
    [oid] = blobs.put(store, data)
    assert read(store, oid) == data


def test_large_object_with_the_wrong_oid_stores_nothing(store: ObjectStore, blobs: Blobs) -> None:
    claimed = hash_bytes(b"something else")
    _, path = blobs.file(b"\x01" * (11 * MiB))
    with pytest.raises(CorruptObjectError):
        store.put(claimed, path)
    store.flush()
    assert not store.exists(claimed)
    assert list(store.list()) == []


@pytest.mark.parametrize("count", [6, 200], ids=["few-oids", "many-oids"])
def test_missing_with_present_and_absent_oids(store: ObjectStore, blobs: Blobs, count: int) -> None:
    present = blobs.put(store, *(b"present-%d" % i for i in range(count // 2)))
    absent = absent_oids(count - count // 2)
    assert store.missing(present + absent) == set(absent)
    assert store.missing(present) == set()
    assert store.missing([]) == set()


def test_listing_and_missing_beyond_one_page(store: ObjectStore, blobs: Blobs) -> None:
    present = blobs.put(store, *contents_in_prefix("ab", PAGED_COUNT))
    assert {oid[:2] for oid in present} == {"ab"}  # one fan-out prefix holds > 1,000 keys
    listed = list(store.list())
    assert len(listed) == PAGED_COUNT
    assert set(listed) == set(present)
    absent = absent_oids(5, prefix="ab") + absent_oids(5)
    assert store.missing(present + absent) == set(absent)


def test_empty_store(store: ObjectStore) -> None:
    wanted = absent_oids(300)
    assert list(store.list()) == []
    assert store.missing(wanted) == set(wanted)
    assert store.missing(wanted[:3]) == set(wanted[:3])


def test_get_of_an_absent_object_raises(store: ObjectStore) -> None:
    [oid] = absent_oids(1)
    with pytest.raises(ObjectNotFoundError) as excinfo:
        store.get(oid, io.BytesIO())
    assert excinfo.value.oid == oid
    assert not store.exists(oid)


def test_delete_present_and_absent(store: ObjectStore, blobs: Blobs) -> None:
    doomed, kept = blobs.put(store, b"doomed", b"kept")
    [never] = absent_oids(1)
    store.delete([doomed, never])
    assert not store.exists(doomed)
    assert store.exists(kept)
    assert list(store.list()) == [kept]
    store.delete([])
    store.delete([doomed])  # deleting again is not an error


def test_list_skips_keys_that_are_not_objects(backend: Backend, blobs: Blobs) -> None:
    if backend.add_junk is None:
        pytest.skip("this store holds nothing but objects")
    store = backend.store
    [oid] = blobs.put(store, b"the only object")
    junk = [
        "README",
        f"{oid[:2]}/{TEMP_PREFIX}123-0",  # an interrupted write
        f"{oid[:2]}/{oid[2:]}.partial",
        f"{oid[:2]}/{oid[2:12]}",  # too short
        f"zz/{oid[2:]}",  # not hex
        f"{oid[:2]}/{oid[2:].upper()}",
        f"nested/{object_key(hash_bytes(b'elsewhere'))}",  # an object layout one level down
    ]
    for key in junk:
        backend.add_junk(key, b"junk")
    assert list(store.list()) == [oid]
    assert store.missing([oid]) == set()
