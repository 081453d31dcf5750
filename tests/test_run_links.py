"""Runs and links across pages under AppTest: off-page training, reattaching by token, sharing,
the sidebar indicator, and every analysis page's view read from and written to the URL."""

from __future__ import annotations

import contextlib
import dataclasses
import time

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from session import server
from session.runs import State, Why
from tests.conftest import errors, open_app, until
from ui import state

SMALL = {"train_hidden": 16, "train_seq_len": 10}


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, errors(at)
    return at


def _train(steps: int = 120) -> AppTest:
    """The Train page with a small network, playing, after ``steps`` steps."""
    at = open_app("pages/train.py")
    at.number_input(key="train_hidden").set_value(16)
    _run(at)
    at.button(key="train_play").click()
    _run(at)
    run = state.train_run(at.session_state)
    until(lambda: run.steps >= steps, f"{steps} steps")
    return at


def _shown(at: AppTest):
    key = at.selectbox(key="model_picker").value
    return key, state.shelf(at.session_state)[key]


def _texts(at: AppTest) -> str:
    return " ".join(str(e.value) for kind in ("error", "warning", "info", "markdown", "caption")
                    for e in getattr(at, kind))


def test_training_goes_on_while_the_session_is_on_another_page():
    at = _train(20)
    run = state.train_run(at.session_state)
    at.switch_page("pages/explorer.py")
    _run(at)
    before = run.steps
    until(lambda: run.steps > before + 50, "training while on the Explorer")
    _run(at)
    assert "Your run" in _texts(at) and at.button(key="run_indicator_pause")  # the sidebar
    at.switch_page("pages/train.py")
    _run(at)
    assert run.playing and state.train_run(at.session_state) is run


def test_the_indicator_pauses_and_says_why():
    at = _train(10)
    at.switch_page("pages/bptt.py")
    _run(at)
    at.button(key="run_indicator_pause").click()
    _run(at)
    run = state.train_run(at.session_state)
    n = run.steps
    time.sleep(0.2)
    assert run.steps == n and not run.playing
    status = server.runs().status(state.run_token(at.session_state))
    assert (status.state, status.why) == (State.PAUSED, Why.USER)


def test_the_token_is_in_the_url_and_a_reload_reattaches():
    at = _train(120)
    token = state.run_token(at.session_state)
    assert at.query_params["run"] == [token] or at.query_params["run"] == token
    run = state.train_run(at.session_state)
    again = open_app("pages/train.py", {"run": token})  # a reload: a new session, same URL
    assert state.train_run(again.session_state) is run
    assert [s.step for s in run.snapshots][:2] == [0, 100]
    assert run.playing  # it kept training through the reload


@pytest.mark.parametrize("change", [lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),
                                   lambda t: "x" * 32, lambda t: "../" + t])
def test_an_altered_token_gets_a_notice_and_a_fresh_run(change):
    at = _train(20)
    mine = state.train_run(at.session_state)
    other = open_app(None, {"run": change(state.run_token(at.session_state))})
    assert "not on this server" in _texts(other)  # said on the page the link opens
    assert "run" not in other.query_params
    other.switch_page("pages/train.py")
    _run(other)
    fresh = state.train_run(other.session_state)
    assert fresh is not None and fresh is not mine and fresh.steps == 0
    assert state.run_token(other.session_state) != state.run_token(at.session_state)


def test_two_sessions_never_see_each_others_runs():
    a, b = _train(5), open_app("pages/train.py")
    ra, rb = state.train_run(a.session_state), state.train_run(b.session_state)
    assert ra is not rb and rb.steps == 0
    token_a = state.run_token(a.session_state)
    assert state.run_token(b.session_state) != token_a
    assert token_a not in str(b.query_params) and "trained" not in state.shelf(b.session_state)
    b.switch_page("pages/explorer.py")
    _run(b)
    assert "**Your run** · english" in _texts(b) and "step **0**" in _texts(b)  # its own run


def test_latest_weights_in_one_click_from_the_explorer():
    at = _train(20)
    at.switch_page("pages/explorer.py")
    _run(at)
    run = state.train_run(at.session_state)
    until(lambda: run.steps > 60, "more training")
    at.button(key="run_indicator_latest").click()
    _run(at)
    key, entry = _shown(at)
    assert key == "trained" and entry.meta.snapshot_step >= 60


def test_a_snapshot_carries_its_own_losses():
    at = _train(120)
    run = state.train_run(at.session_state)
    _run(at)
    box = at.selectbox(key="train_explore_pick")
    assert box.options[0] == "the latest weights"  # no step in it to go stale while training
    box.set_value(next(o for o in box.options if o.startswith("snapshot at step 0 ")))
    _run(at)
    at.button(key="train_explore").click()
    _run(at)
    at.switch_page("pages/explorer.py")
    _run(at)
    key, entry = _shown(at)
    assert key == "trained@0"
    V = run.trainer.vocab.size
    assert abs(entry.meta.val_loss - np.log(V)) < 0.05  # uniform guessing, not the run's now
    assert entry.meta.history.step == []
    assert entry.label.endswith("step 0")


def test_share_opens_the_same_model_in_another_session():
    at = _train(120)
    assert "use Share" in _texts(at)  # the page says the address is not the way to share
    at.button(key="train_share").click()
    _run(at)
    link = at.session_state[state.SHARE_LINK]
    assert "/explorer?model=sha256-" in link
    key = link.split("model=")[1]
    digest = key.removeprefix("sha256-")
    assert (server.store().folder / f"{digest}.npz").is_file()
    other = open_app("pages/explorer.py", {"model": key})
    shown_key, entry = _shown(other)
    assert shown_key == key and entry.source == "shared"
    run = state.train_run(at.session_state)
    assert entry.meta.snapshot_step <= run.steps
    assert state.run_token(other.session_state) is None  # a shared model carries no run


def test_share_on_a_full_store_says_so_and_keeps_the_run(monkeypatch):
    at = _train(30)
    run = state.train_run(at.session_state)
    small = dataclasses.replace(server.store(), max_bytes=1000)  # under any checkpoint
    monkeypatch.setattr(server, "store", lambda: small)
    at.button(key="train_share").click()
    _run(at)
    assert "store of shared models is full" in " ".join(e.value for e in at.error)
    assert at.session_state[state.SHARE_LINK] is None
    assert state.train_run(at.session_state) is run and run.steps >= 30
    assert not list(server.store().folder.glob("*.npz"))
    _run(at)  # the message was for that click only
    assert not any("full" in e.value for e in at.error)


@pytest.mark.parametrize("key,says", [
    ("sha256-" + "0" * 64, "no shared model for this link"),
    ("sha256-../../etc/passwd", "does not name a shared model"),
])
def test_a_bad_shared_link_gets_a_notice_and_the_default_model(key, says):
    at = open_app("pages/explorer.py", {"model": key})
    assert says in " ".join(w.value for w in at.warning)
    assert _shown(at)[0] == "english" and at.query_params["model"] in ("english", ["english"])


def test_a_shared_link_opens_on_every_page():
    at = _train(20)
    at.button(key="train_share").click()
    _run(at)
    data_key = at.session_state[state.SHARE_LINK].split("model=")[1]
    for page in ("pages/bptt.py", "pages/space.py", "pages/atlas.py"):
        other = open_app(page, {"model": data_key})
        assert _shown(other)[0] == data_key, page


def _q(at: AppTest) -> dict:
    return {k: v[0] if isinstance(v, list) else v for k, v in dict(at.query_params).items()}


def test_bptt_view_from_and_to_the_url():
    at = open_app("pages/bptt.py", {"text": "The lamp is lit.", "t": "4", "scale": "1.5",
                                    "model": "english"})
    assert at.text_input(key="text").value == "The lamp is lit."
    assert at.slider(key="bptt_t").value == 4
    assert at.select_slider(key="bptt_scale").value == 1.5
    assert _shown(at)[0] == "english-x1.5"
    assert any(m.label == "Loss L_4" for m in at.metric)
    q = _q(at)
    assert (q["t"], q["scale"], q["text"], q["model"]) == ("4", "1.5", "The lamp is lit.",
                                                          "english-x1.5")


def test_space_view_from_and_to_the_url():
    at = open_app("pages/space.py", {"text": "(a(b)c)", "step": "2", "view": "3d",
                                     "model": "brackets"})
    assert at.text_input(key="text").value == "(a(b)c)"
    assert at.slider(key="space_t").value == 2 and at.radio(key="space_dims").value == 3
    assert _shown(at)[0] == "brackets"
    assert _q(at)["view"] == "3d" and _q(at)["step"] == "2"


def test_atlas_view_from_and_to_the_url_and_the_neuron_goes_to_the_explorer():
    at = open_app("pages/atlas.py", {"source": "corpus", "unit": "7", "model": "english"})
    assert at.selectbox(key="atlas_unit").value == 7
    assert _q(at)["unit"] == "7" and _q(at)["source"] == "corpus"
    at.switch_page("pages/explorer.py")
    _run(at)
    assert at.session_state["neuron"] == 7


@pytest.mark.parametrize("page,query,says", [
    ("pages/bptt.py", {"t": "x"}, "step t “x”"),
    ("pages/bptt.py", {"scale": "99"}, "W_h scale “99”"),
    ("pages/space.py", {"view": "4d"}, "view “4d”"),
    ("pages/atlas.py", {"unit": "x9"}, "neuron “x9”"),
])
def test_a_bad_view_parameter_gets_a_notice(page, query, says):
    at = open_app(page, query)
    assert says in " ".join(w.value for w in at.warning)


def test_app_draws_the_page_while_trainers_hold_back(monkeypatch):
    """app.py draws the page inside the registry's ``foreground``, so a trainer thread starts
    no chunk while someone waits for a page (session/runs.py). (AppTest runs app.py itself
    only on the first run; after ``switch_page`` it runs the page file.)"""
    reg = server.runs()
    real, drawn = reg.foreground, []

    @contextlib.contextmanager
    def recording():
        with real():
            drawn.append(reg.stats()["drawing"])
            yield

    monkeypatch.setattr(reg, "foreground", recording)
    at = open_app()
    assert drawn == [1] and at.title[0].value == "RNN Explorer", drawn
    assert reg.stats()["drawing"] == 0  # the page's run ended its foreground


def test_each_view_of_the_run_looks_at_the_pace_of_its_state():
    """One rule for how often an open page looks at its run (ui.runs.look_every)."""
    from session.runs import Status
    from ui import runs as run_ui

    def every(s, *args):
        return run_ui.look_every(Status(s, None, "", None) if s else None, *args)

    assert every(State.TRAINING) == run_ui.INDICATOR_EVERY_S == 1.0
    assert every(State.TRAINING, 0.5) == 0.5
    assert every(State.WAITING) == every(State.WAITING, 0.5) == run_ui.WAIT_EVERY_S == 2.0
    assert every(State.PAUSED, 0.5) == run_ui.SEEN_EVERY_S == 60.0
    assert every(None) is None


def test_train_live_shows_the_run_itself_and_keeps_it_while_paused(monkeypatch):
    """Train live has its own step, loss, Pause and weights: the sidebar box is left out there.
    Its numbers' timer follows the run's state, so a paused run on an open page is still
    looked at (once a minute) and kept."""
    from ui import runs as run_ui

    at = _train(10)
    assert not _has_key(at, "run_indicator_pause") and not _has_key(at, "run_indicator_latest")
    assert "Your run" not in _texts(at)
    looked = []
    real = run_ui.look_every
    monkeypatch.setattr(run_ui, "look_every",
                        lambda s, *a: looked.append((s.state, real(s, *a))) or real(s, *a))
    _run(at)
    assert looked == [(State.TRAINING, 0.5)], looked
    at.button(key="train_pause").click()
    _run(at)
    assert looked[-1] == (State.PAUSED, run_ui.SEEN_EVERY_S), looked
    at.button(key="train_play").click()
    _run(at)
    at.switch_page("pages/explorer.py")
    _run(at)
    assert "Your run" in _texts(at) and _has_key(at, "run_indicator_pause")
    assert looked[-1] == (State.TRAINING, run_ui.INDICATOR_EVERY_S), looked


def _has_key(at: AppTest, key: str) -> bool:
    try:
        at.button(key=key)
    except KeyError:
        return False
    return True
