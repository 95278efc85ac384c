"""A committed reply's effects, carried out after its transaction: a notice for another chat,
a file (an export), the admin's copy of a bug report. (A changed list's digest was scheduled
in the change's own transaction, bot/dispatch.py; bot/digests.py sends it.)"""

from __future__ import annotations

import html
import logging
from typing import Any

from telegram.constants import ParseMode
from telegram.error import BadRequest, Forbidden, NetworkError
from telegram.ext import Application

from bot.context import SERVICES_KEY
from bot.dispatch import Outcome
from bot.services import Services
from bot.telegram_io import send_reply, with_retries
from handlers.group import bot_removed
from handlers.reply import Effect, EffectKind, Reply

__all__ = ["carry_out"]

log = logging.getLogger(__name__)


async def carry_out(app: Application[Any, Any, Any, Any, Any, Any], services: Services,
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
