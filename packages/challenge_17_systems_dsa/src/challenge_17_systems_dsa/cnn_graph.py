"""A real graph for the memory planner: a small residual CNN traced with torch.fx, each node's
output size measured by shape propagation. Given code (not a task)."""

from __future__ import annotations

import torch
from torch import nn
from torch.fx import symbolic_trace
from torch.fx.passes.shape_prop import ShapeProp


class SmallResNet(nn.Module):
    """Stem, two residual blocks and a classifier head: branches and joins, like real models."""

    def __init__(self, channels: int = 16, classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, channels, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(channels, channels, 3, padding=1),
                nn.BatchNorm2d(channels),
                nn.ReLU(),
                nn.Conv2d(channels, channels, 3, padding=1),
            )
            for _ in range(2)
        )
        self.head = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.relu(self.stem(x))  # (B, C, H, W)
        for block in self.blocks:
            x = torch.relu(x + block(x))  # the skip keeps x live across the block
        x = x.mean(dim=(2, 3))  # (B, C)
        logits: torch.Tensor = self.head(x)  # (B, classes)
        return logits


def traced_graph(
    model: nn.Module | None = None, batch: int = 8, size: int = 32
) -> tuple[dict[str, list[str]], dict[str, int]]:
    """``(graph, sizes)`` of ``model`` (default ``SmallResNet``) on a ``(batch, 3, size, size)``
    input: node name -> names of the nodes using its output, and node name -> output bytes."""
    model = (model or SmallResNet()).eval()
    gm = symbolic_trace(model)
    example = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(0))
    ShapeProp(gm).propagate(example)
    graph: dict[str, list[str]] = {}
    sizes: dict[str, int] = {}
    for node in gm.graph.nodes:
        if node.op == "output":
            continue
        meta = node.meta["tensor_meta"]
        sizes[node.name] = meta.shape.numel() * meta.dtype.itemsize
        graph[node.name] = [user.name for user in node.users if user.op != "output"]
    return graph, sizes
