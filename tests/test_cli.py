"""The `shopbot` command as a user runs it: classify, chat from a pipe, bad settings."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.chat import parse_later, parse_line, parse_until, stand_in_audio, stand_in_words
from router.types import Intent
from tests.support.stt_server import FakeStt

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


# Slow (CI): each `shopbot chat` here is a process start (~2 s); the quick run keeps the
# pipe test above, and the conversation tests speak these line forms in process.
@pytest.mark.slow
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


def test_a_voice_note_line_is_taken_apart() -> None:
    note = parse_line("@dana: \U0001f3a4 (2:05) add milk")
    assert (note.voice, note.seconds, note.text, note.press) == (True, 125, "add milk", None)
    assert parse_line("@dana/private: \U0001f3a4 !1").press is None  # words, not a press
    assert parse_line("@dana: \U0001f3a4").text == ""  # a note without words
    assert not parse_line("@dana: add milk").voice
    assert stand_in_words(stand_in_audio("חלב ולחם")) == "חלב ולחם"
    assert stand_in_words(b"OggS\x00\x02 real audio") is None


def test_a_time_line_lets_time_pass() -> None:
    assert parse_later("\u23f3 3d") == timedelta(days=3)
    assert parse_later("\u23f3 2h") == timedelta(hours=2)
    assert parse_later("\u23f330m ") == timedelta(minutes=30)
    assert parse_later("\u23f3 soon") is None and parse_later("@dana: \u23f3 3d") is None
    assert parse_until("\u23f3 10:00") == time(10, 0) and parse_until("\u23f3 9:30") == time(9, 30)
    assert parse_until("\u23f3 24:00") is None and parse_until("\u23f3 3d") is None
    assert parse_later("\u23f3 10:00") is None


# Slow (CI): two `shopbot chat` processes; voice notes run quick in test_voice.py and the
# voice conversations.
@pytest.mark.slow
def test_chat_sends_a_voice_note_through_the_voice_path(tmp_path: Path) -> None:
    script = "@dana: \U0001f3a4 תוסיף חלב ולחם\n@dana: /list\n"
    with FakeStt() as stt:
        result = run(["chat"], script, tmp_path, SHOPBOT_STT_BASE_URL=stt.base_url)
    assert result.returncode == 0, result.stderr
    assert "\U0001f3a4 'תוסיף חלב ולחם' →" in result.stdout and "• לחם" in result.stdout
    [request] = stt.requests  # the words went to the endpoint as audio, with the model
    assert request.fields["model"] == "whisper-1" and request.filename == "voice.ogg"
    off = run(["chat"], "@yossi: \U0001f3a4 תוסיף ביצים\n@yossi: /list\n", tmp_path)
    assert "התמלול לא מוגדר" in off.stdout and "ביצים" not in off.stdout


# Slow (CI): two processes that load the model; one-line setting errors stay quick below
# (database URLs, log level).
@pytest.mark.slow
def test_a_bad_setting_fails_with_one_clear_line(tmp_path: Path) -> None:
    result = run(["classify"], "", tmp_path, SHOPBOT_THRESHOLD="seven")
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "SHOPBOT_THRESHOLD" in result.stderr
    missing = run(["classify"], "", tmp_path, SHOPBOT_MODEL_DIR=str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "model.onnx" in missing.stderr


def one_line_exit_2(result: subprocess.CompletedProcess[str]) -> str:
    """The one line a failed command printed; fails unless that is all it printed."""
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("shopbot: "), result.stderr
    assert result.stderr.strip().count("\n") == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


@pytest.mark.parametrize(("url", "hint"), [
    ("sqlite:///x.db", "sqlite+aiosqlite://"),
    ("postgresql://family:hunter22@db.example/shop", "postgresql+asyncpg://"),
    ("postgres://family:hunter22@db.example/shop", "postgresql+asyncpg://"),
    ("mysql+aiomysql://family@db.example/shop", "postgresql+asyncpg://"),
    ("no-scheme", "sqlite+aiosqlite:///shopbot.db"),
])
def test_a_sync_or_malformed_database_url_is_refused_with_the_right_hint(
        tmp_path: Path, url: str, hint: str) -> None:
    line = one_line_exit_2(run(["migrate"], "", tmp_path, SHOPBOT_DATABASE_URL=url))
    assert "SHOPBOT_DATABASE_URL" in line and hint in line
    assert "postgresqlql" not in line and "hunter22" not in line


UNREACHABLE = {
    "refused": "postgresql+asyncpg://postgres:hunter22@127.0.0.1:9/shop",
    "unknown host": "postgresql+asyncpg://postgres@no-such-host.invalid/shop",
    "unwritable file": "sqlite+aiosqlite:////proc/no-such-folder/shop.db",
}


DATABASE_COMMANDS = [["migrate"], ["stats"], ["feedback", "export"], ["chat"], ["run"]]
CASES = sorted(UNREACHABLE)
# Every command meets one of the cases in the quick run; CI's slow run tries every pair.
QUICK = [(command, CASES[i % len(CASES)]) for i, command in enumerate(DATABASE_COMMANDS)]
EVERY = [pytest.param(command, case, marks=pytest.mark.slow)
         for command in DATABASE_COMMANDS for case in CASES if (command, case) not in QUICK]


@pytest.mark.parametrize(("command", "case"), [*QUICK, *EVERY])
def test_an_unusable_database_is_one_line_in_every_command_that_needs_it(
        tmp_path: Path, command: list[str], case: str) -> None:
    result = run(command, "add milk\n", tmp_path, SHOPBOT_DATABASE_URL=UNREACHABLE[case],
                 SHOPBOT_TELEGRAM_TOKEN="123456:ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghi")
    line = one_line_exit_2(result)
    assert "SHOPBOT_DATABASE_URL" in line and "hunter22" not in line
    assert {"refused": "refused", "unknown host": "unknown host",
            "unwritable file": "/proc/no-such-folder/shop.db"}[case] in line


def test_a_missing_postgresql_database_is_named(tmp_path: Path) -> None:
    pytest.importorskip("asyncpg")
    result = run(["migrate"], "", tmp_path, SHOPBOT_DATABASE_URL=(
        "postgresql+asyncpg://postgres@127.0.0.1:5432/shopbot_no_such_database"))
    if "refused" in result.stderr:
        pytest.skip("no PostgreSQL here")
    assert "shopbot_no_such_database" in one_line_exit_2(result)


def test_eval_with_a_missing_model_or_unusable_data_is_one_line(tmp_path: Path) -> None:
    garbage = tmp_path / "outside.jsonl"  # outside the repository, and not labelled lines
    garbage.write_text("just some text\n", encoding="utf-8")
    unknown = tmp_path / "unknown.jsonl"
    unknown.write_text(json.dumps({"text": "חלב", "intent": "BUY_MILK"}) + "\n",
                       encoding="utf-8")
    cases = {
        ("--model", str(tmp_path / "missing")): "model.onnx",
        ("--data", str(tmp_path / "missing.jsonl")): "no such file",
        ("--data", str(tmp_path)): "not a file",
        ("--data", str(garbage)): "line 1",
        ("--data", str(unknown)): "BUY_MILK",
    }
    for args, words in cases.items():
        line = one_line_exit_2(run(["eval", *args], "", tmp_path))
        assert args[0] in line and words in line, line


def test_missing_files_named_in_options_are_one_line(tmp_path: Path) -> None:
    for args in (["train", "--extra", str(tmp_path / "none.jsonl")],
                 ["model", "export", str(tmp_path / "none"), "--out", str(tmp_path / "o")],
                 ["feedback", "export", "--out", str(tmp_path / "no" / "dir" / "x.jsonl")]):
        assert "none" in one_line_exit_2(run(args, "", tmp_path)) or args[0] == "feedback"


def test_a_bad_log_level_is_one_line(tmp_path: Path) -> None:
    assert "SHOPBOT_LOG_LEVEL" in one_line_exit_2(
        run(["stats"], "", tmp_path, SHOPBOT_LOG_LEVEL="loud"))


# Slow (CI): a `shopbot chat` process start (~2 s) for a signal.
@pytest.mark.slow
def test_ctrl_c_in_chat_after_a_message_is_quiet(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    environment["SHOPBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    process = subprocess.Popen([*SHOPBOT, "chat"], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment, cwd=tmp_path)
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write("@dana: /help\n")
    process.stdin.flush()
    assert process.stdout.readline().startswith("bot: ")
    process.send_signal(signal.SIGINT)  # while the chat waits for the next line
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 130
    assert err == "", err


def test_every_subcommand_and_option_has_help() -> None:
    # In a subprocess: importing the command line module sets its own Ctrl-C handling.
    script = """
import argparse
from bot.cli import _parser

def walk(parser, path):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                if not helps.get(name):
                    print(path + [name])
                walk(sub, path + [name])
        elif not isinstance(action, argparse._HelpAction) and not action.help:
            print(path + [action.dest])

walk(_parser(), ["shopbot"])
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "", f"without help text:\n{result.stdout}"


# Slow (CI): four `shopbot` processes (~6 s).
@pytest.mark.slow
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


# Slow (CI): a `shopbot eval` process (~2 s); the LLM stays quick in test_llm_client.py and in
# test_logs.py's `shopbot run` at DEBUG, which asks a fake LLM.
@pytest.mark.slow
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
