"""The one module that touches ``st.session_state``: its keys, one guarded init, one cache.

Every key is a constant here, in one style (snake_case, prefixed by the page that owns it).
Widget keys are the widgets' own (``text``, ``step``, ``train_lr`` ...): the widgets write
them; code presets them only through ``preset``. The session's objects (the model shelf, the
training run, the cache) live in ``session/``; this module only keeps them.

Functions take an optional ``state`` (a mapping such as AppTest's ``session_state``) so tests
read the same objects the pages use; by default it is ``st.session_state``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from session import server
from session.cache import Memo
from session.shelf import Shelf
from session.training import TrainRun

SHELF = "shelf"  # session.shelf.Shelf: every model of this session and the current one
RUN_TOKEN = "run_token"  # this session's run in session.server.runs(), also the URL's ?run=
RUN_NOTICE = "run_notice"  # list: why the run a link names could not be reattached
MODEL_NOTICE = "model_notice"  # list: why the model a link names could not be opened
SHARE_LINK = "share_link"  # the link of the model this session shared last
SHARE_PROBLEM = "share_problem"  # why Share failed just now, for the next line of the page
URL_MODEL_READ = "url_model_read"  # the model named in the URL was opened once
BPTT_URL_READ = "bptt_url_read"  # each page took its view from the URL once
SPACE_URL_READ = "space_url_read"
ATLAS_URL_READ = "atlas_url_read"
ATLAS_NEURON_SEEN = "atlas_neuron_seen"  # the Explorer's neuron the atlas last took or gave
MEMO = "memo"  # session.cache.Memo: results kept between reruns
NAV_REDIRECTED = "nav_redirected"  # the page guard has rerun once through app.py
TRAIN_CORPUS_NOW = "train_corpus_now"  # the usable corpus on the Train page's left, if any
TRAIN_NEW_RUN = "train_new_run"  # flag: start a new run with the settings on the left
TRAIN_MESSAGE = "train_message"  # an error a Train page callback left for the page
TRAIN_NOTICE = "train_notice"  # what resuming a checkpoint did
ATLAS_CLICKED = "atlas_clicked"  # the atlas grid's selection already applied
EXPLORER_URL_READ = "explorer_url_read"  # the Explorer took its view from the URL once
EXPLORER_VIEW = "explorer_view"  # session.explorer.ExplorerView: step, neuron, colours, speed
HELD = (SHELF, MEMO, TRAIN_CORPUS_NOW)  # what a session holds that weighs: models, cached
# results, the corpus text. Its training run is not here: the server's run registry holds it
# under RUN_TOKEN, so that it outlives a reload (session/runs.py releases it when left alone).
KEPT = "kept_widgets"  # {widget key: its last value}, carried across pages (keep_widgets)
KEPT_PAGE = "kept_page"  # the page the last full script run drew

# Every widget whose value must survive a visit to a page that does not draw it. Streamlit drops
# the state of a widget a run did not draw; persist_state="session" covers only some widget
# kinds, and in 1.67 it still lost a value preset before the widget's first run (the text from
# a link was empty on the next page). So keep_widgets carries these by hand.
KEPT_WIDGETS = (
    "text", "step", "neuron", "explorer_colour", "explorer_speed",  # all pages; the Explorer
    "space_dims", "space_cloud", "space_t",  # Hidden-state space
    "bptt_t", "bptt_matrix",  # Backprop through time
    "atlas_source", "atlas_text", "atlas_unit",  # Neuron atlas
    "train_source", "train_corpus", "train_paste", "train_hidden", "train_seq_len",
    "train_batch", "train_optimizer", "train_init_std", "train_seed", "train_val_fraction",
    "train_lr", "train_clip", "train_temperature", "train_sample_every", "train_target",
    "train_activation", "train_level", "train_max_vocab", "home_g",  # g and word tokens
)


def _state(state: Any = None) -> Any:
    return st.session_state if state is None else state


def init(defaults: Mapping[str, Any] | None = None, state: Any = None) -> None:
    """Create the session's objects once, and give widgets their defaults (never overwritten)."""
    s = _state(state)
    if SHELF not in s:
        s[SHELF] = Shelf.with_builtins()
    if MEMO not in s:
        s[MEMO] = Memo()
    for key, value in (defaults or {}).items():
        if key not in s:
            s[key] = value


def keep_widgets(page: str, state: Any = None) -> None:
    """Carry every KEPT_WIDGETS value across page changes; call before a page draws anything.

    Each full run of a page records the values it finds (the edit that caused the run is among
    them). The first run of another page writes each kept value back as if set from code: a
    widget drawn on this page starts from it, one that is not keeps it for later. That run
    records nothing: in it Streamlit can report a widget's value from before its first edit
    (a pasted corpus read back as "" in the browser).
    """
    s = _state(state)
    kept = s[KEPT] if KEPT in s else {}
    switched = s.get(KEPT_PAGE) != page
    for key in KEPT_WIDGETS:
        if switched and key not in kept and key in s:  # set but never recorded (a link's
            kept[key] = s[key]  # text, on the page's first run): the best we know
        if switched and key in kept:
            s[key] = kept[key]
        elif key in s:
            kept[key] = s[key]
    s[KEPT] = kept
    s[KEPT_PAGE] = page


# -- the end of a session ------------------------------------------------------------------------


def release_session(s: Any) -> None:
    """The browser has gone: drop what the session holds (``HELD``).

    Streamlit keeps a disconnected session's state for a reconnect and frees it only when
    another session next touches its store, minutes later at best (the tester saw 7 GB held four
    minutes after closing the browser). Widget values stay; a session that reconnects starts
    with fresh models. The run is not stopped: a reload is a disconnect too, and the run must be
    there when the page comes back with its ``?run=`` token. The registry pauses a run nobody
    looks at and releases it later (``session.runs``).
    """
    for key in HELD:
        if key in s:
            del s[key]


@st.cache_resource(scope="session", on_release=release_session, show_spinner=False,
                   max_entries=1)
def _session_handle() -> Any:
    """This session's state, kept so that ``release_session`` can reach it from Streamlit's
    event loop: a session-scoped resource is released the moment its session disconnects."""
    return get_script_run_ctx().session_state


def watch_session() -> None:
    """Have this session's objects released when its browser disconnects (once per run)."""
    if get_script_run_ctx() is not None:
        _session_handle()


# -- the session's objects -----------------------------------------------------------------------


def shelf(state: Any = None) -> Shelf:
    """This session's models (built-ins loaded on first use)."""
    init(state=state)
    return _state(state)[SHELF]


def train_run(state: Any = None) -> TrainRun | None:
    """This session's training run, if the server still keeps it (asking counts as a look)."""
    token = _state(state).get(RUN_TOKEN)
    return None if token is None else server.runs().attach(token)


def set_train_run(run: TrainRun | None, state: Any = None) -> None:
    """Make ``run`` this session's run, under the session's token (a new one if it has none).
    ``session.runs.RunsFull`` (an RNNError) when the server has no room for it."""
    s = _state(state)
    token = s.get(RUN_TOKEN)
    if run is None:
        if token is not None:
            server.runs().release(token)
            s.pop(RUN_TOKEN, None)
    elif token is None or not server.runs().replace(token, run):
        s[RUN_TOKEN] = server.runs().create(run)


def run_token(state: Any = None) -> str | None:
    """The token of this session's run (kept in the URL so a reload finds the run again)."""
    return _state(state).get(RUN_TOKEN)


def set_run_token(token: str | None, state: Any = None) -> None:
    s = _state(state)
    if token is None:
        s.pop(RUN_TOKEN, None)
    else:
        s[RUN_TOKEN] = token


def cached(name: str, key: Any, make: Callable[[], Any]) -> Any:
    """``make()``, computed once per ``key`` and kept for this session under ``name`` (one
    result per name; keys compare as in ``session.cache.same_key``)."""
    init()
    return st.session_state[MEMO].get(name, key, make)


# -- widgets -------------------------------------------------------------------------------------


def widget(key: str, default: Any = None) -> Any:
    """A widget's value (or ``default`` before the widget exists)."""
    return st.session_state.get(key, default)


def preset(key: str, value: Any) -> None:
    """Set a widget's value before it is drawn (from the URL, a checkpoint, a clamp ...)."""
    st.session_state[key] = value


def clamp_step(key: str, T: int, *, last_first: bool = False) -> int:
    """Keep a step widget inside a text of T steps (0 .. T-1); returns the step.

    With ``last_first``, a step never set starts at the last step.
    """
    now = st.session_state.get(key)
    start = T - 1 if last_first else 0
    t = min(max(start if now is None else int(now), 0), max(T - 1, 0))
    if now is None or t != now:  # only then: a write would undo key presses still in flight
        st.session_state[key] = t
    return t


def is_new(seen_key: str, signature: Any) -> bool:
    """True once per new event (a chart selection, an upload): ``signature`` differs from the
    one last seen under ``seen_key``, which it then becomes."""
    if st.session_state.get(seen_key) == signature:
        return False
    st.session_state[seen_key] = signature
    return True


# -- flags and messages ----------------------------------------------------------------------------


def once(key: str) -> bool:
    """True the first time it is asked for ``key`` in this session, False after."""
    if st.session_state.get(key):
        return False
    st.session_state[key] = True
    return True


def value(key: str, default: Any = None) -> Any:
    """A non-widget value this module keeps (a key constant above)."""
    return st.session_state.get(key, default)


def set_value(key: str, v: Any) -> None:
    st.session_state[key] = v


def add_notice(key: str, markdown: str) -> None:
    """A notice about a link (``RUN_NOTICE``, ``MODEL_NOTICE``), shown once."""
    st.session_state[key] = [*st.session_state.get(key, []), markdown]


def take(key: str, default: Any = None) -> Any:
    """A value left for the next script run (a message, a request), removed as it is read."""
    return st.session_state.pop(key, default)
