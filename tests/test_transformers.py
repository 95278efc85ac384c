"""Bring-your-own transformers, offline: tiny random BERT and DistilBERT built here, fine-tuned
briefly, exported to ONNX with a parity check, and run by the router (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import onnx
import pytest

from models.transformer import (
    LoraSpec,
    export_model,
    finetune,
    import_model,
    save_corpus_tokenizer,
)
from router.classifier import Classifier
from router.router import Router
from router.types import Incoming, Intent

pytestmark = [
    pytest.mark.slow,
    # peft still calls a transformers property that transformers 5 deprecates.
    pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing.*:FutureWarning"),
]


@pytest.fixture(autouse=True)
def _transformers_installed() -> None:
    """Skip without transformers and peft. Checked when a test runs, not when the module is
    collected: importing them takes seconds, which the quick run (it deselects these) saves."""
    pytest.importorskip("transformers")
    pytest.importorskip("peft")


def tiny_base(kind: str, path: Path) -> Path:
    """A 2-layer, hidden-32 encoder with random weights and a WordPiece tokenizer trained on
    the corpus, saved as a Hugging Face directory."""
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel

    vocab = save_corpus_tokenizer(path, vocab_size=3000)
    if kind == "bert":
        BertModel(BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2,
                             num_attention_heads=2, intermediate_size=64,
                             max_position_embeddings=160)).save_pretrained(path)
    else:
        DistilBertModel(DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=2,
                                         hidden_dim=64, max_position_embeddings=160)
                        ).save_pretrained(path)
    return path


def route(model_dir: Path, text: str) -> tuple[Intent, ...]:
    routed = Router(Classifier.from_dir(model_dir)).decide(
        Incoming(chat_id=1, user_id=1, text=text))
    assert routed.top and all(s.label in Intent for s in routed.top)
    return routed.intents


def test_bert_finetune_export_and_route(tmp_path: Path) -> None:
    base = tiny_base("bert", tmp_path / "bert-base")
    tuned = tmp_path / "bert-tuned"
    meta = finetune(base, tuned, epochs=1, limit=400)
    # The validation figure is kept beside the weights, for the model card.
    recorded = json.loads((tuned / "shopbot_training.json").read_text())
    assert recorded["validation_macro_f1"] == meta["validation_macro_f1"]
    figures = export_model(tuned, tmp_path / "bert-onnx", parity_texts=["תוסיף חלב", "hi"])
    assert figures["max_logit_diff"] <= 1e-4
    assert len(route(tmp_path / "bert-onnx", "תוסיף חלב וביצים")) == 1


def test_distilbert_with_lora_saves_the_adapter_and_merges(tmp_path: Path) -> None:
    base = tiny_base("distilbert", tmp_path / "distil-base")
    tuned = tmp_path / "distil-lora"
    finetune(base, tuned, lora=LoraSpec(), epochs=1, limit=400)
    adapter = tuned / "adapter"
    assert (adapter / "adapter_config.json").exists()
    assert sum(f.stat().st_size for f in adapter.iterdir()) < 5_000_000
    figures = import_model(adapter, tmp_path / "distil-onnx", base=base, int8=True,)
    assert figures["max_logit_diff"] <= 1e-4
    assert "int8_top1_agreement" in figures
    # The exported graph really is quantized: integer matrix products, not float ones.
    ops = {node.op_type for node in onnx.load(str(tmp_path / "distil-onnx" / "model.onnx"))
           .graph.node}
    assert ops & {"MatMulInteger", "DynamicQuantizeLinear", "QLinearMatMul"}
    assert len(route(tmp_path / "distil-onnx", "add bread")) == 1


def test_multi_label_bert_routes_with_per_label_thresholds(tmp_path: Path) -> None:
    base = tiny_base("bert", tmp_path / "ml-base")
    tuned = tmp_path / "ml-tuned"
    finetune(base, tuned, multi_label=True, curriculum=True, epochs=1, limit=400)
    export_model(tuned, tmp_path / "ml-onnx", parity_texts=["add bread and show the list"])
    classifier = Classifier.from_dir(tmp_path / "ml-onnx")
    assert classifier.multi_label and classifier.thresholds is not None
    assert all(t == 0.3 for t in classifier.thresholds)
    scores = classifier.scores(["add bread and show me the list"])[0]
    assert ((scores >= 0) & (scores <= 1)).all()
