"""Server settings: the shared-model store and the bounds on training runs.

Read once from environment variables, so every replica behind one load balancer can be given
the same store folder. A bad value stops the app with a plain message naming the variable.

    RNN_STORE_DIR         folder of shared models         (default: shared-models/ in the app)
    RNN_STORE_MAX_MB      size cap of that folder, MB     (default 200)
    RNN_STORE_DAYS        a shared model expires after    (default 30 days)
    RNN_MAX_RUNS          runs kept on this server        (default 64)
    RNN_MAX_TRAINING      runs training at once           (default 2)
    RNN_RUNS_MAX_MB       memory of all kept runs, MB     (default 512)
    RNN_RUN_IDLE_MIN      a run unseen this long is released          (default 30 minutes)
    RNN_RUN_LEAVE_MIN     a playing run unseen this long is paused    (default 10 minutes)
    RNN_TRIM_EVERY_S      give freed memory back to the system this often (default 60 s; 0: never)
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rnn import RNNError

APP_DIR = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Settings:
    """What an operator can set; the defaults fit a 2-core machine with 4 GB (README)."""

    store_dir: Path = APP_DIR / "shared-models"  # several replicas may share it
    store_max_mb: float = 200.0  # about 200 shared models of the largest size allowed
    store_days: float = 30.0  # a shared link works this long after it was made
    max_runs: int = 64  # training runs kept at once (one per session)
    max_training: int = 2  # runs training at once: one per core
    runs_max_mb: float = 512.0  # estimated memory of all kept runs together
    run_idle_min: float = 30.0  # a run nobody looked at for this long is released
    run_leave_min: float = 10.0  # a playing run nobody looked at for this long is paused
    trim_every_s: float = 60.0  # the server gives freed memory back this often (session.memory)


# variable -> (field, type, smallest value allowed)
_VARIABLES = {
    "RNN_STORE_DIR": ("store_dir", Path, None),
    "RNN_STORE_MAX_MB": ("store_max_mb", float, 1.0),
    "RNN_STORE_DAYS": ("store_days", float, 0.0),
    "RNN_MAX_RUNS": ("max_runs", int, 1),
    "RNN_MAX_TRAINING": ("max_training", int, 1),
    "RNN_RUNS_MAX_MB": ("runs_max_mb", float, 1.0),
    "RNN_RUN_IDLE_MIN": ("run_idle_min", float, 0.0),
    "RNN_RUN_LEAVE_MIN": ("run_leave_min", float, 0.0),
    "RNN_TRIM_EVERY_S": ("trim_every_s", float, 0.0),
}


def from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from environment variables (``os.environ`` by default); RNNError for bad ones."""
    environ = os.environ if environ is None else environ
    values = {}
    for name, (attr, kind, low) in _VARIABLES.items():
        raw = environ.get(name, "").strip()
        if not raw:
            continue
        if kind is Path:
            values[attr] = Path(raw).expanduser()
            continue
        try:
            value = kind(raw)
        except ValueError:
            raise RNNError(f"{name}={raw!r} is not a number.") from None
        if not math.isfinite(value) or value < low:
            raise RNNError(f"{name}={raw!r}: it must be at least {low:g}.")
        values[attr] = value
    return Settings(**values)
