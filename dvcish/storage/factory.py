"""The one place that turns a remote's settings (its url and options) into a store.

Remotes of this repository, of another repository read at a commit (``get``, ``import``, ``ls``)
and of the Python API all come through ``open_store``. boto3 is imported only when the url is
``s3://``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dvcish.errors import DvcishError
from dvcish.storage.base import ObjectStore
from dvcish.storage.local import LocalStore
from dvcish.storage.packed import PackedStore, PackOptions

S3_SCHEME = "s3://"
FILE_SCHEME = "file://"


def open_store(
    name: str,
    settings: Mapping[str, object],
    base_dir: str,
    packing: PackOptions | None = None,
    index_cache: str | None = None,
) -> PackedStore:
    """The store of remote ``name``; a relative folder url is taken from ``base_dir``.

    Every remote is read with packs in mind (storage/packed.py); ``packing`` says how this
    client writes (a threshold of 0 writes everything loose). ``index_cache`` is the folder
    that keeps downloaded index files (None: memory only).
    """
    url = str(settings.get("url") or "")
    if not url:
        raise DvcishError(f"remote {name!r} has no url; run `dvcish remote modify {name} url URL`")
    description = f"remote {name!r} ({url})"
    options = {key: value for key, value in settings.items() if key != "packs"}
    if url.startswith(S3_SCHEME):
        from dvcish.storage.s3 import S3Options, S3Store

        backend: ObjectStore = S3Store(url, S3Options.from_config(options, name), description)
    else:
        backend = LocalStore(local_root(url, base_dir), description)
    return PackedStore(backend, packing or PackOptions(), index_cache)


def local_root(url: str, base_dir: str) -> str:
    """The folder a local url names (``file://`` optional, ``~`` expanded, relative to base)."""
    path = url[len(FILE_SCHEME) :] if url.startswith(FILE_SCHEME) else url
    return os.path.join(base_dir, os.path.expanduser(path))
