"""Bring your own transformer: fine-tune, export and import Hugging Face classifiers.

Everything reads local directories only (nothing is downloaded). The output of `export` and
`import_model` is a model directory in ARCHITECTURE.md's contract, so the router runs a
fine-tuned AlephBERT, a DistilBERT with a merged LoRA adapter, or a multi-label BERT exactly as
it runs the bundled model.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.compounds import compounds
from models.corpus.generate import Example, Split, build_splits
from models.train import macro_f1
from router.types import Intent

__all__ = ["LoraSpec", "export_model", "finetune", "import_model", "parse_lora",
           "save_corpus_tokenizer"]

LABELS = list(Intent)
MAX_TOKENS = 128


@dataclass(frozen=True)
class LoraSpec:
    """LoRA hyper-parameters (`--lora r=8,alpha=16,dropout=0.05,targets=q_lin,v_lin`)."""

    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    targets: tuple[str, ...] = ("q_lin", "v_lin")


def parse_lora(text: str) -> LoraSpec:
    """`r=8,alpha=16,dropout=0.05,targets=q_lin,v_lin` → LoraSpec."""
    values: dict[str, Any] = {}
    targets: list[str] = []
    key = ""
    for part in text.split(","):
        if "=" in part:
            key, value = part.split("=", 1)
            key = key.strip()
            if key == "targets":
                targets.append(value.strip())
            else:
                values[key] = value.strip()
        elif key == "targets" and part.strip():
            targets.append(part.strip())
    return LoraSpec(r=int(values.get("r", 8)), alpha=int(values.get("alpha", 16)),
                    dropout=float(values.get("dropout", 0.05)),
                    targets=tuple(targets) or ("q_lin", "v_lin"))


def _seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    torch.use_deterministic_algorithms(True, warn_only=True)


def _label_config(multi_label: bool, threshold: float) -> dict[str, Any]:
    return {
        "id2label": {i: label.value for i, label in enumerate(LABELS)},
        "label2id": {label.value: i for i, label in enumerate(LABELS)},
        "problem_type": ("multi_label_classification" if multi_label
                         else "single_label_classification"),
        "num_labels": len(LABELS),
    }


def _targets(examples: list[Example], multi_label: bool) -> Any:
    import torch

    if not multi_label:
        return torch.tensor([LABELS.index(e.intent) for e in examples])
    out = torch.zeros((len(examples), len(LABELS)))
    for row, example in enumerate(examples):
        for intent in getattr(example, "intents", None) or (example.intent,):
            out[row, LABELS.index(intent)] = 1.0
    return out


def finetune(base: Path, out: Path, lora: LoraSpec | None = None, multi_label: bool = False,
             curriculum: bool = False, seed: int = 42, epochs: int = 3, batch_size: int = 32,
             lr: float = 5e-5, limit: int | None = None, threshold: float = 0.3,
             patience: int = 2) -> dict[str, Any]:
    """Fine-tune a local Hugging Face encoder on the corpus; returns validation figures.

    With LoRA, `out/adapter` holds the adapter alone and `out` the merged model. With
    `multi_label`, compound messages join the data (single-label first with `curriculum`).
    """
    import torch
    from transformers import (
        AutoModelForSequenceClassification,
        AutoTokenizer,
        get_linear_schedule_with_warmup,
    )

    _seed_everything(seed)
    split: Split = build_splits(seed=seed)
    rng = random.Random(seed)
    train: list[Any] = list(split.train)
    validation: list[Any] = list(split.validation)
    if limit:
        train = rng.sample(train, min(limit, len(train)))
        validation = rng.sample(validation, min(max(limit // 4, 50), len(validation)))
    if multi_label:
        train += compounds(train, rng, len(train) // 4)
        validation += compounds(validation, rng, len(validation) // 4)
        if curriculum:
            train.sort(key=lambda e: len(getattr(e, "intents", (e.intent,))))
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForSequenceClassification.from_pretrained(
        base, local_files_only=True, **_label_config(multi_label, threshold))
    if lora is not None:
        from peft import LoraConfig, get_peft_model

        model = get_peft_model(model, LoraConfig(
            r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
            target_modules=list(lora.targets), task_type="SEQ_CLS"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=lr)
    steps = max(1, epochs * math.ceil(len(train) / batch_size))
    scheduler = get_linear_schedule_with_warmup(  # type: ignore[no-untyped-call]
        optimizer, int(0.1 * steps), steps)
    best: tuple[float, dict[str, Any] | None] = (-1.0, None)
    stale = 0
    for epoch in range(epochs):
        model.train()
        order = list(range(len(train))) if curriculum else rng.sample(range(len(train)),
                                                                      len(train))
        for start in range(0, len(order), batch_size):
            batch = [train[i] for i in order[start:start + batch_size]]
            encoded = tokenizer([e.text for e in batch], padding=True, truncation=True,
                                max_length=MAX_TOKENS, return_tensors="pt")
            output = model(**encoded, labels=_targets(batch, multi_label))
            output.loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
        score = _validate(model, tokenizer, validation, multi_label, threshold)
        print(f"  epoch {epoch + 1}: validation macro-F1 {score:.4f}", file=sys.stderr)
        if score > best[0]:
            best = (score, {k: v.detach().clone() for k, v in model.state_dict().items()})
            stale = 0
        else:
            stale += 1
            if stale >= patience:
                break
    if best[1] is not None:
        model.load_state_dict(best[1])
    out.mkdir(parents=True, exist_ok=True)
    if lora is not None:
        model.save_pretrained(out / "adapter")
        model = model.merge_and_unload()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    meta = {"validation_macro_f1": best[0], "multi_label": multi_label,
            "threshold": threshold, "seed": seed, "lora": lora.__dict__ if lora else None}
    (out / "shopbot_training.json").write_text(json.dumps(meta, indent=2))
    return meta


def _validate(model: Any, tokenizer: Any, rows: list[Any], multi_label: bool,
              threshold: float) -> float:
    import torch

    model.eval()
    gold: list[int] = []
    pred: list[int] = []
    with torch.no_grad():
        for start in range(0, len(rows), 64):
            batch = rows[start:start + 64]
            encoded = tokenizer([e.text for e in batch], padding=True, truncation=True,
                                max_length=MAX_TOKENS, return_tensors="pt")
            logits = model(**encoded).logits
            for example, row in zip(batch, logits, strict=True):
                if multi_label:
                    wanted = set(getattr(example, "intents", (example.intent,)))
                    for index, value in enumerate(torch.sigmoid(row).tolist()):
                        gold.append(int(LABELS[index] in wanted))
                        pred.append(int(value >= threshold))
                else:
                    gold.append(LABELS.index(example.intent))
                    pred.append(int(row.argmax()))
    model.train()
    if multi_label:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == p == 1)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if p == 1 and g == 0)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == 1 and p == 0)
        return 2 * tp / max(1, 2 * tp + fp + fn)
    return macro_f1(gold, pred, len(LABELS))


def export_model(source: Path, out: Path, int8: bool = False,
                 parity_texts: list[str] | None = None) -> dict[str, float]:
    """ONNX export (TorchScript exporter) with a parity check against PyTorch."""
    import onnxruntime as ort
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    # Eager attention traces faithfully; SDPA's mask shortcuts get baked into the graph.
    model = AutoModelForSequenceClassification.from_pretrained(
        source, local_files_only=True, attn_implementation="eager")
    model.eval()
    model.config.return_dict = False
    out.mkdir(parents=True, exist_ok=True)
    sample = tokenizer(["תוסיף חלב", "add bread please"], padding=True, return_tensors="pt")

    class Wrapped(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = model

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask)[0]

    onnx_path = out / "model.onnx"
    import warnings

    with warnings.catch_warnings():
        # The TorchScript exporter is chosen on purpose (dynamo=False); it warns that it is
        # legacy, and the tests run with warnings as errors.
        warnings.simplefilter("ignore")
        _export(torch, Wrapped().eval(), sample, onnx_path)
    figures: dict[str, float] = {}
    texts = parity_texts or [e.text for e in build_splits(seed=42).validation[:200]]
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    diffs = []
    reference = []
    with torch.no_grad():
        for text in texts:
            encoded = tokenizer([text], truncation=True, max_length=MAX_TOKENS,
                                return_tensors="pt")
            expected = model(input_ids=encoded["input_ids"],
                             attention_mask=encoded["attention_mask"])[0].numpy()
            got = session.run(["logits"], {"input_ids": encoded["input_ids"].numpy(),
                                           "attention_mask": encoded["attention_mask"].numpy()})[0]
            diffs.append(float(np.abs(expected - got).max()))
            reference.append((encoded, int(expected.argmax())))
    figures["max_logit_diff"] = max(diffs)
    if figures["max_logit_diff"] > 1e-4:
        raise RuntimeError(f"ONNX parity failed: max logit difference {max(diffs):.2e}")
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        quantized = out / "model.int8.onnx"
        quantize_dynamic(str(onnx_path), str(quantized), weight_type=QuantType.QInt8)
        session = ort.InferenceSession(str(quantized), providers=["CPUExecutionProvider"])
        agree = sum(
            int(session.run(["logits"], {"input_ids": e["input_ids"].numpy(),
                                         "attention_mask": e["attention_mask"].numpy()})[0]
                .argmax() == top)
            for e, top in reference)
        figures["int8_top1_agreement"] = agree / len(reference)
        shutil.move(str(quantized), str(onnx_path))
    tokenizer.backend_tokenizer.save(str(out / "tokenizer.json"))
    config = model.config
    multi = config.problem_type == "multi_label_classification"
    training = {}
    if (source / "shopbot_training.json").exists():
        training = json.loads((source / "shopbot_training.json").read_text())
    meta = {
        "architectures": list(config.architectures or []),
        "model_type": config.model_type,
        "id2label": {str(i): LABELS[i].value for i in range(len(LABELS))},
        "label2id": {label.value: i for i, label in enumerate(LABELS)},
        "problem_type": config.problem_type or "single_label_classification",
        "threshold": training.get("threshold", 0.3) if multi else 0.7,
        "temperature": 1.0,
        "normalization": None,
        "max_length": MAX_TOKENS,
        "export": figures,
    }
    if multi:
        meta["thresholds"] = {label.value: meta["threshold"] for label in LABELS}
    (out / "config.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")
    return figures


def save_corpus_tokenizer(path: Path, vocab_size: int, sample: int = 6000) -> int:
    """Train a BERT-style WordPiece tokenizer on the corpus and save it as a Hugging Face
    fast tokenizer in `path` (for building base models offline); returns its vocab size."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    texts = [e.text for e in build_splits(seed=42).train[:sample]]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.train_from_iterator(texts, trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    PreTrainedTokenizerFast(tokenizer_object=tokenizer,  # type: ignore[no-untyped-call]
                            unk_token="[UNK]", pad_token="[PAD]",
                            cls_token="[CLS]", sep_token="[SEP]",
                            mask_token="[MASK]").save_pretrained(path)
    return int(tokenizer.get_vocab_size())


def _export(torch: Any, module: Any, sample: Any, path: Path) -> None:
    torch.onnx.export(module, (sample["input_ids"], sample["attention_mask"]), str(path),
                      input_names=["input_ids", "attention_mask"], output_names=["logits"],
                      opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                                    "attention_mask": {0: "batch", 1: "seq"},
                                    "logits": {0: "batch"}})


def import_model(source: Path, out: Path, base: Path | None = None,
                 int8: bool = False) -> dict[str, float]:
    """An existing HF classifier directory, or a PEFT adapter plus its base, exported."""
    if (source / "adapter_config.json").exists():
        import tempfile

        from peft import PeftConfig, PeftModel
        from transformers import AutoModelForSequenceClassification, AutoTokenizer

        adapter = PeftConfig.from_pretrained(str(source))
        base_dir = base or Path(adapter.base_model_name_or_path)
        model = AutoModelForSequenceClassification.from_pretrained(
            base_dir, local_files_only=True, **_label_config(False, 0.3))
        merged = PeftModel.from_pretrained(model, source).merge_and_unload()
        with tempfile.TemporaryDirectory() as tmp:
            merged.save_pretrained(tmp)
            AutoTokenizer.from_pretrained(base_dir, local_files_only=True).save_pretrained(tmp)
            return export_model(Path(tmp), out, int8=int8)
    return export_model(source, out, int8=int8)
