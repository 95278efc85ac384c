"""The `shopbot` command: run, serve, chat, classify, train, eval, migrate, stats, feedback.

Errors become one line on stderr and an exit code here, in one place.
"""

from __future__ import annotations

import signal
import sys


def _interrupted_while_loading(_signum: int, _frame: object) -> None:
    raise SystemExit(130)


# This module is the console script's entry point and nothing imports it otherwise: Ctrl-C
# while Python still loads what follows ends the program quietly; `main` then puts back
# the KeyboardInterrupt that everything after start-up expects.
signal.signal(signal.SIGINT, _interrupted_while_loading)

import argparse  # noqa: E402
import asyncio  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import os  # noqa: E402
from collections.abc import Sequence  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any, TextIO, cast  # noqa: E402

# Light imports only: the heavy ones load inside `main`, where Ctrl-C is handled.
from bot.errors import SettingsError  # noqa: E402

if TYPE_CHECKING:
    from bot.settings import Settings
    from router.types import Routed

__all__ = ["main"]

EXIT_CONFIG = 2


def _classify_line(raw: bytes, number: int) -> tuple[str | None, str | None]:
    """One input line of `shopbot classify`: (text, None), or (None, why it is not input).

    A line is plain text, or a JSON object with a string `text` when it starts with `{`.
    """
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as error:
        return None, f"line {number}: not UTF-8 ({error.reason} at byte {error.start})"
    if not line.strip():
        return None, f"line {number}: empty"
    if not line.lstrip().startswith("{"):
        return line, None
    try:
        value = json.loads(line)
    except json.JSONDecodeError as error:
        return None, f"line {number}: not valid JSON ({error.msg} at column {error.colno})"
    if not isinstance(value, dict):
        return None, f"line {number}: a JSON line must be an object with a `text` field"
    text = value.get("text")
    if not isinstance(text, str):
        return None, f"line {number}: no string `text` field"
    if not text.strip():
        return None, f"line {number}: `text` is empty"
    return text, None


def _classify_record(text: str, routed: Routed) -> dict[str, Any]:
    """What `shopbot classify` prints for one message (ARCHITECTURE.md's contract)."""
    return {
        "text": text,
        "intent": routed.intent.value,
        "intents": [intent.value for intent in routed.intents],
        "confidence": round(routed.confidence, 6),
        "routed": routed.routed,
        "source": routed.source.value,
        "top": [{"label": s.label.value, "score": round(s.score, 6)} for s in routed.top],
        "entities": routed.entities.to_json(),
        "parts": [{"intent": intent.value, "text": part, "entities": entities.to_json()}
                  for intent, part, entities in zip(routed.intents, routed.texts,
                                                      routed.entities_list, strict=True)],
    }


async def _classify(settings: Settings) -> int:
    from bot.services import build_router
    from router.types import Incoming

    router = build_router(settings)
    for number, raw in enumerate(sys.stdin.buffer, start=1):
        text, error = _classify_line(raw, number)
        record: dict[str, Any] = {"error": error}
        if text is not None:
            routed = await router.route(Incoming(chat_id=0, user_id=0, text=text))
            record = _classify_record(text, routed)
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    return 0


class _InterruptibleInput:
    """stdin for `shopbot chat`, and what Ctrl-C does to it.

    Ctrl-C while the chat waits for a line ends it at once; Ctrl-C while a message is being
    handled lets that message finish (its transaction commits or not, never half) and ends
    the chat before the next line. Either way the database is closed normally, so no
    cancelled close leaves a traceback in the log.
    """

    def __init__(self, source: TextIO) -> None:
        self.source = source
        self.reading = False
        self.interrupted = False

    def isatty(self) -> bool:
        return self.source.isatty()

    def readline(self) -> str:
        if self.interrupted:
            return ""
        self.reading = True
        try:
            return self.source.readline()
        finally:
            self.reading = False

    def on_sigint(self, _signum: int, _frame: object) -> None:
        self.interrupted = True
        if self.reading:
            raise KeyboardInterrupt


async def _chat(settings: Settings, quiet: bool) -> int:
    from bot.chat import run_chat
    from bot.services import build_services

    services = await build_services(settings)
    source = _InterruptibleInput(sys.stdin)
    previous = signal.signal(signal.SIGINT, source.on_sigint)
    try:
        await run_chat(services, cast(TextIO, source), addressed=not quiet)
    except KeyboardInterrupt:
        pass  # raised only out of the blocking read, between messages
    finally:
        signal.signal(signal.SIGINT, previous)
        await services.close()
    return 130 if source.interrupted else 0


async def _serve(settings: Settings) -> None:
    """Build the bot and poll through the durable inbox until SIGINT or SIGTERM."""
    from bot.app import build_application
    from bot.intake import serve_polling
    from bot.services import build_services

    services = await build_services(settings)
    try:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(number, stop.set)
        await serve_polling(build_application(services), services.uow,
                            settings.database_url, stop)
    finally:
        await services.close()


def _run(settings: Settings) -> int:
    if not settings.telegram_token:
        raise SettingsError("SHOPBOT_TELEGRAM_TOKEN: not set (talk to @BotFather; "
                            "or try `shopbot chat`, which needs no token)")
    from telegram import Bot
    from telegram.error import InvalidToken, NetworkError

    async def preflight() -> None:
        # Checked before PTB starts, so a wrong token or URL is one line, not a traceback.
        async with Bot(settings.telegram_token, base_url=settings.telegram_api_url) as bot:
            await bot.get_me()

    try:
        asyncio.run(preflight())
        asyncio.run(_serve(settings))
    except InvalidToken:
        raise SettingsError("SHOPBOT_TELEGRAM_TOKEN: Telegram does not accept this token "
                            "(ask @BotFather for a new one)") from None
    except NetworkError as error:
        raise SettingsError(f"SHOPBOT_TELEGRAM_API_URL: cannot reach the Bot API at "
                            f"{settings.telegram_api_url} ({error})") from None
    return 0


def _serve_webhook(settings: Settings) -> int:
    """`shopbot serve`: checks, migration and setWebhook once, then the worker processes."""
    from bot.serve import check_settings, prepare, run_server

    check_settings(settings)
    from telegram.error import InvalidToken, NetworkError

    try:
        asyncio.run(prepare(settings))
    except InvalidToken:
        raise SettingsError("SHOPBOT_TELEGRAM_TOKEN: Telegram does not accept this token "
                            "(ask @BotFather for a new one)") from None
    except NetworkError as error:
        raise SettingsError(f"SHOPBOT_WEBHOOK_URL: Telegram refused the webhook or cannot be "
                            f"reached at {settings.telegram_api_url} ({error})") from None
    return run_server(settings)


async def _stats(settings: Settings) -> int:
    from db.engine import make_engine, make_sessionmaker, upgrade
    from db.store import UnitOfWorkFactory

    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    async with UnitOfWorkFactory(make_sessionmaker(engine))() as uow:
        counts = await uow.log.route_counts()
    await engine.dispose()
    total = sum(counts.values()) or 1
    for source in ("rule", "model", "llm", "user"):
        count = counts.get(source, 0)
        print(f"{source:6} {count:7d}  {100 * count / total:5.1f}%")
    return 0


async def _feedback(settings: Settings, action: str, out: Path | None) -> int:
    from db.engine import make_engine, make_sessionmaker, upgrade
    from db.store import UnitOfWorkFactory

    await upgrade(settings.database_url)
    engine = make_engine(settings.database_url)
    async with UnitOfWorkFactory(make_sessionmaker(engine))() as uow:
        if action == "purge":
            count = await uow.log.purge_fallbacks()
            await uow.commit()
            print(f"deleted {count} stored decisions")
        else:
            rows = await uow.log.fallbacks()
            handle = out.open("w", encoding="utf-8") if out else sys.stdout
            for row in rows:
                if row.intents:
                    handle.write(json.dumps({"text": row.text, "intent": row.intents[0],
                                             "intents": row.intents, "lang": row.lang,
                                             "source": row.source}, ensure_ascii=False) + "\n")
            if out:
                handle.close()
                print(f"wrote {len(rows)} examples to {out}", file=sys.stderr)
    await engine.dispose()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="shopbot", description="A shared shopping list bot for Telegram.",
        epilog="Settings come from SHOPBOT_* environment variables or a .env file (README).")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("run", help="run the Telegram bot (long polling)",
                   description="Run the bot on Telegram; needs SHOPBOT_TELEGRAM_TOKEN.")
    sub.add_parser("serve", help="run the Telegram bot behind a webhook (SHOPBOT_WORKERS "
                                 "processes)",
                   description="Webhook mode: registers SHOPBOT_WEBHOOK_URL with Telegram and "
                               "serves it on SHOPBOT_WEBHOOK_LISTEN, with /healthz and "
                               "/metrics; needs SHOPBOT_TELEGRAM_TOKEN and "
                               "SHOPBOT_WEBHOOK_SECRET.")
    chat = sub.add_parser("chat", help="talk to the bot in this terminal, no Telegram needed",
                          description="The whole bot in a terminal: one message a line "
                                      "(@name: text, @name/private: text, !N presses a button).")
    chat.add_argument("--group-quiet", action="store_true",
                      help="behave like a family group: stay out of chit-chat")
    sub.add_parser("classify", help="JSON lines in, one routing decision per line out",
                   description="Read {\"text\": …} lines (or plain lines) on stdin; write "
                               "one JSON routing decision per line on stdout.")
    sub.add_parser("migrate", help="create or upgrade the database schema",
                   description="Create or upgrade the database at SHOPBOT_DATABASE_URL.")
    sub.add_parser("stats", help="how many messages were routed by rule, model, LLM, user",
                   description="Counts of routed messages by who decided the intent.")
    feedback = sub.add_parser("feedback", help="the stored fallback decisions",
                              description="LLM answers and users' \"did you mean\" choices "
                                          "kept for retraining.")
    feedback.add_argument("action", choices=["export", "purge"],
                          help="export them as training lines, or delete them all")
    feedback.add_argument("--out", type=Path, metavar="FILE",
                          help="write the exported lines to FILE instead of stdout")
    train = sub.add_parser("train", help="rebuild the bundled intent model from the corpus",
                           description="Train the intent model (needs the train extra).")
    train.add_argument("--out", type=Path, default=None, metavar="DIR",
                       help="model directory to write (default: SHOPBOT_MODEL_DIR)")
    train.add_argument("--seed", type=int, default=42, help="random seed (default: 42)")
    train.add_argument("--arch", choices=["bag", "cnn"], default=None,
                       help="model architecture (default: the bundled model's)")
    train.add_argument("--compare", action="store_true",
                       help="train every architecture and keep the best on validation")
    train.add_argument("--extra", type=Path, default=None, metavar="FILE",
                       help="more labelled JSON lines (e.g. `shopbot feedback export`)")
    train.add_argument("--epochs", type=int, default=None,
                       help="training epochs (default: the architecture's own)")
    train.add_argument("--members", type=int, default=1, metavar="N",
                       help="average N networks from consecutive seeds in one model "
                            "(steadier answers; N times the training time)")
    train.add_argument("--teacher", type=Path, default=None, metavar="DIR",
                       help="learn half from this model's answers (distil an ensemble into "
                            "one network)")
    train.add_argument("--multi-label", action="store_true",
                       help="one sigmoid per intent, trained with compound messages too")
    train.add_argument("--force", action="store_true",
                       help="replace the model even if the new one is worse on the test split")
    evaluate = sub.add_parser("eval", help="measure a model on labelled JSON lines",
                              description="Macro-F1, accuracy, coverage and calibration of "
                                          "a model directory.")
    evaluate.add_argument("--data", type=Path, default=None, metavar="FILE",
                          help="JSON lines with text and intent (default: the held-out "
                               "test split)")
    evaluate.add_argument("--model", type=Path, default=None, metavar="DIR",
                          help="model directory (default: SHOPBOT_MODEL_DIR)")
    evaluate.add_argument("--threshold", type=float, default=None,
                          help="confidence threshold (default: SHOPBOT_THRESHOLD)")
    evaluate.add_argument("--report", type=Path, default=None, metavar="DIR",
                          help="also write report.md, report.json and a confusion plot here")
    evaluate.add_argument("--seeds", type=str, default=None, metavar="N,N,…",
                          help="train one model per seed and report mean ± std")
    evaluate.add_argument("--compound", action="store_true",
                          help="several requests per message, through the router: all done "
                               "in order, per language (--data: JSON lines with `intents`)")
    evaluate.add_argument("--llm", action="store_true",
                          help="add a zero-shot row for the configured LLM (one call a message)")
    model = sub.add_parser("model", help="bring your own transformer (needs the train extra "
                                         "plus transformers and peft)",
                           description="Fine-tune, export or import a Hugging Face encoder.")
    model_sub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    finetune = model_sub.add_parser("finetune", help="fine-tune a local HF encoder on the corpus")
    finetune.add_argument("--base", type=Path, required=True, metavar="DIR",
                          help="a local Hugging Face encoder directory")
    finetune.add_argument("--out", type=Path, required=True, metavar="DIR",
                          help="where the fine-tuned model goes")
    finetune.add_argument("--lora", type=str, default=None,
                          help="LoRA adapters instead of full fine-tuning: "
                               "r=8,alpha=16,dropout=0.05,targets=q_lin,v_lin")
    finetune.add_argument("--multi-label", action="store_true",
                          help="one sigmoid per intent, with compound messages")
    finetune.add_argument("--curriculum", action="store_true",
                          help="with --multi-label: single-intent messages first, "
                               "compound ones after")
    finetune.add_argument("--seeds", type=str, default="42", metavar="N,N,…",
                          help="one run per seed (default: 42)")
    finetune.add_argument("--epochs", type=int, default=3, help="epochs (default: 3)")
    finetune.add_argument("--limit", type=int, default=None,
                          help="train on a sample of this many messages (quick runs)")
    export = model_sub.add_parser("export", help="HF directory to an ONNX model directory")
    export.add_argument("source", type=Path, help="a fine-tuned Hugging Face directory")
    export.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="the model directory to write")
    export.add_argument("--int8", action="store_true", help="also quantize to int8")
    imported = model_sub.add_parser("import", help="an HF classifier or a PEFT adapter (+ base)")
    imported.add_argument("source", type=Path, help="an HF classifier or a PEFT adapter")
    imported.add_argument("--out", type=Path, required=True, metavar="DIR",
                          help="the model directory to write")
    imported.add_argument("--base", type=Path, default=None, metavar="DIR",
                          help="the base encoder an adapter was trained on")
    imported.add_argument("--int8", action="store_true", help="also quantize to int8")
    return parser


def _model_command(args: argparse.Namespace) -> int:
    from models.transformer import export_model, finetune, import_model, parse_lora

    if args.model_command == "finetune":
        scores = []
        for seed in [int(s) for s in args.seeds.split(",") if s.strip()]:
            out = args.out if "," not in args.seeds else args.out / f"seed{seed}"
            meta = finetune(args.base, out, lora=parse_lora(args.lora) if args.lora else None,
                            multi_label=args.multi_label, curriculum=args.curriculum,
                            seed=seed, epochs=args.epochs, limit=args.limit)
            scores.append(meta["validation_macro_f1"])
            print(f"seed {seed}: validation macro-F1 {meta['validation_macro_f1']:.4f}")
        if len(scores) > 1:
            import statistics

            print(f"mean {statistics.mean(scores):.4f} ± {statistics.stdev(scores):.4f}")
        return 0
    if args.model_command == "export":
        figures = export_model(args.source, args.out, int8=args.int8)
    else:
        figures = import_model(args.source, args.out, base=args.base, int8=args.int8)
    print(json.dumps(figures))
    return 0


# Subcommands that open the database: it is checked first, so that a wrong URL or a server
# that is down is one line, not a traceback from deep inside the first query.
_DATABASE_COMMANDS = frozenset({"run", "serve", "chat", "migrate", "stats", "feedback"})


def _check_database(settings: Settings) -> None:
    from db.engine import DatabaseUnavailable, check_database

    try:
        asyncio.run(check_database(settings.database_url))
    except DatabaseUnavailable as error:
        raise SettingsError(f"SHOPBOT_DATABASE_URL: {error}") from None


def _check_model(path: Path, option: str) -> None:
    from router.classifier import Classifier, ModelDirError

    try:
        Classifier.from_dir(path)
    except ModelDirError as error:
        raise SettingsError(f"{option}: {error}") from None


def _check_file(path: Path | None, option: str) -> None:
    if path is not None and not path.is_file():
        raise SettingsError(f"{option} {path}: "
                            f"{'not a file' if path.exists() else 'no such file'}")


def _check_dir(path: Path | None, option: str) -> None:
    if path is not None and not path.is_dir():
        raise SettingsError(f"{option} {path}: no such directory")


def _check_labelled_lines(path: Path, option: str) -> None:
    """Every line a JSON object with a text and a known intent (or a list of them, in
    `intents`), or one line saying which is not."""
    from router.types import Intent

    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    row = None
                # One intent, or (eval --compound) every intent of the message in order.
                intents = row.get("intents") if isinstance(row, dict) else None
                if isinstance(row, dict) and isinstance(row.get("intent"), str):
                    intents = [row["intent"]]
                if not (isinstance(row, dict) and isinstance(row.get("text"), str)
                        and isinstance(intents, list) and intents
                        and all(isinstance(i, str) for i in intents)):
                    raise SettingsError(f'{option} {path}: line {number} is not a JSON object '
                                        f'with "text" and "intent" (or "intents")')
                unknown = [i for i in intents if i not in Intent.__members__]
                if unknown:
                    raise SettingsError(f"{option} {path}: line {number}: unknown intent "
                                        f"{unknown[0][:40]!r}")
    except UnicodeDecodeError:
        raise SettingsError(f"{option} {path}: not UTF-8 text") from None


def _check_arguments(args: argparse.Namespace, settings: Settings) -> None:
    """Files and directories named on the command line exist and can be read."""
    if args.command == "eval":
        if args.data is not None:
            _check_file(args.data, "--data")
            _check_labelled_lines(args.data, "--data")
        if not args.seeds:
            _check_model(args.model or settings.model_dir,
                         "--model" if args.model else "SHOPBOT_MODEL_DIR")
    elif args.command == "train":
        _check_file(args.extra, "--extra")
        if args.extra is not None:
            _check_labelled_lines(args.extra, "--extra")
    elif args.command == "model":
        _check_dir(getattr(args, "base", None), "--base")
        if args.model_command in ("export", "import") and not args.source.exists():
            raise SettingsError(f"{args.source}: no such file or directory")
    if args.command == "feedback" and args.out is not None:
        _check_dir(args.out.parent if str(args.out.parent) else Path("."), "--out")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `shopbot` console script."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        args = _parser().parse_args(argv)
        from bot.settings import load_settings

        settings = load_settings()
        from bot.logs import configure_logging

        configure_logging(settings.log_level, secrets=settings.secrets(),
                          json_lines=settings.log_format == "json")
        # classify and chat are quiet unless SHOPBOT_LOG_LEVEL asks otherwise (their
        # stdout is the product; the log goes to stderr when asked for).
        quiet = "log_level" not in settings.model_fields_set
        _check_arguments(args, settings)
        if args.command in _DATABASE_COMMANDS:
            _check_database(settings)
        if args.command == "classify":
            if quiet:
                logging.getLogger().setLevel(logging.WARNING)
            return asyncio.run(_classify(settings))
        if args.command == "chat":
            if quiet:
                logging.getLogger().setLevel(logging.WARNING)
            return asyncio.run(_chat(settings, args.group_quiet))
        if args.command == "run":
            return _run(settings)
        if args.command == "serve":
            return _serve_webhook(settings)
        if args.command == "migrate":
            from db.engine import upgrade_sync

            upgrade_sync(settings.database_url)
            print("database is up to date")
            return 0
        if args.command == "stats":
            return asyncio.run(_stats(settings))
        if args.command == "feedback":
            return asyncio.run(_feedback(settings, args.action, args.out))
        if args.command == "train":
            from models.train import train_command

            return train_command(out=args.out or settings.model_dir, seed=args.seed,
                                 arch=args.arch, compare=args.compare, extra=args.extra,
                                 epochs=args.epochs, force=args.force,
                                 multi_label=args.multi_label, members=args.members,
                                 teacher=args.teacher)
        if args.command == "model":
            return _model_command(args)
        if args.command == "eval":
            from bot.services import build_llm
            from models.evaluate import eval_command

            llm = build_llm(settings) if args.llm else None
            if args.llm and llm is None:
                raise SettingsError("SHOPBOT_LLM_BASE_URL or SHOPBOT_LLM_API_KEY: needed by "
                                    "eval --llm")
            threshold = args.threshold if args.threshold is not None else settings.threshold
            if args.seeds:
                from models.train import seeds_command

                return seeds_command(args.seeds, args.data, threshold, args.report)
            return eval_command(data=args.data, model=args.model or settings.model_dir,
                                threshold=threshold, report=args.report, llm=llm,
                                compound=args.compound, margin=settings.margin)
    except SettingsError as error:
        print(f"shopbot: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`shopbot chat … | head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError) as error:
        # A file named in a setting or an option that cannot be read or written.
        print(f"shopbot: {error.filename or ''}: {(error.strerror or str(error)).lower()}",
              file=sys.stderr)
        return EXIT_CONFIG
    except Exception as error:
        from sqlalchemy.exc import InterfaceError, OperationalError

        if not isinstance(error, (OperationalError, InterfaceError)):
            raise
        from db.engine import describe_error

        # The database went away after the check (a server stopped, a file locked).
        print(f"shopbot: SHOPBOT_DATABASE_URL: {describe_error(error)}", file=sys.stderr)
        return EXIT_CONFIG
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
