"""Results kept per session so a rerun does not recompute them: one slot per name, one rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

_PLAIN = (str, int, float, bool, type(None))


def same_key(a: Any, b: Any) -> bool:
    """Whether two cache keys match: arrays by value, plain values by ==, tuples item by item,
    anything else (a model, a vocabulary) by identity, so a replaced model is never mistaken
    for the one it replaced."""
    if isinstance(a, tuple) or isinstance(b, tuple):
        return (isinstance(a, tuple) and isinstance(b, tuple) and len(a) == len(b)
                and all(same_key(x, y) for x, y in zip(a, b, strict=True)))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray)
                and a.shape == b.shape and bool(np.array_equal(a, b)))
    if isinstance(a, _PLAIN) and isinstance(b, _PLAIN):
        return type(a) is type(b) and a == b
    return a is b


class Memo:
    """The latest result per name, with the key it was computed for."""

    def __init__(self) -> None:
        self._slots: dict[str, tuple[Any, Any]] = {}

    def get(self, name: str, key: Any, make: Callable[[], Any]) -> Any:
        """The result kept under ``name`` if it was made for ``key``; else ``make()``, kept.

        An exception from ``make`` leaves the slot empty.
        """
        slot = self._slots.get(name)
        if slot is not None and same_key(slot[0], key):
            return slot[1]
        self._slots.pop(name, None)
        value = make()
        self._slots[name] = (key, value)
        return value
