"""infer-prep's harness: the implementation switch, test helpers, benchmarks and the CLI."""

from __future__ import annotations

__all__ = ["__version__"]
__version__ = "0.1.0"
