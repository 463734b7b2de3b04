"""Challenge 07: attention with a KV-cache (SDPA, MHA/GQA/MQA, static and paged caches, GPT-2).

The candidate's file is ``starter.py``; ``baseline.py`` and ``solution.py`` implement the same
API. ``gpt_config`` (the model's hyper-parameters) and ``hf_models`` (seeded Hugging Face GPT-2
models and published Llama configs, built offline) are shared, given modules.
"""
