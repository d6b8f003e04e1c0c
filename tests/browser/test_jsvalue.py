"""Python values into page code (browser/jsvalue.py)."""

from __future__ import annotations

from typing import Any

import pytest

from browser.jsvalue import to_js

from .conftest import BROWSER_MARKS

pytestmark = BROWSER_MARKS


@pytest.mark.parametrize(
    ("value", "source"),
    [
        (None, "null"),
        ("a'b\"</script>\u2028", '"a\'b\\"</script>\\u2028"'),
        ([1, 2.5, True], "[1, 2.5, true]"),
        ({"k": ["v"]}, '{"k": ["v"]}'),
    ],
)
def test_to_js_encodes_plain_values(value: Any, source: str) -> None:
    assert to_js(value) == source


@pytest.mark.parametrize("value", [object(), {1: "x"}, b"bytes", {"a": {1, 2}}])
def test_to_js_refuses_other_values(value: Any) -> None:
    with pytest.raises(TypeError):
        to_js(value)
