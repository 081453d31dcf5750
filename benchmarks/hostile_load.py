"""Issue 15's three worst attacks against a live server, and what another user feels meanwhile.

    python benchmarks/hostile_load.py [--attacks D1,D2,D3] [--probes 8] [--keep-files DIR]

A live ``streamlit run app.py`` on a free port, two headless Chromium contexts (Debian's
/usr/bin/chromium through Playwright, as in tests/browser/):

- **another user** keeps the Explorer open and, again and again, types a new sentence and waits
  until the app has run the page and is idle: that round trip is their latency;
- **the attacker** runs one of the tester's repros in its own browser context:
  D1  uploads a 0.4 MB .npz whose ``meta_json`` holds 60 M repetitions of ``1.5,`` (240 MB of
      JSON) in the Explorer's checkpoint uploader;
  D2  uploads an H=4096 model (a few MB) on the Backprop page and moves the W_h slider twice;
  D3  uploads a 1.9 MB .txt with 100,000 distinct characters on Train live and plays 10 s.

For each attack: the server's resident memory (VmRSS of the streamlit process, sampled every
50 ms) at its peak above the level just before the attack, and after the attacker's browser
closed; the other user's median and p90 latency while the attack runs, and the ratio to their
idle latency measured just before. Goals (issue 15): peak memory under 200 MB above the
baseline, the other user's latency within 2x idle.

The machine has two cores, shared with whatever else runs: latencies are noisy, and the ratio
is measured side by side in one run (idle probes right before each attack).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import threading
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser.conftest import (  # noqa: E402  (after the path is set)
    CHROMIUM_ARGS,
    find_chromium,
    streamlit_process,
)

DONE = ('[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
        '[data-test-script-state="notRunning"]')
RUNNING = '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"]'
ALERTS = '[data-testid="stAlert"], [data-testid="stException"]'
ATTACK_TIMEOUT_S = 240


# -- the hostile files ------------------------------------------------------------------------


def _npy(a: np.ndarray) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, a, allow_pickle=False)
    return buf.getvalue()


def d1_file() -> bytes:
    """A valid model whose metadata is 240 MB of JSON, zipped to well under 1 MB."""
    from rnn import RNN, Vocab

    vocab = Vocab.build("hello world")
    model = RNN.create(vocab.size, 8, seed=0)
    head = json.dumps({"format_version": 1, "vocab": {"tokens": list(vocab.tokens),
                                                      "level": "char"}})[:-1]
    meta = (head + ', "x": [' + "1.5," * 60_000_000 + "1]}").encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for k, v in model.params().items():
            zf.writestr(k + ".npy", _npy(v))
        zf.writestr("meta_json.npy", _npy(np.frombuffer(meta, np.uint8)))
    return buf.getvalue()


def d2_file() -> bytes:
    """An H=4096 char model: mostly zeros, so it compresses to a few MB."""
    from rnn import RNN, Vocab, checkpoint_bytes

    vocab = Vocab.build("abcdefghij ")
    H, V = 4096, vocab.size
    rng = np.random.default_rng(0)
    W_h = np.zeros((H, H), np.float32)
    idx = rng.integers(0, H, size=(20_000, 2))
    W_h[idx[:, 0], idx[:, 1]] = rng.normal(0, 0.3, 20_000)
    model = RNN(W_i=rng.normal(0, 0.1, (H, V)).astype(np.float32), W_h=W_h,
                b_h=np.zeros(H, np.float32), W_o=rng.normal(0, 0.1, (V, H)).astype(np.float32),
                b_o=np.zeros(V, np.float32))
    return checkpoint_bytes(model, vocab, title="big")


def d3_file() -> bytes:
    """1.9 MB of UTF-8 text using 100,000 distinct characters."""
    chars = [chr(c) for c in range(0x4E00, 0x9FFF + 1)]  # CJK unified ideographs
    chars += [chr(c) for c in range(0x20000, 0x20000 + 100_000 - len(chars))]
    rng = np.random.default_rng(0)
    text = "".join(chars) + "".join(rng.choice(chars, 400_000))
    data = text.encode("utf-8")
    return data[: 1_900_000 - 1_900_000 % 4].decode("utf-8", errors="ignore").encode("utf-8")


# -- the server's memory ----------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    """Resident memory of one process, MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class MemorySampler(threading.Thread):
    """Samples a process's RSS every 50 ms until stopped; keeps the peak."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.05)


# -- the browsers -------------------------------------------------------------------------------


def wait_idle(page, timeout_s: float = 60) -> None:
    """Until the script run is over (and stays over for 0.3 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        page.wait_for_selector(DONE, state="attached",
                               timeout=max(1, (deadline - time.monotonic()) * 1000))
        page.wait_for_timeout(300)
        if page.locator(DONE).count() and not page.locator(RUNNING).count():
            return
    raise TimeoutError("the app stayed busy")


def probe(page, i: int) -> float:
    """The other user types a new sentence; seconds until the page has run and is idle."""
    box = page.locator('[data-testid="stMain"] input[aria-label="Text for the network to read"]')
    box.fill(f"Another user reads sentence number {i} on the shared server.")
    t0 = time.perf_counter()
    box.press("Enter")
    page.wait_for_timeout(50)  # the rerun starts
    wait_idle(page, 120)
    return time.perf_counter() - t0


def upload(page, label: str, name: str, data: bytes, mime: str) -> None:
    """Set a file on the file uploader whose label (or the expander around it) says ``label``."""
    expander = page.locator('[data-testid="stExpander"]', has_text=label)
    if expander.count():
        summary = expander.first.locator("summary")
        if summary.count():
            summary.first.click()
            page.wait_for_timeout(300)
    target = page.locator('[data-testid="stFileUploader"]', has_text=label)
    if not target.count():
        target = expander.first.locator('[data-testid="stFileUploader"]')
    target.first.locator('input[type="file"]').set_input_files(
        {"name": name, "mimeType": mime, "buffer": data})


def alerts(page) -> str:
    """What the page's alert boxes say, on one line."""
    return " | ".join(t.strip().replace("\n", " ")[:160]
                      for t in page.locator(ALERTS).all_inner_texts())


def attack(url: str, which: str, files: dict[str, bytes], out: dict) -> None:
    """One attacker in its own browser (a thread of its own, with its own Playwright)."""
    from playwright.sync_api import sync_playwright

    t0 = time.perf_counter()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True,
                                    args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        try:
            if which in ("D1", "D2"):  # a checkpoint in the sidebar's uploader
                page.goto(url + ("/explorer" if which == "D1" else "/bptt"))
                wait_idle(page)
                upload(page, "Upload a checkpoint", f"{which.lower()}.npz", files[which],
                       "application/octet-stream")
                page.wait_for_timeout(500)
                wait_idle(page, ATTACK_TIMEOUT_S)
                out["seen"] = alerts(page)
            if which == "D2":  # then the W_h slider, twice
                thumb = page.locator('[data-testid="stSlider"]', has_text="multiply W_h"
                                     ).first.locator("[tabindex]").first  # the slider's thumb
                for _ in range(2):
                    thumb.focus()
                    page.keyboard.press("ArrowRight")
                    page.wait_for_timeout(500)
                    wait_idle(page, ATTACK_TIMEOUT_S)
            elif which == "D3":
                page.goto(url + "/train")
                wait_idle(page)
                page.get_by_text("Upload a .txt file").first.click()
                wait_idle(page)
                upload(page, ".txt file", "d3.txt", files["D3"], "text/plain")
                page.wait_for_timeout(500)
                wait_idle(page, ATTACK_TIMEOUT_S)
                play = page.get_by_role("button", name="Play")
                if play.count():
                    play.first.click()
                    page.wait_for_timeout(10_000)
                    pause = page.get_by_role("button", name="Pause")
                    if pause.count():
                        pause.first.click()
                    wait_idle(page, ATTACK_TIMEOUT_S)
            out["seen"] = out.get("seen") or alerts(page)
        except Exception as e:  # report what happened, whatever it was
            out["seen"] = (out.get("seen", "") + f" | {type(e).__name__}: "
                           f"{str(e).splitlines()[0][:200]}")
        finally:
            out["seconds"] = time.perf_counter() - t0
            browser.close()


def summary(values: list[float]) -> str:
    if not values:
        return "no probes"
    v = sorted(values)
    return (f"median {statistics.median(v):.2f} s, p90 {v[int(0.9 * (len(v) - 1))]:.2f} s "
            f"(n={len(v)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--attacks", default="D1,D2,D3")
    ap.add_argument("--probes", type=int, default=8, help="idle probes before each attack")
    ap.add_argument("--keep-files", type=Path, default=None,
                    help="also write the hostile files into this folder")
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    makers = {"D1": d1_file, "D2": d2_file, "D3": d3_file}
    attacks = [a.strip() for a in args.attacks.split(",") if a.strip()]
    files = {a: makers[a]() for a in attacks}
    for a, data in files.items():
        print(f"{a}: hostile file of {len(data) / 1e6:.2f} MB", flush=True)
        if args.keep_files:
            args.keep_files.mkdir(parents=True, exist_ok=True)
            (args.keep_files / f"{a.lower()}{'.txt' if a == 'D3' else '.npz'}").write_bytes(data)
    print(f"machine: {os.cpu_count()} cores, shared with other work; load average "
          f"{os.getloadavg()[0]:.2f}", flush=True)
    results = []
    with streamlit_process() as (server, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=find_chromium(), headless=True,
                                    args=CHROMIUM_ARGS)
        user = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
        user.goto(url + "/explorer")
        wait_idle(user, 120)
        for i in range(3):  # warm up the server and the page
            probe(user, i)
        n = 100
        for which in attacks:
            idle = []
            for _ in range(args.probes):
                idle.append(probe(user, n))
                n += 1
            time.sleep(2)
            base = rss_mb(server.pid)
            sampler = MemorySampler(server.pid)
            sampler.start()
            out: dict = {}
            hostile = threading.Thread(target=attack, args=(url, which, files, out))
            hostile.start()
            busy = []
            while hostile.is_alive():
                busy.append(probe(user, n))
                n += 1
            hostile.join()
            time.sleep(5)  # the attacker's browser has closed: its session disconnected
            sampler.stop.set()
            sampler.join()
            after = rss_mb(server.pid)
            r = {"attack": which, "baseline_mb": base, "peak_above_mb": sampler.peak - base,
                 "after_close_above_mb": after - base, "idle": idle, "busy": busy,
                 "attack_s": out.get("seconds"), "seen": out.get("seen", "")}
            results.append(r)
            ratio = (statistics.median(busy) / statistics.median(idle)) if busy else None
            print(f"\n{which}: attack took {r['attack_s']:.1f} s; the attacker saw: "
                  f"{r['seen'] or '(no message)'}")
            print(f"  server memory: baseline {base:.0f} MB, peak +{r['peak_above_mb']:.0f} "
                  f"MB, 5 s after the attacker left +{r['after_close_above_mb']:.0f} MB "
                  f"(goal: peak < +200 MB)")
            print(f"  other user, idle:          {summary(idle)}")
            print(f"  other user, under attack:  {summary(busy)}"
                  + (f"  -> {ratio:.2f}x idle (goal <= 2x)" if ratio else ""), flush=True)
        browser.close()
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f} (2 cores, shared)")


if __name__ == "__main__":
    main()
