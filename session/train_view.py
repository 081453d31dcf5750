"""What the Train live page shows of a run, each read under the run's lock: one training state."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from rnn import History

from .training import TrainRun

CHART_EVERY_S = 1.0  # the charts are redrawn this often while playing ...
MAX_CHART_EVERY_S = 5.0  # ... or less often, down to this, when drawing them is slow
TRAIN_SHARE = 0.9  # of the page's time left for training (the rest draws the charts)
RHO_EVERY_S = 2.0  # while playing, the spectral radius of W_h is refreshed this often


@dataclass
class Progress:
    """Numbers for the page's header of the run."""

    steps: int
    loss: float  # mean training loss over the last 100 steps, nats per token
    val_loss: float  # latest validation loss (nan without one)
    chars_per_s: float  # over the last 3 s of training time (at least 100 steps)
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
