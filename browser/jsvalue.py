"""Python values to JavaScript source, for ``runJavaScript`` calls.

The one encoder used when Python puts a value into page code; never format
values into JavaScript with string formatting.
"""

from __future__ import annotations

import json
import math


def to_js(value: object) -> str:
    """Encode None, bools, finite numbers, strings, lists/tuples and str-keyed dicts.

    Raises TypeError for anything else (and ValueError for NaN/infinity).
    """
    _check(value)
    # json.dumps output is valid JS, except U+2028/U+2029 in older engines: escape them.
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def _check(value: object) -> None:
    if value is None or isinstance(value, bool | str | int):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"cannot encode {value!r} for JavaScript")
        return
    if isinstance(value, list | tuple):
        for item in value:
            _check(item)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"object keys must be str, not {type(key).__name__}")
            _check(item)
        return
    raise TypeError(f"cannot encode {type(value).__name__} for JavaScript")
