"""The dependency rule, checked on the source: lower layers never import higher ones, only cli/
imports typer/tqdm/click, only storage/s3.py imports boto3/botocore, and no import cycles."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "dvcish"

# Lowest first. A module may import modules of its own layer or of a lower one.
LAYERS = {
    "base": {"dvcish", "dvcish.errors", "dvcish.hashing", "dvcish.fsutil", "dvcish.progress"},
    "base+state": {"dvcish.state"},
    "storage": {"dvcish.storage.*"},
    "models": {
        "dvcish.config",
        "dvcish.pointer",
        "dvcish.tree",
        "dvcish.lock",
        "dvcish.repo",
        "dvcish.git",
        "dvcish.gitignore",
        "dvcish.ignore",
        "dvcish.dvc_project",
        "dvcish.targets",
        "dvcish.workspace",
        "dvcish.materialize",
        "dvcish.history",
        "dvcish.remotes",
        "dvcish.sources",
        "dvcish.transfer",
        "dvcish.failures",
        "dvcish.wanted",
        "dvcish.folder_walk",
        "dvcish.level_compare",
        "dvcish.presence",
    },
    "commands": {"dvcish.commands.*"},
    "interfaces": {"dvcish.api", "dvcish.cli.*", "dvcish.__main__"},
}
ONLY_IN = {  # third-party module -> the modules allowed to import it
    "typer": "dvcish.cli.",
    "tqdm": "dvcish.cli.",
    "click": "dvcish.cli.",
    "boto3": "dvcish.storage.s3",  # s3.py and s3_errors.py: the S3 backend
    "botocore": "dvcish.storage.s3",
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> tuple[set[str], set[str]]:
    """(dvcish modules, top-level third-party packages) that ``path`` imports anywhere in it,
    TYPE_CHECKING blocks included."""
    inner: set[str] = set()
    outer: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        for name in names:
            if name.split(".")[0] == "dvcish":
                while name not in known:
                    name = name.rpartition(".")[0]
                inner.add(name)
            else:
                outer.add(name.split(".")[0])
    return inner, outer


def layer_of(module: str) -> int:
    for rank, patterns in enumerate(LAYERS.values()):
        for pattern in patterns:
            package = pattern[:-2] if pattern.endswith(".*") else None
            if module == pattern or (
                package and (module == package or module.startswith(package + "."))
            ):
                return rank
    raise AssertionError(f"{module} is in no layer; add it to LAYERS in {__file__}")


def graph() -> dict[str, set[str]]:
    modules = all_modules()
    return {name: imports_of(path, set(modules))[0] - {name} for name, path in modules.items()}


def test_every_module_has_a_layer():
    for module in all_modules():
        layer_of(module)


def test_lower_layers_never_import_higher_ones():
    upward = [
        f"{module} ({list(LAYERS)[layer_of(module)]}) imports {target} "
        f"({list(LAYERS)[layer_of(target)]})"
        for module, targets in graph().items()
        for target in sorted(targets)
        if layer_of(target) > layer_of(module) and target != "dvcish"
    ]
    assert upward == []


def test_third_party_imports_stay_in_their_module():
    modules = all_modules()
    wrong = []
    for module, path in modules.items():
        _, outer = imports_of(path, set(modules))
        for package, allowed in ONLY_IN.items():
            if package in outer and not module.startswith(allowed):
                wrong.append(f"{module} imports {package}")
    assert wrong == []


def test_no_import_cycles():
    edges = graph()
    cycles = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges.get(module, ())):
            if state.get(target) == 1:
                cycles.append(" -> ".join(path[path.index(target) :] + [target]))
            elif target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_module_is_over_500_lines():
    long = {
        name: n
        for name, path in all_modules().items()
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 500
    }
    assert long == {}


def test_the_rules_can_fail():
    """The checks above really parse imports: a known upward import is seen."""
    modules = all_modules()
    inner, outer = imports_of(modules["dvcish.cli.app"], set(modules))
    assert "dvcish.cli.output" in inner and "typer" in outer
    assert layer_of("dvcish.cli.app") > layer_of("dvcish.commands.add") > layer_of("dvcish.tree")
