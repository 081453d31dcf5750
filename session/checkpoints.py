"""A run's checkpoint to download, and a run that continues an uploaded one."""

from __future__ import annotations

import io
from dataclasses import replace

from rnn import CheckpointError, ModelMeta, RNNError, TrainConfig, Trainer, load_checkpoint
from rnn.train import text_digest

from .limits import (
    MAX_HIDDEN,
    MAX_TRAIN_VOCAB,
    check_checkpoint_size,
    check_corpus,
    check_limits,
)
from .training import TrainRun, start


def checkpoint_of(run: TrainRun) -> bytes:
    """A checkpoint of the run (weights, vocabulary, optimizer state, history) as bytes."""
    meta = run.model_meta()
    buf = io.BytesIO()
    run.trainer.save(buf, title=meta.title, description=meta.description, corpus=meta.corpus)
    return buf.getvalue()


def resume_run(data: bytes, text: str, corpus_name: str, *, temperature: float = 0.8,
               sample_every: int = 500) -> TrainRun:
    """A run that continues an uploaded checkpoint on ``text``; RNNError for a bad upload."""
    check_checkpoint_size(data)
    check_corpus(text)
    model, _, meta = load_checkpoint(data, max_hidden=MAX_HIDDEN, max_vocab=MAX_TRAIN_VOCAB)
    saved = replace(ModelMeta.from_dict(meta).config or TrainConfig(),
                    hidden_size=model.hidden_size, dtype=str(model.dtype))
    try:
        saved.validate()
        check_limits(saved)
    except (RNNError, TypeError, ValueError) as e:
        raise CheckpointError(f"The checkpoint's settings cannot be used here: {e}") from e
    try:
        trainer = Trainer.resume(data, text, saved)
    except RNNError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as e:  # malformed metadata
        raise CheckpointError(f"The checkpoint's training record is damaged ({e}).") from e
    record = meta.get("trainer")
    same = isinstance(record, dict) and record.get("corpus_digest") == text_digest(text)
    run = TrainRun(trainer, corpus_name, temperature, max(1, sample_every))
    run.resumed = (
        f"Continued exactly where the checkpoint stopped (step {trainer.steps})." if same else
        f"The checkpoint was trained on other text: its weights (step {trainer.steps}) now "
        f"train on {corpus_name}, with a fresh optimizer state."
    )
    return start(run)
