"""One active scheduler: a PostgreSQL advisory lock held on its own connection (a file lock on SQLite)."""

import fcntl
import os
from typing import IO

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from shared.config import get_settings

LOCK_KEY = 0x43_5A_53_43  # "CZSC"


class Leadership:
    """Try to become the leader; keep the lock for as long as the process lives."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.connection: AsyncConnection | None = None
        self.lock_file: IO[str] | None = None
        self.is_leader = False

    async def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; standbys call this again on every tick."""
        if self.is_leader:
            return True
        if self.engine.dialect.name == "postgresql":
            self.connection = self.connection or await self.engine.connect()
            self.is_leader = bool(
                await self.connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
            )
            await self.connection.commit()
        else:
            self.is_leader = self._file_lock()
        return self.is_leader

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
