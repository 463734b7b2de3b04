"""Beyond the tasks: ``fuse_conv_activation``, the solution's CPU pass (conv + activation as one
oneDNN kernel, channels_last in between). Not a starter TODO: these tests run against any
implementation that defines it, and are skipped for the others."""

from __future__ import annotations

from types import ModuleType
from typing import cast

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from challenge_06_fx_pass import models
from challenge_06_fx_pass.checks import assert_same_outputs, called_modules, run_seeded
from challenge_06_fx_pass.fused import Activation, ConvActivation
from torch import nn


@pytest.fixture
def fuse_conv(impl: ModuleType) -> object:
    found = getattr(impl, "fuse_conv_activation", None)
    if found is None:
        pytest.skip(
            "fuse_conv_activation is the solution's extra beyond the tasks: "
            "run `uv run prep test 06 --impl solution` to see it tested"
        )
    return found


def _fuse(fuse_conv: object, gm: torch.fx.GraphModule) -> torch.fx.GraphModule:
    out = cast("torch.fx.GraphModule", fuse_conv(gm))  # type: ignore[operator]
    assert isinstance(out, torch.fx.GraphModule)
    return out


class _ConvForms(nn.Module):
    """Conv2d + each activation form, strided, dilated, grouped and bias-free convs among
    them; one conv read twice (not fusable); a ``view`` and the graph's output read
    channels_last values directly; a fused output written in place between two reads.

    Shapes: (B, 4, 12, 12) -> (B, 8 * 6 * 6), (B, 8, 6, 6) and three (B, 8, 12, 12).
    """

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(4, 8, 3, padding=1)
        self.b = nn.Conv2d(8, 8, 3, padding=2, dilation=2, groups=2, bias=False)
        self.c = nn.Conv2d(8, 8, 3, stride=2, padding=1)
        self.d = nn.Conv2d(8, 8, 1)
        self.shared = nn.Conv2d(8, 8, 1)
        self.relu = nn.ReLU()
        self.gelu = nn.GELU(approximate="tanh")

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        y = self.relu(self.a(x))  # (B, 8, 12, 12), module form
        y = F.relu(self.b(y), inplace=True)  # function form, in place
        z = self.gelu(self.c(y))  # (B, 8, 6, 6)
        flat = z.view(z.shape[0], -1)  # a view needs standard strides
        w = self.d(y).relu()  # method form
        s = self.shared(w)  # read twice: stays a plain conv
        t = torch.relu(s) + s
        w.add_(1.0)  # written after `s` read it, before `after` reads it
        after = torch.relu(w)
        return flat, w, z, t, after


@pytest.fixture(scope="module")
def forms() -> tuple[nn.Module, torch.Tensor]:
    model = models.build(_ConvForms)
    x = torch.randn(2, 4, 12, 12, generator=torch.Generator().manual_seed(3))
    return model, x


def test_conv_bn_relu_network_runs_as_fused_convs(fuse_conv: object, impl: ModuleType) -> None:
    case = models.make_case("cnn")
    gm = _fuse(fuse_conv, impl.fold_conv_bn(models.trace(case.model)))
    convs = [m for m in called_modules(gm) if isinstance(m, (nn.Conv2d, ConvActivation))]
    assert convs, "the CNN's convolutions disappeared"
    assert all(isinstance(m, ConvActivation) for m in convs), (
        f"every folded Conv-BN-ReLU block should be one ConvActivation, got {convs}"
    )
    assert_same_outputs(
        run_seeded(gm, case.inputs), run_seeded(case.model, case.inputs), task=None, what="cnn"
    )


def test_every_form_fuses_and_readers_see_eager_tensors(
    fuse_conv: object, forms: tuple[nn.Module, torch.Tensor]
) -> None:
    model, x = forms
    gm = _fuse(fuse_conv, models.trace(model))
    kinds = [m.activation for m in called_modules(gm) if isinstance(m, ConvActivation)]
    assert kinds == [Activation.RELU, Activation.RELU, Activation.GELU_TANH, Activation.RELU]
    plain = [m for m in called_modules(gm) if type(m) is nn.Conv2d]
    assert len(plain) == 1, "the conv read by ReLU and by the add must stay a Conv2d"
    got, want = run_seeded(gm, (x,)), run_seeded(model, (x,))
    assert_same_outputs(got, want, task=None, what="conv forms")
    for k, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.stride() == w.stride(), (
            f"output {k} has strides {g.stride()}, eager {w.stride()}: a channels_last value "
            "must get its standard layout back before it leaves the fused region"
        )


@pytest.mark.parametrize(
    ("conv", "dtype"),
    [
        (nn.Conv2d(3, 4, 3, padding="same"), torch.float32),
        (nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"), torch.float32),
        (nn.Conv2d(3, 4, 3, padding=1), torch.float64),
    ],
    ids=["padding-same", "reflect-padding", "float64"],
)
def test_convs_onednn_cannot_run_stay(
    fuse_conv: object, conv: nn.Conv2d, dtype: torch.dtype
) -> None:
    model = nn.Sequential(conv, nn.ReLU()).to(dtype).eval()
    gm = models.trace(model)
    out = _fuse(fuse_conv, gm)
    assert not any(isinstance(m, ConvActivation) for m in called_modules(out))
    x = torch.randn(1, 3, 6, 6, dtype=dtype)
    assert_same_outputs(run_seeded(out, (x,)), run_seeded(model, (x,)), task=None, what="unfused")


def test_is_idempotent_and_leaves_its_input_alone(
    fuse_conv: object, forms: tuple[nn.Module, torch.Tensor]
) -> None:
    model, _ = forms
    gm = models.trace(model)
    code = gm.code
    once = _fuse(fuse_conv, gm)
    assert gm.code == code, "the input graph module was modified"
    assert _fuse(fuse_conv, once).code == once.code, "a second run changed the graph"
    with pytest.raises(TypeError, match="GraphModule"):
        _fuse(fuse_conv, model)  # type: ignore[arg-type]


def test_fused_module_falls_back_where_onednn_cannot_run() -> None:
    """Under autograd (the fused op has no backward) and in float64 the module runs conv2d +
    activation: same values and the same gradients as the unfused pair."""
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)
    fused = ConvActivation(conv, Activation.GELU)
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    got, want = fused(x), F.gelu(conv(x))
    assert_same_outputs(got, want, task=None, what="ConvActivation under autograd")
    (g_fused,) = torch.autograd.grad(got.sum(), x)
    (g_eager,) = torch.autograd.grad(want.sum(), x)
    assert_same_outputs(g_fused, g_eager, task=None, what="gradient through ConvActivation")
    x64 = x.detach().double()
    got64, want64 = fused.double()(x64), F.gelu(conv.double()(x64))
    assert_same_outputs(got64, want64, task=None, what="ConvActivation in float64")


def test_fused_module_rejects_what_it_cannot_model() -> None:
    with pytest.raises(TypeError, match="conv"):
        ConvActivation(nn.Linear(3, 4), Activation.RELU)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="activation"):
        ConvActivation(nn.Conv2d(3, 4, 3), "relu")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="padding"):
        ConvActivation(nn.Conv2d(3, 4, 3, padding="same"), Activation.RELU)
