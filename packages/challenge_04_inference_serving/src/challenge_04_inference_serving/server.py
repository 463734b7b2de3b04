"""Run the embedding service: ``python -m challenge_04_inference_serving.server --port 8000``.

The implementation comes from ``--impl`` (default: ``CHALLENGE_IMPL``, else the solution).
``--synthetic BASE_MS,PER_ITEM_MS`` serves ``SyntheticModel`` instead of MiniLM (no torch work:
the serving overhead alone). SIGTERM drains the service (``serve``) and exits with status 0.
"""

from __future__ import annotations

import argparse
from typing import Any

from challenge_04_inference_serving.records import ServiceSettings
from prep import impl as impl_switch

PACKAGE = "challenge_04_inference_serving"


def model_from(spec: str | None, threads: int | None) -> Any:
    """``SyntheticModel`` for ``"BASE_MS,PER_ITEM_MS[,FAIL_ON]"``, else MiniLM."""
    if spec is not None:
        from challenge_04_inference_serving.synthetic import SyntheticModel

        base, per_item, *fail = spec.split(",")
        return SyntheticModel(float(base), float(per_item), fail_on=fail[0] if fail else None)
    import torch

    from challenge_04_inference_serving.minilm import MiniLMEmbedder

    if threads is not None:
        torch.set_num_threads(threads)
    return MiniLMEmbedder()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", default=None, help="starter, baseline, solution or wrong:<name>")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--synthetic", default=None, metavar="BASE_MS,PER_ITEM_MS")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--max-queue", type=int, default=256)
    parser.add_argument("--drain-timeout-s", type=float, default=30.0)
    args = parser.parse_args(argv)
    module = impl_switch.load(PACKAGE, args.impl)
    settings = ServiceSettings(
        max_batch=args.max_batch, max_wait_ms=args.max_wait_ms, max_queue=args.max_queue
    )
    app = module.create_app(model_from(args.synthetic, args.threads), settings)
    print(f"serving {module.__name__} on http://{args.host}:{args.port}", flush=True)
    module.serve(app, host=args.host, port=args.port, drain_timeout_s=args.drain_timeout_s)


if __name__ == "__main__":
    main()
