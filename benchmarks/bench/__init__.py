"""The pieces of benchmarks/run.py: timing, output checkers, the measured rows, targets, report."""
