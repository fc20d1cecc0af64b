"""Secrets never reach a stored error: registered values and key-shaped ones are both removed."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from aimanager.errors import RemoteHTTPError
from aimanager.redact import REDACTED, redact, register


def test_registered_secret_is_removed_in_any_surrounding() -> None:
    register("tok-7f3a9c1d2e")
    body = json.dumps({"error": {"request": {"headers": {"X-Custom": "tok-7f3a9c1d2e"}}}})
    assert "tok-7f3a9c1d2e" not in redact(body)
    assert "tok-7f3a9c1d2e" not in redact("prefix" + "tok-7f3a9c1d2e" + "suffix")


def test_key_shapes_are_removed_even_when_never_registered() -> None:
    echoed = (
        '{"headers": {"x-api-key": "sk-ant-api03-unknownKEY_123", "authorization": "Bearer abc.def.ghi123"},'
        ' "api_key=zz99yy88"}'
    )
    out = redact(echoed)
    assert "unknownKEY" not in out and "abc.def.ghi123" not in out and "zz99yy88" not in out
    assert out.count(REDACTED) >= 3


def test_ordinary_text_is_left_alone() -> None:
    text = "max_tokens: 3000; tokens: 1500; 3 of 20 products not done: SKU-1: needs input: Вес, г"
    assert redact(text) == text


def test_http_errors_store_no_secret() -> None:
    register("sk-live-secret-000111")
    exc = RemoteHTTPError(
        "invalid x-api-key sk-live-secret-000111", status=401, body='{"x-api-key": "sk-live-secret-000111"}'
    )
    assert "sk-live-secret-000111" not in str(exc) and "sk-live-secret-000111" not in str(exc.body)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_a_registered_secret_never_survives_whatever_surrounds_it(noise: str) -> None:
    secret = "secret-value-ABCDEFGH"
    register(secret)
    assert secret not in redact(noise + secret + noise)
