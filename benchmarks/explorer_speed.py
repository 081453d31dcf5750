"""Speed of the Explorer page: a "next" click on the server, and the page in a real browser.

    python benchmarks/explorer_speed.py [--clicks 40] [--loads 7] [--browser-clicks 4]
                                        [--no-browser]

1. Server: the whole script rerun (app.py, navigation, the page) that one click on "next"
   causes, timed with AppTest on the built-in English model (H = 128) and a 100-character
   sentence. Beside it, for comparison, a rerun after a text change (which runs the forward
   pass again; every other rerun reads the cached Trace). Target: median click < 150 ms.
2. Browser: a live ``streamlit run app.py`` and headless Chromium (Debian's /usr/bin/chromium
   through Playwright), timed until all five plotly charts of /explorer have drawn their SVG
   (they are drawn together, so this is also the first chart). Target: < 3 s. Four ways in:
   - cold: a first visit to /explorer?text=<the sentence>, in a new browser context (empty
     cache, new session);
   - warm: a returning visitor, a new tab (new session) of a browser that has the app's
     scripts cached;
   - from Home: the home page is open, the user clicks Explorer in the sidebar (the default
     sentence, 48 characters);
   - a "next" click in the open page, until the page is idle again with every chart redrawn
     (what the user feels; the server-side figure above is part of it).
   In turns with the cold and warm loads, the same is timed for a one-line Streamlit app with
   one tiny plotly chart: the floor that Streamlit's and plotly's own JavaScript set on this
   machine, whatever the page does. The CPU time the renderer spent on a cold load (Chrome's
   Performance.getMetrics ProcessTime) is printed too: unlike wall-clock time it hardly
   depends on what else the machine is running.

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
    from ui import state

    H = state.shelf(at.session_state).current.model.hidden_size
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


def _charts_drawn(page, charts: int) -> None:
    page.wait_for_function(
        f"() => document.querySelectorAll('{CHART}').length >= {charts}", timeout=60_000)


def _idle_ms(page) -> float:
    """performance.now() once the page's main thread is idle (every redraw done)."""
    return page.evaluate(
        "() => new Promise(r => requestAnimationFrame(() => requestIdleCallback("
        "() => r(performance.now()), {timeout: 5000})))")


def browser_loads(loads: int, clicks: int) -> dict[str, list[float]]:
    """Time page loads of /explorer four ways, with a one-chart page as the floor, in turns."""
    from playwright.sync_api import sync_playwright

    times: dict[str, list[float]] = {name: [] for name in (
        "floor: one tiny chart, cold",
        "floor: renderer CPU time",
        "explorer: all five charts, cold",
        "explorer: renderer CPU time",
        "floor: one tiny chart, warm",
        "explorer: all five charts, warm",
        "explorer: from Home, click to charts",
        "explorer: 'next' click to redrawn",
    )}
    with tempfile.TemporaryDirectory() as tmp, tempfile.TemporaryFile() as log:
        floor_script = Path(tmp) / "floor.py"
        floor_script.write_text(FLOOR_APP)
        app, base = _serve(ROOT / "app.py", ROOT, log)
        floor, floor_base = _serve(floor_script, Path(tmp), log)
        url = f"{base}/explorer?text={urllib.parse.quote(SENTENCE)}"
        chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
        args = ["--no-sandbox", "--disable-gpu"]
        view = {"width": 1400, "height": 1000}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium, headless=True, args=args)
                warm = pw.chromium.launch_persistent_context(
                    str(Path(tmp) / "profile"), executable_path=chromium, headless=True,
                    args=args, viewport=view)

                def cold(target: str, charts: int, names: list[str]) -> None:
                    """A first visit: a new browser context (empty cache, new session)."""
                    ctx = browser.new_context(viewport=view)
                    page = ctx.new_page()
                    cdp = ctx.new_cdp_session(page)  # the renderer's CPU time: load-proof
                    cdp.send("Performance.enable")
                    t0 = time.perf_counter()
                    page.goto(target)
                    _charts_drawn(page, charts)
                    times[names[0]].append(time.perf_counter() - t0)
                    metrics = {m["name"]: m["value"]
                               for m in cdp.send("Performance.getMetrics")["metrics"]}
                    times[names[1]].append(metrics["ProcessTime"])
                    ctx.close()

                def returning(target: str, charts: int, name: str) -> None:
                    """A returning visitor: cached scripts, a new tab and a new session."""
                    page = warm.new_page()
                    t0 = time.perf_counter()
                    page.goto(target)
                    _charts_drawn(page, charts)
                    times[name].append(time.perf_counter() - t0)
                    page.close()

                def from_home_and_step() -> None:
                    """Open Home, click Explorer in the sidebar; then click 'next' a few times."""
                    ctx = browser.new_context(viewport=view)
                    page = ctx.new_page()
                    page.goto(base + "/")
                    page.wait_for_selector("h1")
                    page.wait_for_timeout(300)
                    t0 = time.perf_counter()
                    page.locator('[data-testid="stSidebarNav"] a', has_text="Explorer").click()
                    _charts_drawn(page, 5)
                    times["explorer: from Home, click to charts"].append(
                        time.perf_counter() - t0)
                    page.wait_for_timeout(500)
                    for k in range(1, clicks + 1):
                        t0 = page.evaluate("performance.now()")
                        page.locator(".st-key-next button").first.click()
                        page.get_by_text(f"Step t = {k} of").wait_for(timeout=10_000)
                        times["explorer: 'next' click to redrawn"].append(
                            (_idle_ms(page) - t0) / 1000)
                    ctx.close()

                for warm_url in (base + "/", url, floor_base + "/"):  # first runs, imports
                    w = browser.new_page()
                    w.goto(warm_url)
                    w.wait_for_selector("h1", timeout=60_000)
                    w.close()
                for _ in range(2):  # fill the returning visitor's cache
                    returning(url, 5, "explorer: all five charts, warm")
                    returning(floor_base + "/", 1, "floor: one tiny chart, warm")
                times["explorer: all five charts, warm"].clear()
                times["floor: one tiny chart, warm"].clear()

                for _ in range(loads):
                    cold(floor_base + "/", 1, ["floor: one tiny chart, cold",
                                              "floor: renderer CPU time"])
                    cold(url, 5, ["explorer: all five charts, cold",
                                  "explorer: renderer CPU time"])
                    returning(floor_base + "/", 1, "floor: one tiny chart, warm")
                    returning(url, 5, "explorer: all five charts, warm")
                    from_home_and_step()
                warm.close()
                browser.close()
        finally:
            _stop(app)
            _stop(floor)
    return times


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clicks", type=int, default=40, help="timed 'next' clicks")
    ap.add_argument("--loads", type=int, default=7, help="timed browser page loads")
    ap.add_argument("--browser-clicks", type=int, default=4,
                    help="'next' clicks timed in the browser per load")
    ap.add_argument("--no-browser", action="store_true", help="skip the browser measurement")
    args = ap.parse_args()

    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    for name, ts in server_clicks(args.clicks).items():
        print(f"  server, {name:32s} {_ms(ts)}")
    if not args.no_browser:
        times = browser_loads(args.loads, args.browser_clicks)
        for name, ts in times.items():
            print(f"  browser, {name:38s} {_ms(ts)}")
        for kind in ("cold", "warm"):
            extra = (statistics.median(times[f"explorer: all five charts, {kind}"])
                     - statistics.median(times[f"floor: one tiny chart, {kind}"]))
            print(f"  browser, {kind}: the explorer minus the floor: {extra * 1000:+.0f} ms")
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
