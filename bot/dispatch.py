"""One message or button press, start to finish, independent of how it arrived.

Both the Telegram application and `shopbot chat` call `Dispatcher`: route outside any
transaction (the LLM may take seconds), then in one transaction check the update id, run the
handler and commit, then hand back the `Reply` for rendering.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.commands import COMMAND_INTENTS
from bot.logs import remember_user_text
from bot.metrics import ROUTED
from db.store import UnitOfWork, UnitOfWorkFactory, utcnow
from handlers import ADMIN_CHECKED, COMMAND_HANDLERS, HANDLERS
from handlers.buttons import PickIntent, decode, encode
from handlers.common import resolve
from handlers.group import ADMIN_STATUSES
from handlers.i18n import button_text, has_message
from handlers.items import tick_named
from handlers.lists import command_entities
from handlers.presses import ADMIN_CHECKED_PRESSES, PRESS_HANDLERS, Press
from handlers.recipes import find_in_catalog
from handlers.reply import Button, EffectKind, Reply, Role
from router.dialogue import Choice, is_undo, items_bought, read_answer
from router.entities import extract, suggestions_switch
from router.llm import LlmClient
from router.normalize import detect_language, has_letters
from router.recipes import RecipeReader, look_up_recipe
from router.router import Router
from router.types import ChatKind, Entities, Incoming, Intent, Item, Routed, Source

__all__ = ["TELEGRAM_TEXT_LIMIT", "Dispatcher", "MemberStatus", "Outcome"]

log = logging.getLogger(__name__)

TELEGRAM_TEXT_LIMIT = 4096

# Telegram's status of a user in a chat ("creator", "administrator", "member", "left", …),
# asked of Telegram at the time; None when it could not be asked.
MemberStatus = Callable[[int, int], Awaitable[str | None]]
_URLS = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_Work = Callable[[UnitOfWork], Awaitable[tuple[Reply | None, Routed | None]]]
_COMMAND = re.compile(r"^/([A-Za-z_]+)(?:@(\w+))?(?:\s+(.*))?$", re.DOTALL)
# How long the question the bot asked waits for an answer in words; after that "yes" is
# just "yes" (a clear confirmed an hour later would surprise everyone).
QUESTION_TTL = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the bot should do about one update: the reply, and the routing behind it."""

    reply: Reply | None
    routed: Routed | None = None
    duplicate: bool = False


class Dispatcher:
    """Routes and handles messages and button presses over one store."""

    def __init__(self, router: Router, uow: UnitOfWorkFactory, admin_chat_id: int | None = None,
                 llm_all_group_messages: bool = False, store_fallbacks: bool = True,
                 recipes: RecipeReader | None = None, dish_llm: LlmClient | None = None,
                 bot_username: str | None = None) -> None:
        self.recipes = recipes
        self.dish_llm = dish_llm
        self.router = router
        self.uow = uow
        self.admin_chat_id = admin_chat_id
        self.llm_all_group_messages = llm_all_group_messages
        self.store_fallbacks = store_fallbacks
        # Set by whoever talks to Telegram (bot/app.py; `shopbot chat` has its own).
        self.member_status: MemberStatus | None = None
        # The bot's own username: `/list@SomeOtherBot` in a group is not for us (bot/app.py
        # learns it from Telegram; `shopbot chat` calls itself `shopbot`). None: every
        # command is ours.
        self.bot_username = bot_username
        # Seconds from a list's change to its digest (bot/app.py sets it; None: no digests).
        # The due time is written in the change's own transaction.
        self.digest_delay: float | None = None

    async def _language(self, incoming: Incoming, text: str) -> str:
        """The language to answer in: the text's script, else the user's choice, else hint."""
        if re.match(r"^/(?:join|lang|notify|kick|suggestions)\b", text):
            text = ""  # a code, an option or a name, not words in the user's language
        if has_letters(re.sub(r"/\w+", "", text)):
            return detect_language(re.sub(r"^/\w+(?:@\w+)?", "", text), incoming.language_hint)
        async with self.uow() as uow:
            user = await uow.groups.user(incoming.user_id)
            if user is not None and (user.language or user.last_language):
                return str(user.language or user.last_language)
        return detect_language("", incoming.language_hint)

    async def run(self, incoming: Incoming, work: _Work) -> Outcome:
        """Run `work` in the update's transaction (skipped for an update seen before)."""
        return await self._run(incoming, work)

    async def _list_admin(self, incoming: Incoming) -> bool | None:
        """Whether the sender administers the Telegram group chat of this chat's list, asked
        of Telegram now (outside any transaction); False for a list without a group chat,
        None when Telegram could not say."""
        async with self.uow() as uow:
            chat = await uow.groups.chat(incoming.chat_id)
            chats = await uow.groups.group_chats(chat.group_id) if chat else []
        # A group chat the bot has not met yet is its list's chat from this message on.
        chat_id = chats[0].chat_id if chats else (
            incoming.chat_id if chat is None and incoming.chat_kind is ChatKind.GROUP else None)
        if chat_id is None:
            return False
        status = (await self.member_status(chat_id, incoming.user_id)
                  if self.member_status is not None else None)
        return None if status is None else status in ADMIN_STATUSES

    async def _run(self, incoming: Incoming, work: _Work) -> Outcome:
        async with self.uow() as uow:
            if incoming.update_id is not None and not await uow.log.claim_update(
                    incoming.update_id):
                return Outcome(None, duplicate=True)
            reply, routed = await work(uow)
            if routed is not None and reply is not None:
                # Talk the bot stayed out of writes nothing but the processed mark; the
                # metric below counts every routing decision.
                await uow.log.log_route(routed.source.value, routed.intent.value,
                                        routed.confidence)
            await self._remember(incoming, reply, uow)
            if reply is not None and self.digest_delay is not None:
                due = utcnow() + timedelta(seconds=self.digest_delay)
                for group_id in sorted({int(effect.payload["group_id"])
                                        for effect in reply.effects
                                        if effect.kind is EffectKind.LIST_CHANGED}):
                    await uow.groups.set_digest_due(group_id, due)
            await uow.commit()
        if routed is not None:
            ROUTED.labels(routed.source.value).inc()
        return Outcome(reply, routed)

    async def _remember(self, incoming: Incoming, reply: Reply | None,
                        uow: UnitOfWork) -> None:
        """Keep the one question the bot asks in a chat, and whom; forget it when they move
        on.

        A reply is a question when its buttons carry roles (handlers.reply.Role): their data,
        roles and labels are stored with the sender, the message the question is about and
        its language. Anything else that member says or presses afterwards is not an answer
        in words, so it clears the question; other members' messages leave it alone.
        """
        chat = await uow.groups.chat(incoming.chat_id)
        if chat is None:
            return
        asked = [button for row in (reply.buttons if reply is not None else ())
                 for button in row if button.role is not None]
        if reply is not None and reply.key is not None and asked:
            chat.question = {
                "user_id": incoming.user_id, "text": incoming.text, "lang": reply.lang,
                "asked_at": utcnow().isoformat(),
                "options": [{"data": b.data, "role": b.role.value if b.role else "",
                             "label": button_text(b, reply.lang)} for b in asked],
            }
        elif chat.question and chat.question.get("user_id") == incoming.user_id:
            chat.question = None

    async def _answered(self, incoming: Incoming, text: str) -> Outcome | None:
        """Words from the member the bot asked that answer its question: the button they
        name is pressed, through the same path as a press. None when they are not an answer
        (a new message).
        """
        async with self.uow() as uow:
            chat = await uow.groups.chat(incoming.chat_id)
            question = dict(chat.question) if chat is not None and chat.question else None
        index = _answer_to(question, text)
        if question is None or index is None:
            return None
        options = list(question.get("options") or [])
        if question.get("user_id") != incoming.user_id:
            # Someone else's "yes" to a question asked of Dana is talk about it, not her
            # answer: no reply, and her question still waits for her.
            return Outcome(None)
        lang = detect_language(text, str(question.get("lang") or incoming.language_hint))
        # The press reads the message the question was about, as a button under it would.
        about = replace(incoming, text=str(question.get("text") or ""), forwarded=False)
        outcome = await self.handle_button(about, str(options[index]["data"]), lang=lang)
        reply = outcome.reply
        if reply is not None:
            # An answer in words gets a new message: there is no pressed message to edit,
            # and no button press to show a notice on.
            if reply.key is None and reply.toast and has_message(reply.toast):
                reply = Reply(reply.toast, reply.lang, reply.params)
            reply = replace(reply, edit=False, toast=None)
        return replace(outcome, reply=reply)

    async def handle_message(self, incoming: Incoming) -> Outcome:
        """A text message: a command, an answer the bot asked for, or routed by the model."""
        remember_user_text(incoming.text)
        text = incoming.text.strip()
        if len(text) > TELEGRAM_TEXT_LIMIT:
            lang = detect_language(text[:500], incoming.language_hint)
            return Outcome(Reply("message_too_long", lang))
        if not text:
            return Outcome(None)
        command = _COMMAND.match(text)
        if command:
            addressee = command.group(2)
            if addressee and self.bot_username and addressee.casefold() != \
                    self.bot_username.casefold():
                return Outcome(None)  # `/list@SomeOtherBot`: not ours; no reply, no change
            return await self._command(incoming, command.group(1).lower(),
                                       (command.group(3) or "").strip(), text)
        use_llm = (incoming.chat_kind is ChatKind.PRIVATE or incoming.addressed
                   or self.llm_all_group_messages)
        undo = is_undo(text)
        bought = None if undo else items_bought(text)
        if use_llm or undo or bought:
            # No LLM call or undo is spent on words that answer the bot's question: look
            # first. Other messages are checked in their own transaction (`_decide`).
            answered = await self._answered(incoming, text)
            if answered is not None:
                return answered
        if undo:
            # "cancel that", "bring back what you deleted": the /undo command in words.
            return await self._command(incoming, "undo", "", text)
        switch = suggestions_switch(text)
        if switch is not None:
            # "stop the suggestions", "bring the suggestions back": the /suggestions command
            # in words, whatever the model makes of them (it reads them as the member's
            # notifications, which are another setting).
            said = replace(incoming, text=f"/suggestions {switch}")
            return await self._command(said, "suggestions", switch, text)
        if bought:
            # "bought milk", "I got the eggs": those lines ticked, as their tick buttons
            # would, before the model (it has no label for "these were bought").
            ticked = await self._tick_in_words(incoming, text, bought)
            if ticked is not None:
                return ticked
        if not has_letters(_URLS.sub(" ", text)):
            # A bare link or emoji: answer in the language this user last wrote in.
            incoming = replace(incoming, language_hint=await self._language(incoming, ""))
        routed = await self.router.route(incoming, use_llm=use_llm)
        # A link's page or a dish's ingredients are looked up before the transaction: a slow
        # site or LLM must not hold the database's write lock.
        routed = await look_up_recipe(routed, self.recipes,
                                      self.dish_llm if use_llm else None,
                                      find_in_catalog)
        checked = use_llm or undo or bool(bought)
        try:
            return await self._run(incoming, lambda uow: self._decide(
                routed, uow, None if checked else text))
        except _IsAnswer:
            # Rolled back: the words answer the bot's question after all.
            return await self._answered(incoming, text) or Outcome(None)

    async def _tick_in_words(self, incoming: Incoming, text: str,
                             items: tuple[Item, ...]) -> Outcome | None:
        """Tick the lines a message says were bought; None (nothing written) when its
        words meet no line of the list and are no items either: the model reads them."""
        lang = await self._language(incoming, text)
        quiet = incoming.chat_kind is ChatKind.GROUP and not incoming.addressed

        async def tick(uow: UnitOfWork) -> tuple[Reply | None, Routed | None]:
            reply = await tick_named(incoming, uow, lang, items, quiet)
            if reply is None:
                raise _NotBought  # rolled back: not even the update is marked seen
            return reply, None

        try:
            return await self._run(incoming, tick)
        except _NotBought:
            return None

    async def _decide(self, routed: Routed, uow: UnitOfWork,
                      unchecked: str | None = None) -> tuple[Reply | None, Routed]:
        """Inside the update's transaction: an awaited answer, silence, a question, or the
        handler. `unchecked`: the text, when whether it answers the bot's question is still
        to be seen (it is then taken as an answer, outside this transaction)."""
        incoming = routed.incoming
        chat = await uow.groups.chat(incoming.chat_id)
        if unchecked is not None and chat is not None and _answer_to(
                chat.question, unchecked) is not None:
            raise _IsAnswer
        if chat and chat.awaiting == "rename" and chat.awaiting_user_id == incoming.user_id:
            answer = Routed(incoming, (Intent.RENAME_GROUP,),
                            (Entities(new_name=incoming.text.strip()),), 1.0, True,
                            Source.RULE, routed.lang, reason="answer to the rename question")
            return await HANDLERS[Intent.RENAME_GROUP](answer, uow), answer
        in_group = incoming.chat_kind is ChatKind.GROUP
        if not routed.routed:
            if in_group and not incoming.addressed:
                return None, routed  # family talk the bot is unsure of: stay out of it
            reply, routed = await self._did_you_mean(routed, uow)
            return _retyped(reply, routed), routed
        if in_group and routed.intent is Intent.OTHER and not incoming.addressed:
            return None, routed
        if routed.source is Source.LLM and self.store_fallbacks:
            await uow.log.add_fallback(
                incoming.text, routed.lang, [[s.label.value, s.score] for s in routed.top],
                [i.value for i in routed.intents], "llm",
                group_id=chat.group_id if chat is not None else None)
        return _retyped(await self._handle(routed, uow), routed), routed

    async def _with_routed(self, routed: Routed, uow: UnitOfWork) -> tuple[Reply, Routed]:
        return await self._handle(routed, uow), routed

    async def _handle(self, routed: Routed, uow: UnitOfWork) -> Reply:
        """Run the handler of each intent in the user's order; one reply."""
        replies = [await HANDLERS[intent](routed.single(index), uow)
                   for index, intent in enumerate(routed.intents)]
        if len(replies) == 1:
            return replies[0]
        spoken = [reply for reply in replies if reply.key is not None]
        if not spoken:
            return replies[0]
        effects = tuple(effect for reply in replies for effect in reply.effects)
        buttons = tuple(row for reply in spoken for row in reply.buttons)
        # The last answer may itself have several sentences (its own `before`).
        return replace(spoken[-1].preceded_by(*spoken[:-1]), effects=effects,
                       buttons=buttons[:48])

    async def _did_you_mean(self, routed: Routed, uow: UnitOfWork) -> tuple[Reply, Routed]:
        await resolve(routed.incoming, uow)
        buttons = tuple((Button("btn_pick", encode(PickIntent(scored.label)),
                                {"intent": scored.label.value}, role=Role.OPTION),)
                        for scored in routed.top)
        none = (Button("btn_none", encode(PickIntent(None)), role=Role.NO),)
        return Reply("did_you_mean", routed.lang, buttons=(*buttons, none)), routed

    async def _command(self, incoming: Incoming, name: str, args: str, text: str) -> Outcome:
        lang = await self._language(incoming, text)

        def rule(intent: Intent, entities: Entities) -> Routed:
            return Routed(incoming, (intent,), (entities,), 1.0, True, Source.RULE, lang,
                          reason=f"/{name}")

        command = COMMAND_HANDLERS.get(name)
        if command is not None:
            admin = await self._list_admin(incoming) if name in ADMIN_CHECKED else None
            return await self._run(incoming, lambda uow: _pair(command(incoming, uow, lang,
                                                                       admin)))
        if name == "stats":
            if self.admin_chat_id is None or incoming.chat_id != self.admin_chat_id:
                return Outcome(Reply("admin_only", lang))

            async def stats(uow: UnitOfWork) -> tuple[Reply, Routed | None]:
                counts = await uow.log.route_counts()
                return Reply("stats", lang, {"counts": [f"{k}: {v}" for k, v in
                                                        sorted(counts.items())]}), None
            return await self._run(incoming, stats)
        listed = command_entities(name, args)
        if listed is not None:
            # /lists, /newlist NAME, /uselist NAME, /renamelist [OLD >] NEW, /dellist [NAME]
            managed = rule(Intent.LIST_MANAGE, listed)
            return await self._run(incoming, lambda uow: self._with_routed(managed, uow))
        intent = COMMAND_INTENTS.get(name)
        if intent is None:
            return Outcome(Reply("help", lang))
        if intent is Intent.BUG_REPORT and args:
            # "/bug the bot deleted my cheese. add cheese again": requests said after the
            # report are carried out after it (router.Router._after_report)
            reported = replace(self.router.decide(incoming), lang=lang)
            if len(reported.intents) > 1:
                return await self._run(incoming,
                                       lambda uow: self._with_routed(reported, uow))
        if intent is Intent.NOTIFICATION_SETTINGS:
            state = args.lower() if args.lower() in ("on", "off") else None
            entities = Entities(state=state) if state else (
                extract(intent, args) if args else Entities(state="status"))
        elif intent is Intent.RENAME_GROUP:
            entities = Entities(new_name=args[:64] or None)
        elif intent is Intent.RECIPE_SEARCH:
            entities = Entities(dish=args or None)
        else:
            entities = extract(intent, args) if args else Entities()
        routed = rule(intent, entities)
        if intent in (Intent.GROCERY_REQUEST, Intent.REMOVE_ITEM) and not args:
            routed = rule(intent, Entities())
        return await self._run(incoming, lambda uow: self._with_routed(routed, uow))

    async def handle_button(self, incoming: Incoming, data: str,
                            lang: str | None = None) -> Outcome:
        """A button press; `incoming.text` is the text of the message the bot answered.

        `lang` is the language to answer in when the press was said in words (else the
        language of that message).
        """
        remember_user_text(incoming.text)
        lang = lang or await self._language(incoming, incoming.text)
        button = decode(data)
        if button is None:
            # Callback data comes back as a client sent it: a forged or corrupt one (an id of
            # 30 digits, "²") is an out-of-date button, never an error.
            return Outcome(Reply(None, lang, toast="stale"))
        admin = (await self._list_admin(incoming) if type(button) in ADMIN_CHECKED_PRESSES
                 else None)
        press = Press(incoming, lang, admin, self.store_fallbacks)
        handler = PRESS_HANDLERS[type(button)]
        return await self._run(incoming, lambda uow: handler(press, button, uow))


def _retyped(reply: Reply, routed: Routed) -> Reply:
    """A message typed on the wrong keyboard layout: the reply first shows what was read."""
    if not routed.typed or reply.key is None:
        return reply
    return reply.preceded_by(Reply("layout_fixed", reply.lang,
                                   {"typed": routed.typed, "meant": routed.incoming.text}))


class _IsAnswer(Exception):
    """Words taken for a new message turn out to answer the bot's question."""


class _NotBought(Exception):
    """Words read as "bought milk" name nothing on the list and no item at all."""


def _answer_to(question: dict[str, Any] | None, text: str) -> int | None:
    """The option of the bot's question that these words choose; None when there is no
    question (or it is too old to answer) or the words are no answer to it."""
    if not question:
        return None
    asked_at = datetime.fromisoformat(str(question.get("asked_at")))
    if utcnow() - asked_at > QUESTION_TTL:
        return None
    options = list(question.get("options") or [])
    return read_answer(text, [Choice(str(o.get("role")), str(o.get("label")))
                              for o in options])


async def _pair(reply_awaitable: Awaitable[Reply]) -> tuple[Reply, Routed | None]:
    return await reply_awaitable, None
