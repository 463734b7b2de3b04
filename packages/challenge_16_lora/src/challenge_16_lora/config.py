"""Types the three implementations share: how a classifier is fine-tuned, and the training knobs.

Given, not a task.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class FinetuneMethod(enum.Enum):
    """Which parameters of a sequence classifier train."""

    FULL = "full"  # every parameter
    HEAD_ONLY = "head_only"  # the classification head alone; the encoder stays frozen
    LORA = "lora"  # LoRA adapters on the target modules, plus the (new) head


@dataclass(frozen=True)
class TrainConfig:
    """Fine-tuning settings; the defaults suit LoRA on all-MiniLM-L6-v2 (full fine-tuning wants
    a learning rate about 10x smaller)."""

    epochs: int = 4  # passes over the training batches
    lr: float = 1e-3  # AdamW learning rate
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    seed: int = 0  # seeds the adapters' init, dropout and the batch order
    r: int = 8  # LoRA rank
    alpha: float = 16.0  # LoRA alpha: the update is scaled by alpha / r
    dropout: float = 0.0  # LoRA dropout on the adapter's input
    target_modules: tuple[str, ...] = ("query", "value")  # where LoRA goes (name suffixes)
    head: str = "classifier"  # the head's module name: trainable under LORA and HEAD_ONLY
    max_grad_norm: float = 1.0  # gradient clipping over the trainable parameters
