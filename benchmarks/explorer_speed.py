"""Speed of the Explorer's step view, in headless Chromium, in one run.

    python benchmarks/explorer_speed.py [--steps 30] [--loads 6] [--play-steps 12] [--quick]
    python benchmarks/explorer_speed.py --bytes-only   # part 5 alone, about two minutes

A live ``streamlit run app.py`` and Debian's /usr/bin/chromium (through Playwright):

1. Step latency: from the press (the ``keydown`` or ``pointerdown`` event's timestamp) to the
   first paint after the step view has drawn the step (its ``data-step`` changes once the
   strips, the five grids, the equation, the memory term, the guesses and the hidden-state
   cursor are all redrawn; then one animation frame and a task: the paint). Keys (→) and clicks
   on "Next step", ``--steps`` each, 150 ms apart. Three sizes: the English model (H = 128) on a
   100-character text, the same on 500 characters (the app's limit), and a random H = 256 model
   (uploaded through the sidebar, as a user would) on the 500 characters.
2. Key presses at 10, 20 and 50 per second (40 presses of →, paced by the script): how many
   steps the view moved, against how many presses.
3. Play at each speed (1, 2.5, 5 and 10 tokens/s): every drawn step is recorded in the page with
   its time; the rate is (steps - 1) / (last - first), a skip is a move by more than one step.
4. First visit: /explorer?text=<100 characters> in a new browser context (empty cache, new
   session) until the step view is drawn, in turns with Streamlit's floor, a one-line app with
   one tiny plotly chart, until that chart is drawn. Time is the page's own performance.now()
   at that moment (from the start of navigation), polled once per animation frame.
5. Bytes per pause: every websocket frame the page receives is counted (Playwright's
   ``framereceived``) from a click on a token until the rerun that the step view's report causes
   has set the step in the URL and finished; ``--pauses`` clicks at each of the three sizes.
   Then as many changes of the colour mode (a click on "one scale for all terms" or "each term
   its own scale", in turns), counted the same way until ?colour= follows, and the time from
   the click (``pointerdown``) to the paint after the input grid's range label has changed.

Servers and pages are warmed first. The machine is shared, so quote medians of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import streamlit_process  # noqa: E402  (after the path is set)

BASE_TEXT = ("The keeper climbed the stairs to light the lamp, and far below the grey sea "
             "rolled on into the night. ")
SENTENCE = BASE_TEXT[:100]
LONG = (BASE_TEXT * 5)[:500]
# the floor app runs outside the project, without its .streamlit/config.toml
NO_USAGE_STATS = ("--browser.gatherUsageStats", "false")
VIEW = ".rx"  # the step view's root (Playwright's CSS reaches into the shadow root)
FLOOR_APP = """import plotly.graph_objects as go
import streamlit as st
st.title("Floor")
st.plotly_chart(go.Figure(go.Bar(x=[1, 2], y=[3, 4])))
"""
SPEEDS = ("1", "2.5", "5", "10")

# In the page: the time from each press to the paint after the step it caused is drawn.
LATENCY_PROBE = """r => {
    window.__lat = []; window.__t0 = null;
    const press = e => { window.__t0 = e.timeStamp; };
    window.addEventListener('keydown', press, true);
    window.addEventListener('pointerdown', press, true);
    new MutationObserver(() => {
        const t0 = window.__t0;
        if (t0 === null) return;
        window.__t0 = null;
        requestAnimationFrame(() => setTimeout(() => window.__lat.push(performance.now() - t0)));
    }).observe(r, {attributes: true, attributeFilter: ['data-step']});
}"""
STEP_LOG = """r => {
    window.__steps = [];
    new MutationObserver(() => window.__steps.push([performance.now(), Number(r.dataset.step)]))
        .observe(r, {attributes: true, attributeFilter: ['data-step']});
}"""


def _stats(values: list[float], unit: str = "ms") -> str:
    v = sorted(values)
    p90 = v[min(len(v) - 1, int(round(0.9 * (len(v) - 1))))]
    return (f"median {statistics.median(v):7.1f} {unit}   p90 {p90:7.1f}   "
            f"(min {v[0]:.1f}, max {v[-1]:.1f}, n={len(v)})")


def random_checkpoint(path: Path, hidden: int = 256) -> None:
    """A random model of ``hidden`` units on the English vocabulary, saved as a checkpoint."""
    from rnn import RNN, load_checkpoint, save_checkpoint

    _, vocab, _ = load_checkpoint(ROOT / "models" / "english.npz")
    model = RNN.create(vocab.size, hidden, seed=0, init_std=0.15)
    save_checkpoint(path, model, vocab, title=f"random {hidden}")


def _open(page, url: str) -> None:
    page.goto(url)
    page.locator(f"{VIEW}[data-ready='1']").wait_for(state="attached", timeout=60_000)
    page.wait_for_timeout(800)  # let the first report and rerun settle


def _step(page) -> int:
    return int(page.locator(VIEW).get_attribute("data-step"))


def step_latency(page, steps: int) -> dict[str, list[float]]:
    """Press → and click "Next step", ``steps`` times each, 150 ms apart; ms to the paint."""
    page.locator(VIEW).evaluate(LATENCY_PROBE)
    out = {}
    for name in ("key →", "click Next"):
        page.keyboard.press("Home")
        page.wait_for_timeout(300)
        page.evaluate("window.__lat = []")
        button = page.get_by_role("button", name="Next step")
        for _ in range(steps):
            if name == "key →":
                page.keyboard.press("ArrowRight")
            else:
                button.click()
            page.wait_for_timeout(150)
        page.wait_for_timeout(300)
        out[name] = page.evaluate("window.__lat")
    return out


def dropped_keys(page, rates=(10, 20, 50), presses: int = 40) -> dict[int, tuple[int, int]]:
    """Presses of → at a rate; returns rate -> (steps moved, presses)."""
    out = {}
    for rate in rates:
        page.keyboard.press("Home")
        page.wait_for_timeout(300)
        start = _step(page)
        t0 = time.perf_counter()
        for i in range(presses):
            page.keyboard.press("ArrowRight")
            wait = t0 + (i + 1) / rate - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
        page.wait_for_timeout(200)
        out[rate] = (_step(page) - start, presses)
    return out


def play_rates(page, play_steps: int) -> dict[str, tuple[float, int, int]]:
    """Play at each speed for ``play_steps`` steps; speed -> (steps/s, steps drawn, skipped)."""
    out = {}
    page.locator(VIEW).evaluate(STEP_LOG)
    for speed in SPEEDS:
        page.keyboard.press("Home")
        page.get_by_role("combobox", name="Speed while playing").select_option(speed)
        page.wait_for_timeout(800)  # the report of the step after Home, and its rerun, are done
        page.evaluate("window.__steps = []")
        page.get_by_role("button", name="Play").click()
        page.wait_for_function(f"window.__steps.length >= {play_steps}",
                               timeout=int(play_steps / float(speed) * 1000) + 10_000)
        page.get_by_role("button", name="Pause").click()
        log = page.evaluate("window.__steps")[:play_steps]
        steps = [s for _, s in log]
        skipped = sum(max(0, b - a - 1) for a, b in zip(steps, steps[1:], strict=False))
        rate = (len(log) - 1) / ((log[-1][0] - log[0][0]) / 1000)
        out[speed] = (rate, len(log), skipped)
    return out


def _idle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]',
                           state="attached", timeout=60_000)
    page.wait_for_timeout(300)


# In the page: the time from a press to the paint after the input grid's range label changed.
COLOUR_PROBE = """r => {
    if (window.__cobs) window.__cobs.disconnect();
    window.__clat = []; window.__c0 = null;
    if (!window.__cpress) {
        window.__cpress = e => { window.__c0 = e.timeStamp; };
        window.addEventListener('pointerdown', window.__cpress, true);
    }
    const node = r.querySelector('figure.grid[data-term="Wi_x"] .range');
    let last = node.textContent;
    window.__cobs = new MutationObserver(() => {
        const t0 = window.__c0;
        if (t0 === null || node.textContent === last) return;
        last = node.textContent;
        window.__c0 = null;
        requestAnimationFrame(() => setTimeout(() => window.__clat.push(performance.now() - t0)));
    });
    window.__cobs.observe(node, {childList: true, characterData: true, subtree: true});
}"""
COLOURS = (("shared", "one scale for all terms"), ("own", "each term its own scale"))


def colour_bytes(page, received: list[int], changes: int) -> tuple[list[int], list[float]]:
    """Bytes received per change of the colour mode, until ?colour= follows and the rerun is
    done; and the ms from each click to the paint of the new colours."""
    page.locator(VIEW).evaluate(COLOUR_PROBE)
    now = page.evaluate("new URL(location.href).searchParams.get('colour')")
    first = 1 if now == COLOURS[0][0] else 0  # each click changes the mode
    out = []
    for i in range(changes):
        key, label = COLOURS[(first + i) % 2]
        _idle(page)
        start = len(received)
        page.get_by_text(label, exact=True).click()
        page.wait_for_function("c => new URL(location.href).searchParams.get('colour') === c",
                               arg=key, timeout=30_000)
        _idle(page)
        out.append(sum(received[start:]))
    return out, page.evaluate("window.__clat")


def pause_bytes(page, received: list[int], pauses: int) -> list[int]:
    """Bytes received per pause: a token clicked, until its report's rerun is done."""
    T = int(page.locator(f"{VIEW} .slider").get_attribute("max")) + 1
    now = _step(page)
    out = []
    for i in range(pauses):
        t = (now + 5 * (i + 1)) % T
        _idle(page)
        start = len(received)
        page.locator(f"{VIEW} .tokens .tok[data-t='{t}']").click()
        page.wait_for_function("t => new URL(location.href).searchParams.get('step') === t",
                               arg=str(t), timeout=30_000)
        _idle(page)
        out.append(sum(received[start:]))
    return out


def upload(page, checkpoint: Path, hidden: int) -> None:
    """Open ``checkpoint`` through the sidebar, as a user would, until the view has its H."""
    page.get_by_text("Upload a checkpoint", exact=True).click()
    page.locator('[data-testid="stSidebar"] input[type=file]').set_input_files(str(checkpoint))
    page.locator(f"{VIEW} .neuron[max='{hidden - 1}']").wait_for(state="attached",
                                                                  timeout=60_000)
    page.wait_for_timeout(1000)


def bytes_per_pause(browser, base: str, checkpoint: Path, pauses: int) -> None:
    """Part 5: the websocket bytes of a pause, at three sizes, against the payload's size."""
    from figures.style import SIGNED_STOPS
    from rnn import load_checkpoint
    from session.explorer import ExplorerView, build_step_trace

    ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ctx.new_page()
    received: list[int] = []
    page.on("websocket", lambda ws: ws.on("framereceived", lambda d: received.append(len(d))))
    print(f"Bytes received per pause (a token clicked, to the end of its report's rerun), "
          f"{pauses} pauses")
    for label, text, ckpt in (("T=100, H=128", SENTENCE, None), ("T=500, H=128", LONG, None),
                              ("T=500, H=256", LONG, checkpoint)):
        if ckpt is None:
            _open(page, f"{base}/explorer?text={urllib.parse.quote(text)}")
            model, vocab, _ = load_checkpoint(ROOT / "models" / "english.npz")
        else:
            model, vocab, _ = load_checkpoint(ckpt)
            upload(page, ckpt, model.hidden_size)
        size = len(ExplorerView().payload(build_step_trace("m", model, vocab, text, SIGNED_STOPS)))
        got = pause_bytes(page, received, pauses)
        print(f"  {label}: median {statistics.median(got):9.0f} B  (min {min(got)}, "
              f"max {max(got)}); payload {size} B, {statistics.median(got) / size:.2%} of it")
        got, ms = colour_bytes(page, received, pauses)
        print(f"  {label}, colour change: first {got[0]} B, then median "
              f"{statistics.median(got[1:] or got):.0f} B (max {max(got)}); the first is "
              f"{got[0] / size:.2%} of the payload")
        print(f"  {label}, colour change, click to repaint: "
              f"{_stats(ms) if ms else 'not seen'}")
    ctx.close()


def first_visits(browser, url: str, floor_url: str, loads: int) -> dict[str, list[float]]:
    """Cold loads of the explorer and of the floor page, in turns; ms from navigation to drawn."""
    view = {"width": 1400, "height": 1000}
    out: dict[str, list[float]] = {"floor (one tiny plotly chart)": [], "explorer": []}
    done = {"explorer": f"() => document.querySelector('[data-testid=\"stBidiComponentIsolated\"]')"
                        f"?.shadowRoot?.querySelector('{VIEW}[data-ready=\"1\"]') ? "
                        "performance.now() : null",
            "floor (one tiny plotly chart)":
                "() => document.querySelector('.js-plotly-plot .main-svg .bars path') ? "
                "performance.now() : null"}
    for _ in range(loads):
        for name, target in (("floor (one tiny plotly chart)", floor_url), ("explorer", url)):
            ctx = browser.new_context(viewport=view)
            page = ctx.new_page()
            page.goto(target)
            handle = page.wait_for_function(done[name], timeout=60_000, polling="raf")
            out[name].append(handle.json_value())
            ctx.close()
    return out


def measure(args) -> None:
    from playwright.sync_api import sync_playwright

    chromium = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    launch_args = ["--no-sandbox", "--disable-gpu"]
    with tempfile.TemporaryDirectory() as tmp:
        floor_script = Path(tmp) / "floor.py"
        floor_script.write_text(FLOOR_APP)
        ckpt = Path(tmp) / "random256.npz"
        random_checkpoint(ckpt)
        with (streamlit_process() as (_, base),
              streamlit_process(floor_script, cwd=Path(tmp), args=NO_USAGE_STATS)
              as (_, floor_base),
              sync_playwright() as pw):
            url = f"{base}/explorer?text={urllib.parse.quote(SENTENCE)}"
            browser = pw.chromium.launch(executable_path=chromium, headless=True,
                                         args=launch_args)
            for warm in (url, floor_base + "/"):  # first runs: imports, caches
                w = browser.new_page()
                w.goto(warm)
                w.wait_for_selector("h1", timeout=60_000)
                w.wait_for_timeout(1500)
                w.close()

            bytes_per_pause(browser, base, ckpt, args.pauses)
            if args.bytes_only:
                return
            ctx = browser.new_context(viewport={"width": 1400, "height": 1000})
            page = ctx.new_page()
            _open(page, url)
            print("Step latency, press to paint (ms)")
            for name, ts in step_latency(page, args.steps).items():
                print(f"  T=100, H=128, {name:12s} {_stats(ts)}")
            print("Key presses of → at a steady rate (steps moved / presses)")
            for rate, (moved, presses) in dropped_keys(page).items():
                print(f"  {rate:3d} per second: {moved} / {presses}"
                      f"{'' if moved == presses else '   DROPPED'}")
            _open(page, f"{base}/explorer?text={urllib.parse.quote(LONG)}")
            print("Play (T=500, H=128): rate, steps drawn, steps skipped")
            for speed, (rate, n, skipped) in play_rates(page, args.play_steps).items():
                print(f"  labelled {speed:>3s} tokens/s: {rate:5.2f} steps/s over {n} steps,"
                      f" {skipped} skipped")
            sizes = [("T=500, H=128", None), ("T=500, H=256", ckpt)]
            for label, checkpoint in sizes:
                if checkpoint is not None:
                    upload(page, checkpoint, 256)
                for name, ts in step_latency(page, args.steps).items():
                    print(f"  {label}, {name:12s} {_stats(ts)}")
            ctx.close()

            print("First visit by link, cold (ms from navigation to drawn; loaded in turns)")
            visits = first_visits(browser, url, floor_base + "/", args.loads)
            for name, ts in visits.items():
                print(f"  {name:30s} {_stats(ts)}")
            ratio = statistics.median(visits["explorer"]) / statistics.median(
                visits["floor (one tiny plotly chart)"])
            print(f"  explorer / floor (medians): {ratio:.2f}x")
            browser.close()


def server_side() -> None:
    """The server's part of a text change: model.forward and packing, at the largest sizes."""
    from figures.style import SIGNED_STOPS
    from rnn import RNN, load_checkpoint
    from session.explorer import ExplorerView, build_step_trace

    model, vocab, _ = load_checkpoint(ROOT / "models" / "english.npz")
    big = RNN.create(vocab.size, 256, seed=0, init_std=0.15)
    for label, m, text in (("T=100, H=128", model, SENTENCE), ("T=500, H=128", model, LONG),
                           ("T=500, H=256", big, LONG)):
        times = []
        for _ in range(15):
            t0 = time.perf_counter()
            run = build_step_trace("m", m, vocab, text, SIGNED_STOPS)
            times.append((time.perf_counter() - t0) * 1000)
        size = len(ExplorerView().payload(run)) / 1024
        print(f"  {label}: forward + pack {_stats(times)}; payload {size:.0f} KiB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=30, help="timed steps per way (keys, clicks)")
    ap.add_argument("--loads", type=int, default=6, help="cold loads of each page")
    ap.add_argument("--play-steps", type=int, default=12, help="steps timed per play speed")
    ap.add_argument("--pauses", type=int, default=5, help="pauses counted at each size")
    ap.add_argument("--bytes-only", action="store_true",
                    help="only the bytes per pause and per colour change")
    ap.add_argument("--quick", action="store_true", help="fewer of everything")
    args = ap.parse_args()
    if args.quick:
        args.steps, args.loads, args.play_steps, args.pauses = 20, 3, 8, 3
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    if not args.bytes_only:
        print("Server, once per text or model (not per step)")
        server_side()
    measure(args)
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
