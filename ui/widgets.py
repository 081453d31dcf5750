"""Widgets every page shares: pick a model, type a text. Each ``*_ui`` function draws and returns.

Both keep their value for the whole browser session (``persist_state="session"``), so the model
and the sentence chosen on one page are still there on the next. Per-user state lives only in
``st.session_state``.

    entry = model_picker_ui()          # sidebar: built-in, trained and uploaded models
    text = text_input_ui()             # the sentence, cut to MAX_CHARS, with notices
    if text.empty: ...                 # nothing to show: a prompt has been drawn already
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import streamlit as st

from rnn import Encoded, RNNError, display_token

from .models import ModelEntry, add_model, current_key, entry_from_upload, models, set_current

DEFAULT_TEXT = "The keeper climbed the stairs to light the lamp."
MAX_CHARS = 500  # longer text is cut: the views stay readable and fast
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>$:])")  # markdown, LaTeX $, :emoji:


def escape_markdown(text: str) -> str:
    """User text made safe for ``st.markdown``: markdown marks escaped, HTML shown as text."""
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("<", "&lt;").replace("\n", " ")


def quote_token(tok: str) -> str:
    """A token for a notice in ``st.markdown``: shown as ``display_token`` does, escaped."""
    return f"“{escape_markdown(display_token(tok))}”"


def unknown_tokens_ui(encoded: Encoded, limit: int = 20) -> None:
    """The caption under a text with tokens the model never saw (nothing if there are none)."""
    if encoded.unknown:
        shown = ", ".join(quote_token(t) for t in encoded.unknown_tokens[:limit])
        st.caption(f"Not in the model's vocabulary, read as the unknown token: {shown}")


def validation_loss(meta: dict) -> float | None:
    """The checkpoint's validation loss (nats per token), if it recorded one."""
    val = meta.get("val_loss")
    if val is None:
        hist = meta.get("history") or {}
        vals = hist.get("val_loss") or []
        val = vals[-1] if vals else None
    try:
        return float(val) if val is not None else None
    except (TypeError, ValueError):
        return None


def model_summary(entry: ModelEntry) -> str:
    """One markdown line about a model: title, size, vocabulary and validation loss."""
    m, v = entry.model, entry.vocab
    parts = [f"**{escape_markdown(entry.label)}**", f"H = {m.hidden_size} hidden neurons",
             f"V = {v.size} {v.unit_name}s"]
    val = validation_loss(entry.meta)
    if val is not None:
        parts.append(f"validation loss {val:.3f} nats per {v.unit_name}")
    return " · ".join(parts)


def _pick(key: str) -> None:
    set_current(st.session_state[key])


def _upload_ui(key: str) -> None:
    """Checkpoint uploader: a good file becomes the current model, a bad one gets a message."""
    up_key, done_key, err_key = f"{key}_upload", f"{key}_upload_done", f"{key}_upload_error"
    file = st.file_uploader(
        "Upload a checkpoint (.npz)", type=["npz"], key=up_key,
        help="A file saved by RNN Explorer (Train page → download, or `python -m rnn train`).",
    )
    if file is None:
        return
    if st.session_state.get(done_key) != file.file_id:  # each upload is read once
        st.session_state[done_key] = file.file_id
        st.session_state.pop(err_key, None)
        try:
            add_model(entry_from_upload(file.name, file.getvalue()))
        except RNNError as e:  # CheckpointError included: keep the current model
            st.session_state[err_key] = str(e)
    if st.session_state.get(err_key):
        st.error(f"Could not load this file: {st.session_state[err_key]} "
                 "The model shown has not changed.")


def model_picker_ui(*, where=None, key: str = "model_picker", upload: bool = True) -> ModelEntry:
    """Choose the model to look at; returns the current ``ModelEntry``.

    Lists this session's models (``ui.models.models()``: built-ins, the trained model and its
    snapshots, uploads) in a select box, with an optional checkpoint uploader below it.
    The choice is ``ui.models.current()``, shared by every page.

    Parameters
    ----------
    where : a container to draw in (default ``st.sidebar``)
    key : widget key of the select box (the uploader uses ``key + "_upload"``)
    upload : also offer a file uploader for ``.npz`` checkpoints
    """
    with where if where is not None else st.sidebar:
        box = st.container()  # the select box goes above the uploader but is drawn after it
        if upload:
            with st.expander("Upload a checkpoint", icon=":material/upload:"):
                _upload_ui(key)
        ms = models()
        if not ms:  # no built-in checkpoints in models/ and nothing trained or uploaded yet
            st.info("No model is loaded yet. Train one on the **Train live** page, or upload one.")
            st.stop()
        st.session_state[key] = current_key()  # follows add_model / set_current from any page
        with box:
            st.selectbox(
                "Model", list(ms), key=key, format_func=lambda k: ms[k].label,
                on_change=_pick, args=(key,),
                help="Built-in models, the one you trained on the Train page, and uploads.",
            )
    return models()[current_key()]


@dataclass(frozen=True)
class TextChoice:
    """The text a page should show, after the limits were applied."""

    text: str  # the text to run through the model (cut to the limit)
    typed_chars: int  # length of what the user typed
    cut: bool  # whether the text was cut to the limit

    @property
    def empty(self) -> bool:
        return not self.text.strip()


def text_input_ui(
    key: str = "text", *, label: str = "Text for the network to read",
    default: str = DEFAULT_TEXT, max_chars: int = MAX_CHARS, notices: bool = True,
) -> TextChoice:
    """A text input (widget key ``key``) whose value persists across pages; returns a TextChoice.

    Text over ``max_chars`` characters is cut (with an ``st.info`` notice when ``notices``);
    empty or white-space-only text gets a friendly prompt and ``TextChoice.empty`` is True.
    To preset the text (e.g. from the URL), set ``st.session_state[key]`` before calling.
    """
    if key not in st.session_state:
        st.session_state[key] = default
    raw = st.text_input(label, key=key, persist_state="session",
                        placeholder="Type a sentence and press Enter",
                        help=f"Press Enter to run the network. At most {max_chars} characters "
                        "are shown.")
    raw = raw or ""
    choice = TextChoice(raw[:max_chars], len(raw), len(raw) > max_chars)
    if notices and choice.cut:
        st.info(f"Your text has {choice.typed_chars} characters; the views show the first "
                f"{max_chars}.", icon=":material/content_cut:")
    if notices and choice.empty:
        st.info("Type a sentence above (and press Enter) to watch the network read it, one "
                "character at a time.", icon=":material/keyboard:")
    return choice
