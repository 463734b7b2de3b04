"""A challenge README's parts, read with markdown-it-py: problem, tasks, hints, follow-ups.

Items come back as their Markdown source (list marker removed, continuation lines dedented), so
a hint's code block or a follow-up's inline code survive for ``rich`` to render.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass

from markdown_it import MarkdownIt

_MARKER = re.compile(r"^\s*(?:\d+[.)]|[-*+])\s+")


def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark")


def sections(text: str) -> dict[str, str]:
    """Each ``## `` heading's title mapped to the Markdown source under it."""
    tokens = _parser().parse(text)
    lines = text.splitlines()
    heads = [
        (t.map[0], tokens[i + 1].content.strip())
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.tag == "h2" and t.map is not None
    ]
    found: dict[str, str] = {}
    for k, (start, title) in enumerate(heads):
        end = heads[k + 1][0] if k + 1 < len(heads) else len(lines)
        found.setdefault(title, "\n".join(lines[start + 1 : end]).strip("\n"))
    return found


def headings(text: str) -> list[tuple[int, str, int]]:
    """Every heading as (level, title, line number), code blocks ignored."""
    tokens = _parser().parse(text)
    return [
        (int(t.tag[1:]), tokens[i + 1].content.strip(), t.map[0])
        for i, t in enumerate(tokens)
        if t.type == "heading_open" and t.map is not None
    ]


def intro(text: str) -> str:
    """The Markdown between the ``# `` title and the first ``## `` heading."""
    lines = text.splitlines()
    marks = headings(text)
    start = next((line + 1 for level, _, line in marks if level == 1), 0)
    end = next((line for level, _, line in marks if level == 2 and line >= start), len(lines))
    return "\n".join(lines[start:end]).strip()


def list_items(body: str, ordered: bool | None = None) -> list[str]:
    """The top-level list items of ``body`` as Markdown (``ordered``: only that kind of list)."""
    tokens = _parser().parse(body)
    lines = body.splitlines()
    items: list[str] = []
    depth = 0
    kind_ok = True
    for token in tokens:
        if token.type in ("ordered_list_open", "bullet_list_open"):
            if depth == 0:
                kind_ok = ordered is None or ordered == (token.type == "ordered_list_open")
            depth += 1
        elif token.type in ("ordered_list_close", "bullet_list_close"):
            depth -= 1
        elif token.type == "list_item_open" and depth == 1 and kind_ok and token.map:
            start, end = token.map
            first, *rest = lines[start:end]
            marker = _MARKER.match(first)
            head = first[marker.end() :] if marker else first.strip()
            tail = textwrap.dedent("\n".join(rest))
            items.append("\n".join([head, tail]).strip() if tail.strip() else head.strip())
    return items


def hints(text: str) -> list[str]:
    """The numbered items of the README's ``## Hints`` section, in order."""
    body = sections(text).get("Hints")
    return list_items(body, ordered=True) if body else []


def tasks(text: str) -> list[str]:
    """The numbered items of ``## Tasks``: task k is ``tasks(text)[k - 1]``."""
    body = sections(text).get("Tasks")
    return list_items(body, ordered=True) if body else []


@dataclass(frozen=True)
class FollowUp:
    """An interview follow-up: the question, then the reference answer."""

    question: str
    answer: str


def follow_ups(text: str) -> list[FollowUp]:
    """``## Interview follow-ups`` items written as ``**Question?** answer``."""
    body = sections(text).get("Interview follow-ups")
    found = []
    for item in list_items(body, ordered=None) if body else []:
        children = _parser().parseInline(item)[0].children or []
        tokens = [t for t in children if t.type != "text" or t.content]
        if len(tokens) < 3 or tokens[0].type != "strong_open":
            continue
        # The Markdown source on each side of the bold, so inline code survives in both.
        _, question, answer = item.split(tokens[0].markup, 2)
        found.append(FollowUp(question.strip(), answer.strip()))
    return found
