"""Load from many people at once on one live server, and the memory it takes.

    python benchmarks/load_sessions.py [--sessions 20] [--trainers 5] [--edits 8]
                                       [--idle-min 2] [--skip-browser] [--skip-limits]

Against a live ``streamlit run app.py`` on a free port (``tests/browser/conftest.py`` starts
it), driven by headless Chromium (Debian's /usr/bin/chromium through Playwright, one browser
context per person, so one Streamlit session each). Training runs live in the server's run
registry, not in the sessions (``session/runs.py``): a run outlives its browser and is
released only when nobody has looked at it for ``RNN_RUN_IDLE_MIN``. The server is started
with that set to ``--idle-min`` (2 minutes instead of 30), so the benchmark can wait for it.

1. Sessions: ``--sessions`` people open the Explorer at once, then go to Train live through the
   sidebar (the same session; Train live gives each its run in the registry). Printed: how
   long each page took to be drawn and idle, and the server's resident memory (VmRSS from
   /proc) and run count: started, after a first visit, with all open, 15 s after every browser
   closed (the sessions released, their runs kept), after one more visit, and once the
   registry released the runs and Streamlit dropped the closed sessions (it keeps one for
   ``SESSION_TTL_S`` for a reconnect, and lets expired ones go when the next visit comes):
   as the server left it once its own trimmer had run (``RNN_TRIM_EVERY_S``, session/memory.py;
   with how many trims it made, how long they took and what they returned), and after one
   more garbage collection and ``malloc_trim`` by the benchmark. Run it with
   ``MALLOC_ARENA_MAX=2`` in the environment to measure the server as README advises, or with
   ``RNN_TRIM_EVERY_S=0`` for a server that never trims.
2. Latency: one person types a new sentence into the Explorer (a new forward pass on the
   server, the page idle again) ``--edits`` times alone, then while ``--trainers`` others play
   on Train live (at most ``RNN_MAX_TRAINING`` train at once, the others wait in line and take
   turns), then alone again once the trainers have paused. The trainers' pages are in a
   browser of their own at the lowest CPU priority (SCHED_IDLE): they stand for other people's
   browsers, which would not share the server's cores. Printed: median and p90 of each,
   their ratio, the trainers' steps per second, and how many trained and waited meanwhile.
3. Limits, in this process under AppTest (``--skip-limits`` skips it): each page at the
   largest model and text it accepts (session.limits, ui.widgets.MAX_CHARS, the atlas's
   MAX_TOKENS), with the memory Python allocated at its peak (tracemalloc) and the time.
   Meanwhile the server releases the latency phase's runs; its memory after that comes last.

The server's memory and its registry's counts (``RunRegistry.stats()``: runs kept, training,
waiting; read inside the server by a probe that writes them to a file every 0.5 s) are sampled
every 0.25 s and printed as a time series. The machine has two cores shared with other work,
so the figures are noisy: compare the idle and loaded latencies of one run, not runs of other
days.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402  (after the path is set)
    APP_DONE_SELECTOR,
    CHROMIUM_ARGS,
    RUNNING_SELECTOR,
    TRAIN_STEP,
    find_chromium,
    streamlit_process,
)

VIEW = ".rx"  # the Explorer's step view, drawn in the browser
TEXT_BOX = '[data-testid="stMain"] input[aria-label="Text for the network to read"]'
SENTENCES = ["The lamp was lit at dusk.", "A ship came in from the north.",
             "She read the letter twice.", "Rain fell on the grey harbour."]
SESSION_TTL_S = 120.0  # Streamlit's server.disconnectedSessionTTL, its default (not set here)
TRIM_EVERY_S = float(os.environ.get("RNN_TRIM_EVERY_S") or 60.0)  # the server's, as it will read it
LOADED_MIN_S = 25.0  # the loaded edits last at least this long: every trainer gets a turn

# Run inside the server (a sitecustomize on its PYTHONPATH): the registry's counts, never its
# tokens, written to a file every 0.5 s once the app has made the registry; and, when asked
# (a file "<stats>.trim" appears), a garbage collection and glibc's malloc_trim, so that the
# memory the C allocator keeps after a free can be told from memory still held.
PROBE = """import ctypes, gc, json, os, sys, threading, time

def _probe(path):
    while True:
        time.sleep(0.5)
        if os.path.exists(path + ".trim"):
            gc.collect()
            sys.modules["session.memory"].give_back()  # the app's own trim (loaded by now)
            with open(path + ".held", "w") as f:
                json.dump(_held(), f)
            os.remove(path + ".trim")
        server = sys.modules.get("session.server")
        if server is None or not server.runs.cache_info().currsize:
            continue
        stats = server.runs().stats()
        if server.trimmer.cache_info().currsize:
            stats["trimmer"] = server.trimmer().stats()
        with open(path + ".tmp", "w") as f:
            json.dump(stats, f)
        os.replace(path + ".tmp", path)

class _Mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ("arena", "ordblks", "smblks", "hblks", "hblkhd",
                                              "usmblks", "fsmblks", "uordblks", "fordblks",
                                              "keepcost")]

def _heaps():
    # MB: glibc's heaps (in use, free), its mmapped blocks, Python's small-object arenas and
    # what is in use in them (sys._debugmallocstats writes to the C stderr: caught in a file)
    out = {}
    try:
        f = ctypes.CDLL(None).mallinfo2
        f.restype = _Mallinfo2
        m = f()
        out.update(malloc_used=round(m.uordblks / 2**20, 1),
                   malloc_free=round(m.fordblks / 2**20, 1),
                   malloc_mmapped=round(m.hblkhd / 2**20, 1))
    except (AttributeError, OSError):
        pass
    import re, tempfile
    with tempfile.TemporaryFile(mode="w+") as t:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(t.fileno(), 2)
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        t.seek(0)
        text = t.read()
    def field(name):
        hit = re.search(re.escape(name) + r"\\s*=\\s*([\\d,]+)", text)
        return int(hit.group(1).replace(",", "")) if hit else -1
    out.update(pymalloc_arenas=field("# arenas allocated current"),
               pymalloc_used=round(field("# bytes in allocated blocks") / 2**20, 1))
    return out

def _held():
    # Streamlit's sessions (disconnected ones too), and MB per family of its own statistics
    try:
        from streamlit.runtime import Runtime
        rt = Runtime.instance()
        held = {"sessions": len(rt._session_mgr.list_sessions()),
                "objects": len(gc.get_objects()), **_heaps()}
        for family, stats in rt.stats_mgr.get_stats().items():
            held[family] = round(sum(getattr(s, "byte_length", 0) for s in stats) / 2**20, 1)
        return held
    except Exception as e:
        return {"error": repr(e)}

threading.Thread(target=_probe, args=(os.environ["RNN_BENCH_STATS"],), daemon=True).start()
"""


# -- the server, its memory and its runs ---------------------------------------------------------


def cpu_s(pid: int) -> float:
    """CPU seconds a process has used (user + system, all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident memory of a process in MB, from /proc (psutil is not a dependency)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


@contextlib.contextmanager
def server(idle_min: float):
    """The app's server with a short idle time and the registry probe; yields (pid, url, stats
    file)."""
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "sitecustomize.py").write_text(PROBE)
        stats = Path(tmp) / "runs.json"
        env = {"RNN_RUN_IDLE_MIN": f"{idle_min:g}",
               "RNN_BENCH_STATS": str(stats),
               "PYTHONPATH": os.pathsep.join([tmp, *filter(None, [os.environ.get("PYTHONPATH")])])}
        with streamlit_process(env=env) as (proc, url):
            yield proc.pid, url, stats


class ServerLog:
    """The server's VmRSS and its registry's counts every ``every`` seconds, with the phase."""

    def __init__(self, pid: int, stats: Path, every: float = 0.25) -> None:
        self.pid, self.stats, self.every, self.phase = pid, stats, every, "start"
        self.samples: list[tuple[float, str, float, dict]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._t0 = time.monotonic()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.samples.append((time.monotonic() - self._t0, self.phase,
                                     rss_mb(self.pid), self.runs()))
            except OSError:
                return
            self._stop.wait(self.every)

    def start(self) -> ServerLog:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def now(self) -> float:
        return rss_mb(self.pid)

    def runs(self) -> dict:
        """The registry's counts as the probe last wrote them ({} before it exists)."""
        try:
            return json.loads(self.stats.read_text())
        except (OSError, ValueError):
            return {}

    def trimmed(self) -> float:
        """RSS after the server collected garbage and gave the allocator's free pages back."""
        trim = Path(f"{self.stats}.trim")
        trim.touch()
        deadline = time.monotonic() + 10
        while trim.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        return self.now()

    def trims(self) -> str:
        """What the server's own trimmer did so far, in a few words."""
        t = self.runs().get("trimmer")
        if not t:
            return "the server's trimmer is off"
        return (f"the server's trimmer: {t['rounds']} rounds ({t['collections']} with a garbage "
                f"collection), {t['freed_mb']:.0f} MB returned in all; its collections took "
                f"{t['collect_median_ms']:.0f} ms median "
                f"(longest {t['collect_max_ms']:.0f} ms), its trims {t['trim_median_ms']:.1f} "
                f"ms (longest {t['trim_max_ms']:.1f} ms)")

    def held(self) -> str:
        """What Streamlit held at the last ``trimmed``, in a few words."""
        try:
            held = json.loads(Path(f"{self.stats}.held").read_text())
        except (OSError, ValueError):
            return "?"
        return ", ".join(f"{k} {v}" for k, v in held.items())

    def peak(self, phase: str) -> float:
        return max((mb for _, p, mb, _ in self.samples if p == phase), default=float("nan"))

    def state(self) -> str:
        """Memory and runs now, in a few words."""
        r = self.runs()
        return f"{self.now():.0f} MB, {r.get('runs', 0)} runs kept"

    def series(self, every_s: float) -> list[str]:
        """One line per ``every_s``: the largest RSS in it, and the counts at its end."""
        buckets: dict[int, list] = {}
        for sample in self.samples:
            buckets.setdefault(int(sample[0] // every_s), []).append(sample)
        lines = []
        for bucket in buckets.values():
            t, phase, _, r = bucket[-1]
            lines.append(f"  {t:6.0f} s  {phase:<12} {max(b[2] for b in bucket):6.0f} MB"
                         f"   runs kept {r.get('runs', 0):>2}, training {r.get('training', 0)},"
                         f" waiting {r.get('waiting', 0)}, estimated "
                         f"{r.get('bytes', 0) / 2**20:5.1f} MB")
        return lines


async def wait_released(log: ServerLog, limit_s: float) -> float:
    """Seconds until the registry keeps no run (or ``limit_s`` passed)."""
    t0 = time.monotonic()
    while log.runs().get("runs", 0) and time.monotonic() - t0 < limit_s:
        await asyncio.sleep(1)
    return time.monotonic() - t0


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
        await page.wait_for_selector(TRAIN_STEP, timeout=300_000)
        await idle(page, 300)
        times["train"].append(time.monotonic() - t0)
        await hold.wait()
    except Exception as e:  # noqa: BLE001 - counted, the benchmark goes on
        times["failed"].append(0.0)
        print(f"  a session failed: {type(e).__name__}: {str(e)[:200]}")
    finally:
        await context.close()


async def visit(browser, base: str) -> None:
    """One more person opens the home page and leaves."""
    context = await browser.new_context()
    page = await context.new_page()
    page.set_default_timeout(120_000)
    await page.goto(base + "/")
    await idle(page)
    await context.close()


async def sessions_phase(browser, base: str, log: ServerLog, n: int, idle_min: float) -> dict:
    times: dict[str, list[float]] = {"explorer": [], "train": [], "failed": []}
    hold = asyncio.Event()
    log.phase = "sessions"
    tasks = [asyncio.create_task(one_session(browser, base, times, hold)) for _ in range(n)]
    while sum(len(times[k]) for k in ("train", "failed")) < n:
        await asyncio.sleep(0.25)
    await asyncio.sleep(2)
    out = {"times": times, "open": log.state()}
    hold.set()
    await asyncio.gather(*tasks)
    t_closed = time.monotonic()
    log.phase = "closed"
    await asyncio.sleep(15)
    out["closed"] = log.state()
    log.phase = "one-more"
    await visit(browser, base)
    await asyncio.sleep(10)
    out["one_more"] = log.state()
    log.phase = "idle-release"
    out["released_s"] = 25 + await wait_released(log, idle_min * 60 + 90)
    # Streamlit keeps a closed browser's session for a reconnect (server.disconnectedSessionTTL,
    # 120 s): measure after that too, once the sessions themselves are gone
    await asyncio.sleep(max(5.0, SESSION_TTL_S + 10 - (out["released_s"] - 25)))
    await visit(browser, base)  # the store of closed sessions drops expired ones only when
    # it next changes (a cachetools TTLCache): a visit after the TTL makes it let them go
    await asyncio.sleep(TRIM_EVERY_S + 5 if TRIM_EVERY_S > 0 else 5)  # and the server trims
    out["gone_s"] = time.monotonic() - t_closed
    out["released"], out["released_mb"] = log.state(), log.now()
    out["trims"] = log.trims()
    out["trimmed"] = log.trimmed()
    return out


async def edit_latency(page, edits: int, min_s: float = 0.0) -> list[float]:
    """Type a new sentence into the Explorer and wait until the server has taken it (the URL
    holds it) and the page is idle again, ``edits`` times and for at least ``min_s`` seconds."""
    await page.bring_to_front()  # a page in the background has its timers throttled
    box = page.locator(TEXT_BOX).first
    out = []
    t_start = time.monotonic()
    i = 0
    while i < edits or time.monotonic() - t_start < min_s:
        sentence = SENTENCES[i % len(SENTENCES)] + f" {i}"
        await box.fill(sentence)
        t0 = time.monotonic()
        await box.press("Enter")
        await page.wait_for_function(
            "s => new URLSearchParams(location.search).get('text') === s", arg=sentence,
            timeout=120_000)
        await idle(page)
        out.append(time.monotonic() - t0 - 0.3)  # idle() waits 300 ms to be sure
        i += 1
    return out


async def latency_phase(browser, others_browser, base: str, log: ServerLog, trainers: int,
                        edits: int) -> dict:
    log.phase = "latency"
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    user = await context.new_page()
    user.set_default_timeout(120_000)
    await user.goto(base + "/explorer")
    await user.wait_for_selector(VIEW, state="attached", timeout=120_000)
    await idle(user)
    await edit_latency(user, 2)  # warm: not counted
    cpu = _CpuShare(log.pid)
    alone = await edit_latency(user, edits)
    cpu_alone = cpu.share()
    others = []
    for _ in range(trainers):
        c = await others_browser.new_context(viewport={"width": 1400, "height": 1000})
        p = await c.new_page()
        p.set_default_timeout(120_000)
        await p.goto(base + "/train")
        await p.wait_for_selector(TRAIN_STEP, timeout=120_000)
        await idle(p)
        others.append((c, p))
    log.phase = "training"
    for _, p in others:
        await p.locator(".st-key-train_play button").first.click()
    await asyncio.sleep(3)
    playing = sum([await _playing(p) for _, p in others])
    t0 = time.monotonic()
    n0 = len(log.samples)
    steps0 = [await _step(p) for _, p in others]
    cpu = _CpuShare(log.pid)
    loaded = await edit_latency(user, edits, LOADED_MIN_S)
    cpu_loaded = cpu.share()
    steps1 = [await _step(p) for _, p in others]
    rates = [(b - a) / (time.monotonic() - t0) for a, b in zip(steps0, steps1, strict=True)]
    counts = [r for *_, r in log.samples[n0:] if r]
    log.phase = "paused"
    for _, p in others:
        if await _playing(p):
            await p.locator(".st-key-train_pause button").first.click()
    await asyncio.sleep(3)
    paused = log.runs()
    after = await edit_latency(user, edits)
    for c, _ in others:
        await c.close()
    await context.close()
    log.phase = "closed-2"
    return {"alone": alone, "loaded": loaded, "after": after, "rates": rates,
            "counts": counts, "paused": paused, "playing": playing,
            "cpu": (cpu_alone, cpu_loaded)}


class _CpuShare:
    """The server's CPU seconds per wall second, and the machine's, from now until ``share``."""

    def __init__(self, pid: int) -> None:
        self.pid, self.t0, self.cpu0, self.all0 = pid, time.monotonic(), cpu_s(pid), _busy_s()

    def share(self) -> tuple[float, float]:
        wall = time.monotonic() - self.t0
        return (cpu_s(self.pid) - self.cpu0) / wall, (_busy_s() - self.all0) / wall


def _busy_s() -> float:
    """CPU seconds the whole machine has spent busy: user, nice, system, irq, softirq."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    return (sum(fields[:3]) + fields[5] + fields[6]) / os.sysconf("SC_CLK_TCK")  # no idle


def _idle_priority(executable: str, folder: str) -> str:
    """A launcher of ``executable`` at the lowest CPU priority (SCHED_IDLE), for the trainers'
    browser: those people's browsers would run on their own machines, not on the server's two
    cores, so here they only get what the server and the measured user's browser leave."""
    path = Path(folder) / "chromium-idle"
    path.write_text(f'#!/bin/sh\nexec chrt --idle 0 "{executable}" "$@"\n')
    path.chmod(0o755)
    return str(path)


async def _playing(page) -> bool:
    """The Train page shows its run playing (training or in line): Pause is enabled."""
    return await page.locator(".st-key-train_pause button").first.is_enabled()


async def _step(page) -> int:
    text = await page.locator(TRAIN_STEP).first.inner_text()
    return int("".join(ch for ch in text if ch.isdigit()) or 0)


def _s(v: list[float]) -> str:
    if not v:
        return "-"
    v = sorted(v)
    p90 = v[min(len(v) - 1, math.ceil(0.9 * len(v)) - 1)]
    return (f"median {statistics.median(v):.2f} s, p90 {p90:.2f} s, "
            f"max {v[-1]:.2f} s (n={len(v)})")


def _p90(v: list[float]) -> float:
    v = sorted(v)
    return v[min(len(v) - 1, math.ceil(0.9 * len(v)) - 1)]


async def browser_phases(args, pid: int, base: str, log: ServerLog) -> None:
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=find_chromium(), headless=True,
                                           args=CHROMIUM_ARGS)
        await asyncio.sleep(2)
        start = log.state()
        warm = await browser.new_context()  # the first run imports everything: not counted
        p = await warm.new_page()
        p.set_default_timeout(120_000)
        await p.goto(base + "/train")
        await p.wait_for_selector(TRAIN_STEP, timeout=120_000)
        await idle(p)
        await warm.close()
        await asyncio.sleep(5)
        log.phase = "warm"
        warm_state = log.state()
        warm_mb, warm_trim = log.now(), log.trimmed()
        print(f"server started: {start}; after a first visit (Explorer's imports, one Train "
              f"live run, closed): {warm_state}, {warm_trim:.0f} MB after a garbage "
              "collection and malloc_trim", flush=True)
        print(f"   Streamlit holds: {log.held()}")
        for round_ in range(1, args.rounds + 1 if args.sessions else 1):
            await _sessions_round(browser, base, log, args, round_, warm_mb, warm_trim)
        with tempfile.TemporaryDirectory() as tmp:
            others = await pw.chromium.launch(executable_path=_idle_priority(find_chromium(), tmp),
                                              headless=True, args=CHROMIUM_ARGS)
            lat = await latency_phase(browser, others, base, log, args.trainers, args.edits)
            await others.close()
        await browser.close()
    _print_latency(args, log, lat)


async def _sessions_round(browser, base: str, log: ServerLog, args, round_: int,
                          warm_mb: float, warm_trim: float) -> None:
    s = await sessions_phase(browser, base, log, args.sessions, args.idle_min)
    t = s["times"]
    print(f"\n1. {args.sessions} sessions at once (Explorer, then Train live), "
          f"{len(t['failed'])} failed" + (f"; round {round_}" if args.rounds > 1 else ""))
    print(f"   Explorer drawn and idle: {_s(t['explorer'])}")
    print(f"   Train live drawn and idle: {_s(t['train'])}")
    print(f"   server: all open {s['open']} (peak {log.peak('sessions'):.0f} MB); "
          f"15 s after all closed {s['closed']}; after one more visit {s['one_more']}")
    print(f"   runs released by the idle rule {s['released_s']:.0f} s after the browsers "
          f"closed, measured {s['gone_s']:.0f} s after (Streamlit keeps a closed session "
          f"{SESSION_TTL_S:g} s for a reconnect; one more visit after that, and "
          f"{TRIM_EVERY_S:g} s for the server's trimmer): {s['released']} "
          f"({s['released_mb'] - warm_mb:+.0f} MB against after the first visit); after one "
          f"more garbage collection and malloc_trim {s['trimmed']:.0f} MB "
          f"({s['trimmed'] - warm_trim:+.0f} MB against the same "
          "after the first visit)", flush=True)
    print(f"   {s['trims']}", flush=True)
    print(f"   Streamlit holds: {log.held()}", flush=True)


def _print_latency(args, log: ServerLog, lat: dict) -> None:
    ratio = statistics.median(lat["loaded"]) / statistics.median(lat["alone"])
    print("\n2. Explorer, a new sentence until the page is idle")
    print(f"   alone:                      {_s(lat['alone'])}")
    print(f"   while {args.trainers} others play on Train live ({lat['playing']} of them "
          f"playing): {_s(lat['loaded'])}")
    print(f"   alone again, trainers paused: {_s(lat['after'])}")
    print(f"   loaded / alone: median x{ratio:.2f}, p90 "
          f"x{_p90(lat['loaded']) / _p90(lat['alone']):.2f} (against alone again: median "
          f"x{statistics.median(lat['loaded']) / statistics.median(lat['after']):.2f})")
    (sa, ma), (sl, ml) = lat["cpu"]
    print(f"   CPU, cores busy: the server {sa:.2f} alone, {sl:.2f} with the trainers; the "
          f"whole machine {ma:.2f} and {ml:.2f} of {os.cpu_count()} (browsers and other work "
          "included)")
    c = lat["counts"]
    if c:
        tr = [x.get("training", 0) for x in c]
        wt = [x.get("waiting", 0) for x in c]
        print(f"   registry meanwhile: training {min(tr)}-{max(tr)} (median "
              f"{statistics.median(tr):g}), waiting {min(wt)}-{max(wt)} (median "
              f"{statistics.median(wt):g}), runs kept {c[-1].get('runs', 0)}")
    print("   trainers' steps/s meanwhile: "
          + ", ".join(f"{r:.1f}" for r in lat["rates"])
          + f" (B=16, T=25: {sum(lat['rates']) * 16 * 25 / 1000:.1f}k chars/s together)")
    print(f"   server memory peak while they trained: {log.peak('training'):.0f} MB; after "
          f"Pause: {lat['paused'].get('training', 0)} training, "
          f"{lat['paused'].get('waiting', 0)} waiting", flush=True)


# -- the largest model and text each page accepts ---------------------------------------------


def limits_phase() -> None:
    import logging
    import tracemalloc

    from streamlit.testing.v1 import AppTest

    from rnn import RNN, Vocab, checkpoint_bytes, load_corpus
    from session import limits
    from session.shelf import entry_from_upload
    from tests.conftest import APP
    from ui import state
    from ui.widgets import MAX_CHARS

    # "missing ScriptRunContext": the phase calls the pages' helpers outside a script run
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(
        logging.ERROR)
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
    ap.add_argument("--idle-min", type=float, default=2.0,
                    help="RNN_RUN_IDLE_MIN of the server (minutes; the default server's is 30)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="how many times the sessions phase runs (does memory climb?)")
    ap.add_argument("--every", type=float, default=10.0, help="seconds per line of the series")
    ap.add_argument("--skip-browser", action="store_true")
    ap.add_argument("--skip-limits", action="store_true")
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out
    print(f"load_sessions: {os.cpu_count()} cores, load average "
          f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())} (1/5/15 min); other work may be "
          "running (figures noisy)", flush=True)
    if args.skip_browser:
        if not args.skip_limits:
            limits_phase()
        return
    print(f"server: RNN_RUN_IDLE_MIN={args.idle_min:g} (a run nobody looks at is released "
          f"after {args.idle_min:g} min, checked every 30 s), other settings at their defaults",
          flush=True)
    with server(args.idle_min) as (pid, base, stats):
        log = ServerLog(pid, stats).start()
        try:
            asyncio.run(browser_phases(args, pid, base, log))
            if not args.skip_limits:
                limits_phase()
            log.phase = "idle-release"
            t0 = time.monotonic()
            while log.runs().get("runs", 0) and time.monotonic() - t0 < args.idle_min * 60 + 90:
                time.sleep(1)
            time.sleep(5)
            print(f"\nserver at the end, the latency phase's runs released by the idle rule: "
                  f"{log.state()}; after a garbage collection and malloc_trim "
                  f"{log.trimmed():.0f} MB; Streamlit holds: {log.held()}")
        finally:
            log.stop()
    print(f"\nserver memory and runs over time (every {args.every:g} s: the largest RSS in "
          "it, the registry's counts at its end)")
    print("\n".join(log.series(args.every)))
    print(f"load average at the end: {' / '.join(f'{x:.1f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
