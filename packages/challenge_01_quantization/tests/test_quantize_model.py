"""Task 5: quantize_model on small models - smoothing and where it folds, static calibration,
skips, the sensitivity analysis and the report."""

from __future__ import annotations

import copy
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_01_quantization.config import ActivationMode, ObserverKind, QuantConfig
from challenge_01_quantization.tracing import relative_error
from torch import Tensor, nn

from prep.testing import assert_close

pytestmark = pytest.mark.task(5)


class PreNormMLP(nn.Module):
    """x -> LayerNorm -> Linear -> ReLU -> Linear: the norm feeds only the first Linear (as in a
    pre-LN transformer), and one of its channels is 30x larger than the rest (an outlier)."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.norm = nn.LayerNorm(32)
        self.up = nn.Linear(32, 64)
        self.down = nn.Linear(64, 8)
        with torch.no_grad():
            self.norm.weight[5] = 30.0

    def forward(self, x: Tensor) -> Tensor:
        out: Tensor = self.down(torch.relu(self.up(self.norm(x))))  # (N, 32) -> (N, 8)
        return out


class PostNormBlock(nn.Module):
    """h = LayerNorm(x); h + Linear(ReLU(Linear(h))): the norm's output is also the residual
    (BERT's layout), so SmoothQuant's 1/s must not be folded into it."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(1)
        self.norm = nn.LayerNorm(32)
        self.fc1 = nn.Linear(32, 64)
        self.fc2 = nn.Linear(64, 32)
        with torch.no_grad():
            self.norm.weight[7] = 20.0

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(x)  # (N, 32)
        out: Tensor = h + self.fc2(torch.relu(self.fc1(h)))
        return out


@pytest.fixture
def digits(impl: ModuleType, request: pytest.FixtureRequest) -> tuple[nn.Module, Any]:
    """(trained digits MLP, data split), asked for only once ``quantize_model`` runs: an
    unfinished one fails before the MLP is trained (training imports torch's optimizer
    machinery, seconds on a busy CPU)."""
    impl.quantize_model(nn.Sequential(nn.Linear(8, 8)), [torch.ones(2, 8)])
    return request.getfixturevalue("digits_model"), request.getfixturevalue("digits_split")


def _batches(n: int = 3, seed: int = 0) -> list[Tensor]:
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(32, 32, generator=g) for _ in range(n)]


def _model_error(quantized: nn.Module, model: nn.Module, x: Tensor) -> float:
    with torch.no_grad():
        return relative_error(quantized(x), model(x))


def _quantized_names(impl: ModuleType, model: nn.Module) -> list[str]:
    return [n for n, m in model.named_modules() if isinstance(m, impl.QuantizedLinear)]


def test_every_linear_is_swapped_and_the_original_is_untouched(impl: ModuleType) -> None:
    model = PreNormMLP().eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    quantized, report = impl.quantize_model(model, _batches(), QuantConfig())
    assert _quantized_names(impl, quantized) == ["up", "down"]
    assert not any(isinstance(m, nn.Linear) for m in quantized.modules()), (
        "a Linear was left in float"
    )
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), f"quantize_model changed the caller's model ({key})"
    assert [layer.name for layer in report.layers] == ["up", "down"]
    assert report.quantized == ("up", "down")
    assert report.kept_float == ()
    error = _model_error(quantized, model, _batches(1, seed=9)[0])
    assert error < 0.02, f"model output relative error {error:.4f}"


def test_smoothing_folds_into_a_layernorm_that_feeds_only_linears(impl: ModuleType) -> None:
    model = PreNormMLP().eval()
    quantized, report = impl.quantize_model(model, _batches(), QuantConfig(smooth_alpha=0.5))
    smoothing = {layer.name: layer.smoothing for layer in report.layers}
    assert smoothing == {"up": "layernorm", "down": "runtime"}, smoothing
    up = quantized.get_submodule("up")
    assert up.input_scale is None, "a folded layer must not rescale its input at run time"
    assert quantized.get_submodule("down").input_scale is not None
    assert not torch.equal(quantized.get_submodule("norm").weight, model.norm.weight), (
        "1/s not folded"
    )
    x = _batches(1, seed=9)[0]
    smoothed = _model_error(quantized, model, x)
    plain, _ = impl.quantize_model(model, _batches(), QuantConfig(smooth_alpha=None))
    unsmoothed = _model_error(plain, model, x)
    assert smoothed < 0.7 * unsmoothed, (
        f"smoothing did not help the outlier channel: {smoothed:.4f} vs {unsmoothed:.4f}"
    )


def test_smoothing_does_not_fold_into_a_residual_layernorm(impl: ModuleType) -> None:
    model = PostNormBlock().eval()
    quantized, report = impl.quantize_model(model, _batches(), QuantConfig(smooth_alpha=0.5))
    assert {layer.name: layer.smoothing for layer in report.layers} == {
        "fc1": "runtime",
        "fc2": "runtime",
    }
    assert torch.equal(quantized.get_submodule("norm").weight, model.norm.weight)
    error = _model_error(quantized, model, _batches(1, seed=9)[0])
    assert error < 0.02, (
        f"output error {error:.4f}: folding 1/s into the residual LayerNorm changes the model"
    )


@pytest.mark.parametrize("observer", list(ObserverKind))
def test_static_mode_calibrates_every_layer(impl: ModuleType, observer: ObserverKind) -> None:
    model = PreNormMLP().eval()
    config = QuantConfig(activations=ActivationMode.STATIC, observer=observer, percentile=99.99)
    quantized, _ = impl.quantize_model(model, _batches(), config)
    layers = [m for m in quantized.modules() if isinstance(m, impl.QuantizedLinear)]
    assert len(layers) == 2
    assert all(layer.is_static for layer in layers)
    error = _model_error(quantized, model, _batches(1, seed=9)[0])
    assert error < 0.03, f"static ({observer.value}) output error {error:.4f}"


def test_skip_and_keep_float(impl: ModuleType, digits: tuple[nn.Module, Any]) -> None:
    digits_model, digits_split = digits
    calib = [digits_split.x_train[:256]]
    quantized, report = impl.quantize_model(digits_model, calib, QuantConfig(skip=("layers.5",)))
    assert isinstance(quantized.get_submodule("layers.5"), nn.Linear)
    assert report.kept_float == ("layers.5",)
    assert report.quantized == ("layers.0", "layers.3")
    quantized, report = impl.quantize_model(digits_model, calib, QuantConfig(keep_float=1))
    sens = {layer.name: layer.sensitivity for layer in report.layers}
    assert all(isinstance(v, float) and v >= 0 for v in sens.values()), (
        f"sensitivity missing: {sens}"
    )
    most = max(sens, key=lambda n: sens[n] or 0.0)
    assert report.kept_float == (most,), f"kept {report.kept_float}, the most sensitive is {most}"
    assert isinstance(quantized.get_submodule(most), nn.Linear)


def test_report_sizes_and_errors(impl: ModuleType) -> None:
    model = PreNormMLP().eval()
    quantized, report = impl.quantize_model(model, _batches(), QuantConfig())
    float_bytes = {"up": (32 * 64 + 64) * 4, "down": (64 * 8 + 8) * 4}
    assert {layer.name: layer.bytes_before for layer in report.layers} == float_bytes
    for layer in report.layers:
        assert layer.bytes_after == quantized.get_submodule(layer.name).nbytes()
        assert 0.0 < layer.rel_error < 0.05, f"{layer.name}: rel_error {layer.rel_error}"
    assert report.bytes_before == sum(float_bytes.values())


def test_digits_int8_static_accuracy_drop_at_most_one_point(
    impl: ModuleType, digits: tuple[nn.Module, Any]
) -> None:
    from challenge_01_quantization.digits import accuracy

    digits_model, data = digits
    config = QuantConfig(activations=ActivationMode.STATIC, observer=ObserverKind.MINMAX)
    quantized, _ = impl.quantize_model(
        digits_model, [data.x_train[:512], data.x_train[512:1024]], config
    )
    before = accuracy(digits_model, data.x_test, data.y_test)
    after = accuracy(quantized, data.x_test, data.y_test)
    assert before > 0.94, f"the float MLP only reaches {before:.3f}"
    assert after >= before - 0.01, f"INT8 static accuracy {after:.4f} vs float {before:.4f}"


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (("not a model", [torch.ones(2, 32)], None), TypeError, "model"),
        ((PreNormMLP(), [], None), ValueError, "batch"),
        ((PreNormMLP(), torch.ones(2, 32), None), TypeError, "calib_batches"),
        ((PreNormMLP(), [torch.full((2, 32), float("nan"))], None), ValueError, "NaN"),
        ((PreNormMLP(), [torch.ones(2, 32)], {"smooth_alpha": 0.5}), TypeError, "QuantConfig"),
    ],
)
def test_rejects_bad_input(
    impl: ModuleType, args: tuple[Any, ...], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        impl.quantize_model(*args)


def _input_absmax(model: nn.Module, layer: str, batches: list[Tensor]) -> Tensor:
    """Per-input-channel max |x| of ``layer``'s input over the batches, by a forward hook."""
    seen: list[Tensor] = []
    module = model.get_submodule(layer)
    handle = module.register_forward_pre_hook(
        lambda _m, args: seen.append(args[0].detach().reshape(-1, args[0].shape[-1]).abs().amax(0))
    )
    try:
        with torch.no_grad():
            for batch in batches:
                model(batch)
    finally:
        handle.remove()
    return torch.stack(seen).amax(0)


def _smoothquant_s(act_absmax: Tensor, weight: Tensor, alpha: float) -> Tensor:
    """s_j = max|X_j|^alpha / max|W_:,j|^(1 - alpha) (a channel that never fires keeps s = 1)."""
    s = act_absmax.pow(alpha) / weight.detach().abs().amax(0).pow(1 - alpha)
    return torch.where(act_absmax > 0, s, torch.ones_like(s))


@pytest.mark.parametrize("alpha", [0.25, 0.75])
def test_smoothquant_scales_follow_alpha(impl: ModuleType, alpha: float) -> None:
    """The folded 1/s (in the LayerNorm) and the run-time one (input_scale) are exactly
    SmoothQuant's, for an alpha other than 0.5 (where swapped exponents give the same s)."""
    model = PreNormMLP().eval()
    batches = _batches()
    quantized, _ = impl.quantize_model(model, batches, QuantConfig(smooth_alpha=alpha))
    s_up = _smoothquant_s(_input_absmax(model, "up", batches), model.up.weight, alpha)
    folded = quantized.get_submodule("norm")
    assert_close(folded.weight, model.norm.weight.detach() / s_up, rtol=1e-4, atol=1e-6, task=5,
                 what=f"LayerNorm gamma after folding 1/s (alpha {alpha})")  # fmt: skip
    assert_close(folded.bias, model.norm.bias.detach() / s_up, rtol=1e-4, atol=1e-6, task=5,
                 what=f"LayerNorm beta after folding 1/s (alpha {alpha})")  # fmt: skip
    s_down = _smoothquant_s(_input_absmax(model, "down", batches), model.down.weight, alpha)
    assert_close(quantized.get_submodule("down").input_scale, 1.0 / s_down, rtol=1e-4, task=5,
                 what=f"run-time input_scale 1/s of 'down' (alpha {alpha})")  # fmt: skip


def test_sensitivity_matches_swapping_one_layer_at_a_time(
    impl: ModuleType, digits: tuple[nn.Module, Any]
) -> None:
    """An independent oracle: swap each Linear alone for its QuantizedLinear (task 4) and
    measure the model output's relative error, averaged over the calibration batches."""
    digits_model, digits_split = digits
    calib = [digits_split.x_train[:256], digits_split.x_train[256:512]]
    config = QuantConfig(smooth_alpha=None, keep_float=1)
    _, report = impl.quantize_model(digits_model, calib, config)
    model = copy.deepcopy(digits_model).eval()
    want = {}
    with torch.no_grad():
        reference = [model(x) for x in calib]
        for name in ("layers.0", "layers.3", "layers.5"):
            layer = model.get_submodule(name)
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, impl.QuantizedLinear.from_float(layer))
            errors = [relative_error(model(x), r) for x, r in zip(calib, reference, strict=True)]
            setattr(model.get_submodule(parent), child, layer)
            want[name] = sum(errors) / len(errors)
    got = {layer.name: layer.sensitivity for layer in report.layers}
    assert got.keys() == want.keys()
    assert_close(torch.tensor([got[n] for n in want]), torch.tensor(list(want.values())),
                 rtol=1e-3, atol=1e-7, task=5,
                 what="sensitivity per layer (model-output error, one layer in INT8)")  # fmt: skip
