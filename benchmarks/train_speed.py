"""Training speed: rnn.Trainer against a textbook per-step loop and against PyTorch's nn.RNN.

Two jobs on the built-in English corpus, H=100, windows of T=25, Adagrad lr 0.1, element-wise
gradient clipping at 5, truncated BPTT with the hidden state carried across windows:

1. batch 1: the package's Trainer against min-char-rnn's way of doing it, written out below
   (one-hot column vectors, np.dot per step, forward and backward per step);
2. batch 32: the package's Trainer against PyTorch's nn.RNN + nn.Linear on one CPU thread
   (skipped with a note when torch is not importable; it is not a dependency of the project).

Speed: the package runs with numpy's BLAS limited to one thread and with the default thread
count; each setting is a worker process (the variables must be set before numpy is imported).
In each repetition every contender trains for about the same time, in rotating order, so machine
noise hits them alike; the tables show median chars/s (wall clock) and chars per CPU-second.

Loss: untimed runs from the same initial weights (the ones the Trainer starts with) on the same
windows of the corpus. The curves agree to float rounding for the first steps; after that the
chaotic early Adagrad steps amplify rounding, so two control runs with every weight moved by one
unit in the last place show how far rounding alone takes a curve.

    python benchmarks/train_speed.py            # about 1.5 minutes on an idle machine
    python benchmarks/train_speed.py --quick    # about 20 seconds

Two more tables on request, each timed interleaved in one run like the others (one BLAS thread):

    python benchmarks/train_speed.py --activations       # the Trainer with each activation g
    python benchmarks/train_speed.py --baseline ../base  # this checkout's Trainer against the one
        # in another checkout of the repository (e.g. `git worktree add ../base main`): before/after
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
H, T, LR, CLIP, EPS = 100, 25, 0.1, 5.0, 1e-8
ONE_THREAD = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


# -- the contenders (run inside a worker process) ------------------------------------------------


def _trainer(B: int, dtype: str, g: str = "tanh", lr: float = LR):
    """The package's Trainer for the job; validation off, as the other contenders have none."""
    import rnn

    kw = {} if g == "tanh" else {"activation": g}  # (a baseline checkout may predate the choice)
    cfg = rnn.TrainConfig(hidden_size=H, seq_len=T, batch_size=B, optimizer="adagrad", lr=lr,
                          clip=CLIP, dtype=dtype, eval_every=10**9, seed=0, **kw)
    return rnn.Trainer(rnn.load_corpus("english"), cfg)


class Windows:
    """The Trainer's windows: B contiguous streams, wrapping (and resetting h) at their end."""

    def __init__(self, train_ids, B: int) -> None:
        import numpy as np

        self.ids, self.B = train_ids, B
        self.stream_len = len(train_ids) // B
        self.starts = np.arange(B) * self.stream_len
        self.offsets = np.arange(T + 1)
        self.pos = 0

    def next(self):
        """(inputs, targets, reset): two (B, T) arrays and whether the carried state restarts."""
        reset = self.pos + T + 1 > self.stream_len
        if reset:
            self.pos = 0
        chunk = self.ids[self.starts[:, None] + self.pos + self.offsets]  # (B, T+1)
        self.pos += T
        return chunk[:, :-1], chunk[:, 1:], reset


def _nudge(arrays, direction: int) -> None:
    """Move every weight by one unit in the last place, up or down (for the control runs)."""
    import numpy as np

    for v in arrays:
        v[...] = np.nextafter(v, np.inf if direction > 0 else -np.inf)


class PackageRun:
    """rnn.Trainer.run: the package's own training loop."""

    def __init__(self, B: int, dtype: str, nudge: int = 0, g: str = "tanh", lr: float = LR):
        self.trainer = _trainer(B, dtype, g, lr)
        self.job = (B, dtype, g, lr)
        self.restarts = 0  # times training diverged and started again (timing only)
        if nudge:
            _nudge(self.trainer.params.values(), nudge)
        self.chars_per_step = B * T

    def run(self, steps: int) -> list[float]:
        done = len(self.trainer.history.loss)
        train = getattr(self.trainer, "train", None) or self.trainer.run  # (run: older checkouts)
        train(steps)
        losses = self.trainer.history.loss[done:]
        if self.trainer.diverged:  # (e.g. the identity g at lr 0.1) start again
            self.trainer = _trainer(*self.job)
            self.restarts += 1
        return losses


class ReferenceRun:
    """min-char-rnn's training loop (column vectors, per-step forward and backward, Adagrad).

    The gradient is of the loss summed over the window, as in min-char-rnn and the package; the
    loss reported is its mean per character, and the softmax subtracts the max; otherwise this is
    the textbook code.
    """

    def __init__(self, nudge: int = 0) -> None:
        import numpy as np

        tr = _trainer(1, "float64")
        init = tr.model.params()  # the weights the Trainer starts from
        self.Wxh = init["W_i"].copy()  # (H, V)
        self.Whh = init["W_h"].copy()  # (H, H)
        self.Why = init["W_o"].copy()  # (V, H)
        self.bh = init["b_h"].reshape(-1, 1).copy()  # (H, 1)
        self.by = init["b_o"].reshape(-1, 1).copy()  # (V, 1)
        if nudge:
            _nudge(self.params(), nudge)
        self.vocab_size = tr.vocab.size
        self.windows = Windows(tr.train_ids, 1)
        self.hprev = np.zeros((H, 1))
        self.mem = [np.zeros_like(p) for p in self.params()]
        self.chars_per_step = T

    def params(self):
        return [self.Wxh, self.Whh, self.Why, self.bh, self.by]

    def loss_fun(self, inputs, targets, hprev):
        import numpy as np

        Wxh, Whh, Why, bh, by = self.params()
        n = len(inputs)
        xs, hs, ps = {}, {}, {}
        hs[-1] = np.copy(hprev)
        loss = 0.0
        for t in range(n):
            xs[t] = np.zeros((self.vocab_size, 1))  # one-hot x_t
            xs[t][inputs[t]] = 1
            hs[t] = np.tanh(np.dot(Wxh, xs[t]) + np.dot(Whh, hs[t - 1]) + bh)  # h_t
            y = np.dot(Why, hs[t]) + by  # logits y_t
            e = np.exp(y - np.max(y))
            ps[t] = e / np.sum(e)  # p_t = softmax(y_t)
            loss += -np.log(ps[t][targets[t], 0])
        dWxh, dWhh, dWhy = np.zeros_like(Wxh), np.zeros_like(Whh), np.zeros_like(Why)
        dbh, dby = np.zeros_like(bh), np.zeros_like(by)
        dhnext = np.zeros_like(hs[0])
        for t in reversed(range(n)):
            dy = np.copy(ps[t])
            dy[targets[t]] -= 1  # dL/dy_t of -log p_t[target]
            dWhy += np.dot(dy, hs[t].T)
            dby += dy
            dh = np.dot(Why.T, dy) + dhnext  # through y_t and from h_{t+1}
            dhraw = (1 - hs[t] * hs[t]) * dh  # through tanh
            dbh += dhraw
            dWxh += np.dot(dhraw, xs[t].T)
            dWhh += np.dot(dhraw, hs[t - 1].T)
            dhnext = np.dot(Whh.T, dhraw)
        for dparam in [dWxh, dWhh, dWhy, dbh, dby]:
            np.clip(dparam, -CLIP, CLIP, out=dparam)  # mitigate exploding gradients
        return loss / n, dWxh, dWhh, dWhy, dbh, dby, hs[n - 1]

    def run(self, steps: int) -> list[float]:
        import numpy as np

        losses = []
        for _ in range(steps):
            x, y, reset = self.windows.next()
            if reset:
                self.hprev = np.zeros((H, 1))
            loss, dWxh, dWhh, dWhy, dbh, dby, self.hprev = self.loss_fun(x[0], y[0], self.hprev)
            for param, dparam, mem in zip(self.params(), [dWxh, dWhh, dWhy, dbh, dby], self.mem,
                                          strict=True):
                mem += dparam * dparam
                param += -LR * dparam / np.sqrt(mem + EPS)  # Adagrad update
            losses.append(float(loss))
        return losses


class TorchRun:
    """nn.RNN(tanh) over one-hot inputs + nn.Linear, cross-entropy, truncated BPTT, one thread.

    Initialised from the Trainer's initial weights; bias_hh is held at zero so that b_h is one
    parameter as in the package; Adagrad is written as ours (eps inside the square root).
    """

    def __init__(self, B: int, dtype: str, nudge: int = 0) -> None:
        import torch

        torch.set_num_threads(1)
        self.torch = torch
        tr = _trainer(B, dtype)
        self.dtype = {"float32": torch.float32, "float64": torch.float64}[dtype]
        V = tr.vocab.size
        init = {k: torch.from_numpy(v.copy()) for k, v in tr.model.params().items()}
        self.rnn = torch.nn.RNN(V, H, nonlinearity="tanh").to(self.dtype)  # time-major (T, B, .)
        self.out = torch.nn.Linear(H, V).to(self.dtype)
        with torch.no_grad():
            self.rnn.weight_ih_l0.copy_(init["W_i"])
            self.rnn.weight_hh_l0.copy_(init["W_h"])
            self.rnn.bias_ih_l0.copy_(init["b_h"])
            self.rnn.bias_hh_l0.zero_()
            self.out.weight.copy_(init["W_o"])
            self.out.bias.copy_(init["b_o"])
        self.rnn.bias_hh_l0.requires_grad_(False)
        self.params = [p for p in [*self.rnn.parameters(), *self.out.parameters()]
                       if p.requires_grad]
        if nudge:
            with torch.no_grad():
                _nudge([p.numpy() for p in self.params], nudge)  # shares memory with p
        self.mem = [torch.zeros_like(p) for p in self.params]
        self.eye = torch.eye(V, dtype=self.dtype)  # rows are one-hot x_t
        self.windows = Windows(tr.train_ids, B)
        self.h = torch.zeros(1, B, H, dtype=self.dtype)
        self.V = V
        self.chars_per_step = B * T

    def run(self, steps: int) -> list[float]:
        torch = self.torch
        F = torch.nn.functional
        losses = []
        for _ in range(steps):
            x, y, reset = self.windows.next()
            if reset:
                self.h = torch.zeros_like(self.h)
            x_tm = torch.from_numpy(x.T.copy())  # (T, B)
            y_tm = torch.from_numpy(y.T.copy())  # (T, B)
            hs, h_last = self.rnn(self.eye[x_tm], self.h)  # (T, B, H)
            logits = self.out(hs)  # (T, B, V)
            loss = F.cross_entropy(logits.reshape(-1, self.V), y_tm.reshape(-1))
            for p in self.params:
                p.grad = None
            (loss * T).backward()  # the loss summed over the window, averaged over streams
            with torch.no_grad():
                grads = [p.grad.clamp_(-CLIP, CLIP) for p in self.params]
                torch._foreach_addcmul_(self.mem, grads, grads)  # m += g^2
                denom = torch._foreach_sqrt(torch._foreach_add(self.mem, EPS))
                torch._foreach_addcdiv_(self.params, grads, denom, value=-LR)
            self.h = h_last.detach()  # carry the state, cut the gradient
            losses.append(loss.item())
        return losses


def make_contender(name: str):
    """Names are '<kind>-b<B>-<dtype>[-up|-down][@g/lr]', e.g. 'package-b32-float32' or
    'reference-b1-float64-up' (weights one ulp up: a control for how far rounding drifts), or
    'package-b1-float32@relu/0.01' (the Trainer with activation g and that learning rate)."""
    name, _, g_lr = name.partition("@")
    g, _, lr = g_lr.partition("/")
    kind, b, dtype, *nudge = name.split("-")
    B, direction = int(b[1:]), {"up": 1, "down": -1}[nudge[0]] if nudge else 0
    if kind == "package":
        return PackageRun(B, dtype, direction, g or "tanh", float(lr or LR))
    if kind == "reference":
        return ReferenceRun(direction)
    if kind == "torch":
        return TorchRun(B, dtype, direction)
    raise ValueError(name)


def worker() -> None:
    """Serve requests on stdin, one JSON line each, answering on stdout.

    {"name", "seconds"}: train that contender (kept from one request to the next) for about
    that long; answer {"chars_per_s", "chars_per_cpu_s"}. {"op": "losses", "name", "steps"}: a
    fresh contender's per-step losses, untimed. {"op": "has_torch"}: whether torch imports.
    """
    sys.path.insert(0, os.environ.get("TRAIN_SPEED_ROOT", str(ROOT)))
    contenders = {}
    for line in sys.stdin:
        req = json.loads(line)
        if req.get("op") == "has_torch":
            try:
                import torch  # noqa: F401

                reply = {"ok": True}
            except Exception as exc:  # any import failure means: skip the comparison
                reply = {"ok": False, "why": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)
            continue
        name = req["name"]
        if req.get("op") == "losses":
            print(json.dumps({"losses": make_contender(name).run(req["steps"])}), flush=True)
            continue
        if name not in contenders:
            contenders[name] = make_contender(name)
            contenders[name].run(2)  # warm up
        c = contenders[name]
        burst = 8 if c.chars_per_step < 100 else 2  # steps between looks at the clock
        steps = 0
        t0, c0 = time.perf_counter(), time.process_time()
        while steps == 0 or time.perf_counter() - t0 < req["seconds"]:
            steps += len(c.run(burst))  # steps done (fewer than asked if training diverged)
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        chars = steps * c.chars_per_step
        print(json.dumps({"chars_per_s": chars / dt, "chars_per_cpu_s": chars / max(dc, 1e-9),
                          "restarts": getattr(c, "restarts", 0)}), flush=True)


# -- the orchestration (main process: no numpy work here) -------------------------------------


class Worker:
    """A worker process with a given BLAS thread setting."""

    def __init__(self, one_thread: bool, root: str | None = None) -> None:
        env = dict(os.environ)
        if root:  # import the rnn package of another checkout
            env["TRAIN_SPEED_ROOT"] = str(Path(root).resolve())
        if one_thread:
            env.update(ONE_THREAD)
        else:
            for k in ONE_THREAD:
                env.pop(k, None)
        self.proc = subprocess.Popen([sys.executable, __file__, "--worker"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, req: dict) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"worker failed on {req}")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def measure(workers: dict, contenders: list[tuple[str, str]], reps: int, seconds: float):
    """Interleaved timing: in each repetition every contender trains for about ``seconds``.

    Every chunk lasts about as long, whatever the contender's speed, so that the load of the
    machine hits them alike, and the order rotates from one repetition to the next.
    Returns {contender: {"wall": [chars/s], "cpu": [chars per CPU-second]}}.
    """
    out = {c: {"wall": [], "cpu": [], "restarts": 0} for c in contenders}
    for r in range(reps):
        k = r % len(contenders)
        for c in contenders[k:] + contenders[:k]:
            threads, name = c
            reply = workers[threads].ask({"name": name, "seconds": seconds})
            out[c]["wall"].append(reply["chars_per_s"])
            out[c]["cpu"].append(reply["chars_per_cpu_s"])
            out[c]["restarts"] = reply["restarts"]
    return out


def label(c) -> str:
    threads, name = c
    name, _, g_lr = name.partition("@")
    g = g_lr.replace("/", ", lr ")
    kind, b, dtype, *nudge = name.split("-")
    who = {"package": "rnn.Trainer", "reference": "min-char-rnn loop",
           "torch": "PyTorch nn.RNN"}[kind]
    blas = "torch 1 thread" if kind == "torch" else f"BLAS {threads}"
    ulp = f", weights 1 ulp {nudge[0]}" if nudge else ""
    act = f" {g}" if g else ""
    batch = f" B={b[1:]}" if threads == BASELINE or g else ""
    return f"{who}{batch} {dtype}{act}{ulp} ({blas})"


def speed_table(title: str, res: dict, base) -> None:
    """Contender, median chars/s (min - max), ratio to ``base``, median chars per CPU-second."""
    print(f"\n{title}")
    print(f"  {'contender':<62} {'chars/s median':>14} {'(min - max)':>21} {'ratio':>6}"
          f" {'chars/CPU-s':>11} {'ratio':>6}")
    b_wall, b_cpu = median(res[base]["wall"]), median(res[base]["cpu"])
    for c, r in res.items():
        w, cpu = r["wall"], r["cpu"]
        print(f"  {label(c):<62} {median(w):>14,.0f} {f'({min(w):,.0f} - {max(w):,.0f})':>21} "
              f"{median(w) / b_wall:>5.2f}x {median(cpu):>11,.0f} {median(cpu) / b_cpu:>5.2f}x")
    print(f"  ratios: medians over those of {label(base)}; chars/CPU-s counts only the CPU time "
          "of the contender's process (all its threads), so it is less hit by other load.")
    for c, r in res.items():
        if r["restarts"]:
            print(f"  {label(c)}: training diverged {r['restarts']} times and started again "
                  "(only the steps done count).")


def loss_table(title: str, worker: Worker, names: list[str], partner_of: dict, steps: int,
               last: int = 100) -> None:
    """Untimed runs from the same initial weights on the same windows: how the curves agree."""
    losses = {n: worker.ask({"op": "losses", "name": n, "steps": steps})["losses"]
              for n in names}
    print(f"\n{title} ({steps} steps, 1 BLAS thread)")
    print(f"  {'run':<62} {'mean loss, last ' + str(last):>20}  {'compared with':<34}"
          f" {'same to 1e-9':>12} {'max |dloss|':>11}")
    for n in names:
        mean_last = sum(losses[n][-last:]) / last
        p = partner_of.get(n)
        cmp = ""
        if p is not None:
            diffs = [abs(a - b) for a, b in zip(losses[n], losses[p], strict=True)]
            same = next((i for i, d in enumerate(diffs) if d > 1e-9), len(diffs))
            cmp = f"{label(('1 thread', p)).split(' (')[0]:<34} {f'{same} steps':>12} " \
                  f"{max(diffs):>11.1e}"
        print(f"  {label(('1 thread', n)):<62} {mean_last:>20.4f}  {cmp}")
    print("  Nats per character. The curves agree to float rounding for the first steps; then "
          "the chaotic early Adagrad\n  steps amplify rounding differences, as the one-ulp "
          "controls show: compare their drift with the others'.")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="a shorter run (about 30 s)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--activations", action="store_true",
                    help="only the table of the Trainer with each activation g")
    ap.add_argument("--baseline", metavar="DIR",
                    help="only the table of this checkout's Trainer against the one in DIR")
    args = ap.parse_args()
    if args.worker:
        worker()
        return
    reps, seconds = (5, 0.08) if args.quick else (15, 0.25)
    if args.activations or args.baseline:
        extra_tables(args, reps, seconds)
        return
    steps1, steps32 = (200, 60) if args.quick else (1000, 300)  # untimed loss runs
    t_start = time.perf_counter()
    one, many = "1 thread", "default threads"
    workers = {one: Worker(True), many: Worker(False)}
    try:
        print(f"Job: English corpus, H={H}, T={T}, Adagrad lr {LR}, element-wise clip {CLIP}, "
              f"truncated BPTT. {reps} interleaved repetitions of ~{seconds} s per contender, "
              f"{os.cpu_count()} CPUs.\nValidation is off in the Trainer (eval_every huge), "
              "as the other loops have none.")
        c1 = [(one, "reference-b1-float64"), (one, "package-b1-float64"),
              (one, "package-b1-float32"), (many, "reference-b1-float64"),
              (many, "package-b1-float64"), (many, "package-b1-float32")]
        speed_table("Batch 1: rnn.Trainer against min-char-rnn's per-step loop",
                    measure(workers, c1, reps, seconds), c1[0])
        has_torch = workers[one].ask({"op": "has_torch"})
        c32 = [(one, "package-b32-float32"), (one, "package-b32-float64"),
               (many, "package-b32-float32"), (many, "package-b32-float64")]
        if has_torch["ok"]:
            c32 = [(one, "torch-b32-float32"), (one, "torch-b32-float64"), *c32]
            title = "Batch 32: rnn.Trainer against PyTorch nn.RNN on one thread"
        else:
            print(f"\nNote: PyTorch is not importable ({has_torch['why']}), so the PyTorch "
                  "comparison is skipped; it is not a dependency of the project.")
            title = "Batch 32: rnn.Trainer"
        speed_table(title, measure(workers, c32, reps, seconds), c32[0])

        ref = "reference-b1-float64"
        runs1 = [ref, "package-b1-float64", "package-b1-float32", f"{ref}-up", f"{ref}-down"]
        loss_table("Loss curves, batch 1", workers[one], runs1,
                   {n: ref for n in runs1[1:]}, steps1)
        pkg = "package-b32-float64"
        runs32 = [pkg, "package-b32-float32", f"{pkg}-up", f"{pkg}-down"]
        partner = {n: pkg for n in runs32[1:]}
        if has_torch["ok"]:
            tch = "torch-b32-float64"
            runs32 = [tch, f"{tch}-up", f"{tch}-down", "torch-b32-float32", *runs32]
            partner.update({f"{tch}-up": tch, f"{tch}-down": tch, pkg: tch,
                            "package-b32-float32": "torch-b32-float32"})
        loss_table("Loss curves, batch 32", workers[one], runs32, partner, steps32)
    finally:
        for w in workers.values():
            w.close()
    print(f"\nTotal time {time.perf_counter() - t_start:.0f} s.")


BASELINE = "1 thread, baseline checkout"
ACTIVATIONS = ("tanh", "relu", "sigmoid", "identity")
ACTIVATIONS_LR = 0.01


def extra_tables(args, reps: int, seconds: float) -> None:
    """The Trainer with each activation, or against another checkout's: batch 1 and 32, float32
    and float64 at batch 1, one BLAS thread, interleaved as in ``measure``."""
    one = "1 thread"
    workers = {one: Worker(True)}
    if args.baseline:
        workers[BASELINE] = Worker(True, args.baseline)
    t_start = time.perf_counter()
    print(f"Job: English corpus, H={H}, T={T}, Adagrad lr {LR}, element-wise clip {CLIP}. {reps} "
          f"interleaved repetitions of ~{seconds} s per contender, {os.cpu_count()} CPUs.")
    try:
        for job in ("b1-float32", "b1-float64", "b32-float32"):
            if args.baseline:
                cs = [(BASELINE, f"package-{job}"), (one, f"package-{job}")]
                title = f"This checkout's Trainer against the baseline's ({args.baseline})"
            else:
                cs = [(one, f"package-{job}@{g}/{ACTIVATIONS_LR}") for g in ACTIVATIONS]
                title = (f"The Trainer with each activation g (h_t = g(a_t)), lr {ACTIVATIONS_LR} "
                         "(at 0.1 the identity diverges within a few steps)")
            speed_table(f"{title}, {job}", measure(workers, cs, reps, seconds), cs[0])
    finally:
        for w in workers.values():
            w.close()
    print(f"\nTotal time {time.perf_counter() - t_start:.0f} s.")


if __name__ == "__main__":
    main()
