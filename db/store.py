"""Repositories and the unit of work: every query the handlers and the bot run.

A `UnitOfWork` is one transaction. The bot opens it per update, hands it to a handler and
commits it; the handler never commits, so one update is one atomic change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, exists, func, inspect, or_, select, update
from sqlalchemy import text as sql
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, AsyncSessionTransaction, async_sessionmaker
from sqlalchemy.sql import case, literal_column

from db.models import (
    OPEN_LINE_KEY,
    Action,
    ActionKind,
    BugReport,
    Chat,
    FallbackDecision,
    Group,
    GroupKind,
    InboxUpdate,
    Invite,
    Item,
    ItemQuestion,
    ItemStatus,
    JoinAttempt,
    Member,
    MemberRole,
    ProcessedUpdate,
    QuestionKind,
    RecipeOffer,
    RouteLog,
    User,
)

__all__ = ["APPLYING", "SHARED", "Applying", "Batch", "InboxRow", "UnitOfWork",
           "UnitOfWorkFactory", "as_utc", "is_transient", "set_clock", "utcnow"]


# Amounts are floats; a remainder this small is nothing left.
EPSILON = 1e-9


# Tests set a clock (`set_clock`) instead of sleeping through days of shopping history.
_clock: Callable[[], datetime] | None = None


def set_clock(clock: Callable[[], datetime] | None) -> None:
    """Make `utcnow` read `clock` (None: the real time again)."""
    global _clock
    _clock = clock


def utcnow() -> datetime:
    """Now, timezone-aware (the clock set with `set_clock`, if any)."""
    return _clock() if _clock is not None else datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _dialect(session: AsyncSession) -> str:
    return session.bind.dialect.name if session.bind else "sqlite"


def _insert(session: AsyncSession) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT; both speak the same form of it."""
    return postgresql_insert if _dialect(session) == "postgresql" else sqlite_insert


_HOT: dict[tuple[str, str], Any] = {}
_INBOX = cast(Table, InboxUpdate.__table__)
_PROCESSED = cast(Table, ProcessedUpdate.__table__)
_ROUTES = cast(Table, RouteLog.__table__)
_ITEMS = cast(Table, Item.__table__)


def _hot(session: AsyncSession, name: str) -> Any:
    """A statement every update runs, built once per dialect from the tables (plain Core,
    values as bound parameters), so an update pays neither for building it nor for the
    ORM's bulk-statement handling; SQLAlchemy's compiled cache keys on the same object."""
    dialect = _dialect(session)
    statement = _HOT.get((dialect, name))
    if statement is None:
        statement = _HOT[(dialect, name)] = _HOT_BUILDERS[name](
            postgresql_insert if dialect == "postgresql" else sqlite_insert)
    return statement


def _free_core(now: Any) -> Any:
    return or_(_INBOX.c.lease_until.is_(None), _INBOX.c.lease_until < now)


def _build_store(insert: Any) -> Any:
    return insert(_INBOX).on_conflict_do_nothing(index_elements=["update_id"])


def _build_processed(insert: Any) -> Any:
    return insert(_PROCESSED).on_conflict_do_nothing(index_elements=["update_id"])


def _build_route(insert: Any) -> Any:
    return insert(_ROUTES)


def _build_seen(insert: Any) -> Any:
    return select(_PROCESSED.c.update_id).where(
        _PROCESSED.c.update_id.in_(bindparam("ids", expanding=True)))


def _build_upsert(insert: Any) -> Any:
    """An item line added, or added to (`ItemRepo.upsert`); every value a parameter but the
    partial index's condition."""
    values = ("group_id", "list_id", "name", "key", "concept", "quantity", "unit", "unit_key",
              "note", "note_key", "category", "status", "added_by", "created_at", "updated_at")
    statement = insert(Item).values(
        {name: bindparam(name, type_=_ITEMS.c[name].type) for name in values})
    return statement.on_conflict_do_update(
        # A literal, not a parameter: after five runs PostgreSQL plans the statement
        # generically and can no longer match a parameter to the partial index.
        index_elements=list(OPEN_LINE_KEY),
        index_where=Item.status == literal_column("'open'"),
        set_={"quantity": func.coalesce(Item.quantity + statement.excluded.quantity,
                                         statement.excluded.quantity, Item.quantity),
              "updated_at": statement.excluded.updated_at})


def _build_remove(insert: Any) -> Any:
    return delete(_INBOX).where(_INBOX.c.update_id == bindparam("done_id"))


def _build_lease_head(insert: Any) -> Any:
    inbox = _INBOX
    # The chat's head, leased in the statement that finds it. No SKIP LOCKED here:
    # skipping a locked head would hand out the row after it.
    head = select(func.min(inbox.c.update_id)).where(
        inbox.c.chat_id == bindparam("head_chat")).scalar_subquery()
    return (update(inbox)
            .where(inbox.c.update_id == head, _free_core(bindparam("now")))
            .values(lease_owner=bindparam("owner"), lease_until=bindparam("until"),
                    attempts=inbox.c.attempts + 1)
            .returning(inbox.c.update_id, inbox.c.payload, inbox.c.attempts))


def _build_open_items(insert: Any) -> Any:
    return (select(Item).where(Item.group_id == bindparam("group_id"),
                               Item.list_id == bindparam("list_id"),
                               Item.status == ItemStatus.OPEN)
            .order_by(Item.created_at, Item.id).execution_options(populate_existing=True))


def _build_open_line(insert: Any) -> Any:
    return (select(Item).where(Item.group_id == bindparam("group_id"),
                               Item.list_id == bindparam("list_id"),
                               Item.status == ItemStatus.OPEN,
                               Item.concept == bindparam("concept"),
                               Item.unit_key == bindparam("unit_key"),
                               Item.note_key == bindparam("note_key"))
            .execution_options(populate_existing=True))


def _build_user(insert: Any) -> Any:
    return (select(User).where(User.user_id == bindparam("user_id"))
            .execution_options(populate_existing=True))


def _build_member(insert: Any) -> Any:
    return (select(Member).where(Member.group_id == bindparam("group_id"),
                                 Member.user_id == bindparam("user_id"))
            .execution_options(populate_existing=True))


_HOT_BUILDERS: dict[str, Callable[[Any], Any]] = {
    "open_items": _build_open_items, "open_line": _build_open_line, "user": _build_user,
    "member": _build_member,
    "store": _build_store, "processed": _build_processed, "remove": _build_remove,
    "lease_head": _build_lease_head, "route": _build_route, "seen": _build_seen,
    "upsert_returning": lambda insert: _build_upsert(insert).returning(Item),
    "upsert_pg": lambda insert: _build_upsert(insert).returning(
        Item, literal_column("(xmax = 0)")),
}


# Advisory lock key spaces on PostgreSQL. A group's lock is the single 64-bit key
# `group_id`; chats and users use the separate two-key space (kind, 32-bit hash), where a
# hash collision costs only a little waiting, never correctness.
_LOCK_CHAT = 1
_LOCK_USER = 2


def _int4(value: int) -> int:
    folded = (value ^ (value >> 32)) & 0xFFFFFFFF
    return folded - (1 << 32) if folded >= 1 << 31 else folded


async def _advisory_lock(session: AsyncSession, *key: int) -> None:
    # SQLite needs nothing: every transaction begins IMMEDIATE (db/engine.py), so writers
    # already run one at a time. PostgreSQL holds the lock until commit or rollback, so it
    # serializes across processes too, where a process-local lock would not.
    if _dialect(session) != "postgresql":
        return
    if len(key) == 1:
        await session.execute(sql("SELECT pg_advisory_xact_lock(:k)"), {"k": key[0]})
    else:
        await session.execute(sql("SELECT pg_advisory_xact_lock(:a, :b)"),
                              {"a": key[0], "b": _int4(key[1])})


class GroupRepo:
    """Groups, the chats that act on them, users and members."""

    def __init__(self, session: AsyncSession,
                 held: dict[tuple[Any, ...], Any] | None = None) -> None:
        self.session = session
        # The session's identity map holds rows weakly: a chat read by the dispatcher and
        # read again by a handler would be selected twice. Held here, it is read once per
        # transaction (never longer: another worker may change it after the commit), or
        # once per batch on SQLite (`Batch`).
        self._held: dict[tuple[Any, ...], Any] = {} if held is None else held
        self._lasting = held is not None

    def _kept(self, *key: Any) -> Any:
        """In a batch on SQLite, the row an earlier update of the batch read, as it is now
        (`Batch`); None otherwise."""
        if not self._lasting:
            return None
        row = self._held.get(key)
        if row is None or row not in self.session.sync_session or inspect(row).expired_attributes:
            return None  # gone from the session, or changed by a rolled-back savepoint
        return row

    async def _get(self, model: type[Any], key: int) -> Any:
        row = await self.session.get(model, key)
        if row is not None:
            self._held[model, key] = row
        return row

    async def get(self, group_id: int) -> Group | None:
        group: Group | None = await self._get(Group, group_id)
        return group

    async def chat(self, chat_id: int) -> Chat | None:
        chat: Chat | None = await self._get(Chat, chat_id)
        return chat

    async def group_of_chat(self, chat_id: int) -> Group | None:
        chat = await self.chat(chat_id)
        return await self.get(chat.group_id) if chat else None

    async def create_group(self, title: str, kind: GroupKind, language: str | None) -> Group:
        group = Group(title=title[:128], kind=kind, language=language, created_at=utcnow())
        self.session.add(group)
        await self.session.flush()
        return group

    async def lock(self, group_id: int) -> None:
        """Serialize changes to one group until this transaction ends (every process).

        Taken when a unit of work starts acting on a group, before it reads the list, so a
        read-modify-write of one group never interleaves with another's.
        """
        await _advisory_lock(self.session, group_id)

    async def lock_chat(self, chat_id: int) -> None:
        """Serialize first contact in one chat, so two first messages make one group."""
        await _advisory_lock(self.session, _LOCK_CHAT, chat_id)

    async def lock_user(self, user_id: int) -> None:
        """Serialize one user's per-user counters (join guesses) across all chats."""
        await _advisory_lock(self.session, _LOCK_USER, user_id)

    async def bind_chat(self, chat_id: int, group_id: int, kind: str) -> Chat:
        now = utcnow()
        insert = _insert(self.session)
        statement = insert(Chat).values(chat_id=chat_id, group_id=group_id, kind=kind,
                                        updated_at=now)
        # An upsert: a concurrent first bind of the same chat must not fail on the key.
        await self.session.execute(statement.on_conflict_do_update(
            index_elements=["chat_id"],
            set_={"group_id": group_id, "kind": kind, "updated_at": now}))
        chat = (await self.session.execute(
            select(Chat).where(Chat.chat_id == chat_id)
            .execution_options(populate_existing=True))).scalar_one()
        return chat

    async def set_awaiting(self, chat_id: int, what: str | None, user_id: int | None) -> None:
        chat = await self.chat(chat_id)
        if chat is not None:
            chat.awaiting = what
            chat.awaiting_user_id = user_id

    async def user(self, user_id: int) -> User | None:
        user: User | None = await self._get(User, user_id)
        return user

    async def touch_user(self, user_id: int, name: str, private_chat_id: int | None = None,
                         language: str | None = None) -> User:
        user = self._kept(User, user_id) or await self._fresh(_hot(self.session, "user"),
                                                               {"user_id": user_id})
        if user is None:
            # Insert-or-nothing: a user's first messages in several chats at once all reach
            # here, and a plain INSERT would fail every one but the first on the key.
            await self.session.execute(
                _insert(self.session)(User)
                .values(user_id=user_id, display_name=name[:128] or str(user_id),
                        private_chat_id=private_chat_id, last_language=language,
                        created_at=utcnow())
                .on_conflict_do_nothing(index_elements=["user_id"]))
            user = await self._fresh(_hot(self.session, "user"), {"user_id": user_id})
        assert isinstance(user, User)
        # Only what changed is written, so most messages take no lock on the user's row.
        if name and user.display_name != name[:128]:
            user.display_name = name[:128]
        if private_chat_id is not None and user.private_chat_id != private_chat_id:
            user.private_chat_id = private_chat_id
        if language is not None and user.last_language != language:
            user.last_language = language
        await self.session.flush()
        return user

    async def member(self, group_id: int, user_id: int) -> Member | None:
        return (await self.session.execute(
            select(Member).where(Member.group_id == group_id, Member.user_id == user_id)
        )).scalar_one_or_none()

    async def active_member(self, group_id: int, user_id: int) -> Member | None:
        member = await self.member(group_id, user_id)
        return member if member and member.active else None

    async def add_member(self, group_id: int, user_id: int,
                         role: MemberRole = MemberRole.MEMBER) -> Member:
        query = _hot(self.session, "member")
        key = {"group_id": group_id, "user_id": user_id}
        member = self._kept(Member, group_id, user_id) or await self._fresh(query, key)
        if member is None:
            # Insert-or-nothing on (group_id, user_id): concurrent first messages of one user
            # in a group (its chat, their private chat) must not fail on the unique key.
            await self.session.execute(
                _insert(self.session)(Member)
                .values(group_id=group_id, user_id=user_id, role=role, notify=True,
                        active=True, joined_at=utcnow(), notified_through=0)
                .on_conflict_do_nothing(index_elements=["group_id", "user_id"]))
            member = await self._fresh(query, key)
        assert isinstance(member, Member)
        self._held[Member, group_id, user_id] = member
        if not member.active:
            member.active = True
            member.left_at = None
            member.joined_at = utcnow()
            await self.session.flush()
        return member

    async def _fresh(self, query: Any, params: dict[str, Any]) -> Any:
        """One row of `query` (a statement with `populate_existing`) as the database has it
        now (not as this session last saw it); an existing row, the common case, costs one
        SELECT and no write."""
        row = (await self.session.execute(query, params)).scalar_one_or_none()
        if isinstance(row, User):
            self._held[User, row.user_id] = row
        return row

    async def members(self, group_id: int) -> Sequence[tuple[Member, User | None]]:
        rows = await self.session.execute(
            select(Member, User)
            .outerjoin(User, User.user_id == Member.user_id)
            .where(Member.group_id == group_id, Member.active.is_(True))
            .order_by(Member.joined_at, Member.id)
        )
        return [(member, user) for member, user in rows.all()]

    async def personal_group(self, user_id: int) -> Group | None:
        row = await self.session.execute(
            select(Group).join(Member, Member.group_id == Group.id)
            .where(Member.user_id == user_id, Member.role == MemberRole.OWNER,
                   Group.kind == GroupKind.PERSONAL)
            .order_by(Group.id).limit(1)
        )
        return row.scalar_one_or_none()

    async def set_digest_due(self, group_id: int, due: datetime | None) -> None:
        await self.session.execute(
            update(Group).where(Group.id == group_id).values(digest_due_at=due))

    async def claim_due_digests(self, now: datetime, limit: int) -> list[int]:
        """Groups whose digest is due, locked until this transaction ends; groups another
        process has claimed are skipped (FOR UPDATE SKIP LOCKED), so each digest is sent
        by one process, and clearing `digest_due_at` in the same transaction ends the claim."""
        rows = await self.session.execute(
            select(Group.id).where(Group.digest_due_at.is_not(None), Group.digest_due_at <= now)
            .order_by(Group.digest_due_at).limit(limit).with_for_update(skip_locked=True))
        return [int(group_id) for group_id in rows.scalars().all()]

    async def try_lock(self, group_id: int) -> bool:
        """`lock`, unless another transaction holds it: then False at once, no waiting."""
        if _dialect(self.session) != "postgresql":
            return True
        taken = await self.session.execute(sql("SELECT pg_try_advisory_xact_lock(:k)"),
                                           {"k": group_id})
        return bool(taken.scalar_one())

    async def group_chats(self, group_id: int) -> Sequence[Chat]:
        """The Telegram group chats that act on a group and still have the bot in them."""
        rows = await self.session.execute(
            select(Chat).where(Chat.group_id == group_id, Chat.kind == "group",
                               Chat.gone_at.is_(None)).order_by(Chat.updated_at))
        return rows.scalars().all()

    async def set_chat_gone(self, chat_id: int, gone: bool) -> Chat | None:
        """Mark a group chat as one the bot can no longer write to (or can again)."""
        chat = await self.chat(chat_id)
        if chat is not None:
            chat.gone_at = utcnow() if gone else None
            await self.session.flush()
        return chat

    async def private_chats_on(self, group_id: int, user_id: int) -> Sequence[Chat]:
        """A user's private chats that act on this group."""
        rows = await self.session.execute(
            select(Chat).where(Chat.chat_id == user_id, Chat.group_id == group_id,
                               Chat.kind == "private"))
        return rows.scalars().all()


# SQLSTATEs of failures another try can get past: serialization failure, deadlock, lock
# timeout, a server shutting down or starting, too many connections (and class 08, the
# connection itself).
_RETRY_STATES = frozenset({"40001", "40P01", "55P03", "57P01", "57P02", "57P03", "53300"})


def is_transient(error: BaseException) -> bool:
    """A database error worth another try of the whole update: the connection went away,
    the database was locked or busy, or PostgreSQL chose this transaction to give way."""
    if isinstance(error, (OperationalError, InterfaceError)):
        return True
    if isinstance(error, DBAPIError):
        state = getattr(error.orig, "sqlstate", None) or getattr(error.orig, "pgcode", None)
        return (bool(error.connection_invalidated) or state in _RETRY_STATES
                or str(state or "").startswith("08"))
    return False


@dataclass(slots=True)
class Applying:
    """The inbox row whose update this task is applying.

    The transaction that marks the update processed (`LogRepo.claim_update`) also removes
    the row and leases its chat's next row when it commits, so applying an update is one
    transaction, not two. `finished` says that commit happened; `next_row` is the lease it
    took. An update that never reaches such a transaction (ignored, failed) is finished
    by the inbox worker on its own.
    """

    update_id: int
    chat_id: int
    owner: str
    lease: timedelta
    claim_next: bool = True
    finished: bool = False
    next_row: InboxRow | None = None


# Set by the inbox worker around one update (bot/intake.py); a context variable, so each
# chat's task sees its own.
APPLYING: ContextVar[Applying | None] = ContextVar("shopbot_applying", default=None)

class Batch:
    """A fetched batch's one transaction (long polling, bot/intake.py).

    While it is set (`SHARED`), every unit of work opened in its task is a savepoint of that
    transaction instead of a transaction of its own (`UnitOfWorkFactory`), so one update that
    fails rolls back alone and the batch commits once. Which updates were processed before
    is read once for the whole batch (`start`); the processed marks and routing-statistics
    rows of the savepoints that committed are written at its end in one `executemany` each
    (`finish`).

    On SQLite the batch's transaction holds the database's only write lock from its first
    statement to its commit, so nobody else can change a row it has read: the rows one
    update read stay read for the next (`held`; the session's identity map alone holds
    them weakly). On PostgreSQL another transaction may, so each unit of work reads afresh,
    as a transaction of its own would.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.held: dict[tuple[Any, ...], Any] | None = (
            {} if _dialect(session) == "sqlite" else None)
        self.processed: set[int] = set()
        self.marks: list[dict[str, Any]] = []
        self.routes: list[dict[str, Any]] = []

    async def start(self, update_ids: Sequence[int]) -> None:
        """Note which of the batch's updates were processed before (redeliveries)."""
        if update_ids:
            rows = await self.session.execute(_hot(self.session, "seen"),
                                              {"ids": list(update_ids)})
            self.processed.update(int(update_id) for update_id in rows.scalars())

    async def finish(self) -> None:
        """Write what the committed savepoints left for the end (before the commit)."""
        if self.marks:
            await self.session.execute(_hot(self.session, "processed"), self.marks)
        if self.routes:
            await self.session.execute(_hot(self.session, "route"), self.routes)
        self.marks, self.routes = [], []


SHARED: ContextVar[Batch | None] = ContextVar("shopbot_shared", default=None)


@dataclass(frozen=True, slots=True)
class InboxRow:
    """One stored Telegram update: its id, its chat (0 for none) and its JSON."""

    update_id: int
    chat_id: int
    payload: str
    attempts: int = 0


class InboxRepo:
    """The durable inbox: updates are stored here before Telegram hears they arrived.

    Claiming is safe across processes. A worker takes only a chat's oldest row (its head)
    and leases it; the next row of that chat is no head while the first is still there, so
    one chat's updates are applied one after another, in update id order, whichever process
    applies them. On PostgreSQL `FOR UPDATE SKIP LOCKED` lets workers claim side by side; on
    SQLite every transaction begins IMMEDIATE (db/engine.py), so claims simply queue.
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def store(self, rows: Sequence[InboxRow]) -> None:
        """Insert fetched updates; an id stored before (fetched twice) is left alone."""
        if not rows:
            return
        now = utcnow()
        # executemany of one cached statement: a multi-row VALUES would be compiled anew
        # for every batch size.
        await self.session.execute(
            _hot(self.session, "store"),
            [{"update_id": row.update_id, "chat_id": row.chat_id, "payload": row.payload,
              "received_at": now, "attempts": 0} for row in rows])

    @staticmethod
    def _free(now: datetime) -> Any:
        return or_(InboxUpdate.lease_until.is_(None), InboxUpdate.lease_until < now)

    async def _lease(self, update_ids: Sequence[int], owner: str, until: datetime,
                     now: datetime) -> int:
        result = await self.session.execute(
            update(InboxUpdate)
            .where(InboxUpdate.update_id.in_(update_ids), self._free(now))
            .values(lease_owner=owner, lease_until=until, attempts=InboxUpdate.attempts + 1))
        return int(getattr(result, "rowcount", 0) or 0)

    async def claim(self, owner: str, limit: int, lease: timedelta) -> list[InboxRow]:
        """Lease the oldest row of up to `limit` chats nobody is working on, oldest first."""
        now = utcnow()
        earlier = InboxUpdate.__table__.alias("earlier")
        rows = (await self.session.execute(
            select(InboxUpdate.update_id, InboxUpdate.chat_id, InboxUpdate.payload,
                   InboxUpdate.attempts)
            .where(self._free(now),
                   ~exists().where(earlier.c.chat_id == InboxUpdate.chat_id,
                                   earlier.c.update_id < InboxUpdate.update_id))
            .order_by(InboxUpdate.update_id).limit(limit)
            .with_for_update(skip_locked=True))).all()
        if not rows:
            return []
        await self._lease([row.update_id for row in rows], owner, now + lease, now)
        return [InboxRow(row.update_id, row.chat_id, row.payload, row.attempts + 1)
                for row in rows]

    async def finish(self, update_id: int, chat_id: int, owner: str, lease: timedelta,
                     claim_next: bool = True) -> InboxRow | None:
        """Remove an applied row and lease the next row of its chat, if nobody holds it."""
        await self.session.execute(_hot(self.session, "remove"), {"done_id": update_id})
        if not claim_next:
            return None
        now = utcnow()
        row = (await self.session.execute(
            _hot(self.session, "lease_head"),
            {"head_chat": chat_id, "now": now, "owner": owner, "until": now + lease})).first()
        if row is None:
            return None
        return InboxRow(row.update_id, chat_id, row.payload, row.attempts)

    async def postpone(self, update_id: int, until: datetime) -> None:
        """Leave a row for another try after `until` (its chat waits behind it meanwhile)."""
        await self.session.execute(
            update(InboxUpdate).where(InboxUpdate.update_id == update_id)
            .values(lease_owner=None, lease_until=until))

    async def release(self, owner: str | None = None, update_id: int | None = None) -> int:
        """Give up leases: one owner's (or one of its rows), or all of them (a lone poller
        starting after a crash)."""
        statement = update(InboxUpdate).where(InboxUpdate.lease_owner.is_not(None))
        if owner is not None:
            statement = statement.where(InboxUpdate.lease_owner == owner)
        if update_id is not None:
            statement = statement.where(InboxUpdate.update_id == update_id)
        result = await self.session.execute(statement.values(lease_owner=None,
                                                             lease_until=None))
        return int(getattr(result, "rowcount", 0) or 0)

    async def lease_owners(self) -> list[str]:
        """Who holds leases now (each process's owner id)."""
        rows = await self.session.execute(
            select(InboxUpdate.lease_owner).where(InboxUpdate.lease_owner.is_not(None))
            .distinct())
        return [str(owner) for owner in rows.scalars().all()]

    async def waiting(self) -> list[tuple[int, int]]:
        """Every stored update as (update id, chat id), oldest first."""
        rows = await self.session.execute(
            select(InboxUpdate.update_id, InboxUpdate.chat_id).order_by(InboxUpdate.update_id))
        return [(int(update_id), int(chat_id)) for update_id, chat_id in rows.all()]

    async def depth(self) -> int:
        """How many stored updates wait to be applied."""
        return int((await self.session.execute(
            select(func.count()).select_from(InboxUpdate))).scalar_one())


class ItemRepo:
    """Items and the actions that changed them.

    Every change to a line is one statement that reads and writes at once: an upsert on the
    open line's unique key (`uq_items_open_line`) or a conditional UPDATE … RETURNING. So two
    writers of one list never lose an amount or make a second open line of one thing, even
    where nothing else serializes them (PostgreSQL's READ COMMITTED re-checks an UPDATE's
    condition on the row's newest version).
    """

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, item_id: int) -> Item | None:
        return await self.session.get(Item, item_id, populate_existing=True)

    async def open_items(self, group_id: int, list_id: int = 0) -> Sequence[Item]:
        """The open lines of one list of a group (0: its default list)."""
        rows = await self.session.execute(_hot(self.session, "open_items"),
                                          {"group_id": group_id, "list_id": list_id})
        return rows.scalars().all()

    async def count_open(self, group_id: int, list_id: int | None = None) -> int:
        """Open lines of one list, or of all the group's lists (None)."""
        where = [Item.group_id == group_id, Item.status == ItemStatus.OPEN]
        if list_id is not None:
            where.append(Item.list_id == list_id)
        return int((await self.session.execute(
            select(func.count()).select_from(Item).where(*where))).scalar_one())

    async def open_line(self, group_id: int, concept: str, unit: str | None,
                        note_key: str, list_id: int = 0) -> Item | None:
        """The open line of one concept, unit and note (by its key), if the list has it."""
        rows = await self.session.execute(
            _hot(self.session, "open_line"),
            {"group_id": group_id, "list_id": list_id, "concept": concept,
             "unit_key": unit or "", "note_key": note_key})
        return rows.scalars().first()

    async def upsert(self, group_id: int, name: str, key: str, concept: str,
                     quantity: float | None, unit: str | None, note: str | None,
                     note_key: str, category: str, user_id: int,
                     list_id: int = 0) -> tuple[Item, bool]:
        """Add a line, or add to the open line of the same concept, unit and note.

        Amounts add up; an amount meets a line without one as that amount; no amount changes
        nothing. Returns the line and whether this call created it.
        """
        postgresql = _dialect(self.session) == "postgresql"
        # SQLite runs one writer at a time (BEGIN IMMEDIATE), so looking first is exact there;
        # PostgreSQL says itself whether the row is new (xmax = 0 on a fresh insert).
        existed = (None if postgresql
                   else await self.open_line(group_id, concept, unit, note_key, list_id))
        now = utcnow()
        values = {"group_id": group_id, "list_id": list_id, "name": name, "key": key,
                  "concept": concept, "quantity": quantity, "unit": unit,
                  "unit_key": unit or "", "note": note, "note_key": note_key,
                  "category": category, "status": ItemStatus.OPEN, "added_by": user_id,
                  "created_at": now, "updated_at": now}
        # Built once per dialect (`_hot`): its `excluded` alone cost more than the SQL.
        statement = _hot(self.session, "upsert_pg" if postgresql else "upsert_returning")
        if postgresql:
            row, fresh = (await self.session.execute(
                statement, values, execution_options={"populate_existing": True})).one()
            return row, bool(fresh)
        row = (await self.session.scalars(statement, values,
                                          execution_options={"populate_existing": True})).one()
        return row, existed is None

    async def _update(self, item_id: int, *where: Any, **values: Any) -> Item | None:
        return (await self.session.scalars(
            update(Item).where(Item.id == item_id, *where)
            .values(updated_at=utcnow(), **values).returning(Item),
            execution_options={"populate_existing": True})).first()

    async def add_amount(self, item_id: int, amount: float) -> Item | None:
        """Add to an open line's amount (an amount on a line without one becomes its
        amount); None when the line is no longer open."""
        return await self._update(
            item_id, Item.status == ItemStatus.OPEN,
            quantity=func.coalesce(Item.quantity + amount, amount, Item.quantity))

    async def subtract(self, item_id: int, amount: float, remove_when_none: bool
                       ) -> Item | None:
        """Take an amount back off an open line. What is left at zero or below is no amount
        at all; the line itself goes too when `remove_when_none` (the amount made it)."""
        left = Item.quantity - amount
        empty = Item.quantity.is_(None) | (left <= EPSILON)
        return await self._update(
            item_id, Item.status == ItemStatus.OPEN,
            quantity=case((empty, None), else_=left),
            status=case((empty, ItemStatus.REMOVED.value), else_=Item.status) if remove_when_none
            else Item.status)

    async def set_amount(self, item_id: int, quantity: float | None,
                         unit: str | None) -> Item | None:
        """Set an open line's amount and unit; None when it is no longer open, or when
        another open line already has that unit (the caller merges instead)."""
        try:
            async with self.session.begin_nested():
                return await self._update(item_id, Item.status == ItemStatus.OPEN,
                                          quantity=quantity, unit=unit, unit_key=unit or "")
        except IntegrityError:
            return None

    async def set_status(self, item_ids: Sequence[int], old: ItemStatus,
                         new: ItemStatus) -> list[Item]:
        """Move lines from one status to another; only those still in `old` move, and only
        those come back, so two people ticking one line record one change."""
        if not item_ids:
            return []
        rows = await self.session.scalars(
            update(Item).where(Item.id.in_(list(item_ids)), Item.status == old)
            .values(status=new, updated_at=utcnow()).returning(Item),
            execution_options={"populate_existing": True})
        return list(rows.all())

    async def reopen(self, item_id: int, old: ItemStatus) -> Item | None:
        """Put a bought or removed line back on the list; None when it is no longer `old`
        or when the list meanwhile has an open line of the same thing (merge into that)."""
        try:
            async with self.session.begin_nested():
                return await self._update(item_id, Item.status == old, status=ItemStatus.OPEN)
        except IntegrityError:
            return None

    async def record(self, group_id: int, user_id: int, kind: ActionKind, summary: list[Any],
                     undo: list[Any], list_id: int = 0) -> Action:
        action = Action(group_id=group_id, user_id=user_id, kind=kind, summary=summary,
                        undo=undo, created_at=utcnow(), list_id=list_id)
        self.session.add(action)
        await self.session.flush()
        return action

    async def action(self, action_id: int) -> Action | None:
        return await self.session.get(Action, action_id)

    async def last_undoable(self, group_id: int, user_id: int) -> Action | None:
        rows = await self.session.execute(
            select(Action).where(Action.group_id == group_id, Action.user_id == user_id,
                                 Action.undone_at.is_(None), Action.kind != ActionKind.UNDO)
            .order_by(Action.id.desc()).limit(1))
        return rows.scalar_one_or_none()

    async def changes_after(self, group_id: int, action_id: int) -> Sequence[Action]:
        """The changes made to a list after an action and not undone (undos themselves are
        not changes of their own)."""
        rows = await self.session.execute(
            select(Action).where(Action.group_id == group_id, Action.id > action_id,
                                 Action.undone_at.is_(None), Action.kind != ActionKind.UNDO)
            .order_by(Action.id))
        return rows.scalars().all()

    async def actions_after(self, group_id: int, after_id: int) -> Sequence[Action]:
        rows = await self.session.execute(
            select(Action).where(Action.group_id == group_id, Action.id > after_id)
            .order_by(Action.id))
        return rows.scalars().all()

    async def last_action_id(self, group_id: int) -> int:
        value = (await self.session.execute(
            select(func.max(Action.id)).where(Action.group_id == group_id))).scalar_one()
        return int(value or 0)

    async def ask(self, group_id: int, user_id: int, kind: QuestionKind,
                  payload: dict[str, Any]) -> ItemQuestion:
        """Keep a question about list lines until a button answers it."""
        question = ItemQuestion(group_id=group_id, user_id=user_id, kind=kind,
                                payload=payload, created_at=utcnow())
        self.session.add(question)
        await self.session.flush()
        return question

    async def question(self, question_id: int) -> ItemQuestion | None:
        return await self.session.get(ItemQuestion, question_id)


class RecipeRepo:
    """Recipe offers: ingredients shown with buttons, added when pressed."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def offer(self, group_id: int, title: str, items: list[Any]) -> RecipeOffer:
        offer = RecipeOffer(group_id=group_id, title=title[:200], items=items,
                            created_at=utcnow())
        self.session.add(offer)
        await self.session.flush()
        return offer

    async def get(self, offer_id: int) -> RecipeOffer | None:
        return await self.session.get(RecipeOffer, offer_id)


class InviteRepo:
    """Invite codes and join attempts."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def current(self, group_id: int, now: datetime) -> Invite | None:
        rows = await self.session.execute(
            select(Invite).where(Invite.group_id == group_id, Invite.revoked_at.is_(None))
            .order_by(Invite.id.desc()))
        for invite in rows.scalars():
            if as_utc(invite.expires_at) > now:
                return invite
        return None

    async def create(self, group_id: int, code: str, user_id: int, ttl: timedelta) -> Invite:
        now = utcnow()
        invite = Invite(group_id=group_id, code=code, created_by=user_id, created_at=now,
                        expires_at=now + ttl)
        self.session.add(invite)
        await self.session.flush()
        return invite

    async def by_code(self, code: str) -> Invite | None:
        return (await self.session.execute(
            select(Invite).where(Invite.code == code))).scalar_one_or_none()

    async def revoke_all(self, group_id: int) -> int:
        result = await self.session.execute(
            update(Invite).where(Invite.group_id == group_id, Invite.revoked_at.is_(None))
            .values(revoked_at=utcnow()))
        return int(getattr(result, "rowcount", 0) or 0)

    async def record_attempt(self, user_id: int, success: bool) -> None:
        self.session.add(JoinAttempt(user_id=user_id, attempted_at=utcnow(), success=success))
        await self.session.flush()

    async def failed_attempts_since(self, user_id: int, since: datetime) -> int:
        return int((await self.session.execute(
            select(func.count()).select_from(JoinAttempt)
            .where(JoinAttempt.user_id == user_id, JoinAttempt.success.is_(False),
                   JoinAttempt.attempted_at >= since))).scalar_one())


class LogRepo:
    """Processed updates, bug reports, routing statistics and fallback decisions."""

    def __init__(self, session: AsyncSession, batch: Batch | None = None) -> None:
        self.session = session
        self.applying: Applying | None = None
        # In a batch: the marks and rows this savepoint leaves for the batch's end.
        self.batch = batch
        self.marks: list[dict[str, Any]] = []
        self.routes: list[dict[str, Any]] = []

    async def claim_update(self, update_id: int) -> bool:
        """Mark an update as processed; False when it already was (a redelivery).

        When the inbox worker is applying this update (`APPLYING`), the commit of this
        transaction also finishes its inbox row. In a batch the mark is written at the
        batch's end, if this savepoint commits; whether the update was processed before was
        read for the whole batch (`Batch.start`)."""
        if self.batch is not None:
            if update_id in self.batch.processed or any(
                    mark["update_id"] == update_id for mark in self.marks):
                return False
            self.marks.append({"update_id": update_id, "processed_at": utcnow()})
            return True
        # One statement, race-free across processes: the second insert of an id is a no-op.
        result = await self.session.execute(
            _hot(self.session, "processed"), {"update_id": update_id, "processed_at": utcnow()})
        claimed = bool(getattr(result, "rowcount", 0))
        applying = APPLYING.get()
        if claimed and applying is not None and applying.update_id == update_id:
            self.applying = applying
        return claimed

    async def add_bug(self, group_id: int | None, chat_id: int, user_id: int,
                      text: str) -> BugReport:
        report = BugReport(group_id=group_id, chat_id=chat_id, user_id=user_id,
                           text=text[:4000], created_at=utcnow())
        self.session.add(report)
        await self.session.flush()
        return report

    async def log_route(self, source: str, intent: str, confidence: float) -> None:
        if self.batch is not None:
            self.routes.append({"source": source, "intent": intent, "confidence": confidence,
                                "created_at": utcnow()})
            return
        self.session.add(RouteLog(source=source, intent=intent, confidence=confidence,
                                  created_at=utcnow()))

    async def route_counts(self) -> dict[str, int]:
        rows = await self.session.execute(
            select(RouteLog.source, func.count()).group_by(RouteLog.source))
        return {source: int(count) for source, count in rows.all()}

    async def add_fallback(self, text: str, lang: str, top: list[Any], intents: list[Any],
                           source: str, group_id: int | None = None) -> None:
        self.session.add(FallbackDecision(text=text, lang=lang, top=top, intents=intents,
                                          source=source, created_at=utcnow(),
                                          group_id=group_id))

    async def fallbacks(self) -> Sequence[FallbackDecision]:
        rows = await self.session.execute(select(FallbackDecision).order_by(FallbackDecision.id))
        return rows.scalars().all()

    async def purge_fallbacks(self) -> int:
        rows = await self.fallbacks()
        for row in rows:
            await self.session.delete(row)
        return len(rows)


class UnitOfWork:
    """The repositories of one transaction; the caller commits, handlers never do.

    Inside a batch (`SHARED`) the transaction is a savepoint: `commit` releases it, and the
    batch's own commit makes it durable."""

    def __init__(self, session: AsyncSession, savepoint: AsyncSessionTransaction | None = None,
                 batch: Batch | None = None) -> None:
        self.session = session
        self.savepoint = savepoint
        self.batch = batch
        self.committed = False
        self.groups = GroupRepo(session, batch.held if batch is not None else None)
        self.items = ItemRepo(session)
        self.invites = InviteRepo(session)
        self.recipes = RecipeRepo(session)
        self.log = LogRepo(session, batch)
        self.inbox = InboxRepo(session)

    async def commit(self) -> None:
        if self.savepoint is not None:
            await self.savepoint.commit()
            self.committed = True
            if self.batch is not None:
                self.batch.marks.extend(self.log.marks)
                self.batch.processed.update(mark["update_id"] for mark in self.log.marks)
                self.batch.routes.extend(self.log.routes)
                self.log.marks, self.log.routes = [], []
            return
        applying = self.log.applying
        if applying is not None:
            applying.next_row = await self.inbox.finish(
                applying.update_id, applying.chat_id, applying.owner, applying.lease,
                claim_next=applying.claim_next)
        await self.session.commit()
        if applying is not None:
            applying.finished = True
            self.log.applying = None

    async def rollback(self) -> None:
        if self.savepoint is not None:
            if self.savepoint.is_active:
                await self.savepoint.rollback()
            return
        await self.session.rollback()


class UnitOfWorkFactory:
    """Opens one `UnitOfWork` (one session, one transaction) per use; inside a batch
    (`SHARED`), a savepoint of the batch's transaction instead."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker

    def __call__(self) -> _UowContext | _SavepointContext:
        batch = SHARED.get()
        if batch is not None:
            return _SavepointContext(batch)
        return _UowContext(self._sessionmaker)


class _SavepointContext:
    """A unit of work inside a batch's transaction: a savepoint, rolled back unless
    committed (as a transaction of its own would be). On leaving, the session forgets its
    rows, as a closed session would, so the next unit of work reads them again; on SQLite
    only after an error (`Batch`)."""

    def __init__(self, batch: Batch) -> None:
        self._batch = batch
        self._session = batch.session
        self._uow: UnitOfWork | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._uow = UnitOfWork(self._session, await self._session.begin_nested(), self._batch)
        return self._uow

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._uow is not None
        try:
            if not self._uow.committed:
                # The session expires what the savepoint changed and forgets what it added.
                await self._uow.rollback()
        finally:
            if exc_type is not None or self._batch.held is None:
                self._session.expunge_all()
                if self._batch.held is not None:
                    self._batch.held.clear()


class _UowContext:
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self._sessionmaker = sessionmaker
        self._session: AsyncSession | None = None

    async def __aenter__(self) -> UnitOfWork:
        self._session = self._sessionmaker()
        await self._session.begin()
        return UnitOfWork(self._session)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        assert self._session is not None
        if exc_type is not None:
            await self._session.rollback()
        await self._session.close()
