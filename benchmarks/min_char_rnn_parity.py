"""Learning per step at min-char-rnn's recipe: rnn.Trainer against min-char-rnn's own loop.

H=100, T=25, batch 1, Adagrad lr 0.1, element-wise clipping at 5, weights drawn with std 0.01,
from the same initial weights on the same windows. For each corpus and seed: the mean training
loss (nats per character) over the last 100 of N steps, for

* ``min-char-rnn``: its loop as written (``time_to_loss.MinCharRNN``, float64); and the same
  from every weight moved by one unit in the last place (``1 ulp``): how far rounding alone
  moves the result;
* ``project``: ``rnn.Trainer`` in float64 and float32;
* ``before``: the Trainer as it was before the fix, following the gradient of the *mean* loss
  per token (``grad_scale=1``); and that with one of the two ways it differed from min-char-rnn
  put right: Adagrad's eps divided by T^2 (``before, eps/T^2``) or the clipping bound by T
  (``before, clip/T``). Both put right together is the same arithmetic as the project's.

After the first ten or so steps the curves part by float rounding, which the early Adagrad steps
amplify, so single runs differ by several percent either way; the table gives the mean over the
seeds, the one-ulp control and the spread between seeds of min-char-rnn's own loop as yardsticks.

    python benchmarks/min_char_rnn_parity.py                 # about 12 minutes
    python benchmarks/min_char_rnn_parity.py --quick         # about 1 minute
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from time_to_loss import MIN_CHAR_RNN, MinCharRNN, load_text, rnn, split  # noqa: E402

H, T, LR, CLIP = 100, 25, 0.1, 5.0


def project(data, seed: int, dtype: str, before: str | None = None, steps: int = 1000):
    """The Trainer's per-step losses; ``before`` emulates the code before the fix."""
    cfg = rnn.TrainConfig(hidden_size=H, seq_len=T, batch_size=1, optimizer="adagrad", lr=LR,
                          clip=CLIP / T if before == "clip/T" else CLIP, seed=seed, dtype=dtype,
                          val_fraction=0.0, eval_every=10**9)
    model = rnn.RNN.create(data.vocab.size, H, seed=seed, init_std=0.01)
    tr = rnn.Trainer(data.train_text, cfg, model=model, vocab=data.vocab)
    if before is not None:
        inner = tr.model.loss_and_grads
        tr.model.loss_and_grads = lambda x, y, h, grad_scale: inner(x, y, h, grad_scale=1.0)
        if before == "eps/T^2":
            tr.optimizer.eps = 1e-8 / T**2
    tr.train(steps)
    return tr.history.loss


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--corpora", nargs="*",
                    default=["english", "brackets", "counting", "period", "hello", "python",
                             "docs"])
    args = ap.parse_args()
    steps, seeds = (600, [0, 1]) if args.quick else (2000, [0, 1, 2, 3, 4])
    started = time.time()
    print(f"min-char-rnn's recipe, {steps} steps, seeds {seeds}: mean training loss over the "
          "last 100 steps (nats per character), mean over the seeds; the ratio to min-char-rnn's "
          f"loop in brackets. {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}.")
    runs = {
        "min-char-rnn": None, "min-char-rnn, 1 ulp": "ulp",
        "project float64": ("float64", None), "project float32": ("float32", None),
        "before float64": ("float64", "mean"), "before, eps/T^2": ("float64", "eps/T^2"),
        "before, clip/T": ("float64", "clip/T"),
    }
    print(f"  {'corpus':<10} {'chars':>9} {'V':>4}" + "".join(f"{k:>24}" for k in runs)
          + f"{'min-char-rnn seeds':>22}")
    for name in args.corpora:
        text = load_text(name, 605_000)
        data = split(text)
        means = {}
        spread = ""
        for k, how in runs.items():
            per_seed = []
            for seed in seeds:
                if how is None or how == "ulp":
                    ref = MinCharRNN(data, MIN_CHAR_RNN, seed)
                    if how == "ulp":  # every weight one unit in the last place up
                        for p in ref.params():
                            p[...] = np.nextafter(p, np.inf)
                    for _ in range(steps):
                        ref.step()
                    losses = ref.losses
                else:
                    losses = project(data, seed, how[0], how[1], steps)
                per_seed.append(float(np.mean(losses[-100:])))
            means[k] = float(np.mean(per_seed))
            if how is None:
                spread = f"{min(per_seed):.3f}-{max(per_seed):.3f}"
        ref = means["min-char-rnn"]
        cells = "".join(f"{v:>15.3f} ({v / ref:5.3f})" for v in means.values())
        print(f"  {name:<10} {len(text):>9,} {data.vocab.size:>4}{cells}{spread:>22}", flush=True)
    print(f"Total time {time.time() - started:.0f} s.")


if __name__ == "__main__":
    sys.exit(main())
