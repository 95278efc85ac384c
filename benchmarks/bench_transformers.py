"""The bundled model against BERT-base- and DistilBERT-shaped ONNX classifiers.

Random weights (timing does not depend on them), built here: a WordPiece tokenizer trained on
the corpus, BertConfig/DistilBertConfig at base size, exported with `shopbot model export`'s
code, and dynamically quantized to int8. Each model is timed in a fresh process, so RSS is
that model's alone.

    .venv/bin/python benchmarks/bench_transformers.py      (needs the train extra)
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEASURE = r'''
import json, statistics, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[3])
from router.classifier import Classifier
texts = [json.loads(l)["text"] for l in
         Path(sys.argv[3], "models/corpus/eval/realistic.jsonl").read_text().splitlines() if l]
c = Classifier.from_dir(sys.argv[1], threads=1)
batch = int(sys.argv[2])
groups = [texts[i:i + batch] for i in range(0, len(texts), batch)][: max(8, 200 // batch)]
for g in groups[:3]:
    c.scores(g)
times = []
for g in groups:
    start = time.perf_counter(); c.scores(g); times.append((time.perf_counter() - start) * 1000)
times.sort()
rss = next(int(l.split()[1]) for l in Path("/proc/self/status").read_text().splitlines()
           if l.startswith("VmRSS")) / 1024
print(json.dumps({"p50": statistics.median(times), "p95": times[int(len(times) * 0.95)],
                  "per_s": batch * 1000 / statistics.mean(times), "rss": rss}))
'''


def build(kind: str, path: Path) -> None:
    from transformers import (
        BertConfig,
        BertForSequenceClassification,
        DistilBertConfig,
        DistilBertForSequenceClassification,
    )

    from models.transformer import _label_config, export_model, save_corpus_tokenizer

    hf_dir = path / "hf"
    save_corpus_tokenizer(hf_dir, vocab_size=30522, sample=20000)
    texts = ["תוסיף חלב וביצים", "add bread and milk", "بدنا خبز", "מה חסר לנו?"] * 5
    labels = _label_config(False, 0.3)
    if kind == "bert-base":
        model = BertForSequenceClassification(BertConfig(vocab_size=30522, **labels))
    else:
        model = DistilBertForSequenceClassification(DistilBertConfig(vocab_size=30522,
                                                                     **labels))
    model.save_pretrained(hf_dir)
    export_model(hf_dir, path / "fp32", parity_texts=texts[:20])
    export_model(hf_dir, path / "int8", int8=True, parity_texts=texts[:20])


def measure(model_dir: Path, batch: int) -> dict[str, float]:
    out = subprocess.run([sys.executable, "-c", MEASURE, str(model_dir), str(batch), str(ROOT)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    rows = [("bundled char-CNN", ROOT / "models/intent")]
    with tempfile.TemporaryDirectory() as tmp:
        for kind in ("distilbert-base", "bert-base"):
            build(kind, Path(tmp) / kind)
            rows += [(f"{kind} fp32", Path(tmp) / kind / "fp32"),
                     (f"{kind} int8", Path(tmp) / kind / "int8")]
        print("| model | size MB | batch | p50 ms | p95 ms | messages/s | RSS MB |")
        print("|---|---|---|---|---|---|---|")
        for name, directory in rows:
            size = (directory / "model.onnx").stat().st_size / 1e6
            for batch in (1, 32):
                m = measure(directory, batch)
                print(f"| {name} | {size:.1f} | {batch} | {m['p50']:.2f} | {m['p95']:.2f} | "
                      f"{m['per_s']:.0f} | {m['rss']:.0f} |", flush=True)


if __name__ == "__main__":
    main()
