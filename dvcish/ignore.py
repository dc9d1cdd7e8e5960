"""``.dvcishignore``: paths that tracked folders leave out, in gitignore's syntax and meaning.

An *ignore file* is a ``.dvcishignore`` in any folder of the workspace; its patterns apply to the
paths below that folder (its *base*). The rules are git's (gitignore(5)), implemented here with
the standard library and checked against ``git check-ignore`` by the tests:

- blank lines and lines starting with ``#`` match nothing; trailing spaces are dropped unless
  escaped (``\\ ``); a CR before the line end is dropped; ``\\`` escapes any character;
- ``!`` negates (re-includes); ``\\!`` and ``\\#`` are literal;
- a trailing ``/`` matches folders only; a pattern with another ``/`` (leading or middle) is
  matched against the path relative to its base, one without against the name alone, at any
  depth;
- ``*`` and ``?`` never match ``/``; ``[...]`` is a class (``!``/``^`` negate, ranges,
  ``[:alpha:]``-style names); ``**/``, ``/**`` and ``/**/`` match any number of folders;
- the last matching pattern wins, and a deeper ignore file wins over a shallower one;
- nothing below an ignored folder can be re-included (the folder is not even read).

``Ignore.match`` answers for one path with its parents (``check-ignore``); the workspace scan
uses ``Ignore.rules_for`` and ``Rules.child``/``Rules.match`` to test entries as it walks.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

IGNORE_FILE = ".dvcishignore"
DEFAULT_IGNORE = (
    "# Paths dvcish leaves out of tracked folders (gitignore syntax).\n.DS_Store\n__pycache__/\n"
)
_CLASSES = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "blank": " \\t",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": " \\t\\n\\r\\f\\v",
    "upper": "A-Z",
    "xdigit": "0-9A-Fa-f",
}
_NEVER = "(?!)"  # a regex that matches nothing (a malformed pattern)


@dataclass(frozen=True)
class Pattern:
    """One line of an ignore file."""

    text: str  # the line as git prints it (trailing spaces trimmed)
    source: str  # repo-relative path of the ignore file
    line: int
    base: str  # repo-relative folder of the ignore file ("" at the root)
    negated: bool
    dir_only: bool
    name_only: bool  # no "/" but a trailing one: matched against the last component
    literal: str | None  # the name itself, for a name-only pattern without wildcards
    regex: re.Pattern[str] | None

    def matches(self, rel: str, name: str, is_dir: bool) -> bool:
        """Does this pattern match ``rel`` (repo-relative, below ``base``; ``name`` is its
        last component)?"""
        if self.dir_only and not is_dir:
            return False
        if self.name_only:
            if self.literal is not None:
                return name == self.literal
            return self.regex is not None and self.regex.fullmatch(name) is not None
        below = rel[len(self.base) + 1 :] if self.base else rel
        return self.regex is not None and self.regex.fullmatch(below) is not None

    def describe(self) -> str:
        """``source:line:pattern``, as ``git check-ignore -v`` prints it."""
        return f"{self.source}:{self.line}:{self.text}"


def parse_ignore(text: str, source: str, base: str) -> list[Pattern]:
    """The patterns of an ignore file at ``source`` whose folder is ``base``."""
    patterns = []
    text = text.removeprefix("\ufeff")
    for number, raw in enumerate(text.split("\n"), start=1):
        line = _trim_trailing_spaces(raw.removesuffix("\r"))
        if not line or line.startswith("#"):
            continue
        pattern = _parse_line(line, source, number, base)
        if pattern is not None:
            patterns.append(pattern)
    return patterns


def _parse_line(line: str, source: str, number: int, base: str) -> Pattern | None:
    body, negated = line, False
    if body.startswith("!"):
        body, negated = body[1:], True
    dir_only = body.endswith("/")
    if dir_only:
        body = body[:-1]
    if not body:
        return None
    name_only = "/" not in body
    if not name_only and body.startswith("/"):
        body = body[1:]
    literal = body if name_only and not re.search(r"[*?\[\\]", body) else None
    regex = None if literal is not None else _compile(body, pathname=not name_only)
    return Pattern(line, source, number, base, negated, dir_only, name_only, literal, regex)


def _trim_trailing_spaces(line: str) -> str:
    """Drop trailing spaces, except one escaped with a backslash (git's trim_trailing_spaces)."""
    end = len(line)
    while end and line[end - 1] == " ":
        backslashes = len(line[: end - 1]) - len(line[: end - 1].rstrip("\\"))
        if backslashes % 2:
            break
        end -= 1
    return line[:end]


def _compile(pattern: str, pathname: bool) -> re.Pattern[str]:
    return re.compile(_translate(pattern, pathname), re.DOTALL)


def _translate(pattern: str, pathname: bool) -> str:
    """git's wildmatch as a regex; ``pathname``: ``*``, ``?`` and classes never match ``/``."""
    out: list[str] = []
    index, size = 0, len(pattern)
    any_char = "[^/]" if pathname else "."
    # git compares the part before the first wildcard literally and wildmatches the rest, so a
    # "**" right after that part counts as the start of a pattern ("pre**/q" matches "pre/a/q")
    first_wild = next((i for i, c in enumerate(pattern) if c in "*?[\\"), size)
    while index < size:
        char = pattern[index]
        if char == "*":
            end = index
            while end < size and pattern[end] == "*":
                end += 1
            starts = index in (0, first_wild) or pattern[index - 1] == "/"
            rest = pattern[end : end + 2]
            if pathname and end - index >= 2 and starts and (end == size or rest[:1] == "/"):
                if end == size:
                    out.append(".*")
                else:
                    out.append("(?:.*/)?")
                    end += 1  # the "/" after "**" belongs to it: zero folders match too
            elif pathname and end - index >= 2 and starts and rest == "\\/":
                out.append(".*")  # "**\/": any text, then the escaped "/"
            else:
                out.append(any_char + "*")
            index = end
        elif char == "?":
            out.append(any_char)
            index += 1
        elif char == "[":
            translated, index = _bracket(pattern, index, pathname)
            if translated is None:
                return _NEVER
            out.append(translated)
        elif char == "\\":
            if index + 1 == size:
                return _NEVER  # a trailing backslash escapes nothing: git matches nothing
            out.append(re.escape(pattern[index + 1]))
            index += 2
        else:
            out.append(re.escape(char))
            index += 1
    return "".join(out)


def _bracket(pattern: str, start: int, pathname: bool) -> tuple[str | None, int]:
    """Translate the class at ``pattern[start] == "["``; (None, _) when it is malformed (then
    git matches nothing), else (regex, index after the closing "]")."""
    index = start + 1
    negated = index < len(pattern) and pattern[index] in "!^"
    if negated:
        index += 1
    parts: list[str] = []
    previous: str | None = None
    first = True
    while True:
        if index >= len(pattern):
            return None, index
        char = pattern[index]
        if char == "]" and not first:
            break
        first = False
        if char == "\\":
            index += 1
            if index >= len(pattern):
                return None, index
            char = pattern[index]
            parts.append(re.escape(char))
            previous = char
        elif char == "-" and previous is not None and index + 1 < len(pattern):
            high = pattern[index + 1]
            if high == "]":
                parts.append("\\-")
                previous = "-"
            else:
                index += 1
                if high == "\\":
                    index += 1
                    if index >= len(pattern):
                        return None, index
                    high = pattern[index]
                # git tested the low end as a character already: it matches even when the
                # range is empty ("[z-a]" matches "z")
                if previous <= high:
                    parts.append(f"{re.escape(previous)}-{re.escape(high)}")
                previous = None  # git: "prev_ch" becomes 0 after a range
        elif char == "[" and pattern.startswith("[:", index):
            close = pattern.find(":]", index + 2)
            if close < 0:
                parts.append("\\[")
                previous = "["
            else:
                name = pattern[index + 2 : close]
                if name not in _CLASSES:
                    return None, index
                parts.append(_CLASSES[name])
                index = close + 1
                previous = None
        else:
            parts.append(re.escape(char))
            previous = char
        index += 1
    body = "".join(parts)
    slash_guard = "(?!/)" if pathname else ""
    if negated:
        return (f"{slash_guard}[^{body}]" if body else f"{slash_guard}."), index + 1
    return (f"{slash_guard}[{body}]" if body else _NEVER), index + 1


@dataclass(frozen=True)
class Rules:
    """The patterns that apply inside one folder: every ignore file from the root down to it,
    shallowest first (so the deepest file's last pattern is tried first)."""

    patterns: tuple[Pattern, ...] = ()
    literals: dict[str, Pattern] | None = field(default=None, compare=False)

    @classmethod
    def of(cls, patterns: tuple[Pattern, ...]) -> Rules:
        """Rules with a fast path when every pattern is a plain name (the common case)."""
        literals = None
        if all(p.literal is not None and not p.negated for p in patterns):
            literals = {p.literal: p for p in patterns if p.literal is not None}
        return cls(patterns, literals)

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def child(self, folder: str, rel: str) -> Rules:
        """The rules inside ``rel`` (repo-relative; its path on disk is ``folder``): these, plus
        its own ignore file if it has one."""
        added = read_ignore_file(folder, rel)
        return Rules.of(self.patterns + tuple(added)) if added else self

    def may_match(self, name: str) -> bool:
        """False when no pattern can match a path with this last component (a quick test that
        spares a folder scan building paths for the common plain-name rules)."""
        return self.literals is None or name in self.literals

    def match(self, rel: str, name: str, is_dir: bool) -> Pattern | None:
        """The pattern that decides ``rel`` (negated ones included), or None."""
        if not self.patterns:
            return None
        if self.literals is not None:
            found = self.literals.get(name)
            if found is not None and (is_dir or not found.dir_only):
                return found
            # a dir-only literal must not hide a file pattern of the same name
            return next(
                (p for p in reversed(self.patterns) if p.literal == name and not p.dir_only), None
            )
        for pattern in reversed(self.patterns):
            if pattern.matches(rel, name, is_dir):
                return pattern
        return None

    def excludes(self, rel: str, name: str, is_dir: bool) -> bool:
        found = self.match(rel, name, is_dir)
        return found is not None and not found.negated


def read_ignore_file(folder: str, rel: str) -> list[Pattern]:
    """The patterns of ``folder``'s ignore file (none when it has no readable one)."""
    try:
        with open(os.path.join(folder, IGNORE_FILE), "rb") as handle:
            text = handle.read().decode("utf-8", "surrogateescape")
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError):
        return []
    source = f"{rel}/{IGNORE_FILE}" if rel else IGNORE_FILE
    return parse_ignore(text, source, rel)


class Ignore:
    """The ignore rules of one workspace, read folder by folder as they are needed."""

    def __init__(self, root: str):
        self.root = root
        self._rules: dict[str, Rules] = {}

    def rules_for(self, rel: str) -> Rules:
        """The rules inside folder ``rel`` (repo-relative, "" for the root)."""
        cached = self._rules.get(rel)
        if cached is not None:
            return cached
        parent = Rules() if rel == "" else self.rules_for(rel.rpartition("/")[0])
        rules = parent.child(os.path.join(self.root, rel) if rel else self.root, rel)
        self._rules[rel] = rules
        return rules

    def match(self, rel: str, is_dir: bool) -> Pattern | None:
        """The pattern that decides ``rel`` as ``git check-ignore -v`` reports it: an ignored
        parent folder's pattern when there is one, else the path's own last match."""
        parts = rel.split("/")
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            rules = self.rules_for("/".join(parts[: depth - 1]))
            found = rules.match(folder, parts[depth - 1], True)
            if found is not None and not found.negated:
                return found
        return self.rules_for("/".join(parts[:-1])).match(rel, parts[-1], is_dir)

    def excludes(self, rel: str, is_dir: bool) -> bool:
        found = self.match(rel, is_dir)
        return found is not None and not found.negated
