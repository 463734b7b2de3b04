"""Render DOT text to SVG with Graphviz's ``dot`` binary, when it is installed. (Given.)

``apt-get install graphviz`` (or ``brew install graphviz``) provides it; without it,
``render_svg`` returns ``None`` and the DOT text can be pasted into any Graphviz viewer.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path


def render_svg(dot_text: str, path: str | Path) -> Path | None:
    """Write ``dot_text`` rendered as SVG to ``path``; ``None`` when ``dot`` is not installed.

    Raises:
        subprocess.CalledProcessError: ``dot`` rejected the text (a syntax error).
    """
    dot = shutil.which("dot")
    if dot is None:
        return None
    out = Path(path)
    subprocess.run([dot, "-Tsvg", "-o", str(out)], input=dot_text.encode(), check=True)
    return out
