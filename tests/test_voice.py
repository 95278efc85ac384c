"""Voice notes end to end: the real Application, the Bot API emulator serving getFile and the
file, and a fake OpenAI-compatible transcription server, all over loopback HTTP."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings
from bot.voice import endpoint
from tests.support.botapi import BotApiEmulator
from tests.support.running import TOKEN, Bot, texts, until
from tests.support.stt_server import FakeStt

KEY = "sk-test-voice-0123456789"
FAMILY = -1001234567811
OGG = b"OggS\x00\x02" + bytes(range(200))


class VoiceBot(Bot):
    """The test bot with voice transcription set up (or not, when `stt` is None)."""

    def __init__(self, emulator: BotApiEmulator, db: Path, stt: FakeStt | None,
                 **settings: Any) -> None:
        super().__init__(emulator, db)
        if stt is not None:
            settings = {"stt_base_url": stt.base_url, "stt_api_key": KEY, **settings}
        self.settings = Settings(_env_file=None,
                                 telegram_token=TOKEN, telegram_api_url=emulator.base_url,
                                 database_url=f"sqlite+aiosqlite:///{db}", digest_delay=0.3,
                                 llm_enabled=False, **settings)


@pytest.fixture
def emulator() -> Iterator[BotApiEmulator]:
    with BotApiEmulator(token=TOKEN, bot_username="family_list_bot") as emu:
        yield emu


@pytest.fixture
def stt() -> Iterator[FakeStt]:
    with FakeStt(api_key=KEY) as server:
        yield server


@pytest.fixture
async def bot(emulator: BotApiEmulator, stt: FakeStt, tmp_path: Path) -> AsyncIterator[Bot]:
    running = await VoiceBot(emulator, tmp_path / "bot.db", stt, stt_timeout=3).start()
    yield running
    await running.stop()


async def test_a_voice_note_in_a_group_is_heard_and_handled_like_typed_words(
        emulator: BotApiEmulator, stt: FakeStt, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="he")
    family = emulator.group(FAMILY, "Home")
    emulator.add_bot_to_group(family, dana)
    audio = stt.say(OGG, "תוסיף חלב ולחם")
    emulator.send_voice(family, dana, audio, duration=3)
    reply = await until(lambda: [t for t in texts(emulator, FAMILY) if "🎤" in t])
    assert reply[-1].startswith("🎤 'תוסיף חלב ולחם' →")
    assert "נוסף: חלב, לחם" in reply[-1]
    # The file came from Telegram's file URL, and went to the endpoint with its key.
    assert emulator.downloads() == ["voice/file_1.oga"]
    [request] = stt.requests
    assert request.authorization == f"Bearer {KEY}"
    assert request.audio == OGG and request.fields["model"] == "whisper-1"
    emulator.send_text(family, dana, "/list")
    listing = await until(lambda: [t for t in texts(emulator, FAMILY) if "🛒" in t])
    assert "• חלב" in listing[-1] and "• לחם" in listing[-1]


@pytest.mark.parametrize(("words", "language", "expected"), [
    ("add eggs and coffee please", "en", "Added: eggs, coffee"),
    ("بدنا خبز وحليب", "ar", "تمت الإضافة: خبز، حليب"),
])
async def test_a_voice_note_in_a_private_chat_in_english_and_arabic(
        emulator: BotApiEmulator, stt: FakeStt, bot: Bot, words: str, language: str,
        expected: str) -> None:
    user = emulator.user(21, "Sam", language_code=language)
    chat = emulator.private_chat(user)
    emulator.send_voice(chat, user, stt.say(OGG + language.encode(), words), duration=4)
    reply = await until(lambda: [t for t in texts(emulator, 21) if "🎤" in t])
    assert f"🎤 '{words}' →" in reply[-1] and expected in reply[-1]


async def test_a_note_too_long_is_refused_before_anything_is_downloaded(
        emulator: BotApiEmulator, stt: FakeStt, bot: Bot) -> None:
    user = emulator.user(31, "Mike", language_code="en")
    chat = emulator.private_chat(user)
    emulator.send_voice(chat, user, stt.say(OGG, "add milk"), duration=600)
    emulator.send_voice(chat, user, OGG, duration=5, file_size=30_000_000)
    replies = await until(lambda: len(texts(emulator, 31)) >= 2 and texts(emulator, 31))
    assert all("too long" in reply and "120 seconds" in reply for reply in replies)
    assert emulator.calls("getFile") == [] and emulator.downloads() == []
    assert stt.requests == []


# Slow (CI): it waits out the 3 s transcription timeout; a failing endpoint stays quick in
# the voice conversations (99_voice_transcription_fails).
@pytest.mark.slow
async def test_a_failing_or_slow_endpoint_gets_a_clear_message_within_the_timeout(
        emulator: BotApiEmulator, stt: FakeStt, bot: Bot) -> None:
    user = emulator.user(41, "Jess", language_code="en")
    chat = emulator.private_chat(user)
    stt.status = 500
    emulator.send_voice(chat, user, stt.say(OGG, "add milk"), duration=2)
    await until(lambda: any("couldn't make out" in t for t in texts(emulator, 41)))
    stt.status, stt.delay = 200, 10
    started = time.monotonic()
    emulator.send_voice(chat, user, OGG, duration=2)
    await until(lambda: sum("couldn't make out" in t for t in texts(emulator, 41)) >= 2)
    assert time.monotonic() - started < 8  # SHOPBOT_STT_TIMEOUT is 3 s here


async def test_silence_and_a_group_note_nobody_asked_the_bot_about(
        emulator: BotApiEmulator, stt: FakeStt, bot: Bot) -> None:
    dana = emulator.user(11, "Dana", language_code="he")
    family = emulator.group(FAMILY, "Home")
    emulator.add_bot_to_group(family, dana)
    await until(lambda: len(texts(emulator, FAMILY)) >= 2)
    before = len(texts(emulator, FAMILY))
    # Family talk in a voice note: heard, and the bot stays out of it as it would in text.
    emulator.send_voice(family, dana, stt.say(OGG, "מה נשמע? איך היה אתמול בערב?"),
                        duration=3)
    await until(lambda: len(stt.requests) == 1)
    private = emulator.private_chat(dana)
    emulator.send_voice(private, dana, stt.say(OGG + b"quiet", ""), duration=1)
    await until(lambda: any("לא שמעתי" in t for t in texts(emulator, 11)))
    assert len(texts(emulator, FAMILY)) == before


async def test_without_an_endpoint_nothing_is_sent_anywhere(
        emulator: BotApiEmulator, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    running = await VoiceBot(emulator, tmp_path / "off.db", None).start()
    try:
        user = emulator.user(51, "Ann", language_code="en")
        chat = emulator.private_chat(user)
        emulator.send_voice(chat, user, OGG, duration=2)
        await until(lambda: any("can't listen" in t for t in texts(emulator, 51)))
        assert emulator.calls("getFile") == []
    finally:
        await running.stop()


async def test_the_api_key_never_reaches_the_log(
        emulator: BotApiEmulator, stt: FakeStt, bot: Bot,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    user = emulator.user(61, "Lee", language_code="en")
    chat = emulator.private_chat(user)
    stt.api_key = "another-key"  # the endpoint refuses ours: an error path that logs
    emulator.send_voice(chat, user, stt.say(OGG, "add milk"), duration=2)
    await until(lambda: any("couldn't make out" in t for t in texts(emulator, 61)))
    assert caplog.records and KEY not in caplog.text


@pytest.mark.parametrize(("base", "url"), [
    ("http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1/audio/transcriptions"),
    ("http://127.0.0.1:8000/v1/", "http://127.0.0.1:8000/v1/audio/transcriptions"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080/v1/audio/transcriptions"),
    ("https://stt.example/v1/audio/transcriptions",
     "https://stt.example/v1/audio/transcriptions"),
    ("https://api.openai.com/v1", "https://api.openai.com/v1/audio/transcriptions"),
])
def test_the_endpoint_is_found_from_the_base_url_as_people_copy_it(base: str, url: str) -> None:
    assert endpoint(base) == url
