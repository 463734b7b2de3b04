"""Challenge 05: extract a standardized graph from PyTorch models with torch.export, FX and dynamo.

Your code goes in ``starter.py``; ``ir.py`` (the GraphIR), ``breaks.py`` (what defeats tracing),
``models.py`` (the models), ``rebuild.py`` (runs an IR without the model) and ``svg.py`` are
given. ``uv run prep show 05`` prints the README.
"""
