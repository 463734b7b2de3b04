"""Shared fixtures: the held-out test set shipped with the package, one noise level at a time."""

from __future__ import annotations

import pytest
from challenge_09_document_entity_extraction.generator import load_heldout
from challenge_09_document_entity_extraction.records import Document


@pytest.fixture(scope="session")
def heldout_clean() -> list[Document]:
    """Held-out layouts, no noise."""
    return load_heldout(noise=0)


@pytest.fixture(scope="session")
def heldout_medium() -> list[Document]:
    """Held-out layouts at the medium noise level (3% of characters touched)."""
    return load_heldout(noise=2)
