"""Every text the bot says, in Hebrew, English and Arabic, rendered as Telegram HTML.

Handlers return message keys with raw parameters; rendering escapes every parameter, so
whatever a user typed (an item called `<b>`, a group named `&amp;`) shows as typed.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from handlers.reply import Button, Reply

__all__ = ["LANGUAGES", "MESSAGES", "button_text", "intent_name", "render", "text"]

LANGUAGES = ("he", "en", "ar")

MESSAGES: dict[str, tuple[str, str, str]] = {
    "added": ("✓ נוסף: {items}", "✓ Added: {items}", "✓ تمت الإضافة: {items}"),
    "add_what": ("מה להוסיף? כתבו למשל: חלב, 2 ביצים",
                 "What should I add? For example: milk, 2 eggs",
                 "شو أضيف؟ مثلاً: حليب، ٢ بيض"),
    "too_many_items": ("זה יותר מ־{limit} פריטים בהודעה אחת, לא הוספתי כלום. אפשר לפצל להודעות.",
                       "That is more than {limit} items in one message; nothing was added. "
                       "Please split it up.",
                       "هذا أكثر من {limit} غرض برسالة وحدة، ما أضفت شي. قسّمها لرسائل."),
    "absurd_quantity": ("הכמות לא נראית נכונה (בין 0 ל־{max}), לא שיניתי כלום.",
                        "That amount doesn't look right (it must be between 0 and {max}); "
                        "nothing was changed.",
                        "الكمية مش منطقية (لازم بين 0 و{max})، ما غيرت شي."),
    "name_too_long": ("שם הפריט ארוך מדי, לא הוספתי כלום.", "That item name is too long; nothing "
                      "was added.", "اسم الغرض طويل كثير، ما أضفت شي."),
    "message_too_long": ("ההודעה ארוכה מדי בשבילי, לא שיניתי כלום.",
                         "That message is too long for me; nothing was changed.",
                         "الرسالة طويلة كثير، ما غيرت شي."),
    "list_empty": ("הרשימה של <b>{title}</b> ריקה 🎉", "The <b>{title}</b> list is empty 🎉",
                   "قائمة <b>{title}</b> فاضية 🎉"),
    "list_header": ("🛒 <b>{title}</b> ({count})", "🛒 <b>{title}</b> ({count})",
                    "🛒 <b>{title}</b> ({count})"),
    "remove_what": ("מה להוריד מהרשימה?", "What should I take off the list?",
                    "شو أشيل من القائمة؟"),
    "not_on_list": ("לא מצאתי ברשימה: {items}", "Not on the list: {items}",
                    "مش موجود بالقائمة: {items}"),
    "removed": ("✓ הורד מהרשימה: {items}", "✓ Removed: {items}", "✓ انشال من القائمة: {items}"),
    "removed_missing": ("(לא מצאתי: {missing})", "(not found: {missing})", "(ما لقيت: {missing})"),
    "confirm_clear": ("לסמן {count} פריטים כנקנו?", "Mark {count} items as bought?",
                      "أعلّم {count} أغراض إنها انشرت؟"),
    "cleared": ("✓ סומנו {count} פריטים כנקנו. הרשימה ריקה.",
                "✓ Marked {count} items as bought. The list is empty.",
                "✓ تعلّم {count} أغراض إنها انشرت. القائمة فاضية."),
    "partial_which": ("מה לא נקנה? כתבו למשל: קנינו הכל חוץ מהעגבניות",
                      "What didn't you get? For example: got everything but eggs",
                      "شو ما انشرى؟ مثلاً: جبنا كل شي إلا البيض"),
    "partial_done": ("✓ סומנו {count} פריטים כנקנו. נשארו ברשימה: {items}",
                     "✓ Marked {count} items as bought. Still on the list: {items}",
                     "✓ تعلّم {count} أغراض إنها انشرت. لسا بالقائمة: {items}"),
    "update_what": ("איזו כמות לעדכן? כתבו למשל: בעצם 3 חלב",
                    "Which amount should I change? For example: actually 3 milk",
                    "أي كمية أغير؟ مثلاً: خليها ٣ حليب"),
    "updated": ("✓ עודכן: {items}", "✓ Updated: {items}", "✓ تعدّل: {items}"),
    "nothing_to_undo": ("אין מה לבטל.", "Nothing to undo.", "ما في شي للتراجع عنه."),
    "already_undone": ("זה כבר בוטל.", "That was already undone.", "هذا انلغى من قبل."),
    "undone": ("↩️ בוטל: {items}", "↩️ Undone: {items}", "↩️ تم التراجع: {items}"),
    "no_invite": ("אין קוד הזמנה פעיל. שלחו /invite כדי ליצור אחד.",
                  "There is no active invite code. Send /invite to make one.",
                  "ما في كود دعوة فعّال. ابعت /invite لتعمل واحد."),
    "invite_code": ("קוד ההזמנה ל־<b>{title}</b>: <code>{code}</code>\nבתוקף עד {expires}. "
                    "מצטרפים עם /join {code}",
                    "The invite code for <b>{title}</b>: <code>{code}</code>\nValid until "
                    "{expires}. Join with /join {code}",
                    "كود الدعوة لـ<b>{title}</b>: <code>{code}</code>\nصالح لغاية {expires}. "
                    "الانضمام بـ /join {code}"),
    "invite_created": ("קוד הזמנה חדש ל־<b>{title}</b>: <code>{code}</code>\nבתוקף עד "
                       "{expires}. שלחו לו: /join {code}",
                       "New invite code for <b>{title}</b>: <code>{code}</code>\nValid until "
                       "{expires}. Send them: /join {code}",
                       "كود دعوة جديد لـ<b>{title}</b>: <code>{code}</code>\nصالح لغاية "
                       "{expires}. ابعتلهم: /join {code}"),
    "invite_revoked": ("✓ קוד ההזמנה בוטל.", "✓ The invite code was revoked.",
                       "✓ انلغى كود الدعوة."),
    "no_invite_to_revoke": ("אין קוד פעיל לבטל.", "There is no active code to revoke.",
                            "ما في كود فعّال لإلغائه."),
    "join_usage": ("כדי להצטרף: /join הקוד", "To join: /join CODE", "للانضمام: /join الكود"),
    "join_rate_limited": ("יותר מדי ניסיונות. נסו שוב בעוד שעה.",
                          "Too many tries. Please try again in an hour.",
                          "محاولات كثير. جرب بعد ساعة."),
    "join_bad_code": ("הקוד לא תקף (אולי פג או בוטל).",
                      "That code is not valid (it may have expired or been revoked).",
                      "الكود مش صالح (يمكن انتهى أو انلغى)."),
    "joined": ("✓ הצטרפת ל־<b>{title}</b>. מעכשיו הרשימה הזאת משותפת איתך.",
               "✓ You joined <b>{title}</b>. This list is now shared with you.",
               "✓ انضميت لـ<b>{title}</b>. هالقائمة صارت مشتركة معك."),
    "group_info": ("👥 <b>{title}</b>\nחברים: {members}\nפריטים ברשימה: {count}",
                   "👥 <b>{title}</b>\nMembers: {members}\nItems on the list: {count}",
                   "👥 <b>{title}</b>\nالأعضاء: {members}\nأغراض بالقائمة: {count}"),
    "rename_ask": ("איך לקרוא לקבוצה? שלחו את השם החדש.",
                   "What should the group be called? Send the new name.",
                   "شو نسمي المجموعة؟ ابعت الاسم الجديد."),
    "renamed": ("✓ השם שונה ל־<b>{title}</b>", "✓ Renamed to <b>{title}</b>",
                "✓ تغيّر الاسم لـ<b>{title}</b>"),
    "cannot_leave_personal": ("זו הרשימה האישית שלך, אי אפשר לצאת ממנה.",
                              "This is your personal list; you can't leave it.",
                              "هاي قائمتك الشخصية، ما بتقدر تطلع منها."),
    "left": ("יצאת מ־<b>{title}</b>. הפריטים שהוספת נשארים ברשימה.",
             "You left <b>{title}</b>. The items you added stay on the list.",
             "طلعت من <b>{title}</b>. الأغراض اللي أضفتها بتضل بالقائمة."),
    "notify_on": ("🔔 התראות על שינויים ב־<b>{title}</b> מופעלות.",
                  "🔔 Notifications about <b>{title}</b> are on.",
                  "🔔 الإشعارات عن <b>{title}</b> شغالة."),
    "notify_off": ("🔕 לא אשלח לך יותר התראות על <b>{title}</b>.",
                   "🔕 I won't notify you about <b>{title}</b> any more.",
                   "🔕 ما رح أبعتلك إشعارات عن <b>{title}</b>."),
    "notify_status_on": ("🔔 ההתראות שלך על <b>{title}</b> מופעלות.",
                         "🔔 Your notifications about <b>{title}</b> are on.",
                         "🔔 إشعاراتك عن <b>{title}</b> شغالة."),
    "notify_status_off": ("🔕 ההתראות שלך על <b>{title}</b> כבויות.",
                          "🔕 Your notifications about <b>{title}</b> are off.",
                          "🔕 إشعاراتك عن <b>{title}</b> مطفية."),
    "bug_ask": ("מה לא עבד? כתבו /bug ותיאור קצר.", "What went wrong? Send /bug and a short "
                "description.", "شو اللي ما زبط؟ ابعت /bug ووصف قصير."),
    "bug_thanks": ("תודה! הדיווח נשמר (#{id}).", "Thanks! Your report was saved (#{id}).",
                   "شكراً! انحفظ البلاغ (#{id})."),
    "help": (
        "אני שומר את רשימת הקניות המשותפת. פשוט כתבו לי:\n"
        "• <i>תוסיף חלב ו־2 ביצים</i>\n• <i>מה חסר לנו?</i>\n• <i>קנינו הכל חוץ מהעגבניות</i>\n"
        "• <i>מה צריך לשקשוקה?</i>\n\nפקודות: /add /list /remove /clear /undo /invite /code "
        "/revoke /join /rename /leave /members /notify /lang /bug /help",
        "I keep your shared shopping list. Just write:\n"
        "• <i>add milk and 2 eggs</i>\n• <i>what's left to buy?</i>\n"
        "• <i>got everything but tomatoes</i>\n• <i>ingredients for lasagna</i>\n\n"
        "Commands: /add /list /remove /clear /undo /invite /code /revoke /join /rename /leave "
        "/members /notify /lang /bug /help",
        "أنا بحفظ قائمة المشتريات المشتركة. بس اكتبولي:\n"
        "• <i>بدنا خبز و٢ حليب</i>\n• <i>شو ناقصنا؟</i>\n• <i>جبنا كل شي إلا البندورة</i>\n"
        "• <i>شو بدنا للمقلوبة؟</i>\n\nالأوامر: /add /list /remove /clear /undo /invite /code "
        "/revoke /join /rename /leave /members /notify /lang /bug /help"),
    "other": ("😊 אני כאן בשביל רשימת הקניות. /help מראה מה אני יודע לעשות.",
              "😊 I'm here for the shopping list. /help shows what I can do.",
              "😊 أنا هون لقائمة المشتريات. /help بتوريك شو بعرف أعمل."),
    "not_understood": ("לא בטוח שהבנתי 🤔 נסו לנסח אחרת, או /help.",
                       "I'm not sure I understood 🤔 Try rephrasing, or /help.",
                       "مش متأكد إني فهمت 🤔 جرب تكتبها بطريقة ثانية، أو /help."),
    "did_you_mean": ("לא בטוח שהבנתי 🤔 התכוונת ל...", "I'm not sure I understood 🤔 Did you "
                     "mean…", "مش متأكد إني فهمت 🤔 قصدك…"),
    "recipe_items": ("🍳 <b>{dish}</b>: {items}", "🍳 <b>{dish}</b>: {items}",
                     "🍳 <b>{dish}</b>: {items}"),
    "dish_unknown": ("לא מכיר את המנה {dish}. אולי: {closest}?",
                     "I don't know the dish {dish}. Maybe: {closest}?",
                     "ما بعرف طبخة {dish}. يمكن: {closest}؟"),
    "recipe_bad_url": ("זה לא נראה כמו קישור למתכון (רק http או https).",
                       "That doesn't look like a recipe link (http or https only).",
                       "هذا مش رابط وصفة (بس http أو https)."),
    "recipe_refused": ("אני לא פותח את הקישור הזה (כתובת פרטית או פנימית).",
                       "I won't open that link (a private or internal address).",
                       "ما بفتح هالرابط (عنوان خاص أو داخلي)."),
    "recipe_failed": ("לא הצלחתי לפתוח את הקישור. נסו שוב אחר כך.",
                      "I couldn't open that link. Please try again later.",
                      "ما قدرت أفتح الرابط. جرب بعدين."),
    "recipe_timeout": ("האתר לא ענה בזמן. נסו שוב אחר כך.",
                       "The site took too long to answer. Please try again later.",
                       "الموقع ما رد بالوقت. جرب بعدين."),
    "recipe_not_html": ("הקישור הוא לא דף אינטרנט של מתכון.",
                        "That link is not a web page with a recipe.",
                        "الرابط مش صفحة وصفة."),
    "recipe_too_big": ("הדף גדול מדי בשבילי (יותר מ־2MB).", "That page is too big for me "
                       "(over 2 MB).", "الصفحة كبيرة كثير (أكثر من 2MB)."),
    "recipe_not_found": ("לא מצאתי מתכון בדף הזה. אפשר לכתוב: מה צריך ל<i>שם המנה</i>",
                         "I found no recipe on that page. Try: ingredients for <i>dish</i>",
                         "ما لقيت وصفة بهالصفحة. جرب: شو بدنا لـ<i>اسم الطبخة</i>"),
    "error_apology": ("אופס, משהו השתבש אצלי. לא שיניתי כלום, נסו שוב.",
                      "Oops, something went wrong on my side. Nothing was changed; please try "
                      "again.",
                      "عذراً، صار خطأ عندي. ما تغير شي، جرب مرة ثانية."),
    "start": ("שלום! 👋 אני בוט רשימת הקניות של <b>{title}</b>.",
              "Hi! 👋 I'm the shopping list bot of <b>{title}</b>.",
              "أهلاً! 👋 أنا بوت قائمة المشتريات لـ<b>{title}</b>."),
    "lang_set": ("✓ השפה שלך: עברית", "✓ Your language: English", "✓ لغتك: العربية"),
    "lang_usage": ("שימוש: /lang he|en|ar", "Usage: /lang he|en|ar", "الاستخدام: /lang he|en|ar"),
    "stale": ("הכפתור הזה כבר לא בתוקף.", "That button is out of date.",
              "هالزر ما عاد صالح."),
    "cancelled": ("בוטל.", "Cancelled.", "انلغى."),
    "digest": ("🛒 עדכונים ב־<b>{title}</b>:\n{lines}", "🛒 Updates in <b>{title}</b>:\n{lines}",
               "🛒 تحديثات في <b>{title}</b>:\n{lines}"),
    "stats": ("מי ניתב הודעות: {counts}", "Messages routed by: {counts}",
              "مين وجّه الرسائل: {counts}"),
    "admin_only": ("הפקודה הזאת למנהל הבוט בלבד.", "This command is for the bot's admin only.",
                   "هذا الأمر لمدير البوت بس."),
    "btn_undo": ("↩️ ביטול", "↩️ Undo", "↩️ تراجع"),
    "btn_tick": ("✓ {item}", "✓ {item}", "✓ {item}"),
    "btn_yes_clear": ("כן, לסמן", "Yes, mark them", "أيوا، علّمهم"),
    "btn_cancel": ("לא", "No", "لا"),
    "btn_add_all": ("➕ להוסיף הכל", "➕ Add all", "➕ أضف الكل"),
    "btn_add_one": ("➕ {item}", "➕ {item}", "➕ {item}"),
    "btn_pick": ("{intent}", "{intent}", "{intent}"),
    "btn_none": ("אף אחד מאלה", "None of these", "ولا واحد"),
}

DIGEST_LINES: dict[str, tuple[str, str, str]] = {
    "add": ("{user} הוסיף/ה: {items}", "{user} added: {items}", "{user} أضاف: {items}"),
    "remove": ("{user} הוריד/ה: {items}", "{user} removed: {items}", "{user} شال: {items}"),
    "clear": ("{user} קנה/תה הכל ({count})", "{user} bought everything ({count})",
              "{user} اشترى كل شي ({count})"),
    "partial": ("{user} קנה/תה: {items}", "{user} bought: {items}", "{user} اشترى: {items}"),
    "tick": ("{user} קנה/תה: {items}", "{user} bought: {items}", "{user} اشترى: {items}"),
    "update": ("{user} עדכן/ה: {items}", "{user} updated: {items}", "{user} عدّل: {items}"),
    "undo": ("{user} ביטל/ה: {items}", "{user} undid: {items}", "{user} تراجع عن: {items}"),
}

CATEGORY_NAMES: dict[str, tuple[str, str, str]] = {
    "produce": ("🥬 פירות וירקות", "🥬 Produce", "🥬 خضار وفواكه"),
    "dairy": ("🧀 מוצרי חלב", "🧀 Dairy", "🧀 ألبان"),
    "bakery": ("🍞 מאפים", "🍞 Bakery", "🍞 مخبوزات"),
    "meat_fish": ("🍗 בשר ודגים", "🍗 Meat & fish", "🍗 لحوم وأسماك"),
    "pantry": ("🥫 מזווה", "🥫 Pantry", "🥫 مؤونة"),
    "frozen": ("🧊 קפואים", "🧊 Frozen", "🧊 مجمدات"),
    "drinks": ("🥤 משקאות", "🥤 Drinks", "🥤 مشروبات"),
    "snacks": ("🍫 חטיפים", "🍫 Snacks", "🍫 سناكات"),
    "spices": ("🧂 תבלינים", "🧂 Spices", "🧂 بهارات"),
    "household": ("🧽 ניקיון ובית", "🧽 Household", "🧽 منظفات وبيت"),
    "personal_care": ("🧴 טיפוח", "🧴 Personal care", "🧴 عناية شخصية"),
    "baby": ("🍼 תינוקות", "🍼 Baby", "🍼 أطفال"),
    "pets": ("🐾 חיות מחמד", "🐾 Pets", "🐾 حيوانات أليفة"),
    "other": ("📦 אחר", "📦 Other", "📦 غير ذلك"),
}

INTENT_NAMES: dict[str, tuple[str, str, str]] = {
    "GROCERY_REQUEST": ("➕ להוסיף לרשימה", "➕ Add to the list", "➕ أضف للقائمة"),
    "RECIPE_URL": ("🔗 מתכון מקישור", "🔗 Recipe from a link", "🔗 وصفة من رابط"),
    "LIST_QUERY": ("🛒 להציג את הרשימה", "🛒 Show the list", "🛒 اعرض القائمة"),
    "CLEAR_LIST": ("✅ קנינו הכל", "✅ We bought everything", "✅ اشترينا كل شي"),
    "REMOVE_ITEM": ("➖ להוריד מהרשימה", "➖ Remove from the list", "➖ شيل من القائمة"),
    "PARTIAL_COMPLETION": ("☑️ קנינו הכל חוץ מ...", "☑️ Bought all but…", "☑️ اشترينا الكل إلا…"),
    "GROUP_INFO": ("👥 מי בקבוצה", "👥 Who's in the group", "👥 مين بالمجموعة"),
    "GET_INVITE_CODE": ("🔑 קוד ההזמנה", "🔑 The invite code", "🔑 كود الدعوة"),
    "CREATE_INVITE": ("✉️ קוד הזמנה חדש", "✉️ New invite code", "✉️ كود دعوة جديد"),
    "RENAME_GROUP": ("✏️ לשנות שם", "✏️ Rename the group", "✏️ غيّر الاسم"),
    "LEAVE_GROUP": ("🚪 לצאת מהקבוצה", "🚪 Leave the group", "🚪 اطلع من المجموعة"),
    "NOTIFICATION_SETTINGS": ("🔔 התראות", "🔔 Notifications", "🔔 الإشعارات"),
    "REVOKE_INVITE": ("⛔ לבטל את הקוד", "⛔ Revoke the code", "⛔ الغي الكود"),
    "RECIPE_SEARCH": ("🍳 רשימה למנה", "🍳 A list for a dish", "🍳 قائمة لطبخة"),
    "UPDATE_QUANTITY": ("🔢 לשנות כמות", "🔢 Change an amount", "🔢 غيّر الكمية"),
    "BUG_REPORT": ("🐞 לדווח על תקלה", "🐞 Report a problem", "🐞 بلّغ عن مشكلة"),
    "OTHER": ("💬 סתם דיברתי", "💬 Just chatting", "💬 بس عم نحكي"),
}


def _index(lang: str) -> int:
    return LANGUAGES.index(lang) if lang in LANGUAGES else 0


def _format_value(value: Any, lang: str, tz: str = "Asia/Jerusalem") -> str:
    if isinstance(value, datetime):
        return value.astimezone(ZoneInfo(tz)).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, (list, tuple)):
        separator = "، " if lang == "ar" else ", "
        return separator.join(html.escape(str(v), quote=False) for v in value)
    return html.escape(str(value), quote=False)


def text(key: str, lang: str, **params: Any) -> str:
    """One message in one language, every parameter escaped for HTML."""
    template = MESSAGES[key][_index(lang)]
    # Times show in the group's own timezone (`_tz`), Asia/Jerusalem unless it has another.
    tz = str(params.pop("_tz", None) or "Asia/Jerusalem")
    return template.format(**{name: _format_value(v, lang, tz) for name, v in params.items()})


def intent_name(label: str, lang: str) -> str:
    """A short, localized button label for an intent."""
    return INTENT_NAMES.get(label, (label, label, label))[_index(lang)]


def _render_list(reply: Reply) -> str:
    lang = reply.lang
    lines = [text("list_header", lang, title=reply.params["title"],
                  count=reply.params["count"])]
    sections: Sequence[tuple[str, Sequence[tuple[int, str]]]] = reply.params["sections"]
    for category, entries in sections:
        lines.append("")
        title = CATEGORY_NAMES.get(category, CATEGORY_NAMES["other"])[_index(lang)]
        lines.append(f"<b>{title}</b>")
        lines.extend(f"• {html.escape(entry, quote=False)}" for _id, entry in entries)
    return "\n".join(lines)


def _render_digest(reply: Reply) -> str:
    lang = reply.lang
    lines = []
    for entry in reply.params["entries"]:
        template = DIGEST_LINES.get(entry["kind"], DIGEST_LINES["update"])[_index(lang)]
        lines.append("• " + template.format(
            user=_format_value(entry["user"], lang), items=_format_value(entry["items"], lang),
            count=len(entry["items"])))
    return MESSAGES["digest"][_index(lang)].format(
        title=_format_value(reply.params["title"], lang), lines="\n".join(lines))


def render(reply: Reply) -> str:
    """The reply's text as Telegram HTML; empty when the reply says nothing.

    A message that asked for two things carries the earlier answers in `_before`; they come
    first, in the order asked.
    """
    if reply.key is None:
        return ""
    params = dict(reply.params)
    before: list[Reply] = params.pop("_before", [])
    if reply.key == "list":
        body = _render_list(reply)
    elif reply.key == "digest":
        body = _render_digest(reply)
    else:
        body = _render_text(reply.key, reply.lang, params)
    return "\n\n".join([*(render(r) for r in before), body])


def _render_text(key: str, lang: str, params: dict[str, Any]) -> str:
    body = text(key, lang, **params)
    if key == "removed" and params.get("missing"):
        body += " " + text("removed_missing", lang, missing=params["missing"])
    return body


def button_text(button: Button, lang: str) -> str:
    """A button's label; intent buttons get the intent's localized name."""
    if button.key == "btn_pick":
        return intent_name(str(button.params.get("intent", "")), lang)
    label = MESSAGES[button.key][_index(lang)]
    params = {name: str(value)[:40] for name, value in button.params.items()}
    # Button labels are plain text, not HTML: no escaping here.
    return label.format(**params)
