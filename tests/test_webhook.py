"""Webhook mode: the real `shopbot serve` over HTTP on loopback (issue 11).

The emulator (tests/support/cloud.py) takes setWebhook and then delivers updates as Telegram
does: POSTs with the secret header, one chat's updates one after another, retried until
answered 200.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.cloud import CloudBotApi
from tests.support.serving import ROOT, SECRET, Served, get, post

TOKEN = "123456:WEBHOOK-TEST"


def serve_once(tmp_path: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    env.update({"SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}",
                "PYTHONPATH": str(ROOT), "SHOPBOT_TELEGRAM_TOKEN": TOKEN,
                "SHOPBOT_WEBHOOK_URL": "https://bot.example.org/telegram",
                **{f"SHOPBOT_{k.upper()}": v for k, v in settings.items()}})
    return subprocess.run([sys.executable, "-m", "bot.cli", "serve"], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=120, check=False)


# Slow (CI): two `shopbot serve` processes for their refusals; the webhook end to end
# below stays quick.
@pytest.mark.slow
def test_serve_without_a_secret_or_with_workers_on_sqlite_says_so_in_one_line(
        tmp_path: Path) -> None:
    missing = serve_once(tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.count("\n") == 1 and "SHOPBOT_WEBHOOK_SECRET" in missing.stderr
    workers = serve_once(tmp_path, webhook_secret=SECRET, workers="2")
    assert workers.returncode == 2
    assert workers.stderr.count("\n") == 1 and "SHOPBOT_WORKERS" in workers.stderr
    assert "PostgreSQL" in workers.stderr


@pytest.fixture
def cloud() -> Iterator[CloudBotApi]:
    with CloudBotApi(token=TOKEN, bot_username="family_list_bot") as api:
        yield api


def test_updates_posted_to_the_webhook_are_applied_once_each_in_chat_order(
        cloud: CloudBotApi, tmp_path: Path) -> None:
    database = f"sqlite+aiosqlite:///{tmp_path / 'webhook.db'}"
    served = Served(tmp_path, token=TOKEN, api_url=cloud.base_url, database_url=database,
                    log_format="json", log_level="INFO")
    with served:
        # Registered with the secret; Telegram would now call only the webhook.
        [(_, registered)] = cloud.calls("setWebhook")
        assert registered["url"] == served.url and registered["secret_token"] == SECRET
        assert "chat_member" in registered["allowed_updates"]
        # Without the secret, or with a wrong one, nothing is taken.
        forged = {"update_id": 999, "message": {"message_id": 1, "date": 0, "text": "/clear",
                                                "chat": {"id": -1, "type": "group"}}}
        assert post(served.url, forged) == 403
        assert post(served.url, forged, secret="not-" + SECRET) == 403
        assert post(served.url, {"no": "update"}, secret=SECRET) == 400

        groups = [cloud.group(-1003000000000 - i, f"Family {i}") for i in range(4)]
        dana = cloud.user(8001, "Dana", language_code="he")
        samir = cloud.user(8002, "Samir", language_code="ar")
        said: list[tuple[dict[str, object], str]] = []
        for group in groups:
            for member, text in ((dana, "/add חלב"), (samir, "/add خبز"), (dana, "/list")):
                cloud.send_text(group, member, text)
                said.append((group, text))
        for group in groups:
            cloud.wait_for_sent(group["id"], 3, timeout=60)
        time.sleep(0.5)  # an answer given twice would show now

        status, body = get(served.base + "/healthz")
        assert status == 200 and json.loads(body)["database"] == "ok"
        metrics = get(served.base + "/metrics")[1].decode()
    assert served.process is not None and served.process.returncode == 0, served.output()
    # SHOPBOT_LOG_FORMAT=json: every log line of the parent and the worker is one object.
    logged = [json.loads(line) for line in served.output().splitlines() if line.strip()]
    assert any("webhook set" in entry["message"] for entry in logged)
    assert all({"time", "level", "logger", "message"} <= set(entry) for entry in logged)
    assert not any(TOKEN.split(":")[1] in entry["message"] for entry in logged)

    # Every update delivered and answered 200 exactly once; nothing refused or retried.
    delivered = cloud.delivered()
    assert sorted(delivered) == sorted(set(delivered)) and len(delivered) == len(said)
    assert all(d.status == 200 for d in cloud.deliveries)
    for group in groups:
        replies = [m["text"] for m in cloud.sent(group["id"])]
        # One answer per message, in the order said: two adds, then the list with both.
        assert len(replies) == 3, replies
        assert "חלב" in replies[0] and "خبز" in replies[1]
        assert "חלב" in replies[2] and "خبز" in replies[2]
    assert 'shopbot_updates_total{kind="message"} 12.0' in metrics
    assert 'shopbot_webhook_requests_total{status="403"} 2.0' in metrics
    counts = Counter(line.split("{")[0] for line in metrics.splitlines()
                     if line.startswith("shopbot_routed_total"))
    assert counts["shopbot_routed_total"] >= 1
