"""The intent model at run time: a model directory loaded with onnxruntime and tokenizers.

Any directory that follows ARCHITECTURE.md's contract works: the bundled model, or a
Hugging Face sequence classifier exported to ONNX (single- or multi-label).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

from router.normalize import NORMALIZATION_NAME, normalize
from router.types import Intent

__all__ = ["REQUIRED_FILES", "Classifier", "ModelDirError"]

REQUIRED_FILES = ("model.onnx", "tokenizer.json", "config.json")


class ModelDirError(ValueError):
    """A model directory that does not follow the contract."""


@dataclass(frozen=True, slots=True)
class _Meta:
    labels: tuple[Intent, ...]
    multi_label: bool
    thresholds: tuple[float, ...] | None
    temperature: float
    normalization: str | None
    max_length: int


class Classifier:
    """Scores texts against the 17 intents."""

    def __init__(self, session: ort.InferenceSession, tokenizer: Tokenizer, meta: _Meta,
                 config: dict[str, Any]) -> None:
        self._session = session
        self._tokenizer = tokenizer
        self._meta = meta
        self.config = config
        self._inputs = {i.name for i in session.get_inputs()}

    @classmethod
    def from_dir(cls, path: str | Path, threads: int = 1) -> Classifier:
        """Load and check a model directory; fail naming the first missing or bad file."""
        directory = Path(path)
        for name in REQUIRED_FILES:
            if not (directory / name).is_file():
                raise ModelDirError(f"model directory {directory}: missing {name}")
        try:
            config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        except json.JSONDecodeError as error:
            raise ModelDirError(f"{directory / 'config.json'}: not JSON ({error})") from error
        id2label = config.get("id2label")
        if not isinstance(id2label, dict) or not id2label:
            raise ModelDirError(f"{directory / 'config.json'}: no id2label")
        try:
            labels = tuple(Intent(id2label[str(i)]) for i in range(len(id2label)))
        except (KeyError, ValueError) as error:
            raise ModelDirError(f"{directory / 'config.json'}: bad id2label ({error})") from error
        multi = config.get("problem_type") == "multi_label_classification"
        thresholds = None
        if multi:
            raw = config.get("thresholds") or config.get("threshold") or 0.5
            thresholds = (tuple(float(raw[label]) for label in labels) if isinstance(raw, dict)
                          else tuple(float(raw) for _ in labels))
        meta = _Meta(
            labels=labels,
            multi_label=multi,
            thresholds=thresholds,
            temperature=float(config.get("temperature", 1.0)),
            normalization=config.get("normalization"),
            max_length=int(config.get("max_length", 128)),
        )
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(directory / "model.onnx"), options,
                                       providers=["CPUExecutionProvider"])
        names = {i.name for i in session.get_inputs()}
        if "input_ids" not in names:
            raise ModelDirError(f"{directory / 'model.onnx'}: no input_ids input")
        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        tokenizer.enable_truncation(meta.max_length)
        return cls(session, tokenizer, meta, config)

    @property
    def labels(self) -> tuple[Intent, ...]:
        """The labels in the model's output order."""
        return self._meta.labels

    @property
    def multi_label(self) -> bool:
        """Whether the model scores each label on its own (sigmoid)."""
        return self._meta.multi_label

    @property
    def thresholds(self) -> tuple[float, ...] | None:
        """Per-label thresholds of a multi-label model."""
        return self._meta.thresholds

    def prepare(self, text: str) -> str:
        """The text as the model was trained to see it."""
        if self._meta.normalization == NORMALIZATION_NAME:
            return normalize(text)
        return text

    def logits(self, texts: list[str]) -> np.ndarray:
        """Raw logits [batch, labels] for already prepared texts."""
        encodings = self._tokenizer.encode_batch(texts)
        width = max(1, max(len(e.ids) for e in encodings))
        ids = np.zeros((len(texts), width), dtype=np.int64)
        mask = np.zeros((len(texts), width), dtype=np.int64)
        for row, encoding in enumerate(encodings):
            ids[row, : len(encoding.ids)] = encoding.ids
            mask[row, : len(encoding.ids)] = 1
        feeds: dict[str, np.ndarray] = {"input_ids": ids}
        if "attention_mask" in self._inputs:
            feeds["attention_mask"] = mask
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        output = self._session.run(["logits"], feeds)[0]
        return np.asarray(output, dtype=np.float32)

    def scores(self, texts: list[str]) -> np.ndarray:
        """Probabilities [batch, labels]: calibrated softmax, or sigmoid for multi-label."""
        logits = self.logits([self.prepare(t) for t in texts]) / self._meta.temperature
        if self._meta.multi_label:
            return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float32)
        shifted = logits - logits.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        return np.asarray(exp / exp.sum(axis=1, keepdims=True), dtype=np.float32)
