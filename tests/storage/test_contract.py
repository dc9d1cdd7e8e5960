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

from dvcish.errors import CorruptObjectError, DvcishError, ObjectNotFoundError
from dvcish.fsutil import TEMP_PREFIX
from dvcish.hashing import hash_bytes
from dvcish.storage.base import ObjectStore, object_key
from dvcish.storage.cache import Cache
from dvcish.storage.local import LocalStore
from dvcish.storage.memory import MemoryStore
from dvcish.storage.packed import PackedStore, PackOptions

MiB = 1 << 20
# More than one listing page (1,000 keys), all in one fan-out prefix.
PAGED_COUNT = 1010


@dataclasses.dataclass
class Backend:
    store: ObjectStore
    # Writes raw bytes under a key relative to the store's root, bypassing the store.
    add_junk: Callable[[str, bytes], None] | None = None
    # A PackedStore: packed objects live inside packs (no key or URL of their own, removed only
    # by gc --cloud); tests/test_packs.py covers what differs.
    packed: bool = False
    # Moves a large object in pieces (progress moves during it); memory stores hand it over whole.
    streams: bool = True


def memory_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    return Backend(MemoryStore(), streams=False)


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


def packed(make: Callable[[pytest.FixtureRequest, Path], Backend]):
    """The same backend behind a PackedStore that packs everything under 64 KiB into packs of
    about 32 KiB, so every test crosses several packs and the loose path for large objects."""

    def wrapped(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
        inner = make(request, tmp_path)
        options = PackOptions(threshold=64 * 1024, pack_size=32 * 1024, loose_below=0)
        store = PackedStore(inner.store, options, str(tmp_path / "index-cache"))
        return Backend(store, inner.add_junk, packed=True, streams=inner.streams)

    return wrapped


BACKENDS = {
    "memory": memory_backend,
    "local": local_backend,
    "cache": cache_backend,
    "s3-moto": s3_backend("moto_server"),
    "s3-rclone": s3_backend("rclone_server"),
    "packed-memory": packed(memory_backend),
    "packed-local": packed(local_backend),
    "packed-moto": packed(s3_backend("moto_server")),
    "packed-rclone": packed(s3_backend("rclone_server")),
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


def test_put_then_exists_get_and_list(backend: Backend, blobs: Blobs) -> None:
    store = backend.store
    oids = blobs.put(store, b"hello\n", b"", bytes(range(256)) * 100)
    for oid in oids:
        assert store.exists(oid)
        assert read(store, oid) == blobs.data[oid]
    assert sorted(store.list()) == sorted(oids)
    store.put(*blobs.file(b"hello\n"))  # putting an object again is harmless
    store.flush()
    assert read(store, oids[0]) == b"hello\n"
    if backend.packed:
        with pytest.raises(DvcishError, match="is packed in packs/"):
            store.url_of(oids[0])
    else:
        assert object_key(oids[0]) in store.url_of(oids[0])


def test_a_large_object_reports_its_bytes_as_they_move(
    backend: Backend, blobs: Blobs, tmp_path: Path
) -> None:
    """put and a read into the cache tell progress of every byte once, in pieces while a large
    object moves (S3: each multipart part; folders: each chunk copied; downloads: each chunk)."""
    store = backend.store
    oid, path = blobs.file(bytes(range(256)) * (11 * MiB // 256))
    sent: list[int] = []
    store.put(oid, path, sent.append)
    store.flush()
    assert sum(sent) == 11 * MiB
    assert len(sent) > 1 if backend.streams else len(sent) == 1
    cache = Cache(str(tmp_path / "receiving"))
    cache.create_layout()
    arrived: list[int] = []
    [(got, size)] = cache.receive_group(store, store.plan_reads([oid])[0], arrived.append)
    assert (got, size, sum(arrived)) == (oid, 11 * MiB, 11 * MiB)
    assert len(arrived) > 1 if backend.streams else len(arrived) == 1
    cache.flush()
    assert cache.exists(oid)


def test_read_verified_checks_the_bytes(backend: Backend, blobs: Blobs) -> None:
    store = backend.store
    good, bad = blobs.put(store, b"a tree, say", b"bytes that will rot")
    assert store.read_verified(good) == b"a tree, say"
    [absent] = absent_oids(1)
    with pytest.raises(ObjectNotFoundError):
        store.read_verified(absent)
    if backend.add_junk is None or backend.packed:
        return  # a corrupt pack member: tests/test_packs.py
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


def test_delete_present_and_absent(backend: Backend, blobs: Blobs) -> None:
    if backend.packed:
        pytest.skip("packed objects are removed by gc --cloud, tested in tests/test_packs.py")
    store = backend.store
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


def test_blobs_whole_and_by_range(store: ObjectStore) -> None:
    data = bytes(range(256)) * 40
    store.put_blob("packs/p1.zip", data)
    store.put_blob("index/i1", b"index bytes")
    store.flush()
    buffer = io.BytesIO()
    assert store.get_blob("packs/p1.zip", buffer) == len(data) and buffer.getvalue() == data
    for offset, length in ((0, 1), (100, 1000), (len(data) - 7, 7), (5000, None)):
        buffer = io.BytesIO()
        store.get_blob("packs/p1.zip", buffer, offset, length)
        expected = data[offset:] if length is None else data[offset : offset + length]
        assert buffer.getvalue() == expected, (offset, length)
    listed = {info.key: info for info in store.list_blobs("packs/")}
    assert set(listed) == {"packs/p1.zip"} and listed["packs/p1.zip"].size == len(data)
    assert listed["packs/p1.zip"].mtime > 0
    assert [info.key for info in store.list_blobs("index/")] == ["index/i1"]
    assert list(store.list()) == []  # blobs are not objects
    with pytest.raises(ObjectNotFoundError):
        store.get_blob("packs/absent.zip", io.BytesIO())
    store.delete_blobs(["packs/p1.zip", "packs/never.zip"])
    assert [info.key for info in store.list_blobs("packs/")] == []


def test_an_object_is_a_blob_under_its_key(backend: Backend, blobs: Blobs) -> None:
    if backend.packed:
        pytest.skip("a packed object lives inside a pack, not under its own key")
    store = backend.store
    [oid] = blobs.put(store, b"0123456789")
    buffer = io.BytesIO()
    store.get_blob(object_key(oid), buffer, 2, 3)
    assert buffer.getvalue() == b"234"
    assert [info.key for info in store.list_blobs("")] == [object_key(oid)]
