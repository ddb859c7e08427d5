"""Media types: which decoder a Content-Type asks for."""

from __future__ import annotations

from typing import Final

# Media that cannot carry text fields worth scanning.
OPAQUE: Final = ("image/", "audio/", "video/", "font/")
FORM_TYPE: Final = "application/x-www-form-urlencoded"
MSGPACK_TYPES: Final = frozenset(
    {"application/msgpack", "application/x-msgpack", "application/vnd.msgpack"}
)
PROTOBUF_TYPES: Final = frozenset(
    {"application/x-protobuf", "application/protobuf", "application/vnd.google.protobuf",
     "application/x-google-protobuf", "application/x-protobuffer", "application/octet-stream+protobuf"}
)  # fmt: skip
GRPC_TYPES: Final = frozenset({"application/grpc", "application/grpc+proto"})
# Types that say nothing about the content: the bytes are sniffed.
UNTYPED: Final = frozenset(
    {"", "application/octet-stream", "binary/octet-stream", "application/binary",
     "application/x-binary", "application/unknown", "application/data"}
)  # fmt: skip


def media_type(content_type: str) -> str:
    """``Application/JSON; charset=utf-8`` becomes ``application/json``."""
    return content_type.split(";")[0].strip().lower()


def is_json_type(content_type: str) -> bool:
    """application/json, text/json and the ``+json`` family."""
    media = media_type(content_type)
    return media in ("application/json", "text/json") or media.endswith("+json")


def is_xml_type(content_type: str) -> bool:
    """application/xml, text/xml and the ``+xml`` family."""
    media = media_type(content_type)
    return media in ("application/xml", "text/xml") or media.endswith("+xml")


def is_form_type(content_type: str) -> bool:
    return media_type(content_type) == FORM_TYPE


def is_opaque(content_type: str) -> bool:
    """Images, sound, video and fonts: no text fields in them."""
    return media_type(content_type).startswith(OPAQUE)
