"""What a person types into the address bar, as a URL (browser/urls.py)."""

from __future__ import annotations

import pytest

from browser.urls import url_from_input

from .conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("example.com", "https://example.com"),
        ("example.com/a?b=1", "https://example.com/a?b=1"),
        ("127.0.0.1:8080/x", "http://127.0.0.1:8080/x"),
        ("localhost:3000", "http://localhost:3000"),
        ("peerapp://chat/", "peerapp://chat/"),
        ("https://example.org/", "https://example.org/"),
    ],
)
def test_url_from_input(typed: str, expected: str) -> None:
    url = url_from_input(typed)
    assert url is not None and url.toString() == expected


@pytest.mark.parametrize("typed", ["", "   ", "two words"])
def test_url_from_input_rejects_non_addresses(typed: str) -> None:
    assert url_from_input(typed) is None
