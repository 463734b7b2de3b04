"""Challenge 08: retrieval-augmented generation over PyTorch's own documentation."""
