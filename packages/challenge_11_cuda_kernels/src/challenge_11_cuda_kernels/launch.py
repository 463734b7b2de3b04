"""Run one kernel once on fresh inputs and check it: the target for ``ncu`` and
``compute-sanitizer``, which want a short program around the launch they inspect.

    python -m challenge_11_cuda_kernels.launch matmul --size 1000 777 513
    compute-sanitizer --tool racecheck python -m challenge_11_cuda_kernels.launch matmul --size 64 64 64
    ncu --section SpeedOfLight -k regex:sgemm python -m challenge_11_cuda_kernels.launch matmul --size 4096

Exits with status 1 when the result differs from torch's.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from types import ModuleType

import torch

from prep import impl as impl_switch

PACKAGE = "challenge_11_cuda_kernels"


def _inputs(
    kernel: str, size: list[int]
) -> tuple[tuple[torch.Tensor, ...], Callable[..., torch.Tensor]]:
    """Inputs on the GPU and the torch function the kernel must match."""
    gen = torch.Generator().manual_seed(0)
    cuda = torch.device("cuda")
    if kernel in ("matmul", "matmul_triton"):
        m, k, n = (size * 3)[:3] if len(size) < 3 else size
        dtype = torch.float32 if kernel == "matmul" else torch.bfloat16
        a = torch.randn(m, k, generator=gen).to(cuda, dtype)
        b = torch.randn(k, n, generator=gen).to(cuda, dtype)
        return (a, b), lambda a, b: (a.double() @ b.double()).to(dtype)
    if kernel in ("reduce_sum", "reduce_max"):
        x = torch.randn(size[0], generator=gen).to(cuda)
        return (x,), (lambda x: x.double().sum().float()) if kernel == "reduce_sum" else torch.amax
    rows, cols = (size * 2)[:2]
    x = torch.randn(rows, cols, generator=gen).to(cuda)
    if kernel.startswith("bias_relu"):
        bias = torch.randn(cols, generator=gen).to(cuda)
        return (x, bias), lambda x, b: torch.relu(x + b)
    return (x,), lambda x: torch.softmax(x.double(), -1).float()


def main(argv: list[str] | None = None) -> int:
    kernels = ["matmul", "reduce_sum", "reduce_max", "bias_relu", "bias_relu_triton", "softmax",
               "softmax_triton", "matmul_triton"]  # fmt: skip
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kernel", choices=kernels)
    parser.add_argument("--size", type=int, nargs="+", default=[1000], help="m k n / rows cols / n")
    parser.add_argument(
        "--impl", default="solution", help="starter, baseline, solution, wrong:<name>"
    )
    parser.add_argument(
        "--warmup", type=int, default=1, help="untimed calls before the checked one"
    )
    args = parser.parse_args(argv)
    module: ModuleType = impl_switch.load(PACKAGE, args.impl)
    inputs, reference = _inputs(args.kernel, args.size)
    fn = getattr(module, args.kernel)
    for _ in range(args.warmup):
        fn(*inputs)
    out = fn(*inputs)
    expected = reference(*inputs)
    tol = 2e-2 if out.dtype == torch.bfloat16 else 1e-4
    scale = float(expected.float().abs().max()) if expected.numel() else 1.0
    error = float((out.float() - expected.float()).abs().max()) if out.numel() else 0.0
    ok = error <= tol * max(scale, 1.0)
    print(
        f"{args.impl} {args.kernel} {args.size}: max abs error {error:.3g} ({'ok' if ok else 'WRONG'})"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
