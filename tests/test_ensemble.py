"""`shopbot train --members N`: several networks averaged in one model directory.

The exported graph must answer exactly as the average of its members, and a message must
read the same alone as padded in a batch (the router scores one message at a time, `shopbot
eval` 256 at a time). Untrained networks are enough: the arithmetic is what is checked.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from models.train import (
    LABELS,
    TrainConfig,
    _batch,
    _encode,
    build_tokenizer,
    export,
    make_ensemble,
    make_model,
)
from router.classifier import Classifier
from router.normalize import normalize

torch = pytest.importorskip("torch")

TEXTS = ["תוסיף חלב וביצים", "show me the list", "بدنا خبز", "купи молоко",
         "קנינו הכל חוץ מהעגבניות, ותוסיף גם שמנת לבישול 🙏"]


def _members(tokenizer: object, count: int) -> list[object]:
    config = TrainConfig(dim=8, hidden=16)
    members = []
    for seed in range(count):
        torch.manual_seed(seed)
        members.append(make_model(torch, config, tokenizer.get_vocab_size()).eval())
    return members


def test_the_exported_ensemble_is_the_mean_of_its_members(tmp_path: Path) -> None:
    texts = [normalize(t) for t in TEXTS]
    tokenizer = build_tokenizer(texts * 3)
    members = _members(tokenizer, 3)
    ensemble = make_ensemble(torch, members).eval()
    export({"model": ensemble, "tokenizer": tokenizer, "temperature": 1.0,
            "val_macro_f1": 0.0, "best_epoch": [1, 1, 1],
            "config": TrainConfig(dim=8, hidden=16, members=3)}, tmp_path)

    ids, mask = _batch(torch, _encode(tokenizer, texts))
    with torch.no_grad():
        expected = np.mean([m(ids, mask).numpy() for m in members], axis=0)
    classifier = Classifier.from_dir(tmp_path)
    got = classifier.scores(TEXTS)
    want = np.exp(expected - expected.max(axis=1, keepdims=True))
    want = want / want.sum(axis=1, keepdims=True)
    assert got.shape == (len(TEXTS), len(LABELS))
    assert np.allclose(got, want, atol=1e-5)


def test_a_message_reads_the_same_alone_and_padded_in_a_batch(tmp_path: Path) -> None:
    texts = [normalize(t) for t in TEXTS]
    tokenizer = build_tokenizer(texts * 3)
    ensemble = make_ensemble(torch, _members(tokenizer, 2)).eval()
    short = _encode(tokenizer, [texts[2]])
    batched = _encode(tokenizer, [texts[2], texts[4]])
    with torch.no_grad():
        alone = ensemble(*_batch(torch, short)).numpy()[0]
        padded = ensemble(*_batch(torch, batched)).numpy()[0]
    assert len(batched[1]) > len(batched[0])  # the short one really is padded
    assert np.allclose(alone, padded, atol=1e-5)


def test_a_teacher_gives_half_of_each_target() -> None:
    from bot.settings import BUNDLED_MODEL
    from models.corpus.generate import Example
    from models.train import _teacher_targets
    from router.types import Intent

    examples = [Example("תוסיף חלב", Intent.GROCERY_REQUEST, "he", "t"),
                Example("what's the invite code?", Intent.GET_INVITE_CODE, "en", "t")]
    gold = [LABELS.index(e.intent) for e in examples]
    targets = _teacher_targets(str(BUNDLED_MODEL), examples, gold)
    assert np.allclose(targets.sum(axis=1), 1.0, atol=1e-5)
    # The gold label's half, plus what the teacher gives it: the teacher is sure of both.
    assert all(targets[i, g] > 0.9 for i, g in enumerate(gold))
    assert np.allclose(targets - 0.5 * np.eye(len(LABELS))[gold],
                       0.5 * Classifier.from_dir(BUNDLED_MODEL).scores(
                           [e.text for e in examples]), atol=1e-5)
