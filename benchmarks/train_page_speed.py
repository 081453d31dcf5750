"""Training speed of the Train live page against the command line, side by side.

    python benchmarks/train_page_speed.py [--seconds 3] [--repeats 5] [--cli]

For each setting, repeated with fresh runs, the three loops below take turns in slices of
0.75 s until each has trained for ``--seconds`` (so load from elsewhere hits all alike):

* cli:   the loop of ``python -m rnn train`` (``trainer.run`` in chunks of 100 steps),
* chunk: the page's own training function ``session.training.run_chunk`` in 0.25 s chunks,
         with its samples, snapshots and validation losses,
* page:  what the page does while playing: the same chunks with the numbers after each,
         and every ``session.train_view.chart_every`` seconds (1 s, more when drawing is slow) the
         three figures (loss, gradient norm, W_h with its spectral radius) built and
         serialised as st.plotly_chart does. This is the page's wall-clock speed, short of
         Streamlit's messaging (which runs on the server's event loop, not in the script).

Prints the median chars/s of each and the ratios to the command line (the page must reach
at least 0.8). ``--cli`` also runs the real ``python -m rnn train CORPUS --json`` once per
setting and prints the chars_per_s it reports.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import plotly  # noqa: E402
import plotly.io  # noqa: E402
import plotly.tools  # noqa: E402

from figures.train import grad_norm_figure, loss_figure  # noqa: E402
from figures.weights import weight_figure  # noqa: E402
from rnn import TrainConfig, Trainer, load_corpus  # noqa: E402
from session import train_view, training  # noqa: E402

SETTINGS = {  # name -> (corpus, config)
    "page defaults (H=100, T=25, B=16, adagrad)": ("english", TrainConfig(batch_size=16)),
    "min-char-rnn (H=100, T=25, B=1, adagrad)": ("english", TrainConfig()),
    "large (H=256, T=50, B=16, adam)": ("english", TrainConfig(
        hidden_size=256, seq_len=50, batch_size=16, optimizer="adam", lr=0.003)),
}


class CliLoop:
    """The command line's loop: ``trainer.run`` in chunks of 100 steps."""

    def __init__(self, text: str, config: TrainConfig) -> None:
        self.trainer = Trainer(text, TrainConfig(**config.__dict__))

    def slice(self, seconds: float) -> None:
        t0 = time.perf_counter()
        while (left := seconds - (time.perf_counter() - t0)) > 0:
            self.trainer.train(100, seconds=left)  # bounded, so that big steps share turns too


class PageLoop:
    """The page while playing: chunks (``live_training``), and with ``draw`` the charts
    (``live_charts``) every ``chart_every`` seconds, built and serialised as Streamlit does."""

    def __init__(self, text: str, config: TrainConfig, draw: bool) -> None:
        self.run = training.new_run(text, TrainConfig(**config.__dict__), "bench")
        self.run.playing = draw  # as on the page while it trains
        self.trainer = self.run.trainer
        self.draw = draw
        self.draws: list[float] = []  # seconds spent drawing the charts, each time
        self.own = 0.0  # this loop's own running time: the other loops' turns do not count
        self.last_draw = 0.0  # own time of the last drawing

    def slice(self, seconds: float) -> None:
        t0 = time.perf_counter()
        run, tr = self.run, self.trainer
        while time.perf_counter() - t0 < seconds:
            training.run_chunk(run, training.CHUNK_SECONDS)
            if not self.draw:
                continue
            train_view.progress(run)
            now = time.perf_counter()
            if self.own + (now - t0) - self.last_draw < train_view.chart_every(run):
                continue
            self.last_draw = self.own + (now - t0)
            h = tr.history
            for fig in (loss_figure(h.step, h.loss, h.val_step, h.val_loss),
                        grad_norm_figure(h.step, h.grad_norm),
                        weight_figure("W_h", tr.model.W_h.astype("float32"), [], height=420,
                                      title=f"W_h at step {tr.steps}: spectral radius ρ = "
                                            f"{train_view.spectral_radius(run)[0]:.3f}")):
                st_spec(fig)
            run.draw_seconds = time.perf_counter() - now
            self.draws.append(run.draw_seconds)
        self.own += time.perf_counter() - t0


def st_spec(fig) -> str:
    """What st.plotly_chart does with a figure before sending it."""
    fig = plotly.tools.return_figure_from_figure_or_data(fig, validate_figure=True)
    return plotly.io.to_json(fig, validate=False)


def measure(loops: dict, seconds: float, slice_s: float = 0.75) -> dict[str, float]:
    """chars/s of each loop, run in alternating slices so that all see the same load."""
    spent = dict.fromkeys(loops, 0.0)
    chars0 = {k: lp.trainer.steps * lp.trainer.tokens_per_step for k, lp in loops.items()}
    while min(spent.values()) < seconds:
        for k, lp in loops.items():
            t0 = time.perf_counter()
            lp.slice(slice_s)
            spent[k] += time.perf_counter() - t0
    return {k: (lp.trainer.steps * lp.trainer.tokens_per_step - chars0[k]) / spent[k]
            for k, lp in loops.items()}


def real_cli(corpus: str, config: TrainConfig, steps: int) -> float:
    """chars_per_s printed by ``python -m rnn train CORPUS --json``."""
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "corpus.txt"
        path.write_text(load_corpus(corpus), encoding="utf-8")
        cmd = [sys.executable, "-m", "rnn", "train", str(path), "--json", "--steps", str(steps),
               "--hidden", str(config.hidden_size), "--seq-len", str(config.seq_len),
               "--batch-size", str(config.batch_size), "--optimizer", config.optimizer,
               "--lr", str(config.lr), "--out", str(Path(d) / "m.npz")]
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return float(json.loads(out.strip().splitlines()[-1])["chars_per_s"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=3.0, help="training time per measurement")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--cli", action="store_true", help="also run the real command line once")
    args = ap.parse_args()
    for name, (corpus, config) in SETTINGS.items():
        text = load_corpus(corpus)
        got = {"cli": [], "chunk": [], "page": []}
        draws = []
        for _ in range(args.repeats):
            loops = {"cli": CliLoop(text, config), "chunk": PageLoop(text, config, False),
                     "page": PageLoop(text, config, True)}
            for k, v in measure(loops, args.seconds).items():
                got[k].append(v)
            draws += loops["page"].draws
        med = {k: statistics.median(v) for k, v in got.items()}
        print(f"\n{name}, corpus {corpus}, {args.repeats} x {args.seconds:g} s each")
        for k, v in got.items():
            print(f"  {k:6s} median {med[k]:9.0f} chars/s   runs: "
                  + " ".join(f"{x:.0f}" for x in v))
        print(f"  page: charts drawn {len(draws)} times, median {statistics.median(draws):.3f} s")
        ratios = {k: [a / b for a, b in zip(got[k], got["cli"], strict=True)]
                  for k in ("chunk", "page")}
        for k, r in ratios.items():
            print(f"  ratio {k:5s} / cli: median {statistics.median(r):.3f}  "
                  f"(per repeat {' '.join(f'{x:.2f}' for x in r)})"
                  + ("   target >= 0.8" if k == "page" else ""))
        if args.cli:
            steps = int(med["cli"] * args.seconds / (config.seq_len * config.batch_size))
            print(f"  real CLI --json ({steps} steps): {real_cli(corpus, config, steps):.0f} "
                  "chars/s")


if __name__ == "__main__":
    main()
