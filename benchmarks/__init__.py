"""Benchmarks of the tap against the fake Zendesk server; run ``benchmarks/run.py``."""
