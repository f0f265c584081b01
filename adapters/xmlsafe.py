"""Hostile-XML-proof parsing shared by every XML adapter (C-CDA, SIF, Ed-Fi XML).

Refuses DTDs that declare entities (billion laughs, XXE), never loads external resources,
and refuses inputs over a size limit before reading them, so a 100 MB upload costs nothing.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterator, Union

from lxml import etree

from .base import InputRefused

DEFAULT_MAX_BYTES = int(os.environ.get("HEP_MAX_XML_BYTES", 50 * 1024 * 1024))
_DOCTYPE = re.compile(rb"<!DOCTYPE", re.IGNORECASE)
_ENTITY = re.compile(rb"<!ENTITY", re.IGNORECASE)


def _parser(**kw) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
        **kw,
    )


def local(tag) -> str:
    """An element's name without its namespace ("" for comments and processing instructions)."""
    if not isinstance(tag, str):
        return ""
    i = tag.rfind("}")
    return tag[i + 1:] if i >= 0 else tag


def check_prolog(head: bytes, name: str) -> None:
    """Refuse entity declarations and DOCTYPEs: none of our formats use them."""
    if _ENTITY.search(head):
        raise InputRefused(f"{name}: XML entity declarations are refused (entity expansion / XXE)")
    if _DOCTYPE.search(head):
        raise InputRefused(f"{name}: XML DOCTYPE declarations are refused")


def parse_bytes(data: bytes, name: str, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    if len(data) > max_bytes:
        raise InputRefused(f"{name}: {len(data):,} bytes is over the {max_bytes:,}-byte limit for one XML document")
    check_prolog(data, name)
    try:
        return etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as e:
        raise InputRefused(f"{name}: not well-formed XML at line {e.lineno}: {e.msg}") from None


def parse_file(path: Union[str, Path], max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    path = Path(path)
    size = path.stat().st_size
    if size > max_bytes:
        raise InputRefused(f"{path.name}: {size:,} bytes is over the {max_bytes:,}-byte limit for one XML document")
    return parse_bytes(path.read_bytes(), path.name, max_bytes)


def iterparse_file(path: Union[str, Path], tags, max_bytes: int | None = None) -> Iterator[etree._Element]:
    """Stream elements with the given (namespaced) tags from a large XML file, clearing as we go.

    For interchange files that can be large (SIF, Ed-Fi XML). Elements are yielded at their end
    event; callers must not keep references after the next iteration.
    """
    path = Path(path)
    if max_bytes is not None and path.stat().st_size > max_bytes:
        raise InputRefused(f"{path.name}: over the {max_bytes:,}-byte limit")
    with open(path, "rb") as fh:
        head = fh.read(65536)
    check_prolog(head, path.name)
    ctx = etree.iterparse(
        str(path), events=("end",), tag=tags, resolve_entities=False, no_network=True,
        load_dtd=False, huge_tree=False, remove_comments=True,
    )
    try:
        for _, el in ctx:
            yield el
            el.clear(keep_tail=False)
            parent = el.getparent()
            if parent is not None:
                while el.getprevious() is not None:
                    del parent[0]
    except etree.XMLSyntaxError as e:
        raise InputRefused(f"{path.name}: not well-formed XML at line {e.lineno}: {e.msg}") from None
