"""Server-side time of each interaction on the BPTT, hidden-state space and atlas pages.

    python benchmarks/analysis_speed.py [--repeats 15] [--threads N ...]

Each interaction is an AppTest rerun of the page with the built-in English model (H=128) and a
100-character sentence: the script run plus Streamlit's serialisation of every element, which
is what the server spends before the browser sees a change. Interactions alternate between two
values (e.g. a scale of 0.8 and 1.2) so the per-(text, model) cache in st.session_state is used
as in a real session; step moves go to a step not seen before (and, for comparison, back and
forth between two steps, whose results the session has cached). A trivial page (a title and a
slider) is timed the same way, side by side, as AppTest's own overhead.

Prints the median and 90th percentile wall time of each interaction in milliseconds (the goal
is a median under 150 ms) and the median CPU time of the process. The pages multiply small
matrices (128 x 128), where a multi-threaded BLAS on a busy machine can spend far more time
waiting than working, so by default the whole table is measured twice, side by side, in
child processes: with the BLAS thread count left as the environment has it, and with
OPENBLAS_NUM_THREADS=1 (the variable must be set before NumPy loads).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SENTENCE = (  # 100 characters
    "The keeper climbed the one hundred steps to the lamp room, wiped the glass and wound "
    "the clock again"
)
TRIVIAL_PAGE = (
    "import streamlit as st\n"
    "st.title('trivial')\n"
    "st.slider('x', 0, 100, 0, key='x')\n"
)


def _timed(at, repeats: int, interact) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of ``repeats`` reruns, each after ``interact(at, i)``."""
    wall, cpu = [], []
    for i in range(repeats):
        interact(at, i)
        t0, c0 = time.perf_counter(), time.process_time()
        at.run()
        wall.append(1000 * (time.perf_counter() - t0))
        cpu.append(1000 * (time.process_time() - c0))
        if at.exception:
            raise RuntimeError(at.exception[0].message)
    return wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, nargs="*", default=None,
                    help="BLAS thread counts to compare (0: as the environment has it); "
                         "default: 0 and 1")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not args.child:  # one child process per thread setting, one after the other
        for n in args.threads if args.threads is not None else [0, 1]:
            env = dict(os.environ)
            if n:
                for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                    env[var] = str(n)
            subprocess.run([sys.executable, __file__, "--child", "--repeats", str(args.repeats)],
                           env=env, check=True)
            print()
        return
    sys.path.insert(0, str(ROOT))
    from streamlit.testing.v1 import AppTest

    def page(name: str) -> AppTest:
        at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=120)
        at.session_state["text"] = SENTENCE
        at.run()
        return at

    if len(SENTENCE) != 100:
        raise SystemExit("the benchmark sentence must be 100 characters long")
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(TRIVIAL_PAGE)
    trivial = AppTest.from_file(f.name, default_timeout=60).run()

    def alternate(kind, key, a, b):
        return lambda at, i: getattr(at, kind)(key=key).set_value(a if i % 2 else b)

    def new_step(key):  # a step not seen before: nothing per-step is cached yet
        return lambda at, i: at.slider(key=key).set_value(5 + (37 * i) % 90)

    def text_edit(at, i):  # a new sentence every time: the whole (text, model) work is redone
        at.text_input(key="text").input(SENTENCE[:-1] + "abcdefghijklmnopqrstuvwxyz"[i % 26])

    cases = [
        ("trivial page (AppTest overhead)", lambda: trivial, alternate("slider", "x", 10, 20)),
        ("bptt: move step t (new step)", lambda: page("bptt"), new_step("bptt_t")),
        ("bptt: move step t (seen before)", lambda: page("bptt"),
         alternate("slider", "bptt_t", 40, 60)),
        ("bptt: scale W_h", lambda: page("bptt"),
         alternate("select_slider", "bptt_scale", 0.8, 1.2)),
        ("bptt: edit the text", lambda: page("bptt"), text_edit),
        ("space: move step t", lambda: page("space"), new_step("space_t")),
        ("space: 2-D / 3-D", lambda: page("space"), alternate("radio", "space_dims", 2, 3)),
        ("space: edit the text", lambda: page("space"), text_edit),
        ("atlas: pick a neuron", lambda: page("atlas"), alternate("selectbox", "atlas_unit", 3, 7)),
    ]
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "as the environment has it")
    print(f"AppTest reruns, English model H=128, {len(SENTENCE)}-character sentence, "
          f"{args.repeats} repeats, BLAS threads: {threads}")
    print(f"{'interaction':38s} {'median ms':>10s} {'p90 ms':>8s} {'CPU ms':>8s}")
    for name, make, interact in cases:
        at = make()
        interact(at, 1)  # warm up: fill the caches this interaction reuses
        at.run()
        wall, cpu = _timed(at, args.repeats, interact)
        wall.sort()
        p90 = wall[min(len(wall) - 1, int(0.9 * len(wall)))]
        print(f"{name:38s} {statistics.median(wall):10.1f} {p90:8.1f} "
              f"{statistics.median(cpu):8.1f}", flush=True)
    os.unlink(f.name)


if __name__ == "__main__":
    main()
