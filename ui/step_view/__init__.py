"""The Explorer's step view: one ``st.components.v2`` component that steps in the browser.

Its JavaScript (``data.js``, ``draw.js``, ``panels.js``, ``events.js``, ``main.js``, joined in
that order into one module) and its CSS live beside this file; nothing is built or fetched.
The component receives a ``session.explorer.StepTrace`` payload (bytes) and draws every step,
both colour modes and play at every speed itself; it reports ``{"step", "neuron", "colour",
"speed"}`` back once stepping pauses. The payload's bytes change only with the trace or a move
by the server (``ExplorerView.payload``), so the rerun after a report sends Streamlit's
reference to the element, not the trace again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from session.explorer import ExplorerView, StepTrace

HERE = Path(__file__).resolve().parent
JS_FILES = ("data.js", "draw.js", "panels.js", "events.js", "main.js")
KEY = "explorer_step_view"  # the widget key; its state is {"view": {step, neuron, colour, speed}}


def _read_sources() -> tuple[str, str]:
    js = "\n".join((HERE / name).read_text(encoding="utf-8") for name in JS_FILES)
    return js, (HERE / "step_view.css").read_text(encoding="utf-8")


_JS, _CSS = _read_sources()
_step_view = st.components.v2.component("rnn_explorer.step_view", js=_JS, css=_CSS)


def step_view_ui(run: StepTrace, view: ExplorerView, on_view: Callable[[], None]) -> None:
    """Draw the step view of ``run`` at ``view``; ``on_view`` runs when the browser reports."""
    _step_view(key=KEY, data=view.payload(run), on_view_change=on_view, height="content")
