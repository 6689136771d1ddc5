"""House rule: imports inside bot/ run one way — no cycle between its modules,
counting imports inside functions and under ``TYPE_CHECKING`` too (a cycle hidden
that way still means two modules that cannot be read, or changed, apart)."""

import ast
import pathlib

BOT = pathlib.Path(__file__).resolve().parents[1] / "bot"


def _module_name(path: pathlib.Path, root: pathlib.Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def import_graph(root: pathlib.Path = BOT) -> dict[str, set[str]]:
    """Each module under ``root`` → the modules under ``root`` it imports, anywhere
    in the file (top level, functions, ``if TYPE_CHECKING:``)."""
    paths = {_module_name(p, root): p for p in sorted(root.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in paths.items():
        is_package = path.name == "__init__.py"
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            found: list[str] = []
            if isinstance(node, ast.Import):
                found = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    package = name.split(".")[: len(name.split(".")) - node.level + is_package]
                    base = ".".join([*package, base] if base else package)
                # ``from bot import walk`` imports the module bot.walk
                found = [base] + [f"{base}.{a.name}" for a in node.names]
            for target in found:
                while target and target not in paths:
                    target = target.rpartition(".")[0]
                if target and target != name and target != root.name:
                    targets.add(target)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as [a, b, …, a], or [] when there is none."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (cycle := visit(nxt)):
                return cycle
        path.pop()
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return []


def test_no_import_cycle_under_bot() -> None:
    assert find_cycle(import_graph()) == []


def test_routing_imports_run_one_way() -> None:
    """route → attempt → answer → walk → router: a walk gets what it needs, not the router."""
    graph = import_graph()
    layers = ["bot.route", "bot.attempt", "bot.answer", "bot.walk", "bot.router"]
    for i, module in enumerate(layers):
        assert graph[module].isdisjoint(layers[i + 1 :]), module
    assert "bot.router" not in graph["bot.vendor_health"]


def test_the_checker_sees_hidden_imports_and_cycles(tmp_path: pathlib.Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.b import g\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import c\n"
    )
    (pkg / "c.py").write_text("import pkg.a\n")
    (pkg / "d.py").write_text("from pkg import c\n")
    graph = import_graph(pkg)
    assert graph == {
        "pkg": set(),
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.c"},
        "pkg.c": {"pkg.a"},
        "pkg.d": {"pkg.c"},
    }
    assert find_cycle(graph) == ["pkg.a", "pkg.b", "pkg.c", "pkg.a"]
    (pkg / "c.py").write_text("")
    assert find_cycle(import_graph(pkg)) == []
