"""Time to a validation loss: this project, min-char-rnn's per-step loop and PyTorch's nn.RNN.

All train a char-level Elman RNN (H=100 unless swept, tanh, one-hot inputs, weights drawn with
std 0.01, biases zero, truncated BPTT with the state carried across windows, element-wise
gradient clipping at 5, the loss summed over each window and averaged over the B streams) on the
same corpus and split, from the same initial weights:

* ``project``: ``rnn.Trainer`` (numpy's BLAS on one thread, as the app and the CLI run it);
* ``min-char-rnn``: min-char-rnn's training loop as written (column vectors, ``np.dot`` per
  step, Adagrad), float64, batch 1 by construction;
* ``torch``: ``nn.RNN`` + ``nn.Linear`` on the CPU with ``torch.optim`` (1 thread; the best
  recipe also with 2), one-hot inputs, ``bias_hh`` held at zero so b_h is one parameter.

Each runs at min-char-rnn's recipe (batch 1, T=25, Adagrad lr 0.1) and at its best recipe from
a small sweep (batch size, optimizer, learning rate, T, dtype; the sweep ranks by the training
time to the first target, then by the loss at the end of its budget). The runs share the
machine side by side: every run trains in slices of 0.25 s in a rotating order, so the load of
the machine hits them alike. Two clocks count training only, wall seconds and the CPU seconds of
the process (all its threads; less disturbed by other work on a shared machine), which set the
budgets and the schedule: every 15% of a run's training time it stops, and its weights are scored
on the first 20,000 held-out characters read as one stream, from float64 copies by
``rnn.RNN.loss`` (the same function for everyone), off the clocks.

    python benchmarks/time_to_loss.py             # the sweep, the race, the scaling: tens of
                                                  # minutes, an hour or more on a loaded machine
    python benchmarks/time_to_loss.py --quick     # several minutes
    python benchmarks/time_to_loss.py --no-sweep --budget 30    # the race of the best recipes only
    python benchmarks/time_to_loss.py --corpus english --targets 2.2 2.0 --png out.png

The default corpus (``python``, 1M characters, about 100 symbols) is Python source gathered at
run time from the installed packages (sorted paths, ASCII files only; nothing is written to the
repository); ``docs`` takes the packages' metadata texts (their READMEs) instead.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

for _k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_k, "1")  # numpy's BLAS on one thread, as the app and the CLI run it

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import rnn  # noqa: E402

OUT = ROOT / "benchmarks" / "out"  # gitignored
SLICE_S = 0.25  # training time per turn in the rotation
EVAL_TOKENS = 20_000
EVAL_GROWTH = 1.15  # evaluate when the training time has grown by 15% (at least 0.25 s)
CLIP = 5.0


# -- the corpus --------------------------------------------------------------------------------


def package_text(kind: str, n_chars: int) -> str:
    """Python source (``kind='python'``) or metadata texts (``'docs'``) of the installed
    packages, in sorted path order, ASCII files only, cut to ``n_chars``."""
    import site
    import sysconfig

    roots = [Path(p) for p in site.getsitepackages() or [sysconfig.get_paths()["purelib"]]]
    pattern = "**/*.py" if kind == "python" else "*.dist-info/METADATA"
    parts, n = [], 0
    for path in sorted(p for r in roots for p in r.glob(pattern)):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if text.isascii() and text.strip():
            parts.append(text)
            n += len(text)
            if n >= n_chars:
                break
    return "".join(parts)[:n_chars]


def load_text(name: str, n_chars: int = 1_000_000) -> str:
    if name in ("python", "docs"):
        return package_text(name, n_chars)
    return rnn.load_corpus(name)


@dataclass(frozen=True)
class Recipe:
    """One way to train: the hyperparameters a sweep may change."""

    batch: int = 1
    seq_len: int = 25
    optimizer: str = "adagrad"
    lr: float = 0.1
    dtype: str = "float32"
    hidden: int = 100

    def __str__(self) -> str:
        return (f"B={self.batch} T={self.seq_len} {self.optimizer} lr {self.lr:g} {self.dtype}"
                + (f" H={self.hidden}" if self.hidden != 100 else ""))


# H=100, T=25, batch 1, Adagrad lr 0.1 (and clip 5, init 0.01), in min-char-rnn's float64
MIN_CHAR_RNN = Recipe(dtype="float64")


@dataclass
class Data:
    vocab: rnn.Vocab
    train_ids: np.ndarray  # (N_train,)
    val_ids: np.ndarray  # (EVAL_TOKENS + 1,) the start of the held-out tail
    train_text: str


def split(text: str, val_fraction: float = 0.1) -> Data:
    """The Trainer's split: the last 10% held out; one vocabulary built from the whole text."""
    vocab = rnn.Vocab.build(text)
    n_val = int(len(text) * val_fraction)
    train_text = text[: len(text) - n_val]
    return Data(vocab, vocab.encode(train_text), vocab.encode(text[len(text) - n_val :])
                [: EVAL_TOKENS + 1], train_text)


def initial_model(V: int, r: Recipe, seed: int) -> rnn.RNN:
    return rnn.RNN.create(V, r.hidden, seed=seed, init_std=0.01, dtype=np.float64)


# -- the contenders: train(seconds) -> steps, weights() -> float64 rnn.RNN, losses ----------


class Project:
    family = "project"

    def __init__(self, data: Data, r: Recipe, seed: int, threads: int = 1) -> None:
        cfg = rnn.TrainConfig(hidden_size=r.hidden, seq_len=r.seq_len, batch_size=r.batch,
                              optimizer=r.optimizer, lr=r.lr, clip=CLIP, init_std=0.01, seed=seed,
                              val_fraction=0.0, eval_every=10**12, dtype=r.dtype)
        self.trainer = rnn.Trainer(data.train_text, cfg, vocab=data.vocab,
                                   model=initial_model(data.vocab.size, r, seed))
        self.losses = self.trainer.history.loss
        self.chars_per_step = r.batch * r.seq_len

    def train(self, seconds: float) -> int:
        return self.trainer.train(10**9, seconds=seconds)

    def weights(self) -> rnn.RNN:
        return self.trainer.model.copy(np.float64)


class Stepper:
    """A contender that trains by ``step()``: whole steps until ``seconds`` have passed."""

    def step(self) -> None:
        raise NotImplementedError

    def train(self, seconds: float) -> int:
        t0, n = time.perf_counter(), 0
        while n == 0 or time.perf_counter() - t0 < seconds:
            self.step()
            n += 1
        return n


class MinCharRNN(Stepper):
    """min-char-rnn's loop (Karpathy, 2015): per-step column vectors, Adagrad, batch 1."""

    family = "min-char-rnn"

    def __init__(self, data: Data, r: Recipe, seed: int, threads: int = 1) -> None:
        m = initial_model(data.vocab.size, r, seed)
        self.Wxh, self.Whh, self.Why = m.W_i.copy(), m.W_h.copy(), m.W_o.copy()
        self.bh, self.by = m.b_h[:, None].copy(), m.b_o[:, None].copy()  # (H, 1), (V, 1)
        self.mem = [np.zeros_like(p) for p in self.params()]
        self.ids, self.T, self.lr, self.V = data.train_ids, r.seq_len, r.lr, data.vocab.size
        self.p, self.hprev = 0, np.zeros((r.hidden, 1))
        self.losses: list[float] = []
        self.chars_per_step = r.seq_len

    def params(self):
        return [self.Wxh, self.Whh, self.Why, self.bh, self.by]

    def step(self) -> None:
        T, ids = self.T, self.ids
        if self.p + T + 1 > len(ids):
            self.p, self.hprev = 0, np.zeros_like(self.hprev)
        inputs, targets = ids[self.p : self.p + T], ids[self.p + 1 : self.p + T + 1]
        Wxh, Whh, Why, bh, by = self.params()
        xs, hs, ps = {}, {-1: self.hprev}, {}
        loss = 0.0
        for t in range(T):
            xs[t] = np.zeros((self.V, 1))
            xs[t][inputs[t]] = 1  # one-hot x_t
            hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)  # h_t
            y = np.dot(Why, hs[t]) + by  # y_t
            e = np.exp(y - np.max(y))
            ps[t] = e / np.sum(e)  # p_t
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
        dbh, dby, dhnext = np.zeros_like(bh), np.zeros_like(by), np.zeros_like(bh)
        for t in reversed(range(T)):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1  # of the loss summed over the window
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dh = np.dot(Why.T, dy) + dhnext
            dhraw = (1 - hs[t] * hs[t]) * dh
            dbh += dhraw
            dWxh += np.dot(dhraw, xs[t].T)
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(Whh.T, dhraw)
        for param, dparam, mem in zip(self.params(), [dWxh, dWhh, dWhy, dbh, dby], self.mem,
                                      strict=True):
            np.clip(dparam, -CLIP, CLIP, out=dparam)
            mem += dparam * dparam
            param += -self.lr * dparam / np.sqrt(mem + 1e-8)  # Adagrad
        self.hprev = hs[T - 1]
        self.p += T
        self.losses.append(loss / T)

    def weights(self) -> rnn.RNN:
        return rnn.RNN(self.Wxh.copy(), self.Whh.copy(), self.bh[:, 0].copy(), self.Why.copy(),
                       self.by[:, 0].copy())


class Torch(Stepper):
    """nn.RNN(tanh) over one-hot inputs + nn.Linear, torch.optim, on the CPU."""

    family = "torch"

    def __init__(self, data: Data, r: Recipe, seed: int, threads: int = 1) -> None:
        import torch

        self.torch, self.threads = torch, threads
        torch.set_num_threads(threads)
        dt = {"float32": torch.float32, "float64": torch.float64}[r.dtype]
        V, H, B, T = data.vocab.size, r.hidden, r.batch, r.seq_len
        m = initial_model(V, r, seed)
        self.rnn = torch.nn.RNN(V, H, nonlinearity="tanh").to(dt)  # time-major (T, B, .)
        self.out = torch.nn.Linear(H, V).to(dt)
        with torch.no_grad():
            for p, w in ((self.rnn.weight_ih_l0, m.W_i), (self.rnn.weight_hh_l0, m.W_h),
                         (self.rnn.bias_ih_l0, m.b_h), (self.out.weight, m.W_o),
                         (self.out.bias, m.b_o)):
                p.copy_(torch.from_numpy(w))
            self.rnn.bias_hh_l0.zero_()
        self.rnn.bias_hh_l0.requires_grad_(False)
        self.params = [p for p in [*self.rnn.parameters(), *self.out.parameters()]
                       if p.requires_grad]
        if r.optimizer == "adagrad":  # min-char-rnn's eps, there under the root, here outside
            self.opt = torch.optim.Adagrad(self.params, lr=r.lr, eps=1e-8)
        else:
            self.opt = torch.optim.Adam(self.params, lr=r.lr)
        self.eye = torch.eye(V, dtype=dt)  # rows are one-hot x_t
        n = len(data.train_ids) // B
        self.streams = torch.from_numpy(data.train_ids[: n * B].reshape(B, n).T.copy())  # (n, B)
        self.n, self.T, self.p, self.V = n, T, 0, V
        self.h = torch.zeros(1, B, H, dtype=dt)
        self.losses: list[float] = []
        self.chars_per_step = B * T

    def step(self) -> None:
        torch, T = self.torch, self.T
        if self.p + T + 1 > self.n:
            self.p, self.h = 0, torch.zeros_like(self.h)
        chunk = self.streams[self.p : self.p + T + 1]  # (T+1, B)
        hs, h_last = self.rnn(self.eye[chunk[:-1]], self.h)  # (T, B, H)
        logits = self.out(hs)  # (T, B, V)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, self.V), chunk[1:].reshape(-1))
        self.opt.zero_grad(set_to_none=True)
        (loss * T).backward()  # the loss summed over the window, averaged over the streams
        for p in self.params:
            p.grad.clamp_(-CLIP, CLIP)
        self.opt.step()
        self.h = h_last.detach()
        self.p += T
        self.losses.append(loss.item())

    def train(self, seconds: float) -> int:
        self.torch.set_num_threads(self.threads)
        return super().train(seconds)

    def weights(self) -> rnn.RNN:
        def a(t):
            return t.detach().to(self.torch.float64).numpy().copy()

        return rnn.RNN(a(self.rnn.weight_ih_l0), a(self.rnn.weight_hh_l0),
                       a(self.rnn.bias_ih_l0) + a(self.rnn.bias_hh_l0), a(self.out.weight),
                       a(self.out.bias))


FAMILIES = {"project": Project, "min-char-rnn": MinCharRNN, "torch": Torch}


# -- the race ----------------------------------------------------------------------------------


@dataclass
class Run:
    """One contender's run: its training clock and the validation losses along it."""

    label: str
    recipe: Recipe
    contender: object
    threads: int = 1
    clock: float = 0.0  # CPU seconds of training so far (evaluation excluded)
    wall: float = 0.0  # wall seconds of training so far (evaluation excluded)
    next_eval: float = 0.0
    steps: int = 0
    done: bool = False

    def __post_init__(self) -> None:
        self.t: list[float] = []  # CPU seconds at each evaluation
        self.t_wall: list[float] = []  # wall seconds at each evaluation
        self.val: list[float] = []

    def time_to(self, target: float, wall: bool = True) -> float | None:
        """Training seconds (wall or CPU) at the first evaluation at or below ``target``."""
        ts = self.t_wall if wall else self.t
        return next((t for t, v in zip(ts, self.val, strict=True) if v <= target), None)

    def spike(self) -> float:
        """How far the training loss rose above its start in the first 50 steps (nats)."""
        losses = self.contender.losses[:50]
        return max(losses) - losses[0] if losses else float("nan")


def evaluate(run: Run, data: Data) -> None:
    v = data.val_ids
    with np.errstate(all="ignore"):
        loss = run.contender.weights().loss(v[:-1], v[1:])
    run.t.append(run.clock)
    run.t_wall.append(run.wall)
    run.val.append(loss if np.isfinite(loss) else float("inf"))
    run.next_eval = max(run.clock * EVAL_GROWTH, run.clock + SLICE_S)


def race(runs: list[Run], data: Data, budget: float, stop_at: float) -> None:
    """Train all runs in rotating slices until each reaches ``stop_at`` or its budget.

    Budgets and the evaluation schedule count CPU seconds, so that every run gets the same
    work done however loaded the shared machine is; the wall seconds are recorded beside them.
    """
    for run in runs:
        evaluate(run, data)
    turn = 0
    while not all(r.done for r in runs):
        k = turn % len(runs)
        for run in runs[k:] + runs[:k]:
            if run.done:
                continue
            t0, c0 = time.perf_counter(), time.process_time()
            run.steps += run.contender.train(min(SLICE_S, max(run.next_eval - run.clock, 1e-3)))
            run.wall += time.perf_counter() - t0
            run.clock += time.process_time() - c0  # all the process's threads (torch: 1 or 2)
            if run.clock >= run.next_eval or run.clock >= budget:
                evaluate(run, data)
                run.done = run.val[-1] <= stop_at or run.clock >= budget or not np.isfinite(
                    run.val[-1])
        turn += 1


def sweep(family: str, recipes: list[Recipe], data: Data, budget: float, target: float,
          seed: int) -> list[tuple[Recipe, Run]]:
    """Every recipe for ``budget`` training seconds, side by side; best first."""
    runs = [Run(str(r), r, FAMILIES[family](data, r, seed)) for r in recipes]
    race(runs, data, budget, stop_at=target)

    def rank(run: Run):
        t = run.time_to(target, wall=False)
        return (t if t is not None else float("inf"), run.val[-1])

    return sorted(((run.recipe, run) for run in runs), key=lambda rr: rank(rr[1]))


SWEEPS = {  # the first of each is min-char-rnn's recipe
    "project": [MIN_CHAR_RNN, Recipe(16, 25, "adagrad", 0.1), Recipe(8, 25, "adam", 3e-3),
                Recipe(16, 25, "adam", 3e-3), Recipe(32, 25, "adam", 3e-3),
                Recipe(32, 50, "adam", 3e-3), Recipe(32, 25, "adam", 1e-2),
                Recipe(64, 25, "adam", 1e-2), Recipe(32, 25, "adam", 3e-3, "float64")],
    "min-char-rnn": [MIN_CHAR_RNN, replace(MIN_CHAR_RNN, lr=0.05), replace(MIN_CHAR_RNN, lr=0.2),
                     replace(MIN_CHAR_RNN, seq_len=50)],  # batch 1 and float64 by construction
}
SWEEPS["torch"] = SWEEPS["project"]
# what the full sweep found best on the default corpus (benchmarks/README.md), for --no-sweep
BEST = {"project": Recipe(32, 25, "adam", 3e-3), "min-char-rnn": MIN_CHAR_RNN,
        "torch": Recipe(32, 25, "adam", 3e-3)}


def fmt_s(t: float | None) -> str:
    return f"{t:8.1f}" if t is not None else "       -"


def plot(runs: list[Run], targets: list[float], title: str, png: Path) -> None:
    """Validation loss against training seconds, one line per run, as a PNG drawn by Chromium."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for r in runs:
        fig.add_trace(go.Scatter(x=[max(t, 1e-2) for t in r.t_wall], y=r.val, mode="lines+markers",
                                 name=r.label, marker=dict(size=4)))
    for y in targets:
        fig.add_hline(y=y, line=dict(color="grey", dash="dot"), annotation_text=f"{y:g}")
    finite = [v for r in runs for v in r.val if np.isfinite(v)]
    fig.update_layout(title=title, width=1100, height=620, template="plotly_white",
                      xaxis=dict(title="wall seconds of training (evaluation excluded)",
                                 type="log"),
                      yaxis=dict(title="validation loss (nats per character)",
                                 range=[min(targets + finite) - 0.1, max(finite) + 0.1]),
                      legend=dict(font=dict(size=11)))
    from playwright.sync_api import sync_playwright

    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        html = Path(tmp) / "fig.html"
        fig.write_html(html, include_plotlyjs=True, full_html=True)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=os.environ.get(
                "CHROMIUM_PATH", "/usr/bin/chromium"), args=["--no-sandbox", "--disable-gpu"])
            page = browser.new_page(viewport={"width": 1120, "height": 640})
            page.goto(html.as_uri())
            page.wait_for_selector(".main-svg")
            page.screenshot(path=str(png))
            browser.close()


# -- cost per character as H and B grow --------------------------------------------------------


def scaling(data: Data, reps: int, seconds: float, has_torch: bool) -> None:
    """Microseconds per character for one training step, as H and B grow, side by side."""
    print("\nCost per character (us per training character; float32, Adam, T=25; median of "
          f"{reps} interleaved turns of ~{seconds:g} s)")
    configs = [(H, 32) for H in (64, 128, 256, 512)] + [(128, B) for B in (1, 8, 128)]
    kinds = [("project", 1)] + ([("torch", 1), ("torch", 2)] if has_torch else [])
    head = "".join(f"{f'{k} {n}t':>14}" for k, n in kinds)
    print(f"  {'H':>4} {'B':>4}{head}" + ("   torch 1t / project" if has_torch else ""))
    for H, B in sorted(configs, key=lambda c: (c[1] != 32, c[0], c[1])):
        r = Recipe(B, 25, "adam", 1e-3, "float32", H)
        cs = {(k, n): FAMILIES[k](data, r, 0, n) for k, n in kinds}
        us = {key: [] for key in cs}
        for c in cs.values():
            c.train(0.05)  # warm up
        for i in range(reps):
            for key in kinds[i % len(kinds):] + kinds[: i % len(kinds)]:
                t0 = time.perf_counter()
                steps = cs[key].train(seconds)
                us[key].append((time.perf_counter() - t0) / (steps * B * 25) * 1e6)
        med = {key: float(np.median(v)) for key, v in us.items()}
        row = "".join(f"{med[key]:14.2f}" for key in kinds)
        ratio = f"{med[('torch', 1)] / med[('project', 1)]:20.2f}x" if has_torch else ""
        print(f"  {H:>4} {B:>4}{row}{ratio}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="short sweep and race (a few minutes)")
    ap.add_argument("--corpus", default="python",
                    help="python | docs (gathered from installed packages) | a built-in corpus")
    ap.add_argument("--chars", type=int, default=1_000_000, help="size of a gathered corpus")
    ap.add_argument("--targets", type=float, nargs=2, default=[2.0, 1.8],
                    help="validation losses to reach, nats per character")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--png", type=Path, default=OUT / "time_to_loss.png")
    ap.add_argument("--no-scaling", action="store_true")
    ap.add_argument("--scaling-only", action="store_true", help="only the cost per character")
    ap.add_argument("--no-sweep", action="store_true",
                    help="race the recipes the full sweep found best (BEST) without sweeping")
    ap.add_argument("--budget", type=float, default=None,
                    help="CPU seconds of training per run in the race")
    args = ap.parse_args()
    try:
        import torch  # noqa: F401

        has_torch = True
    except ImportError:
        has_torch = False
        print("PyTorch is not installed: its runs are skipped (pip install torch==2.13.0).")
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, "blas")
    sweep_s, race_s = (2.5, 12.0) if args.quick else (8.0, 45.0)
    race_s = args.budget or race_s
    started = time.time()
    text = load_text(args.corpus, args.chars)
    data = split(text)
    hi, lo = sorted(args.targets, reverse=True)
    print(f"Corpus '{args.corpus}': {len(text):,} characters, {data.vocab.size} symbols; "
          f"{len(data.train_ids):,} train, validation on the first {len(data.val_ids) - 1:,} "
          f"held-out characters. H=100, clip 5, init 0.01. {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.1f} at the start.")

    if args.scaling_only:
        scaling(data, 3 if args.quick else 5, 0.15 if args.quick else 0.3, has_torch)
        return
    families = ["project", "min-char-rnn"] + (["torch"] if has_torch else [])
    best = dict(BEST) if args.no_sweep else {}
    for fam in families if not args.no_sweep else []:
        print(f"\nSweep, {fam} ({sweep_s:g} CPU seconds of training each, side by side; ranked "
              f"by CPU time to {hi:g}, then by the loss at the end)")
        print(f"  {'recipe':<40} {'to ' + str(hi):>8} {'val at end':>10} {'chars/CPU-s':>12}"
              f" {'rise, first 50 steps':>21}")
        ranked = sweep(fam, SWEEPS[fam], data, sweep_s, hi, args.seed)
        for recipe, run in ranked:
            cps = run.steps * run.contender.chars_per_step / max(run.clock, 1e-9)
            print(f"  {str(recipe):<40} {fmt_s(run.time_to(hi, wall=False))} {run.val[-1]:10.3f} "
                  f"{cps:12,.0f} {run.spike():+20.2f}", flush=True)
        best[fam] = ranked[0][0]

    runs = []
    for fam in families:
        recipe0 = SWEEPS[fam][0]
        for name, recipe in (("min-char-rnn's recipe", recipe0), ("best recipe", best[fam])):
            if name == "best recipe" and recipe == recipe0:
                continue
            for threads in ((1, 2) if fam == "torch" and name == "best recipe" else (1,)):
                label = fam if fam != "torch" else f"torch {threads} thread{'s' * (threads > 1)}"
                runs.append(Run(f"{label}, {name} ({recipe})", recipe,
                                FAMILIES[fam](data, recipe, args.seed, threads), threads))
    print(f"\nRace: up to {race_s:g} CPU seconds of training each, side by side, until {lo:g}")
    race(runs, data, race_s, stop_at=lo)
    print(f"  {'run':<86} {'wall s to ' + str(hi):>11} {'to ' + str(lo):>7} "
          f"{'CPU s to ' + str(hi):>11} {'to ' + str(lo):>7} {'best val':>8} {'chars/s':>9}")
    for r in sorted(runs, key=lambda r: (r.time_to(lo) or 1e9, r.time_to(hi) or 1e9)):
        cps = r.steps * r.contender.chars_per_step / max(r.wall, 1e-9)
        print(f"  {r.label:<86} {fmt_s(r.time_to(hi)):>11} {fmt_s(r.time_to(lo)):>7} "
              f"{fmt_s(r.time_to(hi, False)):>11} {fmt_s(r.time_to(lo, False)):>7} "
              f"{min(r.val):8.3f} {cps:9,.0f}")
    for target in (hi, lo):
        for wall in (True, False):
            times = sorted((r.time_to(target, wall), r.label) for r in runs
                           if r.time_to(target, wall) is not None)
            if len(times) >= 2:
                (t1, l1), (t2, l2) = times[0], times[1]
                print(f"  to {target:g} ({'wall' if wall else 'CPU'}): first {l1} in {t1:.1f} s;"
                      f" next {l2} in {t2:.1f} s ({t2 / t1:.2f}x as long)")
    print("  Seconds of training only (evaluation excluded), at the first evaluation at or below "
          "the target (evaluations every 15% of a run's CPU time); '-': not within the budget.")
    plot(runs, [hi, lo], f"Validation loss against training time, corpus '{args.corpus}'",
         args.png)
    print(f"  plot: {args.png.relative_to(ROOT) if args.png.is_relative_to(ROOT) else args.png}")
    if not args.no_scaling:
        scaling(data, 3 if args.quick else 5, 0.15 if args.quick else 0.3, has_torch)
    print(f"\nTotal time {time.time() - started:.0f} s (load average {os.getloadavg()[0]:.1f} "
          "at the end).")


if __name__ == "__main__":
    main()
