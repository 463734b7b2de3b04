"""Challenge 16: LoRA adapters, merging and NF4-quantised base weights (QLoRA) on a real BERT."""
