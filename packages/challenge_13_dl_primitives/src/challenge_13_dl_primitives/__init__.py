"""Challenge 13: deep-learning primitives, forward and backward, without autograd."""
