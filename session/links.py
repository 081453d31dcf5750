"""What a link names: model keys and the view parameters of each page, checked before use.

Model keys in a URL (``?model=``):
    english, brackets      a built-in model
    trained, trained@300   the model of the session's run now, or its snapshot at step 300
                           (only with the run's token, ``?run=``)
    sha256-<64 hex>        a shared model, from the shared-model store

Each ``read_*`` returns the value, None when the parameter is absent, or raises ``LinkError``
naming what was wrong, so the page can say so and show its default.
"""

from __future__ import annotations

from .store import DIGEST

RUN = "run"  # the query parameter of the run's token
MODEL = "model"
SHARED_PREFIX = "sha256-"
TRAINED = "trained"


class LinkError(ValueError):
    """A query parameter that names nothing on this page."""

    def __init__(self, what: str, raw: str, expected: str) -> None:
        super().__init__(f"{what} {raw!r}: {expected}")
        self.what, self.raw, self.expected = what, raw, expected


def shared_key(digest: str) -> str:
    return SHARED_PREFIX + digest


def shared_digest(key: str | None) -> str | None:
    """The digest in a shared model's key (not checked; the store checks it), else None."""
    if isinstance(key, str) and key.startswith(SHARED_PREFIX):
        return key[len(SHARED_PREFIX):]
    return None


def is_shared_key(key: str | None) -> bool:
    digest = shared_digest(key)
    return digest is not None and DIGEST.fullmatch(digest) is not None


def trained_key(step: int | None) -> str:
    """The key of the run's model now (None) or of its snapshot at ``step``."""
    return TRAINED if step is None else f"{TRAINED}@{step}"


def trained_step(key: str | None) -> tuple[bool, int | None]:
    """(is it a key of the run's models, the snapshot step or None for the model now)."""
    if key == TRAINED:
        return True, None
    if isinstance(key, str) and key.startswith(TRAINED + "@") and key[8:].isdigit():
        return True, int(key[8:])
    return False, None


def read_int(raw: str | None, low: int, high: int, what: str) -> int | None:
    """An integer in [low, high] from the URL (None when absent); LinkError otherwise."""
    if raw is None:
        return None
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise LinkError(what, raw, f"is not a whole number from {low} to {high}")
    return value


def read_choice(raw: str | None, options: dict[str, object], what: str):
    """One of ``options`` (by its name in the URL); None when absent; LinkError otherwise."""
    if raw is None:
        return None
    if raw not in options:
        raise LinkError(what, raw, f"is not one of {', '.join(options)}")
    return options[raw]


def read_scale(raw: str | None, scales: list[float], what: str = "scale") -> float | None:
    """One of ``scales`` (a float in the URL, matched to 1e-9); None when absent."""
    if raw is None:
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = float("nan")
    for s in scales:
        if abs(s - value) < 1e-9:
            return s
    raise LinkError(what, raw, f"is not one of the scales {scales[0]:g} to {scales[-1]:g}")

