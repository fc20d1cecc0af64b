"""Fixtures of the spec-validation tests (the connectors' own: sandboxes on loopback, fresh tokens)."""

from tests.connectors.conftest import token

__all__ = ["token"]
