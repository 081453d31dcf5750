"""The models a session can look at: built-in checkpoints, the one trained here, and uploads.

Everything lives in ``st.session_state`` (one copy per browser session), never in module globals
or a shared cache, so one user scaling or training a model never changes what another sees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import streamlit as st

from rnn import RNN, CheckpointError, Vocab, load_checkpoint

MODELS_DIR = Path(__file__).resolve().parent.parent / "models"
MAX_UPLOAD_MB = 20
_STATE = "models"  # session_state key: dict[str, ModelEntry]
_CURRENT = "model_key"  # session_state key: key of the model the pages show


@dataclass
class ModelEntry:
    """A model with its vocabulary and where it came from."""

    key: str  # short id, used in the URL (?model=key)
    label: str  # what the model picker shows
    model: RNN
    vocab: Vocab
    meta: dict = field(default_factory=dict)  # config, history, description ... from the checkpoint
    source: str = "built-in"  # built-in | trained | snapshot | upload

    @property
    def description(self) -> str:
        return str(self.meta.get("description", ""))


def builtin_keys() -> list[str]:
    """Names of the checkpoints shipped in ``models/`` (english first)."""
    keys = sorted(p.stem for p in MODELS_DIR.glob("*.npz"))
    return sorted(keys, key=lambda k: k != "english")


def _load_builtin(key: str) -> ModelEntry:
    model, vocab, meta = load_checkpoint(MODELS_DIR / f"{key}.npz")
    return ModelEntry(key, str(meta.get("title", key)), model, vocab, meta, "built-in")


def models() -> dict[str, ModelEntry]:
    """This session's models by key; built-ins are loaded on first use."""
    if _STATE not in st.session_state:
        st.session_state[_STATE] = {k: _load_builtin(k) for k in builtin_keys()}
    return st.session_state[_STATE]


def add_model(entry: ModelEntry, select: bool = True) -> None:
    """Add (or replace) a model in this session, and make it the current one."""
    models()[entry.key] = entry
    if select:
        st.session_state[_CURRENT] = entry.key


def current_key() -> str:
    """Key of the model the pages show (the first built-in until the user picks another)."""
    ms = models()
    key = st.session_state.get(_CURRENT)
    if key not in ms:
        key = next(iter(ms))
        st.session_state[_CURRENT] = key
    return key


def set_current(key: str) -> None:
    if key in models():
        st.session_state[_CURRENT] = key


def current() -> ModelEntry:
    return models()[current_key()]


def entry_from_upload(name: str, data: bytes) -> ModelEntry:
    """A model from uploaded checkpoint bytes; raises CheckpointError with a plain message."""
    if len(data) > MAX_UPLOAD_MB * 2**20:
        raise CheckpointError(f"The file is over {MAX_UPLOAD_MB} MB.")
    model, vocab, meta = load_checkpoint(data)
    stem = Path(name).stem[:40] or "upload"
    return ModelEntry(f"upload-{stem}", f"Uploaded: {stem}", model, vocab, meta, "upload")
