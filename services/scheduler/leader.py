"""One active scheduler: a PostgreSQL advisory lock held on its own connection (a file lock on SQLite)."""

import contextlib
import fcntl
import os
from typing import IO

import structlog
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.config import get_settings

log = structlog.get_logger("culturezone.scheduler")
LOCK_KEY = 0x43_5A_53_43  # "CZSC"
# Ticks a leader that lost its lock sits out before trying again, so that a standby takes over.
REJOIN_AFTER_TICKS = 5
HOLDS_LOCK = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) AND objid = :key"
)


class Leadership:
    """Become the leader, and on every tick make sure the lock is still held; stop leading the moment it is not."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None
        self.lock_file: IO[str] | None = None
        self.is_leader = False
        self.sitting_out = 0

    async def try_acquire(self) -> bool:
        """Keep or take the lock; standbys call this on every tick, the leader to re-check its lock."""
        if self.engine.dialect.name != "postgresql":
            self.is_leader = self.is_leader or self._file_lock()
            return self.is_leader
        if self.is_leader:
            return await self.still_leading()
        if self.sitting_out:
            self.sitting_out -= 1
            return False
        try:
            self.connection = self.connection or await self.engine.connect()
            self.is_leader = bool(
                await self.connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
            )
            await self.connection.commit()
        except (DBAPIError, OSError):
            await self._drop_connection()
        return self.is_leader

    async def still_leading(self) -> bool:
        """Whether the lock's session is alive and holds the lock; if not, leadership ends here."""
        if self.engine.dialect.name != "postgresql":
            return self.is_leader
        if not self.is_leader or self.connection is None:
            return False
        try:
            held = await self.connection.scalar(HOLDS_LOCK, {"key": LOCK_KEY})
            await self.connection.commit()
        except (DBAPIError, OSError):
            held = 0
        if not held:
            log.warning("leadership lost: the lock's session is gone")
            self.is_leader = False
            self.sitting_out = REJOIN_AFTER_TICKS
            await self._drop_connection()
        return self.is_leader

    async def _drop_connection(self) -> None:
        if self.connection is not None:
            with contextlib.suppress(DBAPIError, OSError):
                await self.connection.invalidate()
            self.connection = None

    def _file_lock(self) -> bool:
        path = get_settings().data_dir / "scheduler.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(path, "w")  # noqa: SIM115 - held open for the life of the process
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        handle.write(str(os.getpid()))
        handle.flush()
        self.lock_file = handle
        return True

    async def release(self) -> None:
        """Give the lock up (on shutdown)."""
        if self.connection is not None:
            await self.connection.close()
            self.connection = None
        if self.lock_file is not None:
            self.lock_file.close()
            self.lock_file = None
        self.is_leader = False
