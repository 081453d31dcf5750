"""The right side of Train live: the session's run, the buttons that drive it (with their
callbacks) and the numbers it shows. Each ``*_ui`` function draws.

    run, message = current_run(corpus, settings)   # kept, started anew, or None (and why)
    controls_ui(run)                               # Play, Pause, Step, Reset
    metrics_ui(run)                                # step, losses, speed, time

Callbacks run before the script, so the widgets drawn after them show the result. Pausing goes
through ``training.pause``, which waits for a chunk still training on another thread.
"""

from __future__ import annotations

import streamlit as st

from figures.train import LN2
from rnn import CORPORA, RNNError
from session import checkpoints, limits, train_view, training
from session.run_models import trained_entry

from . import runs, state
from .markdown import escape_markdown
from .train_settings import SOURCES, CorpusChoice, Settings, sync_widgets


def _short(x: float) -> str:
    """A rate that fits a metric: 517k, 1.2M (a dash while unknown)."""
    if x != x:
        return "–"
    for scale, unit in ((1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.0f}"


def current_run(corpus: CorpusChoice | None, settings: Settings
                ) -> tuple[training.TrainRun | None, str | None]:
    """The session's run with the live settings applied, and an error to show (or None).

    A new run starts when there is none, when one was asked for, or when the run is still at
    step 0 and the network settings or the corpus changed; otherwise the run is kept.
    """
    if corpus is not None:
        state.set_value(state.TRAIN_CORPUS_NOW, corpus)
    run = state.train_run()
    message = None
    asked = state.take(state.TRAIN_NEW_RUN, False)
    if corpus is not None:
        fresh = run is None or asked or (
            run.steps == 0 and not run.resumed
            and training.changed_settings(run, settings.config, corpus.digest))
        if fresh:
            try:
                run = training.new_run(corpus.text, settings.config, corpus.name,
                                       temperature=settings.temperature,
                                       sample_every=settings.sample_every)
                state.set_train_run(run)
            except RNNError as e:
                message = str(e)
    if run is not None:
        try:
            training.apply_live(run, lr=settings.config.lr, clip=settings.config.clip,
                                clip_set=True, temperature=settings.temperature,
                                sample_every=settings.sample_every, target=settings.target,
                                target_set=True)
        except RNNError as e:
            message = str(e)
    return run, message


def messages_ui(message: str | None) -> None:
    """The error of this script run and what the callbacks left to say."""
    if message:
        st.error(message)
    left = state.take(state.TRAIN_MESSAGE)
    if left:
        st.error(left)
    notice = state.take(state.TRAIN_NOTICE)
    if notice:
        st.success(notice)


# -- callbacks ---------------------------------------------------------------------------------


def _step() -> None:
    run = state.train_run()
    if run is not None:
        runs.pause()
        training.run_chunk(run, seconds=None, max_steps=1)


def _request_new_run() -> None:
    state.set_value(state.TRAIN_NEW_RUN, True)


def _keep_run() -> None:
    run = state.train_run()
    if run is not None:
        sync_widgets(run.trainer.config)
        if run.corpus_name in CORPORA:
            state.preset("train_source", SOURCES[0])
            state.preset("train_corpus", run.corpus_name)


def _continue() -> None:
    run = state.train_run()
    try:
        training.continue_after_divergence(run)
        runs.play()
    except RNNError as e:
        state.set_value(state.TRAIN_MESSAGE, str(e))


def _resume_upload() -> None:
    up = state.widget("train_ckpt_upload")
    corpus = state.value(state.TRAIN_CORPUS_NOW)
    if up is None or corpus is None:
        state.set_value(state.TRAIN_MESSAGE, "Choose a checkpoint file and a usable corpus first.")
        return
    try:
        run = checkpoints.resume_run(up.getvalue(), corpus.text, corpus.name,
                                     temperature=state.widget("train_temperature"),
                                     sample_every=state.widget("train_sample_every"))
    except RNNError as e:  # the current run is kept
        state.set_value(state.TRAIN_MESSAGE,
                        f"Could not continue from {escape_markdown(up.name)}: {e}")
        return
    try:
        state.set_train_run(run)
    except RNNError as e:  # no room on the server: the current run is kept
        state.set_value(state.TRAIN_MESSAGE, str(e))
        return
    sync_widgets(run.trainer.config)
    state.set_value(state.TRAIN_NOTICE, run.resumed.replace(  # names the corpus, maybe a file
        run.corpus_name, escape_markdown(run.corpus_name)))


# -- widgets -----------------------------------------------------------------------------------


def changed_settings_ui(run: training.TrainRun, corpus: CorpusChoice | None,
                        settings: Settings) -> None:
    """If the network settings or the corpus differ from the run's: ask before a new run."""
    changed = training.changed_settings(run, settings.config, corpus.digest) if corpus else []
    if not changed:
        return
    with st.container(border=True):
        st.warning(
            f"You changed the {', '.join(changed)}. That needs a new network: the current "
            f"run (step {run.steps:,}) would be thrown away. Until you confirm, it keeps "
            "training with its own settings. Download its checkpoint first to keep it.")
        c1, c2 = st.columns(2)
        c1.button("Start a new run with the new settings", key="train_confirm",
                  on_click=_request_new_run, type="primary")
        c2.button("Keep the current run", key="train_keep", on_click=_keep_run,
                  help="Puts the network settings back to the current run's.")


def controls_ui(run: training.TrainRun) -> None:
    """Play, Pause, Step, Reset and what the run was started with."""
    tr = run.trainer
    c = st.columns([1, 1, 1, 1, 2])
    c[0].button("Play", key="train_play", icon=":material/play_arrow:", on_click=runs.play,
                disabled=run.playing or bool(tr.diverged), type="primary",
                width="stretch")
    c[1].button("Pause", key="train_pause", icon=":material/pause:", on_click=runs.pause,
                disabled=not run.playing, width="stretch")
    c[2].button("Step", key="train_step", icon=":material/skip_next:", on_click=_step,
                disabled=bool(tr.diverged), width="stretch",
                help="One training step (pauses first).")
    c[3].button("Reset", key="train_reset", icon=":material/restart_alt:",
                on_click=_request_new_run, width="stretch",
                help="Start over from step 0 with the settings on the left.")
    c[4].caption(f"{escape_markdown(run.corpus_name)} · H={tr.config.hidden_size}, "
                 f"T={tr.config.seq_len}, "
                 f"B={tr.config.batch_size}, {tr.config.optimizer}, lr {tr.config.lr:g}, "
                 f"clip {'off' if tr.config.clip is None else f'{tr.config.clip:g}'}")


def divergence_ui(run: training.TrainRun) -> None:
    """After a divergence: why, what to try, and a button to go on."""
    tr = run.trainer
    if not tr.diverged:
        return
    with st.container(border=True):
        st.error(tr.diverged)
        lr0, _ = run.diverged_with or (tr.config.lr, tr.config.clip)
        st.markdown(
            f"**What to try.** Lower the learning rate below {lr0:g} (or turn on / tighten "
            "gradient clipping) on the left and press *Continue*: training goes on from the "
            "restored parameters, with its history kept. If the loss was huge from the "
            "very first step, the initial weight scale is too large: pick a smaller one "
            "and start a new run.")
        st.button("Continue with the new settings", key="train_continue",
                  on_click=_continue, disabled=not training.can_continue(run),
                  type="primary")


def explore_ui(run: training.TrainRun) -> None:
    """Pick the latest weights or a snapshot; open it in the explorer, or share it."""
    with run.lock:
        snaps = {"the latest weights": None}
        snaps.update({f"snapshot at step {s.step:,} (validation loss "
                      f"{'–' if s.val_loss is None else f'{s.val_loss:.3f}'})": s.step
                      for s in run.snapshots})
    c1, c2 = st.columns(2, vertical_alignment="bottom")
    pick = c1.selectbox("Model", list(snaps), key="train_explore_pick",
                        help=f"Up to {training.MAX_SNAPSHOTS} copies are kept along the run, "
                             "so the explorer can show one sentence through the model at "
                             "step 0, 100, 1000 … A copy is taken when you open or share it; "
                             "the run goes on.")
    step = snaps.get(pick)
    with c2.container(horizontal=True):
        if st.button("Explore this model", key="train_explore", type="primary",
                     icon=":material/timeline:"):
            state.shelf().add(trained_entry(run, step))  # a copy: training goes on
            st.switch_page("pages/explorer.py")
        runs.share_ui(lambda: trained_entry(run, step), key="train_share")
    runs.share_link_ui()


def checkpoint_ui(run: training.TrainRun) -> None:
    """Download the run's checkpoint; upload one to continue from."""
    c1, c2 = st.columns(2)
    with c1:
        st.download_button(
            "Download checkpoint (.npz)", data=lambda: checkpoints.checkpoint_of(run),
            file_name=f"rnn-step{run.steps}.npz", mime="application/octet-stream",
            key="train_download", on_click="ignore", disabled=run.playing,
            icon=":material/download:",
            help="Pause first. Weights, vocabulary, optimizer state and history: upload it "
                 "here later to continue exactly where you stopped.")
    with c2:
        st.file_uploader("Continue from a checkpoint", type=["npz"], key="train_ckpt_upload",
                         max_upload_size=limits.MAX_CHECKPOINT_MB,
                         help="Trains on the corpus chosen on the left. A checkpoint saved "
                              "here on the same corpus continues exactly where it stopped.")
        st.button("Continue training from this file", key="train_resume",
                  on_click=_resume_upload,
                  disabled=state.widget("train_ckpt_upload") is None)


# -- what the run shows --------------------------------------------------------------------------


def metrics_ui(run: training.TrainRun) -> None:
    """Step, training and validation loss, speed and time; progress to the target, if any."""
    p = train_view.progress(run)
    unit = run.trainer.vocab.unit_name
    m = st.container(key="train_metrics").columns(5)
    m[0].metric("Step", f"{p.steps:,}")
    m[1].metric("Loss (nats)", _nats(p.loss), _bits(p.loss, unit), delta_color="off",
                delta_arrow="off",
                help=f"Training loss, mean over the last 100 steps, in nats per {unit} "
                     "(bits = nats / ln 2).")
    m[2].metric("Val. loss (nats)", _nats(p.val_loss), _bits(p.val_loss, unit), delta_color="off",
                delta_arrow="off",
                help="Loss on the held-out tail of the corpus, which is never trained on.")
    m[3].metric("Chars/s", _short(p.chars_per_s),
                help="Training speed over the last 3 seconds of training (at least 100 steps).")
    m[4].metric("Time", f"{p.seconds:,.1f} s", help="Training time so far, pauses excluded.")
    if p.fraction is not None:
        left = f" · about {p.seconds_left:,.0f} s left" if p.seconds_left else ""
        st.progress(p.fraction, text=f"{p.steps:,} / {run.target:,} steps{left}")


def _nats(loss: float) -> str:
    return "–" if loss != loss else f"{loss:.3f}"  # nan: no loss yet


def _bits(loss: float, unit: str) -> str | None:
    return None if loss != loss else f"{loss / LN2:.3f} bits per {unit}"


def samples_ui(samples: list[tuple[int, str]]) -> None:
    """Samples, newest first, each under its step."""
    for step, text in reversed(samples):
        st.caption(f"step {step:,}")
        # st.code drops one newline at each end; the padding keeps the sample's own
        st.code(f"\n{text}\n", language=None, wrap_lines=True)


def W_h_caption(c: train_view.ChartData) -> str:
    """How to read the spectral radius and the colours of W_h (and how old ρ is)."""
    at = ""
    if c.rho_step != c.steps:
        at = (f" (ρ from step {c.rho_step:,}, refreshed every {train_view.RHO_EVERY_S:g} s "
              "while training)")
    return (f"ρ > 1: the memory can amplify what it holds; ρ < 1: it fades{at}. "
            "Colours: blue negative, red positive.")
