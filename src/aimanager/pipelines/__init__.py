"""The pipelines: what the product does with a catalog.

``catalog/`` imports it (files, rows, the import itself); ``capabilities/`` holds the job handlers of
cards, pricing, stock and analytics; ``services/`` what they share (runtime and its wiring, the
planner, runs and their follow-ups, group push, order feeds, progress); ``reports/`` renders the
partner reports; ``registry.py`` names every job kind the product runs.
"""
