"""`shopbot eval`: how good a model directory is, honestly, beside simple baselines.

Accuracy, macro and weighted F1, per-intent precision/recall/F1, a confusion matrix
picture, coverage and accuracy at the threshold, expected calibration error and latency,
with random, majority-class and keyword-rule baselines on the same data.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from router.classifier import Classifier
from router.types import Intent

__all__ = ["KEYWORD_RULES", "compound_markdown", "eval_command", "evaluate", "keyword_baseline",
           "metrics", "route_rows"]

LABELS = list(Intent)

# The hand-written baseline: the first rule that matches wins, else GROCERY_REQUEST.
KEYWORD_RULES: list[tuple[Intent, str]] = [
    (Intent.RECIPE_URL, r"https?://|www\."),
    (Intent.BUG_REPORT, r"/bug|באג|תקלה|הבוט|\bbot\b|\bbug\b|البوت|خلل"),
    (Intent.REVOKE_INVITE, r"תבטל.*(קוד|הזמנה)|revoke|cancel.*(code|invite)|الغي.*(كود|دعو)"),
    (Intent.CREATE_INVITE,
     r"קוד חדש|להוסיף את|להזמין|invite|new code|add my|ادعي|كود جديد|بدي ضيف"),
    (Intent.GET_INVITE_CODE, r"קוד|code|كود"),
    (Intent.RENAME_GROUP, r"שם|rename|name|اسم|سمي"),
    (Intent.LEAVE_GROUP, r"יוצא|לצאת|תוציא|leave|اطلع|طلعني"),
    (Intent.NOTIFICATION_SETTINGS, r"התרא|notif|mute|اشعار|إشعار|تنبيه"),
    (Intent.GROUP_INFO, r"מי ב|מי חבר|who|members|مين"),
    (Intent.PARTIAL_COMPLETION, r"חוץ מ|except|but|إلا|الا|ما عدا"),
    (Intent.CLEAR_LIST, r"קניתי הכל|קנינו הכל|סגרנו|done shopping|got everything|كل شي|خلصنا"),
    (Intent.RECIPE_SEARCH, r"מתכון|לעשות|להכין|recipe|ingredients|for dinner|مكونات|وصفة|اطبخ"),
    (Intent.UPDATE_QUANTITY, r"בעצם|במקום|actually|instead|change|بدل|غير"),
    (Intent.REMOVE_ITEM, r"תוריד|תמחק|remove|delete|شيل|احذف|امسح"),
    (Intent.LIST_QUERY, r"רשימה|מה חסר|list|what do we need|قائمة|القائمه|ناقص"),
    (Intent.OTHER,
     r"תודה|בוקר טוב|לילה טוב|thanks|thank you|good morning|hi\b|hello|شكرا|مرحبا|صباح"),
]


def keyword_baseline(text: str) -> Intent:
    """The keyword rules' guess for a text."""
    lowered = text.lower()
    for intent, pattern in KEYWORD_RULES:
        if re.search(pattern, lowered):
            return intent
    return Intent.GROCERY_REQUEST


def metrics(gold: list[int], pred: list[int]) -> dict[str, Any]:
    """Accuracy, macro/weighted F1 and the per-intent table."""
    per: dict[str, dict[str, float]] = {}
    f1s, weights = [], []
    for index, label in enumerate(LABELS):
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == p == index)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if p == index != g)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == index != p)
        support = tp + fn
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / support if support else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per[label.value] = {"precision": precision, "recall": recall, "f1": f1,
                            "support": support}
        if support:
            f1s.append(f1)
            weights.append(support)
    accuracy = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / max(1, len(gold))
    return {
        "accuracy": accuracy,
        "macro_f1": float(np.mean(f1s)) if f1s else 0.0,
        "weighted_f1": float(np.average(f1s, weights=weights)) if f1s else 0.0,
        "per_intent": per,
    }


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray,
                               bins: int = 15) -> float:
    """ECE over equal-width confidence bins."""
    edges = np.linspace(0.0, 1.0, bins + 1)
    total = 0.0
    for low, high in itertools.pairwise(edges):
        inside = (confidence > low) & (confidence <= high)
        if inside.any():
            total += inside.mean() * abs(confidence[inside].mean() - correct[inside].mean())
    return float(total)


def _latency(classifier: Classifier, texts: list[str], runs: int = 300) -> dict[str, float]:
    sample = [texts[i % len(texts)] for i in range(min(runs, max(len(texts), 1) * 3))]
    for text in sample[:20]:
        classifier.scores([text])
    timings = []
    for text in sample:
        start = time.perf_counter()
        classifier.scores([text])
        timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    return {"p50_ms": timings[len(timings) // 2], "p95_ms": timings[int(len(timings) * 0.95)]}


def evaluate(model_dir: Path, rows: list[dict[str, Any]], threshold: float) -> dict[str, Any]:
    """Every figure of the report for one model on labelled rows."""
    classifier = Classifier.from_dir(model_dir, threads=1)
    texts = [row["text"] for row in rows]
    gold = [LABELS.index(Intent(row["intent"])) for row in rows]
    probabilities = np.concatenate([classifier.scores(texts[i:i + 256])
                                    for i in range(0, len(texts), 256)])
    order = [LABELS.index(label) for label in classifier.labels]
    # Re-index columns to our label order in case a foreign model orders them differently.
    aligned = np.zeros((len(texts), len(LABELS)), dtype=np.float32)
    for column, index in enumerate(order):
        aligned[:, index] = probabilities[:, column]
    pred = list(aligned.argmax(axis=1))
    confidence = aligned.max(axis=1)
    correct = np.array([g == p for g, p in zip(gold, pred, strict=True)], dtype=float)
    routed = confidence >= threshold
    report: dict[str, Any] = {"model": metrics(gold, pred), "n": len(rows)}
    report["model"]["coverage_at_threshold"] = float(routed.mean())
    report["model"]["accuracy_when_routed"] = (float(correct[routed].mean()) if routed.any()
                                               else 0.0)
    report["model"]["ece"] = expected_calibration_error(confidence, correct)
    report["model"]["latency"] = _latency(classifier, texts)
    report["confusion"] = _confusion(gold, pred)
    by_lang: dict[str, float] = {}
    for lang in sorted({row.get("lang", "?") for row in rows}):
        picked = [i for i, row in enumerate(rows) if row.get("lang", "?") == lang]
        by_lang[lang] = metrics([gold[i] for i in picked], [pred[i] for i in picked])["macro_f1"]
    report["macro_f1_by_language"] = by_lang
    rng = random.Random(0)
    majority = Counter(gold).most_common(1)[0][0]
    report["baselines"] = {
        "random": metrics(gold, [rng.randrange(len(LABELS)) for _ in gold]),
        "majority": metrics(gold, [majority for _ in gold]),
        "keywords": metrics(gold, [LABELS.index(keyword_baseline(t)) for t in texts]),
    }
    report["threshold"] = threshold
    report["errors"] = [
        {"text": texts[i], "gold": LABELS[gold[i]].value, "pred": LABELS[pred[i]].value,
         "confidence": round(float(confidence[i]), 3)}
        for i in range(len(texts)) if gold[i] != pred[i]
    ][:60]
    return report


def _confusion(gold: list[int], pred: list[int]) -> list[list[int]]:
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for g, p in zip(gold, pred, strict=True):
        matrix[g][p] += 1
    return matrix


def _plot(matrix: list[list[int]], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover
        return
    data = np.array(matrix, dtype=float)
    normalized = data / np.maximum(data.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.imshow(normalized, cmap="Blues", vmin=0, vmax=1)
    names = [label.value for label in LABELS]
    ax.set_xticks(range(len(names)), names, rotation=70, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            if data[i, j]:
                ax.text(j, i, str(int(data[i, j])), ha="center", va="center", fontsize=6,
                        color="white" if normalized[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (rows normalized)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _markdown(report: dict[str, Any], data_name: str) -> str:
    model = report["model"]
    lines = [
        f"# Evaluation on {data_name} ({report['n']} messages)",
        "",
        "| system | accuracy | macro-F1 | weighted-F1 |",
        "|---|---|---|---|",
        f"| model | {model['accuracy']:.4f} | {model['macro_f1']:.4f} | "
        f"{model['weighted_f1']:.4f} |",
    ]
    for name, scores in report["baselines"].items():
        lines.append(f"| {name} baseline | {scores['accuracy']:.4f} | {scores['macro_f1']:.4f} | "
                     f"{scores['weighted_f1']:.4f} |")
    lines += [
        "",
        "- Macro-F1 by language: " + ", ".join(
            f"{lang} {score:.4f}" for lang, score in report["macro_f1_by_language"].items()),
        f"- At threshold {report['threshold']}: {100 * model['coverage_at_threshold']:.1f}% "
        f"routed without help, {100 * model['accuracy_when_routed']:.2f}% of those right",
        f"- Expected calibration error: {model['ece']:.4f}",
        f"- Latency (batch 1, one thread, normalize+tokenize+model): p50 "
        f"{model['latency']['p50_ms']:.3f} ms, p95 {model['latency']['p95_ms']:.3f} ms",
        "",
        "| intent | precision | recall | F1 | support |",
        "|---|---|---|---|---|",
    ]
    for label, scores in model["per_intent"].items():
        lines.append(f"| {label} | {scores['precision']:.3f} | {scores['recall']:.3f} | "
                     f"{scores['f1']:.3f} | {scores['support']} |")
    lines += ["", "![confusion matrix](confusion.png)", ""]
    return "\n".join(lines)


def read_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rows.append(json.loads(line))
    return rows


def llm_baseline(llm: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The zero-shot LLM on the same rows, honestly: what became of every question (answered,
    valid, rejected, skipped by the circuit or a timeout), latency percentiles, and accuracy
    over the valid answers only. A message the LLM never answered is not a prediction."""
    import asyncio

    async def ask_all() -> list[Any]:
        # One at a time, as the bot's fallback meets them; each result carries its outcome.
        return [await llm.ask(row["text"], row.get("lang", "he"), ()) for row in rows]

    results = asyncio.run(ask_all())
    valid = [(row, result) for row, result in zip(rows, results, strict=True)
             if result.proposal]
    gold = [LABELS.index(Intent(row["intent"])) for row, _result in valid]
    pred = [LABELS.index(result.proposal[0][0]) for _row, result in valid]
    scores = metrics(gold, pred)
    counts = Counter(result.outcome.value for result in results)
    times = sorted(result.seconds for result in results if result.outcome.value != "circuit")

    def percentile(p: float) -> float | None:
        return round(times[min(len(times) - 1, int(p * len(times)))] * 1000) if times else None

    scores["llm"] = {
        "asked": len(rows),
        "answered": sum(counts[k] for k in ("valid", "rejected", "truncated")),
        "valid": counts["valid"], "rejected": counts["rejected"],
        "truncated": counts["truncated"], "skipped_circuit": counts["circuit"],
        "timeout": counts["timeout"], "failed": counts["failed"],
        "correct": sum(1 for g, p in zip(gold, pred, strict=True) if g == p),
        "latency_ms": {"p50": percentile(0.5), "p95": percentile(0.95),
                       "max": percentile(1.0)},
        "json_schema_supported": getattr(llm, "json_schema_supported", None),
    }
    return scores


def _llm_markdown(scores: dict[str, Any]) -> str:
    """The LLM row's counts, said in words beside the table."""
    c = scores["llm"]
    latency = c["latency_ms"]
    form = {True: "json_schema", False: "json_object + schema"}.get(
        c["json_schema_supported"], "unknown")
    return (
        f"- LLM (zero-shot, {form}): asked {c['asked']}, answered {c['answered']} "
        f"(valid {c['valid']}, rejected {c['rejected']}, truncated {c['truncated']}), "
        f"skipped {c['skipped_circuit'] + c['timeout']} (circuit {c['skipped_circuit']}, "
        f"timeout {c['timeout']}), failed {c['failed']}; latency p50 {latency['p50']} ms, "
        f"p95 {latency['p95']} ms, max {latency['max']} ms. Its table row covers only its "
        f"{c['valid']} valid answers ({c['correct']} right); unanswered messages are not "
        "counted as predictions.\n")


def route_rows(router: Any, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Route every row as the bot would (rules, clause splitting, the model; no LLM) and
    compare the requests it found with the row's `intents` (in order) or `intent`.

    A request counts as done when the router would act on it by itself (`routed`), so a
    compound message is right only when every one of its requests is done, in the order
    said. Single-request rows measure what splitting costs: macro-F1 of the first intent,
    and how many were wrongly cut in two.
    """
    from router.types import Incoming

    tp = [0] * len(LABELS)
    fp = [0] * len(LABELS)
    fn = [0] * len(LABELS)
    languages: dict[str, dict[str, Any]] = {}
    single_gold: dict[str, list[int]] = {}
    single_pred: dict[str, list[int]] = {}
    errors = []
    for row in rows:
        wanted = tuple(Intent(i) for i in (row.get("intents") or [row["intent"]]))
        routed = router.decide(Incoming(chat_id=0, user_id=0, text=row["text"]))
        got = routed.intents
        lang = row.get("lang", "?")
        figures = languages.setdefault(lang, {"compound": 0, "compound_done_in_order": 0,
                                              "compound_in_order": 0, "single": 0,
                                              "single_right": 0, "single_split": 0})
        right = routed.routed and tuple(got) == wanted
        if len(wanted) > 1:
            figures["compound"] += 1
            figures["compound_done_in_order"] += right
            figures["compound_in_order"] += tuple(got) == wanted
        else:
            figures["single"] += 1
            figures["single_right"] += tuple(got) == wanted
            figures["single_split"] += len(got) > 1
            single_gold.setdefault(lang, []).append(LABELS.index(wanted[0]))
            single_pred.setdefault(lang, []).append(LABELS.index(got[0]))
        if not right:
            errors.append({"text": row["text"], "lang": lang, "gold": [i.value for i in wanted],
                           "got": [i.value for i in got], "routed": routed.routed,
                           "parts": list(routed.part_texts)})
        for index, label in enumerate(LABELS):
            predicted, asked = label in got, label in wanted
            tp[index] += predicted and asked
            fp[index] += predicted and not asked
            fn[index] += asked and not predicted
    for lang, figures in languages.items():
        if figures["compound"]:
            figures["compound_done_in_order_pct"] = round(
                100 * figures["compound_done_in_order"] / figures["compound"], 1)
        if figures["single"]:
            figures["single_macro_f1"] = metrics(single_gold[lang],
                                                 single_pred[lang])["macro_f1"]
    all_gold = [g for values in single_gold.values() for g in values]
    all_pred = [p for values in single_pred.values() for p in values]
    compound = sum(f["compound"] for f in languages.values())
    done = sum(f["compound_done_in_order"] for f in languages.values())
    return {
        "messages": len(rows),
        "by_language": dict(sorted(languages.items())),
        "compound_done_in_order_pct": round(100 * done / compound, 1) if compound else None,
        "single_intent_macro_f1": metrics(all_gold, all_pred)["macro_f1"] if all_gold
        else None,
        "single_split": sum(f["single_split"] for f in languages.values()),
        "per_label_f1": {label.value: round(2 * tp[i] / max(1, 2 * tp[i] + fp[i] + fn[i]), 4)
                         for i, label in enumerate(LABELS) if tp[i] + fn[i]},
        "errors": errors[:80],
    }


def compound_markdown(figures: dict[str, Any], data_name: str) -> str:
    """The per-language table of `route_rows`."""
    lines = [f"# Requests per message on {data_name} ({figures['messages']} messages)", "",
             "| language | compound | all requests done, in order | single | single macro-F1 "
             "| single cut in two |", "|---|---|---|---|---|---|"]
    for lang, f in figures["by_language"].items():
        done = (f"{f['compound_done_in_order']} ({f['compound_done_in_order_pct']}%)"
                if f["compound"] else "-")
        macro = f"{f['single_macro_f1']:.4f}" if f["single"] else "-"
        lines.append(f"| {lang} | {f['compound']} | {done} | {f['single']} | {macro} | "
                     f"{f['single_split'] if f['single'] else '-'} |")
    if figures["single_intent_macro_f1"] is not None:
        lines += ["", f"- Single-request macro-F1 (first intent, through the router): "
                      f"{figures['single_intent_macro_f1']:.4f}"]
    return "\n".join(lines) + "\n"


def evaluate_compound(model_dir: Path, seed: int = 42, count: int = 600,
                      threshold: float = 0.7, margin: float = 0.1) -> dict[str, Any]:
    """Held-out two-intent messages (built from test-split templates only): how often the
    router gets both intents, in the user's order, and per-label F1; plus single-intent
    macro-F1 on the same test split, to compare with the single-label model."""
    from models.compounds import compounds
    from models.corpus.generate import build_splits
    from router.router import Router

    split = build_splits(seed=seed)
    router = Router(Classifier.from_dir(model_dir, threads=1), threshold=threshold,
                    margin=margin)
    made = compounds(split.test, random.Random(seed + 7), count)
    rows = [{"text": c.text, "intents": [i.value for i in c.intents], "lang": c.lang}
            for c in made]
    rows += [{"text": e.text, "intent": e.intent.value, "lang": e.lang} for e in split.test]
    return route_rows(router, rows)


def eval_command(data: Path | None, model: Path, threshold: float, report: Path | None,
                 llm: Any = None, compound: bool = False,
                 margin: float = 0.1) -> int:
    """Print (and optionally write) the evaluation report."""
    if compound:
        if data is None:
            figures = evaluate_compound(model, threshold=threshold, margin=margin)
            data_name = "generated two-request messages and the held-out test split"
        else:
            from router.router import Router

            router = Router(Classifier.from_dir(model, threads=1), threshold=threshold,
                            margin=margin)
            figures = route_rows(router, read_rows(data))
            data_name = data.name
        print(compound_markdown(figures, data_name))
        if report is not None:
            report.mkdir(parents=True, exist_ok=True)
            (report / "compound.json").write_text(
                json.dumps(figures, ensure_ascii=False, indent=1), encoding="utf-8")
            (report / "compound.md").write_text(compound_markdown(figures, data_name),
                                                encoding="utf-8")
        return 0
    if data is None:
        from models.corpus.generate import build_splits

        rows = [e.to_json() for e in build_splits(seed=42).test]
        data_name = "the held-out test split (seed 42)"
    else:
        rows = read_rows(data)
        data_name = data.name
    result = evaluate(model, rows, threshold)
    if llm is not None:
        result["baselines"]["llm (zero-shot)"] = llm_baseline(llm, rows)
    text = _markdown(result, data_name)
    if "llm" in result["baselines"].get("llm (zero-shot)", {}):
        text += "\n" + _llm_markdown(result["baselines"]["llm (zero-shot)"])
    print(text)
    if report is not None:
        report.mkdir(parents=True, exist_ok=True)
        (report / "report.md").write_text(text, encoding="utf-8")
        (report / "report.json").write_text(json.dumps(result, ensure_ascii=False, indent=1),
                                            encoding="utf-8")
        _plot(result["confusion"], report / "confusion.png")
    return 0
