"""The session's run on every page: its token in the URL, the sidebar indicator, Share.

    adopt_run_from_url()   # every page (ui.nav.require_app): reattach ?run=, keep it in the URL
    run_indicator_ui()     # every page but Train live (which shows it all): step and loss in
                           # the sidebar, Pause, latest weights
    look_every(status)     # how often an open page looks at the run again
    play() / pause()       # the Train page's callbacks, through the server's run registry
    share_ui(entry)        # store a frozen copy and show its link
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode, urlsplit

import streamlit as st

from rnn import RNNError
from session import links, server, train_view
from session.run_models import share, trained_entry
from session.runs import State, Status
from session.shelf import ModelEntry

from . import state
from .markdown import escape_markdown

KEY_IN_ADDRESS = ("This page's address holds your run's key (`run=`), so a reload or a new tab "
                  "finds the run again. Anyone you send the whole address to can pause or reset "
                  "your run: to send someone the model, use Share on Train live.")
# How often an open page of the session looks at its run again. Each look refreshes what the
# page shows of the run, and keeps the run: runs nobody looks at are paused, then released.
INDICATOR_EVERY_S = 1.0  # the sidebar indicator, while the run trains
WAIT_EVERY_S = 2.0  # while it waits in line nothing changes but its place: a slower look, so
# the pages of runs in line do not take the server's time from the ones that train
SEEN_EVERY_S = 60.0  # while it is paused: only so that it is kept


def look_every(s: Status | None, training_s: float = INDICATOR_EVERY_S) -> float | None:
    """The refresh of a view of the run in state ``s``: ``training_s`` while it trains, then
    ``WAIT_EVERY_S`` in line and ``SEEN_EVERY_S`` paused; None when there is no run."""
    if s is None:
        return None
    return {State.TRAINING: training_s, State.WAITING: WAIT_EVERY_S}.get(s.state, SEEN_EVERY_S)


def adopt_run_from_url() -> None:
    """Reattach to the run the URL names (a reload, a new tab), and keep its token in the URL.

    A token that names no run here (altered, guessed, released, or from before a restart) gets
    a plain notice; the Train page then starts a fresh run. A token is never shown elsewhere.
    """
    asked = st.query_params.get(links.RUN)
    if asked is not None and asked != state.run_token():
        if server.runs().attach(asked) is not None:
            state.set_run_token(asked)
        else:
            idle = server.settings().run_idle_min
            state.add_notice(state.RUN_NOTICE, (
                "The training run in this link is not on this server: runs nobody looks at for "
                f"{idle:g} minutes are released, a restart ends them, and a link that was "
                "altered names none. A fresh run starts on Train live."))
            del st.query_params[links.RUN]
    token = state.run_token()
    if token is None:
        return
    if server.runs().attach(token) is None:  # released while this tab was away
        state.set_run_token(None)
        state.add_notice(state.RUN_NOTICE, (
            "Your training run was released: nobody looked at it for "
            f"{server.settings().run_idle_min:g} minutes. A fresh run starts on Train live."))
        if links.RUN in st.query_params:
            del st.query_params[links.RUN]
    elif st.query_params.get(links.RUN) != token:
        st.query_params[links.RUN] = token


def status() -> Status | None:
    token = state.run_token()
    return None if token is None else server.runs().status(token)


def play() -> None:
    """Callback of Play: train on the server, at once or in line (see the run's status)."""
    token = state.run_token()
    if token is not None:
        server.runs().play(token)


def pause() -> None:
    """Callback of Pause: waits for a chunk in flight, so what is drawn next is one state."""
    token = state.run_token()
    if token is not None:
        server.runs().pause(token)


def open_latest() -> ModelEntry | None:
    """Put the run's latest weights on the shelf as the current model."""
    run = state.train_run()
    if run is None:
        return None
    return state.shelf().add(trained_entry(run, None))


def status_ui(s: Status | None) -> None:
    """Why the run is not training, or that it waits for its turn."""
    if s is None or s.state == State.TRAINING or not s.message:
        return
    if s.state == State.WAITING:
        st.info(s.message, icon=":material/hourglass_top:")
    elif s.why is not None and s.why.value in ("left", "cap"):
        st.warning(s.message, icon=":material/pause_circle:")
    else:
        st.caption(s.message)


def run_indicator_ui() -> None:
    """The sidebar's view of the session's run: step, loss, Pause, and its latest weights.

    It refreshes at the pace of the run's state as the page was drawn (``look_every``), and
    redraws the page when the run pauses or plays, so the page's timers follow the run.
    """
    drawn = status()
    if drawn is None:
        return

    @st.fragment(run_every=look_every(drawn))
    def indicator() -> None:
        run, now = state.train_run(), status()  # asking is a look: the run is not left alone
        if run is None or now is None:
            return
        p = train_view.progress(run)
        with st.container(border=True, key="run_indicator"):
            loss = "–" if p.loss != p.loss else f"{p.loss:.3f}"
            st.markdown(f"**Your run** · {escape_markdown(run.corpus_name)}", help=KEY_IN_ADDRESS)
            st.markdown(f"step **{p.steps:,}** · loss {loss}")
            status_ui(now)
            if now.state != State.PAUSED:
                st.button("Pause", key="run_indicator_pause", on_click=pause,
                          icon=":material/pause:", width="stretch")
            if st.button("Show its latest weights", key="run_indicator_latest",
                         icon=":material/update:", width="stretch",
                         help="Look at the run's model as it is now, on this page (a copy: "
                              "the run goes on)."):
                open_latest()
                st.rerun()
        if (now.state == State.PAUSED) != (drawn.state == State.PAUSED):
            st.rerun()  # the whole page: its timers follow the run

    with st.sidebar:
        indicator()


def notices_ui() -> None:
    """What adopting the URL had to say (shown once, above the page)."""
    for notice in state.take(state.RUN_NOTICE, []):
        st.warning(notice, icon=":material/link_off:")


def page_url(page: str, **params: str) -> str:
    """An address of this app's ``page`` (url_path) with query parameters."""
    here = urlsplit(st.context.url or "")
    base = here.path.rsplit("/", 1)[0]  # the app may be served under a path of its own
    query = urlencode(params)
    return f"{here.scheme}://{here.netloc}{base}/{page}" + (f"?{query}" if query else "")


def share_ui(entry: Callable[[], ModelEntry], key: str = "share") -> None:
    """Share: store a frozen copy of ``entry()``; the link shows in ``share_link_ui``."""
    if st.button("Share", key=key, icon=":material/share:",
                 help=f"Stores a frozen copy on this server for "
                      f"{server.settings().store_days:g} days; anyone with the link opens it, "
                      "on any page. Your run is not shared."):
        try:
            state.set_value(state.SHARE_LINK,
                            page_url("explorer", model=share(entry(), server.store())))
        except RNNError as e:  # the store is full, or the model cannot be written
            state.set_value(state.SHARE_LINK, None)
            state.set_value(state.SHARE_PROBLEM, str(e))


def share_link_ui() -> None:
    """The link of the model this session shared last, or why sharing failed just now."""
    problem = state.take(state.SHARE_PROBLEM)
    if problem:
        st.error(problem)
    link = state.value(state.SHARE_LINK)
    if not link:
        st.caption("To send the model to others, use Share: the address of this page holds "
                   "your run, which anyone with it could pause or reset.")
    else:
        st.code(link, language=None, wrap_lines=True)
        st.caption("Copy this link (its copy button shows at the corner). It names the model "
                   "by the hash of its file, so it always opens exactly these weights.")
