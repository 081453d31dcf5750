"""What a model carries besides its weights: title, corpus, training record, as one typed value.

A checkpoint stores it as JSON next to the arrays; ``ModelMeta.from_dict`` reads that JSON back
and checks every field's type, so a malformed file ends in a ``CheckpointError`` with a plain
message, never in an AttributeError or KeyError deep inside a page.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from numbers import Real

from .config import TrainConfig
from .errors import CheckpointError
from .history import History

_CONFIG_TYPES = {"int": int, "float": Real, "str": str, "float | None": (Real, type(None)),
                 "int | None": (int, type(None))}


@dataclass(frozen=True)
class ModelMeta:
    """The metadata of a model: what pages show about it and what it was trained on."""

    title: str = ""  # a short name ("English prose", "Trained on english")
    description: str = ""  # one or two sentences for the Explorer's header
    corpus: str | None = None  # what it was trained on: a built-in corpus name, "pasted text" ...
    config: TrainConfig | None = None  # the training settings (None: not recorded)
    history: History | None = None  # losses per step and validation points (None: not recorded)
    val_loss: float | None = None  # validation loss, nats per token (None: not measured)
    snapshot_step: int | None = None  # the training step these weights are from, if known

    @classmethod
    def from_dict(cls, doc: dict) -> ModelMeta:
        """Typed metadata from a checkpoint's JSON object; CheckpointError for wrong types.

        Keys it does not know (the trainer's resume record, ...) are ignored.
        """
        if not isinstance(doc, dict):
            raise CheckpointError("The checkpoint's metadata must be a JSON object.")
        title = _opt(doc, "title", str) or ""
        description = _opt(doc, "description", str) or ""
        corpus = _opt(doc, "corpus", str)
        config = _config(doc.get("config"))
        history = _history(doc.get("history"))
        val_loss = _opt(doc, "val_loss", Real)
        if val_loss is None and history is not None and history.val_loss:
            val_loss = history.val_loss[-1]
        step = _opt(doc, "snapshot_step", int)
        _trainer(doc.get("trainer"))
        return cls(title, description, corpus, config, history,
                   None if val_loss is None else float(val_loss), step)

    def to_dict(self) -> dict:
        """The JSON object ``from_dict`` reads back (fields that are None left out)."""
        doc = {f.name: getattr(self, f.name) for f in fields(self)}
        doc["config"] = None if self.config is None else asdict(self.config)
        doc["history"] = None if self.history is None else self.history.to_dict()
        return {k: v for k, v in doc.items() if v is not None}


def _opt(doc: dict, key: str, kind):
    """``doc[key]`` if it has type ``kind`` (None when absent or null); CheckpointError else."""
    value = doc.get(key)
    if value is None:
        return None
    if not _is(value, kind):
        raise CheckpointError(f"The checkpoint's metadata field '{key}' has the wrong type "
                              f"({type(value).__name__}) or value.")
    return value


def _is(value, kind) -> bool:
    """``value`` has type ``kind``, a bool is no number, numbers are finite and counts >= 0."""
    if isinstance(value, bool) or not isinstance(value, kind):
        return False
    if kind is int:
        return value >= 0  # steps and positions
    return not isinstance(value, Real) or math.isfinite(value)


def _config(doc) -> TrainConfig | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise CheckpointError("The checkpoint's training settings must be a JSON object.")
    known = {f.name: f for f in fields(TrainConfig)}
    for key, value in doc.items():
        f = known.get(key)
        if f is None:
            continue
        kind = _CONFIG_TYPES[str(f.type)]
        if not _is(value, kind):
            raise CheckpointError(f"The checkpoint's setting '{key}' has the wrong type "
                                  f"({type(value).__name__}).")
    return TrainConfig.from_dict(doc)


def _history(doc) -> History | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise CheckpointError("The checkpoint's training history must be a JSON object.")
    names = {f.name for f in fields(History)}
    for key, value in doc.items():
        kind = int if key.endswith("step") else Real
        if key in names and not (isinstance(value, list) and all(_is(v, kind) for v in value)):
            raise CheckpointError(f"The checkpoint's history '{key}' must be a list of finite "
                                  f"{'whole ' * (kind is int)}numbers.")
    for group in (("step", "loss", "grad_norm", "seconds"), ("val_step", "val_loss")):
        if len({len(doc[k]) for k in group if k in doc}) > 1:
            raise CheckpointError(f"The checkpoint's history lists {', '.join(group)} differ "
                                  "in length.")
    return History.from_dict(doc)


def _trainer(doc) -> None:
    """The resume record ``Trainer.meta`` writes: counts >= 0, a finite time, a digest."""
    if doc is None:
        return
    if not isinstance(doc, dict):
        raise CheckpointError("The checkpoint's training record must be a JSON object.")
    kinds = {"steps": int, "pos": int, "optimizer_t": int, "seconds": Real, "corpus_digest": str}
    for key, kind in kinds.items():
        if key in doc and not (_is(doc[key], kind) and (kind is str or doc[key] >= 0)):
            raise CheckpointError(f"The checkpoint's training record '{key}' has the wrong "
                                  "type or value.")
