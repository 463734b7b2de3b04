"""Shared fixtures: a small real corpus (torch.nn.functional's docstrings). Most tests count
tokens with ``str.split``: one token per whitespace-separated word."""

from __future__ import annotations

import pytest
from challenge_08_rag.corpus import extract
from challenge_08_rag.records import Document


@pytest.fixture(scope="session")
def functional_docs() -> list[Document]:
    """The docstrings of torch.nn.functional: about a hundred real documents."""
    return extract(("torch.nn.functional",))
