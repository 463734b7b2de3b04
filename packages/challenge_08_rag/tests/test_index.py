"""Task 3: the exact index equals faiss IndexFlatIP; HNSW finds most true neighbours."""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import faiss
import numpy as np
import numpy.typing as npt
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from prep.testing import assert_close

faiss.omp_set_num_threads(1)  # steady on a shared CPU; results do not depend on it


def _data(n: int, dim: int, seed: int) -> npt.NDArray[np.float32]:
    # Deliberately not unit length, with norms from 0.1 to 10: cosine must normalise.
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x * rng.uniform(0.1, 10.0, (n, 1)).astype(np.float32)


def _faiss_flat(
    x: npt.NDArray[np.float32], q: npt.NDArray[np.float32], k: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]:
    index = faiss.IndexFlatIP(x.shape[1])
    index.add(x / np.linalg.norm(x, axis=1, keepdims=True))
    scores, rows = index.search(q / np.linalg.norm(q, axis=1, keepdims=True), k)
    return scores, rows


@pytest.mark.task(3)
@settings(max_examples=15, deadline=None)
@given(
    n=st.integers(1, 300),
    dim=st.integers(1, 48),
    q=st.integers(1, 5),
    seed=st.integers(0, 99),
    data=st.data(),
)
def test_exact_search_equals_faiss_flat(
    impl: ModuleType, n: int, dim: int, q: int, seed: int, data: st.DataObject
) -> None:
    k = data.draw(st.integers(1, n))
    x, queries = _data(n, dim, seed), _data(q, dim, seed + 1)
    ids = np.arange(n) * 7 + 3  # caller-chosen ids, not row numbers
    index = impl.VectorIndex(dim)
    index.add(ids, x)
    scores, got = index.search(queries, k)
    want_scores, rows = _faiss_flat(x, queries, k)
    assert scores.shape == got.shape == (q, k)
    assert got.dtype == torch.int64
    assert_close(scores, want_scores, atol=1e-5, rtol=0, task=3, what="cosine scores")
    # Ids must match wherever the score order is unambiguous (ties may list either id).
    gaps = np.abs(np.diff(want_scores, axis=1, prepend=np.inf, append=-np.inf))
    clear = (gaps[:, :-1] > 1e-4) & (gaps[:, 1:] > 1e-4)
    assert (got.numpy()[clear] == ids[rows][clear]).all(), "ids differ from faiss IndexFlatIP"


@pytest.mark.task(3)
def test_search_spans_many_row_blocks(impl: ModuleType) -> None:
    x, queries = _data(70_000, 8, 0), _data(3, 8, 1)  # more rows than one scoring block
    index = impl.VectorIndex(8)
    index.add(np.arange(70_000), x)
    scores, ids = index.search(torch.from_numpy(queries), 5)
    want_scores, rows = _faiss_flat(x, queries, 5)
    assert_close(scores, want_scores, atol=1e-5, rtol=0, task=3, what="cosine scores")
    assert (ids.numpy() == rows).all()


@pytest.mark.task(3)
def test_remove_then_search(impl: ModuleType) -> None:
    x, q = _data(50, 16, 2), _data(1, 16, 3)
    index = impl.VectorIndex(16)
    index.add(list(range(50)), x)
    _, ids = index.search(q, 50)
    best = int(ids[0, 0])
    assert index.remove([best, 999]) == 1
    assert len(index) == 49
    _, after = index.search(q, 49)
    assert best not in after[0].tolist()
    assert after[0].tolist() == [i for i in ids[0].tolist() if i != best]
    index.add([best], x[best])  # an id can come back after removal
    assert int(index.search(q, 1)[1][0, 0]) == best


@pytest.mark.task(3)
def test_save_load_round_trip(impl: ModuleType, tmp_path: Path) -> None:
    x, q = _data(40, 12, 4), _data(2, 12, 5)
    index = impl.VectorIndex(12)
    index.add(np.arange(40) + 100, x)
    index.save(tmp_path / "index.npz")
    loaded = impl.VectorIndex.load(tmp_path / "index.npz")
    assert len(loaded) == 40
    assert loaded.dim == 12
    for a, b in zip(index.search(q, 7), loaded.search(q, 7), strict=True):
        assert_close(a, b, atol=0, rtol=0, task=3, what="search after load")


@pytest.mark.task(3)
@pytest.mark.parametrize("damage", ["truncate", "flip", "garbage", "empty"])
def test_corrupt_file_is_a_clear_error(impl: ModuleType, tmp_path: Path, damage: str) -> None:
    path = tmp_path / "index.npz"
    index = impl.VectorIndex(4)
    index.add([1, 2, 3], _data(3, 4, 6))
    index.save(path)
    raw = bytearray(path.read_bytes())
    if damage == "truncate":
        raw = raw[: len(raw) // 2]
    elif damage == "flip":  # one bit inside the stored vectors: only a checksum notices
        raw[raw.index(b"vectors.npy") + 200] ^= 0x01
    elif damage == "garbage":
        raw = bytearray(b"not an index at all" * 10)
    else:
        raw = bytearray()
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="corrupt"):
        impl.VectorIndex.load(path)
    with pytest.raises(FileNotFoundError):
        impl.VectorIndex.load(tmp_path / "missing.npz")


@pytest.mark.task(3)
def test_bad_input(impl: ModuleType) -> None:
    index = impl.VectorIndex(4)
    with pytest.raises(ValueError, match="empty"):
        index.search(np.ones(4, dtype=np.float32), 1)
    index.add([0, 1], np.eye(2, 4, dtype=np.float32))
    with pytest.raises(ValueError, match="k=3"):
        index.search(np.ones(4, dtype=np.float32), 3)
    with pytest.raises(ValueError, match="k"):
        index.search(np.ones(4, dtype=np.float32), 0)
    with pytest.raises(ValueError, match="queries"):
        index.search(np.ones(5, dtype=np.float32), 1)
    with pytest.raises(ValueError, match="vectors"):
        index.add([2], np.ones((1, 3), dtype=np.float32))
    with pytest.raises(ValueError, match="zero vector"):
        index.add([2], np.zeros((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="ids"):
        index.add([1], np.ones((1, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="ids"):
        index.add([5, 5], np.ones((2, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="dim"):
        impl.VectorIndex(0)


def _clustered(n: int, dim: int, seed: int) -> npt.NDArray[np.float32]:
    """Points around 50 centres: structured like real embeddings (random points in high
    dimension are a worst case no graph index is used for)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((50, dim))
    x = centres[rng.integers(0, 50, n)] + 0.3 * rng.standard_normal((n, dim))
    return x.astype(np.float32)


@pytest.mark.task(3)
def test_hnsw_recall_against_exact(impl: ModuleType) -> None:
    x, q = _clustered(3000, 32, 0), _clustered(50, 32, 1)
    exact = impl.VectorIndex(32)
    exact.add(np.arange(3000), x)
    hnsw = impl.HNSWIndex(32, m=16, ef_construction=100, ef_search=16)
    hnsw.add(np.arange(3000), x)
    assert len(hnsw) == 3000
    assert hnsw.ef_search == 16
    truth = exact.search(q, 10)[1].numpy()

    def recall() -> float:
        found = hnsw.search(q, 10)[1].numpy()
        return float(
            np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found, truth, strict=True)])
        )

    low = recall()
    hnsw.ef_search = 128
    high = recall()
    assert high >= 0.95, f"recall@10 {high:.3f} at ef_search=128"
    assert high >= low, "a larger ef_search must not lose recall here"
    scores, ids = hnsw.search(q[:1], 3)
    assert scores.dtype == torch.float32
    assert ids.dtype == torch.int64
    with pytest.raises(ValueError, match="ef_search"):
        hnsw.ef_search = 0
    with pytest.raises(ValueError, match="ids already in the index"):
        hnsw.add([5], x[:1])
