"""Known wrong: BIO decoding that only looks at the label, so a B-X right after an X entity
continues it: two adjacent entities of one type (two quantities, two addresses) merge."""

from __future__ import annotations

from collections.abc import Sequence

from challenge_09_document_entity_extraction.records import Span, Token

from prep.impl import patched


def _merging_decode(tokens: Sequence[Token], tags: Sequence[str]) -> list[Span]:
    if len(tokens) != len(tags):
        raise ValueError(f"tokens and tags differ in length: {len(tokens)} != {len(tags)}")
    spans: list[Span] = []
    previous = "O"
    for token, tag in zip(tokens, tags, strict=True):
        if tag != "O" and (len(tag) < 3 or tag[:2] not in ("B-", "I-")):
            raise ValueError(f"tags must be 'O', 'B-<LABEL>' or 'I-<LABEL>', got {tag!r}")
        if tag != "O" and previous != "O" and previous[2:] == tag[2:]:
            spans[-1] = Span(spans[-1].start, token.end, tag[2:])  # the bug: B- does not split
        elif tag != "O":
            spans.append(Span(token.start, token.end, tag[2:]))
        previous = tag
    return spans


IMPLEMENTATION = patched(
    "challenge_09_document_entity_extraction.solution", decode_bio=_merging_decode
)


TASK = 3  # whose tests reject it: `prep verify` runs them first
