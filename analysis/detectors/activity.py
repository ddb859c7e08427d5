"""What the person does and says: searches, pages visited, messages and notes they wrote,
and health and fitness readings."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Final

from borderflow.analysis.decode.fields import Group
from borderflow.analysis.detectors._api import Hit, group_detector
from borderflow.analysis.detectors.keys import kinds, normalized
from borderflow.analysis.detectors.values import has_letters, is_number, is_placeholder, is_url
from borderflow.analysis.records import Category

_SEARCH_PATHS: Final = ("search", "suggest", "sug", "query", "autocomplete", "inputtips",
                        "place", "find", "lookup", "sousuo", "搜索")  # fmt: skip
_CODE_LIKE: Final = re.compile(r"[A-Z0-9_]+|[a-z0-9_]+\.[a-z0-9_.]+|[\w-]{24,}")
_GRAPHQL: Final = re.compile(r"\s*(?:query|mutation|subscription|fragment)\b|\s*\{", re.I)


def _search_endpoint(group: Group) -> bool:
    """A query string sent to a search or suggestion URL (its group key is the URL path)."""
    if not group.path.endswith("/query"):
        return False
    key = group.key.lower()
    return any(word in key for word in _SEARCH_PATHS) or key.rstrip("/").endswith("/s")


def _is_query_text(text: str) -> bool:
    value = text.strip()
    return (
        0 < len(value) <= 200
        and has_letters(value)
        and not is_placeholder(value)
        and not is_url(value)
        and _CODE_LIKE.fullmatch(value) is None
        and _GRAPHQL.match(value) is None
    )


@group_detector(
    Category.SEARCH_HISTORY,
    examples=(
        '{"keyword": "附近的医院"}',
        '{"search_term": "divorce lawyer"}',
        "searchKey=loan+app",
    ),
    counterexamples=(
        '{"q": "1"}',
        '{"query": "query { viewer { id } }"}',
        '{"keyword": ""}',
        '{"query": "ORDER_STATUS"}',
        '{"q": "weather"}',
    ),
    kinds="search search_weak",
)
def search_terms(group: Group) -> Iterator[Hit]:
    """Text under a key naming a search term, or under ``q``/``query``/``wd``/``keywords``
    in a query string sent to a search or suggestion endpoint."""
    endpoint: bool | None = None
    for field in group.fields:
        found = kinds(field.key)
        if "search" in found:
            strong = True
        elif "search_weak" in found:
            if endpoint is None:
                endpoint = _search_endpoint(group)
            strong = False
            if not endpoint:
                continue
        else:
            continue
        if _is_query_text(field.text):
            where = "" if strong else f" sent to search endpoint '{group.key}'"
            reason = f"Search terms under key '{field.key}'{where}"
            yield Hit(field=field, value=field.text.strip(), confidence=0.8, reason=reason)


_STATIC: Final = (".png", ".jpg", ".jpeg", ".gif", ".webp", ".svg", ".js", ".css", ".ico",
                  ".woff", ".woff2", ".ttf", ".mp4", ".mp3", ".json", ".xml")  # fmt: skip


@group_detector(
    Category.BROWSING_HISTORY,
    examples=(
        '{"history": [{"histUri": "https://news.example.org/a/1", "title": "A"}]}',
        '{"visited_urls": ["https://a.example/x", "https://b.example/y"]}',
        '{"浏览记录": "https://shop.example.com/item/1"}',
    ),
    counterexamples=(
        '{"callback_url": "https://api.example.com/notify"}',
        '{"history": "3"}',
        '{"images": ["https://cdn.example.com/1.jpg", "https://cdn.example.com/2.jpg"]}',
    ),
    pattern=r"https?://",
)
def visited_pages(group: Group) -> Iterator[Hit]:
    """Page URLs under a key (or in a container) naming history, visits or browsing."""
    context = "history" in kinds(group.key)
    for field in group.fields:
        text = field.text.strip()
        if not is_url(text) or text.lower().split("?")[0].endswith(_STATIC):
            continue
        if context or "history" in kinds(field.key):
            reason = f"Visited page under '{field.key or group.key}'"
            yield Hit(field=field, value=text, confidence=0.8, reason=reason)


_SENTENCE: Final = re.compile(
    r"[\u4e00-\u9fff]{2}|(?<![A-Za-z])[A-Za-z]{2,30}(?:[\s,.!?'’]{1,3}[A-Za-z]{1,30}){2}"
)
_STATUS: Final = frozenset({"ok", "success", "succeeded", "fail", "failed", "error", "成功",
                            "失败", "操作成功", "system error", "invalid signature", "not found",
                            "unauthorized", "forbidden", "bad request", "timeout"})  # fmt: skip
_DATA_URI: Final = re.compile(r"data:((?:image|audio|video)/[\w.+-]+);base64,")
_APP_ARTWORK: Final = ("icon", "logo", "banner", "thumb", "sprite", "placeholder", "background",
                       "emoji", "badge", "splash")  # fmt: skip
_MESSAGE_SIBLINGS: Final = frozenset({"to", "touser", "receiver", "recipient", "conversationid",
                                      "chatid", "threadid", "roomid", "peer", "peerid", "msgtype",
                                      "replyto", "sessionkey", "toaccount", "fromaccount"})  # fmt: skip
_MESSAGE_CONTEXT: Final = ("chat", "message", "msg", "text", "comment", "reply", "post",
                           "feedback", "conversation", "聊天", "消息")  # fmt: skip


def _is_prose(text: str) -> bool:
    value = text.strip()
    return (
        2 <= len(value) <= 10_000
        and value.lower() not in _STATUS
        and not is_url(value)
        and not is_number(value)
        and _SENTENCE.search(value) is not None
        and _CODE_LIKE.fullmatch(value) is None
    )


@group_detector(
    Category.USER_CONTENT,
    examples=(
        '{"remark": "房租 11月"}',
        '{"feedback": "The app crashes when I open my bills"}',
        '{"msgtype": "text", "text": {"content": "Hello, are you free tonight?"}}',
        '{"image": "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ"}',
    ),
    counterexamples=(
        '{"errmsg": "invalid signature"}',
        '{"message": "success"}',
        '{"remark": "123"}',
        '{"content": "Hello there friend"}',
        '{"msg": "SYSTEM_ERROR"}',
        '{"icon": "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAAB"}',
    ),
    kinds="content content_weak file",
    pattern=r"data:(?:image|audio|video)/",
    needs=":",
)
def written_content(group: Group) -> Iterator[Hit]:
    """Prose under a key naming a note, comment, remark or feedback; message text inside a
    chat or message container; photos, audio and video uploaded as files."""
    if group.key.startswith("file:") and group.key[5:].startswith(("image/", "audio/", "video/")):
        field = group.fields[0]
        reason = f"{group.key[5:]} file uploaded as form part '{field.key}'"
        yield Hit(field=field, value=field.text, confidence=0.7, reason=reason)
        return
    for field in group.fields:
        media = _DATA_URI.match(field.text)
        if media is not None and not any(w in field.key for w in _APP_ARTWORK):
            reason = f"{media.group(1)} sent inline as a data URI under key '{field.key}'"
            yield Hit(field=field, value=field.text[:64], confidence=0.7, reason=reason)
    in_message = any(word in normalized(group.key) for word in _MESSAGE_CONTEXT) or any(
        "user_id" in kinds(f.key) or normalized(f.key) in _MESSAGE_SIBLINGS for f in group.fields
    )  # text beside its author's ID, or beside a recipient or a conversation, was written
    in_chat = any(word in normalized(group.key) for word in _MESSAGE_CONTEXT)
    for field in group.fields:
        found = kinds(field.key)
        strong = "content" in found
        if not strong and not ("content_weak" in found and in_message):
            continue
        if field.key == "body" and not in_chat:
            continue  # "body" is a message's only inside a message: elsewhere, a product's
        if _is_prose(field.text):
            where = "" if strong else f" of message '{group.key}'"
            reason = f"Text the person wrote, under key '{field.key}'{where}"
            yield Hit(field=field, value=field.text.strip(), confidence=0.75, reason=reason)


_HEALTH_TYPES: Final = re.compile(
    r"com\.google\.(?:step_count|heart_rate|sleep|blood_pressure|blood_glucose|oxygen_saturation"
    r"|weight|body\.temperature|heart_minutes|calories)[\w.]*|HKQuantityTypeIdentifier\w+"
    r"|HKCategoryTypeIdentifierSleepAnalysis"
)
_HEALTH_CONTEXT: Final = ("health", "fitness", "sport", "werun", "step", "heart", "sleep",
                          "workout", "运动", "健康")  # fmt: skip
_WEAK_HEALTH: Final = frozenset({"step", "weight", "height", "calories", "calorie", "sleep",
                                 "distance", "duration", "value", "intval", "fpval"})  # fmt: skip


@group_detector(
    Category.HEALTH_FITNESS,
    examples=(
        '{"step_count": 8421}',
        '{"heartRate": 72, "time": 1700000000}',
        '{"stepInfoList": [{"timestamp": 1445866601, "step": 100}]}',
        '{"dataTypeName": "com.google.step_count.delta", "intVal": 4821}',
        '{"sleep": [{"minutesAsleep": 391, "efficiency": 96}]}',
    ),
    counterexamples=(
        '{"step": 2, "total_steps": "unknown"}',
        '{"weight": 1.5, "sku": "A1"}',
        '{"health": "ok"}',
        '{"healthcheck": "1"}',
    ),
    kinds="health health_context",
    pattern=r"com\.google\.|HK\w*TypeIdentifier",
    needs="cH",
)
def health_reading(group: Group) -> Iterator[Hit]:
    """A number under a key naming a health measure (steps, heart rate, sleep, blood
    pressure...), or under a generic key in a health or fitness container."""
    context = any(word in normalized(group.key) for word in _HEALTH_CONTEXT) or any(
        _HEALTH_TYPES.fullmatch(f.text.strip()) for f in group.fields
    )
    for field in group.fields:
        text = field.text.strip()
        if not is_number(text):
            continue
        named = "health" in kinds(field.key)
        if named or (context and normalized(field.key) in _WEAK_HEALTH):
            where = "" if named else f" in health container '{group.key}'"
            reason = f"Health or fitness reading under key '{field.key}'{where}"
            yield Hit(field=field, value=text, confidence=0.8 if named else 0.7, reason=reason)
            return
