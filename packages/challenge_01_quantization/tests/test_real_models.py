"""Task 5 on the real model: all-MiniLM-L6-v2 with every Linear in INT8, judged by the cosine
similarity of its sentence embeddings to the float model's. The quick check runs always; the
full measurement (221 sentences, the issue's targets) runs with --run-slow and in the bench."""

from __future__ import annotations

from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_01_quantization import kernel_support, minilm
from challenge_01_quantization.config import QuantConfig
from torch import nn

pytestmark = pytest.mark.task(5)


@pytest.fixture(scope="module")
def quick_minilm(impl: ModuleType, request: pytest.FixtureRequest) -> tuple[Any, ...]:
    """(float model, tokenizer, quantized model, report): 8 calibration sentences, default config."""
    # Fail fast: an unfinished quantize_model should not cost a 90 MB model load to report.
    impl.quantize_model(nn.Sequential(nn.Linear(8, 8)), [torch.ones(2, 8)])
    model, tokenizer = request.getfixturevalue("minilm_model")
    calib = [minilm.tokenize(tokenizer, minilm.calibration_sentences()[:8])]
    quantized, report = impl.quantize_model(model, calib, QuantConfig())
    return model, tokenizer, quantized, report


def test_minilm_every_linear_int8_quick(quick_minilm: tuple[Any, ...]) -> None:
    model, tokenizer, quantized, report = quick_minilm
    names = [n for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    assert len(names) == 36
    assert report.quantized == tuple(names), "all 36 Linear layers must be INT8"
    assert not any(isinstance(m, nn.Linear) for m in quantized.modules())
    # BERT is post-LN: every LayerNorm output is also the residual, so nothing may fold.
    assert {layer.smoothing for layer in report.layers} == {"runtime"}, (
        "BERT's LayerNorms feed the residual"
    )
    assert report.quantized_size_ratio <= 0.3, (
        f"quantized layers are {report.quantized_size_ratio:.3f}x float"
    )
    sentences = minilm.evaluation_sentences()[:24]
    batch = minilm.tokenize(tokenizer, sentences)
    mean, low = minilm.cosine_stats(minilm.embed(model, batch), minilm.embed(quantized, batch))
    # Loose here (8 calibration sentences, 24 evaluated); the bench and the slow test hold the
    # targets (mean >= 0.99, min >= 0.98) on all 221. Where fbgemm needs 7-bit activations
    # (x86 without AVX-512 VNNI), per-tensor activations lose about a point more.
    floor = 0.96 if kernel_support.fbgemm_reduce_range() else 0.98
    assert mean >= floor, f"cosine to float: mean {mean:.4f}, min {low:.4f}"
    assert low >= 0.94, f"cosine to float: mean {mean:.4f}, min {low:.4f}"


@pytest.mark.slow
def test_minilm_meets_the_targets(impl: ModuleType, minilm_model: tuple[nn.Module, Any]) -> None:
    model, tokenizer = minilm_model
    calib = [minilm.tokenize(tokenizer, minilm.calibration_sentences())]
    quantized, report = impl.quantize_model(model, calib, QuantConfig(smooth_alpha=0.75))
    sentences = minilm.evaluation_sentences()
    reference = minilm.embed_sentences(model, tokenizer, sentences)
    embedded = minilm.embed_sentences(quantized, tokenizer, sentences)
    mean, low = minilm.cosine_stats(reference, embedded)
    agreement = minilm.top1_agreement(reference, embedded)
    assert mean >= 0.99, f"cosine to float on 221 sentences: mean {mean:.4f}, min {low:.4f}"
    assert low >= 0.98, f"cosine to float on 221 sentences: mean {mean:.4f}, min {low:.4f}"
    assert agreement >= 0.9, f"only {agreement:.1%} of nearest neighbours unchanged"
    assert report.quantized_size_ratio <= 0.3
