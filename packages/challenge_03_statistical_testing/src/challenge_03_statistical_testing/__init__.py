"""Challenge 03: statistical hypothesis testing for model comparison, exact to scipy and batched.

``starter`` (yours), ``baseline`` (one comparison at a time) and ``solution`` (vectorized over a
leading batch axis) implement the same functions; ``results`` and ``inputs`` are shared by all
three; ``bench`` times them; ``worked_example`` compares two scikit-learn classifiers.
"""
