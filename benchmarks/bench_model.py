"""The classifier alone: latency per message, model size, and the bot's memory.

    .venv/bin/python benchmarks/bench_model.py [--model models/intent]

Latency is normalize + tokenize + ONNX at batch 1 on one thread, over the independent
evaluation messages. RSS is this process after loading the model and the whole bot
(services, database engine, PTB application), as `shopbot run` holds them.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from router.classifier import Classifier

ROOT = Path(__file__).resolve().parents[1]


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(model: Path) -> None:
    texts = [json.loads(line)["text"] for line in
             (ROOT / "models/corpus/eval/realistic.jsonl").read_text().splitlines() if line]
    classifier = Classifier.from_dir(model, threads=1)
    for text in texts[:50]:
        classifier.scores([text])
    timings = []
    for _round in range(3):
        for text in texts:
            start = time.perf_counter()
            classifier.scores([text])
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    start = time.perf_counter()
    for i in range(0, len(texts), 32):
        classifier.scores(texts[i:i + 32])
    batch = len(texts) / (time.perf_counter() - start)
    size = (model / "model.onnx").stat().st_size / 1e6
    print(f"model.onnx: {size:.2f} MB")
    print(f"batch 1, one thread: p50 {statistics.median(timings):.3f} ms, "
          f"p95 {timings[int(len(timings) * 0.95)]:.3f} ms, "
          f"{1000 / statistics.mean(timings):.0f} messages/s")
    print(f"batch 32: {batch:.0f} messages/s")
    print(f"RSS with the classifier loaded: {rss_mb():.0f} MB")

    from bot.app import build_application
    from bot.services import build_services
    from bot.settings import Settings

    async def whole_bot() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(telegram_token="1:X", model_dir=model,
                                database_url=f"sqlite+aiosqlite:///{tmp}/b.db")
            services = await build_services(settings)
            build_application(services)
            print(f"RSS of the bot process (services + PTB application): {rss_mb():.0f} MB")
            await services.close()

    asyncio.run(whole_bot())


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=ROOT / "models/intent")
    main(parser.parse_args().model)
