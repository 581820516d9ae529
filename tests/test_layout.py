"""The package layout follows the flow of data (shared DESIGN.md): every import points down it.

Stages, in flow order: the foundation (exceptions, seeding, settings), `domain`, `templates`,
`build`, `world`, `simulate`, `storage`, `runs` (with the registry, the users' lookup door
that runs resolve names through), `stream`, then the doors `cli`, `api`, `web`. A module may
import its own stage and the stages before it, never a later one; lazy imports inside
functions count too. The pure core (domain … simulate) imports no database, file-format or
network library at module level, and the module graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import adsgen

PACKAGE = Path(adsgen.__file__).parent

STAGES: dict[str, int] = {
    "exceptions": 0, "seeding": 0, "settings": 0,
    "domain": 1,
    "templates": 2,
    "build": 3,
    "world": 4,
    "simulate": 5,
    "storage": 6,
    "runs": 7, "registry": 7, "__init__": 7,
    "stream": 8,
    "cli": 9, "api": 9, "web": 9, "__main__": 9,
}
PURE_CORE = {"domain", "templates", "build", "world", "simulate"}
IO_LIBRARIES = {"sqlalchemy", "psycopg", "pymysql", "redis", "nats", "fastapi", "uvicorn",
                "dask", "distributed", "requests", "httpx"}


def _modules() -> dict[str, Path]:
    """Dotted name below adsgen (e.g. 'runs.files', 'simulate') → file."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _stage(module: str) -> str:
    return module.split(".")[0]


def _imports(path: Path, *, top_level_only: bool = False) -> list[tuple[int, str]]:
    """(line, imported adsgen module or third-party top name) of every import in the file."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: list[tuple[int, str]] = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "adsgen":  # from adsgen import x: the submodule x, if it is one
                found += [(node.lineno, f"adsgen.{a.name}") for a in node.names
                          if a.name in MODULES] or [(node.lineno, "adsgen.__init__")]
            else:
                found += [(node.lineno, node.module)]
                found += [(node.lineno, f"{node.module}.{a.name}") for a in node.names
                          if f"{node.module}.{a.name}".removeprefix("adsgen.") in MODULES]
    return found


def _adsgen_target(name: str) -> str | None:
    if not name.startswith("adsgen."):
        return None
    dotted = name.removeprefix("adsgen.")
    while dotted and dotted not in MODULES:
        dotted = dotted.rpartition(".")[0]
    return dotted or None


def test_every_module_has_a_stage() -> None:
    unknown = sorted(m for m in MODULES if _stage(m) not in STAGES)
    assert not unknown, f"give these a stage in STAGES (and DESIGN.md's layout): {unknown}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down_the_flow(module: str) -> None:
    here = STAGES[_stage(module)]
    upward = []
    for line, name in _imports(MODULES[module]):
        target = _adsgen_target(name)
        if target is not None and STAGES[_stage(target)] > here:
            upward.append(f"line {line}: adsgen.{target}")
    assert not upward, f"adsgen.{module} imports a later stage: {upward}"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if _stage(m) in PURE_CORE))
def test_pure_core_imports_no_io_library(module: str) -> None:
    io = [f"line {line}: {name}" for line, name in _imports(MODULES[module], top_level_only=True)
          if name.split(".")[0] in IO_LIBRARIES]
    assert not io, f"adsgen.{module} is pure but imports {io}"


def test_module_graph_has_no_cycle() -> None:
    graph = {m: {t for _, n in _imports(p, top_level_only=True)
                 if (t := _adsgen_target(n)) is not None and t != m}
             for m, p in MODULES.items()}
    # A package's __init__ importing its own submodules is not a cycle of meaning.
    for m in graph:
        graph[m] = {t for t in graph[m] if not t.startswith(m + ".")}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycle = [*stack[stack.index(nxt):], nxt]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)


def test_the_layout_test_would_catch_an_upward_import(tmp_path: Path) -> None:
    """The rule is real: a domain module importing runs is flagged."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from adsgen.runs.files import generate_files\n")
    targets = [_adsgen_target(n) for _, n in _imports(bad)]
    assert "runs.files" in targets and STAGES["runs"] > STAGES["domain"]
