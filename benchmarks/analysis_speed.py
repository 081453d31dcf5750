"""Server-side time of each interaction on the BPTT, hidden-state space and atlas pages.

    python benchmarks/analysis_speed.py [--repeats 15] [--threads N]

Each interaction is an AppTest rerun of the page with the built-in English model (H=128) and a
100-character sentence: the script run plus Streamlit's serialisation of every element, which
is what the server spends before the browser sees a change. Interactions alternate between two
values (e.g. step 40 and step 60) so the per-(text, model) cache in st.session_state is used as
in a real session, while the per-step work is redone each time. A trivial page (a title and a
slider) is timed the same way, side by side, as AppTest's own overhead.

Prints the median and 90th percentile of each interaction in milliseconds; the goal is a
median under 150 ms. ``--threads`` sets OPENBLAS_NUM_THREADS etc. before NumPy loads
(the default leaves the environment as it is).
"""

from __future__ import annotations

import argparse
import os
import statistics
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


def _timed(at, repeats: int, interact) -> list[float]:
    """Milliseconds of ``repeats`` reruns, each after ``interact(at, i)`` set a widget."""
    times = []
    for i in range(repeats):
        interact(at, i)
        t0 = time.perf_counter()
        at.run()
        times.append(1000 * (time.perf_counter() - t0))
        if at.exception:
            raise RuntimeError(at.exception[0].message)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ[var] = str(args.threads)
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

    def text_edit(at, i):  # a new sentence every time: the whole (text, model) work is redone
        at.text_input(key="text").input(SENTENCE[:-1] + "abcdefghijklmnopqrstuvwxyz"[i % 26])

    cases = [
        ("trivial page (AppTest overhead)", lambda: trivial, alternate("slider", "x", 10, 20)),
        ("bptt: move step t", lambda: page("bptt"), alternate("slider", "bptt_t", 40, 60)),
        ("bptt: scale W_h", lambda: page("bptt"),
         alternate("select_slider", "bptt_scale", 0.8, 1.2)),
        ("bptt: edit the text", lambda: page("bptt"), text_edit),
        ("space: move step t", lambda: page("space"), alternate("slider", "space_t", 40, 60)),
        ("space: 2-D / 3-D", lambda: page("space"), alternate("radio", "space_dims", 2, 3)),
        ("space: edit the text", lambda: page("space"), text_edit),
        ("atlas: pick a unit", lambda: page("atlas"), alternate("selectbox", "atlas_unit", 3, 7)),
    ]
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "default")
    print(f"AppTest reruns, English model H=128, {len(SENTENCE)}-character sentence, "
          f"{args.repeats} repeats, BLAS threads: {threads}")
    print(f"{'interaction':36s} {'median ms':>10s} {'p90 ms':>8s}")
    for name, make, interact in cases:
        at = make()
        interact(at, 1)  # warm up: fill the caches this interaction reuses
        at.run()
        times = sorted(_timed(at, args.repeats, interact))
        p90 = times[min(len(times) - 1, int(0.9 * len(times)))]
        print(f"{name:36s} {statistics.median(times):10.1f} {p90:8.1f}")
    os.unlink(f.name)


if __name__ == "__main__":
    main()
