"""The left side of Train live: the corpus and the settings. Each ``*_ui`` function draws and
returns; ``settings_from`` is the one mapping from widget values to a ``TrainConfig``.

    init_state()                       # widget defaults, once per session
    corpus = corpus_ui()               # a CorpusChoice, or None after showing why it is unusable
    settings = settings_ui()           # the TrainConfig and the settings that apply live

Widget values live in the session under the keys of ``DEFAULTS`` (``ui.state.widget``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from rnn import ACTIVATIONS, CORPORA, OPTIMIZERS, RNNError, TrainConfig, Vocab, load_corpus
from rnn.config import MAX_SEED, MAX_VAL_FRACTION
from rnn.train import text_digest
from session import limits, runs, server, training

from . import state

SOURCES = ("Built-in", "Paste text", "Upload a .txt file")
LR_OPTIONS = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 50.0)
# a good learning rate per optimizer, for the Trainer's gradient of the loss summed over a window
DEFAULT_LR = {"adagrad": 0.1, "adam": 0.003, "sgd": 0.01}
_RECIPE = TrainConfig()  # the default recipe (rnn/train.py, from benchmarks/time_to_loss.py)
INIT_OPTIONS = (0.0, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 100.0)
CLIP_OPTIONS = ("off", 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 100.0)
SAMPLE_EVERY = (25, 50, 100, 200, 500, 1000, 2000, 5000)
LEVELS = {"char": "characters", "word": "words"}
MAX_VOCAB_OPTIONS = (50, 100, 200, 500, 1000)  # the word vocabulary's size cap (limits too)
DEFAULTS = {  # widget key -> default value
    "train_source": SOURCES[0], "train_corpus": "english", "train_paste": "",
    "train_hidden": _RECIPE.hidden_size, "train_seq_len": _RECIPE.seq_len,
    "train_batch": _RECIPE.batch_size, "train_optimizer": _RECIPE.optimizer,
    "train_init_std": _RECIPE.init_std, "train_seed": 0, "train_val_fraction": 0.1,
    "train_lr": _RECIPE.lr, "train_clip": _RECIPE.clip, "train_temperature": 0.8,
    "train_sample_every": 500, "train_target": 0,
    "train_activation": _RECIPE.activation, "train_level": "char", "train_max_vocab": 500,
}
CONFIG_KEYS = {"hidden_size": "train_hidden", "seq_len": "train_seq_len",
               "batch_size": "train_batch", "optimizer": "train_optimizer",
               "init_std": "train_init_std", "seed": "train_seed",
               "val_fraction": "train_val_fraction", "lr": "train_lr",
               "activation": "train_activation", "level": "train_level"}  # field -> widget key


@dataclass
class CorpusChoice:
    """The text chosen to train on, and what the page calls it."""

    name: str  # "english", "pasted text", "file notes.txt"
    text: str
    digest: str  # text_digest(text): tells whether a run was trained on this very text


@dataclass
class Settings:
    """What the settings widgets describe."""

    config: TrainConfig  # the network; its lr and clip also apply to a running network
    temperature: float  # of the samples; applies live
    sample_every: int  # steps between samples; applies live
    target: int  # stop (pause) at this step, 0: never; applies live


def init_state() -> None:
    """Give every widget its default once per session."""
    state.init(DEFAULTS)


def settings_from(values: Mapping) -> Settings:
    """The settings that widget values (by widget key) describe."""
    v = {field: values[key] for field, key in CONFIG_KEYS.items()}
    clip = values["train_clip"]
    config = TrainConfig(hidden_size=int(v["hidden_size"]), seq_len=int(v["seq_len"]),
                         batch_size=int(v["batch_size"]), optimizer=v["optimizer"],
                         lr=float(v["lr"]), init_std=float(v["init_std"]), seed=int(v["seed"]),
                         val_fraction=round(float(v["val_fraction"]), 4),
                         clip=None if clip == "off" else float(clip),
                         activation=v["activation"], level=v["level"],
                         max_vocab=int(values["train_max_vocab"]) if v["level"] == "word"
                         else None)
    return Settings(config, float(values["train_temperature"]),
                    int(values["train_sample_every"]), int(values["train_target"]))


def sync_widgets(config: TrainConfig) -> None:
    """Make the widgets show a run's settings (after loading a checkpoint or 'keep')."""
    for field, key in CONFIG_KEYS.items():
        state.preset(key, getattr(config, field))
    state.preset("train_clip", "off" if config.clip is None else config.clip)
    if config.max_vocab is not None:
        state.preset("train_max_vocab", config.max_vocab)


def _optimizer_changed() -> None:
    state.preset("train_lr", DEFAULT_LR[state.widget("train_optimizer")])


def _with(options, value):
    """Options of a select slider, including a value set elsewhere (e.g. by a checkpoint)."""
    return tuple(sorted(set(options) | {value}, key=lambda v: (isinstance(v, str), v)))


def corpus_ui() -> CorpusChoice | None:
    """Corpus picker; returns the corpus, or None after showing why the text cannot be used."""
    source = st.radio("Source", SOURCES, key="train_source", horizontal=True)
    try:
        if source == SOURCES[0]:
            name = st.selectbox("Built-in corpus", list(CORPORA), key="train_corpus",
                                format_func=lambda k: CORPORA[k].title)
            st.caption(CORPORA[name].description)
            text = load_corpus(name)
        elif source == SOURCES[1]:
            text = st.text_area("Paste text", key="train_paste", height=150,
                                placeholder=f"At least {limits.MIN_CORPUS_CHARS} characters")
            name = "pasted text"
        else:
            mb = limits.MAX_CORPUS_MB
            up = st.file_uploader(f"A UTF-8 .txt file (at most {mb} MB)", type=["txt"],
                                  key="train_upload", max_upload_size=mb,
                                  help=f"{mb} MB = {limits.MAX_CORPUS_BYTES:,} bytes.")
            if up is None:
                st.info("Choose a .txt file to train on.")
                return None
            text = limits.corpus_from_bytes(up.getvalue())
            name = f"file {up.name}"
        limits.check_corpus(text)
    except RNNError as e:
        st.error(str(e))  # the checks' own words; the file's name is not in them
        return None
    return CorpusChoice(name, text, text_digest(text))


def word_vocab_info(text: str, max_vocab: int) -> tuple[int, int, float]:
    """Tokens in the text, the size of its capped word vocabulary, and the share of the text's
    tokens that become <unk> under that cap."""
    vocab = Vocab.build(text, "word", max_vocab)
    ids = vocab.encode(text)
    return len(ids), vocab.size, float((ids == 0).mean()) if len(ids) else 0.0


def corpus_info_ui(text: str, config: TrainConfig) -> None:
    n_val = int(len(text) * config.val_fraction)
    size = len(text.encode("utf-8"))
    if config.level == "word":
        n, V, unk = state.cached("train_word_vocab", (text_digest(text), config.max_vocab),
                                 lambda: word_vocab_info(text, config.max_vocab))
        st.caption(f"{len(text):,} characters ({size / 1024:,.1f} KB), {n:,} word tokens "
                   f"(words, runs of spaces, punctuation marks); vocabulary {V} tokens (the "
                   f"{V - 1} most frequent, with <unk>): **{unk:.1%} of the text is <unk>**. "
                   "The last "
                   f"{config.val_fraction:.0%} is held out for validation.")
    else:
        st.caption(f"{len(text):,} characters ({size / 1024:,.1f} KB), "
                   f"vocabulary {len(set(text)) + 1} tokens (with <unk>); "
                   f"{len(text) - n_val:,} for training, the last {n_val:,} held out for "
                   "validation.")
    with st.expander("Preview"):
        st.code(text[:800] + ("…" if len(text) > 800 else ""), language=None, wrap_lines=True)


def settings_ui() -> Settings:
    """Hyperparameter widgets; returns the settings they describe."""
    st.markdown("**Network** · changing these starts a new run")
    c1, c2 = st.columns(2)
    c1.number_input("Hidden size H", 1, limits.MAX_HIDDEN, step=4, key="train_hidden",
                    help="Number of hidden neurons: W_h is H x H.")
    c2.number_input("Sequence length T", 1, limits.MAX_SEQ_LEN, step=5, key="train_seq_len",
                    help="Tokens per window: how far back gradients flow (truncated "
                         "backprop through time).")
    c1.number_input("Batch size B", 1, limits.MAX_BATCH, key="train_batch",
                    help="Parallel streams of the corpus trained at once.")
    c2.selectbox("Optimizer", OPTIMIZERS, key="train_optimizer",
                 on_change=_optimizer_changed, help="Picking one sets its usual learning rate.")
    c1.select_slider("Initial weight scale", _with(INIT_OPTIONS, state.widget("train_init_std")),
                     key="train_init_std", help="Weights start as N(0, scale²).")
    c2.number_input("Seed", 0, MAX_SEED, key="train_seed")  # the CLI's range too
    c1.selectbox("Activation g", list(ACTIVATIONS), key="train_activation",
                 help="h_t = g(a_t): tanh (the usual choice, −1 … 1), relu (max(0, a), "
                      "unbounded), sigmoid (0 … 1, slope at most 1/4), identity (a linear RNN). "
                      "Home shows each one and its slope.")
    c2.radio("Tokens", list(LEVELS), key="train_level", format_func=LEVELS.get, horizontal=True,
             help="Characters, or words: a word, a run of spaces or a punctuation mark is one "
                  "token.")
    if state.widget("train_level") == "word":
        st.select_slider("Word vocabulary: at most", _with(MAX_VOCAB_OPTIONS,
                                                           state.widget("train_max_vocab")),
                         key="train_max_vocab",
                         help="The most frequent word tokens are kept; all others are read as "
                              "<unk>. A bigger vocabulary means bigger W_i and W_o (V x H).")
    st.slider("Held out for validation", 0.0, MAX_VAL_FRACTION, step=0.05, key="train_val_fraction",
              format="%.2f", help="The tail of the corpus that is never trained on.")
    st.markdown("**Learning and sampling** · these apply to the running network")
    c1, c2 = st.columns(2)
    c1.select_slider("Learning rate", _with(LR_OPTIONS, state.widget("train_lr")),
                     key="train_lr", format_func=lambda v: f"{v:g}")
    c2.select_slider("Gradient clipping", _with(CLIP_OPTIONS, state.widget("train_clip")),
                     key="train_clip",
                     format_func=lambda v: f"±{v:g}" if v != "off" else v,
                     help="Each gradient entry is clipped to this range.")
    c1.slider("Sampling temperature", 0.1, 2.0, step=0.05, key="train_temperature",
              help="Low: the most likely characters; high: more adventurous.")
    c2.select_slider("Sample every (steps)",
                     _with(SAMPLE_EVERY, state.widget("train_sample_every")),
                     key="train_sample_every")
    st.number_input("Stop at step (0: never)", 0, limits.MAX_TARGET, step=500,
                    key="train_target")
    return settings_from({k: state.widget(k) for k in DEFAULTS})  # each widget above has its key


def limits_ui() -> None:
    """The server's limits, in an expander."""
    cfg = server.settings()
    lim = server.runs().limits
    with st.expander("Limits on this server"):
        st.markdown(
            f"- corpus: at most {limits.MAX_CORPUS_MB} MB ({limits.MAX_CORPUS_BYTES:,} bytes) of "
            f"UTF-8 text, at least {limits.MIN_CORPUS_CHARS} characters; the "
            f"{limits.MAX_TRAIN_VOCAB - 1} most frequent characters are learned, any other is "
            "read as the unknown token\n"
            f"- hidden size ≤ {limits.MAX_HIDDEN}, sequence length ≤ "
            f"{limits.MAX_SEQ_LEN}, batch size ≤ {limits.MAX_BATCH}\n"
            f"- an uploaded checkpoint: at most {limits.MAX_CHECKPOINT_MB} MB "
            f"({limits.MAX_CHECKPOINT_BYTES:,} bytes), hidden size ≤ {limits.MAX_HIDDEN}, "
            f"vocabulary ≤ {limits.MAX_TRAIN_VOCAB} tokens to train "
            f"(≤ {limits.MAX_VOCAB} to look at on the other pages)\n"
            f"- one run per session; it trains on the server in chunks of "
            f"{training.CHUNK_SECONDS:g} s (so pause answers quickly), also while you are on "
            f"other pages; {runs.at_once(lim.max_training)} on this server (the "
            f"others wait and take turns every {runs.SLICE_S:g} s), {lim.max_runs} are kept\n"
            f"- a playing run nobody looks at for {cfg.run_leave_min:g} minutes is paused, a "
            f"run nobody looks at for {cfg.run_idle_min:g} minutes is released\n"
            f"- {training.MAX_SNAPSHOTS} snapshots (steps "
            f"{', '.join(f'{s:,}' for s in training.SNAPSHOT_STEPS)}), the latest "
            f"{training.MAX_SAMPLES} samples\n"
            f"- a loss above {training.BLOWUP_FACTOR:g} × ln V (ten times the cost of guessing "
            "uniformly) counts as diverged\n"
            "- your run belongs to the token in this page's address (`run=`): a reload or a "
            "new tab with that address finds it again; shared models last "
            f"{cfg.store_days:g} days")
