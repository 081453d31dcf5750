"""Load from many people at once on one live server, and the memory it takes.

    python benchmarks/load_sessions.py [--sessions 20] [--trainers 5] [--edits 8]
                                       [--skip-browser] [--skip-limits]

Against a live ``streamlit run app.py`` on a free port, driven by headless Chromium (Debian's
/usr/bin/chromium through Playwright, one browser context per person, so one Streamlit
session each):

1. Sessions: ``--sessions`` people open the Explorer at once, then go to Train live through the
   sidebar (the same session). Printed: how long each page took to be drawn and idle, and the
   server's resident memory (VmRSS of its process, read from /proc) before, at its peak, after
   every browser closed, and after one more person came and went (Streamlit drops closed
   sessions lazily).
2. Latency: one person edits the Explorer's sentence (a new forward pass on the server, the
   page idle again) ``--edits`` times alone, then again while ``--trainers`` others play on
   Train live; the trainers' steps per second are printed too.
3. Limits, in this process under AppTest (``--skip-limits`` skips it): each page at the
   largest model and text it accepts (session.limits, ui.widgets.MAX_CHARS, the atlas's
   MAX_TOKENS), with the memory Python allocated at its peak (tracemalloc) and the time.

Memory is sampled every 0.25 s. The machine has two cores shared with other work, so the
figures are noisy: compare the idle and loaded latencies of one run, not runs of other days.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402  (after the path is set)
    APP_DONE_SELECTOR,
    CHROMIUM_ARGS,
    RUNNING_SELECTOR,
    find_chromium,
)

STEP = '.st-key-train_metrics [data-testid="stMetricValue"]'
# the Explorer's view as the server sent it: its step view component (or, before that existed,
# its charts); drawing it is the browser's work
VIEW = '.rx, [data-testid="stPlotlyChart"]'
APP_RUNNING = '[data-testid="stApp"][data-test-script-state="running"]'
SENTENCES = ["The lamp was lit at dusk.", "A ship came in from the north.",
             "She read the letter twice.", "Rain fell on the grey harbour."]


# -- the server and its memory -------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc (psutil is not a dependency)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


class MemoryLog:
    """VmRSS of one process every ``every`` seconds, with the phase it was taken in."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        self.pid, self.every, self.phase = pid, every, "start"
        self.samples: list[tuple[float, str, float]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self._t0, self.phase, rss_mb(self.pid)))
            except OSError:
                return
            self._stop.wait(self.every)

    def start(self) -> MemoryLog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> float:
        return rss_mb(self.pid)

    def peak(self, phase: str) -> float:
        return max((mb for _, p, mb in self.samples if p == phase), default=float("nan"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server() -> tuple[subprocess.Popen, str]:
    port = _free_port()
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.address", "127.0.0.1",
         "--browser.gatherUsageStats", "false"],
        cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(base + "/_stcore/health", timeout=2) as r:
                if r.read().strip() == b"ok":
                    return proc, base
        except OSError:
            time.sleep(0.25)
    proc.kill()
    raise SystemExit("the server did not start within 60 s")


# -- browser sessions ----------------------------------------------------------------------------


async def idle(page, timeout_s: float = 120) -> None:
    """Until the script run is over and no rerun follows within 300 ms."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        await page.wait_for_selector(APP_DONE_SELECTOR, state="attached",
                                     timeout=timeout_s * 1000)
        await page.wait_for_selector(RUNNING_SELECTOR, state="hidden", timeout=timeout_s * 1000)
        await page.wait_for_timeout(300)
        if (await page.locator(APP_DONE_SELECTOR).count()
                and not await page.locator(RUNNING_SELECTOR).count()):
            return
    raise TimeoutError("the page kept running")


async def one_session(browser, base: str, times: dict[str, list[float]], hold) -> None:
    """Open the Explorer, then Train live through the sidebar; stay until ``hold`` is set."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    page = await context.new_page()
    page.set_default_timeout(300_000)  # twenty at once on two busy cores take a while
    try:
        t0 = time.monotonic()
        await page.goto(base + "/explorer", wait_until="commit")
        await page.wait_for_selector(VIEW, state="attached", timeout=300_000)
        await idle(page, 300)
        times["explorer"].append(time.monotonic() - t0)
        t0 = time.monotonic()
        await page.locator('[data-testid="stSidebarNav"] a', has_text="Train live").click()
        await page.wait_for_selector(STEP, timeout=300_000)
        await idle(page, 300)
        times["train"].append(time.monotonic() - t0)
        await hold.wait()
    except Exception as e:  # noqa: BLE001 - counted, the benchmark goes on
        times["failed"].append(0.0)
        print(f"  a session failed: {type(e).__name__}: {str(e)[:200]}")
    finally:
        await context.close()


async def sessions_phase(browser, base: str, mem: MemoryLog, n: int) -> dict:
    times: dict[str, list[float]] = {"explorer": [], "train": [], "failed": []}
    hold = asyncio.Event()
    mem.phase = "sessions"
    tasks = [asyncio.create_task(one_session(browser, base, times, hold)) for _ in range(n)]
    while sum(len(times[k]) for k in ("train", "failed")) < n:
        await asyncio.sleep(0.25)
    open_mb = mem.now()
    hold.set()
    await asyncio.gather(*tasks)
    mem.phase = "closed"
    await asyncio.sleep(15)
    closed_mb = mem.now()
    mem.phase = "one-more"  # a new session makes Streamlit drop the closed ones
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(120_000)
    await page.goto(base + "/")
    await idle(page)
    await context.close()
    await asyncio.sleep(10)
    return {"times": times, "open_mb": open_mb, "closed_mb": closed_mb,
            "after_mb": mem.now()}


async def edit_latency(page, edits: int) -> list[float]:
    """Type a new sentence into the Explorer and wait until the page is idle again."""
    box = page.locator('[data-testid="stTextInput"] input').first
    out = []
    for i in range(edits):
        await box.fill(SENTENCES[i % len(SENTENCES)] + f" {i}")
        t0 = time.monotonic()
        await box.press("Enter")
        try:  # the run starts; a quick one may be over before the indicator shows
            await page.wait_for_selector(APP_RUNNING, state="attached", timeout=2000)
        except Exception:  # noqa: BLE001 - Playwright's TimeoutError
            pass
        await idle(page)
        out.append(time.monotonic() - t0 - 0.3)  # idle() waits 300 ms to be sure
    return out


async def latency_phase(browser, base: str, mem: MemoryLog, trainers: int, edits: int) -> dict:
    mem.phase = "latency"
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    user = await context.new_page()
    user.set_default_timeout(120_000)
    await user.goto(base + "/explorer")
    await user.wait_for_selector(VIEW, state="attached", timeout=120_000)
    await idle(user)
    alone = await edit_latency(user, edits)
    others = []
    for _ in range(trainers):
        c = await browser.new_context(viewport={"width": 1400, "height": 1000})
        p = await c.new_page()
        p.set_default_timeout(120_000)
        await p.goto(base + "/train")
        await p.wait_for_selector(STEP, timeout=120_000)
        await idle(p)
        others.append((c, p))
    for _, p in others:
        await p.locator(".st-key-train_play button").first.click()
    await asyncio.sleep(3)
    t0 = time.monotonic()
    steps0 = [await _step(p) for _, p in others]
    loaded = await edit_latency(user, edits)
    steps1 = [await _step(p) for _, p in others]
    rates = [(b - a) / (time.monotonic() - t0) for a, b in zip(steps0, steps1, strict=True)]
    for c, _ in others:
        await c.close()
    await context.close()
    return {"alone": alone, "loaded": loaded, "rates": rates}


async def _step(page) -> int:
    text = await page.locator(STEP).first.inner_text()
    return int("".join(ch for ch in text if ch.isdigit()) or 0)


async def browser_phases(args) -> None:
    from playwright.async_api import async_playwright

    proc, base = start_server()
    mem = MemoryLog(proc.pid).start()
    try:
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(executable_path=find_chromium(), headless=True,
                                               args=CHROMIUM_ARGS)
            await asyncio.sleep(2)
            start_mb = mem.now()
            warm = await browser.new_context()  # the first run imports everything: not counted
            p = await warm.new_page()
            p.set_default_timeout(120_000)
            await p.goto(base + "/train")
            await p.wait_for_selector(STEP, timeout=120_000)
            await idle(p)
            await warm.close()
            await asyncio.sleep(5)
            warm_mb = mem.now()
            s = await sessions_phase(browser, base, mem, args.sessions)
            lat = await latency_phase(browser, base, mem, args.trainers, args.edits)
            await browser.close()
    finally:
        mem.stop()
        proc.terminate()
        proc.wait(timeout=20)
    t = s["times"]
    print(f"\n1. {args.sessions} sessions at once (Explorer, then Train live), "
          f"{len(t['failed'])} failed")
    print(f"   Explorer drawn and idle: {_s(t['explorer'])}")
    print(f"   Train live drawn and idle: {_s(t['train'])}")
    print(f"   server memory: {start_mb:.0f} MB started, {warm_mb:.0f} MB after a first visit, "
          f"peak {mem.peak('sessions'):.0f} MB, {s['open_mb']:.0f} MB with all open")
    per = (s["open_mb"] - warm_mb) / max(1, args.sessions)
    print(f"   about {per:.1f} MB per open session; {s['closed_mb']:.0f} MB 15 s after all "
          f"closed, {s['after_mb']:.0f} MB after one more visit "
          f"({s['after_mb'] - warm_mb:+.0f} MB against after the first visit)")
    print(f"\n2. Explorer, a new sentence until the page is idle ({args.edits} edits)")
    print(f"   alone: {_s(lat['alone'])}")
    print(f"   while {args.trainers} others train: {_s(lat['loaded'])}   "
          f"(x{statistics.median(lat['loaded']) / statistics.median(lat['alone']):.2f})")
    print("   trainers' steps/s meanwhile: "
          + ", ".join(f"{r:.0f}" for r in lat["rates"])
          + f" (B=16, T=25: {sum(lat['rates']) * 16 * 25 / 1000:.0f}k chars/s together)")
    print(f"   server memory peak in this phase: {mem.peak('latency'):.0f} MB")


def _s(v: list[float]) -> str:
    if not v:
        return "-"
    v = sorted(v)
    p90 = v[min(len(v) - 1, math.ceil(0.9 * len(v)) - 1)]
    return (f"median {statistics.median(v):.2f} s, p90 {p90:.2f} s, "
            f"max {v[-1]:.2f} s (n={len(v)})")


# -- the largest model and text each page accepts ---------------------------------------------


def limits_phase() -> None:
    import tracemalloc

    from streamlit.testing.v1 import AppTest

    from rnn import RNN, Vocab, checkpoint_bytes, load_corpus
    from session import limits
    from session.shelf import entry_from_upload
    from tests.conftest import APP
    from ui import state
    from ui.widgets import MAX_CHARS

    H = limits.MAX_HIDDEN
    V = getattr(limits, "MAX_VOCAB", 2048)  # the largest vocabulary a page is asked to show
    tokens = ["<unk>"] + [chr(0x100 + i) for i in range(V - 1)]
    model = RNN.create(V, H, seed=0, init_std=0.05)
    data = checkpoint_bytes(model, Vocab(tuple(tokens)))
    corpus = load_corpus("english")
    text = (corpus * 2)[:MAX_CHARS]
    big_corpus = (corpus * (limits.MAX_CORPUS_BYTES // len(corpus.encode()) + 1))
    while len(big_corpus.encode()) > limits.MAX_CORPUS_BYTES:
        big_corpus = big_corpus[:-1000]
    print(f"\n3. Each page at its limits (a checkpoint of H={H}, V={V}: "
          f"{len(data) / 2**20:.1f} MB; text {MAX_CHARS} characters)")

    def measure(name: str, prepare, act) -> None:
        at = AppTest.from_file(APP, default_timeout=600)
        at.run()
        prepare(at)
        tracemalloc.start()
        t0 = time.perf_counter()
        act(at)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        bad = [e.message for e in at.exception]
        print(f"   {name:<58} peak {peak:7.1f} MB  {seconds:6.1f} s"
              + (f"  EXCEPTION {bad[0][:80]}" if bad else ""))

    def with_big_model(page: str, extra=None):
        def prepare(at):
            state.shelf(at.session_state).add(entry_from_upload("big.npz", data))
            at.session_state["text"] = text
            if extra:
                extra(at)

        def act(at):
            at.switch_page(f"pages/{page}.py").run()
        return prepare, act

    measure("upload: read and check the checkpoint", lambda at: None,
            lambda at: entry_from_upload("big.npz", data))
    measure(f"Explorer: H={H}, V={V}, {MAX_CHARS} characters",
            *with_big_model("explorer"))
    measure("Explorer: the same with the weights (W_i, W_h, W_o) open",
            *with_big_model("explorer", lambda at: at.session_state.__setitem__(
                "explorer_weights", True)))
    measure(f"Backprop through time: H={H}, {MAX_CHARS} characters", *with_big_model("bptt"))
    measure(f"Hidden-state space: H={H}, {MAX_CHARS} characters", *with_big_model("space"))
    measure(f"Neuron atlas: H={H}, 3000 characters of own text", *with_big_model(
        "atlas", lambda at: (at.session_state.__setitem__("atlas_source", "own"),
                             at.session_state.__setitem__("atlas_text", (corpus * 2)[:3000]))))

    def train_prepare(at):
        at.switch_page("pages/train.py").run()
        for k, v in {"train_hidden": H, "train_seq_len": limits.MAX_SEQ_LEN,
                     "train_batch": limits.MAX_BATCH, "train_source": "Paste text",
                     "train_paste": big_corpus}.items():
            at.session_state[k] = v

    def train_act(at):
        at.run()  # the new run: vocabulary, encoding, step 0's validation and sample
        at.button(key="train_step").click().run()

    measure(f"Train live: H={H}, T={limits.MAX_SEQ_LEN}, B={limits.MAX_BATCH}, "
            f"{len(big_corpus.encode()) / 2**20:.1f} MB corpus, one step", train_prepare,
            train_act)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--trainers", type=int, default=5)
    ap.add_argument("--edits", type=int, default=8)
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--skip-limits", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    print(f"load_sessions: {os.cpu_count()} cores; other work may be running (figures noisy)")
    if not args.skip_browser:
        asyncio.run(browser_phases(args))
    if not args.skip_limits:
        limits_phase()


if __name__ == "__main__":
    main()
