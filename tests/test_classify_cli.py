"""`shopbot classify` as a tool outside the repo uses it: every intent of a message in the
order said with one part per request, and a line that is not valid input answered with an
error on its own line while the run goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SHOPBOT = [sys.executable, "-m", "bot.cli"]
# Slow (CI): a `shopbot classify` process each (about 2 s); the quick run keeps test_cli.py's
# classify test (one process, every field of a record, parts included).
pytestmark = pytest.mark.slow


def classify(stdin: bytes, tmp_path: Path) -> tuple[int, list[dict[str, Any]], str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    environment["SHOPBOT_DATABASE_URL"] = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    result = subprocess.run([*SHOPBOT, "classify"], input=stdin, capture_output=True,
                            env=environment, cwd=tmp_path, timeout=120, check=False)
    out = result.stdout.decode("utf-8")
    return (result.returncode, [json.loads(line) for line in out.splitlines()],
            result.stderr.decode("utf-8", "replace"))


def lines(*values: str | dict[str, Any]) -> bytes:
    return "".join((json.dumps(v, ensure_ascii=False) if isinstance(v, dict) else v) + "\n"
                   for v in values).encode("utf-8")


def test_a_message_with_two_requests_lists_both_intents_and_parts_in_order(
        tmp_path: Path) -> None:
    code, records, stderr = classify(lines(
        {"text": "קנינו הכל חוץ מהגבינה, ותוסיף גם שמנת"},
        "show me the list and add bananas",
        {"text": "شيل الحليب وضيف 2 بيض"},
    ), tmp_path)
    assert code == 0, stderr
    he, en, ar = records
    assert he["intents"] == ["PARTIAL_COMPLETION", "GROCERY_REQUEST"]
    assert [p["text"] for p in he["parts"]] == ["קנינו הכל חוץ מהגבינה", "תוסיף גם שמנת"]
    assert he["parts"][0]["entities"] == {
        "items": [{"name": "גבינה", "quantity": None, "unit": None}]}
    assert he["parts"][1]["entities"]["items"][0]["name"] == "שמנת"
    assert en["intents"] == ["LIST_QUERY", "GROCERY_REQUEST"]
    assert en["parts"][1] == {"intent": "GROCERY_REQUEST", "text": "add bananas",
                              "entities": {"items": [{"name": "bananas", "quantity": None,
                                                      "unit": None}]}}
    assert ar["intents"] == ["REMOVE_ITEM", "GROCERY_REQUEST"]
    assert ar["parts"][1]["entities"]["items"] == [{"name": "بيض", "quantity": 2,
                                                    "unit": None}]
    for record in records:
        # The existing fields keep their meaning: they describe the first request.
        assert record["intent"] == record["intents"][0] == record["parts"][0]["intent"]
        assert record["entities"] == record["parts"][0]["entities"]
        assert record["routed"] is True and len(record["top"]) == 3


def test_a_message_with_one_request_has_one_part_with_the_whole_text(tmp_path: Path) -> None:
    code, records, stderr = classify(lines("add milk and eggs"), tmp_path)
    assert code == 0, stderr
    assert records[0]["intents"] == ["GROCERY_REQUEST"]
    assert records[0]["parts"] == [{"intent": "GROCERY_REQUEST", "text": "add milk and eggs",
                                    "entities": records[0]["entities"]}]


def test_lines_that_are_not_input_get_an_error_on_their_line_and_the_run_goes_on(
        tmp_path: Path) -> None:
    stdin = (lines({"text": "תוסיף חלב"}) + b'{"text": "broken\n'
             + lines({"message": "add milk"}, {"text": 5}, "", "what's our invite code?")
             + b"\xff\xfe add milk\n" + lines({"text": "بدنا خبز"}))
    code, records, stderr = classify(stdin, tmp_path)
    assert code == 0, stderr
    assert len(records) == 8
    assert [set(r) == {"error"} for r in records] == [
        False, True, True, True, True, False, True, False]
    assert "not valid JSON" in records[1]["error"] and records[1]["error"].startswith("line 2")
    assert "text" in records[2]["error"] and "text" in records[3]["error"]
    assert "empty" in records[4]["error"]
    assert "UTF-8" in records[6]["error"]
    assert records[0]["intent"] == "GROCERY_REQUEST"
    assert records[5]["intent"] == "GET_INVITE_CODE"
    assert records[7]["entities"]["items"][0]["name"] == "خبز"
