"""Train live: watch a recurrent network learn a text, then open it in the explorer."""

from __future__ import annotations

import time

import streamlit as st

from figures.train import LN2, W_h_figure, grad_norm_figure, loss_figure
from rnn import CORPORA, RNNError, TrainConfig, load_corpus
from rnn.train import text_digest
from ui import training
from ui.models import ModelEntry, add_model
from ui.nav import require_app

SOURCES = ("Built-in", "Paste text", "Upload a .txt file")
LR_OPTIONS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 50.0)
DEFAULT_LR = {"adagrad": 0.1, "adam": 0.003, "sgd": 0.3}
INIT_OPTIONS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
CLIP_OPTIONS = ("off", 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0)
SAMPLE_EVERY = (25, 50, 100, 200, 500, 1000, 2000, 5000)
RUN_EVERY_S = 0.1  # timer of the live view while playing; a chunk lasts longer, so runs queue up
DEFAULTS = {  # widget key -> default value
    "train_source": SOURCES[0], "train_corpus": "english", "train_paste": "",
    "train_hidden": 100, "train_seq_len": 25, "train_batch": 16, "train_optimizer": "adagrad",
    "train_init_std": 0.01, "train_seed": 0, "train_val_fraction": 0.1, "train_lr": 0.1,
    "train_clip": 5.0, "train_temperature": 0.8, "train_sample_every": 500, "train_target": 0,
}
CONFIG_KEYS = {"hidden_size": "train_hidden", "seq_len": "train_seq_len",
               "batch_size": "train_batch", "optimizer": "train_optimizer",
               "init_std": "train_init_std", "seed": "train_seed",
               "val_fraction": "train_val_fraction", "lr": "train_lr"}

for _k, _v in DEFAULTS.items():
    st.session_state.setdefault(_k, _v)


def _short(x: float) -> str:
    """A rate that fits a metric: 517k, 1.2M (a dash while unknown)."""
    if x != x:
        return "–"
    for scale, unit in ((1e6, "M"), (1e3, "k")):
        if x >= scale:
            return f"{x / scale:.3g}{unit}"
    return f"{x:.0f}"


def _with(options, value):
    """Options of a select slider, including a value set elsewhere (e.g. by a checkpoint)."""
    return tuple(sorted(set(options) | {value}, key=lambda v: (isinstance(v, str), v)))


# -- corpus ------------------------------------------------------------------------------------


def corpus_ui() -> tuple[str, str] | None:
    """Corpus picker; returns (name, text), or None after showing why the text cannot be used."""
    source = st.radio("Source", SOURCES, key="train_source", horizontal=True)
    try:
        if source == SOURCES[0]:
            name = st.selectbox("Built-in corpus", list(CORPORA), key="train_corpus",
                                format_func=lambda k: CORPORA[k].title)
            st.caption(CORPORA[name].description)
            text = load_corpus(name)
        elif source == SOURCES[1]:
            text = st.text_area("Paste text", key="train_paste", height=150,
                                placeholder=f"At least {training.MIN_CORPUS_CHARS} characters")
            name = "pasted text"
        else:
            mb = training.MAX_CORPUS_BYTES // 2**20
            up = st.file_uploader(f"A UTF-8 .txt file (at most {mb} MB)", type=["txt"],
                                  key="train_upload", max_upload_size=mb)
            if up is None:
                st.info("Choose a .txt file to train on.")
                return None
            text = training.text_from_bytes(up.getvalue())
            name = f"file {up.name}"
        training.check_corpus(text)
    except RNNError as e:
        st.error(str(e))
        return None
    return name, text


def corpus_info_ui(text: str, val_fraction: float) -> None:
    n_val = int(len(text) * val_fraction)
    size = len(text.encode("utf-8"))
    st.caption(f"{len(text):,} characters ({size / 1024:,.1f} KB), "
               f"vocabulary {len(set(text)) + 1} tokens (with <unk>); "
               f"{len(text) - n_val:,} for training, the last {n_val:,} held out for validation.")
    with st.expander("Preview"):
        st.code(text[:800] + ("…" if len(text) > 800 else ""), language=None, wrap_lines=True)


# -- settings ----------------------------------------------------------------------------------


def _optimizer_changed() -> None:
    st.session_state["train_lr"] = DEFAULT_LR[st.session_state["train_optimizer"]]


def settings_ui() -> tuple[TrainConfig, dict]:
    """Hyperparameter widgets; returns the config they describe and the live settings."""
    ss = st.session_state
    st.markdown("**Network** · changing these starts a new run")
    c1, c2 = st.columns(2)
    hidden = c1.number_input("Hidden size H", 1, training.MAX_HIDDEN, step=4, key="train_hidden",
                             help="Number of hidden units: W_h is H x H.")
    seq_len = c2.number_input("Sequence length T", 1, training.MAX_SEQ_LEN, step=5,
                              key="train_seq_len",
                              help="Tokens per window: how far back gradients flow (truncated "
                                   "backprop through time).")
    batch = c1.number_input("Batch size B", 1, training.MAX_BATCH, key="train_batch",
                            help="Parallel streams of the corpus trained at once.")
    optimizer = c2.selectbox("Optimizer", ("adagrad", "adam", "sgd"), key="train_optimizer",
                             on_change=_optimizer_changed,
                             help="Picking one sets its usual learning rate.")
    init_std = c1.select_slider("Initial weight scale", _with(INIT_OPTIONS, ss.train_init_std),
                                key="train_init_std",
                                help="Weights start as N(0, scale²).")
    seed = c2.number_input("Seed", 0, 2**31 - 1, key="train_seed")
    val_fraction = st.slider("Held out for validation", 0.0, 0.5, step=0.05,
                             key="train_val_fraction", format="%.2f",
                             help="The tail of the corpus that is never trained on.")
    st.markdown("**Learning and sampling** · these apply to the running network")
    c1, c2 = st.columns(2)
    lr = c1.select_slider("Learning rate", _with(LR_OPTIONS, ss.train_lr), key="train_lr",
                          format_func=lambda v: f"{v:g}")
    clip = c2.select_slider("Gradient clipping", _with(CLIP_OPTIONS, ss.train_clip),
                            key="train_clip", format_func=lambda v: f"±{v:g}" if v != "off" else v,
                            help="Each gradient entry is clipped to this range.")
    temperature = c1.slider("Sampling temperature", 0.1, 2.0, step=0.05,
                            key="train_temperature",
                            help="Low: the most likely characters; high: more adventurous.")
    sample_every = c2.select_slider("Sample every (steps)", _with(SAMPLE_EVERY,
                                                                 ss.train_sample_every),
                                    key="train_sample_every")
    target = st.number_input("Stop at step (0: never)", 0, training.MAX_TARGET, step=500,
                             key="train_target")
    config = TrainConfig(hidden_size=int(hidden), seq_len=int(seq_len), batch_size=int(batch),
                         optimizer=optimizer, lr=float(lr), init_std=float(init_std),
                         seed=int(seed), val_fraction=round(float(val_fraction), 4),
                         clip=None if clip == "off" else float(clip))
    live = dict(lr=float(lr), clip=config.clip, clip_set=True, temperature=float(temperature),
                sample_every=int(sample_every), target=int(target), target_set=True)
    return config, live


def _sync_widgets(config: TrainConfig) -> None:
    """Make the widgets show a run's settings (after loading a checkpoint or 'keep')."""
    for field, key in CONFIG_KEYS.items():
        st.session_state[key] = getattr(config, field)
    st.session_state["train_clip"] = "off" if config.clip is None else config.clip


# -- actions (widget callbacks: they run before the script, so widgets show the result) ----------


def _play() -> None:
    run = training.get_run()
    if run is not None and not run.trainer.diverged:
        run.playing = True


def _pause() -> None:
    run = training.get_run()
    if run is not None:
        training.pause(run)  # waits for a chunk still training on the previous run's thread


def _step() -> None:
    run = training.get_run()
    if run is not None:
        training.pause(run)
        training.run_chunk(run, seconds=None, max_steps=1)


def _request_new_run() -> None:
    st.session_state["train_new_run"] = True


def _keep_run() -> None:
    run = training.get_run()
    if run is not None:
        _sync_widgets(run.trainer.config)
        if run.corpus_name in CORPORA:
            st.session_state["train_source"] = SOURCES[0]
            st.session_state["train_corpus"] = run.corpus_name


def _continue() -> None:
    run = training.get_run()
    try:
        training.continue_after_divergence(run)
        run.playing = True
    except RNNError as e:
        st.session_state["train_message"] = str(e)


def _resume_upload() -> None:
    up = st.session_state.get("train_ckpt_upload")
    corpus = st.session_state.get("train_corpus_now")
    if up is None or corpus is None:
        st.session_state["train_message"] = "Choose a checkpoint file and a usable corpus first."
        return
    ss = st.session_state
    try:
        run = training.resume_run(up.getvalue(), corpus[1], corpus[0],
                                  temperature=ss.train_temperature,
                                  sample_every=ss.train_sample_every)
    except RNNError as e:  # the current run is kept
        ss["train_message"] = f"Could not continue from {up.name}: {e}"
        return
    training.set_run(run)
    _sync_widgets(run.trainer.config)
    ss["train_notice"] = run.resumed


# -- the page ----------------------------------------------------------------------------------

require_app()  # a page opened by a direct link on a fresh server runs via app.py

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
        config, live = settings_ui()
    if corpus is not None:
        with st.container(border=True):
            corpus_info_ui(corpus[1], config.val_fraction)
    with st.expander("Limits on this server"):
        st.markdown(
            f"- corpus: at most {training.MAX_CORPUS_BYTES // 2**20} MB of UTF-8 text, at least "
            f"{training.MIN_CORPUS_CHARS} characters\n"
            f"- hidden size ≤ {training.MAX_HIDDEN}, sequence length ≤ "
            f"{training.MAX_SEQ_LEN}, batch size ≤ {training.MAX_BATCH}\n"
            f"- training runs in chunks of {training.CHUNK_SECONDS:g} s, so pause answers "
            "quickly; the charts are redrawn about once a second (less often when drawing is "
            f"slow, so that training keeps {training.TRAIN_SHARE:.0%} of the time); every "
            "session trains in its own chunks and shares the server's processors with the "
            "others\n"
            f"- {training.MAX_SNAPSHOTS} snapshots (steps "
            f"{', '.join(f'{s:,}' for s in training.SNAPSHOT_STEPS)}), the latest "
            f"{training.MAX_SAMPLES} samples\n"
            f"- a loss above {training.BLOWUP_FACTOR:g} × ln V (ten times the cost of guessing "
            "uniformly) counts as diverged\n"
            "- your run lives in your browser session only; reloading the page starts over")

ss = st.session_state
if corpus is not None:
    ss["train_corpus_now"] = corpus
run = training.get_run()
message = None
if corpus is not None:
    digest = text_digest(corpus[1])
    fresh = run is None or ss.pop("train_new_run", False) or (
        run.steps == 0 and not run.resumed and training.changed_settings(run, config, digest))
    if fresh:
        try:
            run = training.new_run(corpus[1], config, corpus[0],
                                   temperature=live["temperature"],
                                   sample_every=live["sample_every"])
            training.set_run(run)
        except RNNError as e:
            message = str(e)
ss.pop("train_new_run", None)
if run is not None:
    try:
        training.apply_live(run, **live)
    except RNNError as e:
        message = str(e)

with right:
    if run is None:
        st.error(message or "Choose a corpus to start.")
        st.stop()
    tr = run.trainer
    if message:
        st.error(message)
    if "train_message" in ss:
        st.error(ss.pop("train_message"))
    if "train_notice" in ss:
        st.success(ss.pop("train_notice"))

    changed = training.changed_settings(run, config, digest) if corpus is not None else []
    if changed:
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

    c = st.columns([1, 1, 1, 1, 2])
    c[0].button("Play", key="train_play", icon=":material/play_arrow:", on_click=_play,
                disabled=run.playing or bool(tr.diverged), type="primary",
                width="stretch")
    c[1].button("Pause", key="train_pause", icon=":material/pause:", on_click=_pause,
                disabled=not run.playing, width="stretch")
    c[2].button("Step", key="train_step", icon=":material/skip_next:", on_click=_step,
                disabled=bool(tr.diverged), width="stretch",
                help="One training step (pauses first).")
    c[3].button("Reset", key="train_reset", icon=":material/restart_alt:",
                on_click=_request_new_run, width="stretch",
                help="Start over from step 0 with the settings on the left.")
    c[4].caption(f"{run.corpus_name} · H={tr.config.hidden_size}, T={tr.config.seq_len}, "
                 f"B={tr.config.batch_size}, {tr.config.optimizer}, lr {tr.config.lr:g}, "
                 f"clip {'off' if tr.config.clip is None else f'{tr.config.clip:g}'}")

    if tr.diverged:
        with st.container(border=True):
            st.error(tr.diverged)
            lr0, clip0 = run.diverged_with or (tr.config.lr, tr.config.clip)
            st.markdown(
                f"**What to try.** Lower the learning rate below {lr0:g} (or turn on / tighten "
                "gradient clipping) on the left and press *Continue*: training goes on from the "
                "restored parameters, with its history kept. If the loss was huge from the "
                "very first step, the initial weight scale is too large: pick a smaller one "
                "and start a new run.")
            st.button("Continue with the new settings", key="train_continue",
                      on_click=_continue, disabled=not training.can_continue(run),
                      type="primary")

    @st.fragment(run_every=RUN_EVERY_S if run.playing else None)
    def live_training() -> None:
        """While playing: one training chunk, then the numbers. Reruns on its own timer."""
        run = training.get_run()
        if run is None:
            return
        if run.playing:  # asked again under the run's lock, where a pause is sure to be seen
            training.play_chunk(run)
            if not run.playing:  # diverged, reached the target or paused: stop the timers
                st.rerun()
        p = training.progress(run)
        h = run.trainer.history
        m = st.container(key="train_metrics").columns(5)
        m[0].metric("Step", f"{p.steps:,}")
        m[1].metric("Loss (nats)", f"{p.loss:.3f}" if h.loss else "–",
                    f"{p.loss / LN2:.3f} bits/char" if h.loss else None,
                    delta_color="off", delta_arrow="off",
                    help="Training loss, mean over the last 100 steps, in nats per character "
                         "(bits = nats / ln 2).")
        m[2].metric("Val. loss (nats)", f"{p.val_loss:.3f}" if h.val_loss else "–",
                    f"{p.val_loss / LN2:.3f} bits/char" if h.val_loss else None,
                    delta_color="off", delta_arrow="off",
                    help="Loss on the held-out tail of the corpus, which is never trained on.")
        m[3].metric("Chars/s", _short(p.chars_per_s),
                    help="Training speed over the last 100 steps.")
        m[4].metric("Time", f"{p.seconds:,.1f} s", help="Training time so far, pauses excluded.")
        if p.fraction is not None:
            left_txt = f" · about {p.seconds_left:,.0f} s left" if p.seconds_left else ""
            st.progress(p.fraction, text=f"{p.steps:,} / {run.target:,} steps{left_txt}")

    @st.fragment(run_every=training.chart_every(run) if run.playing else None)
    def live_charts() -> None:
        """Curves, W_h and samples: redrawn about once a second while playing (drawing costs
        far more than the numbers, so it runs less often and training keeps the time)."""
        run = training.get_run()
        if run is None:
            return
        t_draw = time.perf_counter()
        c = training.chart_data(run)  # one training state for every chart
        h = c.history
        st.plotly_chart(loss_figure(h.step, h.loss, h.val_step, h.val_loss),
                        key="train_loss_chart", config={"displayModeBar": False})
        g1, g2 = st.columns(2)
        with g1:
            st.plotly_chart(grad_norm_figure(h.step, h.grad_norm), key="train_grad_chart",
                            config={"displayModeBar": False})
            st.markdown(f"**Samples** (temperature {run.temperature:g}, newest first)")
            for step, text in reversed(c.samples[-4:]):
                st.caption(f"step {step:,}")
                st.code(text, language=None, wrap_lines=True)
        with g2:
            st.plotly_chart(W_h_figure(c.W_h, c.rho, c.steps), key="train_wh_chart",
                            config={"displayModeBar": False})
            at = "" if c.rho_step == c.steps else f" (ρ from step {c.rho_step:,}, refreshed "
            at = at and at + f"every {training.RHO_EVERY_S:g} s while training)"
            st.caption(f"ρ > 1: the memory can amplify what it holds; ρ < 1: it fades{at}. "
                       "Colours: blue negative, red positive.")
        with st.expander(f"All {len(c.samples)} samples: noise becoming words"):
            for step, text in reversed(c.samples):
                st.caption(f"step {step:,}")
                st.code(text, language=None, wrap_lines=True)
        run.draw_seconds = time.perf_counter() - t_draw

    live_training()
    live_charts()

    st.divider()
    st.subheader("Take the model with you")
    snaps = {f"now (step {run.steps:,})": None}
    snaps.update({f"snapshot at step {s.step:,}": s.step for s in run.snapshots
                  if s.step != run.steps})
    c1, c2 = st.columns([2, 1])
    pick = c1.selectbox("Model", list(snaps), key="train_explore_pick",
                        help=f"Up to {training.MAX_SNAPSHOTS} copies are kept along the run, "
                             "so the explorer can show one sentence through the model at "
                             "step 0, 100, 1000 …")
    c2.write("")
    if c2.button("Explore this model", key="train_explore", type="primary",
                 icon=":material/timeline:"):
        training.pause(run)  # the copy and its label show the same step
        step = snaps.get(pick)
        at = run.steps if step is None else step
        add_model(ModelEntry(
            key="trained" if step is None else f"trained@{step}",
            label=f"Trained here: {run.corpus_name}, step {at:,}",
            model=training.snapshot_model(run, step), vocab=tr.vocab,
            meta=training.explore_meta(run, step),
            source="trained" if step is None else "snapshot"))
        st.switch_page("pages/explorer.py")

    c1, c2 = st.columns(2)
    with c1:
        st.download_button(
            "Download checkpoint (.npz)", data=lambda: training.checkpoint_of(run),
            file_name=f"rnn-step{run.steps}.npz", mime="application/octet-stream",
            key="train_download", on_click="ignore", disabled=run.playing,
            icon=":material/download:",
            help="Pause first. Weights, vocabulary, optimizer state and history: upload it "
                 "here later to continue exactly where you stopped.")
    with c2:
        st.file_uploader("Continue from a checkpoint", type=["npz"], key="train_ckpt_upload",
                         max_upload_size=training.MAX_CHECKPOINT_BYTES // 2**20,
                         help="Trains on the corpus chosen on the left. A checkpoint saved "
                              "here on the same corpus continues exactly where it stopped.")
        st.button("Continue training from this file", key="train_resume",
                  on_click=_resume_upload,
                  disabled=ss.get("train_ckpt_upload") is None)
