"""Challenge 04: a dynamic-batching HTTP embedding service, measured under load."""
