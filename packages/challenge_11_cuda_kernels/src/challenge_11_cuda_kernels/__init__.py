"""Challenge 11: CUDA and Triton kernels.

Tiled SGEMM, warp-shuffle reductions, fused bias+ReLU, online softmax (CUDA C++ in ``csrc/``,
built with ``torch.utils.cpp_extension``) and Triton kernels, plus strided index arithmetic in
C++ on the CPU. On a machine with no CUDA GPU, Triton kernels run in Triton's interpreter
(``TRITON_INTERPRET=1`` is set here before any kernel is defined) so they can be tested on CPU.
"""

from __future__ import annotations

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
