"""`shopbot chat`: the whole bot in a terminal, same router, handlers and store.

Every line is one message. `@name: text` speaks as member `name`, so a family conversation
can be scripted from a pipe; other lines speak as `me`. `!N` presses button N of the bot's
last message. All speakers share one group chat, and by default every message counts as
addressed to the bot (like a mention); `--group-quiet` makes it behave like a family group
where the bot stays out of chit-chat.
"""

from __future__ import annotations

import html
import re
import sys
from dataclasses import dataclass, field
from typing import TextIO

from bot.services import Services
from handlers.i18n import button_text, render
from handlers.reply import Button, Reply
from router.types import ChatKind, Incoming

__all__ = ["ChatSession", "run_chat"]

CHAT_ID = -1000000000001
_SPEAKER = re.compile(r"^@([\w\u0590-\u05ff\u0600-\u06ff.\-]{1,32})\s*:\s*(.*)$")


def plain(body: str) -> str:
    """Telegram HTML as terminal text."""
    return html.unescape(re.sub(r"<[^>]+>", "", body))


@dataclass
class ChatSession:
    """A scripted group conversation against real services."""

    services: Services
    addressed: bool = True
    out: TextIO = sys.stdout
    users: dict[str, int] = field(default_factory=dict)
    buttons: list[Button] = field(default_factory=list)
    last_lang: str = "he"
    last_text: str = ""  # the message the bot's last reply answered, as Telegram's reply_to
    update_id: int = 0

    def _user(self, name: str) -> int:
        if name not in self.users:
            self.users[name] = 1001 + len(self.users)
        return self.users[name]

    def _print(self, reply: Reply | None) -> None:
        if reply is None or reply.key is None:
            return
        self.out.write("bot: " + plain(render(reply)).replace("\n", "\n     ") + "\n")
        self.buttons = [button for row in reply.buttons for button in row]
        self.last_lang = reply.lang
        for number, button in enumerate(self.buttons, start=1):
            self.out.write(f"     [{number}] {button_text(button, reply.lang)}\n")
        self.out.flush()

    async def say(self, line: str) -> None:
        """Handle one input line."""
        line = line.rstrip("\n")
        if not line.strip():
            return
        speaker = "me"
        match = _SPEAKER.match(line)
        if match:
            speaker, line = match.group(1), match.group(2)
        self.update_id += 1
        user_id = self._user(speaker)
        press = re.fullmatch(r"\s*!(\d+)\s*", line)
        if press:
            index = int(press.group(1)) - 1
            if not 0 <= index < len(self.buttons):
                self.out.write("(no such button)\n")
                return
            incoming = Incoming(chat_id=CHAT_ID, user_id=user_id, text=self.last_text,
                                chat_kind=ChatKind.GROUP, user_name=speaker,
                                language_hint=self.last_lang, addressed=True,
                                chat_title="shopbot chat")
            outcome = await self.services.dispatcher.handle_button(
                incoming, self.buttons[index].data)
            self._print(outcome.reply)
            return
        incoming = Incoming(chat_id=CHAT_ID, user_id=user_id, text=line,
                            chat_kind=ChatKind.GROUP, user_name=speaker,
                            addressed=self.addressed, chat_title="shopbot chat",
                            message_id=self.update_id)
        outcome = await self.services.dispatcher.handle_message(incoming)
        if outcome.reply is not None and outcome.reply.key is not None:
            self.last_text = line
        self._print(outcome.reply)


async def run_chat(services: Services, source: TextIO, addressed: bool = True) -> None:
    """Read messages from `source` until it ends (Ctrl-D in a terminal)."""
    session = ChatSession(services, addressed=addressed)
    interactive = source.isatty()
    if interactive:
        sys.stdout.write("shopbot chat: type a message (@name: text speaks as name, "
                         "!N presses a button, Ctrl-D quits)\n")
    while True:
        if interactive:
            sys.stdout.write("> ")
            sys.stdout.flush()
        line = source.readline()
        if not line:
            break
        await session.say(line)
