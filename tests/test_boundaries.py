"""House rule: the core (bot/) never imports a platform or vendor SDK."""

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
)
BOT = pathlib.Path(__file__).resolve().parents[1] / "bot"


def _imports(path: pathlib.Path) -> list[str]:
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_no_module_under_bot_imports_an_sdk() -> None:
    offenders = [
        f"{path.relative_to(BOT.parent)}: {name}"
        for path in sorted(BOT.rglob("*.py"))
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    ]
    assert offenders == []


def test_importing_the_core_loads_no_sdk() -> None:
    modules = sorted(p.stem for p in BOT.glob("*.py") if p.stem not in ("__init__", "__main__"))
    code = (
        "import sys\n"
        + "".join(f"import bot.{m}\n" for m in modules)
        + "bad = [m for m in sys.modules if m.split('.')[0] in "
        + "('discord', 'slack_bolt', 'slack_sdk', 'openai', 'httpx', 'httpx2')"
        + " or m.startswith('google.genai')]\n"
        + "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
    assert len(modules) >= 7


def test_the_checker_catches_an_sdk_import(tmp_path: pathlib.Path) -> None:
    bad = tmp_path / "x.py"
    bad.write_text("from google import genai\nimport openai.types\n")
    assert _imports(bad) == ["google", "openai.types"]
