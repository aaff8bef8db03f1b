"""Performance measurements of the app (``make bench`` -> bench/results.json).

Kept free of imports: the cold-start children import ``bench.baseline_app`` through this package,
so anything imported here would be charged to the baseline.
"""
