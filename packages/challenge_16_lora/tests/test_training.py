"""Task 3: which parameters train (full, head-only, LoRA), the training loop and accuracy."""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
import torch
from challenge_16_lora import intents, models
from challenge_16_lora.config import FinetuneMethod, TrainConfig
from torch import nn

MakeBatches = Callable[..., list[intents.Batch]]


def _trainable_names(model: nn.Module) -> set[str]:
    return {n for n, p in model.named_parameters() if p.requires_grad}


@pytest.mark.task(3)
def test_head_only_trains_the_classifier_alone(impl: ModuleType) -> None:
    model = impl.prepare_for_finetuning(
        models.tiny_bert_classifier(), FinetuneMethod.HEAD_ONLY, TrainConfig()
    )
    assert _trainable_names(model) == {"classifier.weight", "classifier.bias"}
    assert impl.trainable_parameters(model)[0] == 32 * 5 + 5


@pytest.mark.task(3)
def test_full_trains_everything(impl: ModuleType) -> None:
    model: Any = models.tiny_bert_classifier()
    for p in model.bert.parameters():
        p.requires_grad_(False)  # a model handed over frozen must come back fully trainable
    model = impl.prepare_for_finetuning(model, FinetuneMethod.FULL, TrainConfig())
    assert all(p.requires_grad for p in model.parameters())


@pytest.mark.task(3)
def test_lora_trains_adapters_and_the_new_head(impl: ModuleType) -> None:
    config = TrainConfig(r=4, alpha=8.0)
    model = impl.prepare_for_finetuning(models.tiny_bert_classifier(), FinetuneMethod.LORA, config)
    names = _trainable_names(model)
    # the classification head is new (random): frozen, it would stay random under LoRA
    assert {"classifier.weight", "classifier.bias"} <= names
    rest = names - {"classifier.weight", "classifier.bias"}
    assert rest
    assert all(n.endswith(("lora_A", "lora_B")) for n in rest)
    # 2 layers x (query, value) x r (in + out) + the head
    assert impl.trainable_parameters(model)[0] == 2 * 2 * 4 * (32 + 32) + 32 * 5 + 5


@pytest.mark.task(3)
def test_lora_setup_is_seeded(impl: ModuleType) -> None:
    config = TrainConfig(r=4, alpha=8.0, seed=3)
    first = impl.prepare_for_finetuning(models.tiny_bert_classifier(), FinetuneMethod.LORA, config)
    torch.manual_seed(99)  # whatever the global RNG holds, config.seed decides the adapters
    second = impl.prepare_for_finetuning(models.tiny_bert_classifier(), FinetuneMethod.LORA, config)
    a1 = first.bert.encoder.layer[0].attention.self.query.lora_A
    a2 = second.bert.encoder.layer[0].attention.self.query.lora_A
    assert torch.equal(a1, a2)


@pytest.mark.task(3)
def test_training_learns_and_leaves_frozen_weights_alone(
    impl: ModuleType, make_batches: MakeBatches
) -> None:
    batches = make_batches(8)
    config = TrainConfig(epochs=6, lr=1e-2, r=8, alpha=16.0)
    model = impl.prepare_for_finetuning(models.tiny_bert_classifier(2), FinetuneMethod.LORA, config)
    frozen = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    trained = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    losses = impl.train_classifier(model, batches, config)
    assert len(losses) == config.epochs * len(batches)
    assert all(isinstance(x, float) for x in losses)
    first, last = sum(losses[:8]) / 8, sum(losses[-8:]) / 8
    assert last < 0.8 * first, (
        f"mean loss went from {first:.3f} (epoch 1) to {last:.3f} (epoch {config.epochs})"
    )
    assert not model.training, "train_classifier must leave the model in eval mode"
    for n, p in model.named_parameters():
        if n in frozen:
            assert torch.equal(p, frozen[n]), f"frozen parameter {n} changed"
    assert any(not torch.equal(p, trained[n]) for n, p in model.named_parameters() if n in trained)


@pytest.mark.task(3)
def test_training_is_reproducible(impl: ModuleType, make_batches: MakeBatches) -> None:
    batches = make_batches(3)
    config = TrainConfig(epochs=2, lr=1e-3, seed=4)
    runs = []
    for _ in range(2):
        model = impl.prepare_for_finetuning(
            models.tiny_bert_classifier(2, dropout=0.1), FinetuneMethod.FULL, config
        )
        runs.append(impl.train_classifier(model, batches, config))
    assert runs[0] == runs[1]


@pytest.mark.task(3)
def test_accuracy_is_argmax_in_eval_mode(impl: ModuleType, make_batches: MakeBatches) -> None:
    model = models.tiny_bert_classifier(2, dropout=0.3, seed=1)
    batches = make_batches(4, seed=2)
    model.eval()
    with torch.no_grad():
        hits = sum(
            int(
                (
                    model(**{k: v for k, v in b.items() if k != "labels"}).logits.argmax(-1)
                    == b["labels"]
                ).sum()
            )
            for b in batches
        )
    model.train()  # dropout active: a forward in train mode would score differently
    accuracy = impl.evaluate_accuracy(model, batches)
    assert accuracy == pytest.approx(hits / 32)
    assert model.training, "evaluate_accuracy must restore the model's mode"


@pytest.mark.task(3)
def test_bad_arguments(impl: ModuleType, make_batches: MakeBatches) -> None:
    model = models.tiny_bert_classifier()
    with pytest.raises(TypeError, match="method"):
        impl.prepare_for_finetuning(model, "lora", TrainConfig())
    with pytest.raises(ValueError, match="head"):
        impl.prepare_for_finetuning(model, FinetuneMethod.HEAD_ONLY, TrainConfig(head="score"))
    with pytest.raises(ValueError, match="batches"):
        impl.train_classifier(model, [], TrainConfig())
    with pytest.raises(ValueError, match="epochs"):
        impl.train_classifier(model, make_batches(1), TrainConfig(epochs=0))
    with pytest.raises(ValueError, match="batches"):
        impl.evaluate_accuracy(model, [])


@pytest.mark.task(3)
@pytest.mark.slow
def test_lora_on_minilm_reaches_full_finetuning(impl: ModuleType) -> None:
    """The target: LoRA (query, value) >= 95% of full fine-tuning's test accuracy with <= 2% of
    the parameters trainable, on the shipped intents (a few minutes on a CPU)."""
    split = intents.load_split()
    results = {}
    for method, lr in ((FinetuneMethod.FULL, 1e-4), (FinetuneMethod.LORA, 1e-3)):
        model, tokenizer = models.minilm_classifier(len(split.classes))
        train = intents.make_batches(
            tokenizer, split.train_sentences, split.train_labels, 16, shuffle_seed=0
        )
        test = intents.make_batches(tokenizer, split.test_sentences, split.test_labels, 64)
        config = TrainConfig(epochs=4, lr=lr)
        model = impl.prepare_for_finetuning(model, method, config)
        impl.train_classifier(model, train, config)
        results[method] = (impl.evaluate_accuracy(model, test), impl.trainable_parameters(model))
    full_acc, _ = results[FinetuneMethod.FULL]
    lora_acc, (trainable, total) = results[FinetuneMethod.LORA]
    assert trainable / total <= 0.02
    assert lora_acc >= 0.95 * full_acc, f"LoRA {lora_acc:.3f} vs full {full_acc:.3f}"
