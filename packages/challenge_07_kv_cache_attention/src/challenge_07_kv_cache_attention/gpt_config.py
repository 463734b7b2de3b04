"""The decoder's hyper-parameters (given, shared by starter, baseline and solution)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GPTConfig:
    """GPT-2's architecture; ``from_hf`` reads a Hugging Face ``GPT2Config``."""

    vocab_size: int = 50257  # token ids are 0 .. vocab_size - 1
    n_positions: int = 1024  # learned absolute positions: the longest sequence
    n_embd: int = 768  # d_model, the residual stream width
    n_layer: int = 12  # decoder blocks
    n_head: int = 12  # attention heads; head_dim = n_embd // n_head
    layer_norm_epsilon: float = 1e-5  # LayerNorm's eps (GPT-2's value)
    eos_token_id: int = 50256  # generation stops a sequence at this token

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    @classmethod
    def from_hf(cls, hf_config: Any) -> GPTConfig:
        """The same architecture as a ``transformers.GPT2Config``."""
        eos = hf_config.eos_token_id
        return cls(
            vocab_size=hf_config.vocab_size,
            n_positions=hf_config.n_positions,
            n_embd=hf_config.n_embd,
            n_layer=hf_config.n_layer,
            n_head=hf_config.n_head,
            layer_norm_epsilon=hf_config.layer_norm_epsilon,
            eos_token_id=cls.eos_token_id if eos is None else int(eos),
        )
