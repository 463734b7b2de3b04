"""Challenge 06: FX graph passes - conv-bn folding, linear+activation fusion, DCE, constant
folding, CSE - and a verifying pass manager usable as a ``torch.compile`` backend.

Your file is ``starter.py``; ``models.py`` holds the test models, ``fused.py`` the fused module
that task 2 inserts, ``results.py`` the pass manager's report types and ``checks.py`` the
seeded output comparison the tests and the bench use.
"""
