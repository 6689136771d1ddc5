"""Leases: which processes are alive, so recovery takes only a dead process's jobs.

Each process is a *worker* with a fresh id at every start (``JobStore.worker``). It
``register``s a ``workers`` row (id, host, pid, started_at, seen_at) and ``start`` runs
a heartbeat it owns that refreshes ``seen_at`` every ``lease_s / 3``; ``aclose`` stops
it and ends the lease (``seen_at`` put back past it), so what a clean shutdown left is
adopted at once. The row names the platforms the process serves: another platform's
process adopts a platform's orphans only once none of its processes has been seen for
``FOREIGN_LEASES`` leases (a Slack process restarting keeps its jobs from a
Discord-only one, which could only fail them). Every job
names its owner (``jobs.owner``): the worker that submitted it, or that adopted it.

A worker is dead when its ``seen_at`` is more than ``lease_s`` old by the database's
clock (``Store.clock``: one clock for every machine, whatever theirs say), or at once
when it ran here (same host name, boot and pid namespace) and its pid is gone: a
process SIGKILLed and started again on one machine recovers without waiting. A reused
pid looks alive and the lease decides, which is safe. An unfinished job is *orphaned*
when its owner is NULL (made before owners existed), has no row, or is dead;
``JobStore.adopt`` takes orphans for this worker (see ``bot.adoption``).

A worker whose heartbeat lapses (a database outage, an event loop stalled for
``lease_s``) may see its jobs adopted by another; its own ``mark_running`` then fails
(only the owner starts a job), and its beat puts its row back when it can.
"""

from __future__ import annotations

import logging
import os
import socket
import time
from collections.abc import Sequence

from bot.store import Store
from bot.tasks import Every

log = logging.getLogger(__name__)

LEASE_S = 15.0  # default IMAGINE_LEASE_S
FOREIGN_LEASES = 10  # another platform's orphans wait this many leases for its own processes


def _pid_space() -> str | None:
    """Where this process's pids mean something: this boot of this machine (never the
    same on two machines, even with one host name) and this pid namespace (a container
    has its own). Linux only; None where it cannot be told."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            return f"{boot.read().strip()} {os.readlink('/proc/self/ns/pid')}"
    except OSError:
        return None


def _pid_gone(pid: int) -> bool:
    """True if no process has this pid here (one that exists but is not ours: alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


class Workers:
    def __init__(
        self,
        store: Store,
        *,
        worker: str,
        lease_s: float = LEASE_S,
        platforms: Sequence[str] = (),
    ) -> None:
        if not lease_s > 0:
            raise ValueError("lease_s must be positive")
        self._store, self.id, self.lease_s = store, worker, lease_s
        self._platforms = "".join(f",{p}" for p in platforms) + "," if platforms else ""
        space = _pid_space()
        self.host = f"{socket.gethostname()} {space or ''}".strip()
        self._local = space is not None  # pids of rows with this host can be checked
        self._beat = Every(lease_s / 3, self.beat, name="worker-heartbeat")
        self._started_at = time.time()
        self._registered = False

    async def register(self) -> None:
        """Insert (or refresh) this worker's row."""
        await self._store.execute(
            "INSERT INTO workers (id, host, pid, started_at, seen_at, platforms)"
            f" VALUES (?, ?, ?, ?, {self._store.clock()}, ?)"
            " ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at",
            (self.id, self.host, os.getpid(), self._started_at, self._platforms),
        )
        self._registered = True

    async def start(self) -> None:
        """Register and keep the row fresh (again: no-op)."""
        if not self._beat.running:
            await self.register()
            self._beat.start()

    async def beat(self) -> None:
        """Refresh ``seen_at``; put the row back if another worker pruned it as dead."""
        changed = await self._store.execute(
            f"UPDATE workers SET seen_at = {self._store.clock()} WHERE id = ?", (self.id,)
        )
        if not changed:
            log.warning("worker %s: its lease had lapsed; registered again", self.id)
            await self.register()

    async def stop(self) -> None:
        """Stop beating, leaving the row (as a crash would): the lease runs out."""
        await self._beat.aclose()

    async def aclose(self) -> None:
        """Stop beating and end the lease now: this worker's leftovers are orphans at once.
        The row stays (its lease run out), so other platforms' processes still know this
        platform has a process that may come back (``FOREIGN_LEASES``)."""
        await self.stop()
        if not self._registered:
            return
        try:
            await self._store.execute(
                f"UPDATE workers SET seen_at = {self._store.clock()} - ? WHERE id = ?",
                (float(self.lease_s) + 1.0, self.id),
            )
        except Exception as exc:  # the lease runs out instead
            log.warning("worker %s: could not end its lease (%s)", self.id, type(exc).__name__)
        else:
            self._registered = False

    async def gone(self) -> list[str]:
        """Other workers of this host whose process is gone (dead before their lease ends)."""
        if not self._local:
            return []
        rows = await self._store.fetchall(
            "SELECT id, pid FROM workers WHERE host = ? AND id <> ?", (self.host, self.id)
        )
        return [row["id"] for row in rows if _pid_gone(int(row["pid"]))]

    async def live(self, gone: list[str] | None = None) -> set[str]:
        """The workers alive now (this one included while it beats); ``gone``: what
        ``gone()`` just said, if the caller has it (else asked again)."""
        rows = await self._store.fetchall(
            f"SELECT id FROM workers WHERE seen_at >= {self._store.clock()} - ?",
            (float(self.lease_s),),
        )
        return {row["id"] for row in rows} - set(await self.gone() if gone is None else gone)

    async def prune(self) -> int:
        """Delete the rows of workers unseen for ``FOREIGN_LEASES`` leases that own no
        unfinished job (after adoption)."""
        return await self._store.execute(
            "DELETE FROM workers WHERE id <> ?"
            f" AND seen_at < {self._store.clock()} - ?"
            " AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.owner = workers.id"
            " AND jobs.state IN ('queued', 'running'))",
            (self.id, float(self.lease_s) * FOREIGN_LEASES),
        )
