"""The models a run and the shared-model store put on a session's shelf, and "Share"."""

from __future__ import annotations

from rnn import ModelMeta, checkpoint_bytes

from .links import shared_key, trained_key
from .shelf import ModelEntry
from .store import ModelStore
from .training import TrainRun, snapshot_model


def trained_entry(run: TrainRun, step: int | None = None) -> ModelEntry:
    """A frozen copy of the run's model now (step None) or of its snapshot at ``step``, taken
    under the run's lock while it may go on training: weights, label and losses agree."""
    with run.lock:
        model = snapshot_model(run, step)
        meta = run.model_meta(step)
    return ModelEntry(trained_key(step), f"Trained here: {run.corpus_name}, step "
                      f"{meta.snapshot_step:,}", model, run.trainer.vocab, meta,
                      "trained" if step is None else "snapshot")


def share(entry: ModelEntry, store: ModelStore) -> str:
    """Store a frozen copy of a model as a checkpoint; returns its key for links."""
    meta = entry.meta.to_dict()
    meta.setdefault("title", entry.label)
    return shared_key(store.put(checkpoint_bytes(entry.model, entry.vocab, **meta)))


def shared_entry(digest: str, store: ModelStore) -> ModelEntry:
    """The shared model of a digest (StoreError, with a plain message, when there is none)."""
    model, vocab, doc = store.load(digest)
    meta = ModelMeta.from_dict(doc)
    step = f", step {meta.snapshot_step:,}" if meta.snapshot_step is not None else ""
    return ModelEntry(shared_key(digest), f"Shared: {meta.title or 'a model'}{step}", model,
                      vocab, meta, "shared")
