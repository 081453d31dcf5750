"""Links: the model a URL names (opened in the app's frame, for every page) and each page's
view read from the URL once per session, with a notice for what makes no sense.

    adopt_model_from_url()                     # app frame: ?model= built-in, run's or shared
    values, notices = view_from_url(FLAG, {"t": lambda raw: read_int(raw, 0, 500, "step")})
    write_url(text=..., t=...)                 # the address bar follows the page
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import streamlit as st

from rnn import RNNError
from session import links, server
from session.links import LinkError
from session.run_models import shared_entry, trained_entry

from . import state
from .explorer import write_url
from .markdown import escape_markdown

SCALED_KEY = re.compile(r"(.+)-x([0-9.]+)")  # session.shelf.Shelf.use_scale's keys

__all__ = ["adopt_model_from_url", "view_from_url", "write_url"]  # write_url: ui.explorer's


def adopt_model_from_url() -> None:
    """Open the model ``?model=`` names, on the session's first run: a built-in, the run's
    model or snapshot, a scaled copy, or a shared model from the store. Anything else gets a
    plain notice, the default model, and leaves the URL."""
    if not state.once(state.URL_MODEL_READ):
        return
    key = st.query_params.get(links.MODEL)
    if key is None:
        return
    shelf = state.shelf()
    problem = None
    is_trained, step = links.trained_step(key)
    digest = links.shared_digest(key)
    scaled = SCALED_KEY.fullmatch(key)
    if shelf.select(key):
        return
    if is_trained:
        run = state.train_run()
        if run is None:
            problem = "The link names a model trained in a run that is not on this server."
        else:
            try:
                shelf.add(trained_entry(run, step))
            except RNNError as e:  # no snapshot at that step
                problem = str(e)
    elif digest is not None:
        try:
            shelf.add(shared_entry(digest, server.store()))
        except RNNError as e:
            problem = str(e)
    elif scaled and scaled.group(1) in shelf and _scale(scaled.group(2)) is not None:
        shelf.use_scale(shelf[scaled.group(1)], _scale(scaled.group(2)))
    else:
        problem = (f"The link asks for a model named “{escape_markdown(key)}”, which is not "
                   "here.")
    if problem:
        shown = escape_markdown(shelf.current.label)
        state.add_notice(state.MODEL_NOTICE, f"{problem} Showing “{shown}”.")
        del st.query_params[links.MODEL]


def _scale(raw: str) -> float | None:
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if 0 < value <= 10 else None


def view_from_url(flag: str, readers: dict[str, Callable[[str | None], Any]]
                  ) -> tuple[dict[str, Any], list[str]]:
    """On a page's first run in this session: each parameter read by its reader (absent ones
    left out), and a notice (markdown) for each that makes no sense here."""
    if not state.once(flag):
        return {}, []
    values, notices = {}, []
    for name, read in readers.items():
        try:
            value = read(st.query_params.get(name))
        except LinkError as e:
            notices.append(f"The link's {e.what} “{escape_markdown(e.raw)}” {e.expected}; "
                           "showing the default.")
            continue
        if value is not None:
            values[name] = value
    return values, notices

