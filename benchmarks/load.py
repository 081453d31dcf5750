"""The load one server holds: N training runs and M people using the Explorer at once.

    python benchmarks/load.py [--runs 0 1 2 4 8] [--people 2] [--seconds 20]

For each N, in one process as the app's server runs them:

* N runs play through the server's run registry (``session.server.runs()``, its trainer
  threads and its cap on runs training at once, ``RNN_MAX_TRAINING``), each on the English
  corpus with the Train page's default settings;
* M people use the Explorer, each in a thread of their own: an AppTest session typing
  a new sentence over and over (the whole script run the server does for it). AppTest runs
  one script at a time in a process (see ``ONE_RUN``), so the people take turns, and each
  latency is one script run's own time while the trainer threads compete for the process.

Printed per N: chars/s of each run (and all together); the Explorer's latency for a new
sentence (median / p90; stepping is drawn in the browser, not on the server); the
process's resident memory before, at its peak, and after every session closed and every run was
released by the registry's own rule (a run nobody looks at is released; here after RELEASE_S
instead of 30 minutes), with the runs' objects counted: none may be left. Last, one more load
under tracemalloc: the memory Python and NumPy hold before, at the peak and after (resident
memory also counts what the C allocator keeps after a free).
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import threading
import time
import tracemalloc
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# AppTest is not safe in parallel threads: each run installs a process-wide mock Runtime and
# removes it when done, and parses the page anew (CPython 3.11's parser is not thread-safe).
ONE_RUN = threading.Lock()
RELEASE_S = 3.0  # idle time before a run is released, here (the server's default: 30 min)
SENTENCE = ("The keeper climbed the stairs to light the lamp, and far below the grey sea "
            "rolled on into the night.")[:100]


def _ms(v: list[float]) -> str:
    """median / p90 in ms, and how many."""
    if not v:
        return "-"
    p90 = v[int(0.9 * (len(v) - 1))]
    return f"{statistics.median(v) * 1e3:.0f} / {p90 * 1e3:.0f} ms (n={len(v)})"


def _load() -> str:
    """The 1, 5 and 15 minute load averages (the machine is shared)."""
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def rss_mb() -> float:
    """Resident memory of this process (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def settled_rss() -> float:
    gc.collect()
    time.sleep(0.5)
    return rss_mb()


def explorer_person(stop: threading.Event, latencies: list[float], errors: list[str],
                    opened: list[bool]) -> None:
    """One person in the Explorer until told to stop: a session that types a new sentence over
    and over (the forward pass and the page's script run). Only one AppTest runs at a time
    (``ONE_RUN``), and the latency is that run's own time."""
    from streamlit.testing.v1 import AppTest

    with ONE_RUN:
        at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120).run()
        at.switch_page("pages/explorer.py").run()
        at.text_input(key="text").input(SENTENCE).run()
    opened.append(True)
    i = 0
    while not stop.is_set():
        i += 1
        with ONE_RUN:
            t0 = time.perf_counter()
            at.text_input(key="text").input(SENTENCE[i % 50:] + SENTENCE[:i % 50]).run()
            latencies.append(time.perf_counter() - t0)
            errors.extend(e.message for e in at.exception if e.message not in errors)
        time.sleep(0.01)  # the lock is not fair: let the other people in


def one_load(n_runs: int, people: int, seconds: float) -> dict:
    from rnn import load_corpus
    from session import server, training
    from session.runs import RunLimits, RunRegistry, State, Why
    from ui.train_settings import DEFAULTS, settings_from

    # The server's limits, except that a run nobody looks at is released after RELEASE_S (and
    # the janitor looks twice a second): the benchmark closes its sessions and waits for that.
    limits = replace(RunLimits.from_settings(server.settings()), idle_s=RELEASE_S)
    registry = RunRegistry(limits, chunk=training.play_chunk, pause=training.pause,
                           size=server.run_size, sweep_every_s=0.5)
    settings = settings_from(DEFAULTS)
    text = load_corpus(DEFAULTS["train_corpus"])
    before = settled_rss()
    stop = threading.Event()
    latencies: list[float] = []
    errors: list[str] = []
    opened: list[bool] = []
    threads = [threading.Thread(target=explorer_person, args=(stop, latencies, errors, opened))
               for _ in range(people)]
    for t in threads:
        t.start()
    while len(opened) < people and any(t.is_alive() for t in threads):  # they open first
        time.sleep(0.1)
    runs = [training.new_run(text, settings.config, "english") for _ in range(n_runs)]
    tokens = [registry.create(run) for run in runs]
    said = [registry.play(token) for token in tokens]
    lined = {"training": sum(x.state == State.TRAINING for x in said),
             "waiting": sum(x.state == State.WAITING for x in said),
             "refused": sum(x.why == Why.CAP for x in said)}
    steps0 = [run.steps for run in runs]
    n_lat0 = len(latencies)
    peak = rss_mb()
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        time.sleep(0.25)
        peak = max(peak, rss_mb())
        for token in tokens:
            registry.touch(token)
    elapsed = time.perf_counter() - t0
    cps = [(run.steps - s0) * run.trainer.tokens_per_step / elapsed
           for run, s0 in zip(runs, steps0, strict=True)]
    lat = sorted(latencies[n_lat0:])
    stop.set()
    for t in threads:
        t.join()  # the people's sessions close
    t_closed = time.perf_counter()  # nobody looks at the runs from now on
    while registry.stats()["runs"] or registry.stats()["threads"]:
        time.sleep(0.1)
    released_s = time.perf_counter() - t_closed
    registry.shutdown()
    del runs, tokens, registry
    after = settled_rss()
    alive = sum(isinstance(o, training.TrainRun) for o in gc.get_objects())
    return {"runs": n_runs, "people": people, "cps": cps, "lat": lat, "before": before,
            "peak": peak, "after": after, "alive": alive, "released_s": released_s,
            "errors": errors, "lined": lined}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, nargs="+", default=[0, 1, 2, 4, 8])
    ap.add_argument("--people", type=int, default=2)
    ap.add_argument("--seconds", type=float, default=20.0)
    args = ap.parse_args()

    from threadpoolctl import threadpool_limits

    from session import server

    threadpool_limits(limits=1, user_api="blas")  # as the app does (ui/nav.py)
    s = server.settings()
    print(f"cap: {s.max_training} runs training at once (RNN_MAX_TRAINING), at most "
          f"{s.max_runs} runs kept; {args.people} people in the Explorer; "
          f"{args.seconds:g} s per row; {os.cpu_count()} cores, load average {_load()}")
    one_load(1, 1, 3.0)  # warm up: imports, caches, the built-in models
    baseline = settled_rss()
    print(f"baseline memory after warm-up: {baseline:.0f} MB")
    print(f"{'N':>3} {'chars/s per run (min-max)':>27} {'all runs':>10} "
          f"{'new sentence, median/p90':>26} {'MB before/peak/after':>21}")
    for n in args.runs:
        r = one_load(n, args.people, args.seconds)
        cps = r["cps"]
        per_run = (f"{statistics.median(cps) / 1e3:6.1f}k ({min(cps) / 1e3:.1f}-"
                   f"{max(cps) / 1e3:.1f}k)") if cps else "-"
        print(f"{n:>3} {per_run:>27} {sum(cps) / 1e3:9.1f}k {_ms(r['lat']):>26} "
              f"{r['before']:6.0f} /{r['peak']:5.0f} /{r['after']:5.0f}  "
              f"released after {r['released_s']:.1f} s"
              + (f"  ({r['alive']} runs still alive!)" if r["alive"] else "")
              + f"  load {_load()}", flush=True)
        if r["lined"]["refused"]:
            print(f"   at Play: {r['lined']['training']} training, {r['lined']['waiting']} "
                  f"waiting, {r['lined']['refused']} paused (the server is full)")
        if r["errors"]:
            print("   explorer errors:", r["errors"][:3])
    print(f"memory at the end: {settled_rss():.0f} MB (baseline {baseline:.0f} MB)")
    # Resident memory also holds what the C allocator keeps after a free; tracemalloc counts
    # what Python and NumPy hold. One more load, traced (slower: its speeds are not shown).
    n = max(args.runs)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tracemalloc.reset_peak()
    one_load(n, args.people, min(args.seconds, 10.0))
    gc.collect()
    after, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"traced by Python and NumPy, {n} runs + {args.people} people: before "
          f"{before / 2**20:.1f} MB, peak {peak / 2**20:.1f} MB, after every session closed "
          f"and every run was released {after / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
