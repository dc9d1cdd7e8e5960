"""dvcish.pointer: the YAML pointer file is untrusted input; every field is validated."""

from __future__ import annotations

import pytest
import yaml

from dvcish.errors import DvcishError
from dvcish.hashing import hash_bytes
from dvcish.pointer import (
    Pointer,
    Source,
    dump_pointer,
    is_pointer_name,
    load_pointer,
    parse_pointer,
    pointer_path_for,
    write_pointer,
)
from tests.helpers import assert_rejected

OID = hash_bytes(b"data")
ORIGIN = "sub/data.dvcish"
DROP = object()  # a field value meaning "leave the field out"


def file_fields(**changes) -> dict:
    fields = {
        "version": 1,
        "path": "data.csv",
        "kind": "file",
        "hash": "xxh128",
        "oid": OID,
        "size": 4,
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not DROP}


def dir_fields(**changes) -> dict:
    return file_fields(**{"kind": "dir", "path": "images", "nfiles": 3, **changes})


def to_bytes(fields: dict) -> bytes:
    return yaml.safe_dump(fields, sort_keys=False).encode()


def rejected(data: bytes, *fragments: str) -> str:
    return assert_rejected(parse_pointer, data, ORIGIN, *fragments)


# ----------------------------------------------------------------------------- valid pointers


def test_dump_of_a_file_pointer_is_the_documented_yaml():
    text = dump_pointer(Pointer("data.csv", "file", OID, 4)).decode()
    assert text == (f"version: 1\npath: data.csv\nkind: file\nhash: xxh128\noid: {OID}\nsize: 4\n")


def test_dump_of_a_dir_pointer_has_nfiles():
    text = dump_pointer(Pointer("images", "dir", OID, 10, nfiles=3)).decode()
    assert yaml.safe_load(text) == {
        "version": 1,
        "path": "images",
        "kind": "dir",
        "hash": "xxh128",
        "oid": OID,
        "size": 10,
        "nfiles": 3,
    }


@pytest.mark.parametrize(
    "pointer",
    [
        Pointer("data.csv", "file", OID, 0),
        Pointer("images", "dir", OID, 0, nfiles=0),
        Pointer("with space and ünïcode", "file", OID, 2**40),
        Pointer("images", "dir", OID, 5, 2, Source("../other", "data", None, "a" * 40)),
    ],
)
def test_round_trip(pointer):
    assert parse_pointer(dump_pointer(pointer), ORIGIN) == pointer


def test_parse_valid_file_pointer_fields():
    pointer = parse_pointer(to_bytes(file_fields()), ORIGIN)
    assert pointer == Pointer(path="data.csv", kind="file", oid=OID, size=4, nfiles=None)


def test_parse_valid_dir_pointer_fields():
    pointer = parse_pointer(to_bytes(dir_fields()), ORIGIN)
    assert (pointer.kind, pointer.nfiles, pointer.path) == ("dir", 3, "images")


def test_write_then_load(tmp_path):
    pointer_file = tmp_path / "data.csv.dvcish"
    pointer = Pointer("data.csv", "file", OID, 4)
    write_pointer(str(pointer_file), pointer)
    assert load_pointer(str(pointer_file)) == pointer
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv.dvcish"]  # no temp file left


def test_pointer_names():
    assert pointer_path_for("data/images") == "data/images.dvcish"
    assert pointer_path_for("data/images/") == "data/images.dvcish"
    assert is_pointer_name("x.dvcish")
    assert not is_pointer_name(".dvcish")
    assert not is_pointer_name("x.dvcish.bak")


# ----------------------------------------------------------------------------- invalid pointers


def test_load_missing_pointer_names_the_file(tmp_path):
    path = str(tmp_path / "gone.dvcish")
    with pytest.raises(DvcishError, match="gone.dvcish: pointer file not found"):
        load_pointer(path)


def test_load_invalid_pointer_names_the_file(tmp_path):
    path = tmp_path / "bad.dvcish"
    path.write_bytes(b"- just\n- a list\n")
    with pytest.raises(DvcishError) as info:
        load_pointer(str(path))
    assert str(info.value).startswith(f"{path}: invalid pointer file")


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"version: [1\n", "not valid YAML"),
        (b"\xff\xfe\x00garbage", ""),
        (b"", "mapping"),
        (b"just a string\n", "mapping"),
        (b"- 1\n- 2\n", "mapping"),
        (b"42\n", "mapping"),
    ],
    ids=["bad-yaml", "not-utf8", "empty", "scalar", "list", "number"],
)
def test_not_a_yaml_mapping(data, fragment):
    rejected(data, "invalid pointer file", fragment)


def test_unknown_field():
    rejected(to_bytes(file_fields(extra="x")), "unknown field 'extra'")


@pytest.mark.parametrize("version", [DROP, 2, 0, "1", 1.0, True, None, [1]])
def test_version_must_be_integer_1(version):
    rejected(to_bytes(file_fields(version=version)), "version")


@pytest.mark.parametrize("hash_name", [DROP, "md5", "XXH128", "sha256", None, 128])
def test_hash_must_be_xxh128(hash_name):
    rejected(to_bytes(file_fields(hash=hash_name)), "hash")


@pytest.mark.parametrize("kind", [DROP, "folder", "File", "", None, 1])
def test_kind_must_be_file_or_dir(kind):
    rejected(to_bytes(file_fields(kind=kind)), "kind")


@pytest.mark.parametrize(
    "oid",
    [DROP, "", OID[:-1], OID + "0", OID.upper(), "z" * 32, None, 12345, " " + OID[1:]],
    ids=["missing", "empty", "short", "long", "upper", "non-hex", "null", "int", "space"],
)
def test_oid_must_be_32_lowercase_hex(oid):
    rejected(to_bytes(file_fields(oid=oid)), "oid")


@pytest.mark.parametrize("size", [DROP, -1, 1.5, 4.0, "4", True, None])
def test_size_must_be_a_non_negative_integer(size):
    rejected(to_bytes(file_fields(size=size)), "size")


@pytest.mark.parametrize("nfiles", [DROP, -1, 2.0, "3", True, None])
def test_dir_nfiles_must_be_a_non_negative_integer(nfiles):
    rejected(to_bytes(dir_fields(nfiles=nfiles)), "nfiles")


def test_file_pointer_must_not_have_nfiles():
    rejected(to_bytes(file_fields(nfiles=1)), "nfiles")


@pytest.mark.parametrize(
    "path",
    [
        DROP,
        "",
        ".",
        "..",
        "a/b",
        "/abs",
        "../up",
        "a\\b",
        "nul\x00",
        "tab\there",
        "bell\x07",
        "del\x7f",
        ".git",
        ".GIT",
        ".dvcish",
        ".DvcIsh",
        None,
        5,
        ["data"],
    ],
    ids=lambda value: "missing" if value is DROP else repr(value),
)
def test_path_must_be_a_plain_name_beside_the_pointer(path):
    rejected(to_bytes(file_fields(path=path)), "path")


@pytest.mark.parametrize(
    "source",
    [
        "a string",
        {"url": "u", "path": "p", "rev": None, "rev_lock": "a" * 40, "extra": 1},
        {"url": "", "path": "p", "rev": None, "rev_lock": "a" * 40},
        {"url": "u", "path": "p", "rev": 5, "rev_lock": "a" * 40},
        {"url": "u", "path": "p", "rev": None, "rev_lock": "a" * 39},
        {"url": "u", "path": "p", "rev": None, "rev_lock": "A" * 40},
    ],
)
def test_source_is_validated(source):
    rejected(to_bytes(file_fields(source=source)), "source")


def test_error_tells_what_to_do():
    assert "restore it from git" in rejected(to_bytes(file_fields(size=-1)))
