"""House rules: the core (bot/) never imports a platform, a vendor SDK or adapters/
— no import anywhere in it: not at the top, not in a function, not relative, not by
``importlib``; it has no entry point (the CLI is an adapter). adapters/' packages
import each other one way, and no module moves a library's globals."""

import ast
import pathlib
import subprocess
import sys

FORBIDDEN = (
    "discord",
    "slack_bolt",
    "slack_sdk",
    "slack",
    "google.genai",
    "google",
    "openai",
    "httpx",
    "httpx2",
    "aiohttp",
    "prometheus_client",
    "redis",
)
ROOT = pathlib.Path(__file__).resolve().parents[1]
BOT = ROOT / "bot"
ADAPTERS = ROOT / "adapters"
OURS = ("bot", "adapters", "tests", "bench")


def _package(path: pathlib.Path) -> str:
    """``bot/routing/walk.py`` → ``bot.routing``; outside the repo: ``""``."""
    try:
        parts = path.relative_to(ROOT).parent.parts
    except ValueError:
        return ""
    return ".".join(parts)


def _imports(path: pathlib.Path, *, names: bool = False) -> list[str]:
    return _imports_in(path.read_text(), _package(path), names=names)


def _imports_in(source: str, package: str, *, names: bool = False) -> list[str]:
    """Every module ``source`` (a module of ``package``) imports, wherever the import
    is (module level, function bodies, ``TYPE_CHECKING`` blocks), relative imports
    resolved, and modules named to ``importlib.import_module`` / ``__import__``.
    ``names``: ``from a import b`` is ``a.b`` (b may be a module) instead of ``a``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: max(package.count(".") + 2 - node.level, 0)]
                base = ".".join(filter(None, [*parts, node.module]))
            if names or not node.module:
                found += [f"{base}.{a.name}".lstrip(".") for a in node.names]
            else:
                found.append(base)
        elif isinstance(node, ast.Call) and _names_a_module(node.func):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                found.append(arg.value)
    return found


def _names_a_module(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def _under(name: str, roots: tuple[str, ...]) -> bool:
    return any(name == r or name.startswith(r + ".") for r in roots)


def test_no_module_under_bot_imports_an_sdk() -> None:
    offenders = [
        f"{path.relative_to(BOT.parent)}: {name}"
        for path in sorted(BOT.rglob("*.py"))
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []


def test_no_module_under_bot_imports_an_adapter() -> None:
    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted(BOT.rglob("*.py"))
        for name in _imports(path, names=True)
        if _under(name, ("adapters",))
    ]
    assert offenders == []


def test_the_core_has_no_entry_point() -> None:
    """The command line is an adapter (``python -m adapters.cli``, ``imagine-bot``)."""
    assert sorted(p.relative_to(ROOT) for p in BOT.rglob("__main__.py")) == []


def test_importing_the_core_loads_no_sdk() -> None:
    modules = sorted(
        ".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        for p in BOT.rglob("*.py")
    )
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in modules)
        + "bad = [m for m in sys.modules if m.split('.')[0] in "
        + "('discord', 'slack_bolt', 'slack_sdk', 'openai', 'httpx', 'httpx2', 'adapters',"
        + " 'prometheus_client', 'redis')"
        + " or m.startswith('google.genai')]\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == ""
    assert len(modules) >= 7


def test_the_checker_catches_an_sdk_import(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from google import genai\nimport openai.types\n")
    assert _imports(bad) == ["google", "openai.types"]


def test_the_checker_sees_imports_in_functions_relative_and_by_name() -> None:
    source = (
        "def later():\n"
        "    import discord\n"
        "    from ..adapters import app\n"
        "    from . import config\n"
        "    importlib.import_module('adapters.cli')\n"
        "    return __import__('slack_sdk')\n"
    )
    found = _imports_in(source, "bot")
    assert found == ["discord", "adapters", "bot.config", "adapters.cli", "slack_sdk"]
    assert _imports_in("from .. import x\n", "bot.routing") == ["bot.x"]


def _unit(module: str) -> str | None:
    """The adapters/ package (or top-level module) a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "adapters" else None


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle in ``graph`` (a path back to its start), or []."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str]:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return []

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def test_adapter_packages_import_each_other_one_way() -> None:
    graph: dict[str, set[str]] = {}
    for path in ADAPTERS.rglob("*.py"):
        here = _unit(".".join(path.relative_to(ROOT).with_suffix("").parts))
        for name in _imports(path, names=True):
            there = _unit(name)
            if here is not None and there is not None and there != here:
                graph.setdefault(here, set()).add(there)
    assert {"platforms", "web"} <= graph["app"]  # the composition root uses them
    assert {"slack", "discord", "playground"} <= graph["platforms"]
    assert _cycle(graph) == []
    assert _cycle({"app": {"slack"}, "slack": {"web", "app"}}) == ["app", "slack", "app"]


def _assigned_library_attributes(source: str) -> list[str]:
    """``lib.thing.X = …`` (line: target) where ``lib`` is imported from outside this
    repo: a library's global, moved for everyone in the process."""
    tree = ast.parse(source)
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {
                (a.asname or a.name).split(".")[0] for a in node.names if not _under(a.name, OURS)
            }
        elif isinstance(node, ast.ImportFrom) and not node.level:
            if not _under(node.module or "", OURS):
                imported |= {a.asname or a.name for a in node.names}
    found = []
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        for target in targets:
            for t in target.elts if isinstance(target, ast.Tuple) else [target]:
                root = t
                while isinstance(root, ast.Attribute):
                    root = root.value
                if t is not root and isinstance(root, ast.Name) and root.id in imported:
                    found.append(f"{node.lineno}: {ast.unparse(t)}")
    return found


def test_no_module_moves_a_library_global() -> None:
    """e.g. ``discord.http.Route.BASE = …`` would move every Discord client in the
    process (see adapters/discord/rebase.py for the per-client way)."""
    offenders = [
        f"{path.relative_to(ROOT)}:{hit}"
        for folder in (BOT, ADAPTERS)
        for path in sorted(folder.rglob("*.py"))
        for hit in _assigned_library_attributes(path.read_text())
    ]
    assert offenders == []


def test_the_global_checker_catches_one() -> None:
    source = (
        "import discord\nfrom discord.gateway import DiscordWebSocket as WS\n"
        "from bot import config\n"
        "discord.http.Route.BASE = 'x'\nWS.DEFAULT_GATEWAY, y = 1, 2\n"
        "config.X = 3\nself.tree.on_error = 4\n"
    )
    found = _assigned_library_attributes(source)
    assert found == ["4: discord.http.Route.BASE", "5: WS.DEFAULT_GATEWAY"]
