"""Benchmarks behind ``aimanager bench …``; each writes its figures to BENCHMARKS.md."""
