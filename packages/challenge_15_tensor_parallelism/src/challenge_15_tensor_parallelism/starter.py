"""Challenge 15 - tensor and sequence parallelism. YOUR FILE: fill in every TODO.

Megatron-LM's recipe for one transformer layer over ``world`` GPUs. Every rank holds a slice
of each weight; two conjugate operators move activations between "replicated" (every rank has
the whole tensor) and "parallel" (each rank has its part):

- f = ``copy_to_tensor_parallel``: identity forward, all-reduce of the gradient backward. It
  sits before a column-parallel layer: every rank uses the whole input, and each rank's
  gradient of it is only its own columns' share, so the shares must be summed.
- g = ``reduce_from_tensor_parallel``: all-reduce forward, identity backward. It ends a
  row-parallel layer, whose ranks each hold a partial sum of the output.

An MLP is ``f -> column-parallel fc -> GELU -> row-parallel proj -> g``; attention is
``f -> this rank's heads -> row-parallel o_proj -> g``: one all-reduce forward and one backward
per sub-layer, and nothing between the two linears.

Sequence parallelism (task 2) cuts the tokens instead where the work is replicated: the
LayerNorms, dropouts and residual adds run on ``(B, T / world, hidden)``. Then an all-gather of
the sequence replaces f's identity, and a reduce-scatter replaces g's all-reduce: the same
bytes on the wire (an all-reduce *is* a reduce-scatter then an all-gather), but activations
between the sub-layers take ``1 / world`` of the memory.

Conventions every function keeps:
- Activations are ``(B, T, hidden)``; the sequence dimension is 1.
- Weights use ``nn.Linear``'s layout ``(out_features, in_features)``; Hugging Face's GPT-2
  stores its ``Conv1D`` weights transposed, ``(in_features, out_features)``.
- Rank ``r`` of ``world`` holds the ``r``-th of ``world`` equal, contiguous blocks: features
  ``[r * n / world, (r + 1) * n / world)``, query heads, key/value heads and tokens alike.
- ``group=None`` means the default process group (``torch.distributed``'s WORLD). Every rank
  calls the same layers in the same order with tensors of the same shapes: a collective that
  one rank skips makes the others fail at the process group's timeout.
- Communicate only through ``torch.distributed`` (``all_reduce``, ``all_gather_into_tensor``
  or ``all_gather``, ``reduce_scatter_tensor`` or ``reduce_scatter``): the tests count the
  calls. Backward must not rely on autograd through a collective: the operators are
  ``torch.autograd.Function``s with their own backward.

Run it: ``uv run prep test 15`` (``--task K`` for one task). The tests start 2 and 4 gloo ranks
on the CPU and compare in float64 against the same model whole on one device.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.distributed import ProcessGroup
from torch.nn import functional

from challenge_15_tensor_parallelism.plans import CommVolume, MemoryPlan
from challenge_15_tensor_parallelism.reference import CausalSelfAttention

__all__ = [
    "ColumnParallelLinear",
    "CopyToTensorParallel",
    "GatherFromSequenceParallel",
    "ParallelGPT2Block",
    "ParallelGPT2Model",
    "ParallelMLP",
    "ParallelSelfAttention",
    "ReduceFromTensorParallel",
    "ReduceScatterToSequenceParallel",
    "RowParallelLinear",
    "ScatterToSequenceParallel",
    "comm_volume",
    "copy_to_tensor_parallel",
    "gather_from_sequence_parallel",
    "gather_state_dict",
    "head_ranges",
    "memory_plan",
    "reduce_from_tensor_parallel",
    "reduce_scatter_to_sequence_parallel",
    "scatter_to_sequence_parallel",
    "shard_model",
]

_ = (CausalSelfAttention, CommVolume, MemoryPlan, dist, functional)  # used by the code you write


def _group_rank_size(group: ProcessGroup | None) -> tuple[int, int]:
    """(rank, world size) in ``group``; a clear error outside an initialised process group.
    (Given.)"""
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "torch.distributed is not initialised: launch with torchrun and call "
            "dist.init_process_group(...) before building or calling a parallel layer"
        )
    return dist.get_rank(group), dist.get_world_size(group)


def _split(n: int, world: int, name: str) -> int:
    """``n / world``, or a ValueError naming ``name``. (Given.)"""
    if n % world:
        raise ValueError(f"{name}={n} is not divisible by the world size {world}")
    return n // world


# ------------------------------------------------------------------------------------------
# Task 1: the conjugate operators f and g, and the tensor-parallel layers


class CopyToTensorParallel(torch.autograd.Function):
    """f: identity forward; backward all-reduces (sums) the gradient over ``group``."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        raise NotImplementedError(
            "TODO(15.1): f's forward: return x unchanged, keep group for backward - see README task 1"
        )

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedError(
            "TODO(15.1): f's backward: all-reduce the gradient - see README task 1"
        )


class ReduceFromTensorParallel(torch.autograd.Function):
    """g: forward all-reduces (sums) ``x`` over ``group`` (without changing the caller's
    tensor); identity backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        raise NotImplementedError(
            "TODO(15.1): g's forward: all-reduce a copy of x - see README task 1"
        )

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedError(
            "TODO(15.1): g's backward: pass the gradient through - see README task 1"
        )


def copy_to_tensor_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    """f (``CopyToTensorParallel``) applied to ``x``. (Given.)"""
    return CopyToTensorParallel.apply(x, group)  # type: ignore[no-any-return]


def reduce_from_tensor_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    """g (``ReduceFromTensorParallel``) applied to ``x``. (Given.)"""
    return ReduceFromTensorParallel.apply(x, group)  # type: ignore[no-any-return]


def head_ranges(n_heads: int, n_kv_heads: int, world_size: int, rank: int) -> tuple[range, range]:
    """The query heads and key/value heads rank ``rank`` holds.

    Query heads are split in contiguous blocks: rank r holds
    ``[r * n_heads / world, (r + 1) * n_heads / world)``. Query head h attends with key/value
    head ``h // (n_heads / n_kv_heads)`` (grouped-query attention), so each rank must hold the
    kv heads its query heads use: with ``n_kv_heads >= world_size`` the kv heads are split in
    contiguous blocks too; with fewer kv heads than ranks each kv head is replicated on the
    ``world_size / n_kv_heads`` neighbouring ranks that use it, and a rank holds exactly one.

    Returns:
        ``(q_heads, kv_heads)``, two ``range`` objects.

    Raises:
        ValueError: ``rank`` not in ``[0, world_size)``; ``n_heads`` not divisible by
            ``world_size``; ``n_kv_heads`` not dividing ``n_heads``; ``n_kv_heads`` neither a
            multiple nor a divisor of ``world_size``. The message names the argument.
    """
    raise NotImplementedError(
        "TODO(15.1): this rank's query and key/value heads - see README task 1"
    )


class ColumnParallelLinear(nn.Module):
    """``y = x W^T + b`` with W's rows (output features) split across ranks.

    Args:
        in_features: input width; every rank uses the whole input.
        out_features: output width, divisible by the world size.
        bias: whether there is a bias (split like the rows).
        group: the tensor-parallel process group (``None``: the default group).
        sequence_parallel: the input is this rank's sequence shard ``(B, T / world, in)``
            and is all-gathered first (task 2) instead of passing through f.

    Parameters: ``weight`` (out_features / world, in_features) holds rows
    ``[r * out / world, (r + 1) * out / world)`` of the full weight; ``bias`` the same slice.

    ``forward(x)``: x (B, T, in_features), or (B, T / world, in_features) with
    ``sequence_parallel``; returns (B, T, out_features / world), this rank's output features.
    A ValueError names ``x`` when its last dimension is not ``in_features``.

    Raises:
        RuntimeError: no initialised process group.
        ValueError: ``out_features`` not divisible by the world size.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        group: ProcessGroup | None = None,
        sequence_parallel: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.rank, self.world_size = _group_rank_size(group)
        self.group, self.sequence_parallel = group, sequence_parallel
        self.in_features, self.out_features = in_features, out_features
        local = _split(out_features, self.world_size, "out_features")
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(local, in_features, **kw))
        self.bias = nn.Parameter(torch.zeros(local, **kw)) if bias else None
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(
            "TODO(15.1): f (or the sequence all-gather), then this rank's columns - see README task 1"
        )


class RowParallelLinear(nn.Module):
    """``y = x W^T + b`` with W's columns (input features) split across ranks.

    Args:
        in_features: full input width, divisible by the world size; each rank receives its
            block of features (the output of a column-parallel layer).
        out_features: output width.
        bias: whether there is a bias: whole on every rank, added once to the sum.
        group: the tensor-parallel process group (``None``: the default group).
        sequence_parallel: reduce-scatter the output along the sequence (task 2) instead of
            all-reducing it: returns this rank's tokens ``(B, T / world, out)``.

    Parameters: ``weight`` (out_features, in_features / world) holds columns
    ``[r * in / world, (r + 1) * in / world)`` of the full weight; ``bias`` (out_features).

    ``forward(x)``: x (B, T, in_features / world); returns (B, T, out_features), the same on
    every rank (or this rank's tokens with ``sequence_parallel``). A ValueError names ``x``
    when its last dimension is not this rank's ``in_features / world``.

    Raises:
        RuntimeError: no initialised process group.
        ValueError: ``in_features`` not divisible by the world size.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        *,
        bias: bool = True,
        group: ProcessGroup | None = None,
        sequence_parallel: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.rank, self.world_size = _group_rank_size(group)
        self.group, self.sequence_parallel = group, sequence_parallel
        self.in_features, self.out_features = in_features, out_features
        local = _split(in_features, self.world_size, "in_features")
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(out_features, local, **kw))
        self.bias = nn.Parameter(torch.zeros(out_features, **kw)) if bias else None
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(
            "TODO(15.1): partial product, g (or the reduce-scatter), then the bias once - see README task 1"
        )


class ParallelMLP(nn.Module):
    """GPT-2's MLP, ``dropout(proj(gelu_tanh(fc(x))))``: fc a ``ColumnParallelLinear``
    (hidden -> ffn_hidden), proj a ``RowParallelLinear`` (ffn_hidden -> hidden). GELU is
    ``functional.gelu(..., approximate="tanh")`` (GPT-2's ``gelu_new``).

    ``forward(x)``: (B, T, hidden) -> (B, T, hidden); with ``sequence_parallel`` both are this
    rank's tokens (B, T / world, hidden).
    """

    def __init__(
        self,
        hidden: int,
        ffn_hidden: int,
        *,
        group: ProcessGroup | None = None,
        sequence_parallel: bool = False,
        dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"group": group, "sequence_parallel": sequence_parallel}
        kw |= {"device": device, "dtype": dtype}
        self.fc = ColumnParallelLinear(hidden, ffn_hidden, **kw)
        self.proj = RowParallelLinear(ffn_hidden, hidden, **kw)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError("TODO(15.1): fc, GELU, proj, dropout - see README task 1")


class ParallelSelfAttention(nn.Module):
    """Causal self-attention over this rank's query heads and the key/value heads they use.

    Args:
        hidden: model width, divisible by ``n_heads`` (head_dim = hidden / n_heads).
        n_heads: query heads, divisible by the world size.
        n_kv_heads: key/value heads (``None``: ``n_heads``); see ``head_ranges``.
        bias: whether the projections have biases.
        group, sequence_parallel: as in the linear layers.
        attn_dropout: dropout on the attention probabilities (training only).
        resid_dropout: dropout on the output.

    Parameters:
        ``qkv_proj``: an ``nn.Linear(hidden, (hq + 2 * hkv) * head_dim)``, this rank's rows of
            the q, k and v projections stacked: its hq query heads, then its hkv key heads,
            then its hkv value heads (each head ``head_dim`` consecutive rows, in head order).
        ``o_proj``: a ``RowParallelLinear(n_heads * head_dim, hidden)``: this rank's heads'
            columns of the output projection.
    ``q_heads``, ``kv_heads``: the ranges from ``head_ranges``.

    ``forward(x)``: (B, T, hidden) -> (B, T, hidden), causal (token t attends to tokens
    <= t), scaled by 1 / sqrt(head_dim); with ``sequence_parallel`` input and output are this
    rank's tokens (B, T / world, hidden) and the whole sequence is gathered for attention.

    Raises:
        ValueError: ``hidden`` not divisible by ``n_heads``; a head layout ``head_ranges``
            refuses; ``x`` of the wrong width (names ``x``).
    """

    def __init__(
        self,
        hidden: int,
        n_heads: int,
        n_kv_heads: int | None = None,
        *,
        bias: bool = True,
        group: ProcessGroup | None = None,
        sequence_parallel: bool = False,
        attn_dropout: float = 0.0,
        resid_dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.rank, self.world_size = _group_rank_size(group)
        self.group, self.sequence_parallel = group, sequence_parallel
        n_kv_heads = n_heads if n_kv_heads is None else n_kv_heads
        if hidden % n_heads:
            raise ValueError(f"hidden={hidden} is not divisible by n_heads={n_heads}")
        self.hidden, self.n_heads, self.n_kv_heads = hidden, n_heads, n_kv_heads
        self.head_dim = hidden // n_heads
        self.q_heads, self.kv_heads = head_ranges(n_heads, n_kv_heads, self.world_size, self.rank)
        D, hq, hkv = self.head_dim, len(self.q_heads), len(self.kv_heads)
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.qkv_proj = nn.Linear(hidden, (hq + 2 * hkv) * D, bias=bias, **kw)
        self.o_proj = RowParallelLinear(
            n_heads * D, hidden, bias=bias, group=group, sequence_parallel=sequence_parallel, **kw
        )
        self.attn_dropout = attn_dropout
        self.resid_dropout = nn.Dropout(resid_dropout)

    def forward(self, x: Tensor) -> Tensor:
        raise NotImplementedError(
            "TODO(15.1): f (or gather), local q/k/v heads, causal attention, o_proj - see README task 1"
        )


# ------------------------------------------------------------------------------------------
# Task 2: sequence parallelism


class GatherFromSequenceParallel(torch.autograd.Function):
    """Forward: all-gather the sequence shards, (B, T / world, ...) -> (B, T, ...), rank order.

    Backward: with ``tensor_parallel_output_grad`` (the gathered tensor feeds a column-
    parallel layer, so each rank's gradient is a partial sum) reduce-scatter the gradient
    back to this rank's tokens; without it (the gathered tensor feeds work every rank repeats,
    so every rank has the whole gradient) just take this rank's tokens of it.
    """

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, group: ProcessGroup | None, tensor_parallel_output_grad: bool
    ) -> Tensor:
        raise NotImplementedError("TODO(15.2): all-gather along the sequence - see README task 2")

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        raise NotImplementedError(
            "TODO(15.2): reduce-scatter (or split) the gradient - see README task 2"
        )


class ReduceScatterToSequenceParallel(torch.autograd.Function):
    """Forward: sum (B, T, ...) over ranks and keep this rank's tokens, (B, T / world, ...).
    Backward: all-gather the gradient along the sequence. Raises ValueError when T is not
    divisible by the world size ("sequence length ...")."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        raise NotImplementedError(
            "TODO(15.2): reduce-scatter along the sequence - see README task 2"
        )

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedError(
            "TODO(15.2): all-gather the gradient along the sequence - see README task 2"
        )


class ScatterToSequenceParallel(torch.autograd.Function):
    """Forward: keep this rank's tokens of a replicated (B, T, ...) tensor (no communication).
    Backward: all-gather the gradient along the sequence. Raises ValueError when T is not
    divisible by the world size ("sequence length ...")."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        raise NotImplementedError(
            "TODO(15.2): take this rank's block of tokens - see README task 2"
        )

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        raise NotImplementedError(
            "TODO(15.2): all-gather the gradient along the sequence - see README task 2"
        )


def gather_from_sequence_parallel(
    x: Tensor, group: ProcessGroup | None = None, tensor_parallel_output_grad: bool = True
) -> Tensor:
    """``GatherFromSequenceParallel`` applied to ``x``. (Given.)"""
    return GatherFromSequenceParallel.apply(x, group, tensor_parallel_output_grad)  # type: ignore[no-any-return]


def reduce_scatter_to_sequence_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    """``ReduceScatterToSequenceParallel`` applied to ``x``. (Given.)"""
    return ReduceScatterToSequenceParallel.apply(x, group)  # type: ignore[no-any-return]


def scatter_to_sequence_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    """``ScatterToSequenceParallel`` applied to ``x``. (Given.)"""
    return ScatterToSequenceParallel.apply(x, group)  # type: ignore[no-any-return]


class ParallelGPT2Block(nn.Module):
    """A GPT-2 block, ``h = x + attn(ln_1(x))``, ``out = h + mlp(ln_2(h))``, tensor-parallel.

    With ``sequence_parallel`` the input and output are this rank's tokens
    (B, T / world, hidden) and the LayerNorms run on them: each rank's LayerNorm gradient then
    covers its own tokens only, so the replicated LayerNorm weights must get the sum over
    ranks (as must the row-parallel biases, added to the shards). (Given but ``_norm``.)
    """

    def __init__(
        self,
        hidden: int,
        n_heads: int,
        ffn_hidden: int,
        *,
        eps: float = 1e-5,
        group: ProcessGroup | None = None,
        sequence_parallel: bool = False,
        attn_dropout: float = 0.0,
        resid_dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        par: dict[str, Any] = {"group": group, "sequence_parallel": sequence_parallel, **kw}
        self.group, self.sequence_parallel = group, sequence_parallel
        self.ln_1 = nn.LayerNorm(hidden, eps=eps, **kw)
        self.attn = ParallelSelfAttention(
            hidden, n_heads, attn_dropout=attn_dropout, resid_dropout=resid_dropout, **par
        )
        self.ln_2 = nn.LayerNorm(hidden, eps=eps, **kw)
        self.mlp = ParallelMLP(hidden, ffn_hidden, dropout=resid_dropout, **par)

    def _norm(self, ln: nn.LayerNorm, x: Tensor) -> Tensor:
        if not self.sequence_parallel:
            out: Tensor = ln(x)  # every rank sees the whole sequence: identical gradients
            return out
        raise NotImplementedError(
            "TODO(15.2): LayerNorm on the shard, its weight gradients summed over ranks - see README task 2"
        )

    def forward(self, x: Tensor) -> Tensor:  # (B, T, hidden), or (B, T / world, hidden) with SP
        h: Tensor = x + self.attn(self._norm(self.ln_1, x))
        out: Tensor = h + self.mlp(self._norm(self.ln_2, h))
        return out


class ParallelGPT2Model(nn.Module):
    """GPT-2 (token and position embeddings, blocks, final LayerNorm) with tensor-parallel
    blocks; the embeddings and ``ln_f`` are replicated. ``forward(input_ids)``: (B, T) int64 ->
    the last hidden state (B, T, hidden), whole on every rank. With ``sequence_parallel`` the
    embeddings are cut into sequence shards before the first block and gathered after
    ``ln_f`` (which runs on the shard). (Given.)"""

    def __init__(
        self,
        vocab_size: int,
        n_positions: int,
        hidden: int,
        n_heads: int,
        n_layers: int,
        ffn_hidden: int,
        *,
        eps: float = 1e-5,
        group: ProcessGroup | None = None,
        sequence_parallel: bool = False,
        embd_dropout: float = 0.0,
        attn_dropout: float = 0.0,
        resid_dropout: float = 0.0,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.group, self.sequence_parallel = group, sequence_parallel
        self.wte = nn.Embedding(vocab_size, hidden, **kw)
        self.wpe = nn.Embedding(n_positions, hidden, **kw)
        self.drop = nn.Dropout(embd_dropout)
        self.h = nn.ModuleList(
            ParallelGPT2Block(
                hidden,
                n_heads,
                ffn_hidden,
                eps=eps,
                group=group,
                sequence_parallel=sequence_parallel,
                attn_dropout=attn_dropout,
                resid_dropout=resid_dropout,
                **kw,
            )
            for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(hidden, eps=eps, **kw)

    def forward(self, input_ids: Tensor) -> Tensor:
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device)
        h = self.drop(self.wte(input_ids) + self.wpe(positions))  # (B, T, hidden)
        if self.sequence_parallel:
            h = scatter_to_sequence_parallel(h, self.group)  # (B, T / world, hidden)
        for block in self.h:
            h = block(h)
        if not self.sequence_parallel:
            out: Tensor = self.ln_f(h)  # (B, T, hidden)
            return out
        weight = copy_to_tensor_parallel(self.ln_f.weight, self.group)
        bias = copy_to_tensor_parallel(self.ln_f.bias, self.group)
        h = functional.layer_norm(h, self.ln_f.normalized_shape, weight, bias, self.ln_f.eps)
        # the whole output feeds replicated work: the gradient of each shard is its own slice
        return gather_from_sequence_parallel(h, self.group, False)  # (B, T, hidden)


# ------------------------------------------------------------------------------------------
# Task 3: shard a single-device model, and gather it back


def shard_model(
    model: nn.Module,
    world_size: int,
    *,
    group: ProcessGroup | None = None,
    sequence_parallel: bool = False,
) -> nn.Module:
    """This rank's tensor-parallel copy of a single-device model, on its device and dtype.

    Args:
        model: a ``transformers`` ``GPT2Model`` (-> ``ParallelGPT2Model``), one of its
            ``GPT2Block``s (-> ``ParallelGPT2Block``), or a
            ``reference.CausalSelfAttention`` (-> ``ParallelSelfAttention``, GQA included).
            Every rank passes the same weights (same seed or the same checkpoint).
        world_size: the number of ranks; must equal the size of ``group``.
        group: the tensor-parallel process group (``None``: the default group).
        sequence_parallel: build the sequence-parallel variant.

    Returns the new module with this rank's slices copied from ``model``'s state: GPT-2's
    ``c_attn`` Conv1D weight is (hidden, 3 * hidden), columns [q | k | v], head h of each in
    columns ``[h * head_dim, (h + 1) * head_dim)``; ``c_fc`` and ``c_proj`` are (in, out).
    Sizes and dropouts come from the model (``attn.embed_dim``, ``attn.num_heads``,
    ``mlp.c_fc.nf``, ``ln_1.eps``, the dropout modules' ``p``).

    Raises:
        ValueError: ``world_size`` differs from the group's size.
        TypeError: ``model`` is none of the three.
    """
    raise NotImplementedError(
        "TODO(15.3): build the parallel module and copy this rank's slices - see README task 3"
    )


def gather_state_dict(module: nn.Module) -> dict[str, Tensor]:
    """The inverse of ``shard_model``: the full single-device state dict, on every rank.

    A collective (every rank of the module's group calls it). For a ``ParallelGPT2Model`` or
    ``ParallelGPT2Block`` the keys and layouts are Hugging Face's (``h.0.attn.c_attn.weight``
    as (hidden, 3 * hidden), ...: ``load_state_dict`` of the result restores the model); for a
    ``ParallelSelfAttention``, ``CausalSelfAttention``'s (``q_proj.weight``, ...).

    Raises:
        TypeError: ``module`` is none of the three parallel modules.
    """
    raise NotImplementedError(
        "TODO(15.3): all-gather every shard back into the single-device layout - see README task 3"
    )


# ------------------------------------------------------------------------------------------
# Task 4: memory plan


def memory_plan(
    n_params: int,
    dtype: torch.dtype,
    world_size: int,
    *,
    n_layers: int,
    n_kv_heads: int,
    head_dim: int,
    batch: int,
    seq_len: int,
    kv_dtype: torch.dtype | None = None,
    hidden: int,
    ffn_hidden: int | None = None,
    gpu_bytes: int = 80 * 10**9,
) -> MemoryPlan:
    """Per-GPU bytes of serving a model with ``world_size``-way tensor parallelism.

    - weights: ``ceil(n_params * itemsize(dtype) / world_size)`` (every layer split evenly);
    - KV cache: K and V for ``n_layers`` layers, ``batch * seq_len`` tokens, this rank's kv
      heads (``n_kv_heads / world_size``, or one replicated head when there are fewer kv heads
      than ranks), ``head_dim`` each, in ``kv_dtype`` (``None``: ``dtype``);
    - activations: the largest per-layer working set of a prefill of ``batch * seq_len``
      tokens in ``dtype``: the residual stream and its normalised copy (``2 * hidden``, whole
      on every rank) plus this rank's share of the MLP's intermediate
      (``ffn_hidden / world_size``; ``ffn_hidden`` defaults to ``4 * hidden``).

    Returns:
        ``MemoryPlan(weights_bytes, kv_cache_bytes, activation_bytes, gpu_bytes)``; its
        ``fits`` says whether the total fits ``gpu_bytes``.

    Raises:
        ValueError: a size that is not a positive int (names it); ``n_kv_heads`` neither a
            multiple nor a divisor of ``world_size``; ``ffn_hidden`` not divisible.
        TypeError: ``dtype`` or ``kv_dtype`` not a ``torch.dtype`` (names it).
    """
    raise NotImplementedError(
        "TODO(15.4): weights, KV cache and activations per GPU - see README task 4"
    )


# ------------------------------------------------------------------------------------------
# Task 5: communication volume


def comm_volume(
    config: Any,
    world_size: int,
    seq_len: int,
    batch: int,
    *,
    sequence_parallel: bool = False,
    dtype: torch.dtype = torch.float32,
) -> CommVolume:
    """The collectives one transformer layer (``ParallelGPT2Block``) makes in one training
    step, forward and backward, on each rank.

    Args:
        config: anything with the model width as ``n_embd`` (GPT-2) or ``hidden_size``.
        world_size: tensor-parallel ranks.
        seq_len, batch: the step's tokens.
        sequence_parallel: the layer runs with sequence parallelism.
        dtype: the activations' dtype.

    Returns:
        ``CommVolume``: the number of all-reduce, all-gather and reduce-scatter calls and
        their payload bytes (the whole ``batch x seq_len x hidden`` activation for each), as
        the counting wrapper in ``collectives.py`` sees them. Count what this file's layers
        call, parameter-gradient reductions included; one rank makes no calls.

    Raises:
        TypeError: ``config`` has no positive int width.
        ValueError: a size that is not a positive int (names it); with ``sequence_parallel``
            a ``seq_len`` not divisible by ``world_size``.
    """
    raise NotImplementedError(
        "TODO(15.5): count the collectives of one layer's step - see README task 5"
    )
