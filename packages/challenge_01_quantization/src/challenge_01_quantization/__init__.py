"""Challenge 01: post-training quantization (INT8 per-channel, calibration, SmoothQuant, INT4).

The candidate's file is ``starter.py``; ``baseline.py`` and ``solution.py`` implement the same
API. ``config``, ``report``, ``tracing``, ``minilm`` and ``digits`` are shared, given modules.
"""
