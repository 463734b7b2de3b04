"""Challenge 15 - reference solution (see ``starter.py`` for the full specification).

What is special here: the sequence-parallel collectives use the single-buffer
``all_gather_into_tensor`` and ``reduce_scatter_tensor`` on a sequence-major copy (no list of
chunks, no concatenation afterwards), and attention is ``F.scaled_dot_product_attention``
with ``enable_gqa`` (fused kernels on a GPU; key/value heads are not copied per query group).
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


def _group_rank_size(group: ProcessGroup | None) -> tuple[int, int]:
    """(rank, world size) in ``group``; a clear error outside an initialised process group."""
    if not dist.is_available() or not dist.is_initialized():
        raise RuntimeError(
            "torch.distributed is not initialised: launch with torchrun and call "
            "dist.init_process_group(...) before building or calling a parallel layer"
        )
    return dist.get_rank(group), dist.get_world_size(group)


def _split(n: int, world: int, name: str) -> int:
    if n % world:
        raise ValueError(f"{name}={n} is not divisible by the world size {world}")
    return n // world


# ------------------------------------------------------------------------------------------
# Task 1: the conjugate operators f and g, and the tensor-parallel layers


class CopyToTensorParallel(torch.autograd.Function):
    """f: identity forward, all-reduce of the gradient backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        ctx.group = group
        return x.view_as(x)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        grad = grad.contiguous()
        dist.all_reduce(grad, group=ctx.group)
        return grad, None


class ReduceFromTensorParallel(torch.autograd.Function):
    """g: all-reduce forward, identity backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        out = x.contiguous().clone()
        dist.all_reduce(out, group=group)
        return out

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return grad, None


def copy_to_tensor_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    return CopyToTensorParallel.apply(x, group)  # type: ignore[no-any-return]


def reduce_from_tensor_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    return ReduceFromTensorParallel.apply(x, group)  # type: ignore[no-any-return]


def head_ranges(n_heads: int, n_kv_heads: int, world_size: int, rank: int) -> tuple[range, range]:
    if world_size < 1 or not 0 <= rank < world_size:
        raise ValueError(f"rank={rank} must be in [0, world_size={world_size})")
    if n_kv_heads < 1 or n_heads % n_kv_heads:
        raise ValueError(f"n_kv_heads={n_kv_heads} must divide n_heads={n_heads}")
    per_rank = _split(n_heads, world_size, "n_heads")
    q = range(rank * per_rank, (rank + 1) * per_rank)
    if n_kv_heads >= world_size:
        kv_per_rank = _split(n_kv_heads, world_size, "n_kv_heads")
        return q, range(rank * kv_per_rank, (rank + 1) * kv_per_rank)
    if world_size % n_kv_heads:
        raise ValueError(
            f"n_kv_heads={n_kv_heads} < world size {world_size} must divide it, so that each "
            "key/value head is replicated on a whole number of ranks"
        )
    kv = rank // (world_size // n_kv_heads)  # the kv head of this rank's query heads
    return q, range(kv, kv + 1)


class ColumnParallelLinear(nn.Module):
    """``y = x W^T + b`` with W's rows (output features) split across ranks."""

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
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x has {x.shape[-1]} features, expected {self.in_features}")
        if self.sequence_parallel:
            x = gather_from_sequence_parallel(x, self.group)  # (B, T, in)
        else:
            x = copy_to_tensor_parallel(x, self.group)  # (B, T, in)
        return functional.linear(x, self.weight, self.bias)  # (B, T, out / world)


class RowParallelLinear(nn.Module):
    """``y = x W^T + b`` with W's columns (input features) split across ranks."""

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
        local = self.weight.shape[1]
        if x.shape[-1] != local:
            raise ValueError(f"x has {x.shape[-1]} features, expected this rank's {local}")
        partial = functional.linear(x, self.weight)  # (B, T, out): this rank's share of the sum
        if self.sequence_parallel:
            y = reduce_scatter_to_sequence_parallel(partial, self.group)  # (B, T / world, out)
            # each rank adds the bias to its own rows only, so its gradient is a partial sum
            bias = None if self.bias is None else copy_to_tensor_parallel(self.bias, self.group)
        else:
            y = reduce_from_tensor_parallel(partial, self.group)  # (B, T, out)
            bias = self.bias
        return y if bias is None else y + bias  # once, after the sum


class ParallelMLP(nn.Module):
    """GPT-2's MLP, ``proj(gelu_tanh(fc(x)))``: fc column-parallel, proj row-parallel."""

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
        h = functional.gelu(self.fc(x), approximate="tanh")  # (B, T, ffn / world)
        out: Tensor = self.dropout(self.proj(h))  # (B, T, hidden) or (B, T / world, hidden)
        return out


def _attend(q: Tensor, k: Tensor, v: Tensor, dropout_p: float) -> Tensor:
    """Causal attention of (B, hq, T, D) queries over (B, hkv, T, D) keys and values:
    ``scaled_dot_product_attention`` with ``enable_gqa`` (fused kernels on a GPU; the key/value
    heads are not copied per query group)."""
    return functional.scaled_dot_product_attention(
        q, k, v, is_causal=True, enable_gqa=q.shape[1] != k.shape[1], dropout_p=dropout_p
    )


class ParallelSelfAttention(nn.Module):
    """Causal self-attention with this rank's query heads and the key/value heads they use."""

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
        # one GEMM for q, k and v: rows are [this rank's q heads | its k heads | its v heads]
        self.qkv_proj = nn.Linear(hidden, (hq + 2 * hkv) * D, bias=bias, **kw)
        self.o_proj = RowParallelLinear(
            n_heads * D, hidden, bias=bias, group=group, sequence_parallel=sequence_parallel, **kw
        )
        self.attn_dropout = attn_dropout
        self.resid_dropout = nn.Dropout(resid_dropout)

    def forward(self, x: Tensor) -> Tensor:
        if x.shape[-1] != self.hidden:
            raise ValueError(f"x has {x.shape[-1]} features, expected hidden={self.hidden}")
        if self.sequence_parallel:
            x = gather_from_sequence_parallel(x, self.group)  # (B, T, hidden)
        else:
            x = copy_to_tensor_parallel(x, self.group)  # (B, T, hidden)
        B, T, _ = x.shape
        D, hq, hkv = self.head_dim, len(self.q_heads), len(self.kv_heads)
        q, k, v = self.qkv_proj(x).split([hq * D, hkv * D, hkv * D], dim=-1)
        q = q.view(B, T, hq, D).transpose(1, 2)  # (B, hq, T, D)
        k = k.view(B, T, hkv, D).transpose(1, 2)  # (B, hkv, T, D)
        v = v.view(B, T, hkv, D).transpose(1, 2)  # (B, hkv, T, D)
        o = _attend(q, k, v, self.attn_dropout if self.training else 0.0)  # (B, hq, T, D)
        o = o.transpose(1, 2).reshape(B, T, hq * D)  # (B, T, hq * D)
        out: Tensor = self.resid_dropout(self.o_proj(o))  # (B, T, hidden) or (B, T / world, hidden)
        return out


# ------------------------------------------------------------------------------------------
# Task 2: sequence parallelism


def _all_gather_seq(x: Tensor, group: ProcessGroup | None) -> Tensor:
    """Concatenate every rank's ``x`` along dim 1: (B, t, ...) -> (B, world * t, ...)."""
    world = dist.get_world_size(group)
    shard = x.transpose(0, 1).contiguous()  # (t, B, ...): the gathered dim leads
    out = shard.new_empty((world * shard.shape[0], *shard.shape[1:]))  # (world * t, B, ...)
    dist.all_gather_into_tensor(out, shard, group=group)
    return out.transpose(0, 1)  # (B, world * t, ...)


def _reduce_scatter_seq(x: Tensor, group: ProcessGroup | None) -> Tensor:
    """Sum ``x`` over ranks and keep this rank's block of dim 1: (B, T, ...) -> (B, T / world, ...)."""
    world = dist.get_world_size(group)
    full = x.transpose(0, 1).contiguous()  # (T, B, ...)
    if full.shape[0] % world:
        raise ValueError(
            f"sequence length {full.shape[0]} is not divisible by the world size {world}"
        )
    out = full.new_empty((full.shape[0] // world, *full.shape[1:]))  # (T / world, B, ...)
    dist.reduce_scatter_tensor(out, full, group=group)
    return out.transpose(0, 1)  # (B, T / world, ...)


def _split_seq(x: Tensor, group: ProcessGroup | None) -> Tensor:
    rank, world = dist.get_rank(group), dist.get_world_size(group)
    T = x.shape[1]
    if T % world:
        raise ValueError(f"sequence length {T} is not divisible by the world size {world}")
    return x[:, rank * (T // world) : (rank + 1) * (T // world)].contiguous()


class GatherFromSequenceParallel(torch.autograd.Function):
    """All-gather along the sequence forward; backward reduce-scatter (the consumer is tensor-
    parallel, so each rank's gradient is a partial sum) or split (the consumer is replicated)."""

    @staticmethod
    def forward(
        ctx: Any, x: Tensor, group: ProcessGroup | None, tensor_parallel_output_grad: bool
    ) -> Tensor:
        ctx.group, ctx.reduce = group, tensor_parallel_output_grad
        return _all_gather_seq(x, group)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:
        if ctx.reduce:
            return _reduce_scatter_seq(grad, ctx.group), None, None
        return _split_seq(grad, ctx.group), None, None


class ReduceScatterToSequenceParallel(torch.autograd.Function):
    """Reduce-scatter along the sequence forward; all-gather backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        ctx.group = group
        return _reduce_scatter_seq(x, group)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return _all_gather_seq(grad, ctx.group), None


class ScatterToSequenceParallel(torch.autograd.Function):
    """Keep this rank's block of the sequence forward (no communication); all-gather backward."""

    @staticmethod
    def forward(ctx: Any, x: Tensor, group: ProcessGroup | None) -> Tensor:
        ctx.group = group
        return _split_seq(x, group)

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:
        return _all_gather_seq(grad, ctx.group), None


def gather_from_sequence_parallel(
    x: Tensor, group: ProcessGroup | None = None, tensor_parallel_output_grad: bool = True
) -> Tensor:
    return GatherFromSequenceParallel.apply(x, group, tensor_parallel_output_grad)  # type: ignore[no-any-return]


def reduce_scatter_to_sequence_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    return ReduceScatterToSequenceParallel.apply(x, group)  # type: ignore[no-any-return]


def scatter_to_sequence_parallel(x: Tensor, group: ProcessGroup | None = None) -> Tensor:
    return ScatterToSequenceParallel.apply(x, group)  # type: ignore[no-any-return]


class ParallelGPT2Block(nn.Module):
    """A GPT-2 block, tensor-parallel; with ``sequence_parallel`` its input and output are this
    rank's sequence shard and the LayerNorms run on that shard."""

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
        # on a shard, each rank's LayerNorm gradient covers its own tokens only: f sums them
        weight = copy_to_tensor_parallel(ln.weight, self.group)
        bias = copy_to_tensor_parallel(ln.bias, self.group)
        return functional.layer_norm(x, ln.normalized_shape, weight, bias, ln.eps)

    def forward(self, x: Tensor) -> Tensor:  # (B, T, hidden), or (B, T / world, hidden) with SP
        h: Tensor = x + self.attn(self._norm(self.ln_1, x))
        out: Tensor = h + self.mlp(self._norm(self.ln_2, h))
        return out


class ParallelGPT2Model(nn.Module):
    """GPT-2 (embeddings, blocks, final LayerNorm) with tensor-parallel blocks; embeddings and
    the final LayerNorm are replicated. Input ids (B, T); output the last hidden state
    (B, T, hidden), whole on every rank."""

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


def _hf_block_sizes(block: Any) -> dict[str, Any]:
    return {
        "hidden": int(block.attn.embed_dim),
        "n_heads": int(block.attn.num_heads),
        "ffn_hidden": int(block.mlp.c_fc.nf),
        "eps": float(block.ln_1.eps),
        "attn_dropout": float(block.attn.attn_dropout.p),
        "resid_dropout": float(block.attn.resid_dropout.p),
    }


def _qkv_rows(attn: ParallelSelfAttention) -> Tensor:
    """Rows of the full [q; k; v] projection (n_heads + 2 n_kv_heads heads of head_dim rows)
    that this rank's fused projection holds, in its order."""
    D, hq, hkv = attn.head_dim, attn.n_heads, attn.n_kv_heads

    def rows(heads: range, offset: int) -> Tensor:
        return torch.arange(heads.start * D, heads.stop * D) + offset

    return torch.cat(
        [rows(attn.q_heads, 0), rows(attn.kv_heads, hq * D), rows(attn.kv_heads, (hq + hkv) * D)]
    )


def _load_attention(
    attn: ParallelSelfAttention, w: Tensor, b: Tensor | None, wo: Tensor, bo: Tensor | None
) -> None:
    """Load from full weights in nn.Linear layout: ``w`` ([q; k; v] rows, hidden), ``wo``
    (hidden, n_heads * head_dim)."""
    index = _qkv_rows(attn)
    q = attn.q_heads
    cols = slice(q.start * attn.head_dim, q.stop * attn.head_dim)
    with torch.no_grad():
        attn.qkv_proj.weight.copy_(w[index])
        if b is not None:
            attn.qkv_proj.bias.copy_(b[index])
        attn.o_proj.weight.copy_(wo[:, cols])
        if bo is not None and attn.o_proj.bias is not None:
            attn.o_proj.bias.copy_(bo)


def _rows(t: Tensor, rank: int, world: int) -> Tensor:
    return t.chunk(world, dim=0)[rank]


def _load_block(ours: ParallelGPT2Block, block: Any) -> None:
    rank, world = ours.attn.rank, ours.attn.world_size
    attn, mlp = block.attn, block.mlp
    with torch.no_grad():
        ours.ln_1.load_state_dict(block.ln_1.state_dict())
        ours.ln_2.load_state_dict(block.ln_2.state_dict())
        # HF's Conv1D weight is (in, out): its transpose is nn.Linear's (out, in)
        _load_attention(
            ours.attn, attn.c_attn.weight.t(), attn.c_attn.bias,
            attn.c_proj.weight.t(), attn.c_proj.bias,
        )  # fmt: skip
        ours.mlp.fc.weight.copy_(_rows(mlp.c_fc.weight.t(), rank, world))
        assert ours.mlp.fc.bias is not None
        assert ours.mlp.proj.bias is not None
        ours.mlp.fc.bias.copy_(_rows(mlp.c_fc.bias, rank, world))
        ours.mlp.proj.weight.copy_(_rows(mlp.c_proj.weight, rank, world).t())
        ours.mlp.proj.bias.copy_(mlp.c_proj.bias)


def shard_model(
    model: nn.Module,
    world_size: int,
    *,
    group: ProcessGroup | None = None,
    sequence_parallel: bool = False,
) -> nn.Module:
    _, size = _group_rank_size(group)
    if world_size != size:
        raise ValueError(f"world_size={world_size} but the process group has {size} ranks")
    weight = next(model.parameters())
    kw: dict[str, Any] = {"group": group, "sequence_parallel": sequence_parallel}
    kw |= {"device": weight.device, "dtype": weight.dtype}
    kind = type(model).__name__
    if isinstance(model, CausalSelfAttention):
        attn = ParallelSelfAttention(
            model.hidden, model.n_heads, model.n_kv_heads, bias=model.q_proj.bias is not None, **kw
        )
        projections = (model.q_proj, model.k_proj, model.v_proj)
        w = torch.cat([p.weight for p in projections])
        b = None if model.q_proj.bias is None else torch.cat([p.bias for p in projections])
        _load_attention(attn, w, b, model.o_proj.weight, model.o_proj.bias)
        return attn
    if kind == "GPT2Block":
        block = ParallelGPT2Block(**_hf_block_sizes(model), **kw)
        _load_block(block, model)
        return block
    if kind == "GPT2Model":
        hf: Any = model
        first = _hf_block_sizes(hf.h[0])
        ours = ParallelGPT2Model(
            int(hf.wte.num_embeddings), int(hf.wpe.num_embeddings), first["hidden"],
            first["n_heads"], len(hf.h), first["ffn_hidden"], eps=first["eps"],
            embd_dropout=float(hf.drop.p), attn_dropout=first["attn_dropout"],
            resid_dropout=first["resid_dropout"], **kw,
        )  # fmt: skip
        with torch.no_grad():
            for name in ("wte", "wpe", "ln_f"):
                getattr(ours, name).load_state_dict(getattr(hf, name).state_dict())
        for mine, theirs in zip(ours.h, hf.h, strict=True):
            assert isinstance(mine, ParallelGPT2Block)
            _load_block(mine, theirs)
        return ours
    raise TypeError(
        f"model must be a transformers GPT2Model or GPT2Block, or a CausalSelfAttention; got {kind}"
    )


def _all_gather_cat(t: Tensor, dim: int, group: ProcessGroup | None) -> Tensor:
    """Every rank's ``t`` concatenated along ``dim`` (shards of equal shape)."""
    parts = [torch.empty_like(t) for _ in range(dist.get_world_size(group))]
    dist.all_gather(parts, t.detach().contiguous(), group=group)
    return torch.cat(parts, dim=dim)


def _gather_attention(attn: ParallelSelfAttention) -> tuple[Tensor, Tensor | None, Tensor]:
    """The full [q; k; v] weight and bias (nn.Linear layout) and the full o_proj weight."""
    hq, D = attn.n_heads, attn.head_dim
    hkv = attn.n_kv_heads
    full_rows = (hq + 2 * hkv) * D
    index = _qkv_rows(attn).to(attn.qkv_proj.weight.device)

    def scatter_back(local: Tensor) -> Tensor:
        # Each rank places its rows at their full positions; replicated kv heads land in the
        # same rows from several ranks, so average the contributions per row.
        full = local.new_zeros((full_rows, *local.shape[1:]))
        count = local.new_zeros(full_rows)
        full.index_add_(0, index, local.detach())
        count.index_add_(0, index, torch.ones_like(index, dtype=local.dtype))
        dist.all_reduce(full, group=attn.group)
        dist.all_reduce(count, group=attn.group)
        return full / count.view(-1, *([1] * (local.dim() - 1)))

    w = scatter_back(attn.qkv_proj.weight)
    b = None if attn.qkv_proj.bias is None else scatter_back(attn.qkv_proj.bias)
    wo = _all_gather_cat(attn.o_proj.weight, 1, attn.group)
    return w, b, wo


def gather_state_dict(module: nn.Module) -> dict[str, Tensor]:
    prefix_blocks: list[tuple[str, ParallelGPT2Block]] = []
    out: dict[str, Tensor] = {}
    if isinstance(module, ParallelSelfAttention):
        w, b, wo = _gather_attention(module)
        hq, hkv, D = module.n_heads, module.n_kv_heads, module.head_dim
        wq, wk, wv = w.split([hq * D, hkv * D, hkv * D])
        out |= {"q_proj.weight": wq, "k_proj.weight": wk, "v_proj.weight": wv}
        if b is not None:
            bq, bk, bv = b.split([hq * D, hkv * D, hkv * D])
            out |= {"q_proj.bias": bq, "k_proj.bias": bk, "v_proj.bias": bv}
        out["o_proj.weight"] = wo
        if module.o_proj.bias is not None:
            out["o_proj.bias"] = module.o_proj.bias.detach().clone()
        return out
    if isinstance(module, ParallelGPT2Block):
        prefix_blocks = [("", module)]
    elif isinstance(module, ParallelGPT2Model):
        for name in ("wte", "wpe", "ln_f"):
            for key, value in getattr(module, name).state_dict().items():
                out[f"{name}.{key}"] = value.detach().clone()
        prefix_blocks = [
            (f"h.{i}.", block)
            for i, block in enumerate(module.h)
            if isinstance(block, ParallelGPT2Block)
        ]
    else:
        raise TypeError(
            "module must be a ParallelGPT2Model, ParallelGPT2Block or ParallelSelfAttention; "
            f"got {type(module).__name__}"
        )
    for prefix, block in prefix_blocks:
        out |= {f"{prefix}{k}": v for k, v in _gather_block(block).items()}
    return out


def _gather_block(block: ParallelGPT2Block) -> dict[str, Tensor]:
    """The block's weights under Hugging Face's GPT2Block names and Conv1D (in, out) layout."""
    group = block.group
    out = {f"ln_1.{k}": v.detach().clone() for k, v in block.ln_1.state_dict().items()}
    out |= {f"ln_2.{k}": v.detach().clone() for k, v in block.ln_2.state_dict().items()}
    w, b, wo = _gather_attention(block.attn)
    assert b is not None
    assert block.attn.o_proj.bias is not None
    out |= {"attn.c_attn.weight": w.t().contiguous(), "attn.c_attn.bias": b}
    out |= {"attn.c_proj.weight": wo.t().contiguous()}
    out["attn.c_proj.bias"] = block.attn.o_proj.bias.detach().clone()
    fc, proj = block.mlp.fc, block.mlp.proj
    assert fc.bias is not None
    assert proj.bias is not None
    out["mlp.c_fc.weight"] = _all_gather_cat(fc.weight, 0, group).t().contiguous()
    out["mlp.c_fc.bias"] = _all_gather_cat(fc.bias, 0, group)
    out["mlp.c_proj.weight"] = _all_gather_cat(proj.weight, 1, group).t().contiguous()
    out["mlp.c_proj.bias"] = proj.bias.detach().clone()
    return out


# ------------------------------------------------------------------------------------------
# Task 4: memory plan


def _itemsize(dtype: torch.dtype, name: str) -> int:
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a torch.dtype, got {type(dtype).__name__}")
    return torch.empty((), dtype=dtype).element_size()


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
    for name, value in (("n_params", n_params), ("world_size", world_size),
                        ("n_layers", n_layers), ("n_kv_heads", n_kv_heads),
                        ("head_dim", head_dim), ("batch", batch), ("seq_len", seq_len),
                        ("hidden", hidden), ("gpu_bytes", gpu_bytes)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    ffn = 4 * hidden if ffn_hidden is None else ffn_hidden
    if ffn % world_size:
        raise ValueError(f"ffn_hidden={ffn} is not divisible by world_size={world_size}")
    item = _itemsize(dtype, "dtype")
    kv_item = item if kv_dtype is None else _itemsize(kv_dtype, "kv_dtype")
    if n_kv_heads >= world_size:
        kv_heads = _split(n_kv_heads, world_size, "n_kv_heads")
    elif world_size % n_kv_heads:
        raise ValueError(f"n_kv_heads={n_kv_heads} must divide world_size={world_size}")
    else:
        kv_heads = 1  # replicated: each rank keeps the one head its query heads use
    weights = -(-n_params * item // world_size)  # ceil: a rank holds the larger share
    kv = 2 * n_layers * batch * seq_len * kv_heads * head_dim * kv_item
    tokens = batch * seq_len
    activations = tokens * (2 * hidden + ffn // world_size) * item
    return MemoryPlan(weights, kv, activations, gpu_bytes)


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
    hidden = getattr(config, "n_embd", None) or getattr(config, "hidden_size", None)
    if not isinstance(hidden, int) or hidden < 1:
        raise TypeError("config must have a positive int n_embd (or hidden_size)")
    for name, value in (("world_size", world_size), ("seq_len", seq_len), ("batch", batch)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if sequence_parallel and seq_len % world_size:
        raise ValueError(f"seq_len={seq_len} is not divisible by world_size={world_size}")
    item = _itemsize(dtype, "dtype")
    activation = batch * seq_len * hidden * item
    if world_size == 1:
        return CommVolume(1, 0, 0, 0, 0, 0, 0)
    if not sequence_parallel:
        # g after attention and after the MLP (forward), f before each (backward)
        return CommVolume(world_size, 4, 4 * activation, 0, 0, 0, 0)
    # all-gather before attention and MLP (forward) and the reduce-scatters' backward;
    # reduce-scatter after them (forward) and the all-gathers' backward; plus f on the two
    # LayerNorms' weight and bias and the two row-parallel biases (hidden elements each)
    return CommVolume(world_size, 6, 6 * hidden * item, 4, 4 * activation, 4, 4 * activation)
