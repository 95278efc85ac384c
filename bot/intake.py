"""Durable intake: no update is confirmed to Telegram before it is stored.

Telegram forgets an update only when a later `getUpdates` offset confirms it, so the poller
stores each fetched batch in the database's inbox and commits *before* it asks for the next
offset. Workers then apply the stored rows: one chat's updates one after another, in update
id order, different chats side by side. A row leaves the inbox only after its update was
applied (the change and its processed update id commit together, so a row applied twice
changes nothing the second time). After a crash, whatever the inbox still holds is applied
on the next start, before anything new.

Claiming goes through the database (`InboxRepo.claim`), not process memory, so workers of
several processes can share one inbox: a chat's oldest row is leased by one worker at a
time and the rest of that chat waits behind it.

Long polling (`shopbot run`, one process per token) applies most of a fetched batch without
the inbox (`Intake(batch=True)`): in one transaction, in update id order, each update in a
savepoint of its own (db.store.SHARED), so one that fails rolls back alone. That commit is
what lets the next `getUpdates` confirm the batch, as the inbox's commit would; the
replies are sent after it (bot/outbox.py), each chat's in order, while the next batch is
applied. An update that may wait on something slow (an LLM, a web page, a question to
Telegram) is not applied in the batch but stored in the inbox by that same commit, and so is
every later update of its chat until the inbox worker has applied them all: a chat's order
holds across both ways. A batch that fails on the database is rolled back whole and stored
in the inbox instead, where each update is tried on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import socket
import uuid
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from telegram import Update
from telegram.constants import ChatType
from telegram.error import Conflict, InvalidToken, NetworkError, RetryAfter, TelegramError
from telegram.ext import Application

from bot.outbox import HELD, Sending, outbox_of
from db.engine import make_engine, make_sessionmaker
from db.store import (
    APPLYING,
    SHARED,
    Applying,
    Batch,
    InboxRow,
    UnitOfWorkFactory,
    is_transient,
    utcnow,
)
from handlers import ADMIN_CHECKED

__all__ = ["ALLOWED_UPDATES", "Intake", "serve_polling", "will_retry"]

log = logging.getLogger(__name__)

# `chat_member` comes only when asked for here (and only to a bot that is a group admin).
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member", "chat_member")
# How many times a row may be claimed before it is dropped with an error in the log. Every
# claim counts, a process killed while it held the row included: an update that brings the
# process down each time must not take the bot down for good. Kills of a healthy bot cost a
# row a claim or two, so the limit is generous.
MAX_ATTEMPTS = 20
# The longest wait before a failed update is tried again.
MAX_BACKOFF = 60.0
# Fetched updates kept parsed until applied, at most.
PARSED_LIMIT = 10_000
# A message that may make the bot wait on something slow is applied on its own, not in a
# batch: a link (a recipe page is fetched), a command that asks Telegram who administers the
# group, and, when an LLM is configured, what may be sent to it (bot/dispatch.py).
_LINK = re.compile(r"(?:https?://|www\.)\S", re.IGNORECASE)
_COMMAND = re.compile(r"^\s*/([A-Za-z_]+)")

AnyApplication = Application[Any, Any, Any, Any, Any, Any]
# bot_data keys: the attempt of each update being applied, and those to be tried again.
_ATTEMPTS = "inbox_attempts"
_RETRY = "inbox_retry"


def will_retry(app: AnyApplication, update: object, error: BaseException | None) -> bool:
    """Whether a failed update goes back to the inbox for another try, instead of ending
    with an apology: it came from the inbox, failed on the database in a way another try
    can get past (a lost connection, a lock, a deadlock), and has tries left. Its
    transaction was rolled back, so the next try starts clean."""
    update_id = getattr(update, "update_id", None)
    attempts = app.bot_data.get(_ATTEMPTS, {}).get(update_id)
    if attempts is None or attempts >= MAX_ATTEMPTS or error is None or not is_transient(error):
        return False
    app.bot_data.setdefault(_RETRY, set()).add(update_id)
    return True


def _chat_of(update: Update) -> int:
    chat = update.effective_chat
    return chat.id if chat is not None else 0


def inbox_row(update: Update) -> InboxRow:
    """The inbox row of a fetched update: its id, its chat (0 when it has none), its JSON."""
    chat = update.effective_chat
    return InboxRow(update.update_id, chat.id if chat is not None else 0,
                    json.dumps(update.to_dict(), ensure_ascii=False))


class Intake:
    """Fetches updates into the inbox and applies them through the PTB application.

    Args:
        app: the initialized application whose handlers apply an update.
        uow: units of work for claiming and finishing rows.
        store_uow: units of work for storing fetched updates; on SQLite a connection that
            syncs every commit to disk (`make_engine(durable=True)`).
        concurrency: chats applied at the same time in this process.
        lease: how long a claimed chat stays with this process before another may take
            it over (a crashed process's chats come back after this).
    """

    def __init__(self, app: AnyApplication, uow: UnitOfWorkFactory,
                 store_uow: UnitOfWorkFactory | None = None, *, concurrency: int = 32,
                 lease: timedelta = timedelta(minutes=5), idle: float = 2.0,
                 poll_timeout: int = 10, batch: bool = False, llm: bool = False) -> None:
        self.app = app
        self.uow = uow
        self.store_uow = store_uow or uow
        self.concurrency = concurrency
        self.lease = lease
        self.idle = idle
        self.poll_timeout = poll_timeout
        self.owner = f"{socket.gethostname()[:32]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.offset: int | None = None
        self._wake = asyncio.Event()
        # Updates this process fetched and stored, kept parsed until applied: the row's JSON
        # is for a restart, and parsing it again would only cost CPU.
        self._parsed: dict[int, Update] = {}
        self._stopping = False
        self._runners: set[asyncio.Task[None]] = set()
        # Long polling: fetched batches are applied in one transaction each (`apply_fetched`);
        # `llm`: messages the LLM may be asked about are applied on their own.
        self.batch = batch
        self.llm = llm
        # Chats with rows in the inbox, and those rows' update ids: their later updates are
        # stored behind them, never applied in a batch, until the inbox worker is done.
        self._held: dict[int, set[int]] = {}

    # ------------------------------------------------------------------ fetching

    async def store(self, updates: Sequence[Update]) -> None:
        """Store fetched updates durably, then move the offset past them.

        Only after the commit may the next `getUpdates` carry the new offset, which is what
        tells Telegram to forget them.
        """
        if not updates:
            return
        async with self.store_uow() as uow:
            await uow.inbox.store([inbox_row(update) for update in updates])
            await uow.commit()
        self._stored(updates)
        self.offset = max(update.update_id for update in updates) + 1

    def _stored(self, updates: Sequence[Update]) -> None:
        """Committed to the inbox: the inbox worker applies them (kept parsed for it)."""
        if not updates:
            return
        if len(self._parsed) > PARSED_LIMIT:
            self._parsed.clear()  # rows another process applied, or dropped ones
        self._parsed.update((update.update_id, update) for update in updates)
        if self.batch:
            for update in updates:
                self._held.setdefault(_chat_of(update), set()).add(update.update_id)
        self._wake.set()

    def _released(self, row: InboxRow) -> None:
        """A row left the inbox (applied, or dropped)."""
        ids = self._held.get(row.chat_id)
        if ids is not None:
            ids.discard(row.update_id)
            if not ids:
                del self._held[row.chat_id]

    def quick(self, update: Update) -> bool:
        """Whether an update can be applied in a batch: a text message whose handling waits
        on nothing but the database (see `_LINK`)."""
        message = update.message
        if message is None or message.text is None or update.effective_user is None:
            return False
        text = message.text
        if _LINK.search(text):
            return False
        command = _COMMAND.match(text)
        if command is not None and command.group(1).lower() in ADMIN_CHECKED:
            return False
        # Without an LLM nothing else waits; with one, what is addressed to the bot may.
        return not self.llm or (message.chat.type != ChatType.PRIVATE and "@" not in text
                                and message.reply_to_message is None)

    async def apply_fetched(self, updates: Sequence[Update]) -> None:
        """Apply a fetched batch in one transaction, then move the offset past it.

        Updates that are not `quick`, and every update of a chat that has rows in the inbox,
        are stored in the inbox by the same commit for the inbox worker. When the batch
        fails on the database it is rolled back and the whole of it is stored instead (an
        error there is raised: the batch stays unconfirmed and comes again).
        """
        if not updates:
            return
        held = set(self._held)
        quick: list[Update] = []
        stored: list[Update] = []
        for update in updates:
            chat = _chat_of(update)
            if chat in held or not self.quick(update):
                held.add(chat)
                stored.append(update)
            else:
                quick.append(update)
        sendings: list[tuple[int, Sending]] = []
        applied = False
        try:
            async with self.store_uow() as uow:
                if stored:
                    await uow.inbox.store([inbox_row(update) for update in stored])
                batch = Batch(uow.session)
                await batch.start([update.update_id for update in quick])
                if await self._apply_batch(batch, quick, sendings):
                    await batch.finish()
                    await uow.commit()
                    applied = True
        except Exception:
            log.exception("a fetched batch could not be applied; it is stored instead")
        if not applied:
            await self.store(updates)
            return
        self._stored(stored)
        self.offset = max(update.update_id for update in updates) + 1
        outbox_of(self.app.bot_data).queue(sendings)

    async def _apply_batch(self, batch: Batch, updates: Sequence[Update],
                           sendings: list[tuple[int, Sending]]) -> bool:
        """Apply updates in the session's transaction, one savepoint each; their sendings
        are kept in `sendings`. False when the batch must not commit: an update failed on
        the database in a way another try can get past, or the transaction is lost."""
        attempts: dict[int, int] = self.app.bot_data.setdefault(_ATTEMPTS, {})
        session = batch.session
        shared = SHARED.set(batch)
        held = HELD.set(sendings)
        try:
            for update in updates:
                attempts[update.update_id] = 1
                try:
                    await self.app.update_processor.process_update(
                        update, self.app.process_update(update))
                finally:
                    attempts.pop(update.update_id, None)
                retry: set[int] = self.app.bot_data.setdefault(_RETRY, set())
                if update.update_id in retry:
                    retry.discard(update.update_id)
                    return False
                transaction = session.sync_session.get_transaction()
                if transaction is None or not transaction.is_active:
                    log.warning("the batch's transaction was lost at update %s",
                                update.update_id)
                    return False
        finally:
            HELD.reset(held)
            SHARED.reset(shared)
        return True

    async def fetch_once(self, timeout: int | None = None) -> int:
        """One `getUpdates` call (confirming what was stored before it); the count stored."""
        updates = await self.app.bot.get_updates(
            offset=self.offset, timeout=self.poll_timeout if timeout is None else timeout,
            allowed_updates=list(ALLOWED_UPDATES))
        if self.batch:
            await self.apply_fetched(updates)
        else:
            await self.store(updates)
        return len(updates)

    async def poll(self) -> None:
        """Fetch until stopped; network trouble and database trouble back off and retry.

        A batch that could not be stored is not confirmed: the next call asks with the same
        offset and Telegram sends it again.
        """
        delay = 1.0
        while not self._stopping:
            try:
                await self.fetch_once()
                delay = 1.0
                continue
            except InvalidToken:
                raise
            except RetryAfter as error:
                wait = error.retry_after
                pause = wait.total_seconds() if isinstance(wait, timedelta) else float(wait)
            except Conflict as error:
                log.warning("another process polls with this token: %s", error)
                pause = delay
            except (NetworkError, TelegramError) as error:
                log.warning("getUpdates failed (%s); retrying in %.0f s", error, delay)
                pause = delay
            except Exception:
                log.exception("could not store fetched updates; they stay unconfirmed")
                pause = delay
            delay = min(delay * 2, 30.0)
            await asyncio.sleep(pause)

    # ------------------------------------------------------------------ applying

    async def _apply(self, row: InboxRow) -> Applying:
        """Apply one stored update. When its handler's transaction committed, that commit
        also removed the row and leased the chat's next one (`Applying.finished`)."""
        applying = Applying(row.update_id, row.chat_id, self.owner, self.lease,
                            claim_next=not self._stopping)
        if row.attempts > MAX_ATTEMPTS:
            log.error("update %s was taken %d times and never applied; dropped",
                      row.update_id, row.attempts - 1)
            self._parsed.pop(row.update_id, None)
            return applying
        update = (self._parsed.pop(row.update_id, None)
                  or Update.de_json(json.loads(row.payload), self.app.bot))
        attempts: dict[int, int] = self.app.bot_data.setdefault(_ATTEMPTS, {})
        attempts[row.update_id] = row.attempts
        token = APPLYING.set(applying)
        try:
            # The application's processor keeps chat order inside this process too, and
            # caps how many updates run at once; handler errors go to its error handler.
            await self.app.update_processor.process_update(update,
                                                           self.app.process_update(update))
        finally:
            APPLYING.reset(token)
            attempts.pop(row.update_id, None)
        return applying

    def _retrying(self, row: InboxRow) -> bool:
        retry: set[int] = self.app.bot_data.setdefault(_RETRY, set())
        if row.update_id not in retry:
            return False
        retry.discard(row.update_id)
        return True

    async def _run_chat(self, row: InboxRow | None) -> None:
        """Apply a chat's rows one after another while it has more and we are running."""
        try:
            while row is not None:
                applying = await self._apply(row)
                retrying = self._retrying(row)
                if applying.finished:
                    self._released(row)
                    # Applied and gone from the inbox in one commit; whatever failed after
                    # it (a reply not sent) is not applied again.
                    # Stopping: a next row it leased is given back when the run ends.
                    row = None if self._stopping else applying.next_row
                    continue
                if retrying:
                    # Back off (2, 4, 8 … 60 s); the chat's later updates wait behind it.
                    wait = min(2.0 ** row.attempts, MAX_BACKOFF)
                    async with self.uow() as uow:
                        await uow.inbox.postpone(row.update_id,
                                                 utcnow() + timedelta(seconds=wait))
                        await uow.commit()
                    return
                async with self.uow() as uow:
                    done = row
                    row = await uow.inbox.finish(row.update_id, row.chat_id, self.owner,
                                                 self.lease, claim_next=not self._stopping)
                    await uow.commit()
                self._released(done)
        except Exception:
            log.exception("applying stored update %s failed; it stays in the inbox",
                          row.update_id if row else None)
            if row is not None:
                # Handed back for another try (at most MAX_ATTEMPTS) instead of waiting
                # for the lease to run out.
                with contextlib.suppress(Exception):
                    await asyncio.sleep(1.0)
                    async with self.uow() as uow:
                        await uow.inbox.release(self.owner, row.update_id)
                        await uow.commit()
        finally:
            self._wake.set()  # a slot is free

    async def apply_pending(self) -> None:
        """Claim and apply until stopped (the worker loop)."""
        delay = 1.0
        while not self._stopping:
            self._wake.clear()
            free = self.concurrency - len(self._runners)
            rows: list[InboxRow] = []
            if free > 0:
                try:
                    async with self.uow() as uow:
                        rows = await uow.inbox.claim(self.owner, free, self.lease)
                        await uow.commit()
                    delay = 1.0
                except Exception:
                    log.exception("could not claim stored updates; retrying in %.0f s", delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 30.0)
                    continue
            for row in rows:
                task = asyncio.create_task(self._run_chat(row), name=f"inbox:{row.chat_id}")
                self._runners.add(task)
                task.add_done_callback(self._runners.discard)
            if rows and len(rows) == free:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.idle)

    def stop(self) -> None:
        """Stop fetching and claiming; chats in hand finish the update they are on."""
        self._stopping = True
        self._wake.set()

    # ------------------------------------------------------------------ lifecycle

    async def run(self, stop: asyncio.Event, *, sole_poller: bool = True) -> None:
        """Poll and apply until `stop` is set, then finish what is in hand.

        Args:
            sole_poller: this process is the only one using the inbox (long polling allows
                one poller per token), so leases left by a crashed run are released at once
                instead of after they expire.
        """
        if sole_poller:
            async with self.uow() as uow:
                released = await uow.inbox.release()
                waiting = await uow.inbox.waiting() if self.batch else []
                await uow.commit()
            if released:
                log.info("took back %d updates a stopped run had claimed", released)
            for update_id, chat_id in waiting:
                # A stopped run's rows first: their chats' new updates wait behind them.
                self._held.setdefault(chat_id, set()).add(update_id)
        worker = asyncio.create_task(self.apply_pending(), name="inbox:worker")
        poller = asyncio.create_task(self.poll(), name="inbox:poller")
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({poller, worker, stopped},
                                     return_when=asyncio.FIRST_COMPLETED)
        self.stop()
        poller.cancel()
        stopped.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await poller
        await worker
        if self._runners:
            await asyncio.wait(set(self._runners), timeout=30)
        await outbox_of(self.app.bot_data).drain(timeout=30)
        async with self.uow() as uow:
            await uow.inbox.release(self.owner)
            await uow.commit()
        for task in done:
            if task is not stopped and not task.cancelled() and task.exception():
                raise task.exception()  # type: ignore[misc]


async def serve_polling(app: AnyApplication, uow: UnitOfWorkFactory, database_url: str,
                        stop: asyncio.Event) -> None:
    """Long polling through the inbox until `stop` is set: the body of `shopbot run`."""
    durable = None
    store_uow = uow
    if database_url.startswith("sqlite"):
        durable = make_engine(database_url, durable=True)
        store_uow = UnitOfWorkFactory(make_sessionmaker(durable))
    try:
        async with app:
            # getUpdates refuses to work while a webhook is set.
            await app.bot.delete_webhook()
            if app.post_init is not None:
                await app.post_init(app)
            await app.start()
            # Imported here: bot.context reaches prometheus_client, which bot/serve.py
            # (importing this module) must configure first.
            from bot.context import SERVICES_KEY

            services = app.bot_data.get(SERVICES_KEY)
            settings = getattr(services, "settings", None)
            llm = settings is None or bool(settings.llm_configured
                                           or settings.llm_all_group_messages)
            try:
                await Intake(app, uow, store_uow, batch=True, llm=llm).run(stop)
            finally:
                await app.stop()
    finally:
        if durable is not None:
            await durable.dispose()
