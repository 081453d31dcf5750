"""History: what a training run did at each step, bounded however long the run."""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field, fields

import numpy as np

# The history keeps at most MAX_HISTORY points per curve: the latest HISTORY_RECENT steps all,
# older ones at a stride that doubles as the run grows (a million steps used to hold ~50 MB and
# a checkpoint the app could not load back).
MAX_HISTORY = 10_000
HISTORY_RECENT = 1_000


@dataclass
class History:
    """What happened at each step: losses in nats per token, norms before clipping (of the
    gradient the update follows, that of the loss summed over a window), times."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)  # training time so far, pauses excluded
    val_step: list[int] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)

    def append(self, step: int, loss: float, grad_norm: float, seconds: float) -> None:
        """Record one training step (older steps are thinned to stay within MAX_HISTORY)."""
        self.step.append(step)
        self.loss.append(loss)
        self.grad_norm.append(grad_norm)
        self.seconds.append(seconds)
        if len(self.step) > MAX_HISTORY:
            self._thin(("step", "loss", "grad_norm", "seconds"))

    def append_val(self, step: int, loss: float) -> None:
        """Record one validation loss (thinned like the training steps)."""
        self.val_step.append(step)
        self.val_loss.append(loss)
        if len(self.val_step) > MAX_HISTORY:
            self._thin(("val_step", "val_loss"))

    def _thin(self, names: tuple[str, ...]) -> None:
        """Keep the first point, the latest ones, and older steps at a multiple of a stride."""
        steps = getattr(self, names[0])
        recent = min(HISTORY_RECENT, MAX_HISTORY // 4)
        old = len(steps) - recent
        stride = 2
        while True:
            keep = [i for i in range(old) if i == 0 or steps[i] % stride == 0]
            if len(keep) <= MAX_HISTORY // 2:  # room for many appends before the next thinning
                break
            stride *= 2
        keep += range(old, len(steps))
        for name in names:
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in keep])

    def chars_per_s(self, tokens_per_step: int, window: float = 3.0) -> float:
        """Tokens per second over the last ``window`` seconds of training time (at least the last
        100 steps): a moving window over time, so that a validation pass or a slow step inside a
        short stretch of steps does not swing the figure (over 100 steps at batch 16 it jumped
        between 8k and 411k chars/s)."""
        n_steps = len(self.seconds) - 1
        if n_steps < 1:
            return float("nan")
        first = bisect.bisect_left(self.seconds, self.seconds[-1] - window)
        n = max(min(100, n_steps), n_steps - first)  # points back (older ones may be thinned)
        dt = self.seconds[-1] - self.seconds[-1 - n]
        steps = self.step[-1] - self.step[-1 - n]
        return steps * tokens_per_step / dt if dt > 0 else float("nan")

    def loss_last(self, n: int = 100) -> float:
        """Mean training loss over the last n steps."""
        return float(np.mean(self.loss[-n:])) if self.loss else float("nan")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> History:
        names = {f.name for f in fields(cls)}
        return cls(**{k: list(v) for k, v in d.items() if k in names})
