"""The given modules (not tasks): QuantConfig's validation, the tracing helpers that tell
whether a LayerNorm can absorb SmoothQuant's 1/s, and the report's totals."""

from __future__ import annotations

import pytest
import torch
from challenge_01_quantization.config import QuantConfig
from challenge_01_quantization.report import LayerReport, QuantReport
from challenge_01_quantization.tracing import (
    layernorm_feeds,
    output_tensors,
    relative_error,
    run_model,
)
from torch import Tensor, nn


class _PreNorm(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(8)
        self.q, self.k = nn.Linear(8, 8), nn.Linear(8, 8)

    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(x)
        out: Tensor = x + self.q(h) * self.k(h)  # the norm feeds only q and k
        return out


class _PostNorm(_PreNorm):
    def forward(self, x: Tensor) -> Tensor:
        h = self.norm(x)
        out: Tensor = h + self.q(h)  # the norm's output is also the residual
        return out


def test_config_validates_itself() -> None:
    with pytest.raises(ValueError, match="smooth_alpha"):
        QuantConfig(smooth_alpha=1.5)
    with pytest.raises(ValueError, match="percentile"):
        QuantConfig(percentile=0.0)
    with pytest.raises(TypeError, match="skip"):
        QuantConfig(skip="layers.0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="keep_float"):
        QuantConfig(keep_float=-1)


def test_layernorm_feeds_tells_pre_from_post_norm() -> None:
    torch.manual_seed(0)
    x = torch.randn(4, 8)
    pre = _PreNorm().eval()
    linears = {"q": pre.q, "k": pre.k}
    assert layernorm_feeds(pre, x, linears) == {"norm": ("q", "k")}
    post = _PostNorm().eval()
    assert layernorm_feeds(post, x, {"q": post.q, "k": post.k}) == {}
    before = {k: v.clone() for k, v in post.state_dict().items()}
    layernorm_feeds(post, x, {"q": post.q})
    assert all(torch.equal(v, before[k]) for k, v in post.state_dict().items()), (
        "the check must restore weights"
    )


def test_run_model_and_outputs() -> None:
    model = nn.Linear(3, 2)
    x = torch.ones(1, 3)
    assert torch.equal(run_model(model, x), run_model(model, (x,)))
    assert torch.equal(run_model(model, x), run_model(model, {"input": x}))
    out = {"a": torch.ones(2), "b": (torch.zeros(1), torch.ones(1, dtype=torch.long))}
    assert len(output_tensors(out)) == 2
    assert relative_error(torch.ones(4), torch.ones(4)) == 0.0
    with pytest.raises(TypeError, match="batch"):
        run_model(model, "text")


def test_report_totals() -> None:
    layers = (
        LayerReport("a", True, "runtime", 400, 110, 0.01, None),
        LayerReport("b", False, "none", 100, 100, 0.0, None),
    )
    report = QuantReport(layers)
    assert report.quantized == ("a",)
    assert report.kept_float == ("b",)
    assert (report.bytes_before, report.bytes_after) == (500, 210)
    assert report.quantized_size_ratio == pytest.approx(110 / 400)
    assert report.worst(1) == (layers[0],)
