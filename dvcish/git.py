"""Read dvcish pointers at any git revision through plumbing, without checking anything out.

Nouns: a *rev* is anything git resolves to a commit (``main``, ``v1``, ``HEAD~2``, a sha). A
*pointer file* is a regular-file blob whose name ends in ``.dvcish`` anywhere in a commit's tree,
except inside a folder named ``.dvcish`` (a repo's own config). Symlinks and submodules are never
pointer files.

``Git`` owns one long-lived ``git cat-file --batch`` process. Commits, trees and blobs are all
read through it, and every distinct tree and blob is read and parsed once, so walking thousands of
commits costs two processes rather than thousands (unchanged folders share a tree id across
commits). ``Git`` is not thread-safe; ``close()`` it, or use ``with``, to stop the process.
``clone`` makes the (shallow) clones ``dvcish get``/``import`` read from. Nothing here prints.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import tempfile
import threading
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import IO, NamedTuple

from dvcish.errors import DvcishError
from dvcish.pointer import POINTER_SUFFIX, Pointer, parse_pointer

POINTER_READ_LIMIT = 1 << 20  # bytes of a pointer blob parsed, as pointer.load_pointer reads
# Variables that would point git at another repository than the one we name with -C (they are
# set inside git hooks, for instance).
_REPO_ENV = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_PREFIX")
_INLINE_WRITE = 4096  # requests this small fit in any pipe buffer: no writer thread needed
_OID_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SUFFIX = POINTER_SUFFIX.encode()


class _Object(NamedTuple):
    oid: str
    type: str  # "blob", "tree", "commit" or "tag"
    data: bytes  # at most the limit asked for


class Git:
    """Plumbing access to the git repository at ``root`` (a work tree or a bare repo)."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = os.fspath(root)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stderr: IO[bytes] | None = None
        self._stop: weakref.finalize | None = None
        found = _git(["rev-parse", "--git-dir"], self.root, check=False)
        if found.returncode != 0:
            if b"dubious ownership" in found.stderr:
                raise DvcishError(
                    f"git refuses {self.root}: owned by another user; "
                    f"run `git config --global --add safe.directory {self.root}`"
                )
            dot_git = os.path.join(self.root, ".git")
            if os.path.lexists(dot_git):
                raise DvcishError(
                    f"{dot_git} is broken (git says: {_last_line(found.stderr)}); repair it, "
                    "or clone the repository again"
                )
            raise DvcishError(f"{self.root} is not a git repository; run `git init` there")

    def __enter__(self) -> Git:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the cat-file process (a later call starts a new one)."""
        if self._stop is not None:
            self._stop()
        self._proc = self._stderr = self._stop = None

    # --- revisions and refs -------------------------------------------------------------------

    def resolve(self, rev: str) -> str:
        """The full sha of the commit ``rev`` names; DvcishError when it names none."""
        return self._commits([rev])[rev][0]

    def head_sha(self) -> str | None:
        """The commit HEAD points at, or None in a repository without commits."""
        (obj,) = self._objects(["HEAD^{commit}"])
        return obj.oid if obj is not None else None

    def is_shallow(self) -> bool:
        """True for a shallow clone, whose history stops at a cut-off."""
        out = _git(["rev-parse", "--is-shallow-repository"], self.root).stdout
        return out.strip() == b"true"

    def branches(self) -> dict[str, str]:
        """Local branch name (``main``, ``feature/x``) -> tip commit sha."""
        return self._peeled_refs("refs/heads/")

    def tags(self) -> dict[str, str]:
        """Tag name -> commit sha, annotated tags peeled; tags of trees or blobs are left out."""
        return self._peeled_refs("refs/tags/")

    def all_commits(self) -> list[str]:
        """Every commit reachable from any ref or HEAD, newest first; refuses shallow clones."""
        if self.is_shallow():
            raise DvcishError(
                f"{self.root} is a shallow clone, so its history is incomplete; "
                "run `git fetch --unshallow` first"
            )
        return _git(["rev-list", "--all"], self.root).stdout.decode().split()

    # --- pointers -----------------------------------------------------------------------------

    def pointer_files(self, rev: str) -> list[tuple[str, str]]:
        """(repo-relative path, blob sha) of every pointer file in ``rev``, sorted by path."""
        tree = self._commits([rev])[rev][1]
        return self._pointer_blobs([tree])[tree]

    def pointers_at(self, rev: str) -> dict[str, Pointer]:
        """Repo-relative pointer path -> parsed Pointer, for the commit ``rev`` names."""
        return self.pointers_in_revs([rev])[rev]

    def pointers_in_revs(self, revs: Iterable[str]) -> dict[str, dict[str, Pointer]]:
        """``pointers_at`` for many revs at once, each distinct tree and blob read and parsed once.

        Keys are the revs as given. A bad pointer raises DvcishError naming ``path@rev`` for the
        first rev (in the order given) that holds it.
        """
        revs = list(dict.fromkeys(revs))
        commits = self._commits(revs)
        files = self._pointer_blobs(tree for _, tree in commits.values())
        blobs = self.read_blobs(
            {blob for entries in files.values() for _, blob in entries}, limit=POINTER_READ_LIMIT
        )
        parsed: dict[str, Pointer] = {}
        result: dict[str, dict[str, Pointer]] = {}
        for rev in revs:
            pointers = result[rev] = {}
            for path, blob in files[commits[rev][1]]:
                pointer = parsed.get(blob)
                if pointer is None:
                    pointer = parsed[blob] = parse_pointer(blobs[blob], f"{path}@{rev}")
                pointers[path] = pointer
        return result

    # --- objects ------------------------------------------------------------------------------

    def read_blobs(self, shas: Iterable[str], limit: int | None = None) -> dict[str, bytes]:
        """Blob sha -> contents (only the first ``limit`` bytes when given), in one batch."""
        wanted = list(dict.fromkeys(shas))
        for sha in wanted:
            if not isinstance(sha, str) or not _OID_RE.fullmatch(sha):
                raise DvcishError(f"{sha!r} is not a full lowercase git object id")
        out: dict[str, bytes] = {}
        for sha, obj in zip(wanted, self._objects(wanted, limit), strict=True):
            if obj is None or obj.type != "blob":
                raise DvcishError(f"git blob {sha} is missing from {self.root}; run `git fsck`")
            out[sha] = obj.data
        return out

    def read_file_at(self, rev: str, path: str) -> bytes | None:
        """The bytes of the file at repo-relative ``path`` in ``rev``; None if there is none."""
        commit = self._commits([rev])[rev][0]
        path = path.replace(os.sep, "/").strip("/")
        if not path or "\n" in path:
            raise DvcishError(f"{path!r} is not a repo-relative file path")
        (obj,) = self._objects([f"{commit}:{path}"])
        return obj.data if obj is not None and obj.type == "blob" else None

    # --- internals ----------------------------------------------------------------------------

    def _peeled_refs(self, prefix: str) -> dict[str, str]:
        out = _git(["for-each-ref", "--format=%(refname)", prefix], self.root).stdout
        refs = out.decode("utf-8", "surrogateescape").splitlines()
        objs = zip(refs, self._objects([f"{ref}^{{commit}}" for ref in refs]), strict=True)
        return {ref[len(prefix) :]: obj.oid for ref, obj in objs if obj is not None}

    def _commits(self, revs: Sequence[str]) -> dict[str, tuple[str, str]]:
        """rev -> (commit sha, root tree sha); DvcishError for the first rev naming no commit."""
        for rev in revs:
            if not isinstance(rev, str) or not rev or "\n" in rev or "\0" in rev:
                raise self._unknown(str(rev))
        out: dict[str, tuple[str, str]] = {}
        for rev, obj in zip(revs, self._objects([f"{r}^{{commit}}" for r in revs]), strict=True):
            if obj is None:
                raise self._unknown(rev)
            if not obj.data.startswith(b"tree "):
                raise DvcishError(f"git commit {obj.oid} in {self.root} is corrupt; run `git fsck`")
            out[rev] = (obj.oid, obj.data[5 : obj.data.index(b"\n")].decode())
        return out

    def _unknown(self, rev: str) -> DvcishError:
        if self.head_sha() is None and not self.branches():
            return DvcishError(
                f"{self.root} has no commits yet, so {rev!r} names nothing; commit first"
            )
        hint = " (this is a shallow clone: `git fetch --unshallow`)" if self.is_shallow() else ""
        return DvcishError(
            f"unknown revision {rev!r} in {self.root}; check `git tag`/`git branch`{hint}"
        )

    def _pointer_blobs(self, trees: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
        """Tree sha -> sorted (path, blob sha) of the pointer files anywhere under it."""
        roots = list(dict.fromkeys(trees))
        parsed: dict[str, tuple[list[tuple[str, str]], list[tuple[str, str]]]] = {}
        todo = roots
        while todo:  # breadth first: one cat-file round trip per folder depth
            for sha, obj in zip(todo, self._objects(todo), strict=True):
                if obj is None or obj.type != "tree":
                    raise DvcishError(f"git tree {sha} is missing from {self.root}; run `git fsck`")
                parsed[sha] = _parse_tree(obj.data, len(sha) // 2, sha)
            todo = list(dict.fromkeys(s for t in todo for _, s in parsed[t][0] if s not in parsed))
        flat: dict[str, list[tuple[str, str]]] = {}
        for root in roots:  # post-order with an explicit stack: folder depth is untrusted
            stack = [root]
            while stack:
                sha = stack[-1]
                subtrees, pointers = parsed[sha]
                pending = [sub for _, sub in subtrees if sub not in flat]
                if pending:
                    stack.extend(pending)
                    continue
                stack.pop()
                entries = list(pointers)
                for name, sub in subtrees:
                    entries.extend((f"{name}/{path}", blob) for path, blob in flat[sub])
                flat[sha] = entries
        return {root: sorted(flat[root]) for root in roots}

    def _objects(self, requests: Sequence[str], limit: int | None = None) -> list[_Object | None]:
        """Read the objects named by revision expressions; None for a missing or ambiguous one."""
        if not requests:
            return []
        proc = self._cat()
        assert proc.stdin is not None and proc.stdout is not None
        payload = "".join(f"{r}\n" for r in requests).encode("utf-8", "surrogateescape")
        writer = None
        try:
            if len(payload) <= _INLINE_WRITE:
                proc.stdin.write(payload)
                proc.stdin.flush()
            else:  # git blocks on a full stdout while we would block on a full stdin: use a thread
                writer = threading.Thread(target=_write_all, args=(proc.stdin, payload))
                writer.daemon = True
                writer.start()
            objects = [self._read_object(proc.stdout, limit) for _ in requests]
        except BaseException:
            proc.kill()  # out of step with git now: never reuse this process
            if writer is not None:
                writer.join()
            self.close()
            raise
        if writer is not None:
            writer.join()
        return objects

    def _read_object(self, stream: IO[bytes], limit: int | None) -> _Object | None:
        header = stream.readline()
        fields = header.split()
        if header.endswith(b"\n") and fields and fields[-1] in (b"missing", b"ambiguous"):
            return None
        if not header.endswith(b"\n") or len(fields) != 3 or not fields[2].isdigit():
            raise self._cat_failed()
        size = int(fields[2])
        keep = size if limit is None else min(size, limit)
        data = stream.read(keep)
        skip = size - keep + 1  # the rest of the object, then the LF that ends every response
        while skip > 0:
            chunk = stream.read(min(skip, 1 << 20))
            if not chunk:
                break
            skip -= len(chunk)
        if len(data) != keep or skip:
            raise self._cat_failed()
        return _Object(fields[0].decode(), fields[1].decode(), data)

    def _cat(self) -> subprocess.Popen[bytes]:
        if self._proc is None:
            stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by _stop_process)
            args = ["git", "--no-pager", "-C", self.root, "cat-file", "--batch"]
            try:
                proc = subprocess.Popen(
                    args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=_env()
                )
            except FileNotFoundError:
                stderr.close()
                raise DvcishError("git not found on PATH; install git") from None
            self._proc, self._stderr = proc, stderr
            self._stop = weakref.finalize(self, _stop_process, proc, stderr)
        return self._proc

    def _cat_failed(self) -> DvcishError:
        why = "it exited"
        if self._stderr is not None:
            self._stderr.seek(0)
            why = _last_line(self._stderr.read()) or why
        return DvcishError(f"git cat-file failed in {self.root}: {why}; run `git fsck`")


def index_paths(root: str, paths: Sequence[str]) -> set[str]:
    """Which of these repo-relative paths git's index holds (files, or folders with files)."""
    listed = files_in_git_index(root, paths)
    return {path for path in paths if any(n == path or n.startswith(path + "/") for n in listed)}


def deleted_pointer_files(root: str) -> dict[str, bytes]:
    """Pointer files the index holds but the work tree lacks: repo-relative path -> the bytes
    staged for it (how ``status`` recognises a pointer moved by hand)."""
    done = _git(["ls-files", "-z", "--deleted", "--", f"*{POINTER_SUFFIX}"], root, check=False)
    if done.returncode != 0:
        return {}
    paths = sorted({p for p in done.stdout.decode("utf-8", "surrogateescape").split("\0") if p})
    if not paths:
        return {}
    with Git(root) as git:
        found = git._objects([f":{path}" for path in paths], POINTER_READ_LIMIT)
    return {
        path: obj.data
        for path, obj in zip(paths, found, strict=True)
        if obj is not None and obj.type == "blob"
    }


def work_tree_root(path: str) -> str | None:
    """The top folder of the git work tree holding ``path``, or None outside any."""
    done = _git(["rev-parse", "--show-toplevel"], path, check=False)
    if done.returncode != 0:
        return None
    return done.stdout.decode("utf-8", "surrogateescape").strip() or None


def files_in_git_index(root: str, paths: Sequence[str]) -> list[str]:
    """The files git tracks (its index) at or below ``paths``, relative to ``root``; empty when
    ``root`` is not in a git work tree."""
    if not paths:
        return []
    specs = [f":(literal){path}" for path in paths]  # names, not patterns
    done = _git(["ls-files", "-z", "--cached", "--", *specs], root, check=False)
    if done.returncode != 0:
        return []
    return sorted(
        name for name in done.stdout.decode("utf-8", "surrogateescape").split("\0") if name
    )


def clone(
    url: str, dest: str | os.PathLike[str], rev: str | None = None, shallow: bool = True
) -> str:
    """Clone ``url`` into the new folder ``dest`` at ``rev`` (None: default branch); return the sha.

    A branch or tag is cloned with ``--depth 1 --branch REV``. A commit sha is fetched alone
    (``git fetch --depth 1 origin SHA``) when the server allows it; otherwise, and for an
    abbreviated sha, all branches and tags are fetched and the commit checked out. Local paths
    are cloned as ``file://`` URLs so that ``--depth`` applies to them too.
    """
    dest = os.path.abspath(os.fspath(dest))
    existed = os.path.lexists(dest)
    if existed and (not os.path.isdir(dest) or os.listdir(dest)):
        raise DvcishError(f"cannot clone into {dest}: it is not an empty folder; pick a new one")
    if rev is not None and (not rev or rev.startswith("-") or "\n" in rev or "\0" in rev):
        raise DvcishError(f"unknown revision {rev!r} in {url}; pass a branch, tag or commit sha")
    source = Path(url).resolve().as_uri() if shallow and os.path.isdir(url) else url
    depth = ["--depth", "1"] if shallow else []
    quiet = ["-c", "advice.detachedHead=false"]
    branch = ["--branch", rev] if rev is not None else []
    done = _git([*quiet, "clone", "--quiet", *depth, *branch, "--", source, dest], check=False)
    if done.returncode != 0:
        if rev is None or b"not found in upstream" not in done.stderr:
            raise DvcishError(f"cannot clone {url}: {_last_line(done.stderr)}")
        try:
            _clone_commit(source, dest, rev, shallow, url)
        except BaseException:  # leave dest as we found it: absent or empty
            shutil.rmtree(dest, ignore_errors=True)
            if existed:
                os.mkdir(dest)
            raise
    head = _git(["rev-parse", "--verify", "-q", "HEAD"], dest, check=False)
    if head.returncode != 0:
        raise DvcishError(f"cannot read {url}: it has no commits yet; commit something first")
    return head.stdout.decode().strip()


def _clone_commit(source: str, dest: str, rev: str, shallow: bool, url: str) -> None:
    os.makedirs(dest, exist_ok=True)
    _git(["init", "--quiet"], dest)
    _git(["remote", "add", "origin", source], dest)
    one = shallow and _git(["fetch", "-q", "--depth", "1", "origin", rev], dest, check=False)
    if one and one.returncode == 0:
        target = "FETCH_HEAD"
    else:
        _git(["fetch", "-q", "--tags", "origin", "+refs/heads/*:refs/remotes/origin/*"], dest)
        target = rev
    checkout = ["-c", "advice.detachedHead=false", "checkout", "-q", "--detach", target]
    if _git(checkout, dest, check=False).returncode != 0:
        raise DvcishError(f"unknown revision {rev!r} in {url}; check its branches and tags")


def _git(
    args: Sequence[str], cwd: str | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    command = ["git", "--no-pager", *(["-C", cwd] if cwd is not None else []), *args]
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, env=_env())
    except FileNotFoundError:
        raise DvcishError("git not found on PATH; install git") from None
    if check and done.returncode != 0:
        where = cwd if cwd is not None else os.getcwd()
        raise DvcishError(f"git {args[0]} failed in {where}: {_last_line(done.stderr)}")
    return done


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _REPO_ENV}
    # English messages, no pager, never prompt for credentials, never take optional locks
    env.update(LC_ALL="C", LANGUAGE="C", GIT_PAGER="cat", PAGER="cat", GIT_TERMINAL_PROMPT="0")
    env["GIT_OPTIONAL_LOCKS"] = "0"
    return env


def _last_line(stderr: bytes) -> str:
    lines = stderr.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


def _parse_tree(data: bytes, oid_len: int, sha: str) -> tuple[list, list]:
    """Split a raw tree into (subtrees, pointer files), each a list of (name, sha)."""
    subtrees: list[tuple[str, str]] = []
    pointers: list[tuple[str, str]] = []
    if b"40000 " not in data and _SUFFIX + b"\0" not in data:
        return subtrees, pointers  # no folder and no pointer here: skip the entry-by-entry walk
    pos, end = 0, len(data)
    try:
        while pos < end:
            space = data.index(b" ", pos)
            nul = data.index(b"\0", space)
            mode, name = data[pos:space], data[space + 1 : nul]
            pos = nul + 1 + oid_len
            if pos > end:
                raise ValueError
            if mode == b"40000" and name != b".dvcish":
                subtrees.append((name.decode(errors="surrogateescape"), data[nul + 1 : pos].hex()))
            elif mode.startswith(b"100") and name.endswith(_SUFFIX) and name != _SUFFIX:
                pointers.append((name.decode(errors="surrogateescape"), data[nul + 1 : pos].hex()))
    except ValueError:
        raise DvcishError(f"git tree {sha} is corrupt; run `git fsck`") from None
    return subtrees, pointers


def _write_all(stream: IO[bytes], payload: bytes) -> None:
    with contextlib.suppress(OSError, ValueError):  # git died or was stopped: the reader reports
        stream.write(payload)
        stream.flush()


def _stop_process(proc: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        with contextlib.suppress(OSError, ValueError):
            if pipe is not None:
                pipe.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    stderr.close()
