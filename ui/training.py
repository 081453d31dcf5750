"""The live training run behind the "Train live" page: corpus checks, the training chunk, snapshots.

Everything here except the last section is plain Python on top of ``rnn.Trainer``: the page's
timer calls ``play_chunk`` and tests call the very same functions without a timer. The run of a
session lives in ``st.session_state`` (``get_run``/``set_run``), never in a module global.

Threads. Streamlit's fast reruns start a new script run on a new thread as soon as a widget
is used, while the previous run's thread goes on until its next Streamlit call; a training
chunk makes none, so it can still be training when Pause's run draws the page. Hence each run
has a lock: training holds it, ``pause`` waits for it (a chunk in flight ends at its next step
once the run is paused), and the page reads what it draws under it (``progress``,
``chart_data``), so every view shows one training state.
"""

from __future__ import annotations

import io
import math
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from rnn import RNN, CheckpointError, RNNError, TrainConfig, Trainer, load_checkpoint, sample
from rnn.train import History, text_digest

# Limits that keep one session from starving the others (stated on the page).
MAX_CORPUS_BYTES = 2 * 2**20  # 2 MB of text
MIN_CORPUS_CHARS = 200  # below this there is nothing to learn and nothing to validate on
MAX_HIDDEN = 256
MAX_SEQ_LEN = 200
MAX_BATCH = 64
MAX_TARGET = 1_000_000  # largest step target
MAX_CHECKPOINT_BYTES = 20 * 2**20
CHUNK_SECONDS = 0.25  # training time per chunk: the page answers within about this long
CHART_EVERY_S = 1.0  # the charts are redrawn this often while playing ...
MAX_CHART_EVERY_S = 5.0  # ... or less often, down to this, when drawing them is slow
TRAIN_SHARE = 0.9  # of the page's time left for training (the rest draws the charts)
RHO_EVERY_S = 2.0  # while playing, the spectral radius of W_h is refreshed this often
MAX_SNAPSHOTS = 8
# about x3 apart, because the early steps change the model most
SNAPSHOT_STEPS = (0, 100, 300, 1000, 3000, 10_000, 30_000, 100_000)
MAX_SAMPLES = 40  # the first sample and the latest ones are kept
SAMPLE_LEN = 200
BLOWUP_FACTOR = 10.0  # a loss above 10 x ln V (10 x uniform guessing) counts as diverged
ARCHITECTURE = ("hidden_size", "seq_len", "batch_size", "optimizer", "init_std", "seed",
                "val_fraction")  # changing these needs a new run; lr and clip apply live
LABELS = {"hidden_size": "hidden size", "seq_len": "sequence length", "batch_size": "batch size",
          "optimizer": "optimizer", "init_std": "initial weight scale", "seed": "seed",
          "val_fraction": "validation fraction", "corpus": "corpus"}


# -- corpus ------------------------------------------------------------------------------------


def text_from_bytes(data: bytes) -> str:
    """The text of an uploaded file; RNNError for binary, non-UTF-8 or oversized files."""
    if len(data) > MAX_CORPUS_BYTES:
        raise RNNError(f"The file is {len(data) / 2**20:.1f} MB; the limit is "
                       f"{MAX_CORPUS_BYTES // 2**20} MB. Use a shorter excerpt.")
    if b"\x00" in data:
        raise RNNError("This looks like a binary file (it contains NUL bytes), not plain text. "
                       "Upload a .txt file.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise RNNError(f"The file is not UTF-8 text ({e.reason} at byte {e.start}). Save it as "
                       "UTF-8 and upload it again.") from e
    return text.removeprefix("\ufeff")  # a byte-order mark is not part of the text


def check_corpus(text: str) -> str:
    """The text if it can be trained on; RNNError for empty, tiny or oversized text."""
    if not text or not text.strip():
        raise RNNError("The corpus is empty. Paste or upload some text, or pick a built-in one.")
    if len(text.encode("utf-8")) > MAX_CORPUS_BYTES:
        raise RNNError(f"The text is over the {MAX_CORPUS_BYTES // 2**20} MB limit.")
    if len(text) < MIN_CORPUS_CHARS:
        raise RNNError(f"The corpus is too short: {len(text)} characters. Give at least "
                       f"{MIN_CORPUS_CHARS} so there is something to learn and to validate on.")
    if len(set(text)) < 2:
        raise RNNError("The corpus uses a single character: there is nothing to predict.")
    return text


def check_limits(config: TrainConfig) -> None:
    """RNNError when a setting is over this server's limits."""
    for value, top, what in ((config.hidden_size, MAX_HIDDEN, "hidden size"),
                             (config.seq_len, MAX_SEQ_LEN, "sequence length"),
                             (config.batch_size, MAX_BATCH, "batch size")):
        if value > top:
            raise RNNError(f"The {what} is {value}; this server allows at most {top}.")


# -- the run -----------------------------------------------------------------------------------


@dataclass
class Snapshot:
    """A copy of the model at one step of the run."""

    step: int
    model: RNN
    loss: float  # mean training loss over the last 100 steps (nan at step 0)


@dataclass
class TrainRun:
    """One session's training run: the trainer plus what the page shows along the way."""

    trainer: Trainer
    corpus_name: str  # what the page calls the corpus ("english", "pasted text", a file name)
    temperature: float = 0.8  # for the samples; applies live
    sample_every: int = 500  # steps between samples
    target: int | None = None  # stop (pause) at this step
    playing: bool = False
    samples: list[tuple[int, str]] = field(default_factory=list)  # (step, sampled text)
    snapshots: list[Snapshot] = field(default_factory=list)  # at most MAX_SNAPSHOTS
    diverged_with: tuple[float, float | None] | None = None  # (lr, clip) when training blew up
    resumed: str = ""  # what resuming from an uploaded checkpoint did
    draw_seconds: float = 0.0  # how long the page took to draw the charts last time
    rho: tuple[int, float, float] | None = None  # (step, spectral radius of W_h, when computed)
    # held while training and while reading what the page draws (see the module docstring)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def steps(self) -> int:
        return self.trainer.steps

    @property
    def corpus_digest(self) -> str:
        return self.trainer.digest


def blowup_limit(vocab_size: int) -> float:
    """The loss (nats) above which a run counts as diverged: BLOWUP_FACTOR x uniform guessing."""
    return BLOWUP_FACTOR * math.log(vocab_size)


def new_run(text: str, config: TrainConfig, corpus_name: str, *, temperature: float = 0.8,
            sample_every: int = 500) -> TrainRun:
    """A fresh run at step 0 (validated, with a snapshot, a sample and a validation loss)."""
    check_corpus(text)
    check_limits(config)
    config = replace(config, max_loss=None)
    trainer = Trainer(text, config)
    return _start(TrainRun(trainer, corpus_name, temperature, max(1, sample_every)))


def _start(run: TrainRun) -> TrainRun:
    tr = run.trainer
    tr.config.max_loss = blowup_limit(tr.vocab.size)
    if not tr.history.val_step or tr.history.val_step[-1] != tr.steps:
        tr.evaluate()
    _take_snapshot(run)
    _take_sample(run)
    return run


def apply_live(run: TrainRun, *, lr: float | None = None, clip: float | None = None,
               clip_set: bool = False, temperature: float | None = None,
               sample_every: int | None = None, target: int | None = None,
               target_set: bool = False) -> None:
    """Settings that change a run without restarting it: learning rate, clipping, sampling."""
    tr = run.trainer
    if lr is not None and lr != tr.config.lr:
        if not (np.isfinite(lr) and lr > 0):
            raise RNNError("The learning rate must be a positive number.")
        tr.config.lr = tr.optimizer.lr = float(lr)
    if clip_set:
        if clip is not None and not clip > 0:
            raise RNNError("The clipping bound must be positive (or off).")
        tr.config.clip = clip
    if temperature is not None:
        run.temperature = float(temperature)
    if sample_every is not None:
        run.sample_every = max(1, int(sample_every))
    if target_set:
        run.target = int(target) if target else None


def changed_settings(run: TrainRun, config: TrainConfig, corpus_digest: str) -> list[str]:
    """Names of the settings (and 'corpus') that differ from the run and need a new run."""
    now = run.trainer.config
    names = [LABELS[k] for k in ARCHITECTURE if getattr(config, k) != getattr(now, k)]
    if corpus_digest != run.corpus_digest:
        names.append(LABELS["corpus"])
    return names


def _next_sample_step(run: TrainRun) -> int:
    last = run.samples[-1][0] if run.samples else run.steps
    return (last // run.sample_every + 1) * run.sample_every


def _next_snapshot_step(run: TrainRun) -> int | None:
    later = [s for s in SNAPSHOT_STEPS if s > run.steps]
    return later[0] if later else None


def _take_sample(run: TrainRun) -> None:
    tr = run.trainer
    text = sample(tr.model, tr.vocab, n=SAMPLE_LEN, temperature=run.temperature,
                  seed=tr.config.seed + tr.steps)  # seeded by the step: pause/resume repeats it
    run.samples.append((tr.steps, text))
    if len(run.samples) > MAX_SAMPLES:
        del run.samples[1]  # keep the very first (noise) for comparison


def _take_snapshot(run: TrainRun) -> None:
    tr = run.trainer
    if run.snapshots and run.snapshots[-1].step == tr.steps:
        return
    loss = tr.history.loss_last(100) if tr.history.loss else float("nan")
    run.snapshots.append(Snapshot(tr.steps, tr.model.copy(), loss))
    if len(run.snapshots) > MAX_SNAPSHOTS:  # a resumed run: thin out, keeping first and last
        ratios = [run.snapshots[i + 1].step / max(run.snapshots[i].step, 1)
                  for i in range(len(run.snapshots) - 2)]
        del run.snapshots[1 + int(np.argmin(ratios))]


def spectral_radius(run: TrainRun, now: float | None = None) -> tuple[float, int]:
    """max |eig(W_h)| and the step it belongs to. While playing it is recomputed at most every
    RHO_EVERY_S seconds: eigenvalues cost more than the rest of the live view together."""
    now = time.perf_counter() if now is None else now
    step = run.trainer.steps
    if run.rho is not None and (run.rho[0] == step or (
            run.playing and now - run.rho[2] < RHO_EVERY_S)):
        return run.rho[1], run.rho[0]
    run.rho = (step, run.trainer.model.spectral_radius(), now)
    return run.rho[1], step


def chart_every(run: TrainRun) -> float:
    """Seconds between chart redraws while playing: drawing takes at most 1 - TRAIN_SHARE of
    the time (given how long the last drawing took), but at least every MAX_CHART_EVERY_S."""
    need = run.draw_seconds / (1 - TRAIN_SHARE)
    return round(min(MAX_CHART_EVERY_S, max(CHART_EVERY_S, need)), 1)


def run_chunk(run: TrainRun, seconds: float | None = CHUNK_SECONDS,
              max_steps: int | None = None) -> int:
    """Train for about ``seconds`` (or ``max_steps`` steps); returns the number of steps done.

    Samples and snapshots are taken at fixed steps, so the result does not depend on how the
    run is cut into chunks: pausing and resuming gives the same numbers as one long run.
    Divergence or reaching the target stops the run (``run.playing = False``). The run's lock
    is held throughout; a chunk started while the run plays ends at the next step once it is
    paused.
    """
    with run.lock:
        return _train(run, seconds, max_steps)


def play_chunk(run: TrainRun) -> int:
    """The page timer's chunk: CHUNK_SECONDS of training while the run plays, none once paused.

    ``run.playing`` is read under the lock, so a pause that came just before is never trained
    past (checking it before the call would leave that gap open).
    """
    with run.lock:
        return _train(run, CHUNK_SECONDS, None) if run.playing else 0


def pause(run: TrainRun) -> None:
    """Stop playing and wait until no chunk trains: one in flight on another thread ends at
    its next step. After this, everything read from the run shows one state until play."""
    run.playing = False
    with run.lock:
        pass


def _train(run: TrainRun, seconds: float | None, max_steps: int | None) -> int:
    """The body of ``run_chunk``; the caller holds ``run.lock``."""
    tr = run.trainer
    paused = (lambda: not run.playing) if run.playing else None
    t0 = time.perf_counter()
    done = 0
    while not tr.diverged and not (paused and paused()):
        if run.target is not None and tr.steps >= run.target:
            run.playing = False
            break
        if max_steps is not None and done >= max_steps:
            break
        left = None if seconds is None else seconds - (time.perf_counter() - t0)
        if left is not None and left <= 0 and done:
            break
        stops = [_next_sample_step(run), _next_snapshot_step(run), run.target,
                 None if max_steps is None else tr.steps + max_steps - done]
        upto = min(s for s in stops if s is not None)
        done += tr.train(upto - tr.steps, seconds=None if left is None else max(left, 0.0),
                         stop=paused)
        if tr.diverged:
            break
        if tr.steps >= _next_sample_step(run):
            _take_sample(run)
        if tr.steps in SNAPSHOT_STEPS:
            _take_snapshot(run)
    if tr.diverged:
        run.playing = False
        if run.diverged_with is None:
            run.diverged_with = (tr.config.lr, tr.config.clip)
    return done


def can_continue(run: TrainRun) -> bool:
    """After a divergence: True once the learning rate is lower or clipping is tighter."""
    if run.diverged_with is None:
        return False
    lr0, clip0 = run.diverged_with
    clip = run.trainer.config.clip
    tighter = clip is not None and (clip0 is None or clip < clip0)
    return run.trainer.config.lr < lr0 or tighter


def continue_after_divergence(run: TrainRun) -> None:
    """Let a diverged run go on from the restored parameters with the new (safer) settings.

    The Trainer already put back the parameters and optimizer state of the last good step
    and never advanced the data position or the carried state past it, so clearing its
    ``diverged`` flag continues the same run: history, snapshots and samples are kept.
    SGD's momentum is cleared, because it carries steps scaled by the old learning rate.
    """
    if not can_continue(run):
        raise RNNError("Lower the learning rate (or tighten the clipping) before continuing, "
                       "or reset the run.")
    velocity = run.trainer.optimizer.state.get("velocity", {})  # SGD momentum: v = mu v - lr g
    for v in velocity.values():
        v.fill(0.0)  # it was built with the old, too large learning rate
    run.trainer.diverged = None
    run.diverged_with = None


# -- figures the page shows --------------------------------------------------------------------


@dataclass
class Progress:
    """Numbers for the page's header of the run."""

    steps: int
    loss: float  # mean training loss over the last 100 steps, nats per token
    val_loss: float  # latest validation loss (nan without one)
    chars_per_s: float  # over the last 100 steps, training time only
    seconds: float  # training time so far, pauses excluded
    fraction: float | None  # of the step target
    seconds_left: float | None  # to the step target at the current speed


def progress(run: TrainRun) -> Progress:
    """The header's numbers, read under the run's lock (one training state)."""
    tr = run.trainer
    with run.lock:
        h = tr.history
        cps = h.chars_per_s(tr.tokens_per_step)
        fraction = left = None
        if run.target:
            fraction = min(1.0, tr.steps / run.target)
            steps_per_s = cps / tr.tokens_per_step
            if np.isfinite(steps_per_s) and steps_per_s > 0:
                left = max(0, run.target - tr.steps) / steps_per_s
        return Progress(tr.steps, h.loss_last(100),
                        h.val_loss[-1] if h.val_loss else float("nan"), cps,
                        h.seconds[-1] if h.seconds else 0.0, fraction, left)


@dataclass
class ChartData:
    """What the charts of a run show, copied at one moment: every chart shows the same step."""

    steps: int
    history: History  # a copy of the lists (curves, validation points)
    samples: list[tuple[int, str]]  # (step, sampled text), oldest first
    W_h: np.ndarray  # (H, H) float32 copy
    rho: float  # spectral radius of W_h at rho_step (refreshed every RHO_EVERY_S while playing)
    rho_step: int


def chart_data(run: TrainRun) -> ChartData:
    """A copy of what the charts show, taken under the run's lock."""
    tr = run.trainer
    with run.lock:
        rho, rho_step = spectral_radius(run)
        return ChartData(tr.steps, History.from_dict(vars(tr.history)), list(run.samples),
                         tr.model.W_h.astype(np.float32), rho, rho_step)


# -- checkpoints -------------------------------------------------------------------------------


def checkpoint_of(run: TrainRun) -> bytes:
    """A checkpoint of the run (weights, vocabulary, optimizer state, history) as bytes."""
    buf = io.BytesIO()
    run.trainer.save(buf, title=f"Trained on {run.corpus_name}", corpus=run.corpus_name,
                     description=f"Trained here for {run.steps} steps on {run.corpus_name}.")
    return buf.getvalue()


def resume_run(data: bytes, text: str, corpus_name: str, *, temperature: float = 0.8,
               sample_every: int = 500) -> TrainRun:
    """A run that continues an uploaded checkpoint on ``text``; RNNError for a bad upload."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"The file is over {MAX_CHECKPOINT_BYTES // 2**20} MB.")
    check_corpus(text)
    model, _, meta = load_checkpoint(data)
    if model.hidden_size > MAX_HIDDEN:
        raise CheckpointError(f"This model has {model.hidden_size} hidden neurons; this server "
                              f"trains at most {MAX_HIDDEN}.")
    doc = meta.get("config")
    try:
        saved = TrainConfig.from_dict(doc if isinstance(doc, dict) else {})
        saved.hidden_size = model.hidden_size
        saved.dtype = str(model.dtype)
        saved.validate()
        check_limits(saved)
    except (RNNError, TypeError, ValueError) as e:
        raise CheckpointError(f"The checkpoint's settings cannot be used here: {e}") from e
    try:
        trainer = Trainer.resume(data, text, saved)
    except RNNError:
        raise
    except (TypeError, ValueError, KeyError, AttributeError) as e:  # malformed metadata
        raise CheckpointError(f"The checkpoint's training record is damaged ({e}).") from e
    same = meta.get("trainer", {}).get("corpus_digest") == text_digest(text)
    run = TrainRun(trainer, corpus_name, temperature, max(1, sample_every))
    run.resumed = (
        f"Continued exactly where the checkpoint stopped (step {trainer.steps})." if same else
        f"The checkpoint was trained on other text: its weights (step {trainer.steps}) now "
        f"train on {corpus_name}, with a fresh optimizer state."
    )
    return _start(run)


def snapshot_model(run: TrainRun, step: int | None) -> RNN:
    """A copy of the current model (step None) or of the snapshot at ``step``."""
    if step is None:
        return run.trainer.model.copy()
    for snap in run.snapshots:
        if snap.step == step:
            return snap.model.copy()
    raise RNNError(f"There is no snapshot at step {step}.")


def explore_meta(run: TrainRun, step: int | None) -> dict:
    """The metadata a trained model carries into the explorer."""
    meta = run.trainer.meta()
    meta["title"] = f"Trained on {run.corpus_name}"
    at = run.steps if step is None else step
    meta["description"] = f"Trained here on {run.corpus_name}, step {at}."
    meta["snapshot_step"] = at
    return meta


# -- session state -----------------------------------------------------------------------------

_RUN = "train_run"  # session_state key of this session's TrainRun


def get_run(state=None) -> TrainRun | None:
    """This session's run (``state`` defaults to ``st.session_state``)."""
    return _state(state).get(_RUN)


def set_run(run: TrainRun | None, state=None) -> None:
    s = _state(state)
    if run is None:
        s.pop(_RUN, None)
    else:
        s[_RUN] = run


def _state(state):
    if state is not None:
        return state
    import streamlit as st

    return st.session_state
