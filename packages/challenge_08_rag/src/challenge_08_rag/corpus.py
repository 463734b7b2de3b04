"""The corpus: the API documentation that ships inside the installed PyTorch (given).

``torch_documents()`` walks the public functions and classes of ``torch``, ``torch.nn``,
``torch.nn.functional``, ``torch.Tensor``, ``torch.distributed``, ``torch.fx``,
``torch.export``... with ``inspect`` and keeps each one's docstring: a few thousand real
documents nobody on this project wrote. Extraction imports those modules (seconds), so the
result is cached on disk, keyed by the torch version and the module list.
``project_documents()`` adds this repository's Markdown (READMEs, docs/) for ``prep ask``.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import warnings
from collections.abc import Sequence
from pathlib import Path

from challenge_08_rag.records import Document

# The namespaces documented, in priority order: an object exported by several (torch.nn.Conv2d
# is also torch.nn.modules.conv.Conv2d) keeps the first name it is found under.
TORCH_MODULES: tuple[str, ...] = (
    "torch", "torch.nn", "torch.nn.functional", "torch.nn.init", "torch.nn.utils",
    "torch.nn.utils.rnn", "torch.nn.utils.parametrize", "torch.nn.attention", "torch.linalg",
    "torch.fft", "torch.special", "torch.sparse", "torch.nested", "torch.masked",
    "torch.autograd", "torch.autograd.graph", "torch.autograd.functional", "torch.func",
    "torch.optim", "torch.optim.lr_scheduler", "torch.utils.data", "torch.utils.checkpoint",
    "torch.amp", "torch.cuda", "torch.backends.cuda", "torch.backends.cudnn", "torch.mps",
    "torch.distributed", "torch.distributed.fsdp", "torch.distributed.tensor",
    "torch.nn.parallel", "torch.multiprocessing", "torch.fx", "torch.export", "torch.compiler",
    "torch.jit", "torch.library", "torch.profiler", "torch.ao.quantization", "torch.onnx",
    "torch.distributions", "torch.random", "torch.testing", "torch.serialization", "torch.hub",
    "torch.signal.windows", "torch.utils.benchmark",
)  # fmt: skip
# Classes whose methods are documented pages of their own (torch.Tensor.masked_fill, ...).
METHOD_CLASSES: tuple[str, ...] = (
    "torch.Tensor", "torch.nn.Module", "torch.optim.Optimizer", "torch.fx.Graph",
    "torch.fx.GraphModule", "torch.export.ExportedProgram",
)  # fmt: skip
MIN_CHARS = 40  # shorter docstrings ("See torch.abs()") carry nothing to retrieve


def cache_dir() -> Path:
    """Where corpora and embeddings are cached: ``$PREP_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/infer-prep`` (``~/.cache/infer-prep``)."""
    override = os.environ.get("PREP_CACHE_DIR")
    if override:
        return Path(override)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "infer-prep"


def _docstring(obj: object) -> str | None:
    raw = getattr(obj, "__doc__", None)  # the object's own, not one inherited from a base class
    if not isinstance(raw, str):
        return None
    text = inspect.cleandoc(raw).strip()
    return text if len(text) >= MIN_CHARS else None


def extract(modules: Sequence[str] = TORCH_MODULES) -> list[Document]:
    """Every public function and class of ``modules`` with a docstring of its own, then the
    methods of ``METHOD_CLASSES``; a module that fails to import (a build without distributed
    support) is skipped."""
    seen_objects: set[int] = set()
    seen_texts: set[str] = set()
    documents: list[Document] = []

    def keep(name: str, obj: object) -> None:
        text = _docstring(obj)
        if text is None or id(obj) in seen_objects or text in seen_texts:
            return
        seen_objects.add(id(obj))
        seen_texts.add(text)
        documents.append(Document(name, text))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # deprecated aliases warn on access
        for module_name in modules:
            try:
                module = importlib.import_module(module_name)
            except Exception:  # an optional backend missing from this build
                continue
            for attr in sorted(dir(module)):
                if attr.startswith("_"):
                    continue
                try:
                    obj = getattr(module, attr)
                except Exception:
                    continue
                if inspect.ismodule(obj) or not callable(obj):
                    continue
                owner = getattr(obj, "__module__", None)
                if isinstance(owner, str) and not owner.startswith("torch"):
                    continue  # typing.Any, contextlib.contextmanager... imported, not torch's
                keep(f"{module_name}.{attr}", obj)
        for class_name in METHOD_CLASSES:
            module_name, _, attr = class_name.rpartition(".")
            try:
                cls = getattr(importlib.import_module(module_name), attr)
            except Exception:
                continue
            for method in sorted(dir(cls)):
                if not method.startswith("_") and not hasattr(object, method):
                    keep(f"{class_name}.{method}", getattr(cls, method, None))
    return documents


def torch_documents(
    modules: Sequence[str] = TORCH_MODULES, *, cache: Path | None = None
) -> list[Document]:
    """``extract(modules)``, cached as JSON under ``cache`` (default ``cache_dir()``) keyed by
    the torch version and the module list; a cache file that does not parse is rebuilt."""
    import torch

    key = hashlib.sha256("\n".join([*modules, *METHOD_CLASSES]).encode()).hexdigest()[:12]
    path = (cache or cache_dir()) / f"torch-docs-{torch.__version__}-{key}.json"
    if path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return [Document(str(i), str(t)) for i, t in data["documents"]]
        except (ValueError, KeyError, TypeError):
            pass  # corrupt or from an older layout: rebuild below
    documents = extract(modules)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"torch": torch.__version__, "documents": [[d.id, d.text] for d in documents]}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload), encoding="utf-8")
    tmp.replace(path)  # atomic: a concurrent reader never sees half a file
    return documents


def project_documents(root: Path) -> list[Document]:
    """The repository's Markdown: README.md, docs/**/*.md and every challenge's README.md,
    each with its path relative to ``root`` as id."""
    paths = [root / "README.md", *sorted((root / "docs").glob("**/*.md"))]
    paths += sorted((root / "packages").glob("*/README.md"))
    return [
        Document(p.relative_to(root).as_posix(), p.read_text(encoding="utf-8"))
        for p in paths
        if p.is_file()
    ]
