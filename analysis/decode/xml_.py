"""XML bodies (WeChat Pay v2, SOAP, plist-free configs) as groups, without an XML library.

A small tolerant tokenizer instead of ``xml.etree``: no entity declarations are expanded
(the five predefined entities and character references are), so entity bombs cost nothing,
and a document that is slightly broken still gives its fields. Each element with children
or attributes is a group; a leaf element is a field of its parent's group, keyed by its tag.
Repeated siblings are indexed (``/xml/contact[1]/name``) so lists stay visible as lists.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Final

from borderflow.analysis.decode.budget import Budget
from borderflow.analysis.decode.fields import Field, Group

_TAG_NAME: Final = re.compile(r"/?\s*([^\s/>]+)")
_ATTR: Final = re.compile(r"([^\s=/]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")
_MAX_ELEMENTS: Final = 200_000


@dataclass(slots=True)
class _Element:
    tag: str
    attrs: list[tuple[str, str]]
    children: list[_Element] = field(default_factory=list)
    text: list[str] = field(default_factory=list)


def looks_like_xml(text: str) -> bool:
    """Starts with a tag and ends with one."""
    stripped = text.strip()
    return len(stripped) > 6 and stripped[0] == "<" and stripped[-1] == ">"


def decode_xml(
    text: str, prefix: str, key: str, budget: Budget, *, depth: int, strict: bool
) -> list[Group] | None:
    """Groups of the document at ``{prefix}/xml:/root/...``; None when it is not XML."""
    root = _parse(text.strip())
    if root is None:
        if strict:
            budget.problem("unparsable_xml", f"{prefix}: no element found")
        return None
    groups: list[Group] = []
    stack: list[tuple[_Element, str, int]] = [(root, f"{prefix}/xml:/{_local(root.tag)}", depth)]
    while stack:
        element, path, level = stack.pop()
        if budget.too_deep(level, path):
            continue
        fields = [
            Field(f"{path}/@{name}", _local(name).lower(), value)
            for name, value in element.attrs
            if value and budget.take_field(path)
        ]
        own_text = "".join(element.text).strip()
        if not element.children and own_text and budget.take_field(path):
            fields.append(Field(path, _local(element.tag).lower(), own_text))
        nested: list[tuple[_Element, str, int]] = []
        for child, child_path in _child_paths(element, path):
            content = "".join(child.text).strip()
            if child.children or child.attrs:
                nested.append((child, child_path, level + 1))
            elif content and budget.take_field(child_path):
                fields.append(Field(child_path, _local(child.tag).lower(), content))
        name = _local(element.tag).lower()
        name = (key or name) if level == depth else name
        groups.append(Group(path, name, tuple(fields)))
        stack.extend(reversed(nested))
    return groups


def _child_paths(element: _Element, path: str) -> list[tuple[_Element, str]]:
    counts: dict[str, int] = {}
    for child in element.children:
        counts[child.tag] = counts.get(child.tag, 0) + 1
    seen: dict[str, int] = {}
    out: list[tuple[_Element, str]] = []
    for child in element.children:
        name = _local(child.tag)
        if counts[child.tag] > 1:
            index = seen.get(child.tag, 0)
            seen[child.tag] = index + 1
            name = f"{name}[{index}]"
        out.append((child, f"{path}/{name}"))
    return out


def _local(tag: str) -> str:
    """``soap:Body`` becomes ``Body``: namespaces prefixes say nothing about the data."""
    return tag.rpartition(":")[2] or tag


def _parse(text: str) -> _Element | None:
    """The root element; None when there is none or there is text outside it.

    A scanner over ``str.find`` rather than one regular expression: an unterminated comment,
    CDATA section or tag ends the scan, so no input costs more than one pass.
    """
    document = _Element("#document", [])
    stack = [document]
    elements = position = 0
    while position < len(text):
        start = text.find("<", position)
        chunk = text[position:] if start < 0 else text[position:start]
        if chunk.strip():
            if stack[-1] is document:
                return None  # text outside the root: not an XML document
            stack[-1].text.append(html.unescape(chunk))
        if start < 0:
            break
        if text.startswith("<![CDATA[", start):
            end = text.find("]]>", start + 9)
            if end < 0:
                break
            stack[-1].text.append(text[start + 9 : end])
            position = end + 3
            continue
        closer = "-->" if text.startswith("<!--", start) else ">"
        if text.startswith("<!DOCTYPE", start) and "[" in text[start : text.find(">", start)]:
            closer = "]>"  # an internal subset: entity declarations, never expanded
        end = text.find(closer, start + 1)
        if end < 0:
            break
        position = end + len(closer)
        tag = text[start + 1 : end]
        if tag[:1] in ("!", "?") or closer == "-->":
            continue  # comment, declaration, processing instruction
        if tag.startswith("/"):
            _close(stack, tag)
            continue
        name = _TAG_NAME.match(tag)
        if name is None:
            continue
        elements += 1
        if elements > _MAX_ELEMENTS:
            break
        raw_attrs = tag[name.end() :]
        attrs = [(m[1], html.unescape(m[2] or m[3])) for m in _ATTR.finditer(raw_attrs)]
        element = _Element(name.group(1), attrs)
        stack[-1].children.append(element)
        if not tag.rstrip().endswith("/"):
            stack.append(element)
    if len(document.children) != 1:
        return None
    return document.children[0]


def _close(stack: list[_Element], tag: str) -> None:
    name = tag[1:].strip()
    for depth in range(len(stack) - 1, 0, -1):  # tolerate unclosed children
        if stack[depth].tag == name:
            del stack[depth:]
            return
