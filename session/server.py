"""What one server shares between its sessions: the run registry and the shared-model store.

Made once per process, on first use, from ``session.settings``. These two objects are the only
state shared across sessions (see ``session.runs`` and ``session.store`` for their bounds).
"""

from __future__ import annotations

import atexit
import functools

from . import training
from .runs import RunLimits, RunRegistry, deep_nbytes
from .settings import Settings, from_env
from .store import ModelStore


@functools.cache
def settings() -> Settings:
    return from_env()


@functools.cache
def runs() -> RunRegistry:
    """The server's run registry; its trainer threads stop when the process exits."""
    registry = RunRegistry(RunLimits.from_settings(settings()), chunk=training.play_chunk,
                           pause=training.pause, size=run_size)
    atexit.register(registry.shutdown)
    return registry


@functools.cache
def store() -> ModelStore:
    return ModelStore.from_settings(settings())


def reset() -> None:
    """Forget the registry (ending its threads), the store and the settings (tests)."""
    if runs.cache_info().currsize:
        runs().shutdown()
    for made in (runs, store, settings):
        made.cache_clear()


def run_size(run) -> int:
    """Estimated bytes of a run once all its snapshots are taken (the registry's memory bound
    is checked against this when a run is created)."""
    model = run.trainer.model
    one = sum(getattr(model, name).nbytes for name in ("W_i", "W_h", "b_h", "W_o", "b_o"))
    return deep_nbytes(run) + max(0, training.MAX_SNAPSHOTS - len(run.snapshots)) * one
