"""The LLM fallback as a user of the `shopbot` command meets it: `eval --llm` says what became
of every question, and `shopbot chat` shows the LLM's log when SHOPBOT_LOG_LEVEL asks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.fake_openai import FakeOpenAI, Plan

SHOPBOT = [sys.executable, "-m", "bot.cli"]


def run(args: list[str], stdin: str, tmp_path: Path,
        **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    environment.update({"SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
                        **env})
    return subprocess.run(SHOPBOT + args, input=stdin, capture_output=True, text=True,
                          env=environment, cwd=tmp_path, timeout=120, check=False)


def message_of(body: dict[str, Any]) -> str:
    return str(json.loads(body["messages"][-1]["content"].splitlines()[-1])["message"])


# Slow (CI): a process and five LLM timeouts; `eval --llm` stays quick in test_cli.py.
@pytest.mark.slow
def test_eval_llm_counts_skipped_messages_apart_from_its_predictions(tmp_path: Path) -> None:
    rows = [("מה חסר לנו?", "LIST_QUERY", "he"), ("شو ناقصنا", "LIST_QUERY", "ar")]
    rows += [(f"slow message {i}", "OTHER", "en") for i in range(5)]
    rows += [("תוסיף חלב", "GROCERY_REQUEST", "he"), ("بدنا خبز", "GROCERY_REQUEST", "ar")]
    data = tmp_path / "small.jsonl"
    data.write_text("".join(json.dumps({"text": t, "intent": i, "lang": lang},
                                       ensure_ascii=False) + "\n" for t, i, lang in rows))

    def answer(body: dict[str, Any]) -> Plan:
        if message_of(body).startswith("slow"):
            return Plan(delay=1.0, content="{}")  # past the timeout: a skip, not a guess
        return Plan(content=json.dumps({"intents": [{"intent": "LIST_QUERY",
                                                     "entities": {}}]}))

    with FakeOpenAI(default=answer, refuse_json_schema=500) as server:
        result = run(["eval", "--data", str(data), "--llm"], "", tmp_path,
                     SHOPBOT_LLM_BASE_URL=server.base_url, SHOPBOT_LLM_TIMEOUT="0.3")
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("- LLM"))
    assert "json_object + schema" in line
    assert "asked 9, answered 2 (valid 2, rejected 0, truncated 0)" in line
    # Five timeouts open the circuit; the last two messages are skipped, never predicted.
    assert "skipped 7 (circuit 2, timeout 5)" in line
    assert "p95" in line and "2 valid answers (2 right)" in line
    row = next(x for x in result.stdout.splitlines() if "llm (zero-shot)" in x)
    assert "| 1.0000 |" in row  # both of its answers were right; the rest were not guesses


# Slow (CI): two `shopbot chat` processes; the LLM client's own tests are quick.
@pytest.mark.slow
def test_chat_shows_llm_calls_when_the_log_level_asks(tmp_path: Path) -> None:
    answer = json.dumps({"intents": [{"intent": "OTHER", "entities": {}}]})
    with FakeOpenAI(default=lambda _body: Plan(content=answer)) as server:
        env = {"SHOPBOT_LLM_BASE_URL": server.base_url, "SHOPBOT_THRESHOLD": "1.0"}
        talk = "@dana: מה המצב חברים\n"
        loud = run(["chat"], talk, tmp_path, SHOPBOT_LOG_LEVEL="INFO", **env)
        quiet = run(["chat"], talk, tmp_path, **env)
    assert loud.returncode == 0 and quiet.returncode == 0, loud.stderr + quiet.stderr
    assert "llm outcome=valid" in loud.stderr
    assert "llm outcome" not in quiet.stderr
