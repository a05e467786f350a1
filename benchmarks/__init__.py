"""Reproducible benchmarks: a seeded corpus generator and a stage-by-stage harness.

``python -m benchmarks.run --quick`` (``make bench``) or ``--full`` (``make bench-full``);
see benchmarks/README.md for the figures and what limits each stage.
"""
