"""`shopbot chat`: the whole bot in a terminal, same router, handlers and store.

Every line is one message:

- `@name: text` speaks as member `name` in the family group chat, so a family conversation
  can be scripted from a pipe; a line without `@name:` speaks as `me`.
- `@name/private: text` speaks in `name`'s private chat with the bot (its chat id is the
  user id, as on Telegram); `/join CODE` there brings it to a group's list.
- `@name/<word>: text` speaks in a second group chat called `<word>`, created on first use
  (`@name/family: text` is the same as `@name: text`).
- `!N` (or `@name: !N`, `@name/private: !N`) presses button N of the bot's last reply in that
  chat, as that speaker.
- `↪ text` after the speaker (`@dana: ↪ we bought everything`) is a message that member
  forwarded into the chat: the bot treats it as it treats a forwarded message on Telegram
  (it asks before marking the whole list bought, for one).
- `🎤 text` after the speaker (`@dana: 🎤 add milk and bread`) is a voice note whose
  speech is `text`: it takes the bot's real voice path (bot/voice.py: the length and size
  limits, the POST to the configured `SHOPBOT_STT_BASE_URL`, the reply quoting what was heard,
  the answer when transcription is off or fails). The note's length is guessed from its words
  (about 2.5 a second), or given as `🎤 (2:30) text`; `🎤` alone is a note with no
  words. Its audio is a stand-in that carries the words as text (`stand_in_audio`): the tests'
  fake transcription server reads them back, a real one hears no speech in it.
- `⏳ 3d` (or `⏳ 2h`, `⏳ 30m`) on a line of its own: three days (hours, minutes) pass
  for the bot. Its clock (`db.store.set_clock`) runs that far ahead from then on, so what
  history teaches (a shopping trip's aisle order, "when did we last buy…", rhythms) can be
  scripted; the real clock is back when the session ends. `⏳ 10:00` lets time pass until the
  next 10:00 in Israel (Asia/Jerusalem, a group's time zone until it sets another), so what
  depends on the hour (no suggestions at night) plays the same whenever it runs. After time
  passes, the jobs the running bot ticks run once each through the same code (bot/jobs.py's
  `Ticker`): digests that fell due (bot/digests.py; they go to members' private chats) and
  suggestions from habit (bot/suggestions.py), so a due "add milk?" is printed under the
  `⏳` line with its buttons, and `!N` presses them.
- `{code}` anywhere in a line stands for the invite code the bot showed last, so a script can
  say `@samir/private: /join {code}` without knowing the random code in advance.

The first to speak in a group chat is its creator, and so its admin (`/kick`); a line the
bot sends to another chat as well (someone joined or left) is printed under the reply, and so is
each file it sends (`/export`), as `📎 name`.

Replies in the family group are printed as `bot: …`; replies in any other chat name it,
`bot → dana/private: …` or `bot → work: …`, so a reader sees where each one went. By
default every group message counts as addressed to the bot (like a mention);
`--group-quiet` makes the groups behave like a family group where the bot stays out of
chit-chat. Private chats are always addressed, as on Telegram.
"""

from __future__ import annotations

import html
import math
import re
import sys
import zlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import TextIO
from zoneinfo import ZoneInfo

from bot.digests import send_due_digests
from bot.jobs import Ticker
from bot.services import Services
from bot.suggestions import send_due_suggestions
from bot.voice import voice_note
from db.store import set_clock, utcnow
from handlers import HANDLERS
from handlers.i18n import button_text, render
from handlers.reply import Button, EffectKind, Reply
from router.types import ChatKind, Entities, Incoming, Intent, Routed, Source

__all__ = ["BOT_USERNAME", "DEFAULT_GROUP", "PRIVATE", "VOICE_MARK", "ChatSession", "Line", "Turn",
           "parse_later", "parse_line", "parse_until", "run_chat", "stand_in_audio",
           "stand_in_words"]

CHAT_ID = -1000000000001
DEFAULT_GROUP = "family"
PRIVATE = "private"
_TITLE = "shopbot chat"  # the family group's title, as the replies show it
# The bot's username here: `/list@shopbot` is for it, `/list@SomeOtherBot` is not.
BOT_USERNAME = "shopbot"
_NAME = r"[\w\u0590-\u05ff\u0600-\u06ff.\-]{1,32}"
_SPEAKER = re.compile(rf"^@({_NAME})(?:/({_NAME}))?\s*:\s*(.*)$")
_PRESS = re.compile(r"\s*!(\d+)\s*")
FORWARD_MARK = "\u21aa"  # ↪, how Telegram clients mark a forwarded message
VOICE_MARK = "\U0001f3a4"  # the microphone: a voice note whose speech follows
_LENGTH = re.compile(r"\(\s*(\d{1,3}):([0-5]\d)\s*\)\s*")
_WORDS_A_SECOND = 2.5
# A voice note's stand-in audio: an Ogg page's capture pattern, this tag, then the words.
_STAND_IN = b"OggS\x00shopbot-chat-voice-note\x00"
TIME_MARK = "\u23f3"  # the hourglass: time passes
_LATER = re.compile(r"\u23f3\s*(\d{1,4})\s*([mhd])")
_SPANS = {"m": "minutes", "h": "hours", "d": "days"}
_UNTIL = re.compile(r"\u23f3\s*([01]?\d|2[0-3]):([0-5]\d)")
# The zone of `⏳ 10:00`: a group's time zone until it sets another (db.models.Group).
_ZONE = ZoneInfo("Asia/Jerusalem")
# A neutral reader for `list_text`: never a speaker, and its transaction is rolled back.
_READER_ID = 999


def plain(body: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@dataclass(frozen=True, slots=True)
class Line:
    """One input line taken apart: who speaks, in which chat, and what.

    Attributes:
        chat: `family` (the default group), another group's word, or `name/private`.
        press: the button number for a `!N` line, else None.
        named: the line named its speaker (`@name…:`); otherwise `me` speaks.
    """

    speaker: str
    chat: str
    text: str
    press: int | None = None
    named: bool = False
    forwarded: bool = False
    voice: bool = False
    seconds: int | None = None  # a voice note's length, as `(m:ss)` gave it


def parse_line(line: str) -> Line:
    """Take one `shopbot chat` line apart (see the module docstring for the forms)."""
    speaker, where, text = "me", None, line
    match = _SPEAKER.match(line)
    if match:
        speaker, where, text = match.group(1), match.group(2), match.group(3)
    if where is None or where.casefold() == DEFAULT_GROUP:
        chat = DEFAULT_GROUP
    elif where.casefold() == PRIVATE:
        chat = f"{speaker}/{PRIVATE}"
    else:
        chat = where
    forwarded = text.startswith(FORWARD_MARK)
    if forwarded:
        text = text.removeprefix(FORWARD_MARK).lstrip()
    voice = text.startswith(VOICE_MARK)
    seconds = None
    if voice:
        text = text.removeprefix(VOICE_MARK).lstrip()
        length = _LENGTH.match(text)
        if length:
            seconds = int(length.group(1)) * 60 + int(length.group(2))
            text = text[length.end():]
    press = None if forwarded or voice else _PRESS.fullmatch(text)
    return Line(speaker, chat, text, int(press.group(1)) if press else None,
                named=match is not None, forwarded=forwarded, voice=voice, seconds=seconds)


def parse_later(line: str) -> timedelta | None:
    """How much time a `⏳ 3d` line lets pass; None for any other line."""
    match = _LATER.fullmatch(line.strip())
    if match is None:
        return None
    return timedelta(**{_SPANS[match.group(2)]: int(match.group(1))})


def parse_until(line: str) -> time | None:
    """The time of day a `⏳ 10:00` line lets time pass until; None for any other line."""
    match = _UNTIL.fullmatch(line.strip())
    if match is None:
        return None
    return time(int(match.group(1)), int(match.group(2)))


def stand_in_audio(words: str) -> bytes:
    """The audio of a `shopbot chat` voice note: a stand-in carrying its words as text."""
    return _STAND_IN + words.encode("utf-8")


def stand_in_words(audio: bytes) -> str | None:
    """The words a stand-in carries; None for any other audio."""
    if not audio.startswith(_STAND_IN):
        return None
    return audio[len(_STAND_IN):].decode("utf-8", "replace")


@dataclass(frozen=True, slots=True)
class Turn:
    """What one input line did: the chat it went to and what the bot printed for it.

    Attributes:
        output: the printed reply, empty when the bot said nothing.
        error: set when the line could not be carried out (a button that is not there).
    """

    line: Line
    output: str
    error: str | None = None


@dataclass
class _Chat:
    """One chat the session has spoken in, and the bot's last reply there."""

    key: str
    chat_id: int
    kind: ChatKind
    title: str | None
    buttons: list[Button] = field(default_factory=list)
    last_lang: str = "he"
    last_text: str = ""  # the message the bot's last reply answered, as Telegram's reply_to


@dataclass
class ChatSession:
    """A scripted conversation in a family group, its members' private chats and other
    groups, against real services."""

    services: Services
    addressed: bool = True
    out: TextIO = sys.stdout
    users: dict[str, int] = field(default_factory=dict)
    chats: dict[str, _Chat] = field(default_factory=dict)
    creators: dict[int, int] = field(default_factory=dict)  # group chat id -> first speaker
    update_id: int = 0
    code: str | None = None  # the invite code the bot showed last, for `{code}`
    later: timedelta = timedelta()  # how far the `⏳` lines have moved the bot's clock

    def __post_init__(self) -> None:
        if self.services.dispatcher.bot_username is None:
            self.services.dispatcher.bot_username = BOT_USERNAME
        if self.services.dispatcher.digest_delay is None:
            # As bot/app.py does: a change makes its group's digest due this much later.
            self.services.dispatcher.digest_delay = self.services.settings.digest_delay
        # The running bot's jobs (bot/app.py), run once each after time passes.
        self._jobs = (
            Ticker(send_due_digests, self.services.uow, self._deliver, "claiming due digests"),
            Ticker(send_due_suggestions, self.services.uow, self._deliver,
                   "looking for due suggestions"))
        self._delivered: list[str] = []

    def _user(self, name: str) -> int:
        if name not in self.users:
            # Derived from the name, so `dana` is the same person in the next run over the same
            # database file (her private chat, her memberships).
            user_id = 1000 + zlib.crc32(name.encode()) % 1_000_000_000
            while user_id in self.users.values() or user_id == _READER_ID:
                user_id += 1
            self.users[name] = user_id
        return self.users[name]

    def _chat(self, key: str, speaker: str) -> _Chat:
        if key not in self.chats:
            if key == DEFAULT_GROUP:
                chat = _Chat(key, CHAT_ID, ChatKind.GROUP, _TITLE)
            elif key.endswith("/" + PRIVATE):
                # Telegram gives a private chat the id of the user in it.
                chat = _Chat(key, self._user(speaker), ChatKind.PRIVATE, None)
            else:
                # From the word, like user ids: `work` is the same chat in the next run.
                chat = _Chat(key, CHAT_ID - 1 - zlib.crc32(key.encode()) % 1_000_000_000,
                             ChatKind.GROUP, key)
            self.chats[key] = chat
        return self.chats[key]

    def _print(self, chat: _Chat, reply: Reply | None) -> str:
        if reply is None or reply.key is None:
            return ""
        prefix = "bot: " if chat.key == DEFAULT_GROUP else f"bot → {chat.key}: "
        text = prefix + plain(render(reply)).replace("\n", "\n     ") + "\n"
        chat.buttons = [button for row in reply.buttons for button in row]
        chat.last_lang = reply.lang
        if isinstance(reply.params.get("code"), str):
            self.code = reply.params["code"]
        for number, button in enumerate(chat.buttons, start=1):
            text += f"     [{number}] {button_text(button, reply.lang)}\n"
        for effect in reply.effects:
            if effect.kind is EffectKind.DOCUMENT:
                text += f"     📎 {effect.payload['filename']}\n"
            if effect.kind is EffectKind.NOTICE:
                where = next((c.key for c in self.chats.values()
                              if c.chat_id == effect.payload["chat_id"]),
                             str(effect.payload["chat_id"]))
                lead = "bot: " if where == DEFAULT_GROUP else f"bot → {where}: "
                text += lead + plain(render(effect.payload["reply"])) + "\n"
        self.out.write(text)
        self.out.flush()
        return text

    def pass_time(self, span: timedelta) -> None:
        """Move the bot's clock `span` ahead (until `close`)."""
        self.later += span
        set_clock(lambda: datetime.now(UTC) + self.later)

    def until(self, when: time) -> timedelta:
        """How long it is from the bot's clock to the next `when` in Israel."""
        now = utcnow().astimezone(_ZONE)
        day = now.date()
        target = datetime.combine(day, when, _ZONE)
        if target <= now:
            target = datetime.combine(day + timedelta(days=1), when, _ZONE)
        return target - now

    async def run_jobs(self) -> str:
        """Run what the running bot ticks, once each (digests, then suggestions), as the
        clock now stands; what they send is printed, and returned."""
        self._delivered = []
        for job in self._jobs:
            await job()
        return "".join(self._delivered)

    async def _deliver(self, chat_id: int, reply: Reply) -> None:
        """A job's message to a chat (the `send` the jobs are given): printed as the bot's."""
        chat = next((c for c in self.chats.values() if c.chat_id == chat_id), None)
        if chat is None:
            name = next((n for n, user_id in self.users.items() if user_id == chat_id), None)
            chat = (self._chat(f"{name}/{PRIVATE}", name) if name is not None
                    else _Chat(str(chat_id), chat_id, ChatKind.GROUP, None))
        chat.last_text = ""  # it answers no message
        self._delivered.append(self._print(chat, reply))

    def close(self) -> None:
        """The real clock again."""
        if self.later:
            set_clock(None)
            self.later = timedelta()

    async def say(self, raw: str) -> Turn | None:
        """Handle one input line; None for a blank one."""
        raw = raw.rstrip("\n")
        if not raw.strip():
            return None
        span = parse_later(raw)
        when = parse_until(raw)
        if when is not None:
            span = self.until(when)
        if span is not None:
            self.pass_time(span)
            return Turn(Line("me", DEFAULT_GROUP, raw.strip()), await self.run_jobs())
        if self.code is not None:
            raw = raw.replace("{code}", self.code)
        line = parse_line(raw)
        self.update_id += 1
        user_id = self._user(line.speaker)
        chat = self._chat(line.chat, line.speaker)
        in_group = chat.kind is ChatKind.GROUP
        if in_group:
            self.creators.setdefault(chat.chat_id, user_id)
        if self.services.dispatcher.member_status is None:
            self.services.dispatcher.member_status = self._member_status
        if line.press is not None:
            index = line.press - 1
            if not 0 <= index < len(chat.buttons):
                self.out.write("(no such button)\n")
                return Turn(line, "", error=f"no button {line.press} on the bot's last reply "
                                            f"in {chat.key} ({len(chat.buttons)} there)")
            incoming = Incoming(chat_id=chat.chat_id, user_id=user_id, text=chat.last_text,
                                chat_kind=chat.kind, user_name=line.speaker,
                                language_hint=chat.last_lang, addressed=True,
                                chat_title=chat.title)
            outcome = await self.services.dispatcher.handle_button(
                incoming, chat.buttons[index].data)
            return Turn(line, self._print(chat, outcome.reply))
        incoming = Incoming(chat_id=chat.chat_id, user_id=user_id, text=line.text,
                            chat_kind=chat.kind, user_name=line.speaker,
                            addressed=self.addressed or not in_group, chat_title=chat.title,
                            message_id=self.update_id, forwarded=line.forwarded)
        if line.voice:
            return Turn(line, self._print(chat, await self._voice(line, chat, incoming)))
        outcome = await self.services.dispatcher.handle_message(incoming)
        if outcome.reply is not None and outcome.reply.key is not None:
            chat.last_text = line.text
        return Turn(line, self._print(chat, outcome.reply))

    async def _voice(self, line: Line, chat: _Chat, typed: Incoming) -> Reply | None:
        """A voice note through the bot's voice path, as Telegram would bring it: a message
        without text, the speaker's app language taken to be the one the bot last spoke in
        this chat."""
        audio = stand_in_audio(line.text)

        async def download() -> bytes:
            return audio

        duration = line.seconds if line.seconds is not None else max(
            1, math.ceil(len(line.text.split()) / _WORDS_A_SECOND))
        incoming = replace(typed, text="", language_hint=chat.last_lang)
        outcome = await voice_note(self.services.settings, self.services.dispatcher, incoming,
                                   download, duration, len(audio), "audio/ogg")
        if outcome.reply is not None and outcome.reply.key is not None:
            chat.last_text = ""  # a reply to a voice note quotes no text, as on Telegram
        return outcome.reply

    async def _member_status(self, chat_id: int, user_id: int) -> str | None:
        """Telegram's answer to getChatMember, as this session plays it."""
        if self.creators.get(chat_id) == user_id:
            return "creator"
        return "member" if chat_id in self.creators else "left"

    async def list_text(self, key: str) -> str:
        """What `/list` would show in a chat now, without changing anything.

        The list handler runs as it does for `/list`, but in a transaction that is rolled
        back, and nothing of the session moves (buttons, the last reply): it observes. A group
        is read by a neutral reader, a private chat by its owner.
        """
        if key not in self.chats:
            return ""  # nobody has spoken there: no list yet
        chat = self.chats[key]
        owner = key.removesuffix("/" + PRIVATE)
        user_id, name = ((self.users[owner], owner) if chat.kind is ChatKind.PRIVATE
                         else (_READER_ID, "reader"))
        incoming = Incoming(chat_id=chat.chat_id, user_id=user_id, text="/list",
                            chat_kind=chat.kind, user_name=name, addressed=True,
                            chat_title=chat.title)
        routed = Routed(incoming, (Intent.LIST_QUERY,), (Entities(),), 1.0, True, Source.RULE,
                        chat.last_lang, reason="/list")
        async with self.services.uow() as uow:
            reply = await HANDLERS[Intent.LIST_QUERY](routed, uow)
            await uow.rollback()
        return plain(render(reply))


async def run_chat(services: Services, source: TextIO, addressed: bool = True) -> None:
    """Read messages from `source` until it ends (Ctrl-D in a terminal)."""
    session = ChatSession(services, addressed=addressed)
    interactive = source.isatty()
    if interactive:
        sys.stdout.write("shopbot chat: type a message (@name: text speaks as name, "
                         "@name/private: text in name's private chat, @name/work: text in a "
                         "group called work, !N presses a button, \U0001f3a4 text sends a "
                         "voice note, Ctrl-D quits)\n")
    try:
        while True:
            if interactive:
                sys.stdout.write("> ")
                sys.stdout.flush()
            line = source.readline()
            if not line:
                break
            await session.say(line)
    finally:
        session.close()
