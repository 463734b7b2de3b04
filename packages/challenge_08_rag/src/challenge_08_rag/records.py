"""The records the retrieval pipeline passes between its stages (given; not a TODO).

A ``Chunk`` is a span of one document; a ``Hit`` is a ranked result (an id and a score); a
``Prompt`` is the cited context sent to a generator; an ``Answer`` is what comes back to the
user; an ``Evaluation`` holds the retrieval metrics of a run.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

# Counts tokens: a chunk or prompt "costs" len(tokenizer(text)) tokens. Whitespace splitting
# (`str.split`) and a WordPiece tokenizer's `tokenize` both fit.
Tokenizer = Callable[[str], Sequence[object]]


@dataclass(frozen=True)
class Chunk:
    """A span of one source document: ``text == document[start:end]``."""

    source: str  # the document's id, e.g. "torch.nn.functional.scaled_dot_product_attention"
    start: int  # character offset of the first character in the document
    end: int  # character offset one past the last character
    text: str  # the span itself

    @property
    def key(self) -> str:
        """A unique name for the span: ``source:start-end``."""
        return f"{self.source}:{self.start}-{self.end}"


@dataclass(frozen=True)
class Hit:
    """One ranked result: the id of a chunk (its position in the indexed list) and its score."""

    id: int
    score: float


@dataclass(frozen=True)
class Prompt:
    """The context handed to a generator: numbered sources, then the question."""

    text: str  # the whole prompt
    sources: tuple[str, ...]  # sources[n - 1] is what citation [n] points at
    chunks: tuple[Chunk, ...]  # the chunks included, in prompt order
    tokens: int  # len(tokenizer(text))


@dataclass(frozen=True)
class Citation:
    """A numbered source an answer rests on."""

    number: int  # the n of "[n]" in the answer's text
    source: str  # the document id


@dataclass(frozen=True)
class Answer:
    """What ``answer`` returns: text with ``[n]`` markers and the sources they point at."""

    question: str
    text: str
    citations: tuple[Citation, ...]
    prompt: Prompt
    abstained: bool = False  # True when the retrieved text did not support an answer

    def render(self) -> str:
        """The answer followed by its numbered sources, for a terminal."""
        lines = [self.text]
        if self.citations:
            lines += ["", "Sources:"]
            lines += [f"  [{c.number}] {c.source}" for c in self.citations]
        return "\n".join(lines)


@dataclass(frozen=True)
class Evaluation:
    """Retrieval metrics at one cutoff ``k``: per query and their mean over queries."""

    k: int
    per_query: dict[str, dict[str, float]] = field(default_factory=dict)  # qid -> name -> value
    mean: dict[str, float] = field(default_factory=dict)  # "recall@k", "mrr@k", "ndcg@k"


@dataclass(frozen=True)
class Document:
    """One page of the corpus: an API object's docstring, or a Markdown file."""

    id: str  # e.g. "torch.nn.functional.scaled_dot_product_attention", "docs/contributing.md"
    text: str
