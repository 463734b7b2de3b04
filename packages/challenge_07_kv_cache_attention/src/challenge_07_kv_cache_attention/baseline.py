"""Baseline: the simplest correct version of every task, written out step by step.

What is special here (the starter's docstrings are the specification):

- ``scaled_dot_product_attention`` materialises the (B, H, T, S) score matrix and runs the
  max-subtracted softmax by hand.
- The caches write token by token and sequence by sequence, in Python loops.
- ``paged_attention`` gathers one sequence at a time and attends to it alone.
- ``generate`` ignores ``use_cache``: every step runs the model over the whole prefix again,
  O(T) tokens per step and O(T^2) attention work, the cost a KV-cache removes.
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


# Task 1 ------------------------------------------------------------------------------------


def scaled_dot_product_attention(
    q: Tensor,
    k: Tensor,
    v: Tensor,
    *,
    mask: Tensor | None = None,
    is_causal: bool = False,
    scale: float | None = None,
) -> Tensor:
    """softmax(q k^T * scale + mask) v, the score matrix materialised."""
    check.qkv(q, k, v)
    B, H, T, D = q.shape
    S = k.shape[2]
    scale = check.scale(scale, D)
    mask = check.attn_mask(mask, (B, H, T, S))
    scores = (q @ k.transpose(-2, -1)) * scale  # (B, H, T, S)
    if mask is not None:
        if mask.dtype == torch.bool:
            scores = scores.masked_fill(~mask, float("-inf"))
        else:
            scores = scores + mask.to(scores.dtype)
    if is_causal:
        # Query i is the token at position S - T + i: it may see keys 0 .. S - T + i.
        allowed = torch.ones(T, S, dtype=torch.bool, device=q.device).tril(diagonal=S - T)
        scores = scores.masked_fill(~allowed, float("-inf"))
    top = scores.amax(-1, keepdim=True)  # (B, H, T, 1)
    dead = torch.isneginf(top)  # every key masked: no distribution to take
    weights = torch.exp(scores - torch.where(dead, 0.0, top))
    weights = weights / weights.sum(-1, keepdim=True).clamp(min=torch.finfo(weights.dtype).tiny)
    return (weights @ v).masked_fill(dead, 0.0)  # (B, H, T, Dv)


# Task 2 ------------------------------------------------------------------------------------


class MultiHeadAttention(nn.Module):
    """Causal self-attention; kv heads are copied (repeat_interleave) up to the query heads."""

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
        self, x: Tensor, *, mask: Tensor | None = None, cache: Any = None, layer: int = 0
    ) -> Tensor:
        if not isinstance(x, Tensor) or x.dim() != 3 or x.shape[-1] != self.d_model:
            shape = tuple(x.shape) if isinstance(x, Tensor) else type(x).__name__
            raise ValueError(f"x must be (B, T, d_model={self.d_model}), got {shape}")
        B, T, _ = x.shape
        H, Hkv, D = self.n_heads, self.n_kv_heads, self.head_dim
        q = self.q_proj(x).view(B, T, H, D).transpose(1, 2)  # (B, H, T, D)
        k = self.k_proj(x).view(B, T, Hkv, D).transpose(1, 2)  # (B, Hkv, T, D)
        v = self.v_proj(x).view(B, T, Hkv, D).transpose(1, 2)
        causal = cache is None
        if cache is not None:
            step = cache.attention_mask(layer, T)  # (B, 1, T, S)
            k, v = cache.update(layer, k, v)  # (B, Hkv, S, D)
            mask = step if mask is None else mask & step
        k = k.repeat_interleave(H // Hkv, dim=1)  # (B, H, S, D)
        v = v.repeat_interleave(H // Hkv, dim=1)
        out = scaled_dot_product_attention(q, k, v, mask=mask, is_causal=causal)
        return self.out_proj(out.transpose(1, 2).reshape(B, T, H * D))  # type: ignore[no-any-return]


# Task 3 ------------------------------------------------------------------------------------


class KVCache:
    """A preallocated (n_layers, B, Hkv, capacity, D) buffer, written sequence by sequence."""

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
        if window is not None and check.positive_int("window", window) > max_seq_len:
            raise ValueError(f"window={window} must be <= max_seq_len={max_seq_len}")
        self.batch, self.n_layers, self.n_kv_heads = batch, n_layers, n_kv_heads
        self.max_seq_len, self.head_dim, self.window = max_seq_len, head_dim, window
        self.capacity = max_seq_len if window is None else window
        shape = (n_layers, batch, n_kv_heads, self.capacity, head_dim)
        self.k = torch.zeros(shape, dtype=dtype, device=device)
        self.v = torch.zeros(shape, dtype=dtype, device=device)
        self._lengths = [[0] * batch for _ in range(n_layers)]

    @property
    def lengths(self) -> Tensor:
        return torch.tensor(self._lengths[-1], dtype=torch.long)

    def reset(self, rows: list[int] | None = None) -> None:
        for b in range(self.batch) if rows is None else rows:
            if not 0 <= b < self.batch:
                raise ValueError(f"rows holds {b}, outside 0..{self.batch - 1}")
            for lengths in self._lengths:
                lengths[b] = 0

    def memory_bytes(self) -> int:
        return 2 * self.k.numel() * self.k.element_size()

    def _layer(self, layer: int) -> list[int]:
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < self.n_layers:
            raise ValueError(f"layer must be an int in 0..{self.n_layers - 1}, got {layer!r}")
        return self._lengths[layer]

    def _slot_position(self, slot: int, length: int) -> int:
        """The position a slot holds when ``length`` tokens were written (-1: none)."""
        if self.window is None:
            return slot if slot < length else -1
        latest = length - 1 - (length - 1 - slot) % self.window
        return latest if latest >= 0 else -1

    def key_positions(self, layer: int, T: int) -> Tensor:
        lengths = self._layer(layer)
        rows = []
        for n in lengths:
            if self.window is None:
                S = max(lengths) + T
                rows.append([s if s < n + T else -1 for s in range(S)])
            else:
                ring = [self._slot_position(s, n) for s in range(self.window)]
                rows.append(ring + list(range(n, n + T)))
        return torch.tensor(rows, dtype=torch.long, device=self.k.device)

    def attention_mask(self, layer: int, T: int) -> Tensor:
        kpos = self.key_positions(layer, T)  # (B, S)
        L = torch.tensor(self._layer(layer), device=kpos.device)
        qpos = L[:, None] + torch.arange(T, device=kpos.device)  # (B, T)
        ok = (kpos[:, None, :] >= 0) & (kpos[:, None, :] <= qpos[:, :, None])  # (B, T, S)
        if self.window is not None:
            ok &= kpos[:, None, :] > qpos[:, :, None] - self.window
        return ok[:, None]  # (B, 1, T, S)

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        lengths = self._layer(layer)
        for name, t in (("k", k), ("v", v)):
            if not isinstance(t, Tensor) or t.dim() != 4 or t.shape[0] != self.batch or \
                    t.shape[1] != self.n_kv_heads or t.shape[3] != self.head_dim or t.shape[2] != k.shape[2]:  # fmt: skip
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                want = (self.batch, self.n_kv_heads, "T", self.head_dim)
                raise ValueError(f"{name} must be (B, Hkv, T, D) = {want}, got {got}")
        T = k.shape[2]
        if self.window is None and max(lengths) + T > self.max_seq_len:
            raise ValueError(
                f"cache overflow: {max(lengths)} cached + {T} new tokens > max_seq_len={self.max_seq_len}"
            )
        if self.window is not None:  # what attention sees: the window before this step + the chunk
            k_all = torch.cat([self.k[layer], k.to(self.k.dtype)], dim=2)
            v_all = torch.cat([self.v[layer], v.to(self.v.dtype)], dim=2)
        for b, n in enumerate(lengths):
            for i in range(T):
                slot = n + i if self.window is None else (n + i) % self.window
                self.k[layer, b, :, slot] = k[b, :, i]
                self.v[layer, b, :, slot] = v[b, :, i]
        self._lengths[layer] = [n + T for n in lengths]
        if self.window is not None:
            return k_all, v_all
        S = max(lengths) + T
        return self.k[layer, :, :, :S], self.v[layer, :, :, :S]


def kv_cache_bytes(config: Any, batch: int, seq_len: int, dtype: torch.dtype) -> int:
    check.positive_int("batch", batch)
    check.positive_int("seq_len", seq_len)
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"dtype must be a torch.dtype, got {dtype!r}")
    try:
        layers = config.num_hidden_layers  # GPT2Config maps these names onto n_layer, n_head...
        heads = config.num_attention_heads
        hidden = config.hidden_size
    except AttributeError:
        raise ValueError(
            f"config must carry num_hidden_layers, num_attention_heads and hidden_size; "
            f"got {type(config).__name__}"
        ) from None
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    itemsize = torch.empty((), dtype=dtype).element_size()
    return 2 * layers * kv_heads * head_dim * seq_len * batch * itemsize  # type: ignore[no-any-return]


# Task 4 ------------------------------------------------------------------------------------


class PagedKVCache:
    """A block pool and per-sequence block tables, written token by token."""

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
        shape = (n_layers, num_blocks, block_size, n_kv_heads, head_dim)
        self.k_pool = torch.zeros(shape, dtype=dtype, device=device)
        self.v_pool = torch.zeros(shape, dtype=dtype, device=device)
        self.block_tables: dict[int, list[int]] = {}
        self._free = list(range(num_blocks))
        self._lengths: dict[int, list[int]] = {}

    def _known(self, seq_id: int) -> None:
        if seq_id not in self.block_tables:
            raise ValueError(f"seq_id {seq_id!r} is not allocated (allocate it first)")

    def allocate(self, seq_id: int) -> None:
        if isinstance(seq_id, bool) or not isinstance(seq_id, int):
            raise TypeError(f"seq_id must be an int, got {type(seq_id).__name__}")
        if seq_id in self.block_tables:
            raise ValueError(f"seq_id {seq_id} is already allocated")
        self.block_tables[seq_id] = []
        self._lengths[seq_id] = [0] * self.n_layers

    def free(self, seq_id: int) -> None:
        self._known(seq_id)
        self._free = self.block_tables.pop(seq_id) + self._free
        del self._lengths[seq_id]

    def seq_len(self, seq_id: int) -> int:
        self._known(seq_id)
        return self._lengths[seq_id][-1]

    def num_free_blocks(self) -> int:
        return len(self._free)

    def append(self, seq_id: int, layer: int, k: Tensor, v: Tensor) -> None:
        self._known(seq_id)
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < self.n_layers:
            raise ValueError(f"layer must be an int in 0..{self.n_layers - 1}, got {layer!r}")
        for name, t in (("k", k), ("v", v)):
            if not isinstance(t, Tensor) or t.dim() != 3 or t.shape[0] != self.n_kv_heads or \
                    t.shape[2] != self.head_dim or t.shape[1] != k.shape[1]:  # fmt: skip
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(
                    f"{name} must be (Hkv={self.n_kv_heads}, T, D={self.head_dim}), got {got}"
                )
        table = self.block_tables[seq_id]
        start, T = self._lengths[seq_id][layer], k.shape[1]
        needed = (start + T + self.block_size - 1) // self.block_size - len(table)
        if needed > len(self._free):
            raise RuntimeError(
                f"out of blocks: sequence {seq_id} needs {needed} more, {len(self._free)} free "
                f"of {self.num_blocks}"
            )
        for _ in range(needed):
            table.append(self._free.pop(0))
        for i in range(T):
            block, offset = divmod(start + i, self.block_size)
            self.k_pool[layer, table[block], offset] = k[:, i]
            self.v_pool[layer, table[block], offset] = v[:, i]
        self._lengths[seq_id][layer] = start + T

    def gather(self, seq_id: int, layer: int) -> tuple[Tensor, Tensor]:
        self._known(seq_id)
        table, L = self.block_tables[seq_id], self._lengths[seq_id][layer]
        ks = [
            self.k_pool[layer, table[p // self.block_size], p % self.block_size] for p in range(L)
        ]
        vs = [
            self.v_pool[layer, table[p // self.block_size], p % self.block_size] for p in range(L)
        ]
        empty = self.k_pool.new_zeros(self.n_kv_heads, 0, self.head_dim)
        if not ks:
            return empty, empty.clone()
        return torch.stack(ks, dim=1), torch.stack(vs, dim=1)  # (Hkv, L, D)

    def utilization(self) -> float:
        reserved = sum(len(t) for t in self.block_tables.values()) * self.block_size
        used = sum(max(lengths) for lengths in self._lengths.values())
        return used / reserved if reserved else 0.0

    def reserved_bytes(self) -> int:
        held = sum(len(t) for t in self.block_tables.values())
        return (
            2
            * held
            * self.n_layers
            * self.block_size
            * self.n_kv_heads
            * self.head_dim
            * self.k_pool.element_size()
        )


def paged_attention(
    q: Tensor, cache: PagedKVCache, seq_ids: list[int], layer: int, *, scale: float | None = None
) -> Tensor:
    """One sequence at a time: gather its keys through the block table, then attend."""
    if not isinstance(q, Tensor) or q.dim() != 4:
        got = tuple(q.shape) if isinstance(q, Tensor) else type(q).__name__
        raise ValueError(f"q must be (B, H, T, D), got {got}")
    if not isinstance(seq_ids, (list, tuple)) or len(seq_ids) != q.shape[0]:
        raise ValueError(
            f"seq_ids must list one sequence per row of q ({q.shape[0]}), got {seq_ids!r}"
        )
    H, T, D = q.shape[1:]
    if cache.head_dim != D or H % cache.n_kv_heads:
        raise ValueError(
            f"q's heads {H} / head_dim {D} do not fit the cache's {cache.n_kv_heads} kv heads of {cache.head_dim}"
        )
    outs = []
    for b, seq_id in enumerate(seq_ids):
        k, v = cache.gather(seq_id, layer)  # (Hkv, L, D)
        if k.shape[1] < T:
            raise ValueError(f"every sequence must hold at least T={T} tokens at layer {layer}")
        k = k.repeat_interleave(H // cache.n_kv_heads, dim=0)[None]  # (1, H, L, D)
        v = v.repeat_interleave(H // cache.n_kv_heads, dim=0)[None]
        outs.append(scaled_dot_product_attention(q[b : b + 1], k, v, is_causal=True, scale=scale))
    return torch.cat(outs, dim=0)  # (B, H, T, D)


# Task 5 ------------------------------------------------------------------------------------


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
        out: Tensor = x + self.proj(functional.gelu(self.fc(self.ln_2(x)), approximate="tanh"))
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
        """Copy a ``GPT2LMHeadModel``'s weights through its state dict (Conv1D: W is (in, out))."""
        if not hasattr(getattr(hf_model, "transformer", None), "h"):
            raise TypeError(f"hf_model must be a GPT2LMHeadModel, got {type(hf_model).__name__}")
        config = GPTConfig.from_hf(hf_model.config)
        theirs = hf_model.transformer.state_dict()
        weight = hf_model.transformer.wte.weight
        model = cls(config).to(dtype=weight.dtype, device=weight.device)
        d = config.n_embd
        ours: dict[str, Tensor] = {
            "wte.weight": theirs["wte.weight"],
            "wpe.weight": theirs["wpe.weight"],
            "ln_f.weight": theirs["ln_f.weight"],
            "ln_f.bias": theirs["ln_f.bias"],
        }
        for i in range(config.n_layer):
            src, dst = f"h.{i}.", f"blocks.{i}."
            for norm in ("ln_1", "ln_2"):
                for part in ("weight", "bias"):
                    ours[f"{dst}{norm}.{part}"] = theirs[f"{src}{norm}.{part}"]
            w, b = theirs[f"{src}attn.c_attn.weight"], theirs[f"{src}attn.c_attn.bias"]
            for j, name in enumerate(("q_proj", "k_proj", "v_proj")):
                ours[f"{dst}attn.{name}.weight"] = w[:, j * d : (j + 1) * d].T
                ours[f"{dst}attn.{name}.bias"] = b[j * d : (j + 1) * d]
            ours[f"{dst}attn.out_proj.weight"] = theirs[f"{src}attn.c_proj.weight"].T
            ours[f"{dst}attn.out_proj.bias"] = theirs[f"{src}attn.c_proj.bias"]
            ours[f"{dst}fc.weight"] = theirs[f"{src}mlp.c_fc.weight"].T
            ours[f"{dst}fc.bias"] = theirs[f"{src}mlp.c_fc.bias"]
            ours[f"{dst}proj.weight"] = theirs[f"{src}mlp.c_proj.weight"].T
            ours[f"{dst}proj.bias"] = theirs[f"{src}mlp.c_proj.bias"]
        model.load_state_dict(ours)
        return model.eval()

    def forward(
        self, input_ids: Tensor, *, attention_mask: Tensor | None = None, cache: Any = None
    ) -> Tensor:
        check.token_ids(input_ids, self.config.vocab_size)
        B, T = input_ids.shape
        device = input_ids.device
        held = [0] * B if cache is None else cache.lengths.tolist()
        mask = None
        if attention_mask is None:
            positions = torch.tensor(held, device=device)[:, None] + torch.arange(T, device=device)
        else:
            check.padding_mask(attention_mask, B)
            if min(held) != max(held):
                raise ValueError("attention_mask needs sequences of equal cached lengths")
            if attention_mask.shape[1] != held[0] + T:
                raise ValueError(
                    f"attention_mask must cover past and new tokens: (B, {held[0] + T}), got {tuple(attention_mask.shape)}"
                )
            # Positions count from each sequence's first real token (left padding).
            positions = (attention_mask.long().cumsum(-1) - 1).clamp(min=0)[:, -T:]
            real = attention_mask.bool()  # (B, S_total)
            if cache is not None:
                kpos = cache.key_positions(0, T)  # (B, S)
                real = real.gather(1, kpos.clamp(min=0)) & (kpos >= 0)
            mask = real[:, None, None, :]  # (B, 1, 1, S): padding is never attended
        if int(positions.max()) >= self.config.n_positions:
            raise ValueError(f"sequence longer than n_positions={self.config.n_positions}")
        x = self.wte(input_ids) + self.wpe(positions)  # (B, T, d)
        for layer, block in enumerate(self.blocks):
            x = block(x, mask, cache, layer)
        logits: Tensor = self.ln_f(x) @ self.wte.weight.T  # (B, T, vocab)
        return logits


def _next_token(
    logits: Tensor,
    temperature: float,
    top_k: int | None,
    top_p: float | None,
    generator: torch.Generator | None,
) -> Tensor:
    if temperature == 0:
        return logits.argmax(-1)
    logits = logits.float() / temperature
    if top_k is not None and top_k < logits.shape[-1]:
        kth = torch.topk(logits, top_k, dim=-1).values[:, -1:]
        logits = torch.where(logits < kth, float("-inf"), logits)
    if top_p is not None and top_p < 1:
        probs, order = torch.sort(torch.softmax(logits, -1), dim=-1, descending=True)
        before = torch.cumsum(probs, -1) - probs  # mass of the tokens ranked above each one
        keep_sorted = before < top_p
        keep = torch.zeros_like(keep_sorted).scatter(-1, order, keep_sorted)
        logits = torch.where(keep, logits, float("-inf"))
    return torch.multinomial(torch.softmax(logits, -1), 1, generator=generator)[:, 0]


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
    """Recompute the whole prefix every step (``use_cache`` is accepted and ignored)."""
    if not isinstance(model, GPT):
        raise TypeError(f"model must be a GPT, got {type(model).__name__}")
    check.sampling(max_new_tokens, temperature, top_k, top_p, seed)
    check.token_ids(input_ids, model.config.vocab_size)
    B, T = input_ids.shape
    mask = torch.ones_like(input_ids) if attention_mask is None else attention_mask
    check.padding_mask(mask, B)
    if mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask must match input_ids {tuple(input_ids.shape)}, got {tuple(mask.shape)}"
        )
    if T + max_new_tokens > model.config.n_positions:
        raise ValueError(
            f"{T} prompt + {max_new_tokens} new tokens > n_positions={model.config.n_positions}"
        )
    generator = None if seed is None else torch.Generator(input_ids.device).manual_seed(seed)
    eos = model.config.eos_token_id
    ids, mask = input_ids, mask.long()
    finished = torch.zeros(B, dtype=torch.bool, device=input_ids.device)
    for _ in range(max_new_tokens):
        logits = model(ids, attention_mask=mask)[:, -1]  # the whole prefix, every step
        token = _next_token(logits, temperature, top_k, top_p, generator)
        token = torch.where(finished, eos, token)  # finished sequences are padded with EOS
        finished |= token == eos
        ids = torch.cat([ids, token[:, None]], dim=1)
        mask = functional.pad(mask, (0, 1), value=1)
        if bool(finished.all()):
            break
    return ids
