"""Solution: production-style attention with static and paged KV-caches, and a fast decoder.

What is special here (the starter's docstrings are the specification):

- ``scaled_dot_product_attention`` builds the right mask and hands the work to torch's fused
  kernels (FlashAttention / memory-efficient / CPU flash), then zeroes fully masked rows.
- ``KVCache`` writes in place into one preallocated buffer (a slice copy when the batch moves in
  step, ``index_copy_`` for the ring buffer); no ``torch.cat`` per step as a dynamic cache does.
- ``paged_attention`` reads every sequence through a padded block-table tensor in one gather and
  one batched attention call, instead of a Python loop over sequences.
- ``generate`` prefills through a static cache, then runs every decode step with static shapes
  (the whole cache, a validity mask, positions held in tensors); on CUDA that step is captured
  once as a CUDA graph and replayed, so a token costs one graph launch instead of ~150 kernel
  launches (gpt-fast's recipe without ``torch.compile``'s minutes of compilation).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn
from torch.nn import functional

from challenge_07_kv_cache_attention import validation as check
from challenge_07_kv_cache_attention.gpt_config import GPTConfig

__all__ = [
    "GPT",
    "KVCache",
    "MultiHeadAttention",
    "PagedKVCache",
    "generate",
    "kv_cache_bytes",
    "paged_attention",
    "scaled_dot_product_attention",
]


# ---------------------------------------------------------------------------------------------
# Task 1: scaled dot-product attention


def _causal_mask(T: int, S: int, device: torch.device) -> Tensor:
    """(T, S) bool: query i is the key at position S - T + i, and sees keys 0 .. S - T + i."""
    return torch.ones(T, S, dtype=torch.bool, device=device).tril(diagonal=S - T)


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(q k^T * scale + mask) v on torch's fused kernels; fully masked rows give 0."""
    check.qkv(q, k, v)
    B, H, T, D = q.shape
    S = k.shape[2]
    scale = check.scale(scale, D)
    mask = check.attn_mask(mask, (B, H, T, S))
    if mask is not None and mask.is_floating_point():
        mask = mask.to(q.dtype)
    if is_causal and T > 1:  # with T == 1 the one query is the last position: it sees every key
        causal = _causal_mask(T, S, q.device)
        if mask is None and T == S:  # the fused kernels' own (top-left = bottom-right) causal mask
            return functional.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
        if mask is None:
            mask = causal
        elif mask.dtype == torch.bool:
            mask = mask & causal
        else:
            mask = mask.masked_fill(~causal, float("-inf"))
        if T > S:  # the first T - S queries come before every key
            return _zero_dead_rows(
                functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale), mask
            )
        if mask is causal:  # causal alone never masks a whole row when T <= S
            return functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    if mask is None:
        return functional.scaled_dot_product_attention(q, k, v, scale=scale)
    out = functional.scaled_dot_product_attention(q, k, v, attn_mask=mask, scale=scale)
    return _zero_dead_rows(out, mask)


def _zero_dead_rows(out: Tensor, mask: Tensor) -> Tensor:
    """Rows whose every key is masked have no softmax; define their output as 0 (not NaN)."""
    dead = (
        ~mask.any(-1, keepdim=True)
        if mask.dtype == torch.bool
        else (mask == float("-inf")).all(-1, keepdim=True)
    )
    return out.masked_fill(dead, 0.0)


# ---------------------------------------------------------------------------------------------
# Task 2: multi-head, grouped-query and multi-query attention


def _repeat_kv(x: Tensor, groups: int) -> Tensor:
    """(B, Hkv, S, D) -> (B, Hkv * groups, S, D): query head h reads kv head h // groups."""
    if groups == 1:
        return x
    B, Hkv, S, D = x.shape
    return x[:, :, None].expand(B, Hkv, groups, S, D).reshape(B, Hkv * groups, S, D)


class MultiHeadAttention(nn.Module):
    """Causal self-attention with ``n_kv_heads`` key/value heads shared by groups of queries."""

    def __init__(
        self, d_model: int, n_heads: int, n_kv_heads: int | None = None, *, bias: bool = True
    ) -> None:
        super().__init__()
        check.positive_int("d_model", d_model)
        check.positive_int("n_heads", n_heads)
        n_kv_heads = n_heads if n_kv_heads is None else check.positive_int("n_kv_heads", n_kv_heads)
        if d_model % n_heads:
            raise ValueError(f"n_heads={n_heads} does not divide d_model={d_model}")
        if n_heads % n_kv_heads:
            raise ValueError(f"n_kv_heads={n_kv_heads} does not divide n_heads={n_heads}")
        self.d_model, self.n_heads, self.n_kv_heads = d_model, n_heads, n_kv_heads
        self.head_dim = d_model // n_heads
        self.q_proj = nn.Linear(d_model, n_heads * self.head_dim, bias=bias)
        self.k_proj = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.v_proj = nn.Linear(d_model, n_kv_heads * self.head_dim, bias=bias)
        self.out_proj = nn.Linear(n_heads * self.head_dim, d_model, bias=bias)

    def forward(
        self,
        x: Tensor,
        *,
        mask: Tensor | None = None,
        cache: Any = None,
        layer: int = 0,
    ) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != self.d_model:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be (B, T, d_model={self.d_model}), got {shape}")
        B, T, _ = x.shape
        H, Hkv, D = self.n_heads, self.n_kv_heads, self.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, Hkv, D).transpose(1, 2)  # (B, Hkv, T, D)
        v = self.v_proj(x).view(B, T, Hkv, D).transpose(1, 2)  # (B, Hkv, T, D)
        if cache is None:
            out = scaled_dot_product_attention(
                q, _repeat_kv(k, H // Hkv), _repeat_kv(v, H // Hkv), mask=mask, is_causal=True
            )
        else:
            step = cache.attention_mask(layer, T)  # (B, 1, T, S): before update moves the lengths
            k_all, v_all = cache.update(layer, k, v)  # (B, Hkv, S, D)
            mask = step if mask is None else mask & step
            out = scaled_dot_product_attention(
                q, _repeat_kv(k_all, H // Hkv), _repeat_kv(v_all, H // Hkv), mask=mask
            )
        out = out.transpose(1, 2).reshape(B, T, H * D)  # (B, T, d_model)
        return self.out_proj(out)  # type: ignore[no-any-return]


# ---------------------------------------------------------------------------------------------
# Task 3: a preallocated static cache (optionally a sliding-window ring buffer)


class KVCache:
    """Keys and values of every layer in one buffer (n_layers, B, Hkv, capacity, D)."""

    def __init__(
        self,
        batch: int,
        n_layers: int,
        n_kv_heads: int,
        max_seq_len: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
        *,
        window: int | None = None,
    ) -> None:
        for name, value in (("batch", batch), ("n_layers", n_layers), ("n_kv_heads", n_kv_heads),
                            ("max_seq_len", max_seq_len), ("head_dim", head_dim)):  # fmt: skip
            check.positive_int(name, value)
        check.float_dtype(dtype)
        if window is not None:
            check.positive_int("window", window)
            if window > max_seq_len:
                raise ValueError(f"window={window} must be <= max_seq_len={max_seq_len}")
        self.batch, self.n_layers, self.n_kv_heads = batch, n_layers, n_kv_heads
        self.max_seq_len, self.head_dim, self.window = max_seq_len, head_dim, window
        self.capacity = max_seq_len if window is None else window
        shape = (n_layers, batch, n_kv_heads, self.capacity, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        # Tokens written per layer and sequence, kept on the host: the write positions and the
        # overflow check never wait for the device.
        self._lengths = [[0] * batch for _ in range(n_layers)]

    @property
    def lengths(self) -> Tensor:
        """(B,) int64: tokens each sequence holds (counted by the last layer)."""
        return torch.tensor(self._lengths[-1], dtype=torch.long)

    def reset(self, rows: list[int] | None = None) -> None:
        """Forget the cached tokens of every sequence, or of ``rows`` only."""
        picked = range(self.batch) if rows is None else rows
        for b in picked:
            if not 0 <= b < self.batch:
                raise ValueError(f"rows holds {b}, outside 0..{self.batch - 1}")
            for lengths in self._lengths:
                lengths[b] = 0

    def memory_bytes(self) -> int:
        """Bytes of the preallocated key and value buffers."""
        return 2 * self.k.numel() * self.k.element_size()

    def _check_layer(self, layer: int) -> None:
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < self.n_layers:
            raise ValueError(f"layer must be an int in 0..{self.n_layers - 1}, got {layer!r}")

    def key_positions(self, layer: int, T: int) -> Tensor:
        """(B, S) int64: the position of each key ``update(layer, <T tokens>)`` returns; -1 for
        a slot that holds nothing."""
        self._check_layer(layer)
        device = self.k.device
        L = torch.tensor(self._lengths[layer], dtype=torch.long, device=device)[:, None]  # (B, 1)
        new = L + torch.arange(T, device=device)  # (B, T)
        if self.window is None:
            S = max(self._lengths[layer]) + T
            slots = torch.arange(S, device=device)[None, :].expand(self.batch, S)  # (B, S)
            return torch.where(slots < L + T, slots, -1)
        W = self.window
        slots = torch.arange(W, device=device)[None, :]  # (1, W)
        ring = L - 1 - torch.remainder(L - 1 - slots, W)  # latest position < L in each slot
        return torch.cat([torch.where(ring >= 0, ring, -1), new], dim=1)  # (B, W + T)

    def attention_mask(self, layer: int, T: int) -> Tensor:
        """(B, 1, T, S) bool: which keys each of the next T queries of every sequence may see."""
        kpos = self.key_positions(layer, T)[:, None, None, :]  # (B, 1, 1, S)
        L = torch.tensor(self._lengths[layer], dtype=torch.long, device=kpos.device)
        qpos = (L[:, None] + torch.arange(T, device=kpos.device))[:, None, :, None]  # (B, 1, T, 1)
        ok = (kpos >= 0) & (kpos <= qpos)
        if self.window is not None:
            ok &= kpos > qpos - self.window
        return ok

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Write T new tokens per sequence; return the keys and values attention needs."""
        self._check_layer(layer)
        shape = (self.batch, self.n_kv_heads, k.shape[2] if k.dim() == 4 else -1, self.head_dim)
        for name, t in (("k", k), ("v", v)):
            if not isinstance(t, Tensor) or t.dim() != 4 or tuple(t.shape) != shape:
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"{name} must be (B, Hkv, T, D) = {shape}, got {got}")
        T = k.shape[2]
        lengths = self._lengths[layer]
        k, v = k.to(self.k.dtype), v.to(self.v.dtype)
        if self.window is None:
            if max(lengths) + T > self.max_seq_len:
                raise ValueError(
                    f"cache overflow: {max(lengths)} cached + {T} new tokens > max_seq_len={self.max_seq_len}"
                )
            if min(lengths) == max(lengths):  # the batch moves in step: one slice copy
                start = lengths[0]
                self.k[layer, :, :, start : start + T] = k
                self.v[layer, :, :, start : start + T] = v
            else:
                for b, start in enumerate(lengths):
                    self.k[layer, b, :, start : start + T] = k[b]
                    self.v[layer, b, :, start : start + T] = v[b]
            S = max(lengths) + T
            self._lengths[layer] = [n + T for n in lengths]
            return self.k[layer, :, :, :S], self.v[layer, :, :, :S]
        # Ring buffer: attention sees the window as it was plus the new chunk (order does not
        # matter to attention; the mask carries the positions), then the chunk's last W tokens
        # overwrite the oldest slots.
        k_all = torch.cat([self.k[layer], k], dim=2)  # (B, Hkv, W + T, D)
        v_all = torch.cat([self.v[layer], v], dim=2)
        keep = min(T, self.window)
        if min(lengths) == max(lengths):
            slots = (
                torch.arange(lengths[0] + T - keep, lengths[0] + T, device=self.k.device)
                % self.window
            )
            self.k[layer].index_copy_(2, slots, k[:, :, T - keep :])
            self.v[layer].index_copy_(2, slots, v[:, :, T - keep :])
        else:
            for b, start in enumerate(lengths):
                slots = (
                    torch.arange(start + T - keep, start + T, device=self.k.device) % self.window
                )
                self.k[layer, b].index_copy_(1, slots, k[b, :, T - keep :])
                self.v[layer, b].index_copy_(1, slots, v[b, :, T - keep :])
        self._lengths[layer] = [n + T for n in lengths]
        return k_all, v_all


def kv_cache_bytes(config: Any, batch: int, seq_len: int, dtype: torch.dtype) -> int:
    """2 (K and V) x layers x kv heads x head_dim x seq_len x batch x bytes per element."""
    check.positive_int("batch", batch)
    check.positive_int("seq_len", seq_len)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")

    def field(*names: str) -> Any:
        for name in names:
            value = getattr(config, name, None)
            if value is not None:
                return value
        return None

    layers = field("num_hidden_layers", "n_layer")
    heads = field("num_attention_heads", "n_head")
    hidden = field("hidden_size", "n_embd")
    if layers is None or heads is None or hidden is None:
        raise ValueError(
            "config must carry layers, heads and width (num_hidden_layers/n_layer, "
            f"num_attention_heads/n_head, hidden_size/n_embd); got {type(config).__name__}"
        )
    kv_heads = field("num_key_value_heads") or heads
    head_dim = field("head_dim") or hidden // heads
    itemsize = torch.empty((), dtype=dtype).element_size()
    return 2 * int(layers) * int(kv_heads) * int(head_dim) * seq_len * batch * itemsize


# ---------------------------------------------------------------------------------------------
# Task 4: a paged cache (vLLM's block pool) and attention through its block tables


class PagedKVCache:
    """A pool of fixed-size blocks; each sequence owns a list of blocks (its block table)."""

    def __init__(
        self,
        num_blocks: int,
        block_size: int,
        n_layers: int,
        n_kv_heads: int,
        head_dim: int,
        dtype: torch.dtype = torch.float32,
        device: torch.device | str | None = None,
    ) -> None:
        for name, value in (("num_blocks", num_blocks), ("block_size", block_size),
                            ("n_layers", n_layers), ("n_kv_heads", n_kv_heads),
                            ("head_dim", head_dim)):  # fmt: skip
            check.positive_int(name, value)
        check.float_dtype(dtype)
        self.num_blocks, self.block_size, self.n_layers = num_blocks, block_size, n_layers
        self.n_kv_heads, self.head_dim = n_kv_heads, head_dim
        shape = (n_layers, num_blocks, block_size, n_kv_heads, head_dim)  # token-major blocks
        self.k_pool = torch.zeros(shape, dtype=dtype, device=device)
        self.v_pool = torch.zeros(shape, dtype=dtype, device=device)
        self.block_tables: dict[int, list[int]] = {}
        self._free = list(range(num_blocks - 1, -1, -1))  # pop() hands out block 0 first
        self._lengths: dict[int, list[int]] = {}  # tokens written per sequence and layer

    def _known(self, seq_id: int) -> None:
        if seq_id not in self.block_tables:
            raise ValueError(f"seq_id {seq_id!r} is not allocated (allocate it first)")

    def allocate(self, seq_id: int) -> None:
        """Register a new sequence with an empty block table."""
        if isinstance(seq_id, bool) or not isinstance(seq_id, int):
            raise TypeError(f"seq_id must be an int, got {type(seq_id).__name__}")
        if seq_id in self.block_tables:
            raise ValueError(f"seq_id {seq_id} is already allocated")
        self.block_tables[seq_id] = []
        self._lengths[seq_id] = [0] * self.n_layers

    def free(self, seq_id: int) -> None:
        """Return the sequence's blocks to the pool."""
        self._known(seq_id)
        self._free.extend(reversed(self.block_tables.pop(seq_id)))
        del self._lengths[seq_id]

    def seq_len(self, seq_id: int) -> int:
        """Tokens the sequence holds (counted by its last layer)."""
        self._known(seq_id)
        return self._lengths[seq_id][-1]

    def num_free_blocks(self) -> int:
        return len(self._free)

    def append(self, seq_id: int, layer: int, k: Tensor, v: Tensor) -> None:
        """Write T tokens, (Hkv, T, D) each, of one sequence and layer; take blocks as needed."""
        self._known(seq_id)
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < self.n_layers:
            raise ValueError(f"layer must be an int in 0..{self.n_layers - 1}, got {layer!r}")
        for name, t in (("k", k), ("v", v)):
            if (
                not isinstance(t, Tensor)
                or t.dim() != 3
                or t.shape[0] != self.n_kv_heads
                or t.shape[2] != self.head_dim
            ):
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(
                    f"{name} must be (Hkv={self.n_kv_heads}, T, D={self.head_dim}), got {got}"
                )
        if k.shape != v.shape:
            raise ValueError(f"k {tuple(k.shape)} and v {tuple(v.shape)} differ")
        T = k.shape[1]
        start = self._lengths[seq_id][layer]
        table = self.block_tables[seq_id]
        needed = -(-(start + T) // self.block_size) - len(table)
        if needed > len(self._free):
            raise RuntimeError(
                f"out of blocks: sequence {seq_id} needs {needed} more, {len(self._free)} free "
                f"of {self.num_blocks}"
            )
        table.extend(self._free.pop() for _ in range(max(0, needed)))
        pos = torch.arange(start, start + T, device=self.k_pool.device)
        blocks = torch.tensor(table, device=self.k_pool.device)[pos // self.block_size]
        offsets = pos % self.block_size
        self.k_pool[layer, blocks, offsets] = k.transpose(0, 1).to(self.k_pool.dtype)  # (T, Hkv, D)
        self.v_pool[layer, blocks, offsets] = v.transpose(0, 1).to(self.v_pool.dtype)
        self._lengths[seq_id][layer] = start + T

    def gather(self, seq_id: int, layer: int) -> tuple[Tensor, Tensor]:
        """(Hkv, L, D) keys and values of one sequence and layer, read through its table."""
        self._known(seq_id)
        L = self._lengths[seq_id][layer]
        table = torch.tensor(self.block_tables[seq_id], dtype=torch.long, device=self.k_pool.device)
        H, D = self.n_kv_heads, self.head_dim
        k = self.k_pool[layer, table].reshape(-1, H, D)[:L].transpose(0, 1)  # (Hkv, L, D)
        v = self.v_pool[layer, table].reshape(-1, H, D)[:L].transpose(0, 1)
        return k, v

    def utilization(self) -> float:
        """Used token slots / reserved slots (blocks held x block_size); 0.0 with none held."""
        reserved = sum(len(t) for t in self.block_tables.values()) * self.block_size
        used = sum(max(lengths) for lengths in self._lengths.values())
        return used / reserved if reserved else 0.0

    def reserved_bytes(self) -> int:
        """Bytes of K and V held by sequences' blocks (all layers)."""
        held = sum(len(t) for t in self.block_tables.values())
        per_block = self.k_pool[:, 0].numel() * self.k_pool.element_size()
        return 2 * held * per_block


def _block_table_tensor(cache: PagedKVCache, seq_ids: list[int]) -> Tensor:
    """(B, max_blocks) int64: row b is the block table of ``seq_ids[b]``, padded with block 0."""
    tables = [cache.block_tables[s] for s in seq_ids]
    width = max(1, max(len(t) for t in tables))
    padded = [t + [0] * (width - len(t)) for t in tables]
    return torch.tensor(padded, dtype=torch.long, device=cache.k_pool.device)


def paged_attention(
    q: Tensor, cache: PagedKVCache, seq_ids: list[int], layer: int, *, scale: float | None = None
) -> Tensor:
    """Causal attention of each sequence's newest T queries over its paged keys, batched."""
    if not isinstance(q, Tensor) or q.dim() != 4:
        raise ValueError(
            f"q must be (B, H, T, D), got {tuple(q.shape) if isinstance(q, Tensor) else type(q).__name__}"
        )
    if not isinstance(seq_ids, (list, tuple)) or len(seq_ids) != q.shape[0]:
        raise ValueError(
            f"seq_ids must list one sequence per row of q ({q.shape[0]}), got {seq_ids!r}"
        )
    B, H, T, D = q.shape
    Hkv = cache.n_kv_heads
    if cache.head_dim != D or H % Hkv:
        raise ValueError(
            f"q's heads {H} / head_dim {D} do not fit the cache's {Hkv} kv heads of {cache.head_dim}"
        )
    for s in seq_ids:
        cache._known(s)
    lengths = torch.tensor([cache._lengths[s][layer] for s in seq_ids], device=q.device)
    if bool((lengths < T).any()):
        raise ValueError(f"every sequence must hold at least T={T} tokens at layer {layer}")
    tables = _block_table_tensor(cache, list(seq_ids))  # (B, nb)
    nb, bs = tables.shape[1], cache.block_size
    k = cache.k_pool[layer][tables].reshape(B, nb * bs, Hkv, D).transpose(1, 2)  # (B, Hkv, S, D)
    v = cache.v_pool[layer][tables].reshape(B, nb * bs, Hkv, D).transpose(1, 2)
    kpos = torch.arange(nb * bs, device=q.device)[None, None, None, :]  # (1, 1, 1, S)
    qpos = (lengths[:, None] - T + torch.arange(T, device=q.device))[:, None, :, None]  # (B,1,T,1)
    mask = kpos <= qpos  # causal; also hides the slots past each sequence's length
    return scaled_dot_product_attention(
        q, _repeat_kv(k, H // Hkv), _repeat_kv(v, H // Hkv), mask=mask, scale=scale
    )


# ---------------------------------------------------------------------------------------------
# Task 5: GPT-2, Hugging Face weights, and generation


class _Block(nn.Module):
    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        d = config.n_embd
        self.ln_1 = nn.LayerNorm(d, eps=config.layer_norm_epsilon)
        self.attn = MultiHeadAttention(d, config.n_head)
        self.ln_2 = nn.LayerNorm(d, eps=config.layer_norm_epsilon)
        self.fc = nn.Linear(d, 4 * d)
        self.proj = nn.Linear(4 * d, d)

    def forward(self, x: Tensor, mask: Tensor | None, cache: Any, layer: int) -> Tensor:
        x = x + self.attn(self.ln_1(x), mask=mask, cache=cache, layer=layer)
        out: Tensor = x + self.proj(
            functional.gelu(self.fc(self.ln_2(x)), approximate="tanh")
        )  # GPT-2's gelu_new
        return out


class GPT(nn.Module):
    """GPT-2: learned positions, pre-LN blocks, tanh GELU, LM head tied to the embedding."""

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        if not isinstance(config, GPTConfig):
            raise TypeError(f"config must be a GPTConfig, got {type(config).__name__}")
        self.config = config
        self.wte = nn.Embedding(config.vocab_size, config.n_embd)
        self.wpe = nn.Embedding(config.n_positions, config.n_embd)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(config.n_embd, eps=config.layer_norm_epsilon)

    @classmethod
    def from_hf(cls, hf_model: Any) -> GPT:
        """A GPT with the weights of a ``transformers.GPT2LMHeadModel`` (same dtype, device)."""
        transformer = getattr(hf_model, "transformer", None)
        if transformer is None or not hasattr(transformer, "h"):
            raise TypeError(f"hf_model must be a GPT2LMHeadModel, got {type(hf_model).__name__}")
        config = GPTConfig.from_hf(hf_model.config)
        weight = transformer.wte.weight
        model = cls(config).to(dtype=weight.dtype, device=weight.device)
        d = config.n_embd
        with torch.no_grad():
            model.wte.weight.copy_(transformer.wte.weight)
            model.wpe.weight.copy_(transformer.wpe.weight)
            model.ln_f.load_state_dict(transformer.ln_f.state_dict())
            for ours, theirs in zip(model.blocks, transformer.h, strict=True):
                assert isinstance(ours, _Block)
                ours.ln_1.load_state_dict(theirs.ln_1.state_dict())
                ours.ln_2.load_state_dict(theirs.ln_2.state_dict())
                # HF's Conv1D stores (in, out) and computes x @ W + b: nn.Linear wants W^T.
                w, b = theirs.attn.c_attn.weight, theirs.attn.c_attn.bias
                for i, proj in enumerate((ours.attn.q_proj, ours.attn.k_proj, ours.attn.v_proj)):
                    proj.weight.copy_(w[:, i * d : (i + 1) * d].T)
                    proj.bias.copy_(b[i * d : (i + 1) * d])
                ours.attn.out_proj.weight.copy_(theirs.attn.c_proj.weight.T)
                ours.attn.out_proj.bias.copy_(theirs.attn.c_proj.bias)
                ours.fc.weight.copy_(theirs.mlp.c_fc.weight.T)
                ours.fc.bias.copy_(theirs.mlp.c_fc.bias)
                ours.proj.weight.copy_(theirs.mlp.c_proj.weight.T)
                ours.proj.bias.copy_(theirs.mlp.c_proj.bias)
        return model.eval()

    def forward(
        self, input_ids: Tensor, *, attention_mask: Tensor | None = None, cache: Any = None
    ) -> Tensor:
        check.token_ids(input_ids, self.config.vocab_size)
        B, T = input_ids.shape
        device = input_ids.device
        if attention_mask is not None:
            attention_mask = check.padding_mask(attention_mask, B)
        past = 0
        if cache is not None:
            held = cache.lengths.tolist()
            if attention_mask is not None and min(held) != max(held):
                raise ValueError("attention_mask needs sequences of equal cached lengths")
            past = max(held)
        if attention_mask is not None and attention_mask.shape[1] != past + T:
            raise ValueError(
                f"attention_mask must cover past and new tokens: (B, {past + T}), got {tuple(attention_mask.shape)}"
            )
        if attention_mask is None:
            start = (
                torch.zeros(B, 1, dtype=torch.long, device=device)
                if cache is None
                else cache.lengths.to(device)[:, None]
            )
            positions = start + torch.arange(T, device=device)  # (B, T)
            mask = None
        else:
            # Positions count from each sequence's first real token (left padding).
            positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -T:]  # (B, T)
            real = attention_mask.bool()
            if cache is None:
                mask = real[:, None, None, :]  # (B, 1, 1, T): padded keys are never attended
            else:
                kpos = cache.key_positions(0, T)  # (B, S)
                mask = (real.gather(1, kpos.clamp(min=0)) & (kpos >= 0))[:, None, None, :]
        if int(positions.max()) >= self.config.n_positions:
            raise ValueError(f"sequence longer than n_positions={self.config.n_positions}")
        return self._forward_embedded(input_ids, positions, mask, cache)

    def _forward_embedded(
        self, ids: Tensor, positions: Tensor, mask: Tensor | None, cache: Any
    ) -> Tensor:
        x = self.wte(ids) + self.wpe(positions)  # (B, T, d)
        for layer, block in enumerate(self.blocks):
            x = block(x, mask, cache, layer)
        logits: Tensor = self.ln_f(x) @ self.wte.weight.T  # (B, T, vocab): the head is tied to wte
        return logits


class _StaticDecoder:
    """One-token decode steps with static shapes over a ``KVCache``; on CUDA, a CUDA graph.

    Everything a step changes lives in tensors allocated once (the token, its position, the
    write slot, which cache slots are valid), so the same kernels with the same pointers run
    every step: that is what lets one graph capture replay for every token.
    """

    def __init__(
        self, model: GPT, batch: int, capacity: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        c = model.config
        self.model = model
        self.cache = KVCache(batch, c.n_layer, c.n_head, capacity, c.head_dim, dtype, device)
        self.token = torch.zeros(batch, 1, dtype=torch.long, device=device)
        self.position = torch.zeros(batch, 1, dtype=torch.long, device=device)
        self.slot = torch.zeros(1, dtype=torch.long, device=device)
        self.valid = torch.zeros(batch, capacity, dtype=torch.bool, device=device)
        self.logits = torch.zeros(batch, c.vocab_size, dtype=dtype, device=device)
        self.graph: torch.cuda.CUDAGraph | None = None
        self.uses_graph = device.type == "cuda"

    # The cache protocol MultiHeadAttention calls (static shapes: the whole buffer every step).
    def attention_mask(self, layer: int, T: int) -> Tensor:
        return self.valid[:, None, None, :]  # (B, 1, 1, C)

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        self.cache.k[layer].index_copy_(2, self.slot, k.to(self.cache.k.dtype))  # (B, Hkv, C, D)
        self.cache.v[layer].index_copy_(2, self.slot, v.to(self.cache.v.dtype))
        return self.cache.k[layer], self.cache.v[layer]

    def _step(self) -> None:
        self.valid.index_fill_(1, self.slot, True)
        logits = self.model._forward_embedded(self.token, self.position, None, self)
        self.logits.copy_(logits[:, -1])
        self.position.add_(1)
        self.slot.add_(1)

    def _capture(self) -> None:
        """Warm up on a side stream (cuBLAS handles, allocator), then capture one step."""
        saved = [t.clone() for t in (self.position, self.slot, self.valid)]
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(2):
                self._step()
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            self._step()
        for t, value in zip((self.position, self.slot, self.valid), saved, strict=True):
            t.copy_(value)
        self.graph = graph

    def prefill(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        """Run the prompt through the cache; return the last position's logits (B, vocab)."""
        self.cache.reset()
        T = input_ids.shape[1]
        logits: Tensor = self.model(input_ids, attention_mask=attention_mask, cache=self.cache)[
            :, -1
        ]
        self.valid.zero_()
        self.valid[:, :T] = attention_mask.bool()
        self.position.copy_(attention_mask.long().sum(-1, keepdim=True))  # real tokens so far
        self.slot.fill_(T)
        return logits

    def step(self, token: Tensor) -> Tensor:
        """Append one token per sequence (B, 1); return the next logits (B, vocab)."""
        self.token.copy_(token)
        if not self.uses_graph:
            self._step()
        else:
            if self.graph is None:
                self._capture()
            assert self.graph is not None
            self.graph.replay()
        return self.logits


_CAPACITY_STEP = 64  # capacities are rounded up, so nearby lengths share one decoder (and graph)


def _decoder_for(
    model: GPT, batch: int, length: int, dtype: torch.dtype, device: torch.device
) -> _StaticDecoder:
    capacity = min(model.config.n_positions, -(-length // _CAPACITY_STEP) * _CAPACITY_STEP)
    # Kept on the model (like gpt-fast's setup_caches): buffers and graphs live as long as it.
    pool: dict[tuple[Any, ...], _StaticDecoder] = model.__dict__.setdefault("_static_decoders", {})
    key = (batch, capacity, dtype, device)
    if key not in pool:
        pool[key] = _StaticDecoder(model, batch, capacity, dtype, device)
    return pool[key]


def _next_token(
    logits: Tensor,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    generator: torch.Generator | None,
) -> Tensor:
    """(B, vocab) logits -> (B,) token ids: argmax at temperature 0, else a filtered sample."""
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = logits.topk(top_k, dim=-1).values[:, -1:]  # (B, 1)
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p is not None and top_p < 1:
        ordered, index = logits.sort(-1, descending=True)
        probs = ordered.softmax(-1)
        # Drop a token when the tokens before it already reach top_p (the first always stays).
        drop = probs.cumsum(-1) - probs >= top_p
        logits = logits.scatter(-1, index, ordered.masked_fill(drop, float("-inf")))
    return torch.multinomial(logits.softmax(-1), 1, generator=generator)[:, 0]


@torch.no_grad()
def generate(
    model: GPT,
    input_ids: Tensor,
    max_new_tokens: int,
    *,
    attention_mask: Tensor | None = None,
    use_cache: bool = True,
    temperature: float = 0.0,
    top_k: int | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> Tensor:
    """Prefill, then one token per step through the static decoder (a CUDA graph on GPU)."""
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a GPT, got {type(model).__name__}")
    check.sampling(max_new_tokens, temperature, top_k, top_p, seed)
    check.token_ids(input_ids, model.config.vocab_size)
    B, T = input_ids.shape
    device = input_ids.device
    if attention_mask is None:
        attention_mask = torch.ones_like(input_ids)
    attention_mask = check.padding_mask(attention_mask, B).to(torch.long)
    if attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask must match input_ids {tuple(input_ids.shape)}, got {tuple(attention_mask.shape)}"
        )
    if T + max_new_tokens > model.config.n_positions:
        raise ValueError(
            f"{T} prompt + {max_new_tokens} new tokens > n_positions={model.config.n_positions}"
        )
    generator = None
    if seed is not None:
        generator = torch.Generator(device=device).manual_seed(seed)
    eos = model.config.eos_token_id
    finished = torch.zeros(B, dtype=torch.bool, device=device)
    tokens: list[Tensor] = []
    dtype = model.wte.weight.dtype
    decoder = _decoder_for(model, B, T + max_new_tokens, dtype, device) if use_cache else None
    ids, mask = input_ids, attention_mask
    for step in range(max_new_tokens):
        if decoder is None:
            logits = model(ids, attention_mask=mask)[:, -1]
        elif step == 0:
            logits = decoder.prefill(input_ids, attention_mask)
        else:
            logits = decoder.step(tokens[-1][:, None])
        token = torch.where(
            finished, eos, _next_token(logits, temperature, top_k, top_p, generator)
        )
        tokens.append(token)
        finished |= token == eos
        if decoder is None:
            ids = torch.cat([ids, token[:, None]], dim=1)
            mask = functional.pad(mask, (0, 1), value=1)
        # Checking on the host waits for the device: only now and then on a GPU.
        if (device.type != "cuda" or step % 16 == 15) and bool(finished.all()):
            break
    if not tokens:
        return input_ids.clone()
    new = torch.stack(tokens, dim=1)  # (B, steps)
    # Stop where every sequence had finished (a GPU run may have gone a few steps past it).
    done = (new == eos).cumsum(1).clamp(max=1).all(0)
    if bool(done.any()):
        new = new[:, : int(done.long().argmax()) + 1]
    return torch.cat([input_ids, new], dim=1)
