"""`shopbot train` end to end (slow: it trains on the whole corpus)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from models.corpus.generate import build_splits, load_templates
from router.classifier import Classifier
from router.normalize import normalize
from router.types import Intent


def test_test_split_holds_only_templates_never_seen_in_training() -> None:
    split = build_splits(seed=42)
    train = {normalize(e.template) for e in split.train}
    test = {normalize(e.template) for e in split.test}
    assert train and test and not train & test
    assert {e.intent for e in split.test} == set(Intent)


def test_the_corpus_meets_its_seed_counts() -> None:
    for lang, minimum in (("he", 40), ("en", 20), ("ar", 20)):
        templates = load_templates(lang)
        for intent in Intent:
            assert sum(t.intent is intent for t in templates) >= minimum, (lang, intent)


def test_the_bundled_model_is_small_and_loads() -> None:
    model = Path(__file__).resolve().parents[1] / "models" / "intent"
    assert (model / "model.onnx").stat().st_size <= 10_000_000
    classifier = Classifier.from_dir(model)
    assert set(classifier.labels) == set(Intent)
    config = json.loads((model / "config.json").read_text())
    assert config["problem_type"] == "single_label_classification"


@pytest.mark.slow
def test_train_is_reproducible_and_gates_promotion(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPBOT_")}
    out = tmp_path / "model"

    def train(*extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot.cli", "train", "--arch", "bag",
                               "--epochs", "1", "--out", str(out), *extra],
                              capture_output=True, text=True, env=env, timeout=900,
                              check=False)

    first = train()
    assert first.returncode == 0, first.stderr[-2000:]
    config = json.loads((out / "config.json").read_text())
    # The same seed again: the gate compares, and the figures are identical.
    second = train()
    assert "| macro_f1 |" in second.stderr
    row = next(line for line in second.stderr.splitlines() if line.startswith("| macro_f1"))
    _, current, new, _ = (cell.strip() for cell in row.split("|")[1:])
    assert current == new
    assert json.loads((out / "config.json").read_text())["training"] == config["training"]
    routed = Classifier.from_dir(out).scores(["תוסיף חלב"])
    assert routed.shape == (1, len(Intent))
