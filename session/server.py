"""What one server shares between its sessions: the run registry and the shared-model store.

Made once per process, on first use, from ``session.settings`` (under a lock: the first pages
of two sessions at once make one registry, not two). These two objects are the only
state shared across sessions (see ``session.runs`` and ``session.store`` for their bounds). The
trimmer holds no state of anyone's: it gives the memory closed sessions freed back to the system.
"""

from __future__ import annotations

import atexit
import functools
import threading

from . import training
from .memory import Trimmer
from .runs import RunLimits, RunRegistry, deep_nbytes
from .settings import Settings, from_env
from .store import ModelStore


def _one_per_server(make):
    """``functools.cache``, but made once even when two threads ask first at the same time
    (the cache alone may call ``make`` twice, and one caller would keep an orphan)."""
    made, lock = functools.cache(make), threading.Lock()

    @functools.wraps(make)
    def get():
        if not made.cache_info().currsize:
            with lock:
                return made()
        return made()

    get.cache_info, get.cache_clear = made.cache_info, made.cache_clear
    return get


@_one_per_server
def settings() -> Settings:
    return from_env()


@_one_per_server
def runs() -> RunRegistry:
    """The server's run registry; its trainer threads stop when the process exits."""
    registry = RunRegistry(RunLimits.from_settings(settings()), chunk=training.play_chunk,
                           pause=training.pause, size=run_size)
    atexit.register(registry.shutdown)
    return registry


@_one_per_server
def store() -> ModelStore:
    return ModelStore.from_settings(settings())


@_one_per_server
def trimmer() -> Trimmer:
    """The server's trimmer, started on first use (app.py asks for it with every page)."""
    return Trimmer(settings().trim_every_s).start()


def reset() -> None:
    """Forget the registry (ending its threads), the trimmer, the store and the settings (tests)."""
    if runs.cache_info().currsize:
        runs().shutdown()
    if trimmer.cache_info().currsize:
        trimmer().stop()
    for made in (runs, trimmer, store, settings):
        made.cache_clear()


def run_size(run) -> int:
    """Estimated bytes of a run once all its snapshots are taken (the registry's memory bound
    is checked against this when a run is created)."""
    model = run.trainer.model
    one = sum(getattr(model, name).nbytes for name in ("W_i", "W_h", "b_h", "W_o", "b_o"))
    return deep_nbytes(run) + max(0, training.MAX_SNAPSHOTS - len(run.snapshots)) * one
