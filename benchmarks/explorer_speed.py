"""Speed of the Explorer page: one "next" click on the server, and the first chart in a browser.

    python benchmarks/explorer_speed.py [--clicks 40] [--loads 7] [--no-browser]

1. Server: the whole script rerun (app.py, navigation, the page) that one click on "next"
   causes, timed with AppTest on the built-in English model (H = 128) and a 100-character
   sentence. Beside it, for comparison, a rerun after a text change (which runs the forward
   pass again; every other rerun reads the cached Trace). Target: median click < 150 ms.
2. Browser: a live ``streamlit run app.py`` and headless Chromium (Debian's /usr/bin/chromium
   through Playwright). Each load opens a fresh browser context (empty cache, new session) at
   /explorer?text=<the sentence> and times until the first plotly chart has drawn its SVG, and
   until all five have. Target: median first chart < 3 s. In turns with it, the same is timed
   for a one-line Streamlit app with one tiny plotly chart: the floor that Streamlit's and
   plotly's own JavaScript set on this machine, whatever the page does. The CPU time the
   renderer process spent until then (Chrome's Performance.getMetrics ProcessTime) is printed
   too: unlike wall-clock time it hardly depends on what else the machine is running.

The servers are warmed with one visit each before the timed loads. The machine is shared, so
the figures are medians of repeated runs, measured side by side in one go.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SENTENCE = ("The keeper climbed the stairs to light the lamp, and far below the grey sea "
            "rolled on into the night.")[:100]
CHART = ".js-plotly-plot .main-svg"


def _ms(values: list[float]) -> str:
    v = sorted(values)
    return (f"median {statistics.median(v) * 1000:7.1f} ms   (min {v[0] * 1000:.1f}, "
            f"p90 {v[int(0.9 * (len(v) - 1))] * 1000:.1f}, n={len(v)})")


def server_clicks(clicks: int) -> dict[str, list[float]]:
    """Time whole-script reruns: 'next' clicks, and text changes, interleaved."""
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    at.switch_page("pages/explorer.py").run()
    at.text_input(key="text").input(SENTENCE).run()
    if at.exception or len(SENTENCE) != 100:
        raise SystemExit(f"the explorer did not run: {[e.message for e in at.exception]}")
    H = at.session_state["explorer.run"].model.hidden_size
    print(f"server: model H = {H}, sentence of {len(SENTENCE)} characters")
    for _ in range(3):  # warm up imports and caches
        at.button(key="next").click().run()
    times: dict[str, list[float]] = {"next click": [], "text change (new forward pass)": []}
    for i in range(clicks):
        if at.session_state["step"] >= len(SENTENCE) - 2:
            at.button(key="first").click().run()
        t0 = time.perf_counter()
        at.button(key="next").click().run()
        times["next click"].append(time.perf_counter() - t0)
        if i % 4 == 0:  # a different text of the same length: the trace is recomputed
            text = SENTENCE[i % 7:] + SENTENCE[: i % 7]
            t0 = time.perf_counter()
            at.text_input(key="text").input(text).run()
            times["text change (new forward pass)"].append(time.perf_counter() - t0)
    if at.exception:
        raise SystemExit(f"the explorer failed: {[e.message for e in at.exception]}")
    return times


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


FLOOR_APP = """import plotly.graph_objects as go
import streamlit as st
st.title("Floor")
st.plotly_chart(go.Figure(go.Bar(x=[1, 2], y=[3, 4])))
"""


def _serve(script: Path, cwd: Path, log) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run script`` on a free port and wait until it answers."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=cwd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise SystemExit(f"streamlit did not start for {script}")
        time.sleep(0.25)


def _stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def browser_loads(loads: int) -> dict[str, list[float]]:
    """Time fresh page loads of /explorer, and of a one-chart page as the floor, in turns."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {
        "floor: one tiny chart, first drawn": [],
        "floor: renderer CPU time to it": [],
        "explorer: first chart drawn": [],
        "explorer: all five charts drawn": [],
        "explorer: renderer CPU time to them": [],
    }
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as log:
        floor_script = Path(tmp) / "floor.py"
        floor_script.write_text(FLOOR_APP)
        app, base = _serve(ROOT / "app.py", ROOT, log)
        floor, floor_base = _serve(floor_script, Path(tmp), log)
        url = f"{base}/explorer?text={urllib.parse.quote(SENTENCE)}"
        chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
                for warm_url in (base + "/", url, floor_base + "/"):  # first runs, imports
                    warm = browser.new_page()
                    warm.goto(warm_url)
                    warm.wait_for_selector("h1", timeout=60_000)
                    warm.close()

                def load(target: str, names: list[str], charts: int) -> None:
                    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
                    page = ctx.new_page()
                    cdp = ctx.new_cdp_session(page)  # the renderer's CPU time: load-proof
                    cdp.send("Performance.enable")
                    t0 = time.perf_counter()
                    page.goto(target)
                    page.wait_for_selector(CHART, timeout=60_000)
                    times[names[0]].append(time.perf_counter() - t0)
                    if charts > 1:
                        page.wait_for_function(
                            f"() => document.querySelectorAll('{CHART}').length >= {charts}",
                            timeout=60_000)
                        times[names[1]].append(time.perf_counter() - t0)
                    metrics = {m["name"]: m["value"]
                               for m in cdp.send("Performance.getMetrics")["metrics"]}
                    times[names[-1]].append(metrics["ProcessTime"])
                    ctx.close()

                for _ in range(loads):
                    load(floor_base + "/", ["floor: one tiny chart, first drawn",
                                            "floor: renderer CPU time to it"], 1)
                    load(url, ["explorer: first chart drawn", "explorer: all five charts drawn",
                               "explorer: renderer CPU time to them"], 5)
                browser.close()
        finally:
            _stop(app)
            _stop(floor)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=40, help="timed 'next' clicks")
    ap.add_argument("--loads", type=int, default=7, help="timed browser page loads")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser measurement")
    args = ap.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, ts in server_clicks(args.clicks).items():
        print(f"  server, {name:32s} {_ms(ts)}")
    if not args.no_browser:
        times = browser_loads(args.loads)
        for name, ts in times.items():
            print(f"  browser, {name:36s} {_ms(ts)}")
        extra = (statistics.median(times["explorer: first chart drawn"])
                 - statistics.median(times["floor: one tiny chart, first drawn"]))
        print(f"  browser, explorer's first chart minus the floor: {extra * 1000:+.0f} ms")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
