"""Logging set up once for every subcommand, with secrets and users' words kept out.

A `logging.Filter` on the root handlers sees every record of every logger (ours, PTB's,
httpx's, openai's, SQLAlchemy's), so nothing depends on knowing which library logs what:
the bot token, API keys, `user:pass@` in URLs and Authorization headers are redacted from
the message and from any traceback. The words of the update being handled appear only at
DEBUG: above it they are replaced, tracebacks included.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

__all__ = [
    "REDACTED",
    "JsonFormatter",
    "RedactingFilter",
    "configure_logging",
    "handling_text",
    "redact",
    "remember_user_text",
]

REDACTED = "***"
USER_TEXT = "‹user text›"

# The text of the update this task is handling, for the filter to keep out of logs.
_current_text: ContextVar[str | None] = ContextVar("shopbot_user_text", default=None)

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # A Bot API token anywhere, with or without the `bot` prefix of Bot API URLs.
    (re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}"), REDACTED),
    # Credentials in a URL: scheme://user:pass@host or scheme://token@host.
    (re.compile(r"(?i)([a-z][a-z0-9+.-]*://)[^/\s@'\"<>]+@"), rf"\1{REDACTED}@"),
    # Authorization headers and their values in any quoting: 'Bearer sk-…', Basic ….
    (re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:bearer\s+|basic\s+)?[^\s'\",}]+"),
     rf"\1{REDACTED}"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # key=value and "key": "value" for anything named like a secret.
    (re.compile(r"(?i)((?:api[_-]?key|x-api-key|access[_-]?token|secret[_-]?token|secret"
                r"|password|passwd|token)['\"]?\s*[:=]\s*['\"]?)[^\s'\",&}]+"),
     rf"\1{REDACTED}"),
    # OpenAI-style keys that reach a log without a name next to them.
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}"), REDACTED),
)


def redact(message: str, secrets: Iterable[str] = ()) -> str:
    """`message` with the given secrets and anything shaped like a credential removed."""
    for secret in secrets:
        if secret:
            message = message.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        message = pattern.sub(replacement, message)
    return message


def remember_user_text(text: str) -> None:
    """From here to the end of this task (one update's), `text` is logged only at DEBUG."""
    _current_text.set(text if len(text.strip()) >= 3 else None)


@contextmanager
def handling_text(text: str) -> Iterator[None]:
    """Within this block (this task), `text` is a user's words: logged only at DEBUG."""
    token = _current_text.set(text if len(text.strip()) >= 3 else None)
    try:
        yield
    finally:
        _current_text.reset(token)


class RedactingFilter(logging.Filter):
    """Rewrites each record in place: secrets out at every level, user text out above DEBUG.

    The record's message is formatted here once and its traceback rendered to text here,
    so the handler's formatter prints only what passed through `redact`.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        # Longest first, so a secret that contains another is replaced whole.
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)
        self._formatter = logging.Formatter()

    def _clean(self, value: str, level: int) -> str:
        value = redact(value, self.secrets)
        text = _current_text.get()
        if text and level > logging.DEBUG:
            value = value.replace(text, USER_TEXT).replace(text.strip(), USER_TEXT)
        return value

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: still log what there is
            message = str(record.msg)
        record.msg = self._clean(message, record.levelno)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._clean(record.exc_text, record.levelno)
        if record.stack_info:
            record.stack_info = self._clean(record.stack_info, record.levelno)
        return True


FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object a line (SHOPBOT_LOG_FORMAT=json), for log collectors: time (UTC,
    ISO 8601), level, logger, message, process, and the traceback when there is one. It
    formats what the redacting filter has already cleaned."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str | int, secrets: Iterable[str] = (),
                      quiet: Iterable[str] = ("httpx", "httpcore", "apscheduler",
                                              "alembic"),
                      json_lines: bool = False) -> RedactingFilter:
    """Log to stderr at `level` (as JSON lines when asked), every root handler filtered;
    returns the filter.

    Libraries that log each HTTP request at INFO are held at WARNING unless `level` is
    DEBUG, where the filter still keeps their URLs and headers free of credentials.
    """
    root = logging.getLogger()
    if not root.handlers:
        stream = logging.StreamHandler(sys.stderr)
        stream.set_name("shopbot")
        root.addHandler(stream)
    for handler in root.handlers:
        if handler.get_name() == "shopbot":
            handler.setFormatter(JsonFormatter() if json_lines else logging.Formatter(FORMAT))
    root.setLevel(level)
    redacting = RedactingFilter(secrets)
    for handler in root.handlers:
        for old in [f for f in handler.filters if isinstance(f, RedactingFilter)]:
            handler.removeFilter(old)
        handler.addFilter(redacting)
    debug = root.getEffectiveLevel() <= logging.DEBUG
    for name in quiet:
        logging.getLogger(name).setLevel(logging.DEBUG if debug else logging.WARNING)
    return redacting
