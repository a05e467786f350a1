"""The demo: a small French dataset of real-world shaped sources, dated relative to today."""
