"""Engines, sessions and migrations for any SQLAlchemy async URL.

SQLite (aiosqlite) is the embedded default and runs in WAL mode with a busy timeout, so a
reader never blocks the writer and two processes wait for each other instead of failing.
Its file holds a family's list, names and chat ids, so it is created readable by its owner
alone; SQLite gives the -wal and -shm files the main file's mode.
"""

from __future__ import annotations

import asyncio
import collections
import functools
import os
import re
import socket
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.util import concurrency

__all__ = [
    "DatabaseUnavailable",
    "check_database",
    "describe_error",
    "make_engine",
    "make_sessionmaker",
    "upgrade",
    "upgrade_sync",
]

MIGRATIONS = Path(__file__).with_name("migrations")


# SQLAlchemy 2.1's name for awaiting from its greenlet-run sync code; 2.0 calls it await_only.
_await = getattr(concurrency, "await_", None) or concurrency.await_only


async def _done(value: Any) -> Any:
    return value


# A statement run on the calling thread is still handed back through one await (`_done`): a
# greenlet switch, no thread and no loop turn. SQLAlchemy's AsyncConnection.execute (Core)
# refuses a call that never awaited (AwaitRequired); AsyncSession does not check.


class _OneHopCursor:
    """SQLAlchemy's aiosqlite cursor, one trip to the driver's thread per statement.

    The stock adapter makes four (open a cursor, execute, fetch, close), and each trip wakes
    a thread and the event loop: on the bot's hot path that waking cost more CPU than the
    SQL. Here the whole statement runs in one call on aiosqlite's thread, and the rows,
    description, rowcount and last row id come back together; inside a transaction, which
    holds the write lock, it runs on the calling thread with no trip at all. Installed per
    connection by `_sqlite_pragmas` (only when the driver has the one call it uses), so
    nothing else in the process changes.
    """

    server_side = False

    def __init__(self, adapt_connection: Any) -> None:
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._rows: collections.deque[Any] = collections.deque()
        self.description: Any = None
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.arraysize = 1

    def _run(self, many: bool, operation: str, parameters: Any) -> tuple[Any, ...]:
        cursor = self._connection._conn.cursor()  # on aiosqlite's thread
        try:
            if many:
                cursor.executemany(operation, parameters)
            else:
                cursor.execute(operation, () if parameters is None else parameters)
            rows = cursor.fetchall() if cursor.description else None
            return cursor.description, cursor.rowcount, cursor.lastrowid, rows
        finally:
            cursor.close()

    async def _execute_async(self, many: bool, operation: str, parameters: Any) -> None:
        async with self._adapt_connection._execute_mutex:
            (self.description, self.rowcount, self.lastrowid,
             rows) = await self._connection._execute(self._run, many, operation, parameters)
        self._rows = collections.deque(rows or ())

    def execute(self, operation: str, parameters: Any = None) -> None:
        try:
            if self._connection._conn.in_transaction:
                # Inside a transaction this connection holds SQLite's write lock (every one
                # begins IMMEDIATE), and in WAL mode nothing else can make a statement wait:
                # it runs here, on the event loop's thread, with no trip at all. BEGIN (which
                # may wait for the lock), COMMIT and ROLLBACK still go to the driver's thread.
                (self.description, self.rowcount, self.lastrowid,
                 rows) = _await(_done(self._run(False, operation, parameters)))
                self._rows = collections.deque(rows or ())
                return
            _await(self._execute_async(False, operation, parameters))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    def executemany(self, operation: str, seq_of_parameters: Any) -> None:
        try:
            if self._connection._conn.in_transaction:
                (self.description, self.rowcount, self.lastrowid,
                 rows) = _await(_done(self._run(True, operation, list(seq_of_parameters))))
                self._rows = collections.deque(rows or ())
                return
            _await(self._execute_async(True, operation, list(seq_of_parameters)))
        except Exception as error:
            self._adapt_connection._handle_exception(error)

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    def __enter__(self) -> _OneHopCursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Any:
        while self._rows:
            yield self._rows.popleft()

    def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[Any]:
        rows = self._rows
        return [rows.popleft() for _ in range(min(size or self.arraysize, len(rows)))]

    def fetchall(self) -> list[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows


def _one_hop(dbapi_connection: Any) -> None:
    """Give this connection `_OneHopCursor`s, when the driver is the aiosqlite it knows."""
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

    driver = getattr(dbapi_connection, "_connection", None)
    if (type(dbapi_connection) is AsyncAdapt_aiosqlite_connection
            and callable(getattr(driver, "_execute", None))
            and hasattr(type(driver), "_conn")):
        dbapi_connection.__class__ = _OneHopConnection


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, synchronous: str = "NORMAL") -> None:
    # The driver's own transaction handling is off so that `_begin_immediate` decides.
    dbapi_connection.isolation_level = None
    _one_hop(dbapi_connection)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA synchronous={synchronous}")
    cursor.close()


def _one_hop_connection_class() -> type:
    from sqlalchemy.dialects.sqlite.aiosqlite import AsyncAdapt_aiosqlite_connection

    class OneHopConnection(AsyncAdapt_aiosqlite_connection):
        __slots__ = ()
        _cursor_cls = _OneHopCursor  # type: ignore[assignment]

    return OneHopConnection


_OneHopConnection = _one_hop_connection_class()


def _begin_immediate(connection: Any) -> None:
    # A deferred transaction that reads, then writes, fails with SQLITE_BUSY when another
    # process wrote in between, and no busy timeout helps; taking the write lock at BEGIN
    # makes writers queue up instead.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


# NUL cannot be stored in a PostgreSQL text column at all, and no control character (but
# tab and line breaks) belongs in anything a person typed: none reaches either database.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _printable(value: Any) -> Any:
    if isinstance(value, str):
        return _CONTROL.sub("", value) if _CONTROL.search(value) else value
    if isinstance(value, dict):
        return {key: _printable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_printable(item) for item in value)
    return value


def _strip_controls(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any,
                    _executemany: bool) -> tuple[str, Any]:
    return statement, _printable(parameters)


def _private_file(path: Path) -> None:
    """Create the SQLite file 0600 (whatever the umask) before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
        os.chmod(path, 0o600)


def make_engine(url: str, *, durable: bool = False) -> AsyncEngine:
    """An async engine for `url`; a SQLite file's folder is created when missing.

    In WAL mode SQLite's `synchronous=NORMAL` survives any process crash but a power cut
    may roll back the last commits; `durable=True` (FULL) makes every commit on this engine
    wait for the disk. The intake commits its inbox on a durable engine before Telegram is
    told an update arrived: the WAL is one log, so that sync also covers every commit
    before it, and a power cut can only roll back work the inbox still holds.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            _private_file(Path(parsed.database).expanduser())
        # Statement parameters stay out of error messages: they are users' words, and an
        # error's message ends up in a traceback in the log.
        # The driver's connection is used from the event loop's thread too, inside a
        # transaction (`_OneHopCursor.execute`), never from two threads at once.
        engine = create_async_engine(url, connect_args={"timeout": 10,
                                                        "check_same_thread": False},
                                     hide_parameters=True)
        event.listen(engine.sync_engine, "connect", functools.partial(
            _sqlite_pragmas, synchronous="FULL" if durable else "NORMAL"))
        event.listen(engine.sync_engine, "begin", _begin_immediate)
    else:
        engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
    event.listen(engine.sync_engine, "before_cursor_execute", _strip_controls, retval=True)
    return engine


class DatabaseUnavailable(Exception):
    """The database cannot be used; the message says why in one line, with no password."""


def _where(parsed: URL) -> str:
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database}"
    host = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    return f"database {parsed.database or '(none)'} at {host}"


def describe_error(error: BaseException) -> str:
    """A database error as a short reason, without the URL or statement parameters."""
    original = error.orig if isinstance(error, DBAPIError) and error.orig else error
    name = type(original).__name__
    if isinstance(original, socket.gaierror):
        return "unknown host"
    if isinstance(original, ConnectionRefusedError):
        return "connection refused: is the server running?"
    if isinstance(original, TimeoutError):
        return "no answer in time"
    if name == "InvalidCatalogNameError":
        return "it does not exist (create it first, e.g. `createdb`)"
    if name in ("InvalidPasswordError", "InvalidAuthorizationSpecificationError"):
        return "authentication failed"
    if isinstance(original, OSError) and original.strerror:
        return original.strerror.lower()
    first = str(original.args[0]) if original.args else name
    return first.splitlines()[0][:200] if first else name


async def check_database(url: str, timeout: float = 10.0) -> None:
    """Connect once; raise `DatabaseUnavailable` with a one-line reason when that fails."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseUnavailable("not a database URL") from None
    try:
        engine = make_engine(url)
    except (ArgumentError, ImportError) as error:
        raise DatabaseUnavailable(f"{_where(parsed)}: {error}") from None
    except OSError as error:
        raise DatabaseUnavailable(
            f"cannot use {_where(parsed)}: {describe_error(error)}") from None
    try:
        async with asyncio.timeout(timeout), engine.connect() as connection:
            await connection.exec_driver_sql("SELECT 1")
    except Exception as error:  # a driver's own connect-time error, whatever its class
        raise DatabaseUnavailable(
            f"cannot use {_where(parsed)}: {describe_error(error)}") from None
    finally:
        await engine.dispose()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded values after commit (replies are rendered after it)."""
    return async_sessionmaker(engine, expire_on_commit=False)


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Create or upgrade the schema with Alembic; call it where no event loop runs."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(config, revision)


async def upgrade(url: str, revision: str = "head") -> None:
    """`upgrade_sync` from async code: Alembic's env runs its own loop, so in a thread."""
    await asyncio.to_thread(upgrade_sync, url, revision)
