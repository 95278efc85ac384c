"""What a handler returns: a localized message by key, buttons and effects for `bot/`."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

__all__ = ["Button", "Effect", "EffectKind", "Reply", "Role"]


class Role(StrEnum):
    """What pressing a button answers when its reply asks a question.

    A reply whose buttons carry roles is a question: the dispatcher remembers it, and words
    from the member it asked ("yes", "the second one", "add them all") press the button
    they name. Buttons without a role (undo, tick) answer nothing.
    """

    YES = "yes"  # the affirmative answer ("yes", "sure")
    NO = "no"  # declining ("no", "never mind")
    ALL = "all"  # every option at once ("add them all", "both")
    OPTION = "option"  # one of several choices ("the second one", "the soy one")


@dataclass(frozen=True, slots=True)
class Button:
    """An inline button: a message key for its label and the callback data it sends, and
    the role it plays when its reply asks a question."""

    key: str
    data: str
    params: dict[str, Any] = field(default_factory=dict)
    role: Role | None = None


class EffectKind(StrEnum):
    """Side effects the bot carries out after the transaction commits."""

    LIST_CHANGED = "list_changed"  # schedule the members' digest
    FORWARD_BUG = "forward_bug"  # tell the admin chat
    NOTICE = "notice"  # one more message to another chat: payload chat_id and reply
    DOCUMENT = "document"  # a file for the chat: payload filename, content (bytes), mime


@dataclass(frozen=True, slots=True)
class Effect:
    """One side effect with its payload."""

    kind: EffectKind
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer.

    Attributes:
        key: the message key in `handlers.i18n`; None means say nothing.
        edit: replace the message the pressed button was on instead of sending a new one.
        toast: a short text for the button press answer (a callback query's notice).
        before: earlier sentences shown first, in order (a message that asked for two
            things, a voice note's words, a layout fix).
        tz: the time zone times in `params` show in (the group's); None: Asia/Jerusalem.
    """

    key: str | None
    lang: str
    params: dict[str, Any] = field(default_factory=dict)
    buttons: tuple[tuple[Button, ...], ...] = ()
    effects: tuple[Effect, ...] = ()
    edit: bool = False
    toast: str | None = None
    before: tuple[Reply, ...] = ()
    tz: str | None = None

    def preceded_by(self, *earlier: Reply) -> Reply:
        """This reply with `earlier` shown before it (and before its own earlier ones)."""
        return replace(self, before=(*earlier, *self.before))

    @staticmethod
    def silent(lang: str) -> Reply:
        """Nothing to say."""
        return Reply(key=None, lang=lang)
