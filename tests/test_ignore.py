""".dvcishignore: gitignore's rules (checked against real ``git check-ignore``), honoured the same
way by add, status and checkout, explained by ``check-ignore``; nested .git folders skipped."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from dvcish.ignore import DEFAULT_IGNORE, IGNORE_FILE, Ignore, parse_ignore
from tests import helpers
from tests.helpers import (
    assert_one_error,
    assert_refused,
    cli_ok,
    git,
    run_cli,
    write_files,
)

git_repo = helpers.git_repo  # fixture
git_env = helpers.git_env  # fixture

ROOT_RULES = """\
# a comment, then a blank line

\\#hash
*.log
!important.log
/rooted.txt
build/
doc/*.txt
**/deep/**/x.dat
a/**/b
TRAILING_SPACES
[abc]set.bin
[!abc]neg.bin
[a-c]range.c
[z-a]never.c
[[:digit:]]num
[[:bogus:]]class
qm?.q
foo/**
**/logs
*.o/
\\!bang
out
!out/keep
nest/
!nest/inner.txt
lit[
*.[Tt][Mm][Pp]
x/y/
weird[]]
end\\
sl[/]ash
star*/z
mid/**x/y
crlf\r
**suffix
pre**/q
[\\]]esc
\\*star
h[-x]y
x/a**b
y/**z
w/c**
v/**\\/x
""".replace("TRAILING_SPACES", "trail\\ \nspaces   ")  # escaped, then plain trailing spaces
SUB_RULES = "*.txt\n!sub-keep.txt\n/only-here\ninner/\n**\n!*.c\n!*/\n"
PATHS = [
    "#hash", "hash", "app.log", "sub/app.log", "important.log", "rooted.txt", "sub/rooted.txt",
    "build/", "build/x.c", "sub/build/", "q/build", "doc/a.txt", "doc/sub/a.txt", "sub/doc/a.txt",
    "deep/x.dat", "p/deep/q/r/x.dat", "p/deep/x.dat", "a/b", "a/q/r/b", "xa/b", "trail ",
    "trail", "spaces", "aset.bin", "dset.bin", "dneg.bin", "aneg.bin", "brange.c", "drange.c",
    "znever.c", "7num", "xnum", "1class", "qm1.q", "qm/.q", "foo/", "foo/bar", "q/foo",
    "p/logs/", "logs", "lib.o/", "q/lib.o", "!bang", "bang", "out/", "out/keep",
    "nest/", "nest/inner.txt", "lit[", "file.TMP", "file.tMp", "x/y/", "x/yy", "weird]", "end",
    "end\\", "sl/ash", "star1/z", "starz/q/z", "mid/ax/y", "mid/x/y", "crlf", "sub/notes.txt",
    "sub/sub-keep.txt", "sub/only-here", "sub/deeper/only-here", "sub/inner/", "sub/inner/f",
    "sub/deeper/inner/", "sub/any.bin", "sub/code.c", "sub/dir/", "sub/dir/code.c",
    "sub/dir/other.bin", "a/bsuffix", "xsuffix", "pre/q", "prefix/q", "pre/a/q", "]esc",
    "*star", "xstar", "h-y", "hxy", "hay", "x/ab", "x/a/b", "x/acb", "y/z", "y/a/z", "y/az",
    "w/c", "w/cd/e", "v/x", "v/a/x", "v/a/b/x",
]  # fmt: skip


def lay_out(root: Path, rules_name: str) -> None:
    for path in PATHS:
        full = root / path
        if path.endswith("/"):
            full.mkdir(parents=True, exist_ok=True)
        else:
            full.parent.mkdir(parents=True, exist_ok=True)
            full.write_bytes(b"x")
    (root / rules_name).write_text(ROOT_RULES, newline="")
    (root / "sub" / rules_name).write_text(SUB_RULES)


def git_answers(root: Path) -> dict[str, str]:
    """``git check-ignore -v -n``: path -> "source:line:pattern" ("" when nothing matches)."""
    names = [path.rstrip("/") for path in PATHS]
    done = subprocess.run(
        ["git", "check-ignore", "--no-index", "-v", "-n", "-z", "--stdin"],
        cwd=root,
        input=b"\0".join(name.encode() for name in names) + b"\0",
        capture_output=True,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    fields = done.stdout.split(b"\0")
    answers = {}
    for start in range(0, len(fields) - 1, 4):
        source, line, pattern, path = (field.decode() for field in fields[start : start + 4])
        answers[path] = f"{source}:{line}:{pattern}" if source else ""
    return answers


def test_matching_agrees_with_git_check_ignore(tmp_path, git_env):
    repo = tmp_path / "repo"
    git(tmp_path, "init", "-q", str(repo))
    lay_out(repo, ".gitignore")
    expected = git_answers(repo)
    assert len(expected) == len(PATHS)
    assert expected["app.log"] == ".gitignore:4:*.log"  # the harness reads git right
    lay_out(repo, IGNORE_FILE)
    ignore = Ignore(str(repo))
    ours = {}
    for path in PATHS:
        name = path.rstrip("/")
        found = ignore.match(name, (repo / name).is_dir())
        ours[name] = found.describe().replace(IGNORE_FILE, ".gitignore") if found else ""
    assert ours == expected


def test_default_template_leaves_out_mac_and_python_litter(git_repo):
    assert (git_repo / IGNORE_FILE).read_text() == DEFAULT_IGNORE
    patterns = [p.text for p in parse_ignore(DEFAULT_IGNORE, IGNORE_FILE, "")]
    assert patterns == [".DS_Store", "__pycache__/"]
    write_files(
        git_repo,
        {
            "data/a.csv": b"1",
            "data/.DS_Store": b"mac",
            "data/sub/.DS_Store": b"mac",
            "data/pkg/__pycache__/m.cpython-311.pyc": b"pyc",
            "data/pkg/m.py": b"print()",
        },
    )
    out = cli_ok("add", "data")
    assert "Added data (2 files" in out and "3 ignored" in out
    assert "Data and pointers are up to date." in cli_ok("status")
    listing = cli_ok("ls", "data", "-R")
    assert "data/a.csv" in listing and "DS_Store" not in listing and "pycache" not in listing


def test_add_status_and_checkout_agree_on_nested_rules(git_repo):
    write_files(
        git_repo,
        {
            "data/keep.csv": b"k",
            "data/scratch.tmp": b"t",
            "data/raw/.dvcishignore": b"*.tmp\n!wanted.tmp\n",
            "data/raw/wanted.tmp": b"w",
            "data/raw/junk.tmp": b"j",
            "data/cache/blob": b"c",
            IGNORE_FILE: DEFAULT_IGNORE.encode() + b"/data/cache/\n",
        },
    )
    cli_ok("add", "data")
    tracked = set(cli_ok("ls", "data", "-R").split())
    assert {"data/keep.csv", "data/scratch.tmp", "data/raw/wanted.tmp"} <= tracked
    assert "data/raw/.dvcishignore" in tracked  # the rules travel with the data
    assert "data/raw/junk.tmp" not in tracked and "data/cache/blob" not in tracked

    write_files(git_repo, {"data/raw/more.tmp": b"m", "data/cache/other": b"o"})
    assert "up to date" in cli_ok("status")  # new ignored files are not changes

    Path(git_repo, "data/keep.csv").unlink()
    out = cli_ok("checkout")  # restores keep.csv, leaves every ignored file alone
    assert "1 written, 0 deleted" in out
    for kept in ("data/raw/junk.tmp", "data/raw/more.tmp", "data/cache/blob", "data/cache/other"):
        assert Path(git_repo, kept).exists(), kept


def test_a_tracked_file_stays_tracked_when_a_rule_later_matches_it(git_repo):
    write_files(git_repo, {"data/a.csv": b"1", "data/notes.log": b"n"})
    cli_ok("add", "data")
    Path(git_repo, IGNORE_FILE).write_text("*.log\n")
    assert "up to date" in cli_ok("status")
    Path(git_repo, "data/notes.log").write_bytes(b"changed")
    out = run_cli(["status"]).stdout
    assert "modified: data/notes.log" in out  # still compared, as git compares tracked files
    cli_ok("checkout", "--force")
    assert Path(git_repo, "data/notes.log").read_bytes() == b"n"
    Path(git_repo, "data/notes.log").unlink()
    assert "1 written" in cli_ok("checkout")  # and still delivered
    cli_ok("add", "data")  # adding again applies the rule: the file leaves the data
    assert "notes.log" not in cli_ok("ls", "data", "-R")


def test_adding_an_ignored_target_is_refused_naming_the_rule(git_repo):
    write_files(git_repo, {"scratch/x": b"1", "run.log": b"l"})
    Path(git_repo, IGNORE_FILE).write_text("scratch/\n*.log\n")
    for target, rule in (("scratch", ".dvcishignore:1:scratch/"), ("run.log", ":2:*.log")):
        assert_refused(git_repo, ["add", target], target, "is ignored by", rule)


def test_check_ignore_explains_and_exits_like_git(git_repo):
    write_files(git_repo, {"data/.dvcishignore": b"*.tmp\n!keep.tmp\n", "data/sub/x": b"1"})
    os.chdir(git_repo / "data")  # paths are relative to the current folder
    result = run_cli(["check-ignore", "a.tmp", "keep.tmp", "sub/.DS_Store", "sub/x"])
    assert result.exit_code == 0
    assert result.stdout.splitlines() == [
        "data/.dvcishignore:1:*.tmp\ta.tmp",
        "data/.dvcishignore:2:!keep.tmp\tkeep.tmp",
        ".dvcishignore:2:.DS_Store\tsub/.DS_Store",
    ]
    result = run_cli(["check-ignore", "-n", "keep.tmp", "sub/x"])
    assert result.exit_code == 1  # nothing ignored: a re-include is not an ignore
    assert result.stdout.splitlines() == ["data/.dvcishignore:2:!keep.tmp\tkeep.tmp", "::\tsub/x"]
    result = run_cli(["check-ignore", "../../elsewhere"])
    assert result.exit_code == 1
    assert_one_error(result.stderr, "outside the repository")


@pytest.mark.parametrize("kind", ["folder", "gitfile"])
def test_a_nested_git_repository_is_skipped_with_a_warning(git_repo, kind):
    write_files(git_repo, {"data/a": b"1", "data/vendor/lib.py": b"x"})
    if kind == "folder":
        git(git_repo / "data/vendor", "init", "-q")
    else:  # a submodule's or worktree's .git file
        write_files(git_repo, {"data/vendor/.git": b"gitdir: ../../.git/modules/vendor\n"})
    result = run_cli(["add", "data"])
    assert result.exit_code == 0, result.output
    assert "Added data (2 files" in result.stdout
    assert result.stderr.strip() == (
        "warning: data/vendor/.git: another git repository's metadata inside the data; skipped"
    )
    assert ".git" not in cli_ok("ls", "data", "-R")
    assert "up to date" in cli_ok("status")
    Path(git_repo, "data/a").unlink()
    cli_ok("checkout")
    assert Path(git_repo, "data/vendor/.git").exists()
