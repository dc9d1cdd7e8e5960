"""dvcish.git against real git repositories built in tmp_path (git itself is never mocked)."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from dvcish.errors import DvcishError
from dvcish.git import Git, clone
from dvcish.hashing import hash_bytes
from dvcish.pointer import Pointer, dump_pointer


@pytest.fixture(autouse=True)
def git_identity(monkeypatch):
    """Make the tests independent of the user's git configuration."""
    for who in ("AUTHOR", "COMMITTER"):
        monkeypatch.setenv(f"GIT_{who}_NAME", "Test")
        monkeypatch.setenv(f"GIT_{who}_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def git(cwd: Path, *args: str, stdin: bytes | None = None) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), "-c", "init.defaultBranch=main", *args],
        input=stdin,
        capture_output=True,
        check=True,
    )
    return done.stdout.decode().strip()


def new_repo(path: Path, bare: bool = False) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q", *(["--bare"] if bare else []))
    return path


def commit(repo: Path, files: dict[str, bytes | None], message: str = "change") -> str:
    """Write (or, for None, delete) files, commit everything and return the commit sha."""
    for name, data in files.items():
        target = repo / name
        if data is None:
            target.unlink()
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--allow-empty", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def pointer(name: str, content: bytes, kind: str = "file") -> bytes:
    nfiles = 3 if kind == "dir" else None
    return dump_pointer(Pointer(name, kind, hash_bytes(content), len(content), nfiles))


def oid(content: bytes) -> str:
    return hash_bytes(content)


@pytest.fixture
def history(tmp_path):
    """A repo with a tagged first commit and a second commit that changes the pointers."""
    repo = new_repo(tmp_path / "repo")
    first = commit(
        repo,
        {
            "data.csv.dvcish": pointer("data.csv", b"v1"),
            "sub/deep/images.dvcish": pointer("images", b"tree-v1", kind="dir"),
            ".dvcish/config": b"[core]\nremote = one\n",
            ".dvcish/ignored.dvcish": b"not a pointer: inside the config folder",
            "README.md": b"hello\n",
        },
    )
    git(repo, "tag", "-a", "-m", "first", "v1")
    second = commit(
        repo,
        {
            "data.csv.dvcish": pointer("data.csv", b"v2"),
            "sub/deep/images.dvcish": None,
            "models/model.bin.dvcish": pointer("model.bin", b"weights"),
            ".dvcish/config": b"[core]\nremote = two\n",
        },
    )
    return repo, first, second


def test_pointers_at_head_and_at_an_older_tag_and_sha(history):
    repo, first, second = history
    with Git(repo) as g:
        head = g.pointers_at("HEAD")
        assert sorted(head) == ["data.csv.dvcish", "models/model.bin.dvcish"]
        assert head["data.csv.dvcish"].oid == oid(b"v2")
        assert head["models/model.bin.dvcish"].path == "model.bin"

        old = g.pointers_at("v1")
        assert sorted(old) == ["data.csv.dvcish", "sub/deep/images.dvcish"]
        assert old["data.csv.dvcish"].oid == oid(b"v1")
        assert old["sub/deep/images.dvcish"].kind == "dir"
        assert old["sub/deep/images.dvcish"].nfiles == 3
        assert g.pointers_at(first[:10]) == old

        assert g.resolve("v1") == first
        assert g.resolve("HEAD") == second == g.head_sha()
        files = g.pointer_files("HEAD")
        assert files == [
            ("data.csv.dvcish", git(repo, "rev-parse", "HEAD:data.csv.dvcish")),
            ("models/model.bin.dvcish", git(repo, "rev-parse", "HEAD:models/model.bin.dvcish")),
        ]


def test_symlinks_submodules_and_config_folders_are_not_pointers(tmp_path):
    repo = new_repo(tmp_path / "repo")
    (repo / "real.dvcish").write_bytes(pointer("real", b"x"))
    os.symlink("real.dvcish", repo / "link.dvcish")
    (repo / "nested" / ".dvcish").mkdir(parents=True)
    (repo / "nested" / ".dvcish" / "a.dvcish").write_bytes(pointer("a", b"y"))
    (repo / "nested" / ".dvcish.txt").write_bytes(b"just a file")
    (repo / "sub").mkdir()
    (repo / "sub" / ".dvcish").write_bytes(b"a file named only by the suffix")
    some_commit = commit(repo, {"x": b"x"})
    git(repo, "update-index", "--add", "--cacheinfo", f"160000,{some_commit},module.dvcish")
    commit(repo, {})
    with Git(repo) as g:
        assert [path for path, _ in g.pointer_files("HEAD")] == ["real.dvcish"]
        assert list(g.pointers_at("HEAD")) == ["real.dvcish"]


def test_unknown_revision_is_named(history):
    repo, _, _ = history
    with Git(repo) as g:
        for call in (g.resolve, g.pointers_at, g.pointer_files):
            with pytest.raises(DvcishError, match=r"unknown revision 'v9' in .*git tag"):
                call("v9")
        with pytest.raises(DvcishError, match="unknown revision 'v9'"):
            g.pointers_in_revs(["HEAD", "v9"])
        with pytest.raises(DvcishError, match="unknown revision"):
            g.read_file_at("v9", ".dvcish/config")
        with pytest.raises(DvcishError, match="unknown revision"):
            g.resolve("HEAD\nHEAD")
        assert g.resolve("HEAD")  # the cat-file process is still in step after the errors


def test_repository_without_commits(tmp_path):
    repo = new_repo(tmp_path / "empty")
    with Git(repo) as g:
        assert g.head_sha() is None
        assert g.branches() == {}
        assert g.tags() == {}
        assert g.all_commits() == []
        assert g.is_shallow() is False
        assert g.pointers_in_revs([]) == {}
        with pytest.raises(DvcishError, match="has no commits yet, so 'HEAD' names nothing"):
            g.pointers_at("HEAD")


def test_not_a_repository_and_git_missing(tmp_path, monkeypatch):
    plain = tmp_path / "plain"
    plain.mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    with pytest.raises(DvcishError, match=r"plain is not a git repository; run `git init`"):
        Git(plain)
    monkeypatch.setenv("PATH", str(plain))
    with pytest.raises(DvcishError, match="git not found on PATH; install git"):
        Git(plain)


def test_branches_tags_and_all_commits(tmp_path):
    repo = new_repo(tmp_path / "repo")
    c1 = commit(repo, {"a.dvcish": pointer("a", b"1")})
    c2 = commit(repo, {"a.dvcish": pointer("a", b"2")})
    git(repo, "tag", "light", c1)
    git(repo, "tag", "-a", "-m", "annotated", "release/1.0", c2)
    git(repo, "tag", "-a", "-m", "tag of a tag", "nested", "release/1.0")
    blob = git(repo, "hash-object", "-w", "--stdin", stdin=b"a blob")
    git(repo, "tag", "blob-tag", blob)
    git(repo, "checkout", "-q", "-b", "feature/x")
    c3 = commit(repo, {"b.dvcish": pointer("b", b"3")})
    git(repo, "checkout", "-q", "main")
    c4 = commit(repo, {"c.dvcish": pointer("c", b"4")})
    git(repo, "checkout", "-q", "--detach", c1)
    c5 = commit(repo, {"d.dvcish": pointer("d", b"5")})  # reachable from HEAD only

    with Git(repo) as g:
        assert g.branches() == {"main": c4, "feature/x": c3}
        assert g.tags() == {"light": c1, "release/1.0": c2, "nested": c2}
        commits = g.all_commits()
        assert sorted(commits) == sorted([c1, c2, c3, c4, c5])
        by_rev = g.pointers_in_revs(commits)
        assert sorted(by_rev[c5]) == ["a.dvcish", "d.dvcish"]
        assert by_rev[c3]["a.dvcish"] is by_rev[c2]["a.dvcish"]  # one blob, parsed once


def test_pointers_in_revs_over_a_long_history(tmp_path):
    repo = new_repo(tmp_path / "repo")
    stream = []
    for i in range(300):  # fast-import: 300 commits, each changing one of 10 pointers
        data = pointer(f"f{i % 10}", str(i).encode())
        stream.append(
            f"commit refs/heads/main\nmark :{i + 1}\n"
            f"committer T <t@e> {1_700_000_000 + i} +0000\ndata 1\nx\n"
            + (f"from :{i}\n" if i else "")
            + f"M 100644 inline d{i % 10 % 3}/deeper/f{i % 10}.dvcish\ndata {len(data)}\n"
        )
        stream.append(data.decode() + "\n")
    git(repo, "fast-import", "--quiet", stdin="".join(stream).encode())
    with Git(repo) as g:
        commits = g.all_commits()
        assert len(commits) == 300
        by_rev = g.pointers_in_revs(commits)
    newest = by_rev[commits[0]]
    assert len(newest) == 10
    assert newest["d0/deeper/f9.dvcish"].oid == oid(b"299")
    assert newest["d0/deeper/f0.dvcish"].oid == oid(b"290")
    assert by_rev[commits[-1]] == {"d0/deeper/f0.dvcish": Pointer("f0", "file", oid(b"0"), 1)}


def test_invalid_pointer_at_a_revision_names_path_at_rev(tmp_path):
    repo = new_repo(tmp_path / "repo")
    commit(repo, {"ok.dvcish": pointer("ok", b"1"), "dir/bad.dvcish": b"version: 1\nkind: nope\n"})
    git(repo, "tag", "broken")
    commit(repo, {"dir/bad.dvcish": b"\xff\xfe\x00binary"})
    git(repo, "tag", "binary")
    commit(repo, {"dir/bad.dvcish": None})
    with Git(repo) as g:
        assert list(g.pointers_at("HEAD")) == ["ok.dvcish"]
        with pytest.raises(DvcishError, match=r"^dir/bad\.dvcish@broken: invalid pointer file"):
            g.pointers_at("broken")
        with pytest.raises(DvcishError, match=r"^dir/bad\.dvcish@binary: invalid pointer file"):
            g.pointers_in_revs(["HEAD", "binary", "broken"])


def test_read_blobs_many_and_large_without_deadlock(tmp_path):
    repo = new_repo(tmp_path / "repo")
    contents = [f"blob {i}\n".encode() * (i % 50 + 1) for i in range(3000)]
    contents.append(b"\x00\n\xff binary " * 400_000)  # ~5 MB: far more than a pipe buffer holds
    stream = b"".join(
        b"blob\nmark :%d\ndata %d\n%s\n" % (i + 1, len(data), data)
        for i, data in enumerate(contents)
    )
    marks = tmp_path / "marks"
    git(repo, "fast-import", "--quiet", f"--export-marks={marks}", stdin=stream)
    by_mark = dict(line.split() for line in marks.read_text().splitlines())
    shas = [by_mark[f":{i + 1}"] for i in range(len(contents))]
    assert len(set(shas)) == len(contents)

    g = Git(repo)
    result: dict[str, bytes] = {}
    reader = threading.Thread(target=lambda: result.update(g.read_blobs(shas)), daemon=True)
    reader.start()
    reader.join(timeout=60)
    assert not reader.is_alive(), "read_blobs deadlocked"
    assert [result[sha] for sha in shas] == contents

    big = shas[-1]
    assert g.read_blobs([big, shas[0]], limit=8) == {big: contents[-1][:8], shas[0]: b"blob 0\n"}
    assert g.read_blobs([big])[big] == contents[-1]  # still in step after skipping bytes
    with pytest.raises(DvcishError, match=f"git blob {'0' * 40} is missing"):
        g.read_blobs([shas[1], "0" * 40])
    with pytest.raises(DvcishError, match="not a full lowercase git object id"):
        g.read_blobs(["HEAD"])
    g.close()


def test_read_file_at(history):
    repo, first, _ = history
    with Git(repo) as g:
        assert g.read_file_at("v1", ".dvcish/config") == b"[core]\nremote = one\n"
        assert g.read_file_at("HEAD", ".dvcish/config") == b"[core]\nremote = two\n"
        assert g.read_file_at(first, "models/model.bin.dvcish") is None
        assert g.read_file_at("HEAD", "sub") is None  # not in HEAD
        assert g.read_file_at("v1", "sub") is None  # a folder, not a file


def test_sees_commits_made_after_it_started_and_reopens_after_close(history):
    repo, _, second = history
    g = Git(repo)
    assert g.head_sha() == second
    third = commit(repo, {"new.dvcish": pointer("new", b"3")})
    assert g.head_sha() == third
    assert "new.dvcish" in g.pointers_at("HEAD")
    g.close()
    assert g.resolve("HEAD~1") == second
    g.close()


@pytest.fixture
def remote(tmp_path):
    """A bare repo with a tag on the first of three commits, and a branch."""
    work = new_repo(tmp_path / "work")
    c1 = commit(work, {"data.dvcish": pointer("data", b"1")})
    git(work, "tag", "-a", "-m", "v1", "v1")
    c2 = commit(work, {"data.dvcish": pointer("data", b"2")})
    git(work, "branch", "stable")
    c3 = commit(work, {"data.dvcish": pointer("data", b"3")})
    bare = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    return bare, (c1, c2, c3)


def test_shallow_clone_of_a_tag_and_all_commits_refuses(remote, tmp_path):
    bare, (c1, _, _) = remote
    dest = tmp_path / "clone"
    assert clone(str(bare), dest, rev="v1") == c1  # a plain local path, cloned via file://
    with Git(dest) as g:
        assert g.is_shallow()
        assert g.pointers_at("HEAD")["data.dvcish"].oid == oid(b"1")
        with pytest.raises(DvcishError, match="incomplete; run `git fetch --unshallow`"):
            g.all_commits()
        with pytest.raises(DvcishError, match="shallow clone"):
            g.resolve("HEAD~1")
    assert (dest / "data.dvcish").read_bytes() == pointer("data", b"1")


def test_clone_branch_default_and_full(remote, tmp_path):
    bare, (_, c2, c3) = remote
    assert clone(bare.as_uri(), tmp_path / "a", rev="stable") == c2
    assert clone(str(bare), tmp_path / "b") == c3
    assert clone(str(bare), tmp_path / "c", shallow=False) == c3
    with Git(tmp_path / "c") as g:
        assert not g.is_shallow()
        assert len(g.all_commits()) == 3


def test_clone_at_a_commit_sha(remote, tmp_path):
    bare, (c1, c2, _) = remote
    assert clone(str(bare), tmp_path / "full-sha", rev=c2) == c2
    assert (tmp_path / "full-sha" / "data.dvcish").read_bytes() == pointer("data", b"2")
    with Git(tmp_path / "full-sha") as g:
        assert g.is_shallow()  # the server let us fetch just that commit
    assert clone(str(bare), tmp_path / "short-sha", rev=c1[:10]) == c1  # needs the full history
    assert clone(str(bare), tmp_path / "not-shallow", rev=c1, shallow=False) == c1


def test_clone_errors(remote, tmp_path):
    bare, _ = remote
    dest = tmp_path / "dest"
    with pytest.raises(DvcishError, match="unknown revision 'nope' in"):
        clone(str(bare), dest, rev="nope")
    assert not dest.exists()  # nothing half-made is left behind
    with pytest.raises(DvcishError, match="cannot clone"):
        clone(str(tmp_path / "missing.git"), dest)
    (dest / "file").parent.mkdir()
    (dest / "file").write_bytes(b"x")
    with pytest.raises(DvcishError, match="not an empty folder"):
        clone(str(bare), dest)
