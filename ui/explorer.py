"""State of the explorer page: the packed trace of (model, text), the view, the URL.

The forward pass of a (model, text) pair is computed and packed once per session
(``state.cached``); stepping, the colour mode and the play speed live in the browser, which
reports the step, the neuron, the colours and the speed back once it pauses. Every number the
page shows comes from that Trace.
"""

from __future__ import annotations

import streamlit as st

from figures.style import SIGNED_STOPS
from rnn.vocab import tokenize
from session.explorer import (
    COLOUR_MODES,
    DEFAULT_COLOUR,
    DEFAULT_SPEED,
    SPEEDS,
    ExplorerView,
    StepTrace,
    build_step_trace,
    colour_of,
    speed_of,
    speed_text,
)
from session.shelf import ModelEntry

from . import state
from .step_view import KEY as STEP_VIEW_KEY
from .widgets import DEFAULT_TEXT, MAX_CHARS, escape_markdown

URL_KEYS = ("text", "step", "model", "neuron", "colour", "speed")  # the query parameters of a view
VIEW_KEYS = ("step", "neuron", "colour", "speed")  # the view's parts, each in a session key


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


def explorer_view(run: StepTrace, keys: dict[str, str]) -> ExplorerView:
    """The view, following the session keys of ``VIEW_KEYS`` (a link, a test, a new text)."""
    view = _view()
    now = dict(zip(VIEW_KEYS, (view.step, view.neuron, view.colour, view.speed), strict=True))
    view.follow(*(state.widget(keys[k], now[k]) for k in VIEW_KEYS), run.T, run.H,
                (run.model_key, run.text))
    _preset(view, keys)
    return view


def _preset(view: ExplorerView, keys: dict[str, str]) -> None:
    state.preset(keys["step"], view.step)
    state.preset(keys["neuron"], view.neuron)
    state.preset(keys["colour"], view.colour)
    state.preset(keys["speed"], view.speed)


def take_browser_view(run: StepTrace, keys: dict[str, str]) -> None:
    """Callback of the step view: the view the browser shows reaches the server."""
    got = state.widget(STEP_VIEW_KEY)
    got = got.get("view") if isinstance(got, dict) else None
    if not isinstance(got, dict):
        return
    view = _view()
    view.from_browser(*(got.get(k) for k in VIEW_KEYS), run.T, run.H)
    _preset(view, keys)


def _int_param(raw: str | None) -> int | None:
    try:
        return int(str(raw).strip())
    except (TypeError, ValueError):
        return None


def read_url_once(text_key: str, keys: dict[str, str]) -> list[str]:
    """On the page's first run in this session, take the view from the URL's query parameters.

    Sets the current model and the values of ``text_key`` and of the session keys ``keys``
    names for each of ``VIEW_KEYS``; a parameter that makes no sense is replaced by the default
    and explained in one of the returned notices (markdown, user text escaped).
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
        state.preset(keys["step"], step)
    if qp["neuron"] is not None:
        H = entry.model.hidden_size
        neuron = _int_param(qp["neuron"])
        if neuron is None or not 0 <= neuron < H:
            notices.append(f"The link's neuron “{escape_markdown(qp['neuron'])}” does not exist "
                           f"(this model has neurons 0 to {H - 1}); showing neuron 0.")
            neuron = 0
        state.preset(keys["neuron"], neuron)
    if qp["colour"] is not None:
        colour = colour_of(qp["colour"])
        if colour is None:
            notices.append(f"The link's colours “{escape_markdown(qp['colour'])}” are not one of "
                           f"{', '.join(COLOUR_MODES)}; showing {COLOUR_MODES[DEFAULT_COLOUR]}.")
        state.preset(keys["colour"], colour or DEFAULT_COLOUR)
    if qp["speed"] is not None:
        speed = speed_of(qp["speed"])
        if speed is None:
            offered = ", ".join(speed_text(v) for v in SPEEDS)
            notices.append(f"The link's speed “{escape_markdown(qp['speed'])}” is not one of "
                           f"{offered} tokens per second; playing at {speed_text(DEFAULT_SPEED)}.")
        state.preset(keys["speed"], speed or DEFAULT_SPEED)
    return notices


def write_url(**values) -> None:
    """Keep the address bar in step with what is on screen (only changed keys are sent)."""
    for k, v in values.items():
        s = str(v)
        if st.query_params.get(k) != s:
            st.query_params[k] = s
