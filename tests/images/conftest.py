"""The LLM sandbox fixtures of ``tests/llm`` (a sandbox on loopback, a migrated engine, a gateway
factory), shared with the vision tests here."""

from tests.llm.conftest import engine, make_gateway, sandbox  # noqa: F401 - pytest finds fixtures by name
