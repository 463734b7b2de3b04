"""Challenge 15: tensor and sequence parallelism (Megatron-style) for a GPT-2 block and model."""
