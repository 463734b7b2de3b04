"""Challenge 02: pruning and 2:4 sparsity - your implementation.

Fill in each TODO. The docstrings are the specification; the tests compare your results with
``torch.nn.utils.prune`` (tasks 1-2), ``torch.ao.pruning``'s 2:4 sparsifier and
``torch.sparse.to_sparse_semi_structured`` (task 3), and with the model itself (pruned channels
must change nothing but the removed channels' contribution).

Given (see ``layers.py`` and ``config.py``): ``prunable_layers(model)`` lists the Linear and Conv
layers whose ``weight`` is pruned (biases never are), ``weight_sparsity(model)`` measures the
fraction of zero weights, and the enums ``Scope``, ``Criterion`` and the ``GradualSchedule``.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from challenge_02_pruning_sparsity.config import Criterion, GradualSchedule, PruneStep, Scope

__all__ = [
    "SparseLinear",
    "magnitude_prune",
    "prune_and_finetune",
    "prune_channels",
    "semi_structured_24",
]


def magnitude_prune(
    model: nn.Module, amount: float, *, scope: Scope | str = Scope.LAYER
) -> dict[str, Tensor]:
    """Zero the smallest-magnitude weights of every layer in ``prunable_layers(model)``, in place.

    ``Scope.LAYER`` removes ``round(amount * n)`` weights of each layer of ``n`` weights;
    ``Scope.GLOBAL`` ranks all of them together and removes ``round(amount * N)`` of the ``N``
    in total. Python's ``round`` (half to even) is what ``torch.nn.utils.prune`` uses: the masks
    must equal ``prune.l1_unstructured`` (layer) and ``prune.global_unstructured`` with
    ``L1Unstructured`` (global) on the same weights.

    Args:
        model: any module; its Linear/Conv weights are multiplied by their masks in place.
        amount: fraction of weights to remove, in [0, 1].
        scope: ``Scope.LAYER`` or ``Scope.GLOBAL`` (or their strings ``"layer"``, ``"global"``).

    Returns:
        ``{"<layer name>.weight": mask}``: bool tensors shaped like each weight, True = kept.

    Raises:
        TypeError: ``model`` not an ``nn.Module``; ``amount`` not a float or int (bool is not).
        ValueError: ``amount`` outside [0, 1] or NaN; unknown ``scope``; no Linear/Conv layer.
    """
    raise NotImplementedError(
        "TODO(02.1): magnitude masks per layer and global - see README task 1"
    )


def prune_channels(
    model: nn.Module,
    amount: float,
    *,
    criterion: Criterion | str = Criterion.L1,
    layers: Sequence[str] | None = None,
) -> nn.Module:
    """A smaller dense copy of ``model`` with output channels of its layers removed.

    For each pruned layer (a Conv or Linear), score every output channel (``Criterion.L1``: sum
    of |w| over the channel's weights; ``L2``: their Euclidean norm; ``BN_GAMMA``: |gamma| of
    the first BatchNorm after the layer), keep all but the ``round(amount * C)`` lowest scores
    (at least one channel; ties keep the lower index), and rebuild, following the data flow:

    - the layer itself: fewer output rows of weight and bias;
    - every BatchNorm between it and the next layer: the same entries of weight, bias,
      running_mean and running_var;
    - the next Conv/Linear that reads the channels: the matching input columns. Across a
      ``flatten(1)`` (a Conv feeding a Linear) channel c is the block of H*W inputs
      ``c*H*W .. (c+1)*H*W - 1``.

    Only channel-wise ops (BatchNorm, activations, pooling, dropout, flatten) may lie between a
    layer and the next one. Refuse - raise ``ValueError`` naming the layer and the reason - a
    layer whose output is read by two ops (a residual branch), reaches an add or a
    concatenation, or feeds a grouped convolution; those need every connected layer pruned
    together, which this function does not attempt. Kept channels keep their order. The result
    computes exactly what ``model`` computes with the removed channels' input columns in the
    next layer set to zero.

    Args:
        model: the model; it is traced with ``torch.fx.symbolic_trace`` and left unchanged.
        amount: fraction of each pruned layer's output channels to remove, in [0, 1).
        criterion: ``Criterion`` or its string (``"l1"``, ``"l2"``, ``"bn_gamma"``).
        layers: names (as in ``named_modules``) of the layers to prune. ``None``: every Linear
            and Conv except those whose outputs are the model's outputs (the classifier); any
            other layer that cannot be pruned safely is then an error.

    Returns:
        A new model (a deep copy with smaller modules swapped in), ``training`` as ``model``.

    Raises:
        TypeError: ``model`` not an ``nn.Module``; ``amount`` not a number; ``layers`` not a
            sequence of names.
        ValueError: ``amount`` outside [0, 1); unknown ``criterion`` or layer name; ``bn_gamma``
            for a layer with no BatchNorm after it; a named layer whose outputs are the
            model's outputs; a layer that cannot be pruned safely (above); an untraceable model.
    """
    raise NotImplementedError(
        "TODO(02.2): remove channels and the next layer's inputs - see README task 2"
    )


def semi_structured_24(weight: Tensor) -> Tensor:
    """The 2:4 mask of ``weight``: in every group of 4 consecutive entries of a row (along the
    input dimension, the GEMM's reduction axis), keep the 2 of largest magnitude.

    Exactly two entries of every group are kept, even when magnitudes tie (then any of the tied
    ones may stay) - the layout NVIDIA's sparse tensor cores (Ampere and later) require.

    Args:
        weight: (out_features, in_features) floating-point tensor, in_features % 4 == 0; any
            device.

    Returns:
        (out_features, in_features) bool tensor on ``weight``'s device, True = kept.

    Raises:
        TypeError: ``weight`` not a tensor, or not floating point.
        ValueError: not 2-d, in_features not a multiple of 4, or NaN/inf entries.
    """
    raise NotImplementedError("TODO(02.3): the 2 largest of every 4 - see README task 3")


class SparseLinear(nn.Module):
    """A Linear layer whose weight is pruned 2:4 and multiplied by sparse tensor cores.

    On a CUDA device with compute capability >= 8.0, for float16/bfloat16 weights whose both
    dimensions are multiples of 64, the masked weight is compressed with
    ``torch.sparse.to_sparse_semi_structured`` (cuSPARSELt or CUTLASS: half the values plus
    2-bit indices) and ``forward`` runs the sparse GEMM; ``uses_sparse_kernel`` is then True.
    Anywhere else it stores the dense masked weight and runs ``functional.linear``.

    Attributes:
        in_features, out_features: the weight's shape (int).
        uses_sparse_kernel: bool, whether ``forward`` runs the semi-structured kernel.
        weight: ``nn.Parameter`` (frozen): the compressed sparse tensor, or the masked dense one.
        bias: ``nn.Parameter`` (frozen) of shape (out_features,), or None.
    """

    def __init__(self, weight: Tensor, bias: Tensor | None = None) -> None:
        """Prune ``weight`` with ``semi_structured_24`` and store it (compressed where the kernel
        fits). ``weight`` (out, in) as for ``semi_structured_24``; ``bias`` (out,) or None.

        Raises:
            TypeError, ValueError: as ``semi_structured_24`` for ``weight``; ValueError for a
                ``bias`` that is not a tensor of shape (out_features,).
        """
        super().__init__()
        raise NotImplementedError("TODO(02.3): build the 2:4 sparse layer - see README task 3")

    @classmethod
    def from_dense(cls, linear: nn.Linear) -> SparseLinear:
        """A ``SparseLinear`` holding ``linear``'s weight pruned 2:4 (and its bias).

        Raises:
            TypeError: ``linear`` is not an ``nn.Linear``.
        """
        if not isinstance(linear, nn.Linear):
            raise TypeError(f"linear must be a torch.nn.Linear, got {type(linear).__name__}")
        return cls(linear.weight, linear.bias)

    def dense_weight(self) -> Tensor:
        """The masked weight as a dense (out_features, in_features) tensor."""
        raise NotImplementedError("TODO(02.3): the masked weight, dense - see README task 3")

    def forward(self, x: Tensor) -> Tensor:
        """x (..., in_features) -> (..., out_features), in ``x``'s dtype (the weight's dtype).

        Raises:
            ValueError: ``x``'s last dimension is not ``in_features``.
        """
        raise NotImplementedError("TODO(02.3): the sparse (or masked) matmul - see README task 3")


def prune_and_finetune(
    model: nn.Module, data: tuple[Tensor, Tensor], schedule: GradualSchedule
) -> list[PruneStep]:
    """Gradual magnitude pruning with short fine-tuning, in place.

    For each round k = 1..schedule.rounds: prune with ``magnitude_prune(model,
    schedule.sparsity_at(k), scope=schedule.scope)`` (weights already zero rank lowest, so the
    mask only grows), then run ``schedule.finetune_steps`` Adam steps (``lr=schedule.lr``, one
    optimizer for the whole run) of cross-entropy on mini-batches of ``schedule.batch_size``
    rows of ``data``, shuffled per epoch with ``torch.Generator().manual_seed(schedule.seed)``,
    in training mode. Pruned weights must stay exactly zero through fine-tuning (an optimizer
    step moves every weight whose gradient or momentum is non-zero). Leave the model in eval
    mode.

    Args:
        model: a classifier returning logits (N, classes); pruned and trained in place.
        data: (inputs (N, ...), labels (N,) int64): the training set.
        schedule: the ``GradualSchedule``.

    Returns:
        One ``PruneStep`` per round: round, target sparsity, measured
        ``weight_sparsity(model)`` after the round's fine-tuning, and the round's mean loss
        (``nan`` when ``finetune_steps == 0``).

    Raises:
        TypeError: ``model`` not an ``nn.Module``; ``data`` not a pair of tensors;
            ``schedule`` not a ``GradualSchedule``.
        ValueError: ``data``'s inputs and labels of different lengths, or empty.
    """
    raise NotImplementedError("TODO(02.4): gradual pruning with fine-tuning - see README task 4")
