"""What defeats graph capture: the constructs, the error ``extract_graph`` raises, and the
report ``explain_breaks`` returns. (Given.)

Each tracer fails in its own words - ``TraceError: symbolically traced variables cannot be used
as inputs to control flow``, ``GuardOnDataDependentSymNode``, dynamo's ``Data-dependent
branching`` or ``generic_jump TensorVariable()`` - for the same few constructs in the model.
``Construct.classify`` maps those messages to one vocabulary, so a caller can act on the kind of
problem without parsing three tracers' error texts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from challenge_05_fx_graph_extraction.ir import Method


class Construct(StrEnum):
    """A kind of Python code a tracer cannot capture; the value reads as a sentence fragment."""

    CONTROL_FLOW = "Python control flow on a traced value (if/while on a tensor)"
    PYTHON_VALUE = "a traced value used as a plain Python number (range(), slicing, int())"
    DYNAMIC_DIM = "a dimension marked dynamic that the model specializes or bounds"
    SIDE_EFFECT = "a Python side effect (print, logging, I/O)"
    NON_TORCH_CALL = "a call outside torch (NumPy, a C extension)"
    UNKNOWN = "a construct this tracer does not support"

    @property
    def advice(self) -> str:
        """What usually fixes it."""
        return _ADVICE[self]

    @classmethod
    def classify(cls, message: str) -> Construct:
        """The construct a tracer's error message or dynamo's graph-break reason describes."""
        text = message.lower()
        for construct, pattern in _PATTERNS:
            if pattern.search(text):
                return construct
        return cls.UNKNOWN


# Checked in order: the first match wins (constraint messages quote other constructs' words).
_PATTERNS: tuple[tuple[Construct, re.Pattern[str]], ...] = (
    (
        Construct.DYNAMIC_DIM,
        re.compile(r"constraints violated|specialized it to be a constant|marked \S+ as dynamic"),
    ),
    (
        Construct.PYTHON_VALUE,
        re.compile(
            r"cannot be interpreted as an integer|slice indices must be integers"
            r"|int\(\) argument must be|float\(\) argument must be|extract specialized integer"
            r"|'proxy' object is not iterable|proxy object cannot be iterated"
        ),
    ),
    (
        Construct.CONTROL_FLOW,
        re.compile(
            r"cannot be used as inputs to control flow|data-dependent branching|generic_jump"
            r"|guard on data-dependent|expected pred to be bool"
        ),
    ),
    (Construct.SIDE_EFFECT, re.compile(r"\bprint\b|\blogging\b|\blogger\b|\bopen\(")),
    (Construct.NON_TORCH_CALL, re.compile(r"numpy|np\.ndarray")),
)

_ADVICE: dict[Construct, str] = {
    Construct.CONTROL_FLOW: "rewrite the branch with torch.cond or torch.where, or keep it "
    "outside the captured function",
    Construct.PYTHON_VALUE: "use method='export' or 'dynamo', which trace sizes symbolically, "
    "or keep tensor sizes as tensors",
    Construct.DYNAMIC_DIM: "follow the suggested fix (a min/max on the Dim), or make the "
    "dimension static",
    Construct.SIDE_EFFECT: "move the side effect out of forward (a hook, or the caller), or "
    "accept that symbolic_trace/export run it once at trace time only",
    Construct.NON_TORCH_CALL: "replace the NumPy call with the torch equivalent, or register it "
    "as a custom op (torch.library.custom_op) with a fake implementation",
    Construct.UNKNOWN: "run explain_breaks(model, example_inputs) to locate it",
}


class ExtractionError(RuntimeError):
    """A method could not capture the model; ``construct`` says why, the message says how to
    fix it, and ``__cause__`` is the tracer's own exception.

    Args:
        method: the capture method that failed.
        construct: what in the model defeated it (``Construct.classify`` of the tracer's error).
        detail: the tracer's message (its first lines are quoted).
        model: the model's class name.
    """

    def __init__(self, method: Method, construct: Construct, detail: str, model: str) -> None:
        self.method = method
        self.construct = construct
        self.detail = detail
        self.model = model
        quoted = "\n    ".join(detail.strip().splitlines()[:6])
        super().__init__(
            f"method={method.value!r} cannot capture {model}: {construct.value}.\n"
            f"  fix: {construct.advice}\n  the tracer said:\n    {quoted}"
        )


@dataclass(frozen=True)
class GraphBreak:
    """One place where dynamo stopped the graph and fell back to Python."""

    reason: str  # dynamo's reason, first line
    construct: Construct  # Construct.classify(the full reason)
    location: str  # "file.py:LINE" of the user code that broke the graph ("" if unknown)


@dataclass(frozen=True)
class BreakReport:
    """What ``explain_breaks`` returns."""

    graph_count: int  # graphs dynamo captured (breaks + 1 when each break resumes into a graph)
    op_count: int  # operations over all those graphs
    breaks: tuple[GraphBreak, ...]  # in the order dynamo met them

    @property
    def break_count(self) -> int:
        return len(self.breaks)
