"""The Telegram side: PTB's Application, wired to the dispatcher. The bot's table of contents.

Handler order matters in one place: membership changes (the bot's own, then its members')
come first, then button presses, then service messages (joins, leaves, a move to a
supergroup), then text; edited messages are not matched at all, so an edit never runs a
request twice. Updates reach the application from the durable inbox (bot/intake.py).

The other jobs live beside it: Telegram I/O (sending, keyboards, retries) in bot/telegram_io.py,
a reply's effects in bot/effects.py, Update to Incoming in bot/updates.py, per-chat ordering in
bot/ordering.py, the command menu in bot/commands.py, digests in bot/digests.py.
"""

from __future__ import annotations

import functools
import html
import logging
from collections.abc import Awaitable
from dataclasses import replace
from typing import Any

from telegram import Message, Update, User
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    MessageHandler,
    filters,
)

from bot.commands import set_menus
from bot.context import CONTEXT_TYPES, SERVICES_KEY, BotContext
from bot.digests import TICK_SECONDS, send_due_digests
from bot.effects import carry_out
from bot.intake import will_retry
from bot.jobs import Ticker
from bot.limits import rate_limiter
from bot.ordering import ChatOrderedUpdateProcessor
from bot.outbox import outbox_of
from bot.services import Services
from bot.suggestions import TICK_SECONDS as SUGGEST_SECONDS
from bot.suggestions import send_due_suggestions
from bot.telegram_io import file_url, member_status, send_reply, toast_text, with_retries
from bot.updates import display_name, incoming_from_update, is_member, member_incoming
from bot.voice import seconds, voice_note
from db.store import UnitOfWork
from handlers.group import bot_added, bot_removed, chat_migrated, member_joined, member_left
from handlers.i18n import text
from handlers.reply import Effect, EffectKind, Reply
from router.types import ChatKind, Incoming

__all__ = ["build_application"]

log = logging.getLogger(__name__)


async def _membership(context: BotContext, update: Update, chat_id: int,
                      joined: list[User], left: list[User], title: str | None) -> None:
    """People joined or left a group chat: update the list's members, then say so once."""
    services = context.services
    people = [*joined, *left]
    if not people:
        return
    first = member_incoming(update, chat_id, people[0], title)

    async def work(uow: UnitOfWork) -> tuple[Reply | None, None]:
        replies: list[Reply] = []
        for user in joined:
            replies.append(await member_joined(uow, member_incoming(update, chat_id, user,
                                                                    title)))
        for user in left:
            replies.append(await member_left(uow, chat_id, user.id, display_name(user),
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
        await carry_out(context.application, services, outcome)


async def on_chat_member(update: Update, context: BotContext) -> None:
    """Someone joined or left a group chat (sent to a bot that is an admin there)."""
    change = update.chat_member
    if change is None or change.new_chat_member.user.is_bot:
        return
    was, now = is_member(change)
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
    reply = outcome.reply
    if reply is None:
        return
    app = context.application

    async def sending() -> None:
        await send_reply(app, incoming.chat_id, reply, reply_to=incoming.message_id)
        await carry_out(app, services, outcome)

    # In the chat's order; inside a fetched batch, once the batch has committed.
    await outbox_of(app.bot_data).send(incoming.chat_id, sending)


async def on_voice(update: Update, context: BotContext) -> None:
    """A voice note: transcribed and handled like the same words typed (bot/voice.py)."""
    services = context.services
    message = update.effective_message
    incoming = incoming_from_update(update, context.bot.id, context.bot.username or "")
    if message is None or message.voice is None or incoming is None:
        return
    voice = message.voice

    async def download() -> bytearray:
        file = await context.bot.get_file(voice.file_id)
        return await file.download_as_bytearray()

    outcome = await voice_note(services.settings, services.dispatcher, incoming, download,
                               seconds(voice), voice.file_size, voice.mime_type)
    if outcome.reply is None:
        return
    await send_reply(context.application, incoming.chat_id, outcome.reply,
                     reply_to=incoming.message_id)
    await carry_out(context.application, services, outcome)


async def on_button(update: Update, context: BotContext) -> None:
    """A press on one of the bot's inline buttons."""
    services = context.services
    query = update.callback_query
    incoming = incoming_from_update(update, context.bot.id, context.bot.username or "")
    if query is None or incoming is None:
        return
    outcome = await services.dispatcher.handle_button(incoming, query.data or "")
    reply = outcome.reply
    toast = toast_text(reply) if reply is not None else None
    try:
        await with_retries(lambda: query.answer(toast))
    except BadRequest as error:
        log.info("callback answer failed: %s", error)
    if reply is not None and reply.key is not None and isinstance(query.message, Message):
        await send_reply(context.application, incoming.chat_id, reply,
                         edit_message_id=query.message.message_id if reply.edit else None,
                         reply_to=None)
    await carry_out(context.application, services, outcome)


async def on_my_chat_member(update: Update, context: BotContext) -> None:
    """The bot was added to a group: greet it, which also creates its list. Removed from
    one: nothing is sent there any more."""
    change = update.my_chat_member
    if change is None or change.chat.type == ChatType.PRIVATE:
        return
    was, now = is_member(change)
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
        chat_id = update.effective_chat.id
        bot = context.bot

        async def apology() -> None:
            try:
                await bot.send_message(chat_id, text("error_apology", lang))
            except Exception:
                log.warning("could not apologise in chat %s", chat_id)

        # After the chat's earlier replies (in a fetched batch, they wait for its commit).
        await outbox_of(context.application.bot_data).send(chat_id, apology)


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    services = app.bot_data[SERVICES_KEY]
    assert isinstance(services, Services)
    # Known once the bot has met Telegram: commands for other bots are then ignored.
    services.dispatcher.bot_username = app.bot.username
    await set_menus(app.bot)


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
    services.dispatcher.member_status = functools.partial(member_status, app)
    # Debounce: a group's digest is due this long after its latest change. The schedule
    # lives in the database; every process's digest tick claims what is due (bot/digests.py).
    services.dispatcher.digest_delay = settings.digest_delay
    if app.job_queue is not None:
        # Digests due in the database, claimed by one process (one tick at a time in each).
        app.job_queue.run_repeating(
            Ticker(send_due_digests, services.uow, functools.partial(send_reply, app),
                   "claiming due digests"),
            interval=TICK_SECONDS, first=TICK_SECONDS, name="digests",
            job_kwargs={"max_instances": 2, "coalesce": True, "misfire_grace_time": None})
        # Suggestions from habit, claimed the same way (bot/suggestions.py).
        app.job_queue.run_repeating(
            Ticker(send_due_suggestions, services.uow, functools.partial(send_reply, app),
                   "looking for due suggestions"),
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
