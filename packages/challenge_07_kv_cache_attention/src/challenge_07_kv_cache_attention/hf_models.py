"""Hugging Face models and configs built offline (given): nothing is downloaded.

GPT-2 models get seeded random weights from a ``GPT2Config``; the Llama configs carry the
published sizes of Llama-2-7B and Llama-2-70B, for costing their KV-cache.
"""

from __future__ import annotations

from typing import Any

import torch


def gpt2_config(size: str = "tiny", **changes: Any) -> Any:
    """A ``transformers.GPT2Config``.

    Args:
        size: ``"tiny"`` (2 layers, d_model 64, 4 heads, vocab 256: tests), ``"small"`` (6
            layers, d_model 384, 6 heads, vocab 8192: CPU benchmarks) or ``"124m"`` (GPT-2's
            published size: 12 layers, 768, 12 heads, vocab 50257).
        changes: overrides of any config field.
    """
    from transformers import GPT2Config

    sizes: dict[str, dict[str, Any]] = {
        "tiny": {"vocab_size": 256, "n_positions": 128, "n_embd": 64, "n_layer": 2, "n_head": 4},
        "small": {"vocab_size": 8192, "n_positions": 2304, "n_embd": 384, "n_layer": 6, "n_head": 6},
        "124m": {"vocab_size": 50257, "n_positions": 1024, "n_embd": 768, "n_layer": 12, "n_head": 12},
    }  # fmt: skip
    if size not in sizes:
        raise ValueError(f"size must be one of {sorted(sizes)}, got {size!r}")
    fields = sizes[size]
    eos = fields["vocab_size"] - 1  # GPT-2's <|endoftext|> is its last id
    fields = {"bos_token_id": eos, "eos_token_id": eos, **fields, **changes}
    return GPT2Config(**fields)


def gpt2_model(
    size: str = "tiny", *, seed: int = 0, dtype: torch.dtype = torch.float32, **changes: Any
) -> Any:
    """A ``GPT2LMHeadModel`` in eval mode with weights drawn from ``torch.manual_seed(seed)``.

    Random weights give near-uniform next-token distributions, so greedy decoding would often
    hit near-ties; the weights are scaled up (std 0.2 instead of 0.02) so that the logits have
    clear maxima and greedy token comparisons are meaningful in float32.
    """
    from transformers import GPT2LMHeadModel

    config = gpt2_config(size, **changes)
    config.initializer_range = 0.2
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model: Any = GPT2LMHeadModel(config)
    return model.to(dtype).eval()


def llama2_7b_config() -> Any:
    """Llama-2-7B's published sizes: 32 layers, 32 heads (no GQA), d_model 4096, 4k context."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=32000,
        hidden_size=4096,
        intermediate_size=11008,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=32,
        max_position_embeddings=4096,
    )


def llama2_70b_config() -> Any:
    """Llama-2-70B's published sizes: 80 layers, 64 query heads sharing 8 KV heads (GQA)."""
    from transformers import LlamaConfig

    return LlamaConfig(
        vocab_size=32000,
        hidden_size=8192,
        intermediate_size=28672,
        num_hidden_layers=80,
        num_attention_heads=64,
        num_key_value_heads=8,
        max_position_embeddings=4096,
    )


def random_prompts(
    batch: int, length: int, pads: list[int], *, vocab_size: int = 256, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, attention_mask), both (batch, length) int64: random tokens below the last id
    (GPT-2's EOS), row b left-padded with ``pads[b]`` EOS tokens (mask 0), as a tokenizer with
    ``padding_side="left"`` would give."""
    g = torch.Generator().manual_seed(seed)
    eos = vocab_size - 1
    ids = torch.randint(0, eos, (batch, length), generator=g)
    mask = torch.ones(batch, length, dtype=torch.long)
    for b, n in enumerate(pads):
        mask[b, :n] = 0
        ids[b, :n] = eos
    return ids, mask
