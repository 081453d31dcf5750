"""TrainConfig: the hyperparameters of one training run, each checked with a plain message."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .activation import ACTIVATIONS
from .errors import RNNError
from .optim import OPTIMIZERS
from .vocab import LEVELS

DTYPES = ("float32", "float64")
MAX_SEED = 2**32 - 1  # seeds are 0 .. 2^32 - 1 in the CLI and in the app alike
MAX_VAL_FRACTION = 0.5  # the largest held-out share, in the CLI and in the app alike
MAX_INIT_STD = 100.0  # larger initial weights only overflow (the loader refuses |w| > 1e6)

@dataclass
class TrainConfig:
    """Hyperparameters of one training run."""

    # The defaults are the recipe that reached a given validation loss soonest on this project's
    # 2-core machine without an early loss spike (benchmarks/time_to_loss.py); min-char-rnn's
    # recipe is batch_size=1, optimizer="adagrad", lr=0.1 with the same H, T, clip and init.
    hidden_size: int = 100  # H, number of hidden neurons
    seq_len: int = 25  # T, tokens per window: how far back gradients flow (truncated BPTT)
    batch_size: int = 32  # B, parallel streams of the corpus
    optimizer: str = "adam"  # sgd | adagrad | adam
    lr: float = 3e-3
    momentum: float = 0.9  # SGD only
    clip: float | None = 5.0  # element-wise gradient clipping bound (None: off)
    clip_norm: float | None = None  # global-norm clipping bound (None: off)
    max_loss: float | None = None  # a finite loss above this also counts as diverged (None: off)
    init_std: float = 0.01  # std of the initial weights
    seed: int = 0
    val_fraction: float = 0.1  # tail of the corpus held out for the validation loss
    eval_every: int = 500  # steps between validation losses (one costs ~50 steps at B=1)
    eval_tokens: int = 5_000  # validation tokens used at most (keeps evaluation cheap)
    level: str = "char"  # char | word vocabulary
    max_vocab: int | None = None  # keep the most frequent tokens, the rest become <unk> (None: all)
    activation: str = "tanh"  # g in h_t = g(a_t): tanh | relu | sigmoid | identity
    dtype: str = "float32"  # float32 | float64: float32 trains 1.4-2x faster (benchmarks/)

    def validate(self) -> None:
        """Raise RNNError naming the first hyperparameter out of range."""
        checks = [
            (1 <= self.hidden_size <= 4096, "The hidden size must be between 1 and 4096."),
            (1 <= self.seq_len <= 10_000, "The sequence length must be between 1 and 10000."),
            (1 <= self.batch_size <= 4096, "The batch size must be between 1 and 4096."),
            (self.optimizer in OPTIMIZERS,
             f"The optimizer must be one of {', '.join(OPTIMIZERS)}."),
            (np.isfinite(self.lr) and self.lr > 0, "The learning rate must be a positive number."),
            (0 <= self.momentum < 1, "Momentum must lie in [0, 1)."),
            (self.clip is None or self.clip > 0, "The clipping bound must be positive."),
            (self.clip_norm is None or self.clip_norm > 0, "The clipping norm must be positive."),
            (self.max_loss is None or self.max_loss > 0, "The loss limit must be positive."),
            (np.isfinite(self.init_std) and 0 <= self.init_std <= MAX_INIT_STD,
             f"The initial weight scale must be a number from 0 to {MAX_INIT_STD:g}."),
            (isinstance(self.seed, (int, np.integer)) and 0 <= self.seed <= MAX_SEED,
             f"The seed must be a whole number from 0 to {MAX_SEED}."),
            (0 <= self.val_fraction <= MAX_VAL_FRACTION,
             f"The validation fraction must lie in [0, {MAX_VAL_FRACTION:g}]."),
            (self.eval_every >= 1, "Evaluate at least every 1 step."),
            (self.level in LEVELS, "The vocabulary level must be 'char' or 'word'."),
            (self.max_vocab is None or 2 <= self.max_vocab <= 200_000,
             "The vocabulary size cap must be between 2 and 200000."),
            (self.activation in ACTIVATIONS,
             f"The activation must be one of {', '.join(ACTIVATIONS)}."),
            (self.dtype in DTYPES, "The dtype must be float32 or float64."),
        ]
        for ok, message in checks:
            if not ok:
                raise RNNError(message)

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        """A config from a dict, ignoring unknown keys (e.g. from an older checkpoint)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})
