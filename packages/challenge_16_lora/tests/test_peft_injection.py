"""Task 2: inject_lora, trainable_parameters and merge_and_unload, with peft as the oracle."""

from __future__ import annotations

import copy
import warnings
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_16_lora import models
from torch import nn

from prep.testing import assert_close


def _peft() -> Any:
    """peft, imported on first use: a suite stopped early by a task-1 failure never pays for it."""
    return pytest.importorskip("peft", reason="peft is the oracle of task 2: `uv sync` installs it")


def _peft_model(model: nn.Module, **config: Any) -> Any:
    """peft's LoRA on a copy of ``model`` (r, lora_alpha, target_modules, modules_to_save)."""
    peft = _peft()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # transformers' renames, seen by peft
        return peft.get_peft_model(
            copy.deepcopy(model), peft.LoraConfig(lora_dropout=0.0, **config)
        )


def _peft_layers(peft_model: Any) -> dict[str, Any]:
    """peft's adapted layers by their name in the original model."""
    prefix = "base_model.model."
    return {
        n.removeprefix(prefix): m
        for n, m in peft_model.named_modules()
        if isinstance(m, _peft().tuners.lora.LoraLayer)
    }


def _share_adapters(ours: nn.Module, peft_model: Any, impl: ModuleType) -> None:
    """Give peft's B random values (as after training) and copy peft's A and B into ours."""
    layers = _peft_layers(peft_model)
    gen = torch.Generator().manual_seed(5)
    for name, module in ours.named_modules():
        if isinstance(module, impl.LoRALinear):
            theirs = layers[name]
            with torch.no_grad():
                theirs.lora_B["default"].weight.copy_(
                    torch.randn(theirs.lora_B["default"].weight.shape, generator=gen)
                )
                module.lora_A.copy_(theirs.lora_A["default"].weight)
                module.lora_B.copy_(theirs.lora_B["default"].weight)


def _ids(seed: int = 0) -> torch.Tensor:
    return torch.randint(0, 128, (3, 10), generator=torch.Generator().manual_seed(seed))


@pytest.mark.task(2)
def test_injected_model_matches_peft(impl: ModuleType) -> None:
    model = models.tiny_bert_classifier()
    theirs = _peft_model(model, r=4, lora_alpha=16, target_modules=["query", "value"])
    ours = impl.inject_lora(copy.deepcopy(model), ["query", "value"], r=4, alpha=16.0)
    adapted = {n for n, m in ours.named_modules() if isinstance(m, impl.LoRALinear)}
    assert adapted == set(_peft_layers(theirs)), "adapt exactly the modules peft adapts"
    _share_adapters(ours, theirs, impl)
    ids = _ids()
    with torch.no_grad():
        expected = theirs(input_ids=ids).logits
        # same weights, same formula: only float32 summation order may differ
        assert_close(
            ours(input_ids=ids).logits,
            expected,
            rtol=1e-5,
            atol=1e-5,
            task=2,
            what="logits vs peft",
        )


@pytest.mark.task(2)
def test_injection_alone_does_not_change_the_model(impl: ModuleType) -> None:
    model = models.tiny_bert_classifier()
    ids = _ids(1)
    with torch.no_grad():
        before = model(input_ids=ids).logits
        ours = impl.inject_lora(copy.deepcopy(model), ["query", "key", "value"], r=2, alpha=4.0)
        assert_close(
            ours(input_ids=ids).logits, before, task=2, what="logits right after injection"
        )


@pytest.mark.task(2)
@pytest.mark.parametrize(
    "targets", [["query", "value"], ["dense"], ["query", "key", "value", "dense"]]
)
def test_trainable_parameters_match_peft(impl: ModuleType, targets: list[str]) -> None:
    model = models.tiny_bert_classifier()
    theirs = _peft_model(model, r=4, lora_alpha=8, target_modules=targets)
    ours = impl.inject_lora(copy.deepcopy(model), targets, r=4, alpha=8.0)
    assert impl.trainable_parameters(ours) == theirs.get_nb_trainable_parameters()
    names = {n.rsplit(".", 1)[-1] for n, p in ours.named_parameters() if p.requires_grad}
    assert names == {"lora_A", "lora_B"}, "only the adapters train"


@pytest.mark.task(2)
def test_modules_to_save_keep_the_head_trainable(impl: ModuleType) -> None:
    model = models.tiny_bert_classifier()
    theirs = _peft_model(
        model, r=4, lora_alpha=8, target_modules=["query", "value"], modules_to_save=["classifier"]
    )
    ours = impl.inject_lora(
        copy.deepcopy(model), ["query", "value"], r=4, alpha=8.0, modules_to_save=["classifier"]
    )
    trainable, total = impl.trainable_parameters(ours)
    # peft keeps a frozen copy of a saved module, so only the trainable counts agree
    assert trainable == theirs.get_nb_trainable_parameters()[0]
    assert total == sum(p.numel() for p in model.parameters()) + trainable - sum(
        p.numel() for p in model.get_submodule("classifier").parameters()
    )
    head: nn.Module = ours.get_submodule("classifier")
    assert all(p.requires_grad for p in head.parameters())


@pytest.mark.task(2)
def test_a_regex_matches_whole_names_like_peft(impl: ModuleType) -> None:
    model = models.tiny_bert_classifier()
    pattern = r"bert\.encoder\.layer\.0\..*\.(query|key)"
    theirs = _peft_model(model, r=2, lora_alpha=2, target_modules=pattern)
    ours = impl.inject_lora(copy.deepcopy(model), pattern, r=2, alpha=2.0)
    adapted = {n for n, m in ours.named_modules() if isinstance(m, impl.LoRALinear)}
    assert (
        adapted
        == set(_peft_layers(theirs))
        == {
            "bert.encoder.layer.0.attention.self.query",
            "bert.encoder.layer.0.attention.self.key",
        }
    )


@pytest.mark.task(2)
def test_merge_and_unload_matches_peft(impl: ModuleType) -> None:
    model = models.tiny_bert_classifier()
    theirs = _peft_model(model, r=4, lora_alpha=32, target_modules=["query", "value", "dense"])
    ours = impl.inject_lora(copy.deepcopy(model), ["query", "value", "dense"], r=4, alpha=32.0)
    _share_adapters(ours, theirs, impl)
    ids = _ids(2)
    with torch.no_grad():
        adapted = ours(input_ids=ids).logits
        plain = impl.merge_and_unload(ours)
        assert not any(isinstance(m, impl.LoRALinear) for m in plain.modules())
        assert type(plain.bert.encoder.layer[0].attention.self.query) is nn.Linear
        expected = theirs.merge_and_unload()(input_ids=ids).logits
        assert_close(
            plain(input_ids=ids).logits,
            expected,
            rtol=1e-4,
            atol=1e-5,
            task=2,
            what="merged logits vs peft",
        )
        assert_close(
            plain(input_ids=ids).logits,
            adapted,
            rtol=1e-4,
            atol=1e-5,
            task=2,
            what="merged vs adapted logits",
        )


@pytest.mark.task(2)
def test_no_match_is_a_value_error(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="target_modules"):
        impl.inject_lora(models.tiny_bert_classifier(), ["q_proj"], r=2, alpha=2.0)


@pytest.mark.task(2)
def test_matching_a_non_linear_is_a_type_error(impl: ModuleType) -> None:
    with pytest.raises(TypeError, match="LayerNorm"):
        impl.inject_lora(models.tiny_bert_classifier(), ["LayerNorm"], r=2, alpha=2.0)


@pytest.mark.task(2)
def test_bad_regex_and_bad_modules_to_save(impl: ModuleType) -> None:
    with pytest.raises(ValueError, match="target_modules"):
        impl.inject_lora(models.tiny_bert_classifier(), "query(", r=2, alpha=2.0)
    with pytest.raises(ValueError, match="modules_to_save"):
        impl.inject_lora(
            models.tiny_bert_classifier(), ["query"], r=2, alpha=2.0, modules_to_save=["head"]
        )
    with pytest.raises(TypeError, match="target_modules"):
        impl.inject_lora(models.tiny_bert_classifier(), [], r=2, alpha=2.0)
