"""The Telegram side: PTB's Application, wired to the dispatcher. The bot's table of contents.

Handler order matters in one place: membership changes (the bot's own, then its members')
come first, then button presses, then service messages (joins, leaves, a move to a
supergroup), then text; edited messages are not matched at all, so an edit never runs a
request twice. Updates reach the application from the durable inbox (bot/intake.py).
"""

from __future__ import annotations

import asyncio
import functools
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any, TypeVar

from telegram import (
    BotCommand,
    BotCommandScopeDefault,
    ChatMember,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
    User,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import (
    BadRequest,
    Forbidden,
    NetworkError,
    TelegramError,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseUpdateProcessor,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.context import CONTEXT_TYPES, SERVICES_KEY, BotContext
from bot.digests import TICK_SECONDS, DigestTicker
from bot.dispatch import COMMANDS, Outcome
from bot.intake import will_retry
from bot.limits import rate_limiter
from bot.metrics import UPDATE_SECONDS, UPDATES, update_kind
from bot.services import Services
from bot.suggestions import TICK_SECONDS as SUGGEST_SECONDS
from bot.suggestions import SuggestionTicker
from bot.voice import Hearing, heard_reply, listen, seconds
from db.store import UnitOfWork, as_utc, utcnow
from handlers.group import bot_added, bot_removed, chat_migrated, member_joined, member_left
from handlers.i18n import LANGUAGES, button_text, has_message, render, text
from handlers.reply import Effect, EffectKind, Reply
from router.normalize import detect_language
from router.types import ChatKind, Incoming

__all__ = ["build_application", "incoming_from_update", "send_reply"]

log = logging.getLogger(__name__)

T = TypeVar("T")
# A message older than this is treated like a forward: destructive intents ask first.
STALE_AFTER = timedelta(hours=1)
# Telegram's limit on a message's text after entity parsing.
MESSAGE_LIMIT = 4096
_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)[^>]*>")

async def with_retries(call: Callable[[], Awaitable[T]], attempts: int = 4) -> T:
    """Call the Bot API, backing off on network errors. Flood limits and 429s are the
    rate limiter's (bot/limits.py), which every request passes through."""
    delay = 0.5
    for attempt in range(attempts):
        try:
            return await call()
        except (TimedOut, NetworkError) as error:
            if isinstance(error, BadRequest) or attempt == attempts - 1:
                raise
            await asyncio.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


class ChatOrderedUpdateProcessor(BaseUpdateProcessor):
    """Updates of different chats run concurrently; one chat's updates run in order.

    "add milk" then "remove milk" must never swap, but one family's SQLite commit or
    Telegram round trip should not hold up another family.
    """

    def __init__(self, max_concurrent_updates: int = 32) -> None:
        super().__init__(max_concurrent_updates)
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        key = chat.id if chat is not None else 0
        lock = self._locks.setdefault(key, asyncio.Lock())
        self._waiting[key] = self._waiting.get(key, 0) + 1
        try:
            async with lock:
                kind = update_kind(update)
                with UPDATE_SECONDS.labels(kind).time():
                    await coroutine
                UPDATES.labels(kind).inc()
        finally:
            self._waiting[key] -= 1
            if not self._waiting[key]:
                del self._waiting[key]
                self._locks.pop(key, None)

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None


def _visible_length(body: str) -> int:
    """A message's length as Telegram counts it: text without tags, in UTF-16 units."""
    return len(html.unescape(_TAG.sub("", body)).encode("utf-16-le")) // 2


def split_message(body: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Telegram HTML cut at line ends into messages of at most `limit` characters each.

    A tag open at a cut is closed at the end of one part and opened again at the start of
    the next, so every part parses on its own; a single line longer than a message is cut
    inside, as plain text.
    """
    if _visible_length(body) <= limit:
        return [body]
    parts: list[str] = []
    lines: list[str] = []
    size = 0
    open_tags: list[tuple[str, str]] = []  # (name, the opening tag as written)

    def flush() -> None:
        nonlocal lines, size
        if lines:
            closing = "".join(f"</{name}>" for name, _ in reversed(open_tags))
            parts.append("\n".join(lines) + closing)
        lines = ["".join(tag for _, tag in open_tags)] if open_tags else []
        size = 0

    for line in body.split("\n"):
        length = _visible_length(line) + 1
        if length > limit:
            flush()
            plain = html.unescape(_TAG.sub("", line))
            parts.extend(html.escape(plain[start:start + limit - 1], quote=False)
                         for start in range(0, len(plain), limit - 1))
            continue
        if size + length > limit and any(part.strip() for part in lines):
            flush()
        lines.append(line)
        size += length
        for match in _TAG.finditer(line):
            if match.group(1):
                if open_tags and open_tags[-1][0] == match.group(2).lower():
                    open_tags.pop()
            else:
                open_tags.append((match.group(2).lower(), match.group(0)))
    if any(part.strip() for part in lines):
        parts.append("\n".join(lines))
    return [part for part in parts if part.strip()]


def _keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(button_text(b, reply.lang), callback_data=b.data[:64]) for b in row]
        for row in reply.buttons
    ])


def incoming_from_update(update: Update, bot_id: int, bot_username: str) -> Incoming | None:
    """The plain `Incoming` of a message or button press; None for anything else."""
    message = update.effective_message
    chat = update.effective_chat
    user = update.effective_user
    if message is None or chat is None or user is None:
        return None
    query = update.callback_query
    text_value = ""
    if query is not None:
        # A press on "did you mean": the message the bot answered carries the user's words.
        replied = message.reply_to_message if isinstance(message, Message) else None
        text_value = (replied.text or "") if replied is not None else ""
    else:
        text_value = message.text or ""
    mention = f"@{bot_username}".lower() if bot_username else None
    addressed = chat.type == ChatType.PRIVATE
    if mention and mention in text_value.lower():
        addressed = True
        text_value = re.sub(re.escape(mention), " ", text_value, flags=re.IGNORECASE).strip()
    if query is None and message.reply_to_message is not None:
        author = message.reply_to_message.from_user
        addressed = addressed or (author is not None and author.id == bot_id)
    old = message.date is not None and utcnow() - as_utc(message.date) > STALE_AFTER
    forwarded = query is None and (getattr(message, "forward_origin", None) is not None or old)
    name = " ".join(part for part in (user.first_name, user.last_name) if part) or (
        user.username or str(user.id))
    return Incoming(
        chat_id=chat.id,
        user_id=user.id,
        text=text_value,
        chat_kind=ChatKind.PRIVATE if chat.type == ChatType.PRIVATE else ChatKind.GROUP,
        user_name=name,
        language_hint=user.language_code,
        update_id=update.update_id,
        message_id=message.message_id,
        addressed=addressed or query is not None,
        forwarded=forwarded,
        chat_title=chat.title,
    )


async def send_reply(app: Application[Any, Any, Any, Any, Any, Any], chat_id: int,
                     reply: Reply, reply_to: int | None = None,
                     edit_message_id: int | None = None) -> None:
    """Render and send (or edit in place) one reply; a long one goes out in several parts,
    the buttons under the last."""
    body = render(reply)
    if not body:
        return
    markup = _keyboard(reply)
    parts = split_message(body)
    if len(parts) > 1:
        # A list too long for one message cannot replace the one whose button was pressed:
        # it is sent again, whole, in parts.
        for number, part in enumerate(parts):
            last = number == len(parts) - 1
            parameters = (ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                          if reply_to is not None and number == 0 else None)
            await with_retries(lambda part=part, last=last, parameters=parameters:  # type: ignore[misc]
                               app.bot.send_message(chat_id, part, parse_mode=ParseMode.HTML,
                                                    reply_markup=markup if last else None,
                                                    reply_parameters=parameters))
        return
    if edit_message_id is not None:
        try:
            await with_retries(lambda: app.bot.edit_message_text(
                body, chat_id=chat_id, message_id=edit_message_id, parse_mode=ParseMode.HTML,
                reply_markup=markup))
            return
        except BadRequest as error:
            if "not modified" in str(error).lower():
                return
            log.warning("edit failed (%s); sending a new message", error)
    parameters = (ReplyParameters(message_id=reply_to, allow_sending_without_reply=True)
                  if reply_to is not None else None)
    await with_retries(lambda: app.bot.send_message(
        chat_id, body, parse_mode=ParseMode.HTML, reply_markup=markup,
        reply_parameters=parameters))


def file_url(api_url: str) -> str:
    """Where files are downloaded from, beside the Bot API URL: `…/bot` serves methods and
    `…/file/bot` files, on api.telegram.org and on a local Bot API server alike."""
    return api_url.removesuffix("/bot") + "/file/bot" if api_url.endswith("/bot") \
        else "https://api.telegram.org/file/bot"


async def _after(app: Application[Any, Any, Any, Any, Any, Any], services: Services,
                 outcome: Outcome) -> None:
    """Carry out a committed reply's effects: notices, the admin's copy of a bug report.
    (A changed list's digest was scheduled in the change's own transaction, bot/dispatch.py.)"""
    if outcome.reply is None:
        return
    for effect in outcome.reply.effects:
        if effect.kind is EffectKind.NOTICE:
            await _notice(app, effect)
        elif effect.kind is EffectKind.DOCUMENT:
            await _document(app, effect)
        elif effect.kind is EffectKind.FORWARD_BUG and services.settings.admin_chat_id:
            payload = effect.payload
            note = (f"🐞 #{payload['id']} from {html.escape(str(payload['user']))} "
                    f"({payload['user_id']}, chat {payload['chat_id']}):\n"
                    f"{html.escape(str(payload['text']))}")
            try:
                await with_retries(lambda note=note: app.bot.send_message(  # type: ignore[misc]
                    services.settings.admin_chat_id, note, parse_mode=ParseMode.HTML))
            except (Forbidden, BadRequest, NetworkError) as error:
                log.warning("could not forward bug #%s: %s", payload["id"], error)


async def _document(app: Application[Any, Any, Any, Any, Any, Any], effect: Effect) -> None:
    """A file for the chat (an export); a chat that refuses it is skipped."""
    payload = effect.payload
    try:
        await with_retries(lambda: app.bot.send_document(
            int(payload["chat_id"]), bytes(payload["content"]),
            filename=str(payload["filename"])))
    except (Forbidden, BadRequest) as error:
        log.info("document %s not sent to chat %s: %s", payload["filename"],
                 payload["chat_id"], error)


async def _notice(app: Application[Any, Any, Any, Any, Any, Any], effect: Effect) -> None:
    """A line for another chat (a member joined or left); a chat that refuses is skipped."""
    reply = effect.payload["reply"]
    assert isinstance(reply, Reply)
    chat_id = int(effect.payload["chat_id"])
    try:
        await send_reply(app, chat_id, reply)
    except (Forbidden, BadRequest) as error:
        log.info("notice to chat %s not sent: %s", chat_id, error)
        services = app.bot_data.get(SERVICES_KEY)
        if isinstance(error, Forbidden) and chat_id < 0 and isinstance(services, Services):
            # The bot is no longer in that group (its removal may not have reached us):
            # nothing more is sent there.
            async with services.uow() as uow:
                await bot_removed(uow, chat_id)
                await uow.commit()


async def _member_status(app: Application[Any, Any, Any, Any, Any, Any], chat_id: int,
                         user_id: int) -> str | None:
    """The user's status in the chat, asked of Telegram now; None when it cannot say."""
    try:
        member = await with_retries(lambda: app.bot.get_chat_member(chat_id, user_id))
    except TelegramError as error:
        log.info("getChatMember %s in %s failed: %s", user_id, chat_id, error)
        return None
    return str(member.status)


def _name(user: User) -> str:
    return user.full_name or user.username or str(user.id)


def _member_incoming(update: Update, chat_id: int, user: User,
                     title: str | None) -> Incoming:
    """A membership change as the handlers see it: the member speaking, saying nothing."""
    return Incoming(chat_id=chat_id, user_id=user.id, text="", chat_kind=ChatKind.GROUP,
                    user_name=_name(user), language_hint=user.language_code,
                    update_id=update.update_id, addressed=False, chat_title=title)


def _is_member(change: ChatMemberUpdated) -> tuple[bool, bool]:
    """Whether the user was, and is, in the chat (a restricted user may be either)."""
    def inside(member: ChatMember) -> bool:
        if member.status == ChatMember.RESTRICTED:
            return bool(getattr(member, "is_member", False))
        return member.status in (ChatMember.OWNER, ChatMember.ADMINISTRATOR, ChatMember.MEMBER)
    return inside(change.old_chat_member), inside(change.new_chat_member)


async def _membership(context: BotContext, update: Update, chat_id: int,
                      joined: list[User], left: list[User], title: str | None) -> None:
    """People joined or left a group chat: update the list's members, then say so once."""
    services = context.services
    people = [*joined, *left]
    if not people:
        return
    first = _member_incoming(update, chat_id, people[0], title)

    async def work(uow: UnitOfWork) -> tuple[Reply | None, None]:
        replies: list[Reply] = []
        for user in joined:
            replies.append(await member_joined(uow, _member_incoming(update, chat_id, user,
                                                                     title)))
        for user in left:
            replies.append(await member_left(uow, chat_id, user.id, _name(user),
                                             (user.language_code or "he")[:2]))
        spoken = [reply for reply in replies if reply.key is not None]
        effects = tuple(effect for reply in replies for effect in reply.effects)
        # One update, one reply: further lines for this chat go out as notices.
        extra = tuple(Effect(EffectKind.NOTICE, {"chat_id": chat_id, "reply": reply})
                      for reply in spoken[1:])
        if not spoken:
            return Reply(None, replies[0].lang, effects=effects), None
        return replace(spoken[0], effects=(*effects, *extra)), None

    outcome = await services.dispatcher.run(first, work)
    if outcome.reply is not None:
        await send_reply(context.application, chat_id, outcome.reply)
        await _after(context.application, services, outcome)


async def on_chat_member(update: Update, context: BotContext) -> None:
    """Someone joined or left a group chat (sent to a bot that is an admin there)."""
    change = update.chat_member
    if change is None or change.new_chat_member.user.is_bot:
        return
    was, now = _is_member(change)
    if was == now:
        return
    user = change.new_chat_member.user
    await _membership(context, update, change.chat.id, [user] if now else [],
                      [] if now else [user], change.chat.title)


async def on_service_message(update: Update, context: BotContext) -> None:
    """Join and leave service messages (any bot gets these), and a move to a supergroup."""
    message = update.effective_message
    if message is None:
        return
    chat = message.chat
    if message.migrate_to_chat_id or message.migrate_from_chat_id:
        old, new = ((chat.id, message.migrate_to_chat_id) if message.migrate_to_chat_id
                    else (message.migrate_from_chat_id, chat.id))
        assert old is not None and new is not None
        incoming = Incoming(chat_id=chat.id, user_id=0, text="", chat_kind=ChatKind.GROUP,
                            update_id=update.update_id)
        await context.services.dispatcher.run(
            incoming, lambda uow: _silent(chat_migrated(uow, old, new)))
        return
    bot_id = context.bot.id
    if message.left_chat_member is not None and message.left_chat_member.id == bot_id:
        await _bot_left(context, update, chat.id)
        return
    joined = [user for user in message.new_chat_members or () if user.id != bot_id]
    left = ([message.left_chat_member] if message.left_chat_member is not None
            and not message.left_chat_member.is_bot else [])
    await _membership(context, update, chat.id, joined, left, chat.title)


async def _silent(awaitable: Awaitable[Reply]) -> tuple[Reply | None, None]:
    await awaitable
    return None, None


async def _bot_left(context: BotContext, update: Update, chat_id: int) -> None:
    incoming = Incoming(chat_id=chat_id, user_id=0, text="", chat_kind=ChatKind.GROUP,
                        update_id=update.update_id)
    await context.services.dispatcher.run(incoming,
                                            lambda uow: _silent(bot_removed(uow, chat_id)))


async def on_message(update: Update, context: BotContext) -> None:
    """Every new text message and command."""
    services = context.services
    incoming = incoming_from_update(update, context.bot.id, context.bot.username or "")
    if incoming is None:
        return
    outcome = await services.dispatcher.handle_message(incoming)
    if outcome.reply is None:
        return
    await send_reply(context.application, incoming.chat_id, outcome.reply,
                     reply_to=incoming.message_id)
    await _after(context.application, services, outcome)


async def on_voice(update: Update, context: BotContext) -> None:
    """A voice note: transcribed (bot/voice.py), then handled like the same words typed; the
    reply quotes what was heard. Why it was not heard is said only where the bot was spoken
    to (a private chat, a reply to the bot): family voice notes in a group are not for it."""
    services = context.services
    message = update.effective_message
    incoming = incoming_from_update(update, context.bot.id, context.bot.username or "")
    if message is None or message.voice is None or incoming is None:
        return
    voice = message.voice

    async def download() -> bytearray:
        file = await context.bot.get_file(voice.file_id)
        return await file.download_as_bytearray()

    heard = await listen(services.settings, download, seconds(voice), voice.file_size,
                         voice.mime_type)
    if heard.outcome is not Hearing.HEARD:
        if incoming.addressed:
            lang = detect_language("", incoming.language_hint)
            await send_reply(context.application, incoming.chat_id,
                             Reply(heard.outcome.value, lang,
                                   {"seconds": services.settings.stt_max_seconds}),
                             reply_to=incoming.message_id)
        return
    outcome = await services.dispatcher.handle_message(replace(incoming, text=heard.text))
    if outcome.reply is None:
        return
    await send_reply(context.application, incoming.chat_id,
                     heard_reply(outcome.reply, heard.text), reply_to=incoming.message_id)
    await _after(context.application, services, outcome)


async def on_button(update: Update, context: BotContext) -> None:
    """A press on one of the bot's inline buttons."""
    services = context.services
    query = update.callback_query
    incoming = incoming_from_update(update, context.bot.id, context.bot.username or "")
    if query is None or incoming is None:
        return
    outcome = await services.dispatcher.handle_button(incoming, query.data or "")
    reply = outcome.reply
    toast = None
    if reply is not None and reply.toast:
        # A toast is a message key (rendered with the reply's own parameters) or plain text
        # such as the name of the item just ticked.
        toast = (html.unescape(re.sub(r"<[^>]+>", "", render(replace(reply, key=reply.toast))))
                 if has_message(reply.toast) else reply.toast)
    try:
        await with_retries(lambda: query.answer(toast[:190] if toast else None))
    except BadRequest as error:
        log.info("callback answer failed: %s", error)
    if reply is not None and reply.key is not None and isinstance(query.message, Message):
        await send_reply(context.application, incoming.chat_id, reply,
                         edit_message_id=query.message.message_id if reply.edit else None,
                         reply_to=None)
    await _after(context.application, services, outcome)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """The bot was added to a group: greet it, which also creates its list. Removed from
    one: nothing is sent there any more."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return
    was, now = _is_member(change)
    if was and not now:
        await _bot_left(context, update, change.chat.id)
        return
    if was or not now:
        return
    services = context.services
    async with services.uow() as uow:
        await bot_added(uow, change.chat.id)
        await uow.commit()
    language = change.from_user.language_code if change.from_user else None
    incoming = Incoming(chat_id=change.chat.id, user_id=change.from_user.id,
                        text="/start", chat_kind=ChatKind.GROUP,
                        user_name=change.from_user.full_name, language_hint=language,
                        update_id=update.update_id, addressed=True, chat_title=change.chat.title)
    outcome = await services.dispatcher.handle_message(incoming)
    if outcome.reply is not None:
        await send_reply(context.application, change.chat.id, outcome.reply)
        await send_reply(context.application, change.chat.id,
                         Reply("help", outcome.reply.lang))


async def on_error(update: object, context: BotContext) -> None:
    """Log with the update id, tell the admin chat, apologise briefly in the user's chat."""
    update_id = update.update_id if isinstance(update, Update) else None
    if will_retry(context.application, update, context.error):
        # Nothing was changed and the update stays in the inbox: no apology yet.
        log.warning("update %s failed on the database (%s); it will be tried again",
                    update_id, type(context.error).__name__)
        return
    log.error("update %s failed", update_id, exc_info=context.error)
    services = context.application.bot_data.get(SERVICES_KEY)
    if isinstance(services, Services) and services.settings.admin_chat_id:
        try:
            await context.bot.send_message(
                services.settings.admin_chat_id,
                f"⚠️ update {update_id}: {html.escape(repr(context.error))[:3000]}")
        except Exception:
            log.warning("could not tell the admin chat")
    if isinstance(update, Update) and update.effective_chat is not None:
        lang = "he"
        if update.effective_user and update.effective_user.language_code:
            lang = update.effective_user.language_code[:2]
        try:
            await context.bot.send_message(update.effective_chat.id,
                                           text("error_apology", lang))
        except Exception:
            log.warning("could not apologise in chat %s", update.effective_chat.id)


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = app.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    # Known once the bot has met Telegram: commands for other bots are then ignored.
    services.dispatcher.bot_username = app.bot.username
    for language in LANGUAGES:
        commands = [BotCommand(name, text(f"command.{name}", language)) for name in COMMANDS]
        # English is the menu for every language without its own.
        code = None if language == "en" else language
        await with_retries(functools.partial(
            app.bot.set_my_commands, commands, scope=BotCommandScopeDefault(), language_code=code))


def build_application(services: Services) -> Application[Any, Any, Any, Any, Any, Any]:
    """The PTB application: one wiring place for every handler."""
    settings = services.settings
    app = (
        ApplicationBuilder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(file_url(settings.telegram_api_url))
        .post_init(_post_init)
        .context_types(CONTEXT_TYPES)
        .concurrent_updates(ChatOrderedUpdateProcessor())
        .rate_limiter(rate_limiter(settings.rate_limit, settings.workers))
        # Updates come from the durable inbox (bot/intake.py), never from PTB's Updater,
        # which confirms a batch to Telegram before it is processed.
        .updater(None)
        .build()
    )
    app.bot_data[SERVICES_KEY] = services
    services.dispatcher.member_status = functools.partial(_member_status, app)
    # Debounce: a group's digest is due this long after its latest change. The schedule
    # lives in the database; every process's digest tick claims what is due (bot/digests.py).
    services.dispatcher.digest_delay = settings.digest_delay
    if app.job_queue is not None:
        # Digests due in the database, claimed by one process (one tick at a time in each).
        app.job_queue.run_repeating(
            DigestTicker(services.uow, functools.partial(send_reply, app)),
            interval=TICK_SECONDS, first=TICK_SECONDS, name="digests",
            job_kwargs={"max_instances": 2, "coalesce": True, "misfire_grace_time": None})
        # Suggestions from habit, claimed the same way (bot/suggestions.py).
        app.job_queue.run_repeating(
            SuggestionTicker(services.uow, functools.partial(send_reply, app)),
            interval=SUGGEST_SECONDS, first=SUGGEST_SECONDS, name="suggestions",
            job_kwargs={"max_instances": 2, "coalesce": True, "misfire_grace_time": None})
    app.add_handler(ChatMemberHandler(on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))
    app.add_handler(ChatMemberHandler(on_chat_member, ChatMemberHandler.CHAT_MEMBER))
    app.add_handler(CallbackQueryHandler(on_button))
    app.add_handler(MessageHandler(
        filters.UpdateType.MESSAGE & (filters.StatusUpdate.NEW_CHAT_MEMBERS
                                      | filters.StatusUpdate.LEFT_CHAT_MEMBER
                                      | filters.StatusUpdate.MIGRATE), on_service_message))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.TEXT, on_message))
    app.add_handler(MessageHandler(filters.UpdateType.MESSAGE & filters.VOICE, on_voice))
    app.add_error_handler(on_error)
    return app

