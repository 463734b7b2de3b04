"""The data: the shipped held-out set is what the versioned generator writes, its split is
disjoint from training, and gold spans stay aligned to tokens under noise."""

from __future__ import annotations

from pathlib import Path

import pytest
from challenge_09_document_entity_extraction import generator
from challenge_09_document_entity_extraction.records import LABELS, tokenize


def test_shipped_heldout_set_is_current(tmp_path: Path) -> None:
    fresh = generator.write_heldout(tmp_path / "heldout.jsonl")
    shipped = generator.heldout_path()
    assert fresh.read_bytes() == shipped.read_bytes(), (
        "data/heldout_v*.jsonl differs from what the generator writes: bump GENERATOR_VERSION "
        "and run `python -m challenge_09_document_entity_extraction.generator`"
    )
    assert shipped.stat().st_size < 1_000_000


def test_heldout_split_is_disjoint_from_training() -> None:
    docs = generator.load_heldout()
    assert {d.noise for d in docs} == set(generator.NOISE_LEVELS)
    assert {d.layout for d in docs} == set(generator.HELDOUT_LAYOUTS)
    assert not set(generator.HELDOUT_LAYOUTS) & set(generator.TRAIN_LAYOUTS)
    assert {d.locale for d in docs} & set(generator.HELDOUT_LOCALES)
    train = generator.generate("train", 30, seed=0)
    assert {d.layout for d in train} <= set(generator.TRAIN_LAYOUTS)
    assert {d.locale for d in train} <= set(generator.TRAIN_LOCALES)


@pytest.mark.parametrize("noise", generator.NOISE_LEVELS)
def test_gold_spans_align_with_tokens(noise: int) -> None:
    for layout in generator.LAYOUTS:
        doc = generator.make_document(3, layout=layout, locale="fr_FR", noise=noise)
        starts = {t.start for t in tokenize(doc.text)}
        ends = {t.end for t in tokenize(doc.text)}
        for span in doc.spans:
            assert span.label in LABELS
            assert span.start in starts, (layout, span)
            assert span.end in ends, (layout, span)
        assert doc == generator.make_document(3, layout=layout, locale="fr_FR", noise=noise)


def test_generator_rejects_unknown_names() -> None:
    with pytest.raises(ValueError, match="layout"):
        generator.make_document(0, layout="poster", locale="en_US", noise=0)
    with pytest.raises(ValueError, match="locale"):
        generator.make_document(0, layout="letter", locale="xx_XX", noise=0)
    with pytest.raises(ValueError, match="noise"):
        generator.make_document(0, layout="letter", locale="en_US", noise=9)
    with pytest.raises(ValueError, match="split"):
        generator.generate("test", 1)
