"""Challenge 09 - the solution: rules, then a learned token tagger, then cross-field checks.

What is special here: the normalisers and ``rule_spans`` are the baseline's (task 1 and 2 are
the same work); ``extract`` feeds the rules' labels to a logistic-regression BIO tagger as
features beside the words, their shapes and their line context, so the tagger learns when to
trust a rule and when the layout or OCR noise broke it; its tags are decoded to spans, and
``validate`` checks line items against the subtotal, subtotal + tax against the total and the
due date against the date the document was issued, repairing what one other field settles
and flagging the rest.
``evaluate`` matches spans as nervaluate does, in one pass per document and label.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import re
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import numpy as np

from challenge_09_document_entity_extraction.baseline import (
    assemble,
    check_document,
    normalize_amount,
    normalize_date,
    normalize_email,
    normalize_phone,
    rule_spans,
)
from challenge_09_document_entity_extraction.records import (
    Document,
    Evaluation,
    Extraction,
    Scores,
    Span,
    Token,
    tokenize,
)

__all__ = [
    "TokenTagger",
    "decode_bio",
    "evaluate",
    "extract",
    "normalize_amount",
    "normalize_date",
    "normalize_email",
    "normalize_phone",
    "rule_spans",
    "validate",
]

TRAIN_DOCUMENTS = 105  # 15 per training layout: the tagger trains in a few seconds
TRAIN_SEED = 1


# ----------------------------------------------------------------------------- task 3


def decode_bio(tokens: Sequence[Token], tags: Sequence[str]) -> list[Span]:
    """See the starter for the contract."""
    if len(tokens) != len(tags):
        raise ValueError(f"tokens and tags differ in length: {len(tokens)} != {len(tags)}")
    spans: list[Span] = []
    label: str | None = None
    start = end = 0
    for token, tag in zip(tokens, tags, strict=True):
        if tag != "O" and (len(tag) < 3 or tag[:2] not in ("B-", "I-")):
            raise ValueError(f"tags must be 'O', 'B-<LABEL>' or 'I-<LABEL>', got {tag!r}")
        if tag.startswith("I-") and tag[2:] == label:
            end = token.end  # continues the open entity
            continue
        if label is not None:
            spans.append(Span(start, end, label))
        label = None if tag == "O" else tag[2:]  # B-, or an I- that opens a new entity
        start, end = token.start, token.end
    if label is not None:
        spans.append(Span(start, end, label))
    return spans


@functools.lru_cache(maxsize=65536)
def _shape(word: str) -> str:
    """'Acme' -> 'Xx', '2026' -> 'd', 'INV' -> 'X', '1,234' is split by the tokenizer."""
    out: list[str] = []
    for c in word:
        kind = "d" if c.isdigit() else "X" if c.isupper() else "x" if c.isalpha() else c
        if not out or out[-1] != kind:
            out.append(kind)
    return "".join(out)[:6]


def _bio_of(tokens: Sequence[Token], spans: Sequence[Span]) -> list[str]:
    """The BIO tag of every token under ``spans`` (a token in no span is ``O``)."""
    tags = ["O"] * len(tokens)
    k = 0
    for span in sorted(spans):
        while k < len(tokens) and tokens[k].end <= span.start:
            k += 1
        first = True
        j = k
        while j < len(tokens) and tokens[j].start < span.end:
            tags[j] = f"{'B' if first else 'I'}-{span.label}"
            first = False
            j += 1
    return tags


def _line_keys(text: str, tokens: Sequence[Token]) -> list[tuple[str, str, str]]:
    """Per token: the line's first word, the last word before a separator on the line before
    the token (its key), and the first word of the line above (a key written above)."""
    out = []
    line_start = -1
    first = key = above = above_next = last_word = ""
    for token in tokens:
        start = text.rfind("\n", 0, token.start) + 1
        if start != line_start:
            line_start = start
            above = above_next
            first = key = ""
        word = text[token.start : token.end]
        if word.isalpha() and not first:
            first = above_next = word.lower()
        out.append((first, key, above))
        if word.isalpha():
            last_word = word.lower()
        if word in ":;|" or (word == "." and text[token.end : token.end + 1] == "."):
            key = last_word
    return out


def _features(text: str, tokens: Sequence[Token], rules: Sequence[Span]) -> list[list[str]]:
    """One list of ``name=value`` features per token: the word, its shape, its neighbours,
    its line context and the label the rules gave it."""
    words = [text[t.start : t.end] for t in tokens]
    lower = [w.lower() for w in words]
    shapes = [_shape(w) for w in words]
    tags = _bio_of(tokens, rules)
    lines = _line_keys(text, tokens)
    n = len(tokens)
    padded_w = ["<pad>", "<pad>", *lower, "<pad>", "<pad>"]
    padded_s = ["<pad>", "<pad>", *shapes, "<pad>", "<pad>"]
    feats = []
    for i in range(n):
        first, key, above = lines[i]
        gap = text[tokens[i - 1].end : tokens[i].start] if i else "<s>"
        feats.append(
            [
                f"w={lower[i]}",
                f"shape={shapes[i]}",
                f"suffix={lower[i][-3:]}",
                f"rule={tags[i]}",
                f"rule-1={tags[i - 1] if i else '<s>'}",
                f"rule+1={tags[i + 1] if i + 1 < n else '</s>'}",
                f"line={first}",
                f"key={key}",
                f"above={above}",
                f"len={min(len(words[i]), 8)}",
                f"gap={gap}",
                f"w-2={padded_w[i]}",
                f"w-1={padded_w[i + 1]}",
                f"w+1={padded_w[i + 3]}",
                f"w+2={padded_w[i + 4]}",
                f"shape-2={padded_s[i]}",
                f"shape-1={padded_s[i + 1]}",
                f"shape+1={padded_s[i + 3]}",
                f"shape+2={padded_s[i + 4]}",
            ]
        )
    return feats


def _int32(matrix: Any) -> Any:
    """scikit-learn's SGD wants 32-bit sparse indices; the hasher may give 64-bit ones."""
    matrix.indices = matrix.indices.astype(np.int32)
    matrix.indptr = matrix.indptr.astype(np.int32)
    return matrix


class TokenTagger:
    """A BIO token tagger: ``name=value`` features hashed into 2^17 columns, then one-vs-rest
    logistic regression trained by SGD (``SGDClassifier(loss="log_loss")``: seconds on twenty
    thousand tokens, where lbfgs on the full multinomial problem takes a minute). Hashing
    needs no vocabulary and runs in C, where a DictVectorizer's Python loop was half the
    inference time."""

    def __init__(self, alpha: float = 1e-4, epochs: int = 8) -> None:
        from sklearn.feature_extraction import FeatureHasher
        from sklearn.linear_model import SGDClassifier

        if alpha <= 0:
            raise ValueError(f"alpha must be > 0, got {alpha!r}")
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs!r}")
        self.hasher = FeatureHasher(n_features=2**17, input_type="string", alternate_sign=False)
        self.model = SGDClassifier(
            loss="log_loss", alpha=alpha, max_iter=epochs, tol=None, random_state=0
        )
        self.fitted = False

    def fit(self, documents: Sequence[Document]) -> TokenTagger:
        """See the starter for the contract."""
        if not documents:
            raise ValueError("documents is empty: give at least one training document")
        rows: list[list[str]] = []
        tags: list[str] = []
        for doc in documents:
            tokens = tokenize(doc.text)
            rows += _features(doc.text, tokens, rule_spans(doc.text))
            tags += _bio_of(tokens, doc.spans)
        self.model.fit(_int32(self.hasher.transform(rows)), tags)
        # (features, classes), C order: scikit-learn's predict copies coef_.T on every call
        self.weights = np.ascontiguousarray(self.model.coef_.T)
        self.fitted = True
        return self

    def predict(self, text: str) -> list[str]:
        """See the starter for the contract."""
        return self._predict(text, tokenize(text), rule_spans(text))

    def _predict(self, text: str, tokens: Sequence[Token], rules: Sequence[Span]) -> list[str]:
        """``predict`` with the tokens and rule spans the caller already has."""
        if not self.fitted:
            raise RuntimeError("the tagger is not trained: call fit(documents) first")
        if not tokens:
            return []
        x = self.hasher.transform(_features(text, tokens, rules))  # (tokens, 2^17) sparse
        scores = x @ self.weights + self.model.intercept_  # (tokens, classes)
        return [str(self.model.classes_[k]) for k in np.argmax(scores, axis=1)]


@functools.cache
def _default_tagger() -> TokenTagger:
    from challenge_09_document_entity_extraction.generator import generate

    return TokenTagger().fit(generate("train", TRAIN_DOCUMENTS, seed=TRAIN_SEED))


def _amount(extraction: Extraction, label: str) -> Decimal | None:
    value = extraction.values.get(label)
    return Decimal(value) if value is not None else None


def _item_totals(extraction: Extraction) -> list[Decimal] | None:
    """The line items' totals, or None when any is missing or unreadable."""
    totals = []
    for item in extraction.line_items:
        if item.total is None:
            return None
        try:
            totals.append(
                normalize_amount(extraction.text[item.total.start : item.total.end]).value
            )
        except ValueError:
            return None
    return totals or None


def validate(extraction: Extraction) -> Extraction:
    """See the starter for the contract."""
    out = dataclasses.replace(
        extraction, values=dict(extraction.values), flags=list(extraction.flags)
    )
    items = _item_totals(out)
    sub, tax, total = (_amount(out, k) for k in ("SUBTOTAL", "TAX", "TOTAL"))
    if items is not None and sum(items) != sub:
        if sub is None or (tax is not None and total is not None and sum(items) + tax == total):
            sub = sum(items, Decimal(0))  # the items and the total agree: the subtotal is wrong
            out.values["SUBTOTAL"] = str(sub)
        else:
            out.flags.append("line items do not sum to the subtotal")
    known = [x is not None for x in (sub, tax, total)]
    if sum(known) == 2:  # one missing: the other two settle it
        if total is None and sub is not None and tax is not None:
            out.values["TOTAL"] = str(sub + tax)
        elif tax is None and sub is not None and total is not None:
            out.values["TAX"] = str(total - sub)
        elif sub is None and tax is not None and total is not None:
            out.values["SUBTOTAL"] = str(total - tax)
    elif all(known) and sub is not None and tax is not None and sub + tax != total:
        out.flags.append("total != subtotal + tax")
    issue, due = out.values.get("ISSUE_DATE"), out.values.get("DUE_DATE")
    if issue and due and due < issue:
        swapped = _swap_day_month(issue), _swap_day_month(due)
        if None not in swapped and swapped[1] >= swapped[0]:  # type: ignore[operator]
            out.values["ISSUE_DATE"], out.values["DUE_DATE"] = swapped  # type: ignore[assignment]
        else:
            out.flags.append("due date before issue date")
    return out


def _swap_day_month(iso: str) -> str | None:
    """The date with day and month exchanged (the other reading of 04/03), if it exists."""
    day = dt.date.fromisoformat(iso)
    try:
        return dt.date(day.year, day.day, day.month).isoformat()
    except ValueError:
        return None


def extract(text: str) -> Extraction:
    """See the starter for the contract."""
    text = check_document(text)
    tokens = tokenize(text)
    if not tokens:
        return Extraction(text=text)
    rules = rule_spans(text)
    tagged = _trim(text, decode_bio(tokens, _default_tagger()._predict(text, tokens, rules)))
    return validate(assemble(text, _merge(text, rules, tagged)))


SINGLE_VALUED = ("DOC_NUMBER", "ISSUE_DATE", "DUE_DATE", "SELLER", "BUYER", "CURRENCY",
                 "SUBTOTAL", "TAX", "TOTAL")  # fmt: skip


def _plausible(text: str, span: Span) -> bool:
    """A tagged span whose surface cannot be its type is dropped: dates and amounts must
    normalise, an email needs an @, a phone seven digits, an address a house number."""
    surface = text[span.start : span.end]
    checks: dict[str, Callable[[str], object]] = {
        "ISSUE_DATE": normalize_date,
        "DUE_DATE": normalize_date,
        "SUBTOTAL": normalize_amount,
        "TAX": normalize_amount,
        "TOTAL": normalize_amount,
        "ITEM_PRICE": normalize_amount,
        "ITEM_TOTAL": normalize_amount,
    }
    if span.label in checks:
        try:
            checks[span.label](surface)
        except ValueError:
            return False
        return True
    if span.label == "EMAIL":
        return "@" in surface
    if span.label == "PHONE":
        return sum(c.isdigit() for c in surface) >= 7
    if span.label in ("ADDRESS", "ITEM_QTY"):
        return any(c.isdigit() for c in surface)
    return True


def _merge(text: str, rules: list[Span], tagged: list[Span]) -> list[Span]:
    """The rules' spans, plus the tagger's where the rules found nothing. A rule that fires is
    precise; the tagger recovers what layout or noise hid from it. So a tagged span is added
    only for a single-valued label the rules did not find, or, for the others (addresses,
    contacts, line items), on a line where no rule fired."""
    found = {s.label for s in rules if s.label in SINGLE_VALUED}
    ruled_lines = {text.count("\n", 0, s.start) for s in rules}
    item_labels: dict[int, set[str]] = {}
    for span in tagged:
        if span.label.startswith("ITEM_"):
            item_labels.setdefault(text.count("\n", 0, span.start), set()).add(span.label)
    out = list(rules)
    for span in tagged:
        if span.label in found or not _plausible(text, span):
            continue
        if span.label.startswith("ITEM_") and len(item_labels[text.count("\n", 0, span.start)]) < 3:
            continue  # a line item is a row of (most of) its four parts
        if span.label not in SINGLE_VALUED and text.count("\n", 0, span.start) in ruled_lines:
            continue
        if any(span.start < r.end and r.start < span.end for r in out):
            continue
        out.append(span)
        if span.label in SINGLE_VALUED:
            found.add(span.label)
    return sorted(out)


# Characters a tagged span of these labels may be widened over: a tagger often stops inside an
# OCR-damaged number ("1.656" and "3S" for "1.656,3S"); the whole run is the value.
_WIDEN = {
    "SUBTOTAL": r"[\dOlIS.,'\u2019\u202f]",
    "TAX": r"[\dOlIS.,'\u2019\u202f]",
    "TOTAL": r"[\dOlIS.,'\u2019\u202f]",
    "ITEM_PRICE": r"[\dOlIS.,'\u2019\u202f]",
    "ITEM_TOTAL": r"[\dOlIS.,'\u2019\u202f]",
    "DOC_NUMBER": r"[\w/-]",
    "PHONE": r"[\dOlIS()+-]|[ ](?=[\dOlIS(])",
}
_EDGE = re.compile(r"^[\s'`~·|,;:]+|[\s'`~·|,;:]+$|\s+\.$")


def _trim(text: str, spans: list[Span]) -> list[Span]:
    """Tagged spans cleaned at their edges: stray marks and separators dropped ("Acme Ltd,",
    "Widget  ~"), numbers, ids and phones widened to the whole run of their characters.
    Spans that come out identical or overlapping an earlier one are dropped."""
    out: list[Span] = []
    for span in spans:
        start, end = span.start, span.end
        allowed = _WIDEN.get(span.label)
        if allowed is not None:
            while start > 0 and re.match(allowed, text[start - 1]) and text[start - 1] != " ":
                start -= 1
            while end < len(text) and re.match(allowed, text[end : end + 2]):
                end += 1
        surface = text[start:end]
        while True:
            cleaned = _EDGE.sub("", surface)
            if cleaned == surface:
                break
            surface = cleaned
        if not surface:
            continue
        start += text[start:end].index(surface)
        widened = Span(start, start + len(surface), span.label)
        if not out or widened.start >= out[-1].end:
            out.append(widened)
    return out


# ----------------------------------------------------------------------------- task 4


def _overlaps(a: Span, b: Span) -> bool:
    """nervaluate's test: an overlap of at least 1% of the gold span ``b``."""
    overlap = min(a.end, b.end) - max(a.start, b.start)
    return overlap > 0 and 100 * overlap >= (b.end - b.start)


def _match(predicted: Sequence[Span], gold: Sequence[Span], exact: bool) -> int:
    """Matches of one label in one document, predictions taken in order (nervaluate's
    ``strict`` and ``ent_type`` schemes): exact mode takes the first unmatched gold span with
    the same boundaries, and a prediction that only overlaps one still uses it up; partial
    mode takes the overlapping unmatched gold span with the closest boundaries."""
    used: set[int] = set()
    correct = 0
    for p in predicted:
        best: int | None = None
        best_distance = 0
        overlapping: int | None = None
        for j, g in enumerate(gold):
            if j in used:
                continue
            if exact:
                if (p.start, p.end) == (g.start, g.end):
                    best = j
                    break
                if overlapping is None and _overlaps(p, g):
                    overlapping = j
            elif _overlaps(p, g):
                distance = abs(p.start - g.start) + abs(p.end - g.end)
                if best is None or distance < best_distance:
                    best, best_distance = j, distance
        if best is not None:
            used.add(best)
            correct += 1
        elif overlapping is not None:
            used.add(overlapping)
    return correct


def _scores(correct: int, predicted: int, gold: int) -> Scores:
    precision = correct / predicted if predicted else 0.0
    recall = correct / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(correct, predicted, gold, precision, recall, f1)


def _check_spans(value: object, name: str) -> list[list[Span]]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        raise TypeError(f"{name} must be a sequence of documents' span lists")
    docs = []
    for k, spans in enumerate(value):
        if not isinstance(spans, Sequence) or not all(isinstance(s, Span) for s in spans):
            raise TypeError(f"{name}[{k}] must be a sequence of Span")
        for s in spans:
            if not 0 <= s.start < s.end:
                raise ValueError(f"{name}[{k}] holds an empty or negative span {s}")
        docs.append(list(spans))
    return docs


def evaluate(predicted: Sequence[Sequence[Span]], gold: Sequence[Sequence[Span]]) -> Evaluation:
    """See the starter for the contract."""
    pred_docs, gold_docs = _check_spans(predicted, "predicted"), _check_spans(gold, "gold")
    if len(pred_docs) != len(gold_docs):
        raise ValueError(
            f"predicted and gold differ in length: {len(pred_docs)} != {len(gold_docs)} documents"
        )
    labels = sorted({s.label for doc in pred_docs + gold_docs for s in doc})
    counts = {mode: {label: [0, 0, 0] for label in labels} for mode in ("exact", "partial")}
    for p_doc, g_doc in zip(pred_docs, gold_docs, strict=True):
        for label in labels:
            p = [s for s in p_doc if s.label == label]
            g = [s for s in g_doc if s.label == label]
            for mode in ("exact", "partial"):
                tally = counts[mode][label]
                tally[0] += _match(p, g, exact=mode == "exact")
                tally[1] += len(p)
                tally[2] += len(g)
    per = {m: {lab: _scores(*c) for lab, c in counts[m].items()} for m in counts}
    micro = {m: _scores(*(sum(c[k] for c in counts[m].values()) for k in range(3))) for m in counts}
    macro = {m: sum(s.f1 for s in per[m].values()) / len(labels) if labels else 0.0 for m in per}
    return Evaluation(
        exact=per["exact"],
        partial=per["partial"],
        micro_exact=micro["exact"],
        micro_partial=micro["partial"],
        macro_exact_f1=macro["exact"],
        macro_partial_f1=macro["partial"],
    )
