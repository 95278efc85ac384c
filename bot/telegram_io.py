"""Telegram I/O: sending a rendered reply (cut to Telegram's length, buttons under the last
part, an edit in place when a pressed message is redrawn), the inline keyboard, a button
press's notice, retries on network errors, and asking Telegram about a chat member. Flood
limits are PTB's AIORateLimiter (bot/limits.py), which every request passes through.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, NetworkError, TelegramError, TimedOut
from telegram.ext import Application

from handlers.i18n import button_text, has_message, render
from handlers.reply import Reply

__all__ = ["MESSAGE_LIMIT", "file_url", "keyboard", "member_status", "send_reply",
           "split_message", "toast_text", "with_retries"]

log = logging.getLogger(__name__)

T = TypeVar("T")
# Telegram's limit on a message's text after entity parsing.
MESSAGE_LIMIT = 4096
# Telegram's limit on a callback query's notice (200), with room to spare.
TOAST_LIMIT = 190
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


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's buttons as Telegram's inline keyboard (labels in the reply's language)."""
    if not reply.buttons:
        return None
    return InlineKeyboardMarkup([
        [InlineKeyboardButton(button_text(b, reply.lang), callback_data=b.data[:64]) for b in row]
        for row in reply.buttons
    ])


async def send_reply(app: Application[Any, Any, Any, Any, Any, Any], chat_id: int,
                     reply: Reply, reply_to: int | None = None,
                     edit_message_id: int | None = None) -> None:
    """Render and send (or edit in place) one reply; a long one goes out in several parts,
    the buttons under the last."""
    body = render(reply)
    if not body:
        return
    markup = keyboard(reply)
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


async def member_status(app: Application[Any, Any, Any, Any, Any, Any], chat_id: int,
                         user_id: int) -> str | None:
    """The user's status in the chat, asked of Telegram now; None when it cannot say."""
    try:
        member = await with_retries(lambda: app.bot.get_chat_member(chat_id, user_id))
    except TelegramError as error:
        log.info("getChatMember %s in %s failed: %s", user_id, chat_id, error)
        return None
    return str(member.status)


def toast_text(reply: Reply) -> str | None:
    """A button press's notice: a message key, rendered with the reply's own parameters, or
    plain text such as the name of the item just ticked."""
    if not reply.toast:
        return None
    toast = (html.unescape(re.sub(r"<[^>]+>", "", render(replace(reply, key=reply.toast,
                                                                   before=()))))
             if has_message(reply.toast) else reply.toast)
    return toast[:TOAST_LIMIT]
