"""Where decoders meet: bytes by type or by sniffing, text by its look, values by unwrapping.

Each container decoder (json_, form, xml_, msgpack_, protobuf, multipart) parses one layer
and hands back groups whose fields are raw strings. ``expand`` then looks into every field
value for another layer (JSON in a string, a form, ``{a=1|b=2}`` pairs, a JWT, base64 or hex
of something structured, compressed bytes) and puts the decoded groups right after the
group they came from, with the path continued: ``body/form:data/base64/gzip/json:$.imei``.
Every step adds one to ``depth``, and every field is counted, so the message's ``Budget``
bounds the whole unwrapping.

A wrapper's own field (the base64 text, the JWT) stays beside what it decoded to: a key
such as ``token`` or ``device_data`` says something about the value as a whole. A container
(JSON, form, XML text) is replaced by its fields.
"""

from __future__ import annotations

from typing import Final

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.compression import sniff_decompress
from borderflow.analysis.decode.fields import Field, Group
from borderflow.analysis.decode.form import decode_form, decode_pairs, looks_like_form, split_pairs
from borderflow.analysis.decode.json_ import decode_json, jsonp_payload, looks_like_json
from borderflow.analysis.decode.media import (
    GRPC_TYPES,
    MSGPACK_TYPES,
    PROTOBUF_TYPES,
    UNTYPED,
    is_form_type,
    is_json_type,
    is_opaque,
    is_xml_type,
    media_type,
)
from borderflow.analysis.decode.msgpack_ import decode_msgpack, looks_like_msgpack
from borderflow.analysis.decode.multipart import Part, split_parts
from borderflow.analysis.decode.protobuf import decode_protobuf
from borderflow.analysis.decode.text import printable_text
from borderflow.analysis.decode.wrappers import jwt_payload, unwrap
from borderflow.analysis.decode.xml_ import decode_xml, looks_like_xml

_MIN_NESTED: Final = 8  # shorter values hold no other layer worth a look
_MAX_REPLACED: Final = 0.1  # share of undecodable bytes above which a body is binary, not text


def decode_bytes(
    data: bytes,
    prefix: str,
    content_type: str,
    budget: Budget,
    *,
    depth: int,
    key: str = "",
    sniffed: bool = False,
) -> list[Group] | None:
    """Groups in ``data``, decoded by its content type or, when that says nothing, sniffed.

    ``sniffed`` (the bytes came out of a wrapper, nothing promised a format) returns None
    unless the bytes are compressed, text, or parse as msgpack or protobuf; otherwise
    undecodable bytes are still scanned as text, as an untyped body always was.
    """
    if not data or budget.too_deep(depth, prefix):
        return []
    media = media_type(content_type)
    if media.startswith("multipart/"):
        parts = split_parts(data, content_type)
        if parts is not None:
            return _multipart(parts, prefix, budget, depth=depth + 1)
        budget.problem("unparsable_multipart", f"{prefix}: no parts for the given boundary")
    elif media in MSGPACK_TYPES:
        groups = decode_msgpack(data, prefix, key, budget, depth=depth + 1, sniffed=False)
        if groups is not None:
            return expand(groups, budget, depth=depth + 1)
    elif media in PROTOBUF_TYPES or media in GRPC_TYPES:
        message = data[5:] if media in GRPC_TYPES and len(data) >= 5 else data
        groups = decode_protobuf(message, prefix, key, budget, depth=depth + 1, sniffed=False)
        if groups is not None:
            return expand(groups, budget, depth=depth + 1)
    elif media in UNTYPED or sniffed:
        found = _sniff(data, prefix, budget, depth=depth, key=key)
        if found is not None or sniffed:
            return found
    text = data.decode("utf-8", errors="replace")
    if media in UNTYPED and text.count("\ufffd") > len(text) * _MAX_REPLACED:
        budget.problem(
            "binary_body", f"{prefix}: {len(data)} bytes no decoder reads; scanned as text"
        )
    return decode_text(text, prefix, content_type, budget, depth=depth, key=key)


def _sniff(data: bytes, prefix: str, budget: Budget, *, depth: int, key: str) -> list[Group] | None:
    """Compressed, text, msgpack or protobuf, judged by the bytes alone; None if none fits."""
    unpacked = sniff_decompress(data, budget)
    if unpacked is not None:
        coding, inner = unpacked
        path = f"{prefix}/{coding}"
        return decode_bytes(inner, path, "", budget, depth=depth + 1, key=key, sniffed=True)
    text = printable_text(data)
    if text is not None:
        return decode_text(text, prefix, "", budget, depth=depth, key=key)
    groups = None
    if looks_like_msgpack(data):
        groups = decode_msgpack(data, prefix, key, budget, depth=depth + 1, sniffed=True)
    if groups is None and len(data) >= 4:
        groups = decode_protobuf(data, prefix, key, budget, depth=depth + 1, sniffed=True)
    return None if groups is None else expand(groups, budget, depth=depth + 1)


def decode_text(
    text: str, prefix: str, content_type: str, budget: Budget, *, depth: int, key: str = ""
) -> list[Group]:
    """Decoded text by media type, or by its look when the type says nothing useful."""
    if is_json_type(content_type) or looks_like_json(text):
        strict = is_json_type(content_type)
        groups = decode_json(text, prefix, key, budget, depth=depth + 1, strict=strict)
        if groups is not None:
            return expand(groups, budget, depth=depth + 1)
    elif is_form_type(content_type) or looks_like_form(text):
        groups = decode_form(text, f"{prefix}/form", budget, depth=depth + 1, key=key)
        return expand(groups, budget, depth=depth + 1)
    elif is_xml_type(content_type) or looks_like_xml(text):
        strict = is_xml_type(content_type)
        groups = decode_xml(text, prefix, key, budget, depth=depth + 1, strict=strict)
        if groups is not None:
            return expand(groups, budget, depth=depth + 1)
    else:
        payload = jsonp_payload(text)
        groups = (
            None
            if payload is None
            else decode_json(payload, prefix, key, budget, depth=depth + 1, strict=False)
        )
        if groups is not None:
            return expand(groups, budget, depth=depth + 1)
    path = f"{prefix}/text"
    if not text.strip() or not budget.take_field(path):
        return []
    return expand([Group(path, key, (Field(path, key, text),))], budget, depth=depth)


def expand(groups: list[Group], budget: Budget, *, depth: int) -> list[Group]:
    """``groups`` with every field value that holds another layer decoded, in place."""
    out: list[Group] = []
    for group in groups:
        kept: list[Field] = []
        nested: list[Group] = []
        for field in group.fields:
            inner, keep = decode_value(field, budget, depth=depth + 1)
            if keep:
                kept.append(field)
            nested.extend(inner)
        out.append(group if len(kept) == len(group.fields) else group_with(group, kept))
        out.extend(nested)
    return out


def group_with(group: Group, fields: list[Field]) -> Group:
    return Group(group.path, group.key, tuple(fields))


def decode_value(field: Field, budget: Budget, *, depth: int) -> tuple[list[Group], bool]:
    """(groups decoded from the field's value, whether the field itself is kept)."""
    if field.data is not None:
        found = decode_bytes(
            field.data, field.path, "", budget, depth=depth, key=field.key, sniffed=True
        )
        return found or [], False
    text = field.text
    if len(text) < _MIN_NESTED or budget.too_deep(depth, field.path) or budget.expired:
        return [], True
    stripped = text.strip()
    first = stripped[:1]
    if first in "{[" and looks_like_json(stripped):
        groups = decode_json(stripped, field.path, field.key, budget, depth=depth, strict=False)
        if groups is not None:
            return expand(groups, budget, depth=depth), False
    elif first == "<" and looks_like_xml(stripped):
        groups = decode_xml(stripped, field.path, field.key, budget, depth=depth, strict=False)
        if groups is not None:
            return expand(groups, budget, depth=depth), False
    if "=" in stripped:
        return _pairs(field, stripped, budget, depth=depth)
    return _wrapped(field, stripped, budget, depth=depth), True


def _pairs(field: Field, text: str, budget: Budget, *, depth: int) -> tuple[list[Group], bool]:
    """A URL with a query, a form, or ``{a=1|b=2}`` pairs; base64 padding ends up here too."""
    if text.startswith(("http://", "https://")):
        path, _, query = text.partition("?")
        if not query:
            return [], True
        url_path = "/" + path.split("://", 1)[1].partition("/")[2].lower()
        groups = decode_form(
            query.partition("#")[0], f"{field.path}/query", budget, depth=depth, key=url_path
        )
        return expand(groups, budget, depth=depth), True
    if "&" in text and looks_like_form(text):
        groups = decode_form(text, f"{field.path}/form", budget, depth=depth, key=field.key)
        return expand(groups, budget, depth=depth), False
    pairs = split_pairs(text)
    if pairs is not None:
        groups = decode_pairs(pairs, field.path, field.key, budget, depth=depth)
        return expand(groups, budget, depth=depth), False
    return _wrapped(field, text, budget, depth=depth), True


def _wrapped(field: Field, text: str, budget: Budget, *, depth: int) -> list[Group]:
    """What a JWT, base64 or hex value holds, when it holds something."""
    claims = jwt_payload(text)
    if claims is not None:
        found = decode_bytes(
            claims, f"{field.path}/jwt", "", budget, depth=depth, key=field.key, sniffed=True
        )
        return found or []
    unwrapped = unwrap(text)
    if unwrapped is None:
        return []
    step, data = unwrapped
    found = decode_bytes(
        data, f"{field.path}/{step}", "", budget, depth=depth, key=field.key, sniffed=True
    )
    return found or []


def _multipart(parts: list[Part], prefix: str, budget: Budget, *, depth: int) -> list[Group]:
    """Plain parts as one group (like a form); typed parts and files decoded on their own."""
    plain: list[Field] = []
    nested: list[Group] = []
    for part in parts:
        path = f"{prefix}/multipart:{part.name}"
        name = part.name.lower()
        media = media_type(part.content_type)
        if part.filename is not None and (is_opaque(media) or media in UNTYPED):
            if budget.take_field(path):
                described = part.filename or f"{len(part.data)} bytes"
                nested.append(Group(path, f"file:{media}", (Field(path, name, described),)))
        elif part.filename is None and media in ("", "text/plain"):
            text = part.data.decode("utf-8", errors="replace")
            if text and budget.take_field(path):
                plain.append(Field(path, name, text))
        else:
            found = decode_bytes(part.data, path, part.content_type, budget, depth=depth, key=name)
            nested.extend(found or [])
    return [*expand([Group(f"{prefix}/multipart", "", tuple(plain))], budget, depth=depth), *nested]
