"""What the SQLite and PostgreSQL stores share: rows, parameters, schema files.

- **One parameter style for callers**: ``?`` (positional) or ``:name`` (with a dict),
  as SQLite takes them; ``numbered`` turns either into PostgreSQL's ``$1, $2 …``
  (quoted literals, quoted names, comments and ``::`` casts are left alone).
- **Rows** behave alike on both: by index, by column name, unpacked (``a, b = row``).
- **Schema files**: ``bot/schema/000N_*.sql`` for SQLite and
  ``bot/schema/postgres/000N_*.sql`` for PostgreSQL — the same numbers, names, tables
  and columns (tests/bot/test_store.py compares them); they differ only where the
  dialects do (types, identity columns, JSON functions).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from typing import Any, Literal, Protocol

from bot.errors import ConfigError

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any] | Mapping[str, Any]

_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|--[^\n]*|::|\?|:([A-Za-z_]\w*)")


class Row(Protocol):
    """A result row: ``row[0]``, ``row["name"]``, ``len(row)``, ``a, b = row``."""

    def __getitem__(self, key: int | str, /) -> Any: ...
    def __iter__(self) -> Iterator[Any]: ...
    def __len__(self) -> int: ...


def migrations(dialect: Dialect = "sqlite") -> list[tuple[int, str, str]]:
    """(version, name, sql) for every schema file of ``dialect``, in order (1, 2, 3 …)."""
    folder = resources.files("bot").joinpath("schema")
    if dialect == "postgresql":
        folder = folder.joinpath("postgres")
    found = []
    for entry in folder.iterdir():
        match = _MIGRATION.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    if [v for v, _, _ in found] != list(range(1, len(found) + 1)):
        raise ConfigError(f"schema files are not numbered 1..n: {[n for _, n, _ in found]}")
    return found


def statements(sql: str) -> list[str]:
    """Split a schema file into statements (no semicolons inside literals there)."""
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


@lru_cache(maxsize=1024)
def _numbered(sql: str) -> tuple[str, tuple[str, ...] | None]:
    """``sql`` with ``$n`` placeholders, and the names in their order (None: positional)."""
    names: list[str] = []
    positional = 0

    def swap(match: re.Match[str]) -> str:
        nonlocal positional
        token, name = match.group(0), match.group(1)
        if token == "?":
            positional += 1
            return f"${positional}"
        if name is None:
            return token  # a literal, a quoted name, a comment or a cast
        if name not in names:
            names.append(name)
        return f"${names.index(name) + 1}"

    out = _TOKEN.sub(swap, sql)
    if positional and names:
        raise ValueError("a statement takes either ? or :name parameters, not both")
    return out, (tuple(names) if names else None)


def numbered(sql: str, params: Params = ()) -> tuple[str, list[Any]]:
    """(PostgreSQL ``sql``, its arguments) for a statement written with ``?`` or ``:name``."""
    text, names = _numbered(sql)
    if names is None:
        if isinstance(params, Mapping):
            raise ValueError("named parameters given, but the statement has none")
        return text, list(params)
    if not isinstance(params, Mapping):
        raise ValueError("the statement takes :name parameters: pass a dict")
    return text, [params[name] for name in names]


def refuse_newer(current: int, known: int) -> None:
    """``ConfigError`` if the database's schema is newer than this code knows."""
    if current > known:
        raise ConfigError(
            f"the database is at schema version {current}, newer than this imagine-bot "
            f"({known}); upgrade imagine-bot or restore a backup"
        )
