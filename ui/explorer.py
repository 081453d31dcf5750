"""State of the explorer page: the packed trace of (model, text), the view, the URL.

The forward pass of a (model, text) pair is computed and packed once per session
(``state.cached``); stepping happens in the browser, which reports the step and the neuron back
once it pauses. Every number the page shows comes from that Trace.
"""

from __future__ import annotations

import streamlit as st

from figures.style import SIGNED_STOPS
from rnn.vocab import tokenize
from session.explorer import (
    COLOUR_MODES,
    DEFAULT_COLOUR,
    ExplorerView,
    StepTrace,
    build_step_trace,
)
from session.shelf import ModelEntry

from . import state
from .step_view import KEY as STEP_VIEW_KEY
from .widgets import DEFAULT_TEXT, MAX_CHARS, escape_markdown

URL_KEYS = ("text", "step", "model", "neuron", "colour")  # query parameters that reproduce a view


def explorer_trace(entry: ModelEntry, text: str) -> StepTrace:
    """The packed forward pass of ``entry`` over ``text``, computed once per (model, text)."""
    return state.cached(
        "explorer_trace", (entry.key, entry.model, entry.vocab, text),
        lambda: build_step_trace(entry.key, entry.model, entry.vocab, text, SIGNED_STOPS))


def _view() -> ExplorerView:
    view = state.value(state.EXPLORER_VIEW)
    if view is None:
        view = ExplorerView()
        state.set_value(state.EXPLORER_VIEW, view)
    return view


def explorer_view(run: StepTrace, step_key: str, neuron_key: str, colour: str) -> ExplorerView:
    """The view, following the step and neuron in session state (a link, a test, a new text)."""
    view = _view()
    view.follow(state.widget(step_key, view.step), state.widget(neuron_key, view.neuron),
                run.T, run.H, (run.model_key, run.text))
    view.set_colour(colour)
    state.preset(step_key, view.step)
    state.preset(neuron_key, view.neuron)
    return view


def take_browser_view(run: StepTrace, step_key: str, neuron_key: str) -> None:
    """Callback of the step view: the step and neuron the browser shows reach the server."""
    got = state.widget(STEP_VIEW_KEY)
    got = got.get("view") if isinstance(got, dict) else None
    if not isinstance(got, dict):
        return
    view = _view()
    view.from_browser(got.get("step"), got.get("neuron"), run.T, run.H)
    state.preset(step_key, view.step)
    state.preset(neuron_key, view.neuron)


def _int_param(raw: str | None) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def read_url_once(text_key: str, step_key: str, neuron_key: str, colour_key: str) -> list[str]:
    """On the page's first run in this session, take the view from the URL's query parameters.

    Sets the current model and the values of ``text_key``, ``step_key``, ``neuron_key`` and
    ``colour_key``; a parameter that makes no sense is replaced by the default and explained in
    one of the returned notices (markdown, user text escaped).
    """
    shelf = state.shelf()
    if not len(shelf) or not state.once(state.EXPLORER_URL_READ):
        return []  # with no model at all yet, the link waits until one is uploaded or trained
    qp = {k: st.query_params.get(k) for k in URL_KEYS}
    notices = []
    if qp["model"] is not None:
        if not shelf.select(qp["model"]):
            shown = escape_markdown(shelf.current.label)
            notices.append(f"The link asks for a model named “{escape_markdown(qp['model'])}”, "
                           f"which is not here; showing “{shown}”.")
    if qp["text"] is not None:
        state.preset(text_key, qp["text"])
    elif state.widget(text_key) is None:
        state.preset(text_key, DEFAULT_TEXT)
    entry = shelf.current
    text = str(state.widget(text_key, ""))[:MAX_CHARS]
    T = len(tokenize(text, entry.vocab.level))
    if qp["step"] is not None:
        step = _int_param(qp["step"])
        if step is None or not 0 <= step < max(T, 1):
            notices.append(f"The link's step “{escape_markdown(qp['step'])}” is not a step of "
                           f"this text (0 to {max(T - 1, 0)}); starting at step 0.")
            step = 0
        state.preset(step_key, step)
    if qp["neuron"] is not None:
        H = entry.model.hidden_size
        neuron = _int_param(qp["neuron"])
        if neuron is None or not 0 <= neuron < H:
            notices.append(f"The link's neuron “{escape_markdown(qp['neuron'])}” does not exist "
                           f"(this model has neurons 0 to {H - 1}); showing neuron 0.")
            neuron = 0
        state.preset(neuron_key, neuron)
    if qp["colour"] is not None:
        if qp["colour"] in COLOUR_MODES:
            state.preset(colour_key, qp["colour"])
        else:
            notices.append(f"The link's colours “{escape_markdown(qp['colour'])}” are not one of "
                           f"{', '.join(COLOUR_MODES)}; showing {COLOUR_MODES[DEFAULT_COLOUR]}.")
    return notices


def write_url(**values) -> None:
    """Keep the address bar in step with what is on screen (only changed keys are sent)."""
    for k, v in values.items():
        s = str(v)
        if st.query_params.get(k) != s:
            st.query_params[k] = s
