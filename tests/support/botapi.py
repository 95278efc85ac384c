"""A Telegram Bot API emulator over real HTTP on loopback, for end-to-end bot tests.

`BotApiEmulator` serves `http://127.0.0.1:PORT/bot<token>/<method>` from a background
thread (a `ThreadingHTTPServer`), so python-telegram-bot running on its own asyncio loop,
in this process or another, talks to it as it would to api.telegram.org. The behaviour
follows https://core.telegram.org/bots/api for the methods it serves: the answer envelope
`{"ok": ..., "result" | "error_code", "description", "parameters"}`, Telegram HTML parsing
(with the real server's error texts), message length and emptiness checks, "message is not
modified", long polling with offset confirmation, and the 401/403/404/409/429 cases.

The test side injects updates (`send_text`, `press_button`, `edit_text`, `add_bot_to_group`,
`new_members`, `join_group`, `leave_group`, `remove_bot`, `migrate_to_supergroup`), keeps
who is in which group with what status (`set_status`, served by `getChatMember`; a
`chat_member` update reaches only a bot that is an administrator there and asked for it, as
on Telegram), inspects what the bot did (`sent`, `calls`, `reactions`, `commands`,
`answered_callbacks`, `wait_for`, `documents`, `downloads`) and injects failures (`fail_next`).
Files: `sendDocument` takes multipart uploads (and known file ids), `send_voice` puts a voice
note's bytes where `getFile` and `/file/bot<token>/<path>` serve them.

Standard library only.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dtm
import itertools
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable
from email import policy
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

__all__ = ["ApiError", "BotApiEmulator", "parse_html"]

JSONDict = dict[str, Any]

NOT_MODIFIED = ("message is not modified: specified new message content and "
                "reply markup are exactly the same as a current content and reply markup "
                "of the message")
QUERY_INVALID = ("query is too old and response timeout expired or query ID "
                 "is invalid")
POLL_CONFLICT = ("Conflict: terminated by other getUpdates request; make sure that only one "
                 "bot instance is running")
MAX_TEXT = 4096

# Update types delivered when allowed_updates was never set (or set to []).
DEFAULT_EXCLUDED_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}

CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}

# ReactionTypeEmoji's documented emoji, compared without variation selectors.
REACTION_EMOJI = {e.replace("\ufe0f", "") for e in (
    "👍", "👎", "❤", "🔥", "🥰", "👏", "😁", "🤔", "🤯", "😱", "🤬", "😢", "🎉", "🤩", "🤮",
    "💩", "🙏", "👌", "🕊", "🤡", "🥱", "🥴", "😍", "🐳", "❤‍🔥", "🌚", "🌭", "💯", "🤣", "⚡",
    "🍌", "🏆", "💔", "🤨", "😐", "🍓", "🍾", "💋", "🖕", "😈", "😴", "😭", "🤓", "👻",
    "👨‍💻", "👀", "🎃", "🙈", "😇", "😨", "🤝", "✍", "🤗", "🫡", "🎅", "🎄", "☃", "💅",
    "🤪", "🗿", "🆒", "💘", "🙉", "🦄", "😘", "💊", "🙊", "😎", "👾", "🤷‍♂", "🤷", "🤷‍♀",
    "😡",
)}

# Parameters that are plain strings; every other form field is JSON-decoded when it can be
# (python-telegram-bot sends non-string values JSON-encoded inside form fields).
STRING_FIELDS = {
    "text", "parse_mode", "callback_query_id", "url", "language_code", "action",
    "business_connection_id", "message_effect_id", "inline_message_id", "description",
    "short_description", "name", "caption", "title", "emoji", "secret_token", "ip_address",
}

COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")
BOT_COMMAND_RE = re.compile(r"(?<![\w/@])/[A-Za-z0-9_]{1,64}(?:@[A-Za-z0-9_]{3,32})?(?![\w/@])")
MENTION_RE = re.compile(r"(?<![\w@])@[A-Za-z0-9_]{3,32}(?![\w@])")
URL_RE = re.compile(r"(?<![\w@])https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'}]")


class ApiError(Exception):
    """An error answer: `{"ok": false, "error_code": ..., "description": ...}`."""

    def __init__(self, error_code: int, description: str,
                 parameters: JSONDict | None = None) -> None:
        super().__init__(f"{error_code} {description}")
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def payload(self) -> JSONDict:
        body: JSONDict = {"ok": False, "error_code": self.error_code,
                          "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


# --------------------------------------------------------------------------- text tools


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode_entity(text: str, i: int) -> tuple[str, int] | None:
    """The character of the HTML entity at text[i] == '&' and the index after it."""
    end = text.find(";", i + 1, i + 12)
    if end < 0:
        return None
    body = text[i + 1:end]
    named = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
    if body in named:
        return named[body], end + 1
    code: int | None = None
    if re.fullmatch(r"#[0-9]{1,8}", body):
        code = int(body[1:])
    elif re.fullmatch(r"#[xX][0-9a-fA-F]{1,7}", body):
        code = int(body[2:], 16)
    if code is None or code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    return chr(code), end + 1


HTML_TAGS = {"a", "b", "strong", "i", "em", "s", "strike", "del", "u", "ins", "tg-spoiler",
             "tg-emoji", "span", "pre", "code", "blockquote"}
TAG_ENTITY = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
              "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
              "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler",
              "code": "code", "pre": "pre"}


def parse_html(text: str) -> tuple[str, list[JSONDict]]:
    """Telegram's HTML parse mode: the visible text and its entities (UTF-16 offsets).

    Mirrors tdlib's parser, including its error texts; raises ApiError 400
    "Bad Request: can't parse entities: ..." for malformed input.
    """

    def fail(reason: str) -> ApiError:
        return bad_request(f"can't parse entities: {reason}")

    def byte_offset(index: int) -> int:
        return len(text[:index].encode("utf-8"))

    out: list[str] = []
    length16 = 0  # UTF-16 length of the visible text so far
    stack: list[JSONDict] = []
    entities: list[JSONDict] = []
    n = len(text)
    i = 0

    def at(k: int) -> str:
        return text[k] if k < n else ""

    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_entity(text, i)
            if decoded is not None:
                out.append(decoded[0])
                length16 += utf16_len(decoded[0])
                i = decoded[1]
                continue
        if c != "<":
            out.append(c)
            length16 += utf16_len(c)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) != "/":
            start = i
            while i < n and not at(i).isspace() and at(i) != ">":
                i += 1
            if i >= n:
                raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[start:i].lower()
            if tag not in HTML_TAGS:
                raise fail(f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}')
            argument = ""
            while at(i) != ">":
                while i < n and at(i).isspace():
                    i += 1
                if at(i) == ">":
                    break
                if i >= n:
                    raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attr_start = i
                while i < n and not at(i).isspace() and at(i) not in "=>":
                    i += 1
                attribute = text[attr_start:i]
                if not attribute:
                    raise fail(f'Empty attribute name in the tag "{tag}" at byte offset '
                               f"{byte_offset(begin)}")
                while i < n and at(i).isspace():
                    i += 1
                if at(i) != "=":
                    if tag == "blockquote" and attribute.lower() == "expandable":
                        argument = "expandable"
                        continue
                    raise fail("Expected equal sign in declaration of an attribute of the tag "
                               f'"{tag}" at byte offset {byte_offset(begin)}')
                i += 1
                while i < n and at(i).isspace():
                    i += 1
                if i >= n:
                    raise fail(f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}')
                value_chars: list[str] = []
                if at(i) not in "'\"":
                    token_start = i
                    while i < n and (at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_start:i].lower()
                    if not at(i).isspace() and at(i) != ">":
                        raise fail("Unexpected end of name token at byte offset "
                                   f"{byte_offset(token_start)}")
                else:
                    quote = text[i]
                    i += 1
                    while i < n and text[i] != quote:
                        if text[i] == "&":
                            decoded = _decode_entity(text, i)
                            if decoded is not None:
                                value_chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        value_chars.append(text[i])
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(value_chars)
                if i >= n:
                    raise fail(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                name = attribute.lower()
                if (tag == "a" and name == "href") or (tag == "tg-emoji" and name == "emoji-id"):
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[len("language-"):]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[len("tg-"):]
            if tag == "span" and argument != "spoiler":
                raise fail(f'Tag "span" must have class "tg-spoiler" at byte offset '
                           f"{byte_offset(begin)}")
            stack.append({"tag": tag, "argument": argument, "offset": length16})
            i += 1  # the '>'
            continue
        # an end tag
        if not stack:
            raise fail(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        i += 1
        name_start = i
        while i < n and not at(i).isspace() and at(i) != ">":
            i += 1
        end_name = text[name_start:i].lower()
        while i < n and at(i).isspace():
            i += 1
        if at(i) != ">":
            raise fail(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        opened = stack.pop()
        if end_name and end_name != opened["tag"]:
            raise fail(f"Unmatched end tag at byte offset {byte_offset(begin)}, expected "
                       f'"</{opened["tag"]}>", found "</{end_name}>"')
        entity = _entity_for(opened, length16, stack)
        if entity is not None:
            entities.append(entity)
    if stack:
        raise fail(f'Can\'t find end tag corresponding to start tag "{stack[-1]["tag"]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _entity_for(opened: JSONDict, end16: int, stack: list[JSONDict]) -> JSONDict | None:
    tag, argument, offset = opened["tag"], opened["argument"], opened["offset"]
    length = end16 - offset
    if length <= 0:
        return None
    if tag == "code" and argument and stack and stack[-1]["tag"] == "pre" \
            and stack[-1]["offset"] == offset:
        stack[-1]["language"] = argument  # <pre><code class="language-x"> is one pre entity
        return None
    if tag == "a":
        if not argument:
            return None
        user = re.fullmatch(r"tg://user\?id=(\d+)", argument)
        if user:
            return {"type": "text_mention", "offset": offset, "length": length,
                    "user": {"id": int(user.group(1)), "is_bot": False, "first_name": ""}}
        return {"type": "text_link", "offset": offset, "length": length, "url": argument}
    if tag == "blockquote":
        kind = "expandable_blockquote" if argument else "blockquote"
        return {"type": kind, "offset": offset, "length": length}
    if tag == "tg-emoji":
        if not argument:
            return None
        return {"type": "custom_emoji", "offset": offset, "length": length,
                "custom_emoji_id": argument}
    entity: JSONDict = {"type": TAG_ENTITY[tag], "offset": offset, "length": length}
    if tag == "pre" and opened.get("language"):
        entity["language"] = opened["language"]
    return entity


def _strip(text: str, entities: list[JSONDict]) -> tuple[str, list[JSONDict]]:
    """Trim surrounding whitespace as the server does, moving and clipping entities."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    lead = utf16_len(text[:len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    kept = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


def detect_entities(text: str) -> list[JSONDict]:
    """The entities the server detects by itself: bot commands, @mentions, URLs."""
    found: list[JSONDict] = []
    for kind, pattern in (("bot_command", BOT_COMMAND_RE), ("mention", MENTION_RE),
                          ("url", URL_RE)):
        for match in pattern.finditer(text):
            found.append({"type": kind, "offset": utf16_len(text[:match.start()]),
                          "length": utf16_len(match.group())})
    found.sort(key=lambda e: (e["offset"], -e["length"]))
    return found


def _merge_entities(explicit: list[JSONDict], detected: list[JSONDict]) -> list[JSONDict]:
    def overlaps(a: JSONDict, b: JSONDict) -> bool:
        return bool(a["offset"] < b["offset"] + b["length"]
                    and b["offset"] < a["offset"] + a["length"])

    blocking = [e for e in explicit if e["type"] in ("code", "pre", "text_link", "text_mention")]
    merged = list(explicit) + [d for d in detected if not any(overlaps(d, e) for e in blocking)]
    merged.sort(key=lambda e: (e["offset"], -e["length"]))
    return merged


# --------------------------------------------------------------------------- params


def _coerce_form(key: str, value: str) -> Any:
    if key in STRING_FIELDS:
        return value
    if key in ("chat_id", "from_chat_id"):
        return int(value) if re.fullmatch(r"-?\d+", value) else value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _as_int(params: JSONDict, key: str, default: int | None = None) -> int | None:
    value = params.get(key)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise bad_request(f"wrong parameter {key} in request")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    raise bad_request(f"wrong parameter {key} in request")


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1")
    return bool(value)


def _as_json(params: JSONDict, key: str) -> Any:
    value = params.get(key)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _parse_body(content_type: str, body: bytes) -> JSONDict:
    ctype = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if ctype == "application/json":
        try:
            data = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        if not isinstance(data, dict):
            raise bad_request("can't parse JSON object")
        return data
    if ctype == "multipart/form-data":
        header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
        params: JSONDict = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            raw = part.get_payload(decode=True)
            payload = raw if isinstance(raw, bytes) else b""
            filename = part.get_filename()
            if filename is not None:
                params[str(name)] = _Upload(filename, payload, part.get_content_type())
            else:
                params[str(name)] = _coerce_form(str(name), payload.decode("utf-8", "replace"))
        return params
    # application/x-www-form-urlencoded (and anything else, like the real server)
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return {key: _coerce_form(key, value) for key, value in pairs}


class _Upload(dict[str, Any]):
    """A file sent in a multipart request: compares as `{"filename", "size"}`; the bytes and
    the declared type ride along for sendDocument."""

    def __init__(self, filename: str, content: bytes, mime: str) -> None:
        super().__init__(filename=filename, size=len(content))
        self.content = content
        self.mime = mime


# Telegram's limits on files: what a bot may download (getFile) and upload (sendDocument).
DOWNLOAD_LIMIT = 20 * 1024 * 1024
UPLOAD_LIMIT = 50 * 1024 * 1024


# --------------------------------------------------------------------------- emulator


def _chat_member(user: JSONDict, status: str) -> JSONDict:
    """A ChatMember object of the given status with the fields Telegram sends for it."""
    member: JSONDict = {"status": status, "user": user}
    if status == "creator":
        member["is_anonymous"] = False
    elif status == "administrator":
        member.update({key: key in ("can_manage_chat", "can_delete_messages",
                                    "can_restrict_members", "can_invite_users")
                       for key in ("can_be_edited", "is_anonymous", "can_manage_chat",
                                   "can_delete_messages", "can_manage_video_chats",
                                   "can_restrict_members", "can_promote_members",
                                   "can_change_info", "can_invite_users", "can_post_stories",
                                   "can_edit_stories", "can_delete_stories")})
    elif status == "kicked":
        member["until_date"] = 0
    return member


def _update_kind(update: JSONDict) -> str:
    return next((key for key in update if key != "update_id"), "")


def _timestamp(date: int | float | dtm.datetime | None) -> int:
    if date is None:
        return int(time.time())
    if isinstance(date, dtm.datetime):
        if date.tzinfo is None:
            date = date.replace(tzinfo=dtm.UTC)
        return int(date.timestamp())
    return int(date)


class _QuietServer(ThreadingHTTPServer):
    """A client that went away mid-request (a bot killed with SIGKILL) is no error here."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionResetError, BrokenPipeError)):
            return
        super().handle_error(request, client_address)


class BotApiEmulator:
    """A Bot API server for one bot; see the module docstring."""

    def __init__(self, token: str = "123:TEST", bot_username: str = "shopbot_test_bot", *,
                 first_name: str = "ShopBot", can_read_all_group_messages: bool = True) -> None:
        self.token = token
        prefix = token.split(":", 1)[0]
        self.bot_id = int(prefix) if prefix.isdigit() else 1_000_000
        self.bot_username = bot_username
        self._me: JSONDict = {
            "id": self.bot_id, "is_bot": True, "first_name": first_name,
            "username": bot_username, "can_join_groups": True,
            "can_read_all_group_messages": can_read_all_group_messages,
            "supports_inline_queries": False, "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self._lock = threading.RLock()
        self._cond = threading.Condition(self._lock)
        self._updates: list[JSONDict] = []
        self._next_update_id = 1
        self._allowed: list[str] | None = None
        self._poll_gen = 0
        self._closing = False
        self._users: dict[int, JSONDict] = {}
        self._chats: dict[int, JSONDict] = {}
        self._bot_member: dict[int, bool] = {}
        self._bot_admin: dict[int, bool] = {}
        self._statuses: dict[int, dict[int, str]] = {}  # chat -> user -> status
        self._migrated: dict[int, int] = {}  # old group id -> its supergroup's id
        self._blocked: set[int] = set()
        self._messages: dict[int, dict[int, JSONDict]] = {}  # chat -> id -> record
        self._next_message_id: dict[int, int] = {}
        self._order = itertools.count()
        self._callback_ids = itertools.count(1)
        self._callbacks: dict[str, bool] = {}  # id -> answered
        self._answered: list[JSONDict] = []
        self._reactions: dict[int, dict[int, list[JSONDict]]] = {}
        self._commands: dict[tuple[str, str], list[JSONDict]] = {}
        self._calls: list[tuple[str, JSONDict]] = []
        self._failures: dict[str, list[ApiError]] = {}
        self._files: dict[str, JSONDict] = {}  # file_id -> {content, path, unique}
        self._file_ids = itertools.count(1)
        self._downloads: list[str] = []  # file paths fetched from /file/bot<token>/
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._connections: set[socket.socket] = set()
        self._methods: dict[str, tuple[str, Callable[[JSONDict], Any]]] = {
            name.lower(): (name, handler) for name, handler in (
                ("getMe", self._get_me), ("getUpdates", self._get_updates),
                ("deleteWebhook", self._delete_webhook),
                ("getWebhookInfo", self._get_webhook_info),
                ("setMyCommands", self._set_my_commands),
                ("getMyCommands", self._get_my_commands),
                ("deleteMyCommands", self._delete_my_commands),
                ("sendMessage", self._send_message),
                ("editMessageText", self._edit_message_text),
                ("editMessageReplyMarkup", self._edit_message_reply_markup),
                ("deleteMessage", self._delete_message),
                ("answerCallbackQuery", self._answer_callback_query),
                ("setMessageReaction", self._set_message_reaction),
                ("sendChatAction", self._send_chat_action), ("getChat", self._get_chat),
                ("leaveChat", self._leave_chat), ("close", lambda p: True),
                ("getChatMember", self._get_chat_member),
                ("sendDocument", self._send_document), ("getFile", self._get_file),
                ("logOut", lambda p: True),
            )
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> BotApiEmulator:
        if self._server is not None:
            raise RuntimeError("the emulator is already started")
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; with Nagle on, the client's delayed
            # ACK adds 40 ms to every keep-alive call.
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                return

            def setup(self) -> None:
                super().setup()
                with emulator._lock:
                    emulator._connections.add(self.connection)

            def finish(self) -> None:
                try:
                    super().finish()
                finally:
                    with emulator._lock:
                        emulator._connections.discard(self.connection)

            def do_GET(self) -> None:
                self._serve(b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._serve(self.rfile.read(length) if length else b"")

            def _serve(self, body: bytes) -> None:
                url = urlsplit(self.path)
                if url.path.startswith("/file/bot"):
                    self._serve_file(url.path)
                    return
                status, payload = emulator._handle(
                    url.path, self.headers.get("Content-Type", ""), body, url.query)
                data = json.dumps(payload, ensure_ascii=False).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True  # the client went away

            def _serve_file(self, path: str) -> None:
                status, data = emulator._download(path)
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/octet-stream")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:
                    self.close_connection = True

        server = _QuietServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = False  # server_close() joins the request threads
        self._server = server
        self._closing = False
        self._thread = threading.Thread(target=server.serve_forever, kwargs={
            "poll_interval": 0.05}, name="botapi-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        with self._cond:
            self._closing = True
            self._cond.notify_all()  # long polls answer at once
        server.shutdown()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:  # idle keep-alive connections end their threads
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> BotApiEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("the emulator is not started")
        return f"http://127.0.0.1:{self._server.server_address[1]}/bot"

    @property
    def file_url(self) -> str:
        """Where files are downloaded from, in python-telegram-bot's `base_file_url` form."""
        return self.base_url.removesuffix("/bot") + "/file/bot"

    @property
    def me(self) -> JSONDict:
        """The bot's User object as getMe answers it."""
        return copy.deepcopy(self._me)

    # ----------------------------------------------------------------- HTTP dispatch

    def _handle(self, path: str, content_type: str, body: bytes,
                query: str) -> tuple[int, JSONDict]:
        match = re.fullmatch(r"/bot([^/]*)/([^/]*)/?", path)
        if match is None:
            return 404, ApiError(404, "Not Found").payload()
        token, method = match.groups()
        if token != self.token:
            return 401, ApiError(401, "Unauthorized").payload()
        try:
            params = {key: _coerce_form(key, value)
                      for key, value in parse_qsl(query, keep_blank_values=True)}
            params.update(_parse_body(content_type, body))
        except ApiError as error:
            return error.error_code, error.payload()
        known = self._methods.get(method.lower())
        name = known[0] if known else method
        with self._cond:
            self._calls.append((name, copy.deepcopy(params)))
            failures = self._failures.get(name.lower())
            failure = failures.pop(0) if failures else None
            self._cond.notify_all()
        if failure is not None:
            return failure.error_code, failure.payload()
        if known is None:
            return 404, ApiError(404, "Not Found").payload()
        try:
            result = known[1](params)
        except ApiError as error:
            return error.error_code, error.payload()
        return 200, {"ok": True, "result": result}

    # ----------------------------------------------------------------- shared helpers

    def _enqueue(self, payload: JSONDict) -> JSONDict:
        with self._cond:
            update = {"update_id": self._next_update_id, **copy.deepcopy(payload)}
            self._next_update_id += 1
            self._updates.append(update)
            self._cond.notify_all()
            return copy.deepcopy(update)

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _store(self, message: JSONDict, outgoing: bool) -> JSONDict:
        record = {"message": message, "outgoing": outgoing, "edits": 0, "deleted": False,
                  "order": next(self._order)}
        self._messages.setdefault(message["chat"]["id"], {})[message["message_id"]] = record
        return record

    def _record(self, chat_id: int, message_id: int) -> JSONDict | None:
        record = self._messages.get(chat_id, {}).get(message_id)
        return record if record is not None and not record["deleted"] else None

    def _resolve_chat(self, params: JSONDict, *, sending: bool = True) -> JSONDict:
        """The chat named by chat_id, checked as the server checks a send."""
        chat_id = params.get("chat_id")
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        if isinstance(chat_id, str):
            if re.fullmatch(r"-?\d+", chat_id):
                chat_id = int(chat_id)
            else:
                username = chat_id.lstrip("@").lower()
                chat = next((c for c in self._chats.values()
                             if (c.get("username") or "").lower() == username), None)
                if chat is None:
                    raise bad_request("chat not found")
                chat_id = chat["id"]
        if not isinstance(chat_id, int) or isinstance(chat_id, bool):
            raise bad_request("chat not found")
        chat = self._chats.get(chat_id)
        if chat is None:
            if chat_id in self._users and sending:
                raise ApiError(403, "Forbidden: bot can't initiate conversation with a user")
            raise bad_request("chat not found")
        if sending:
            if chat_id in self._migrated:
                raise ApiError(400, "Bad Request: group chat was upgraded to a supergroup chat",
                               {"migrate_to_chat_id": self._migrated[chat_id]})
            if chat["type"] == "private" and chat_id in self._blocked:
                raise ApiError(403, "Forbidden: bot was blocked by the user")
            if chat["type"] != "private" and not self._bot_member.get(chat_id, False):
                kind = "supergroup" if chat["type"] == "supergroup" else "group"
                raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
        return chat

    def _prepare_text(self, params: JSONDict) -> tuple[str, list[JSONDict]]:
        raw = params.get("text")
        if raw is None or raw == "":
            raise bad_request("message text is empty")
        text = raw if isinstance(raw, str) else json.dumps(raw)
        parse_mode = params.get("parse_mode")
        explicit: list[JSONDict] = []
        if parse_mode:
            mode = str(parse_mode)
            if mode.lower() == "html":
                text, explicit = parse_html(text)
            elif mode.lower() not in ("markdown", "markdownv2"):
                raise bad_request(f"unsupported parse_mode {mode}")
            # Markdown modes are accepted as plain text by this emulator.
        else:
            given = _as_json(params, "entities")
            if isinstance(given, list):
                explicit = [dict(e) for e in given if isinstance(e, dict)]
        text, explicit = _strip(text, explicit)
        if not text:
            raise bad_request("message text is empty")
        if len(text) > MAX_TEXT:
            raise bad_request("message is too long")
        return text, _merge_entities(explicit, detect_entities(text))

    @staticmethod
    def _check_markup(params: JSONDict) -> JSONDict | None:
        """The inline keyboard to attach (None for none); other markups are accepted."""
        markup = _as_json(params, "reply_markup")
        if markup is None or markup == "":
            return None
        if not isinstance(markup, dict):
            raise bad_request("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" not in markup:
            if not any(k in markup for k in ("keyboard", "remove_keyboard", "force_reply")):
                raise bad_request("can't parse reply keyboard markup JSON object")
            return None
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard markup JSON object")
        actions = ("callback_data", "url", "web_app", "login_url", "switch_inline_query",
                   "switch_inline_query_current_chat", "switch_inline_query_chosen_chat",
                   "copy_text", "callback_game", "pay")
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise bad_request("can't parse inline keyboard button: Field \"text\" "
                                      "must be of type String")
                if not any(key in button for key in actions):
                    raise bad_request("can't parse inline keyboard button: Text buttons are "
                                      "unallowed in the inline keyboard")
                data = button.get("callback_data")
                if data is not None and not (1 <= len(str(data).encode()) <= 64):
                    raise bad_request("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"^(https?|tg)://\S+$", str(url)):
                    raise bad_request("BUTTON_URL_INVALID")
        if not any(rows):
            return None
        return {"inline_keyboard": rows}

    def _public(self, record: JSONDict) -> JSONDict:
        return copy.deepcopy(record["message"])

    def _reply_target(self, chat_id: int, message_id: int) -> JSONDict | None:
        record = self._record(chat_id, message_id)
        if record is None:
            return None
        target: JSONDict = copy.deepcopy(record["message"])
        target.pop("reply_to_message", None)
        return target

    # ----------------------------------------------------------------- methods

    def _get_me(self, params: JSONDict) -> JSONDict:
        return copy.deepcopy(self._me)

    def _allowed_kinds(self) -> Callable[[str], bool]:
        allowed = self._allowed
        if not allowed:
            return lambda kind: kind not in DEFAULT_EXCLUDED_UPDATES
        chosen = set(allowed)
        return lambda kind: kind in chosen

    def _get_updates(self, params: JSONDict) -> list[JSONDict]:
        offset = _as_int(params, "offset", 0) or 0
        limit = min(max(_as_int(params, "limit", 100) or 100, 1), 100)
        timeout = max(_as_int(params, "timeout", 0) or 0, 0)
        allowed = _as_json(params, "allowed_updates")
        deadline = time.monotonic() + timeout
        with self._cond:
            self._poll_gen += 1
            generation = self._poll_gen
            self._cond.notify_all()  # an older long poll is terminated (409)
            if isinstance(allowed, list):
                self._allowed = [str(kind) for kind in allowed]
            if offset > 0:
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
            elif offset < 0:
                self._updates = self._updates[offset:]
            while True:
                if self._poll_gen != generation:
                    raise ApiError(409, POLL_CONFLICT)
                wanted = self._allowed_kinds()
                ready = [u for u in self._updates if wanted(_update_kind(u))][:limit]
                remaining = deadline - time.monotonic()
                if ready or self._closing or remaining <= 0:
                    return copy.deepcopy(ready)
                self._cond.wait(remaining)

    def _delete_webhook(self, params: JSONDict) -> bool:
        if _as_bool(params.get("drop_pending_updates", False)):
            with self._cond:
                self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSONDict) -> JSONDict:
        with self._lock:
            pending = len(self._updates)
        return {"url": "", "has_custom_certificate": False, "pending_update_count": pending}

    @staticmethod
    def _scope_key(params: JSONDict) -> tuple[str, str]:
        scope = _as_json(params, "scope") or {"type": "default"}
        if not isinstance(scope, dict) or "type" not in scope:
            raise bad_request("can't parse BotCommandScope JSON object")
        kind = str(scope["type"])
        known = ("default", "all_private_chats", "all_group_chats", "all_chat_administrators",
                 "chat", "chat_administrators", "chat_member")
        if kind not in known:
            raise bad_request("wrong parameter scope in request")
        key = kind
        if kind.startswith("chat"):
            if "chat_id" not in scope:
                raise bad_request("chat_id is empty")
            key += f":{scope['chat_id']}"
        if kind == "chat_member":
            if "user_id" not in scope:
                raise bad_request("user_id is empty")
            key += f":{scope['user_id']}"
        language = params.get("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", str(language)):
            raise bad_request("invalid language code specified")
        return key, str(language)

    def _set_my_commands(self, params: JSONDict) -> bool:
        commands = _as_json(params, "commands")
        if not isinstance(commands, list):
            raise bad_request("can't parse commands JSON array")
        if len(commands) > 100:
            raise bad_request("BOT_COMMANDS_TOO_MUCH")
        cleaned = []
        for command in commands:
            if not isinstance(command, dict):
                raise bad_request("can't parse BotCommand JSON object")
            name = str(command.get("command", "")).lstrip("/")
            description = str(command.get("description", ""))
            if not COMMAND_RE.fullmatch(name):
                raise bad_request("BOT_COMMAND_INVALID")
            if not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
            cleaned.append({"command": name, "description": description})
        key = self._scope_key(params)
        with self._lock:
            if cleaned:
                self._commands[key] = cleaned
            else:
                self._commands.pop(key, None)
        return True

    def _get_my_commands(self, params: JSONDict) -> list[JSONDict]:
        key = self._scope_key(params)
        with self._lock:
            return copy.deepcopy(self._commands.get(key, []))

    def _delete_my_commands(self, params: JSONDict) -> bool:
        key = self._scope_key(params)
        with self._lock:
            self._commands.pop(key, None)
        return True

    def _send_message(self, params: JSONDict) -> JSONDict:
        with self._cond:
            chat = self._resolve_chat(params)
            text, entities = self._prepare_text(params)
            markup = self._check_markup(params)
            reply_to: JSONDict | None = None
            reply = _as_json(params, "reply_parameters")
            if reply is not None and not isinstance(reply, dict):
                raise bad_request("can't parse reply parameters JSON object")
            target_id = (reply or {}).get("message_id", params.get("reply_to_message_id"))
            if target_id not in (None, "", 0):
                allow = _as_bool((reply or {}).get(
                    "allow_sending_without_reply", params.get("allow_sending_without_reply")))
                target_chat = chat["id"]
                if reply and reply.get("chat_id") not in (None, ""):
                    target_chat = self._resolve_chat({"chat_id": reply["chat_id"]},
                                                     sending=False)["id"]
                try:
                    target_id = int(target_id)
                except (TypeError, ValueError):
                    raise bad_request("message to be replied not found") from None
                reply_to = self._reply_target(target_chat, target_id)
                if reply_to is None and not allow:
                    raise bad_request("message to be replied not found")
            message: JSONDict = {
                "message_id": self._new_message_id(chat["id"]),
                "from": copy.deepcopy(self._bot_user()),
                "chat": copy.deepcopy(chat),
                "date": int(time.time()),
            }
            if reply_to is not None:
                message["reply_to_message"] = reply_to
            message["text"] = text
            if entities:
                message["entities"] = entities
            preview = _as_json(params, "link_preview_options")
            if isinstance(preview, dict) and preview:
                message["link_preview_options"] = preview
            if _as_bool(params.get("protect_content", False)):
                message["has_protected_content"] = True
            if markup is not None:
                message["reply_markup"] = markup
            record = self._store(message, outgoing=True)
            record["disable_notification"] = _as_bool(params.get("disable_notification", False))
            self._cond.notify_all()
            return self._public(record)

    def _editable(self, params: JSONDict) -> JSONDict:
        if params.get("inline_message_id"):
            raise bad_request("MESSAGE_ID_INVALID")
        chat = self._resolve_chat(params, sending=False)
        message_id = _as_int(params, "message_id")
        if message_id is None:
            raise bad_request("message identifier is not specified")
        record = self._record(chat["id"], message_id)
        if record is None:
            raise bad_request("message to edit not found")
        if not record["outgoing"]:
            raise bad_request("message can't be edited")
        return record

    def _apply_edit(self, record: JSONDict, changes: JSONDict) -> JSONDict:
        message = record["message"]
        before = {key: message.get(key) for key in changes}
        if before == changes:
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        if "reply_markup" in message:  # keep the documented field order tidy
            message["reply_markup"] = message.pop("reply_markup")
        message["edit_date"] = int(time.time())
        record["edits"] += 1
        self._cond.notify_all()
        return self._public(record)

    def _edit_message_text(self, params: JSONDict) -> JSONDict:
        with self._cond:
            record = self._editable(params)
            text, entities = self._prepare_text(params)
            markup = self._check_markup(params)
            changes: JSONDict = {"text": text, "entities": entities or None,
                                 "reply_markup": markup}
            preview = _as_json(params, "link_preview_options")
            if isinstance(preview, dict) and preview:
                record["message"]["link_preview_options"] = preview
            return self._apply_edit(record, changes)

    def _edit_message_reply_markup(self, params: JSONDict) -> JSONDict:
        with self._cond:
            record = self._editable(params)
            return self._apply_edit(record, {"reply_markup": self._check_markup(params)})

    def _delete_message(self, params: JSONDict) -> bool:
        with self._cond:
            chat = self._resolve_chat(params, sending=False)
            message_id = _as_int(params, "message_id")
            if message_id is None:
                raise bad_request("message identifier is not specified")
            record = self._record(chat["id"], message_id)
            if record is None:
                raise bad_request("message to delete not found")
            if not record["outgoing"] and chat["type"] != "private":
                raise bad_request("message can't be deleted for everyone")
            record["deleted"] = True
            self._cond.notify_all()
            return True

    def _answer_callback_query(self, params: JSONDict) -> bool:
        query_id = params.get("callback_query_id")
        if query_id in (None, ""):
            raise bad_request("QUERY_ID_INVALID")
        query_id = str(query_id)
        with self._cond:
            if self._callbacks.get(query_id, True):
                raise bad_request(QUERY_INVALID)
            text = params.get("text")
            if text is not None and len(str(text)) > 200:
                raise bad_request("MESSAGE_TOO_LONG")
            self._callbacks[query_id] = True
            self._answered.append({
                "callback_query_id": query_id, "text": text,
                "show_alert": _as_bool(params.get("show_alert", False)),
                "url": params.get("url"), "cache_time": _as_int(params, "cache_time", 0)})
            self._cond.notify_all()
            return True

    def _set_message_reaction(self, params: JSONDict) -> bool:
        with self._cond:
            chat = self._resolve_chat(params)
            message_id = _as_int(params, "message_id")
            if message_id is None:
                raise bad_request("message identifier is not specified")
            if self._record(chat["id"], message_id) is None:
                raise bad_request("message to react not found")
            reaction = _as_json(params, "reaction") or []
            if not isinstance(reaction, list):
                raise bad_request("can't parse reaction types JSON object")
            if len(reaction) > 1:
                raise bad_request("REACTIONS_TOO_MANY")
            for item in reaction:
                if not isinstance(item, dict) or item.get("type") not in (
                        "emoji", "custom_emoji", "paid"):
                    raise bad_request("can't parse reaction type JSON object")
                if item["type"] == "emoji" and str(item.get("emoji", "")).replace(
                        "\ufe0f", "") not in REACTION_EMOJI:
                    raise bad_request("REACTION_INVALID")
                if item["type"] == "paid":
                    raise bad_request("REACTION_INVALID")
            self._reactions.setdefault(chat["id"], {})[message_id] = copy.deepcopy(reaction)
            self._cond.notify_all()
            return True

    def _send_chat_action(self, params: JSONDict) -> bool:
        with self._lock:
            self._resolve_chat(params)
            if params.get("action") not in CHAT_ACTIONS:
                raise bad_request("wrong parameter action in request")
            return True

    def _get_chat(self, params: JSONDict) -> JSONDict:
        with self._lock:
            chat = copy.deepcopy(self._resolve_chat(params, sending=False))
        chat.update({"accent_color_id": 0, "max_reaction_count": 11,
                     "accepted_gift_types": {"unlimited_gifts": False, "limited_gifts": False,
                                             "unique_gifts": False,
                                             "premium_subscription": False,
                                             "gifts_from_channels": False}})
        return chat

    def _leave_chat(self, params: JSONDict) -> bool:
        with self._cond:
            chat = self._resolve_chat(params, sending=False)
            if chat["type"] == "private":
                raise bad_request("chat member status can't be changed in private chats")
            if not self._bot_member.get(chat["id"], False):
                kind = "supergroup" if chat["type"] == "supergroup" else "group"
                raise ApiError(403, f"Forbidden: bot is not a member of the {kind} chat")
            self._bot_member[chat["id"]] = False
            self._member_update(chat, self._bot_user(), "member", "left")
            return True

    def _get_chat_member(self, params: JSONDict) -> JSONDict:
        with self._lock:
            chat = self._resolve_chat(params, sending=False)
            user_id = _as_int(params, "user_id")
            if user_id is None:
                raise bad_request("user_id is empty")
            if user_id == self.bot_id:
                user = self._bot_user()
                status = ("administrator" if self._bot_admin.get(chat["id"])
                          else "member" if self._bot_member.get(chat["id"]) else "left")
            else:
                if user_id not in self._users:
                    raise bad_request("user not found")
                user = copy.deepcopy(self._users[user_id])
                status = ("member" if chat["type"] == "private" and chat["id"] == user_id
                          else self._statuses.get(chat["id"], {}).get(user_id, "left"))
            return _chat_member(user, status)

    def _new_file(self, content: bytes, folder: str, extension: str) -> JSONDict:
        """Keep a file's bytes; its File fields (file_id, file_unique_id, file_size)."""
        number = next(self._file_ids)
        file_id = f"BQACAgQAAx{number:06d}{self.bot_id}"
        unique = f"AgAD{number:06d}"
        self._files[file_id] = {"content": content, "unique": unique,
                                "path": f"{folder}/file_{number}.{extension}"}
        return {"file_id": file_id, "file_unique_id": unique, "file_size": len(content)}

    def _send_document(self, params: JSONDict) -> JSONDict:
        with self._cond:
            chat = self._resolve_chat(params)
            document = params.get("document")
            if isinstance(document, _Upload):
                if len(document.content) > UPLOAD_LIMIT:
                    raise ApiError(413, "Request Entity Too Large")
                if not document.content:
                    raise bad_request("file must be non-empty")
                extension = document["filename"].rpartition(".")[2] or "bin"
                fields = self._new_file(document.content, "documents", extension)
                fields.update(file_name=document["filename"], mime_type=document.mime)
            elif isinstance(document, str) and document in self._files:
                known = self._files[document]
                fields = {"file_id": document, "file_unique_id": known["unique"],
                          "file_size": len(known["content"])}
            else:
                raise bad_request("wrong remote file identifier specified: "
                                  "Wrong string length")
            message: JSONDict = {
                "message_id": self._new_message_id(chat["id"]),
                "from": copy.deepcopy(self._bot_user()), "chat": copy.deepcopy(chat),
                "date": int(time.time()), "document": fields,
            }
            caption = params.get("caption")
            if caption:
                message["caption"] = str(caption)
            record = self._store(message, outgoing=True)
            self._cond.notify_all()
            return self._public(record)

    def _get_file(self, params: JSONDict) -> JSONDict:
        file_id = params.get("file_id")
        with self._lock:
            known = self._files.get(str(file_id)) if file_id else None
            if known is None:
                raise bad_request("invalid file_id")
            if len(known["content"]) > DOWNLOAD_LIMIT:
                raise bad_request("file is too big")
            return {"file_id": file_id, "file_unique_id": known["unique"],
                    "file_size": len(known["content"]), "file_path": known["path"]}

    def _download(self, path: str) -> tuple[int, bytes]:
        """GET /file/bot<token>/<file_path>: the file's bytes, as the real file server."""
        # Clients percent-encode the token's colon in a file URL (python-telegram-bot does).
        match = re.fullmatch(r"/file/bot([^/]*)/(.+)", unquote(path))
        if match is None or match.group(1) != self.token:
            return 401, b"Unauthorized"
        with self._cond:
            self._downloads.append(match.group(2))
            self._cond.notify_all()
            for known in self._files.values():
                if known["path"] == match.group(2):
                    return 200, bytes(known["content"])
        return 404, b"Not Found"

    def _bot_user(self) -> JSONDict:
        return {key: self._me[key] for key in ("id", "is_bot", "first_name", "username")}

    def _member_update(self, chat: JSONDict, by: JSONDict, old: str, new: str) -> JSONDict:
        now = int(time.time())
        bot = self._bot_user()
        return self._enqueue({"my_chat_member": {
            "chat": chat, "from": by, "date": now,
            "old_chat_member": _chat_member(bot, old),
            "new_chat_member": _chat_member(bot, new),
        }})

    def _chat_member_update(self, chat: JSONDict, by: JSONDict, user: JSONDict, old: str,
                            new: str) -> JSONDict | None:
        """A `chat_member` update, which Telegram sends only to an administrator bot."""
        if not self._bot_admin.get(chat["id"]):
            return None
        return self._enqueue({"chat_member": {
            "chat": copy.deepcopy(chat), "from": copy.deepcopy(by), "date": int(time.time()),
            "old_chat_member": _chat_member(copy.deepcopy(user), old),
            "new_chat_member": _chat_member(copy.deepcopy(user), new),
        }})

    # ----------------------------------------------------------------- test side: world

    def user(self, id: int, first_name: str, username: str | None = None,
             language_code: str | None = None, last_name: str | None = None) -> JSONDict:
        """A (human) User object, remembered by the emulator."""
        user: JSONDict = {"id": id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        with self._lock:
            self._users[id] = user
        return copy.deepcopy(user)

    def group(self, id: int, title: str, *, supergroup: bool | None = None,
              bot_member: bool = True, username: str | None = None) -> JSONDict:
        """A group chat; a supergroup when asked or when the id looks like one (-100...)."""
        if supergroup is None:
            supergroup = str(id).startswith("-100") and len(str(id)) >= 14
        chat: JSONDict = {"id": id, "type": "supergroup" if supergroup else "group",
                          "title": title}
        if username:
            chat["username"] = username
        with self._lock:
            self._chats[id] = chat
            self._bot_member[id] = bot_member
        return copy.deepcopy(chat)

    def private_chat(self, user: JSONDict) -> JSONDict:
        """The user's private chat with the bot (the user has started the bot)."""
        chat: JSONDict = {"id": user["id"], "type": "private", "first_name": user["first_name"]}
        for key in ("last_name", "username"):
            if user.get(key):
                chat[key] = user[key]
        with self._lock:
            self._users.setdefault(user["id"], copy.deepcopy(user))
            self._chats[user["id"]] = chat
        return copy.deepcopy(chat)

    def block(self, user: JSONDict | int) -> None:
        """The user blocks the bot: sends to their private chat answer 403."""
        with self._lock:
            self._blocked.add(user if isinstance(user, int) else user["id"])

    def _known_chat(self, chat: JSONDict) -> JSONDict:
        with self._lock:
            known = self._chats.get(chat["id"])
            if known is None:
                known = copy.deepcopy(chat)
                self._chats[chat["id"]] = known
                if chat.get("type") != "private":
                    self._bot_member.setdefault(chat["id"], True)
            return known

    def _user_message(self, chat: JSONDict, from_user: JSONDict,
                      date: int | float | dtm.datetime | None) -> JSONDict:
        known = self._known_chat(chat)
        with self._lock:
            self._users.setdefault(from_user["id"], copy.deepcopy(from_user))
            if known["type"] != "private":
                # Whoever writes in a group is in it.
                self._statuses.setdefault(known["id"], {}).setdefault(from_user["id"],
                                                                       "member")
            return {"message_id": self._new_message_id(known["id"]),
                    "from": copy.deepcopy(from_user), "chat": copy.deepcopy(known),
                    "date": _timestamp(date)}

    def send_text(self, chat: JSONDict, from_user: JSONDict, text: str,
                  reply_to: int | JSONDict | None = None,
                  forward_origin: JSONDict | None = None,
                  date: int | float | dtm.datetime | None = None) -> JSONDict:
        """A user writes `text` in `chat`; returns the enqueued Update."""
        with self._cond:
            message = self._user_message(chat, from_user, date)
            if forward_origin is not None:
                origin = copy.deepcopy(forward_origin)
                if "type" not in origin:  # a User object: forwarded from that user
                    origin = {"type": "user", "sender_user": origin, "date": message["date"]}
                message["forward_origin"] = origin
            if reply_to is not None:
                target_id = reply_to if isinstance(reply_to, int) else reply_to["message_id"]
                target = self._reply_target(message["chat"]["id"], target_id)
                if target is None:
                    raise ValueError(f"no message {target_id} in chat {message['chat']['id']}")
                message["reply_to_message"] = target
            message["text"] = text
            entities = detect_entities(text)
            if entities:
                message["entities"] = entities
            self._store(copy.deepcopy(message), outgoing=False)
            return self._enqueue({"message": message})

    def send_voice(self, chat: JSONDict, from_user: JSONDict, content: bytes,
                   duration: int, mime_type: str = "audio/ogg",
                   file_size: int | None = None) -> JSONDict:
        """A user sends a voice note (its bytes served by getFile and the file URL);
        `file_size` overrides the size Telegram reports; returns the enqueued Update."""
        with self._cond:
            message = self._user_message(chat, from_user, None)
            fields = self._new_file(content, "voice", "oga")
            if file_size is not None:
                fields["file_size"] = file_size
            message["voice"] = {**fields, "duration": duration, "mime_type": mime_type}
            self._store(copy.deepcopy(message), outgoing=False)
            return self._enqueue({"message": message})

    def press_button(self, chat: JSONDict, from_user: JSONDict, message_id: int,
                     data: str) -> JSONDict:
        """A user presses an inline button of the bot's message; returns the Update."""
        with self._cond:
            record = self._record(chat["id"], message_id)
            if record is None or not record["outgoing"]:
                raise ValueError(f"the bot has no message {message_id} in chat {chat['id']}")
            query_id = str(next(self._callback_ids) * 7919 + 1_000_000)
            self._callbacks[query_id] = False
            self._users.setdefault(from_user["id"], copy.deepcopy(from_user))
            return self._enqueue({"callback_query": {
                "id": query_id, "from": copy.deepcopy(from_user),
                "message": self._public(record),
                "chat_instance": str(abs(chat["id"]) * 31 + 17), "data": data,
            }})

    def edit_text(self, chat: JSONDict, from_user: JSONDict, message_id: int,
                  new_text: str) -> JSONDict:
        """A user edits their message; returns the `edited_message` Update."""
        with self._cond:
            record = self._record(chat["id"], message_id)
            if record is None or record["outgoing"] or \
                    record["message"]["from"]["id"] != from_user["id"]:
                raise ValueError(f"user {from_user['id']} has no message {message_id} "
                                 f"in chat {chat['id']}")
            message = record["message"]
            message["text"] = new_text
            message.pop("entities", None)
            entities = detect_entities(new_text)
            if entities:
                message["entities"] = entities
            message["edit_date"] = int(time.time())
            record["edits"] += 1
            return self._enqueue({"edited_message": copy.deepcopy(message)})

    def add_bot_to_group(self, chat: JSONDict, by_user: JSONDict,
                         admin: bool = False) -> JSONDict:
        """`by_user` adds the bot to the group: a `my_chat_member` left -> member (or
        administrator) Update. `by_user` becomes the group's creator unless it has one."""
        with self._cond:
            known = self._known_chat(chat)
            self._bot_member[known["id"]] = True
            self._bot_admin[known["id"]] = admin
            self._users.setdefault(by_user["id"], copy.deepcopy(by_user))
            statuses = self._statuses.setdefault(known["id"], {})
            if "creator" not in statuses.values():
                statuses[by_user["id"]] = "creator"
            return self._member_update(known, copy.deepcopy(by_user), "left",
                                       "administrator" if admin else "member")

    def set_status(self, chat: JSONDict, user: JSONDict, status: str) -> None:
        """Who `user` is in the group now ("creator", "administrator", "member", "left",
        "kicked"), as getChatMember answers; no update is sent."""
        with self._lock:
            self._users.setdefault(user["id"], copy.deepcopy(user))
            self._statuses.setdefault(chat["id"], {})[user["id"]] = status

    def join_group(self, chat: JSONDict, user: JSONDict) -> JSONDict:
        """`user` joins the group: a `new_chat_members` service message (and a
        `chat_member` update when the bot is an administrator there)."""
        with self._cond:
            known = self._known_chat(chat)
            self._users.setdefault(user["id"], copy.deepcopy(user))
            statuses = self._statuses.setdefault(known["id"], {})
            old = statuses.get(user["id"], "left")
            statuses[user["id"]] = "member"
            self._chat_member_update(known, user, user, old, "member")
            message = self._user_message(known, user, None)
            message["new_chat_members"] = [copy.deepcopy(user)]
            self._store(copy.deepcopy(message), outgoing=False)
            return self._enqueue({"message": message})

    def leave_group(self, chat: JSONDict, user: JSONDict,
                    removed_by: JSONDict | None = None) -> JSONDict:
        """`user` leaves the group (or `removed_by` removes them): a `left_chat_member`
        service message (and a `chat_member` update when the bot is an administrator)."""
        with self._cond:
            known = self._known_chat(chat)
            statuses = self._statuses.setdefault(known["id"], {})
            old = statuses.get(user["id"], "member")
            new = "kicked" if removed_by is not None else "left"
            statuses[user["id"]] = new
            actor = removed_by or user
            self._chat_member_update(known, actor, user, old, new)
            message = self._user_message(known, actor, None)
            message["left_chat_member"] = copy.deepcopy(user)
            self._store(copy.deepcopy(message), outgoing=False)
            return self._enqueue({"message": message})

    def remove_bot(self, chat: JSONDict, by_user: JSONDict,
                   tell_bot: bool = True) -> JSONDict | None:
        """`by_user` removes the bot from the group: a `my_chat_member` -> kicked update
        (unless `tell_bot` is false: the bot learns it only from a refused send); sends
        there fail with 403 from now on."""
        with self._cond:
            known = self._known_chat(chat)
            old = "administrator" if self._bot_admin.get(known["id"]) else "member"
            self._bot_member[known["id"]] = False
            self._bot_admin[known["id"]] = False
            if not tell_bot:
                return None
            return self._member_update(known, copy.deepcopy(by_user), old, "kicked")

    def migrate_to_supergroup(self, chat: JSONDict, new_id: int,
                              by_user: JSONDict) -> JSONDict:
        """The group becomes a supergroup with a new id: a `migrate_to_chat_id` message in
        the old chat, then a `migrate_from_chat_id` message as the new chat's first; sends
        to the old id fail with 400 and `migrate_to_chat_id`. Returns the new chat."""
        with self._cond:
            old = self._known_chat(chat)
            new: JSONDict = {"id": new_id, "type": "supergroup", "title": old.get("title", "")}
            self._chats[new_id] = new
            self._bot_member[new_id] = self._bot_member.get(old["id"], False)
            self._bot_admin[new_id] = self._bot_admin.get(old["id"], False)
            self._statuses[new_id] = dict(self._statuses.get(old["id"], {}))
            moved = self._user_message(old, by_user, None)
            moved["migrate_to_chat_id"] = new_id
            self._store(copy.deepcopy(moved), outgoing=False)
            self._enqueue({"message": moved})
            self._migrated[old["id"]] = new_id
            first = self._user_message(new, by_user, None)
            first["migrate_from_chat_id"] = old["id"]
            self._store(copy.deepcopy(first), outgoing=False)
            self._enqueue({"message": first})
            return copy.deepcopy(new)

    def new_members(self, chat: JSONDict, by_user: JSONDict,
                    users: Iterable[JSONDict]) -> JSONDict:
        """`by_user` adds `users` to the group: a message with `new_chat_members`."""
        with self._cond:
            message = self._user_message(chat, by_user, None)
            members = [copy.deepcopy(u) for u in users]
            for member in members:
                if member["id"] == self.bot_id:
                    self._bot_member[message["chat"]["id"]] = True
                else:
                    self._users.setdefault(member["id"], copy.deepcopy(member))
            message["new_chat_members"] = members
            self._store(copy.deepcopy(message), outgoing=False)
            return self._enqueue({"message": message})

    # ----------------------------------------------------------------- test side: inspection

    def sent(self, chat_id: int | None = None) -> list[JSONDict]:
        """The bot's messages in sending order, as they are now, with `edits` and `deleted`."""
        with self._lock:
            records = [r for chat, messages in self._messages.items()
                       if chat_id is None or chat == chat_id
                       for r in messages.values() if r["outgoing"]]
            records.sort(key=lambda r: r["order"])
            return [{**copy.deepcopy(r["message"]), "edits": r["edits"],
                     "deleted": r["deleted"]} for r in records]

    def last_sent(self, chat_id: int) -> JSONDict:
        messages = self.sent(chat_id)
        if not messages:
            raise AssertionError(f"the bot sent nothing to chat {chat_id}")
        return messages[-1]

    def calls(self, method: str | None = None) -> list[tuple[str, JSONDict]]:
        """(method, params) of every authorised request, oldest first."""
        with self._lock:
            return [(name, copy.deepcopy(params)) for name, params in self._calls
                    if method is None or name.lower() == method.lower()]

    def reactions(self, chat_id: int) -> dict[int, list[JSONDict]]:
        """message_id -> the bot's current reaction list in that chat."""
        with self._lock:
            return copy.deepcopy(self._reactions.get(chat_id, {}))

    def commands(self) -> dict[tuple[str, str], list[JSONDict]]:
        """(scope key, language_code or "") -> commands; scope keys look like "default",
        "all_group_chats", "chat:<chat_id>", "chat_member:<chat_id>:<user_id>"."""
        with self._lock:
            return copy.deepcopy(self._commands)

    def documents(self, chat_id: int | None = None) -> list[JSONDict]:
        """The files the bot sent, oldest first: chat_id, file_name, mime_type, content."""
        with self._lock:
            found = []
            for message in self.sent(chat_id):
                document = message.get("document")
                if document is not None:
                    found.append({"chat_id": message["chat"]["id"],
                                  "file_name": document.get("file_name"),
                                  "mime_type": document.get("mime_type"),
                                  "caption": message.get("caption"),
                                  "content": self._files[document["file_id"]]["content"]})
            return found

    def downloads(self) -> list[str]:
        """The file paths the bot downloaded, oldest first."""
        with self._lock:
            return list(self._downloads)

    def answered_callbacks(self) -> list[JSONDict]:
        with self._lock:
            return copy.deepcopy(self._answered)

    def pending_updates(self) -> int:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return len(self._updates)

    def wait_for(self, predicate: Callable[[list[JSONDict]], bool],
                 timeout: float = 10) -> list[JSONDict]:
        """Wait until predicate(sent()) holds; returns sent(); AssertionError on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            messages = self.sent()
            if predicate(messages):
                return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                shown = "\n".join(f"  chat {m['chat']['id']} #{m['message_id']}: "
                                  f"{m.get('text')!r}" for m in messages) or "  (nothing)"
                raise AssertionError(f"timed out after {timeout}s; the bot sent:\n{shown}")
            with self._cond:
                self._cond.wait(min(remaining, 0.05))

    def wait_for_sent(self, chat_id: int, count: int, timeout: float = 10) -> list[JSONDict]:
        """Wait until the bot has sent at least `count` messages to `chat_id`."""
        self.wait_for(lambda _: len(self.sent(chat_id)) >= count, timeout)
        return self.sent(chat_id)

    # ----------------------------------------------------------------- failure injection

    def fail_next(self, method: str, error_code: int, description: str,
                  retry_after: int | None = None, times: int = 1, *,
                  migrate_to_chat_id: int | None = None) -> None:
        """The next `times` calls of `method` answer this error."""
        parameters: JSONDict = {}
        if retry_after is not None:
            parameters["retry_after"] = retry_after
        if migrate_to_chat_id is not None:
            parameters["migrate_to_chat_id"] = migrate_to_chat_id
        with self._lock:
            self._failures.setdefault(method.lower(), []).extend(
                ApiError(error_code, description, parameters or None) for _ in range(times))
