"""A scripted run of the whole bot with an LLM fallback: who routed each message.

Feeds the independent evaluation messages to `shopbot chat` (every message addressed to the
bot) with the LLM pointed at an OpenAI-compatible server on loopback, then prints
`shopbot stats`. The loopback server stands in for a real LLM: it answers with the keyword
baseline's guess, in the schema the bot asks for.

    .venv/bin/python benchmarks/routed_by.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from models.evaluate import keyword_baseline  # noqa: E402
from tests.support.fake_openai import FakeOpenAI, Plan  # noqa: E402


def answer(body: dict) -> Plan:
    message = json.loads(body["messages"][-1]["content"])["message"]
    intent = keyword_baseline(message).value
    return Plan(content=json.dumps({"intents": [{"intent": intent, "entities": {}}]}))


def main() -> None:
    lines = [json.loads(line)["text"].replace("\n", " ") for line in
             (ROOT / "models/corpus/eval/realistic.jsonl").read_text().splitlines() if line]
    with tempfile.TemporaryDirectory() as tmp, FakeOpenAI(default=answer) as server:
        env = {**os.environ, "SHOPBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/run.db",
               "SHOPBOT_LLM_BASE_URL": server.base_url, "SHOPBOT_LLM_API_KEY": "local"}
        script = "\n".join(f"@member{i % 3}: {text}" for i, text in enumerate(lines)) + "\n"
        subprocess.run([sys.executable, "-m", "bot.cli", "chat"], input=script, text=True,
                       env=env, cwd=tmp, capture_output=True, check=True)
        stats = subprocess.run([sys.executable, "-m", "bot.cli", "stats"], text=True, env=env,
                               cwd=tmp, capture_output=True, check=True)
        print(f"{len(lines)} messages; LLM calls: {len(server.requests)}")
        print(stats.stdout)


if __name__ == "__main__":
    main()
