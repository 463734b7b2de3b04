"""Task 1: fold eval-mode BatchNorm into the preceding convolution."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import ATOL, RTOL, assert_same_outputs, called_modules, run_seeded
from hypothesis import given
from hypothesis import strategies as st
from torch import nn
from torch.fx.experimental.optimization import fuse as torch_fuse
from torch.nn.utils.fusion import fuse_conv_bn_eval

from prep.testing import assert_close


def _batchnorms(gm: torch.fx.GraphModule) -> list[nn.Module]:
    return [m for m in called_modules(gm) if isinstance(m, nn.BatchNorm2d)]


@pytest.mark.task(1)
def test_every_block_of_the_cnn_is_folded(impl: ModuleType) -> None:
    case = models.make_case("cnn")
    gm = models.trace(case.model)
    folded = impl.fold_conv_bn(gm)
    assert not _batchnorms(folded), "a BatchNorm is still called after folding (task 1)"
    assert len(folded.graph.nodes) == len(gm.graph.nodes) - 2, "one node fewer per Conv-BN pair"
    want = run_seeded(case.model, case.inputs)
    assert_same_outputs(run_seeded(folded, case.inputs), want, task=1, what="folded CNN")
    # the library's own conv-bn fusion agrees
    library = torch_fuse(case.model)
    assert_same_outputs(run_seeded(library, case.inputs), want, task=1, what="torch fuse (oracle)")


@pytest.mark.task(1)
def test_folded_weights_match_torch_fuse_conv_bn_eval(impl: ModuleType) -> None:
    model = models.build(lambda: nn.Sequential(nn.Conv2d(3, 5, 3, bias=True), nn.BatchNorm2d(5)))
    folded = impl.fold_conv_bn(models.trace(model))
    (conv,) = called_modules(folded)
    assert isinstance(conv, nn.Conv2d)
    conv0, bn0 = model.get_submodule("0"), model.get_submodule("1")
    assert isinstance(conv0, nn.Conv2d)
    assert isinstance(bn0, nn.BatchNorm2d)
    expected = fuse_conv_bn_eval(conv0, bn0)
    assert_close(conv.weight, expected.weight, rtol=1e-5, atol=1e-6, task=1, what="folded weight")
    assert conv.bias is not None
    assert expected.bias is not None
    assert_close(conv.bias, expected.bias, rtol=1e-5, atol=1e-6, task=1, what="folded bias")


@pytest.mark.task(1)
def test_large_eps_is_part_of_the_fold(impl: ModuleType) -> None:
    """A BN with eps=0.1 over variances near 0.05: leaving out eps is off by ~40%."""
    model = models.build(
        lambda: nn.Sequential(nn.Conv2d(2, 4, 3, bias=False), nn.BatchNorm2d(4, eps=0.1))
    )
    x = torch.randn(2, 2, 6, 6, generator=torch.Generator().manual_seed(0))
    folded = impl.fold_conv_bn(models.trace(model))
    assert not _batchnorms(folded)
    assert_same_outputs(run_seeded(folded, (x,)), run_seeded(model, (x,)), task=1, what="eps=0.1")


@pytest.mark.task(1)
def test_training_mode_batchnorm_is_left_alone(impl: ModuleType) -> None:
    case = models.make_case("cnn")
    model = case.model.train()  # BN normalises with batch statistics: nothing fixed to fold
    gm = models.trace(model)
    folded = impl.fold_conv_bn(gm)
    assert len(_batchnorms(folded)) == 2, "training-mode BatchNorm must not be folded (task 1)"
    assert len(folded.graph.nodes) == len(gm.graph.nodes)
    assert_same_outputs(
        run_seeded(folded, case.inputs), run_seeded(model, case.inputs), task=1, what="train mode"
    )


@pytest.mark.task(1)
def test_only_eval_mode_batchnorms_are_folded(impl: ModuleType) -> None:
    case = models.make_case("cnn")
    first_bn = next(m for m in case.model.modules() if isinstance(m, nn.BatchNorm2d))
    first_bn.train()
    folded = impl.fold_conv_bn(models.trace(case.model))
    remaining = _batchnorms(folded)
    assert len(remaining) == 1, f"expected only the training-mode BN to remain, got {remaining}"
    assert remaining[0].training


class _ConvReadTwice(nn.Module):
    """conv's output feeds the BN and the residual: folding would change the residual."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        out: torch.Tensor = self.bn(y) + y
        return out


class _SharedConv(nn.Module):
    """One conv module called twice, only once followed by BN."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.bn(self.conv(x)) + self.conv(x)
        return out


@pytest.mark.task(1)
@pytest.mark.parametrize("factory", [_ConvReadTwice, _SharedConv], ids=["read_twice", "shared"])
def test_conv_with_other_readers_stays_correct(impl: ModuleType, factory: type[nn.Module]) -> None:
    model = models.build(factory)
    x = torch.randn(2, 3, 6, 6, generator=torch.Generator().manual_seed(1))
    folded = impl.fold_conv_bn(models.trace(model))
    assert_same_outputs(
        run_seeded(folded, (x,)), run_seeded(model, (x,)), task=1, what=factory.__name__
    )


@pytest.mark.task(1)
@given(
    c_in=st.integers(1, 4),
    c_out=st.integers(1, 6),
    kernel=st.sampled_from([1, 3]),
    stride=st.sampled_from([1, 2]),
    bias=st.booleans(),
    affine=st.booleans(),
    eps=st.sampled_from([1e-5, 1e-3, 1e-1]),
    seed=st.integers(0, 2**16),
)
def test_fold_matches_eager_on_random_convolutions(
    impl: ModuleType,
    c_in: int,
    c_out: int,
    kernel: int,
    stride: int,
    bias: bool,
    affine: bool,
    eps: float,
    seed: int,
) -> None:
    def factory() -> nn.Module:
        conv = nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=bias)
        return nn.Sequential(conv, nn.BatchNorm2d(c_out, eps=eps, affine=affine), nn.ReLU())

    model = models.build(factory, seed)
    x = torch.randn(2, c_in, 7, 7, generator=torch.Generator().manual_seed(seed))
    folded = impl.fold_conv_bn(models.trace(model))
    assert not _batchnorms(folded)
    got, want = run_seeded(folded, (x,)), run_seeded(model, (x,))
    assert_same_outputs(got, want, task=1, what="random conv-bn", rtol=RTOL, atol=ATOL)


@pytest.mark.gpu
@pytest.mark.task(1)
def test_fold_on_cuda(impl: ModuleType) -> None:
    """The folded weights live where the conv's did; the math holds in CUDA float32."""
    case = models.make_case("cnn")
    model, x = case.model.cuda(), case.inputs[0].cuda()
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # TF32 rounds folded and unfolded weights apart
    try:
        folded = impl.fold_conv_bn(models.trace(model))
        assert not _batchnorms(folded)
        assert_same_outputs(run_seeded(folded, (x,)), run_seeded(model, (x,)), task=1, what="CUDA")
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
