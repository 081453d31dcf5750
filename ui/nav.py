"""The app's pages, and the guard that keeps every page inside app.py's frame.

Streamlit serves a ``pages/`` folder next to the main script in its older multipage mode until
some run calls ``st.navigation``. So on a freshly started server, a shared link straight to
``/explorer?text=...`` would run ``pages/explorer.py`` on its own, without the page config and
navigation of ``app.py``. Every page calls ``require_app()`` first: outside app.py's frame it
registers the navigation and reruns, and the rerun goes through app.py with the same URL.
"""

from __future__ import annotations

import threading
from pathlib import Path

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from threadpoolctl import threadpool_limits

from session import server

from . import links, runs, state

# One BLAS thread for the whole server: the app's matrix products are small (H <= 256), where
# OpenBLAS's threads cost more than they give, and a server shared by many sessions should not let
# one click occupy every core. Under load a Jacobian chain took 43 ms on one thread and 1160 ms
# on the default two (benchmarks/analysis_speed.py). Process-wide, set once on first import.
threadpool_limits(limits=1, user_api="blas")

PAGES_DIR = Path(__file__).resolve().parent.parent / "pages"  # absolute: any main script works
_frame = threading.local()  # per script-run thread: is app.py running the page right now?


def pages() -> list:
    return [
        st.Page(PAGES_DIR / "home.py", title="Home", icon=":material/home:", default=True),
        st.Page(PAGES_DIR / "explorer.py", title="Explorer", icon=":material/timeline:",
                url_path="explorer"),
        st.Page(PAGES_DIR / "train.py", title="Train live", icon=":material/model_training:",
                url_path="train"),
        st.Page(PAGES_DIR / "bptt.py", title="Backprop through time", icon=":material/undo:",
                url_path="bptt"),
        st.Page(PAGES_DIR / "space.py", title="Hidden-state space", icon=":material/scatter_plot:",
                url_path="space"),
        st.Page(PAGES_DIR / "atlas.py", title="Neuron atlas", icon=":material/grid_view:",
                url_path="atlas"),
    ]


def run_app() -> None:
    """The frame of every page: page config, navigation, then the chosen page."""
    st.set_page_config(page_title="RNN Explorer", page_icon=":material/neurology:",
                       layout="wide")
    page = st.navigation(pages())
    server.trimmer()  # started once per server: memory closed sessions freed goes back
    _frame.inside = True
    try:
        with server.runs().foreground():  # training threads wait while a page is drawn
            page.run()
    finally:
        _frame.inside = False


def require_app(run_indicator: bool = True) -> None:
    """Rerun through app.py when a page was started on its own (once per session); then make
    sure the session's objects exist, carry widget values over from the last page, and set up
    what every page shares: the run and the model a link names, and the sidebar's run indicator
    (unless the page shows the run itself: ``run_indicator=False``)."""
    state.init()
    state.watch_session()
    ctx = get_script_run_ctx()
    state.keep_widgets(ctx.page_script_hash if ctx else "")
    if not getattr(_frame, "inside", False) and state.once(state.NAV_REDIRECTED):
        st.navigation(pages(), position="hidden")  # leaves the old pages/ folder mode for good
        st.rerun()
    runs.adopt_run_from_url()  # before the model: ?model=trained needs the run
    links.adopt_model_from_url()
    runs.notices_ui()
    if run_indicator:
        runs.run_indicator_ui()
