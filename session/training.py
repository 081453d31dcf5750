"""One session's training run: chunks of training, pause, divergence and recovery, snapshots.

Plain Python on top of ``rnn.Trainer``: the Train live page's timer calls ``play_chunk`` and
tests call the very same functions without a timer. ``ui.state`` keeps a session's run.

Threads. Streamlit's fast reruns start a new script run on a new thread as soon as a widget
is used, while the previous script run's thread goes on until its next Streamlit call; a
training chunk makes none, so it can still be training when Pause's script run draws the page.
Hence each run has a lock: training holds it, ``pause`` waits for it (a chunk in flight ends at
its next step once the run is paused), and the page reads what it draws under it
(``session.train_view``), so every view shows one training state.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field, replace

import numpy as np

from rnn import RNN, ModelMeta, RNNError, TrainConfig, Trainer, Vocab, sample

from .limits import MAX_TRAIN_VOCAB, check_corpus, check_limits

CHUNK_SECONDS = 0.25  # training time per chunk: the page answers within about this long
MAX_SNAPSHOTS = 8
# about x3 apart, because the early steps change the model most
SNAPSHOT_STEPS = (0, 100, 300, 1000, 3000, 10_000, 30_000, 100_000)
MAX_SAMPLES = 40  # the first sample and the latest ones are kept
SAMPLE_LEN = 200
BLOWUP_FACTOR = 10.0  # a loss above 10 x ln V (10 x uniform guessing) counts as diverged
ARCHITECTURE = ("hidden_size", "seq_len", "batch_size", "optimizer", "init_std", "seed",
                "val_fraction", "activation", "level",
                "max_vocab")  # changing these needs a new run; lr and clip apply live
LABELS = {"hidden_size": "hidden size", "seq_len": "sequence length", "batch_size": "batch size",
          "optimizer": "optimizer", "init_std": "initial weight scale", "seed": "seed",
          "val_fraction": "validation fraction", "activation": "activation g",
          "level": "tokens", "max_vocab": "vocabulary size cap", "corpus": "corpus"}


@dataclass
class Snapshot:
    """A copy of the model at one step of the run."""

    step: int
    model: RNN
    loss: float  # mean training loss over the last 100 steps (nan at step 0)
    val_loss: float | None = None  # validation loss of these weights (None: no held-out text)


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

    def model_meta(self, step: int | None = None) -> ModelMeta:
        """What the model now (step None) or the snapshot at ``step`` carries: its corpus,
        settings and history. Checkpoints and "Explore this model" both use it."""
        at = self.steps if step is None else step
        doc = {**self.trainer.meta(), "title": f"Trained on {self.corpus_name}",
               "description": f"Trained here on {self.corpus_name}, step {at}.",
               "corpus": self.corpus_name, "snapshot_step": at}
        snap = next((s for s in self.snapshots if s.step == step), None)
        if snap is not None and snap.step != self.steps:  # its own losses, not the run's now
            h = dict(doc.get("history") or {})
            for steps, curves in (("step", ("step", "loss", "grad_norm", "seconds")),
                                  ("val_step", ("val_step", "val_loss"))):
                keep = sum(1 for x in h.get(steps, []) if x <= at)
                h.update({k: h[k][:keep] for k in curves if k in h})
            doc["history"] = h
            doc["val_loss"] = snap.val_loss
        return ModelMeta.from_dict(doc)


def blowup_limit(vocab_size: int) -> float:
    """The loss (nats) above which a run counts as diverged: BLOWUP_FACTOR x uniform guessing."""
    return BLOWUP_FACTOR * math.log(vocab_size)


def new_run(text: str, config: TrainConfig, corpus_name: str, *, temperature: float = 0.8,
            sample_every: int = 500) -> TrainRun:
    """A fresh run at step 0 (validated, with a snapshot, a sample and a validation loss)."""
    check_corpus(text)
    check_limits(config)
    # The most frequent tokens only: 100k distinct characters made a softmax 100k wide (2 GB)
    vocab = Vocab.build(text, config.level, max_size=min(MAX_TRAIN_VOCAB,
                                                        config.max_vocab or MAX_TRAIN_VOCAB))
    trainer = Trainer(text, replace(config, max_loss=None), vocab=vocab)  # a copy: live
    # settings change it
    return start(TrainRun(trainer, corpus_name, temperature, max(1, sample_every)))


def start(run: TrainRun) -> TrainRun:
    """Ready a run at its current step: divergence limit, validation loss, snapshot, sample."""
    tr = run.trainer
    tr.set_max_loss(blowup_limit(tr.vocab.size))
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
        tr.set_lr(lr)
    if clip_set and clip != tr.config.clip:
        tr.set_clip(clip)
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
    h = tr.history
    if h.val_step and h.val_step[-1] == tr.steps:
        val = h.val_loss[-1]
    elif len(tr.val_ids) >= 2:  # the same measure as Trainer.evaluate, not recorded in history
        with np.errstate(all="ignore"):
            val = float(tr.model.loss(tr.val_ids[:-1], tr.val_ids[1:]))
    else:
        val = None
    run.snapshots.append(Snapshot(tr.steps, tr.model.copy(), loss, val))
    if len(run.snapshots) > MAX_SNAPSHOTS:  # a resumed run: thin out, keeping first and last
        ratios = [run.snapshots[i + 1].step / max(run.snapshots[i].step, 1)
                  for i in range(len(run.snapshots) - 2)]
        del run.snapshots[1 + int(np.argmin(ratios))]


def snapshot_model(run: TrainRun, step: int | None) -> RNN:
    """A copy of the current model (step None) or of the snapshot at ``step``."""
    if step is None:
        return run.trainer.model.copy()
    for snap in run.snapshots:
        if snap.step == step:
            return snap.model.copy()
    raise RNNError(f"There is no snapshot at step {step}.")


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
    """Let a diverged run go on from the restored parameters with the new (safer) settings;
    its history, snapshots and samples are kept (``Trainer.recover``)."""
    if not can_continue(run):
        raise RNNError("Lower the learning rate (or tighten the clipping) before continuing, "
                       "or reset the run.")
    run.trainer.recover()
    run.diverged_with = None
