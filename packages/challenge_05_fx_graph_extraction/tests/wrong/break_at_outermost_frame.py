"""Wrong: the break's location is the first frame of dynamo's user stack, not the last.

For a break directly in ``forward`` the two agree; for one inside a helper that ``forward``
calls, the report points at the call site in ``forward`` instead of the line that broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from prep.impl import patched


def outermost(stack: Sequence[Any]) -> str:
    if not stack:
        return ""
    frame = stack[0]  # the bug: the outermost user frame
    return f"{frame.filename}:{frame.lineno}"


IMPLEMENTATION = patched("challenge_05_fx_graph_extraction.solution", _user_location=outermost)


TASK = 4  # whose tests reject it: `prep verify` runs them first
