"""Challenge 17: the data structures and algorithms an inference runtime is built on.

Import an implementation through ``prep.impl.load("challenge_17_systems_dsa")``.
"""
