"""Widgets every page shares: pick a model, type a text. Each ``*_ui`` function draws and returns.

Both keep their value for the whole browser session (``persist_state="session"``), so the model
and the sentence chosen on one page are still there on the next. Per-user state lives only in
the session (``ui.state``).

    entry = model_picker_ui()          # sidebar: built-in, trained and uploaded models
    text = text_input_ui()             # the sentence, cut to MAX_CHARS, with notices
    if text.empty: ...                 # nothing to show: a prompt has been drawn already
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from rnn import Encoded, RNNError, display_token
from session.limits import MAX_CHECKPOINT_MB
from session.shelf import ModelEntry, entry_from_upload

from . import state
from .markdown import escape_markdown

DEFAULT_TEXT = "The keeper climbed the stairs to light the lamp."
MAX_CHARS = 500  # longer text is cut: the views stay readable and fast


def quote_token(tok: str) -> str:
    """A token for a notice in ``st.markdown``: shown as ``display_token`` does, escaped."""
    return f"“{escape_markdown(display_token(tok))}”"


def unknown_tokens_ui(encoded: Encoded, limit: int = 20) -> None:
    """The caption under a text with tokens the model never saw (nothing if there are none)."""
    if encoded.unknown:
        shown = ", ".join(quote_token(t) for t in encoded.unknown_tokens[:limit])
        st.caption(f"Not in the model's vocabulary, read as the unknown token: {shown}")


def model_summary(entry: ModelEntry) -> str:
    """One markdown line about a model: title, size, vocabulary and validation loss."""
    m, v = entry.model, entry.vocab
    parts = [f"**{escape_markdown(entry.label)}**", f"H = {m.hidden_size} hidden neurons",
             f"h = {m.g.formula}", f"V = {v.size} {v.unit_name}s"]
    if entry.meta.val_loss is not None:
        parts.append(f"validation loss {entry.meta.val_loss:.3f} nats per {v.unit_name}")
    return " · ".join(parts)


def _pick(key: str) -> None:
    state.shelf().select(state.widget(key))


def _upload_ui(key: str) -> None:
    """Model uploader: a checkpoint (.npz) or a PyTorch nn.RNN (.safetensors, with its
    vocabulary in the file or as a JSON list beside it). A good file becomes the current model,
    a bad one gets a message."""
    up_key, done_key, err_key = f"{key}_upload", f"{key}_upload_done", f"{key}_upload_error"
    file = st.file_uploader(
        "Upload a checkpoint (.npz) or a PyTorch model (.safetensors)",
        type=["npz", "safetensors"], key=up_key, max_upload_size=MAX_CHECKPOINT_MB,
        help="A file saved by RNN Explorer (Train page → download, or `python -m rnn train`), "
             "or a single-layer torch.nn.RNN with its output nn.Linear saved with "
             "safetensors under PyTorch's own names (weight_ih_l0, ..., fc.weight, fc.bias).",
    )
    vocab_file = st.file_uploader(
        "Its vocabulary (.json), if the .safetensors file has none", type=["json"],
        key=f"{key}_vocab", max_upload_size=MAX_CHECKPOINT_MB,
        help="A JSON list of the tokens, in the order of the model's one-hot inputs.",
    ) if file is not None and file.name.lower().endswith(".safetensors") else None
    if file is None:
        return
    file_id = (file.file_id, vocab_file.file_id if vocab_file is not None else None)
    if state.is_new(done_key, file_id):  # each upload is read once
        state.set_value(err_key, None)
        try:
            state.shelf().add(entry_from_upload(
                file.name, file.getvalue(),
                vocab_file.getvalue() if vocab_file is not None else None))
        except RNNError as e:  # CheckpointError included: keep the current model
            state.set_value(err_key, str(e))
    if state.value(err_key):
        st.error(f"Could not load this file: {escape_markdown(state.value(err_key))} "
                 "The model shown has not changed.")


def model_picker_ui(*, where=None, key: str = "model_picker", upload: bool = True) -> ModelEntry:
    """Choose the model to look at; returns the current ``ModelEntry``.

    Lists this session's models (``state.shelf()``: built-ins, the trained model and its
    snapshots, uploads, scaled copies) in a select box, with an optional checkpoint uploader
    below it. The choice is the shelf's current model, shared by every page.

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
        shelf = state.shelf()
        if not len(shelf):  # no built-in checkpoints in models/ and nothing trained or uploaded
            st.info("No model is loaded yet. Train one on the **Train live** page, or upload one.")
            st.stop()
        state.preset(key, shelf.current_key)  # follows the shelf's current model from any page
        with box:
            st.selectbox(
                "Model", shelf.keys(), key=key, format_func=lambda k: shelf[k].label,
                on_change=_pick, args=(key,),
                help="Built-in models, the one you trained on the Train page, and uploads.",
            )
    for notice in state.take(state.MODEL_NOTICE, []):  # a link's model that could not open
        st.warning(notice, icon=":material/link_off:")
    return shelf.current


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
    To preset the text (e.g. from the URL), call ``state.preset(key, text)`` before it.
    """
    if state.widget(key) is None:
        state.preset(key, default)
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
