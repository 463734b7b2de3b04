"""Challenge 07: attention with a KV-cache. Your file: fill in every TODO.

Conventions used throughout:

- Shapes: ``B`` batch, ``H`` query heads, ``Hkv`` key/value heads, ``T`` new (query) tokens,
  ``S`` keys attended, ``D`` head_dim. Attention tensors are (B, H, T, D); the model's
  activations are (B, T, d_model).
- Boolean masks use torch's convention: **True means "may attend"**. Float masks are added to
  the scores (0 to keep, -inf to drop).
- Causal attention with T != S is **bottom-right aligned**: the T queries are the last T of the
  S positions, so query i sees keys 0 .. S - T + i (a decode step, T = 1, sees every key).
  Note that ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)`` aligns top-left
  instead (query i sees keys 0 .. i), which is wrong for a KV-cache.
- A cache counts tokens per layer and per sequence: ``update``/``append`` of layer l writes
  at that layer's own length, so every layer of a step writes the same positions without any
  "advance" call. ``lengths`` reports the last layer's count (complete steps).
- Given (not tasks): ``validation`` (argument checks that raise TypeError/ValueError naming the
  argument), ``gpt_config.GPTConfig``, ``hf_models`` (seeded Hugging Face models, offline).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from challenge_07_kv_cache_attention import validation as check  # noqa: F401 (given checks)
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
    """softmax(q k^T * scale + mask) v, numerically stable.

    Args:
        q: (B, H, T, D) queries, floating point.
        k: (B, H, S, D) keys; S may differ from T (a decode step has T = 1).
        v: (B, H, S, Dv) values.
        mask: None, a bool mask (True = attend) or an additive float mask, broadcastable to
            (B, H, T, S).
        is_causal: also hide future keys, bottom-right aligned (see the module docstring);
            combined with ``mask`` (both must allow a key).
        scale: multiplies the scores; default 1 / sqrt(D).

    Returns:
        (B, H, T, Dv). A query row whose keys are all masked returns zeros (not NaN).

    Raises:
        TypeError: non-tensor or non-float q/k/v, a mask that is neither bool nor float.
        ValueError: q/k/v not 4-d or disagreeing in B, H, D or S; a mask that does not
            broadcast to (B, H, T, S); a scale that is not finite and > 0.
        (``validation.qkv``, ``validation.attn_mask`` and ``validation.scale`` do all this.)
    """
    raise NotImplementedError(
        "TODO(07.1): scores, masks (bool, additive, bottom-right causal), stable softmax, "
        "zeros for fully masked rows - see README task 1"
    )


# Task 2 ------------------------------------------------------------------------------------


class MultiHeadAttention(nn.Module):
    """Causal self-attention with multi-head (MHA), grouped-query (GQA) or multi-query (MQA) heads.

    Args:
        d_model: model width; ``head_dim = d_model // n_heads``.
        n_heads: query heads.
        n_kv_heads: key/value heads (default ``n_heads``: MHA; 1: MQA). Query head h reads
            kv head ``h // (n_heads // n_kv_heads)``: groups of consecutive query heads share
            one kv head (Llama's ``repeat_kv`` order).
        bias: whether the four projections have a bias.

    Attributes (tests and ``GPT.from_hf`` use these names): ``q_proj`` (d_model -> H * D),
    ``k_proj`` and ``v_proj`` (d_model -> Hkv * D), ``out_proj`` (H * D -> d_model), all
    ``nn.Linear``; ``n_heads``, ``n_kv_heads``, ``head_dim``.

    Raises:
        TypeError/ValueError: a size that is not a positive int; ``n_heads`` not dividing
            ``d_model``; ``n_kv_heads`` not dividing ``n_heads``.
    """

    def __init__(
        self, d_model: int, n_heads: int, n_kv_heads: int | None = None, *, bias: bool = True
    ) -> None:
        super().__init__()
        raise NotImplementedError(
            "TODO(07.2): check the head counts, build q/k/v/out projections - see README task 2"
        )

    def forward(
        self, x: Tensor, *, mask: Tensor | None = None, cache: Any = None, layer: int = 0
    ) -> Tensor:
        """Attention of x over itself, or over the cache's tokens plus itself.

        Args:
            x: (B, T, d_model).
            mask: optional bool mask broadcastable to (B, 1, T, S) (e.g. padded keys), ANDed
                with causality.
            cache: None (causal attention over x), or a cache with ``attention_mask(layer, T)``
                and ``update(layer, k, v)`` (``KVCache``): take the step's mask from the cache
                *before* updating it, then attend over the keys ``update`` returns.
            layer: which layer of the cache this module is.

        Returns:
            (B, T, d_model).
        """
        raise NotImplementedError(
            "TODO(07.2): project, split heads, use the cache, repeat kv heads, attend, merge "
            "- see README task 2"
        )


# Task 3 ------------------------------------------------------------------------------------


class KVCache:
    """A static (preallocated) cache of keys and values for every layer of a batch.

    Args:
        batch, n_layers, n_kv_heads, max_seq_len, head_dim: sizes (positive ints).
        dtype, device: of the buffers.
        window: None (keep everything, at most ``max_seq_len`` tokens), or W <= max_seq_len:
            a sliding window kept in a ring buffer of W slots (token at position p lives in
            slot p % W); attention then sees only the last W positions (p - W < key <= p) and
            sequences may grow past ``max_seq_len``.

    Buffers ``k`` and ``v``: (n_layers, B, Hkv, capacity, D) with capacity = max_seq_len or W.

    Raises:
        TypeError/ValueError: sizes that are not positive ints, a non-float dtype,
            ``window > max_seq_len``.
    """

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
        raise NotImplementedError(
            "TODO(07.3): allocate the buffers, per-layer per-sequence lengths - see README task 3"
        )

    @property
    def lengths(self) -> Tensor:
        """(B,) int64 on the CPU: tokens each sequence holds (the last layer's count; in
        window mode this counts every token seen, not only those still kept)."""
        raise NotImplementedError("TODO(07.3): the per-sequence lengths - see README task 3")

    def reset(self, rows: list[int] | None = None) -> None:
        """Forget every sequence's tokens (``rows=None``) or only those of ``rows`` (a finished
        request's slot is reused by a new one). ValueError for a row outside 0..B-1."""
        raise NotImplementedError("TODO(07.3): reset the lengths - see README task 3")

    def memory_bytes(self) -> int:
        """Bytes of the K and V buffers."""
        raise NotImplementedError("TODO(07.3): bytes of the buffers - see README task 3")

    def key_positions(self, layer: int, T: int) -> Tensor:
        """(B, S) int64: the position of each key that ``update(layer, <T tokens>)`` will
        return, for a step of T new tokens per sequence; -1 marks a slot holding nothing.

        Without a window S = max(lengths at ``layer``) + T and slot s holds position s. With a
        window S = W + T: the W ring slots (as they are before the update; slot s holds the
        latest position p < length with p % W == s), then the T new positions.
        ValueError for a layer outside 0..n_layers-1.
        """
        raise NotImplementedError(
            "TODO(07.3): positions of the keys a step sees - see README task 3"
        )

    def attention_mask(self, layer: int, T: int) -> Tensor:
        """(B, 1, T, S) bool for the next T queries of every sequence (query t of sequence b is
        at position lengths[b] + t): a key is visible when its slot holds something, it is not
        in the future, and (window mode) it is within the last W positions."""
        raise NotImplementedError("TODO(07.3): the step's attention mask - see README task 3")

    def update(self, layer: int, k: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        """Write T new tokens of every sequence at that layer's current lengths.

        Args:
            layer: 0 .. n_layers - 1.
            k, v: (B, Hkv, T, D).

        Returns:
            (k_all, v_all), each (B, Hkv, S, D), the keys ``key_positions(layer, T)`` describes:
            without a window the buffer's first S slots (a view, no copy); with a window the
            ring as it was before this update followed by the T new tokens (of which only the
            last W are then kept in the ring).

        Raises:
            ValueError: ``cache overflow`` when a sequence would pass ``max_seq_len`` (no
                window); k/v of the wrong shape; a bad layer.
        """
        raise NotImplementedError(
            "TODO(07.3): write in place, return what to attend - see README task 3"
        )


def kv_cache_bytes(config: Any, batch: int, seq_len: int, dtype: torch.dtype) -> int:
    """Bytes a full KV-cache takes: 2 x layers x kv heads x head_dim x seq_len x batch x itemsize.

    Args:
        config: a Hugging Face config, GPT-2 style (``n_layer``, ``n_head``, ``n_embd``; HF maps
            ``num_hidden_layers``/``num_attention_heads``/``hidden_size`` onto them) or Llama
            style (``num_key_value_heads`` for GQA, optional ``head_dim``).
        batch, seq_len: positive ints.
        dtype: element type of the cache (e.g. torch.float16: 2 bytes).

    Raises:
        TypeError/ValueError: bad batch, seq_len or dtype; a config without layers, heads and
            width (ValueError naming ``config``).
    """
    raise NotImplementedError(
        "TODO(07.3): count the cache's bytes from a config - see README task 3"
    )


# Task 4 ------------------------------------------------------------------------------------


class PagedKVCache:
    """vLLM's paged KV-cache: a pool of fixed-size blocks shared by all sequences.

    Args:
        num_blocks, block_size, n_layers, n_kv_heads, head_dim: sizes (positive ints).
        dtype, device: of the pools.

    Pools ``k_pool`` and ``v_pool``: (n_layers, num_blocks, block_size, Hkv, D). A block id
    names the same block in every layer. ``block_tables[seq_id]`` lists a sequence's blocks in
    order: token p of the sequence lives in block ``table[p // block_size]`` at offset
    ``p % block_size``. Blocks are taken from the free pool only when a write needs them.
    """

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
        raise NotImplementedError(
            "TODO(07.4): the block pools, the free list, block tables - see README task 4"
        )

    def allocate(self, seq_id: int) -> None:
        """Register a sequence with an empty block table (ValueError if it exists)."""
        raise NotImplementedError("TODO(07.4): register a sequence - see README task 4")

    def free(self, seq_id: int) -> None:
        """Give the sequence's blocks back to the pool and forget it."""
        raise NotImplementedError("TODO(07.4): return the blocks - see README task 4")

    def seq_len(self, seq_id: int) -> int:
        """Tokens the sequence holds (its last layer's count)."""
        raise NotImplementedError("TODO(07.4): a sequence's length - see README task 4")

    def num_free_blocks(self) -> int:
        """Blocks in the free pool."""
        raise NotImplementedError("TODO(07.4): the free pool's size - see README task 4")

    def append(self, seq_id: int, layer: int, k: Tensor, v: Tensor) -> None:
        """Write T tokens of one sequence at one layer, after the ones that layer holds.

        Args:
            k, v: (Hkv, T, D).

        Raises:
            ValueError: unknown seq_id, bad layer, k/v of the wrong shape.
            RuntimeError: ``out of blocks`` when the free pool cannot hold the new tokens
                (nothing is written then).
        """
        raise NotImplementedError("TODO(07.4): take blocks, scatter the tokens - see README task 4")

    def gather(self, seq_id: int, layer: int) -> tuple[Tensor, Tensor]:
        """(k, v), each (Hkv, L, D): the L tokens the sequence holds at ``layer``, in order."""
        raise NotImplementedError("TODO(07.4): read through the block table - see README task 4")

    def utilization(self) -> float:
        """Used token slots / reserved slots (blocks held x block_size); 0.0 when none held."""
        raise NotImplementedError("TODO(07.4): used / reserved - see README task 4")

    def reserved_bytes(self) -> int:
        """Bytes of K and V in the blocks sequences hold (every layer)."""
        raise NotImplementedError("TODO(07.4): bytes of the held blocks - see README task 4")


def paged_attention(
    q: Tensor, cache: PagedKVCache, seq_ids: list[int], layer: int, *, scale: float | None = None
) -> Tensor:
    """Causal attention of the newest T tokens of each sequence over its paged keys.

    Args:
        q: (B, H, T, D), row b belonging to ``seq_ids[b]``; H a multiple of the cache's Hkv
            (GQA as in task 2). Each sequence already holds these T tokens at ``layer``.
        cache: the paged cache.
        seq_ids: B allocated sequence ids, in any order.
        layer: the layer whose keys to read.
        scale: as in task 1.

    Returns:
        (B, H, T, D): equal to attention over the same keys in a ``KVCache``.

    Raises:
        ValueError: q not 4-d, seq_ids not one per row, an unknown sequence, heads or head_dim
            that do not fit the cache, a sequence holding fewer than T tokens.
    """
    raise NotImplementedError(
        "TODO(07.4): gather keys through the block tables, attend - see README task 4"
    )


# Task 5 ------------------------------------------------------------------------------------


class GPT(nn.Module):
    """GPT-2: token + learned position embeddings, ``n_layer`` pre-LN blocks
    (x + attn(ln_1(x)); x + mlp(ln_2(x)), mlp = Linear(d, 4d), tanh-GELU, Linear(4d, d)),
    a final LayerNorm ``ln_f``, and an LM head tied to the token embedding (logits =
    ln_f(x) @ wte.weight^T).

    Args:
        config: a ``GPTConfig``.
    """

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        raise NotImplementedError(
            "TODO(07.5): embeddings, blocks of your MultiHeadAttention, ln_f - see README task 5"
        )

    @classmethod
    def from_hf(cls, hf_model: Any) -> GPT:
        """A GPT (eval mode, same dtype and device) with the weights of a Hugging Face
        ``GPT2LMHeadModel``. HF's ``Conv1D`` stores weights as (in, out) and computes
        x @ W + b; ``c_attn`` holds q, k and v side by side. TypeError for another model."""
        raise NotImplementedError("TODO(07.5): copy the Hugging Face weights - see README task 5")

    def forward(
        self, input_ids: Tensor, *, attention_mask: Tensor | None = None, cache: Any = None
    ) -> Tensor:
        """Logits of every input position.

        Args:
            input_ids: (B, T) int64 token ids.
            attention_mask: optional (B, past + T) of 1 (real) and 0 (left padding), covering
                the cached tokens and the new ones. Positions count from each sequence's first
                real token: position = cumsum(mask) - 1 (clamped at 0); padded keys are never
                attended. Without a mask, positions continue from the cache's lengths.
            cache: optional ``KVCache`` (n_layer layers, n_head kv heads): attend over it and
                append the new tokens.

        Returns:
            (B, T, vocab_size) logits.

        Raises:
            TypeError/ValueError: bad ids, a mask of the wrong shape, positions past
                ``n_positions``, a mask with a cache whose sequences differ in length.
        """
        raise NotImplementedError(
            "TODO(07.5): embed, run the blocks, tied head - see README task 5"
        )


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
    """Autoregressive decoding: prefill the prompt, then one token per step.

    Args:
        model: a ``GPT``.
        input_ids: (B, T) prompts, left-padded to a common length.
        max_new_tokens: tokens to add (>= 0).
        attention_mask: (B, T) 1 for real tokens, 0 for left padding (default: all 1).
        use_cache: keep keys and values in a ``KVCache`` (one token's work per step) instead of
            re-running the whole prefix.
        temperature: 0 means greedy (argmax); > 0 samples from softmax(logits / temperature).
        top_k: sample only among the k most likely tokens.
        top_p: nucleus sampling: keep the most likely tokens until their probability reaches
            top_p (a token is dropped when the tokens ranked above it already reach top_p).
        seed: seeds a ``torch.Generator`` for sampling: the same seed gives the same tokens.

    Returns:
        (B, T + n) int64 with n <= max_new_tokens: once a sequence emits ``eos_token_id``
        (``model.config``), every later token of it is ``eos_token_id``; decoding stops early
        when every sequence has finished. Same result as Hugging Face's greedy ``generate``
        with ``pad_token_id = eos_token_id``.

    Raises:
        TypeError/ValueError: as ``validation.sampling`` (``top_p`` outside (0, 1], a negative
            temperature...), bad ids or mask, prompt + new tokens past ``n_positions``.
    """
    raise NotImplementedError("TODO(07.5): prefill, decode loop, sampling, EOS - see README task 5")
