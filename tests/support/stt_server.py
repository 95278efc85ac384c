"""A fake OpenAI-compatible speech-to-text server over real HTTP on loopback.

`POST /v1/audio/transcriptions` takes a multipart form (`file`, `model`, `response_format`)
as OpenAI's API, whisper.cpp's server and faster-whisper servers do, and answers
`{"text": ...}`: the transcript the test registered for those audio bytes (`say`), else the
words a `shopbot chat` voice note's stand-in audio carries (`🎤 text` in a conversation,
bot/chat.py), or an error status or a delay it planned (`status`, `delay`). Every request is
recorded with its headers, form fields and file. A wrong `Authorization` header gets OpenAI's 401.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from email import policy
from email.parser import BytesParser
from typing import Any

from bot.chat import stand_in_words
from tests.support.loopback import LoopbackServer, QuietHandler

__all__ = ["FakeStt", "Transcription"]


@dataclass
class Transcription:
    """One request as it arrived."""

    path: str
    authorization: str | None
    fields: dict[str, str]
    filename: str | None
    mime: str | None
    audio: bytes


@dataclass
class FakeStt:
    """The server; `say(audio, text)` registers what a recording says."""

    api_key: str | None = None
    status: int = 200
    delay: float = 0.0
    transcripts: dict[bytes, str] = field(default_factory=dict)
    requests: list[Transcription] = field(default_factory=list)

    def __post_init__(self) -> None:
        fake = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = fake._parse(self.path, self.headers.get("Authorization"),
                                      self.headers.get("Content-Type", ""), body)
                fake.requests.append(request)
                status, answer = fake._answer(request)
                if fake.delay:
                    time.sleep(fake.delay)
                self.reply(status, {"Content-Type": "application/json"},
                           json.dumps(answer, ensure_ascii=False).encode())

        self._server = LoopbackServer(Handler)

    @property
    def base_url(self) -> str:
        """What SHOPBOT_STT_BASE_URL is set to."""
        return f"http://127.0.0.1:{self._server.port}/v1"

    def say(self, audio: bytes, text: str) -> bytes:
        """Register the words in `audio`; returns the audio."""
        self.transcripts[audio] = text
        return audio

    @staticmethod
    def _parse(path: str, authorization: str | None, content_type: str,
               body: bytes) -> Transcription:
        header = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
        message = BytesParser(policy=policy.HTTP).parsebytes(header + body)
        fields: dict[str, str] = {}
        filename = mime = None
        audio = b""
        if message.is_multipart():
            for part in message.iter_parts():
                name = str(part.get_param("name", header="content-disposition") or "")
                raw = part.get_payload(decode=True)
                payload = raw if isinstance(raw, bytes) else b""
                if part.get_filename() is not None:
                    filename, mime, audio = part.get_filename(), part.get_content_type(), payload
                else:
                    fields[name] = payload.decode("utf-8", "replace")
        return Transcription(path, authorization, fields, filename, mime, audio)

    def _answer(self, request: Transcription) -> tuple[int, dict[str, Any]]:
        if not request.path.endswith("/v1/audio/transcriptions"):
            return 404, {"error": {"message": "not found"}}
        if self.api_key is not None and request.authorization != f"Bearer {self.api_key}":
            return 401, {"error": {"message": "Incorrect API key provided",
                                   "type": "invalid_request_error"}}
        if self.status != 200:
            return self.status, {"error": {"message": "the server had an error"}}
        if not request.audio or "model" not in request.fields:
            return 400, {"error": {"message": "file and model are required"}}
        text = self.transcripts.get(request.audio)
        if text is None:
            text = stand_in_words(request.audio) or ""
        return 200, {"text": text}

    def __enter__(self) -> FakeStt:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()
