"""Secrets and users' words in the log, read from the real output of the real processes.

`shopbot run` at DEBUG, with a real-shaped bot token, an LLM key and a password in the LLM's
URL, talks to the Bot API emulator and a fake OpenAI server on loopback: nothing secret may
appear at any level, and a user's words may appear only in DEBUG records.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.botapi import BotApiEmulator
from tests.support.fake_openai import FakeOpenAI, Plan

SHOPBOT = [sys.executable, "-m", "bot.cli"]
TOKEN = "7312345678:AAEx-Very_Secret_Token_Part_0123456789"
API_KEY = "sk-test-PRIVATEKEY-0123456789abcdef"
PASSWORD = "hunter2-llm-password"
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")


def records(log: str) -> list[tuple[str, str]]:
    """(level, text) of each record, its traceback lines included."""
    found: list[tuple[str, str]] = []
    for line in log.splitlines():
        start = RECORD.match(line)
        if start:
            found.append((start.group(1), line))
        elif found:
            found[-1] = (found[-1][0], found[-1][1] + "\n" + line)
    return found


def environment(tmp_path: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    env.update({"SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
                "SHOPBOT_LOG_LEVEL": "DEBUG", **settings})
    return env


def test_run_at_debug_logs_no_secret_and_user_text_only_at_debug(tmp_path: Path) -> None:
    words = "מה המצב חברים, יש משהו חדש"
    answer = json.dumps({"intents": [{"intent": "OTHER", "entities": {}}]})
    with BotApiEmulator(token=TOKEN, bot_username="family_list_bot") as emulator, \
            FakeOpenAI(default=lambda _body: Plan(content=answer)) as llm:
        llm_url = llm.base_url.replace("http://", f"http://llm-user:{PASSWORD}@")
        # The log goes to a file: at DEBUG it outgrows a pipe nobody reads until the end.
        log_file = (tmp_path / "bot.log").open("w", encoding="utf-8")
        process = subprocess.Popen(
            [*SHOPBOT, "run"], stdout=subprocess.DEVNULL, stderr=log_file, text=True,
            cwd=tmp_path, env=environment(
                tmp_path, SHOPBOT_TELEGRAM_TOKEN=TOKEN,
                SHOPBOT_TELEGRAM_API_URL=emulator.base_url, SHOPBOT_LLM_BASE_URL=llm_url,
                SHOPBOT_LLM_API_KEY=API_KEY, SHOPBOT_THRESHOLD="1.0"))
        try:
            dana = emulator.user(11, "Dana", language_code="he")
            emulator.send_text(emulator.private_chat(dana), dana, words)
            family = emulator.group(-100500600700, "Family")
            emulator.send_text(family, dana, "/add 2 חלב")
            emulator.wait_for_sent(11, 1, timeout=60)
            emulator.wait_for_sent(family["id"], 1, timeout=60)
            deadline = time.monotonic() + 10
            while not llm.requests and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            process.send_signal(signal.SIGINT)
            process.wait(timeout=60)
            log_file.close()
    log = (tmp_path / "bot.log").read_text(encoding="utf-8")
    assert llm.requests, "the LLM was never asked, so its client's logs were not tested"
    found = records(log)
    levels = {level for level, _ in found}
    assert "DEBUG" in levels and "INFO" in levels, log[-3000:]
    # The HTTP clients' request lines were there to leak, and did not.
    assert any("getUpdates" in text for _, text in found)
    for secret in (TOKEN, TOKEN.split(":")[1], API_KEY, PASSWORD):
        assert secret not in log, secret
    assert not re.search(r"\d{6,}:[A-Za-z0-9_-]{30,}", log)
    assert not re.search(r"(?i)authorization['\"]?:\s*['\"]?(bearer|basic) [a-z0-9]", log)
    for level, text in found:
        if level != "DEBUG":
            assert words not in text, text


# Slow (CI): a `shopbot chat` process; `shopbot run` at DEBUG above stays quick.
@pytest.mark.slow
def test_chat_at_debug_keeps_the_llm_key_and_url_password_out(tmp_path: Path) -> None:
    answer = json.dumps({"intents": [{"intent": "OTHER", "entities": {}}]})
    with FakeOpenAI(default=lambda _body: Plan(content=answer)) as llm:
        llm_url = llm.base_url.replace("http://", f"http://llm-user:{PASSWORD}@")
        result = subprocess.run(
            [*SHOPBOT, "chat"], input="@dana/private: hmm what about the thing for grandma\n",
            capture_output=True, text=True, cwd=tmp_path, timeout=120, check=False,
            env=environment(tmp_path, SHOPBOT_LLM_BASE_URL=llm_url,
                            SHOPBOT_LLM_API_KEY=API_KEY, SHOPBOT_THRESHOLD="1.0"))
    assert result.returncode == 0, result.stderr[-3000:]
    assert llm.requests and "DEBUG" in result.stderr
    assert "127.0.0.1" in result.stderr  # the request URLs were logged, minus their secrets
    for secret in (API_KEY, PASSWORD):
        assert secret not in result.stderr


def test_sqlite_files_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    result = subprocess.run([*SHOPBOT, "chat"], input="@dana: /help\n", capture_output=True,
                            text=True, cwd=tmp_path, timeout=120, check=False,
                            env=environment(tmp_path, SHOPBOT_LOG_LEVEL="WARNING"))
    assert result.returncode == 0, result.stderr
    database = tmp_path / "bot.db"
    assert database.stat().st_mode & 0o777 == 0o600
    # While a connection is open SQLite keeps its -wal and -shm beside it: the same mode.
    import sqlite3

    connection = sqlite3.connect(database)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    connection.commit()
    try:
        for suffix in ("-wal", "-shm"):
            companion = database.with_name(database.name + suffix)
            assert companion.exists() and companion.stat().st_mode & 0o777 == 0o600, suffix
    finally:
        connection.close()


def test_a_traceback_at_error_keeps_the_users_words_and_secrets_out() -> None:
    import asyncio
    import io
    import logging

    from bot.logs import RedactingFilter, remember_user_text

    words = "תוסיף חלב של סבתא"
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    handler.addFilter(RedactingFilter([TOKEN, API_KEY]))
    logger = logging.getLogger("shopbot.test.redaction")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False

    async def one_update() -> None:
        remember_user_text(words)
        logger.debug("routing %r", words)
        try:
            raise ValueError(f"cannot parse {words!r} via https://user:{PASSWORD}@host/x "
                             f"Authorization: Bearer {API_KEY} bot{TOKEN}/getMe")
        except ValueError:
            logger.exception("update 7 failed")

    try:
        asyncio.run(one_update())
        logger.error("after the update: %s", words)  # another task's context: not its words
    finally:
        logger.removeHandler(handler)
    log = stream.getvalue()
    debug, failure = log.split("\n", 1)
    assert debug.startswith("DEBUG") and words in debug  # DEBUG may show what was said
    failure = failure.split("ERROR after the update")[0]
    assert "Traceback" in failure and "ValueError" in failure
    assert words not in failure
    for secret in (PASSWORD, API_KEY, TOKEN, TOKEN.split(":")[1]):
        assert secret not in log
