"""Collects the shared connector contract (``contract.py``) for every registered entry."""

from tests.connectors.contract import *  # noqa: F403
