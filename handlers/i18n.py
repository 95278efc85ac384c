"""Every text the bot says, rendered as Telegram HTML, from one gettext catalog per language.

The catalogs are `handlers/locales/<lang>/LC_MESSAGES/messages.po` (msgid = the message key),
read with Babel when first needed; a language is a folder there, nothing in code. Handlers
return message keys with raw parameters; rendering escapes every parameter, so whatever a user
typed (an item called `<b>`, a group named `&amp;`) shows as typed. A message with plural forms
picks its form from its `count` parameter by the language's own Plural-Forms rule (Hebrew has a
dual, Arabic six forms).
"""

from __future__ import annotations

import gettext
import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.messages.pofile import read_po

from handlers.reply import Button, Reply
from router.languages import default_language

__all__ = [
    "DEFAULT_LANGUAGE", "LANGUAGES", "MESSAGES", "button_text", "has_message", "intent_name",
    "plain", "render", "text",
]

LOCALES = Path(__file__).with_name("locales")
# The registry's default language (router/data/lang/<code>/language.json): Hebrew.
DEFAULT_LANGUAGE = default_language().code
# Every folder under locales/ is a language the bot answers in (tests/test_language_data.py
# checks they are the registered languages).
LANGUAGES = tuple(sorted(path.name for path in LOCALES.iterdir()
                         if (path / "LC_MESSAGES" / "messages.po").is_file()))


@dataclass(frozen=True, slots=True)
class _Catalog:
    messages: dict[str, str | tuple[str, ...]]
    plural: Callable[[int], int]


@cache
def _catalog(lang: str) -> _Catalog:
    path = LOCALES / lang / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=lang)
    messages: dict[str, str | tuple[str, ...]] = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, (list, tuple)) else message.id
        value = message.string
        messages[str(key)] = tuple(value) if isinstance(value, (list, tuple)) else str(value)
    return _Catalog(messages, gettext.c2py(catalog.plural_expr))


# The message keys (the default catalog's); every language's catalog has the same keys.
MESSAGES = frozenset(_catalog(DEFAULT_LANGUAGE).messages)


def has_message(key: str) -> bool:
    """Whether `key` names a message (rather than being plain text such as an item name)."""
    return key in MESSAGES


def _template(key: str, lang: str, count: Any = None) -> str:
    catalog = _catalog(lang if lang in LANGUAGES else DEFAULT_LANGUAGE)
    value = catalog.messages.get(key)
    if value is None:
        value = _catalog(DEFAULT_LANGUAGE).messages[key]
        catalog = _catalog(DEFAULT_LANGUAGE)
    if isinstance(value, tuple):
        number = int(count) if isinstance(count, (int, float)) else 0
        return value[min(catalog.plural(abs(number)), len(value) - 1)]
    return value


def _format_value(value: Any, lang: str, tz: str = "Asia/Jerusalem") -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, (list, tuple)):
        separator = _template("list_separator", lang)
        return separator.join(html.escape(str(v), quote=False) for v in value)
    return html.escape(str(value), quote=False)


def text(key: str, lang: str, tz: str | None = None, **params: Any) -> str:
    """One message in one language, every parameter escaped for HTML; times in `tz` (the
    group's own time zone), Asia/Jerusalem unless it has another."""
    template = _template(key, lang, params.get("count"))
    zone = tz or "Asia/Jerusalem"
    return template.format(**{name: _format_value(v, lang, zone) for name, v in params.items()})


def plain(key: str, lang: str, **params: Any) -> str:
    """A message as plain text, nothing escaped: a fragment that becomes a parameter of
    another message (which escapes it then), such as "2 eggs (now 5)" in a list of adds."""
    template = _template(key, lang, params.get("count"))
    return template.format(**{name: str(value) for name, value in params.items()})


def intent_name(label: str, lang: str) -> str:
    """A short, localized button label for an intent."""
    key = f"intent.{label}"
    return _template(key, lang) if key in MESSAGES else label


def _render_list(reply: Reply) -> str:
    lang = reply.lang
    lines = [text("list_header", lang, title=reply.params["title"],
                  count=reply.params["count"])]
    sections: Sequence[tuple[str, Sequence[tuple[int, str]]]] = reply.params["sections"]
    for category, entries in sections:
        lines.append("")
        key = f"category.{category}"
        title = _template(key if key in MESSAGES else "category.other", lang)
        lines.append(f"<b>{title}</b>")
        lines.extend(f"• {html.escape(entry, quote=False)}" for _id, entry in entries)
    return "\n".join(lines)


def _render_digest(reply: Reply) -> str:
    lang = reply.lang
    lines = []
    for entry in reply.params["entries"]:
        key = f"digest.{entry['kind']}"
        template = _template(key if key in MESSAGES else "digest.update", lang,
                             len(entry["items"]))
        line = "• " + template.format(
            user=_format_value(entry["user"], lang), items=_format_value(entry["items"], lang),
            count=len(entry["items"]))
        if entry.get("list"):
            line += " " + text("digest_on_list", lang, name=entry["list"])
        lines.append(line)
    return _template("digest", lang).format(
        title=_format_value(reply.params["title"], lang), lines="\n".join(lines))


def render(reply: Reply) -> str:
    """The reply's text as Telegram HTML; empty when the reply says nothing.

    A message that asked for two things carries the earlier answers in `before`; they come
    first, in the order asked.
    """
    if reply.key is None:
        return ""
    if reply.key == "list":
        body = _render_list(reply)
    elif reply.key == "digest":
        body = _render_digest(reply)
    else:
        body = _render_text(reply.key, reply.lang, reply.params, reply.tz)
    return "\n\n".join([*(render(r) for r in reply.before), body])


# Replies that may add the named items they did not find, and how they say so.
_MISSING = {"removed": "removed_missing", "ticked": "ticked_missing"}


def _render_text(key: str, lang: str, params: dict[str, Any], tz: str | None) -> str:
    body = text(key, lang, tz, **params)
    if key in _MISSING and params.get("missing"):
        body += " " + text(_MISSING[key], lang, missing=params["missing"])
    return body


def button_text(button: Button, lang: str) -> str:
    """A button's label; intent buttons get the intent's localized name."""
    if button.key == "btn_pick":
        return intent_name(str(button.params.get("intent", "")), lang)
    label = _template(button.key, lang, button.params.get("count"))
    params = {name: str(value)[:40] for name, value in button.params.items()}
    # Button labels are plain text, not HTML: no escaping here.
    return label.format(**params)
