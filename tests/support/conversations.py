"""Conversation tests: scripted family chats as data, run through `shopbot chat`'s session.

A `.chat` file (README, "Conversation tests") is a title, then what members say and what the
bot must answer, with checks of the list along the way:

    # Dana adds, Yossi adds more eggs
    @dana: תוסיף חלב ו-2 ביצים
    > נוסף
    @yossi: !1
    > בוטל
    = list
    (empty)

A line `⏳ 3d` lets three days pass for the bot (`2h`, `30m`: hours, minutes; `⏳ 10:00`: until
the next 10:00 in Israel), and the jobs that fall due meanwhile run (a suggestion from habit,
a digest): `>` lines under it check what they sent, as under a message.
`@dana: 🎤 words` is a voice note whose speech is `words` (bot/chat.py); `# transcription off`
or `# transcription fails` before the first message says how the transcription service
behaves in this conversation (by default it hears the words).

`parse` turns a file into a `Conversation`, failing with `ConversationError` naming the file
and line; `run` plays it against real services and returns the transcript with every check
that failed, so a failing test can print the whole chat.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from bot.chat import (
    DEFAULT_GROUP,
    PRIVATE,
    TIME_MARK,
    ChatSession,
    parse_later,
    parse_line,
    parse_until,
)
from bot.services import Services

__all__ = ["Conversation", "ConversationError", "Later", "ListCheck", "Result", "Step", "parse",
           "run"]

_CHAT = re.compile(r"^(?:[\w.\-]+/private|[\w.\-]+)$")
_TRANSCRIPTION = {"transcription off": "off", "transcription fails": "fails"}
_BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


class ConversationError(ValueError):
    """A `.chat` file that cannot be read; the message starts with `file:line:`."""


@dataclass
class Step:
    """One line said (or one button pressed) and what its reply must and must not hold."""

    lineno: int
    line: str
    contains: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    silent: bool = False


@dataclass
class Later:
    """`⏳ 3d` or `⏳ 10:00`: time passes for the bot, and the jobs due run (bot/chat.py);
    what they send is checked as a reply is (`span` None: until a time of day)."""

    lineno: int
    line: str
    span: timedelta | None
    contains: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    silent: bool = False


@dataclass
class ListCheck:
    """`= list [chat]`: the open list there must be exactly these bullet lines."""

    lineno: int
    chat: str
    items: list[str] = field(default_factory=list)
    empty: bool = False


@dataclass
class Conversation:
    """A parsed `.chat` file."""

    path: Path
    title: str
    quiet: bool
    events: list[Step | ListCheck | Later]
    # Voice notes (`@dana: 🎤 words`): `on` (a fake transcription server on loopback hears
    # the words), `off` (no endpoint configured) or `fails` (the endpoint answers 500).
    transcription: str = "on"


@dataclass
class Result:
    """A played conversation: the transcript and the checks that failed (empty: it passed)."""

    transcript: list[str]
    failures: list[str]


def parse(path: Path) -> Conversation:
    """Read a `.chat` file; any line that is not in the format fails with file:line."""
    title: str | None = None
    quiet = False
    transcription = "on"
    events: list[Step | ListCheck | Later] = []

    def error(lineno: int, message: str) -> ConversationError:
        return ConversationError(f"{path}:{lineno}: {message}")

    def close_list() -> None:
        if events and isinstance(events[-1], ListCheck):
            check = events[-1]
            if not check.items and not check.empty:
                raise error(check.lineno, "`= list` needs `•` lines or `(empty)` below it")

    lines = path.read_text(encoding="utf-8").splitlines()
    for lineno, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if not line.startswith("•") and line != "(empty)":
            close_list()
        if line.startswith("#"):
            words = line[1:].strip()
            if title is None:
                if not words:
                    raise error(lineno, "the title line `# …` is empty")
                title = words
            elif words.casefold() == "quiet":
                if any(isinstance(event, Step) for event in events):
                    raise error(lineno, "`# quiet` must come before the first message")
                quiet = True
            elif words.casefold() in _TRANSCRIPTION:
                if any(isinstance(event, Step) for event in events):
                    raise error(lineno, f"`# {words}` must come before the first message")
                transcription = _TRANSCRIPTION[words.casefold()]
            continue  # any other `#` line is a comment
        if title is None:
            raise error(lineno, "a conversation starts with its title: `# what it shows`")
        if line.startswith("@"):
            said = parse_line(line)
            if not said.named:
                raise error(lineno, f"not a speaker line (`@name: text`, "
                                    f"`@name/private: text`, `@name/word: text`): {line}")
            if not said.text.strip() and not said.voice:  # `🎤` alone: a note without words
                raise error(lineno, "nothing is said after the `:`")
            events.append(Step(lineno, line))
        elif line.startswith(TIME_MARK):
            span = parse_later(line)
            if span is None and parse_until(line) is None:
                raise error(lineno, "time passes as `⏳ 3d`, `⏳ 2h`, `⏳ 30m` or `⏳ 10:00`")
            events.append(Later(lineno, line, span))
        elif line.startswith("!"):
            raise error(lineno, "a button press needs its speaker: `@name: !N`")
        elif line.startswith(">"):
            if not events or not isinstance(events[-1], Step | Later):
                raise error(lineno, "a `>` check must follow the message (or `⏳` line) "
                                    "it checks")
            step = events[-1]
            if line == ">.":
                step.silent = True
            elif line.startswith(">!"):
                text = line[2:].strip()
                if not text:
                    raise error(lineno, "`>!` needs the text the reply must not contain")
                step.absent.append(text)
            else:
                text = line[1:].strip()
                if not text:
                    raise error(lineno, "`>` needs the text the reply must contain "
                                        "(`>.` checks that the bot says nothing)")
                step.contains.append(text)
            if step.silent and step.contains:
                raise error(lineno, "a reply cannot be both silent (`>.`) and contain text")
        elif line.startswith("="):
            match = re.fullmatch(r"=\s*list(?:\s+(\S+))?", line)
            if not match:
                raise error(lineno, "expected `= list` or `= list <chat>` "
                                    "(`family`, `work`, `dana/private`)")
            chat = match.group(1) or DEFAULT_GROUP
            if not _CHAT.match(chat):
                raise error(lineno, f"not a chat name: {chat}")
            events.append(ListCheck(lineno, chat))
        elif line.startswith("•"):
            if not events or not isinstance(events[-1], ListCheck):
                raise error(lineno, "a `•` line belongs under `= list`")
            if events[-1].empty:
                raise error(lineno, "a list cannot be `(empty)` and have items")
            item = line[1:].strip()
            if not item:
                raise error(lineno, "an empty `•` line")
            events[-1].items.append(item)
        elif line == "(empty)":
            if not events or not isinstance(events[-1], ListCheck) or events[-1].items:
                raise error(lineno, "`(empty)` belongs right under `= list`")
            events[-1].empty = True
        else:
            raise error(lineno, "expected `# …`, `@name: text`, `> text`, `>! text`, `>.`, "
                                f"`= list`, `• item` or `(empty)`, not: {line}")
    close_list()
    if title is None:
        raise error(1, "the file is empty: a conversation starts with `# title`")
    if not any(isinstance(event, Step) for event in events):
        raise error(len(lines), "nobody says anything")
    return Conversation(path, title, quiet, events, transcription)


def _norm(text: str) -> str:
    """Text compared the way a reader sees it: NFC, no direction marks, single spaces."""
    text = _BIDI.sub("", unicodedata.normalize("NFC", text))
    return re.sub(r"\s+", " ", text).strip()


def bullets(list_text: str) -> list[str]:
    """The item lines of a rendered list, without their `•`."""
    return [_norm(line.strip()[1:]) for line in list_text.splitlines()
            if line.strip().startswith("•")]


def _indent(text: str) -> list[str]:
    return ["      " + line for line in text.rstrip("\n").splitlines()]


async def run(conversation: Conversation, services: Services) -> Result:
    """Play the conversation through a `ChatSession` and check every expectation."""
    session = ChatSession(services, addressed=not conversation.quiet, out=io.StringIO())
    transcript = [f"{conversation.path.parent.name}/{conversation.path.name}: "
                  f"{conversation.title}" + (" (quiet group)" if conversation.quiet else "")]
    failures: list[str] = []

    def fail(lineno: int, message: str) -> None:
        where = f"{conversation.path}:{lineno}"
        failures.append(f"{where}: {message}")
        transcript.append(f"      ✗ {message}")

    try:
        await _play(conversation, session, transcript, fail)
    finally:
        session.close()
    return Result(transcript, failures)


async def _play(conversation: Conversation, session: ChatSession, transcript: list[str],
                fail: Callable[[int, str], None]) -> None:
    for event in conversation.events:
        if isinstance(event, Step | Later):
            transcript.append(f"{event.lineno:>4}  {event.line}")
            turn = await session.say(event.line)
            assert turn is not None  # the parser refuses blank lines
            output = turn.output
            if output or isinstance(event, Step):
                transcript.extend(_indent(output) if output
                                  else ["      (the bot says nothing)"])
            if turn.error:
                fail(event.lineno, turn.error)
                continue
            seen = _norm(output).casefold()
            for text in event.contains:
                if _norm(text).casefold() not in seen:
                    fail(event.lineno, f"expected the reply to contain {text!r}")
            for text in event.absent:
                if _norm(text).casefold() in seen:
                    fail(event.lineno, f"expected the reply NOT to contain {text!r}")
            if event.silent and output:
                fail(event.lineno, "expected the bot to say nothing")
            continue
        chat = event.chat
        if chat.endswith("/" + PRIVATE) and chat.removesuffix("/" + PRIVATE) not in session.users:
            fail(event.lineno, f"`= list {chat}`: nobody called that has spoken")
            continue
        actual = bullets(await session.list_text(chat))
        expected = [_norm(item) for item in event.items]
        label = "" if chat == DEFAULT_GROUP else f" {chat}"
        transcript.append(f"{event.lineno:>4}  = list{label}: "
                          + (", ".join(f"• {item}" for item in actual) or "(empty)"))
        if Counter(actual) != Counter(expected):
            missing = list((Counter(expected) - Counter(actual)).elements())
            extra = list((Counter(actual) - Counter(expected)).elements())
            fail(event.lineno, "the list is not as expected\n"
                 f"        expected: {', '.join(expected) or '(empty)'}\n"
                 f"        actual:   {', '.join(actual) or '(empty)'}\n"
                 f"        missing:  {', '.join(missing) or '-'}\n"
                 f"        extra:    {', '.join(extra) or '-'}")
