"""`shopbot train`: the bundled intent model, from the corpus to a model directory.

Two architectures are measured on the validation split (`--compare`): a bag of subword
and hashed subword-bigram embeddings with a small MLP (fastText-like), and a small 1-D
convolutional encoder. The winner is calibrated with temperature scaling on validation and
exported to ONNX with the same input contract as a Hugging Face sequence classifier.
"""

from __future__ import annotations

import json
import random
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from models.compounds import compounds
from models.corpus.generate import Example, Split, build_splits
from models.evaluate import evaluate, read_rows
from router.normalize import MENTION_TOKEN, NORMALIZATION_NAME, URL_TOKEN, normalize
from router.types import Intent

__all__ = ["TrainConfig", "train_command", "train_model"]

LABELS = list(Intent)
MAX_LENGTH = 256
BUCKETS = 1 << 15
MAX_ORDER = 5
HASH_PRIME = 1000003


@dataclass(frozen=True)
class TrainConfig:
    """Hyper-parameters of one run."""

    arch: str = "cnn"
    seed: int = 42
    dim: int = 64
    hidden: int = 256
    gram_dropout: float = 0.15
    multi_label: bool = False
    epochs: int = 8
    batch_size: int = 64
    lr: float = 3e-3
    dropout: float = 0.2
    # Networks trained from consecutive seeds whose logits are averaged in one ONNX graph:
    # a single 1 MB CNN moves single phrases by ±0.2 between retrains, an average far less.
    members: int = 1
    # A model directory whose answers (probabilities) are half of each training target:
    # one network learns what an ensemble of several says, at one network's cost.
    teacher: str | None = None


def _require_torch() -> Any:
    try:
        import torch
    except ImportError:  # pragma: no cover - depends on the install
        sys.exit("shopbot train needs the training extra: pip install torch==2.13.0 "
                 "'shopbot[train]' (see the README)")
    return torch


def build_tokenizer(texts: list[str], min_count: int = 3) -> Any:
    """A character tokenizer in Hugging Face's WordPiece form.

    Each word becomes its characters, the first one plain and the rest as `##c`, so word
    starts are visible; the model builds hashed character n-grams on top. Characters rarer
    than `min_count` in the corpus map to [UNK].
    """
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    counts: Counter[str] = Counter(ch for text in texts for ch in text if not ch.isspace())
    alphabet = sorted(ch for ch, n in counts.items() if n >= min_count)
    vocab = {"[PAD]": 0, "[UNK]": 1}
    for ch in alphabet:
        vocab.setdefault(ch, len(vocab))
        vocab.setdefault(f"##{ch}", len(vocab))
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]",
                                           max_input_chars_per_word=100))
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.add_special_tokens([URL_TOKEN, MENTION_TOKEN])
    return tokenizer


def _encode(tokenizer: Any, texts: list[str]) -> list[list[int]]:
    return [enc.ids[:MAX_LENGTH] or [1] for enc in tokenizer.encode_batch(texts)]


def _batch(torch: Any, rows: list[list[int]]) -> tuple[Any, Any]:
    width = max(len(r) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, : len(row)] = torch.tensor(row)
        mask[i, : len(row)] = 1
    return ids, mask


def make_model(torch: Any, config: TrainConfig, vocab: int) -> Any:
    """The network of an architecture."""
    nn = torch.nn

    class BagModel(nn.Module):  # type: ignore[misc,name-defined]
        """fastText-like: hashed character n-grams (1..5) averaged, then a small MLP."""

        def __init__(self) -> None:
            super().__init__()
            self.grams = nn.Embedding(BUCKETS, config.dim)
            self.norm = nn.LayerNorm(config.dim)
            self.drop = nn.Dropout(config.dropout)
            self.hidden = nn.Linear(config.dim, config.hidden)
            self.out = nn.Linear(config.hidden, len(LABELS))

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            # The n-gram hashing happens inside the graph, so the runtime feeds ids alone.
            width = input_ids.shape[1]
            ids = torch.nn.functional.pad(input_ids, (0, MAX_ORDER))
            mask = torch.nn.functional.pad(attention_mask, (0, MAX_ORDER)).float()
            total = torch.zeros(input_ids.shape[0], config.dim)
            count = torch.zeros(input_ids.shape[0], 1)
            gram = torch.zeros_like(input_ids)
            valid = torch.ones_like(mask[:, :width])
            for order in range(MAX_ORDER):
                gram = (gram * HASH_PRIME + ids[:, order:order + width] + order + 1) % BUCKETS
                valid = valid * mask[:, order:order + width]
                weight = valid
                if self.training:
                    weight = weight * (torch.rand_like(weight) > config.gram_dropout).float()
                total = total + (self.grams(gram) * weight.unsqueeze(-1)).sum(1)
                count = count + weight.sum(1, keepdim=True)
            features = self.drop(self.norm(total / count.clamp(min=1.0)))
            return self.out(self.drop(torch.relu(self.hidden(features))))

    class CnnModel(nn.Module):  # type: ignore[misc,name-defined]
        """Character convolutions (widths 3, 5, 7) max-pooled over the message."""

        def __init__(self) -> None:
            super().__init__()
            # A zero, frozen [PAD] embedding: a message padded in a batch then reads exactly
            # as it does alone, which is how the router scores it.
            self.tokens = nn.Embedding(vocab, config.dim, padding_idx=0)
            self.convs = nn.ModuleList(
                nn.Conv1d(config.dim, config.hidden, kernel_size=k, padding=k // 2)
                for k in (3, 5, 7))
            self.drop = nn.Dropout(config.dropout)
            self.out = nn.Linear(config.hidden * 3, len(LABELS))

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            mask = attention_mask.unsqueeze(1).float()
            x = self.drop(self.tokens(input_ids)).transpose(1, 2)
            pooled = []
            for conv in self.convs:
                h = torch.relu(conv(x)) * mask - (1.0 - mask) * 1e4
                pooled.append(h.max(dim=2).values)
            return self.out(self.drop(torch.cat(pooled, dim=-1)))

    return BagModel() if config.arch == "bag" else CnnModel()


def make_ensemble(torch: Any, members: list[Any]) -> Any:
    """One network whose logits are the mean of its members' (same inputs and output)."""
    nn = torch.nn

    class Ensemble(nn.Module):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.members = nn.ModuleList(members)

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            total = self.members[0](input_ids, attention_mask)
            for member in self.members[1:]:
                total = total + member(input_ids, attention_mask)
            return total / len(self.members)

    return Ensemble()


def macro_f1(gold: list[int], pred: list[int], labels: int) -> float:
    """Macro-averaged F1 over the labels present in gold or prediction."""
    scores = []
    for label in range(labels):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == p == label)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if p == label and g != label)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == label and p != label)
        if tp + fp + fn == 0:
            continue
        scores.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(scores)) if scores else 0.0


def _logits(torch: Any, model: Any, rows: list[list[int]], batch: int = 512) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, len(rows), batch):
            ids, mask = _batch(torch, rows[start:start + batch])
            out.append(model(ids, mask).numpy())
    return np.concatenate(out)


def fit_temperature(logits: np.ndarray, gold: np.ndarray) -> float:
    """The temperature that minimises validation negative log-likelihood (grid + refine)."""
    def nll(t: float) -> float:
        scaled = logits / t
        scaled = scaled - scaled.max(axis=1, keepdims=True)
        logp = scaled - np.log(np.exp(scaled).sum(axis=1, keepdims=True))
        return float(-logp[np.arange(len(gold)), gold].mean())
    grid = np.exp(np.linspace(np.log(0.3), np.log(5.0), 60))
    best = min(grid, key=nll)
    fine = np.linspace(best * 0.9, best * 1.1, 21)
    return float(min(fine, key=nll))


def _multi_hot(examples: list[Any]) -> np.ndarray:
    out = np.zeros((len(examples), len(LABELS)), dtype=np.float32)
    for row, example in enumerate(examples):
        for intent in getattr(example, "intents", (example.intent,)):
            out[row, LABELS.index(intent)] = 1.0
    return out


def _label_sets(probabilities: np.ndarray, thresholds: np.ndarray) -> np.ndarray:
    chosen = probabilities >= thresholds
    empty = ~chosen.any(axis=1)
    chosen[empty, probabilities[empty].argmax(axis=1)] = True  # never an empty answer
    return chosen


def train_model(split: Split, config: TrainConfig, progress: bool = True,
                extra: list[Example] | None = None) -> dict[str, Any]:
    """Train one model; returns the tokenizer, the network, its temperature and scores."""
    if config.members > 1:
        return _train_ensemble(split, config, progress, extra)
    torch = _require_torch()
    torch.manual_seed(config.seed)
    random.seed(config.seed)
    np.random.seed(config.seed)
    torch.set_num_threads(2)
    train: list[Any] = split.train + (extra or [])
    validation: list[Any] = list(split.validation)
    if config.multi_label:
        rng = random.Random(config.seed + 1)
        train = train + compounds(split.train, rng, len(split.train) // 4)
        validation = validation + compounds(split.validation, rng, len(validation) // 2)
    texts = [normalize(e.text) for e in train]
    tokenizer = build_tokenizer(texts)
    rows = _encode(tokenizer, texts)
    gold = [LABELS.index(e.intent) for e in train]
    soft = _teacher_targets(config.teacher, train, gold) if config.teacher else None
    multi_gold = _multi_hot(train)
    val_rows = _encode(tokenizer, [normalize(e.text) for e in validation])
    val_gold = np.array([LABELS.index(e.intent) for e in validation])
    val_multi = _multi_hot(validation)
    model = make_model(torch, config, tokenizer.get_vocab_size())
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=1e-4)
    steps = config.epochs * ((len(rows) + config.batch_size - 1) // config.batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr,
                                                    total_steps=steps, pct_start=0.1)
    loss_fn = (torch.nn.BCEWithLogitsLoss() if config.multi_label
               else torch.nn.CrossEntropyLoss(label_smoothing=0.05))
    order_rng = random.Random(config.seed)
    best: tuple[float, dict[str, Any], int] = (-1.0, {}, 0)
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    for epoch in range(config.epochs):
        model.train()
        order = list(range(len(rows)))
        order_rng.shuffle(order)
        batches = range(0, len(order), config.batch_size)
        bar = tqdm(batches, desc=f"{config.arch} epoch {epoch + 1}/{config.epochs}",
                   disable=not progress or tqdm is None, leave=False, file=sys.stderr,
                   mininterval=2.0) \
            if tqdm else batches
        for start in bar:
            picked = order[start:start + config.batch_size]
            ids, mask = _batch(torch, [rows[i] for i in picked])
            target = (torch.tensor(multi_gold[picked]) if config.multi_label
                      else torch.tensor(soft[picked]) if soft is not None
                      else torch.tensor([gold[i] for i in picked]))
            optimizer.zero_grad()
            loss = loss_fn(model(ids, mask), target)
            loss.backward()
            optimizer.step()
            scheduler.step()
        val_logits = _logits(torch, model, val_rows)
        if config.multi_label:
            chosen = _label_sets(1 / (1 + np.exp(-val_logits)), np.full(len(LABELS), 0.5))
            score = float((chosen == (val_multi > 0)).all(axis=1).mean())
        else:
            score = macro_f1(list(val_gold), list(val_logits.argmax(axis=1)), len(LABELS))
        if progress:
            print(f"  {config.arch} epoch {epoch + 1}: validation macro-F1 {score:.4f}",
                  file=sys.stderr)
        if score > best[0]:
            best = (score, {k: v.clone() for k, v in model.state_dict().items()}, epoch + 1)
    model.load_state_dict(best[1])
    val_logits = _logits(torch, model, val_rows)
    thresholds = None
    if config.multi_label:
        temperature = 1.0
        probabilities = 1 / (1 + np.exp(-val_logits))
        thresholds = [_best_threshold(probabilities[:, i], val_multi[:, i] > 0)
                      for i in range(len(LABELS))]
    else:
        temperature = fit_temperature(val_logits, val_gold)
    return {"tokenizer": tokenizer, "model": model, "temperature": temperature,
            "val_macro_f1": best[0], "best_epoch": best[2], "config": config,
            "thresholds": thresholds}


def _teacher_targets(teacher: str, examples: list[Any], gold: list[int]) -> np.ndarray:
    """Half the teacher's probabilities, half the gold label, for every training example."""
    from router.classifier import Classifier

    classifier = Classifier.from_dir(teacher, threads=2)
    if list(classifier.labels) != LABELS:
        sys.exit(f"shopbot train --teacher {teacher}: the teacher's labels are not this "
                 "model's (config.json id2label)")
    probabilities = np.concatenate([
        classifier.scores([e.text for e in examples[start:start + 256]])
        for start in range(0, len(examples), 256)]).astype(np.float32)
    targets = 0.5 * probabilities
    targets[np.arange(len(gold)), gold] += 0.5
    return targets


def _train_ensemble(split: Split, config: TrainConfig, progress: bool,
                    extra: list[Example] | None) -> dict[str, Any]:
    """Members from seeds seed, seed+1, …, on the same split and tokenizer; the average is
    calibrated on validation like a single network."""
    from dataclasses import replace

    torch = _require_torch()
    results = []
    for index in range(config.members):
        member = replace(config, seed=config.seed + index, members=1)
        results.append(train_model(split, member, progress, extra))
        if progress:
            print(f"  member {index + 1}/{config.members} (seed {member.seed}): validation "
                  f"macro-F1 {results[-1]['val_macro_f1']:.4f}", file=sys.stderr)
    tokenizer = results[0]["tokenizer"]
    # The tokenizer depends on the training texts alone, so every member shares it.
    assert all(r["tokenizer"].get_vocab() == tokenizer.get_vocab() for r in results)
    model = make_ensemble(torch, [r["model"] for r in results])
    validation = list(split.validation)
    val_rows = _encode(tokenizer, [normalize(e.text) for e in validation])
    val_gold = np.array([LABELS.index(e.intent) for e in validation])
    val_logits = _logits(torch, model, val_rows)
    score = macro_f1(list(val_gold), list(val_logits.argmax(axis=1)), len(LABELS))
    return {"tokenizer": tokenizer, "model": model,
            "temperature": fit_temperature(val_logits, val_gold), "val_macro_f1": score,
            "best_epoch": [r["best_epoch"] for r in results], "config": config,
            "thresholds": None}


def _best_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The per-label threshold with the best validation F1 (0.3 to 0.8)."""
    best = (0.5, -1.0)
    for threshold in np.arange(0.3, 0.81, 0.05):
        predicted = scores >= threshold
        tp = float((predicted & truth).sum())
        f1 = 2 * tp / max(1.0, float(predicted.sum() + truth.sum()))
        if f1 > best[1]:
            best = (float(round(threshold, 2)), f1)
    return best[0]


def export(result: dict[str, Any], out: Path) -> None:
    """Write the model directory: model.onnx, tokenizer.json, config.json."""
    torch = _require_torch()
    out.mkdir(parents=True, exist_ok=True)
    model = result["model"].eval()
    ids = torch.ones((1, 6), dtype=torch.long)
    mask = torch.ones((1, 6), dtype=torch.long)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is chosen on purpose
        torch.onnx.export(
            model, (ids, mask), str(out / "model.onnx"),
            input_names=["input_ids", "attention_mask"], output_names=["logits"],
            opset_version=17, dynamo=False,
            dynamic_axes={"input_ids": {0: "batch", 1: "seq"},
                          "attention_mask": {0: "batch", 1: "seq"}, "logits": {0: "batch"}})
    result["tokenizer"].save(str(out / "tokenizer.json"))
    config: TrainConfig = result["config"]
    meta = {
        "architectures": [f"Shopbot{config.arch.capitalize()}Classifier"],
        "model_type": f"shopbot-{config.arch}",
        "id2label": {str(i): label.value for i, label in enumerate(LABELS)},
        "label2id": {label.value: i for i, label in enumerate(LABELS)},
        "problem_type": ("multi_label_classification" if config.multi_label
                         else "single_label_classification"),
        "threshold": 0.5 if config.multi_label else 0.7,
        "temperature": round(result["temperature"], 4),
        "normalization": NORMALIZATION_NAME,
        "max_length": MAX_LENGTH,
        **({"thresholds": {label.value: result["thresholds"][i]
                           for i, label in enumerate(LABELS)}}
           if result.get("thresholds") else {}),
        "training": {"arch": config.arch, "multi_label": config.multi_label,
                     "seed": config.seed, "epochs": config.epochs,
                     "best_epoch": result["best_epoch"], "dim": config.dim,
                     "hidden": config.hidden, "buckets": BUCKETS, "max_order": MAX_ORDER,
                     "members": config.members,
                     **({"teacher": config.teacher} if config.teacher else {}),
                     "validation_macro_f1": round(result["val_macro_f1"], 4)},
    }
    (out / "config.json").write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n",
                                     encoding="utf-8")


def _load_extra(path: Path) -> list[Example]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            row = json.loads(line)
            out.append(Example(row["text"], Intent(row["intent"]), row.get("lang", "he"),
                               "extra"))
    return out


def train_command(out: Path, seed: int = 42, arch: str | None = None, compare: bool = False,
                  extra: Path | None = None, epochs: int | None = None,
                  force: bool = False, multi_label: bool = False, members: int = 1,
                  teacher: Path | None = None) -> int:
    """Build the corpus, train (comparing architectures if asked), calibrate and export."""
    started = time.perf_counter()
    split = build_splits(seed=seed)
    print(f"corpus: {len(split.train)} train, {len(split.validation)} validation, "
          f"{len(split.test)} test (held-out templates)", file=sys.stderr)
    extra_examples = _load_extra(extra) if extra else None
    archs = ["bag", "cnn"] if compare else [arch or "cnn"]
    results = []
    for name in archs:
        config = TrainConfig(arch=name, seed=seed, multi_label=multi_label,
                             members=1 if multi_label else members,
                             teacher=str(teacher) if teacher and not multi_label else None,
                             **({"epochs": epochs} if epochs else {}))
        result = train_model(split, config, extra=extra_examples)
        print(f"{name}: validation macro-F1 {result['val_macro_f1']:.4f} "
              f"(epoch {result['best_epoch']}), temperature {result['temperature']:.3f}",
              file=sys.stderr)
        results.append(result)
    winner = max(results, key=lambda r: r["val_macro_f1"])
    if (out / "model.onnx").exists() and not force and not multi_label:
        return _promote(winner, out, split, started)
    export(winner, out)
    print(f"wrote {out} ({winner['config'].arch}) in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return 0


def _promote(winner: dict[str, Any], out: Path, split: Split, started: float) -> int:
    """The promotion gate: replace the current model only if the new one is at least as
    good on the held-out test split; print both reports side by side either way."""
    import shutil
    import tempfile


    rows = [e.to_json() for e in split.test]
    with tempfile.TemporaryDirectory() as tmp:
        candidate = Path(tmp) / "candidate"
        export(winner, candidate)
        new = evaluate(candidate, rows, 0.7)["model"]
        old = evaluate(out, rows, 0.7)["model"]
        print("| held-out test split | current | new |", file=sys.stderr)
        print("|---|---|---|", file=sys.stderr)
        for name in ("accuracy", "macro_f1", "weighted_f1", "coverage_at_threshold",
                     "accuracy_when_routed", "ece"):
            print(f"| {name} | {old[name]:.4f} | {new[name]:.4f} |", file=sys.stderr)
        if new["macro_f1"] < old["macro_f1"]:
            print(f"kept {out}: the new model is worse on the held-out test split "
                  "(use --force to replace it anyway)", file=sys.stderr)
            return 1
        for name in ("model.onnx", "tokenizer.json", "config.json"):
            shutil.copy2(candidate / name, out / name)
    print(f"promoted the new model to {out} in {time.perf_counter() - started:.0f} s",
          file=sys.stderr)
    return 0


def seeds_command(seeds: str, data: Path | None, threshold: float, report: Path | None) -> int:
    """Train one model per seed and report mean ± std on each seed's own test split."""
    import statistics
    import tempfile


    figures: dict[str, list[float]] = {"macro_f1": [], "accuracy": [], "coverage": [],
                                       "accuracy_when_routed": [], "ece": []}
    for seed in [int(s) for s in seeds.split(",") if s.strip()]:
        split = build_splits(seed=seed)
        result = train_model(split, TrainConfig(seed=seed), progress=False)
        with tempfile.TemporaryDirectory() as tmp:
            export(result, Path(tmp))
            rows = read_rows(data) if data else [e.to_json() for e in split.test]
            scores = evaluate(Path(tmp), rows, threshold)["model"]
        figures["macro_f1"].append(scores["macro_f1"])
        figures["accuracy"].append(scores["accuracy"])
        figures["coverage"].append(scores["coverage_at_threshold"])
        figures["accuracy_when_routed"].append(scores["accuracy_when_routed"])
        figures["ece"].append(scores["ece"])
        print(f"seed {seed}: macro-F1 {scores['macro_f1']:.4f}", file=sys.stderr)
    lines = ["| figure | mean | std |", "|---|---|---|"]
    for name, values in figures.items():
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        lines.append(f"| {name} | {statistics.mean(values):.4f} | {std:.4f} |")
    print("\n".join(lines))
    if report is not None:
        report.mkdir(parents=True, exist_ok=True)
        (report / "seeds.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return 0
