"""The `shopbot` command as a user runs it: classify, chat from a pipe, bad settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from router.types import Intent

SHOPBOT = [sys.executable, "-m", "bot.cli"]


def run(args: list[str], stdin: str, tmp_path: Path,
        **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    environment.update({"SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
                        **env})
    return subprocess.run(SHOPBOT + args, input=stdin, capture_output=True, text=True,
                          env=environment, cwd=tmp_path, timeout=120, check=False)


def test_classify_writes_one_json_object_per_line_in_order(tmp_path: Path) -> None:
    lines = [json.dumps({"text": "תוסיף חלב וביצים"}, ensure_ascii=False),
             "what's our invite code?",
             json.dumps({"text": "بدنا خبز"}, ensure_ascii=False)]
    result = run(["classify"], "\n".join(lines) + "\n", tmp_path)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == ["תוסיף חלב וביצים", "what's our invite code?",
                                            "بدنا خبز"]
    first = records[0]
    assert set(first) == {"text", "intent", "intents", "confidence", "routed", "source", "top",
                          "entities", "parts"}
    assert len(first["top"]) == 3 and first["intents"][0] == first["intent"]
    assert first["intent"] == Intent.GROCERY_REQUEST.value
    assert [i["name"] for i in first["entities"]["items"]] == ["חלב", "ביצים"]
    assert records[1]["intent"] == Intent.GET_INVITE_CODE.value
    assert records[2]["entities"]["items"][0]["name"] == "خبز"


def test_chat_scripts_a_family_conversation_from_a_pipe(tmp_path: Path) -> None:
    script = "\n".join([
        "@dana: תוסיף חלב, 2 ביצים ולחם",
        "@yossi: עוד 3 ביצים",
        "@dana: מה חסר לנו?",
        "@yossi: קנינו הכל חוץ מהלחם",
        "@dana: /list",
    ]) + "\n"
    result = run(["chat"], script, tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "5 ביצים" in out
    last_list = out[out.rindex("🛒"):]
    assert "לחם" in last_list and "ביצים" not in last_list


def test_chat_speaks_in_private_chats_and_a_second_group_by_line_form(tmp_path: Path) -> None:
    script = "\n".join([
        "@dana: תוסיף חלב",
        "@dana/private: /list",
        "@yossi/work: add bread and eggs",
        "@yossi/work: !1",
        "@dana/family: /list",
    ]) + "\n"
    result = run(["chat"], script, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("bot: ✓")  # the family group keeps the plain prefix
    private = next(line for line in lines if line.startswith("bot → dana/private: "))
    assert "חלב" not in private  # her own list, not the family's
    work = [line for line in lines if line.startswith("bot → work: ")]
    assert "bread" in work[0] and "Undo" in result.stdout and len(work) == 2
    family_list = result.stdout[result.stdout.rindex("bot: 🛒"):]
    assert "• חלב" in family_list and "bread" not in family_list


def test_a_bad_setting_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = run(["classify"], "", tmp_path, SHOPBOT_THRESHOLD="seven")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SHOPBOT_THRESHOLD" in result.stderr
    missing = run(["classify"], "", tmp_path, SHOPBOT_MODEL_DIR=str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "model.onnx" in missing.stderr


@pytest.mark.parametrize("url", ["sqlite:///x.db", "no-scheme"])
def test_a_sync_or_malformed_database_url_is_refused(tmp_path: Path, url: str) -> None:
    result = run(["migrate"], "", tmp_path, SHOPBOT_DATABASE_URL=url)
    assert result.returncode == 2 and "SHOPBOT_DATABASE_URL" in result.stderr


def test_did_you_mean_choices_are_exported_for_training_and_purged(tmp_path: Path) -> None:
    # An unsure message, then the user's press on the first choice.
    chat = run(["chat"], "תביא את זה\n!1\n", tmp_path, SHOPBOT_THRESHOLD="1.0")
    assert chat.returncode == 0, chat.stderr
    exported = run(["feedback", "export"], "", tmp_path)
    assert exported.returncode == 0, exported.stderr
    lines = [json.loads(line) for line in exported.stdout.splitlines()]
    assert len(lines) == 1 and lines[0]["text"] == "תביא את זה"
    assert lines[0]["source"] == "user" and lines[0]["intent"] in Intent.__members__
    purged = run(["feedback", "purge"], "", tmp_path)
    assert "deleted 1" in purged.stdout
    assert run(["feedback", "export"], "", tmp_path).stdout == ""


def test_eval_adds_a_zero_shot_llm_row(tmp_path: Path) -> None:
    from tests.support.fake_openai import FakeOpenAI, Plan

    data = tmp_path / "small.jsonl"
    data.write_text("\n".join(json.dumps({"text": t, "intent": i, "lang": "en"}) for t, i in [
        ("what's on the list", "LIST_QUERY"), ("add milk", "GROCERY_REQUEST")]) + "\n")
    answer = json.dumps({"intents": [{"intent": "LIST_QUERY", "entities": {}}]})
    with FakeOpenAI(default=lambda _body: Plan(content=answer)) as server:
        result = run(["eval", "--data", str(data), "--llm"], "", tmp_path,
                     SHOPBOT_LLM_BASE_URL=server.base_url, SHOPBOT_LLM_API_KEY="k")
    assert result.returncode == 0, result.stderr
    row = next(line for line in result.stdout.splitlines() if "llm (zero-shot)" in line)
    assert "| 0.5000 |" in row  # one of two right
    assert len(server.requests) == 2


def test_run_with_a_token_telegram_refuses_fails_with_one_line(tmp_path: Path) -> None:
    from tests.support.botapi import BotApiEmulator

    with BotApiEmulator(token="1:RIGHT") as emulator:
        result = run(["run"], "", tmp_path, SHOPBOT_TELEGRAM_TOKEN="1:WRONG",
                     SHOPBOT_TELEGRAM_API_URL=emulator.base_url)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "SHOPBOT_TELEGRAM_TOKEN" in result.stderr
