"""Voice notes: fetched from Telegram, transcribed by an OpenAI-compatible endpoint, and then
handled like the same words typed.

Transcription is a POST of the audio to `<SHOPBOT_STT_BASE_URL>/audio/transcriptions`
(OpenAI's API; whisper.cpp's server, faster-whisper servers and vLLM speak it too), sent only
when an endpoint or key is configured. A note longer or larger than the limits is refused
from what Telegram says of it, before anything is downloaded; the download and the
transcription together must finish within `SHOPBOT_STT_TIMEOUT`. The API key travels only in
the Authorization header and is never logged (bot/logs.py also masks it).
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from typing import Any
from urllib.parse import urlsplit

import httpx
from telegram import Voice
from telegram.error import TelegramError
from telegram.warnings import PTBDeprecationWarning

from bot.dispatch import Dispatcher, Outcome
from bot.settings import Settings
from handlers.reply import Reply
from router.normalize import detect_language
from router.types import Incoming

__all__ = ["Heard", "Hearing", "SttError", "endpoint", "heard_reply", "listen", "seconds",
           "transcribe", "voice_note"]

log = logging.getLogger(__name__)

OPENAI_BASE_URL = "https://api.openai.com/v1"
# Telegram's limit on a message's text: a longer transcription is cut there.
TEXT_LIMIT = 4096


class SttError(Exception):
    """The transcription endpoint failed, timed out or answered something unusable."""


class Hearing(StrEnum):
    """What became of a voice note."""

    HEARD = "heard"  # transcribed: `text` holds the words
    OFF = "voice_off"  # no transcription endpoint is configured
    TOO_LONG = "voice_too_long"  # over the duration or size limit: not downloaded
    FAILED = "voice_failed"  # the download or the transcription failed or took too long
    SILENT = "voice_empty"  # transcribed, but no words in it


@dataclass(frozen=True, slots=True)
class Heard:
    """A voice note's outcome, and its words when it was heard."""

    outcome: Hearing
    text: str = ""


def endpoint(base_url: str) -> str:
    """The transcription URL for a base URL given the way people copy it: OpenAI's form
    (`…/v1`), a bare server (`http://127.0.0.1:8080`), or the whole endpoint."""
    base = base_url.rstrip("/")
    if base.endswith("/audio/transcriptions"):
        return base
    if not urlsplit(base).path:
        return f"{base}/v1/audio/transcriptions"
    return f"{base}/audio/transcriptions"


async def transcribe(settings: Settings, audio: bytes, filename: str, mime: str,
                     timeout: float) -> str:
    """The words of `audio`, from the configured endpoint; SttError on any failure."""
    headers = {"Authorization": f"Bearer {settings.stt_api_key}"} if settings.stt_api_key \
        else {}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(
                endpoint(settings.stt_base_url or OPENAI_BASE_URL), headers=headers,
                data={"model": settings.stt_model, "response_format": "json"},
                files={"file": (filename, audio, mime)})
    except httpx.TimeoutException:
        raise SttError("timed out") from None
    except httpx.HTTPError as error:
        raise SttError(type(error).__name__) from None
    if response.status_code != 200:
        raise SttError(f"HTTP {response.status_code}")
    try:
        body: Any = response.json()
    except ValueError:
        raise SttError("the answer is not JSON") from None
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str):
        raise SttError("the answer has no text")
    return " ".join(text.split())[:TEXT_LIMIT]


def seconds(voice: Voice) -> int | None:
    """A voice note's length in seconds, as Telegram gave it."""
    with warnings.catch_warnings():
        # PTB 22 moves durations to timedelta and warns on the int form until told which.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        duration: Any = voice.duration
    if isinstance(duration, timedelta):
        return int(duration.total_seconds())
    return int(duration) if duration is not None else None


async def listen(settings: Settings, download: Callable[[], Awaitable[bytes | bytearray]],
                 duration: int | None,
                 size: int | None, mime: str | None) -> Heard:
    """Check the limits, download (`download()` returns the bytes) and transcribe.

    Args:
        duration: seconds, as Telegram gives them with the voice note.
        size: bytes, as Telegram gives them (None when it did not say).
    """
    if not settings.stt_configured:
        return Heard(Hearing.OFF)
    if (duration is not None and duration > settings.stt_max_seconds) or (
            size is not None and size > settings.stt_max_bytes):
        return Heard(Hearing.TOO_LONG)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + settings.stt_timeout
    try:
        audio = bytes(await asyncio.wait_for(download(), settings.stt_timeout))
        if len(audio) > settings.stt_max_bytes:
            return Heard(Hearing.TOO_LONG)
        left = max(deadline - loop.time(), 0.1)
        extension = "ogg" if not mime or "ogg" in mime else mime.rpartition("/")[2]
        text = await asyncio.wait_for(
            transcribe(settings, audio, f"voice.{extension}", mime or "audio/ogg", left), left)
    except (SttError, TimeoutError) as error:
        log.warning("voice note not transcribed: %s", error or "timed out")
        return Heard(Hearing.FAILED)
    except (TelegramError, httpx.HTTPError, OSError) as error:
        log.warning("voice note not downloaded: %s", type(error).__name__)
        return Heard(Hearing.FAILED)
    if not text.strip():
        return Heard(Hearing.SILENT)
    return Heard(Hearing.HEARD, text)


def heard_reply(reply: Reply, heard: str) -> Reply:
    """The reply to a transcribed voice note quotes what was heard first."""
    if reply.key is None:
        return reply
    return reply.preceded_by(Reply("voice_heard", reply.lang, {"heard": heard}))


async def voice_note(settings: Settings, dispatcher: Dispatcher, incoming: Incoming,
                     download: Callable[[], Awaitable[bytes | bytearray]], duration: int | None,
                     size: int | None, mime: str | None) -> Outcome:
    """A voice note from start to reply, for Telegram (bot/app.py) and `shopbot chat` alike:
    listened to (`listen`), then handled like the same words typed; the reply quotes what was
    heard. Why a note was not heard is said only where the bot was spoken to (a private chat,
    a reply to the bot): family voice notes in a group are not for it.

    Returns the outcome to send and carry out; its reply is None when there is nothing to say.
    """
    heard = await listen(settings, download, duration, size, mime)
    if heard.outcome is not Hearing.HEARD:
        if not incoming.addressed:
            return Outcome(None)
        lang = detect_language("", incoming.language_hint)
        return Outcome(Reply(heard.outcome.value, lang, {"seconds": settings.stt_max_seconds}))
    outcome = await dispatcher.handle_message(replace(incoming, text=heard.text))
    if outcome.reply is None:
        return outcome
    return replace(outcome, reply=heard_reply(outcome.reply, heard.text))
