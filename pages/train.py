"""Train live: watch a recurrent network learn a text, then open it in the explorer."""

from __future__ import annotations

import math
import time

import streamlit as st

from figures.train import grad_norm_figure, loss_figure
from figures.weights import weight_figure
from session import train_view
from session.runs import State
from ui import runs, state
from ui.nav import require_app
from ui.train_run import (
    W_h_caption,
    changed_settings_ui,
    checkpoint_ui,
    controls_ui,
    current_run,
    divergence_ui,
    explore_ui,
    messages_ui,
    metrics_ui,
    samples_ui,
)
from ui.train_settings import corpus_info_ui, corpus_ui, init_state, limits_ui, settings_ui

RUN_EVERY_S = 0.5  # the numbers' refresh while the run trains (on the server: ui.runs)

require_app(run_indicator=False)  # a page opened by a direct link on a fresh server runs via
# app.py; the sidebar's run indicator is left out: this page shows the run, Pause and its weights
init_state()

st.title("Train live")
st.caption("Pick a text, press play and watch a recurrent network learn it: the loss falls, the "
           "samples turn from noise into words, W_h takes shape. Then open the model, or any "
           "snapshot along the way, in the explorer.")

left, right = st.columns([1, 2], gap="large")
with left:
    with st.container(border=True):
        st.subheader("Corpus")
        corpus = corpus_ui()
    with st.container(border=True):
        st.subheader("Settings")
        settings = settings_ui()
    if corpus is not None:
        with st.container(border=True):
            corpus_info_ui(corpus.text, settings.config)
    limits_ui()

run, message = current_run(corpus, settings)

with right:
    if run is None:
        st.error(message or "Choose a corpus to start.")
        st.stop()
    messages_ui(message)
    changed_settings_ui(run, corpus, settings)
    controls_ui(run)
    status = runs.status()
    runs.status_ui(status)
    divergence_ui(run)
    playing = run.playing  # as drawn: the charts' timer runs while it trains
    training = playing and status is not None and status.state == State.TRAINING

    @st.fragment(run_every=runs.look_every(status, RUN_EVERY_S))
    def live_training() -> None:
        """The numbers, refreshed on a timer while the run trains on the server (slower while
        it waits in line; once a minute while paused, which keeps the run)."""
        run, now = state.train_run(), runs.status()
        if run is None or now is None:
            return
        if run.playing != playing or (now.state == State.TRAINING) != training:
            st.rerun()  # paused (here, elsewhere, by itself), started, or its turn came: redraw
        metrics_ui(run)

    @st.fragment(run_every=train_view.chart_every(run) if training else None)
    def live_charts() -> None:
        """Curves, W_h and samples: redrawn about once a second while playing (drawing costs
        far more than the numbers, so it runs less often and training keeps the time)."""
        run = state.train_run()
        if run is None:
            return
        t_draw = time.perf_counter()
        c = train_view.chart_data(run)  # one training state for every chart
        h = c.history
        st.plotly_chart(loss_figure(h.step, h.loss, h.val_step, h.val_loss,
                                    unit=run.trainer.vocab.unit_name,
                                    initial=math.log(run.trainer.vocab.size)),
                        key="train_loss_chart", config={"displayModeBar": False})
        g1, g2 = st.columns(2)
        with g1:
            st.plotly_chart(grad_norm_figure(h.step, h.grad_norm), key="train_grad_chart",
                            config={"displayModeBar": False})
            st.markdown(f"**Samples** (temperature {run.temperature:g}, newest first)")
            samples_ui(c.samples[-4:])
        with g2:
            title = f"W_h at step {c.steps}: spectral radius ρ = {c.rho:.3f}"
            st.plotly_chart(weight_figure("W_h", c.W_h, [], title=title, height=420),
                            key="train_wh_chart", config={"displayModeBar": False})
            st.caption(W_h_caption(c))
        with st.expander(f"All {len(c.samples)} samples: noise becoming words"):
            samples_ui(c.samples)
        run.draw_seconds = time.perf_counter() - t_draw

    live_training()
    live_charts()

    st.divider()
    st.subheader("Take the model with you")
    explore_ui(run)
    checkpoint_ui(run)
