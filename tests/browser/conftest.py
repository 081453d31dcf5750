"""Fixtures for real-browser tests: a live ``streamlit run app.py`` driven by Chromium.

The browser is Debian's ``chromium`` package, driven through Playwright's sync API with
``executable_path``; Playwright's own browser downloads are never used (``playwright install``
cannot run in CI). When Chromium or the ``playwright`` package is missing, these tests are
skipped on a developer machine and fail under ``CI=true``.

Fixtures:
    app_server     (session)  base URL of a live Streamlit server on a free local port
    browser        (session)  a headless Chromium
    page           (function) a fresh 1400x1000 page in its own context
    wait_for_app   helper: wait_for_app(page) waits until the script run is finished and
                   asserts that no exception is shown
    screenshot     helper: screenshot(page, name) saves tests/screenshots/<name>.png
    css_rgb        helper: css_rgb(css) is a computed CSS colour as 0-255 channels
    (the WCAG contrast ratio of two such colours is figures.style.contrast)

Every test in this folder gets the ``browser`` marker, so ``pytest -m "not browser"`` skips
them all.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / "tests" / "screenshots"
BROWSER_DIR = Path(__file__).resolve().parent

SERVER_START_TIMEOUT_S = 60
APP_RUN_TIMEOUT_MS = 60_000

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Streamlit 1.67 DOM, checked against the running app:
#  * the root element carries the script state of the session:
#    <div data-testid="stApp" data-test-script-state="initial|running|notRunning|
#    rerunRequested|stopRequested|compilationError" data-test-connection-state="CONNECTED|...">
#  * while a script runs, the header shows [data-testid="stStatusWidget"] with a
#    [data-testid="stStatusWidgetRunningIcon"] (and ...RunningManIcon) and a "Stop" button.
#  * an uncaught exception is rendered as [data-testid="stException"].
APP_SELECTOR = '[data-testid="stApp"]'
APP_DONE_SELECTOR = (
    '[data-testid="stApp"][data-test-connection-state="CONNECTED"]'
    ':is([data-test-script-state="notRunning"], [data-test-script-state="compilationError"])'
)
RUNNING_SELECTOR = (
    '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningIcon"], '
    '[data-testid="stStatusWidget"] [data-testid="stStatusWidgetRunningManIcon"]'
)
EXCEPTION_SELECTOR = '[data-testid="stException"]'
TRAIN_STEP = '.st-key-train_metrics [data-testid="stMetricValue"]'  # Train live's first metric


def train_step(page) -> int:
    """The step Train live shows now (0 before it shows one)."""
    return int(re.sub(r"\D", "", page.locator(TRAIN_STEP).first.inner_text()) or 0)


def wait_train_step(page, at_least: int, timeout_ms: int) -> None:
    """Until Train live shows step ``at_least`` or beyond (its timers redraw it)."""
    page.wait_for_function(
        f"() => {{ const e = document.querySelector('{TRAIN_STEP}'); "
        f"return e && parseInt(e.innerText.replace(/\\D/g, '')) >= {at_least}; }}",
        timeout=timeout_ms)


def _under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def _missing(reason: str) -> None:
    """Fail under CI=true, skip elsewhere."""
    if _under_ci():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def find_chromium() -> str | None:
    """Debian's Chromium: $CHROMIUM_PATH if set, else /usr/bin/chromium, else chromium on PATH."""
    override = os.environ.get("CHROMIUM_PATH")
    candidates = [override] if override else []
    candidates += ["/usr/bin/chromium", shutil.which("chromium")]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _health_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200 and response.read().decode().strip() == "ok"
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@contextlib.contextmanager
def streamlit_process(script: str | Path = "app.py", *, cwd: Path = REPO_ROOT,
                      env: dict[str, str] | None = None, args: tuple[str, ...] = (),
                      log_path: Path | None = None):
    """Start ``streamlit run script`` on a free port; yield ``(process, base_url)`` once it
    answers its health check; stop it afterwards. Tests and benchmarks start servers only here.

    The server reads .streamlit/config.toml (of ``cwd``) as a user's does; the flags set only
    what a test run needs (``args`` adds more). Its shared models go to a temporary folder of
    its own; ``env`` adds or overrides environment variables (benchmarks shorten the run
    registry's times). Its output goes to ``log_path`` if given (and is kept), else to a
    temporary file removed afterwards."""
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable, "-m", "streamlit", "run", str(script),
        "--server.headless", "true",
        "--server.port", str(port),
        "--server.address", "127.0.0.1",
        *args,
    ]  # fmt: skip
    # Output goes to a file, not a pipe: a pipe nobody reads would block a chatty server.
    keep_log = log_path is not None
    if keep_log:
        log = open(log_path, "wb")  # closed below, once the server holds it
    else:
        log = tempfile.NamedTemporaryFile(prefix="streamlit-", suffix=".log", delete=False)
        log_path = Path(log.name)
    store = tempfile.mkdtemp(prefix="shared-models-")  # shared models of this server only
    proc = subprocess.Popen(
        cmd, cwd=cwd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        env={**os.environ, "RNN_STORE_DIR": store, **(env or {})},
    )
    log.close()

    def server_output() -> str:
        try:
            return log_path.read_text(errors="replace")[-5000:]
        except OSError:
            return "<no output>"

    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"streamlit exited with code {proc.returncode} before answering "
                    f"{base_url}/_stcore/health.\nCommand: {' '.join(cmd)}\n"
                    f"Server output:\n{server_output()}",
                    pytrace=False,
                )
            if _health_ok(f"{base_url}/_stcore/health"):
                break
            if time.monotonic() > deadline:
                pytest.fail(
                    f"streamlit did not answer 'ok' on {base_url}/_stcore/health within "
                    f"{SERVER_START_TIMEOUT_S} s.\nCommand: {' '.join(cmd)}\n"
                    f"Server output:\n{server_output()}",
                    pytrace=False,
                )
            time.sleep(0.25)
        yield proc, base_url
    finally:
        _stop(proc)
        if not keep_log:
            log_path.unlink(missing_ok=True)
        shutil.rmtree(store, ignore_errors=True)


@contextlib.contextmanager
def streamlit_server(log_path: Path | None = None, env: dict[str, str] | None = None):
    """``streamlit run app.py`` (see ``streamlit_process``); yields its base URL."""
    with streamlit_process(env=env, log_path=log_path) as (_, base_url):
        yield base_url


@pytest.fixture(scope="session")
def app_server():
    """One server for the whole test session (pages are warmed by earlier tests)."""
    with streamlit_server() as base_url:
        yield base_url


@pytest.fixture
def fresh_app_server():
    """A server of its own that no page has been opened on yet (first-visit behaviour)."""
    with streamlit_server() as base_url:
        yield base_url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if sync_playwright is None:
        _missing(
            "The playwright Python package is required for browser tests"
            + (" under CI=true" if _under_ci() else "")
            + "; install it with: python -m pip install -r requirements-dev.txt"
        )
    path = find_chromium()
    if path is None:
        if _under_ci():
            _missing("Chromium is required under CI=true; install Debian's chromium package")
        _missing(
            "Chromium not found at /usr/bin/chromium or on PATH; install Debian's chromium "
            "package (apt-get install chromium) to run the browser tests"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        yield page
    finally:
        context.close()


def wait_for_app(page, timeout_ms: int = APP_RUN_TIMEOUT_MS, settle_ms: int = 300) -> None:
    """Wait until Streamlit has finished running the script, then assert no exception is shown.

    Finished means: the ``stApp`` root is connected and its script state is ``notRunning``
    (or ``compilationError``), and no running indicator is visible in the status widget; this
    must still hold after ``settle_ms`` so that a rerun that starts right away is waited for too.
    """
    page.wait_for_selector(APP_SELECTOR, state="attached", timeout=timeout_ms)
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        remaining_ms = max(1, int((deadline - time.monotonic()) * 1000))
        try:
            page.wait_for_selector(APP_DONE_SELECTOR, state="attached", timeout=remaining_ms)
            page.wait_for_selector(RUNNING_SELECTOR, state="hidden", timeout=remaining_ms)
        except Exception as exc:  # Playwright's TimeoutError
            state = page.evaluate(
                """() => { const a = document.querySelector('[data-testid="stApp"]');
                           return a ? [a.dataset.testScriptState, a.dataset.testConnectionState]
                                    : null; }"""
            )
            raise AssertionError(
                f"Streamlit app at {page.url} did not finish running within {timeout_ms} ms "
                f"(script state, connection state: {state})"
            ) from exc
        page.wait_for_timeout(settle_ms)
        if page.locator(APP_DONE_SELECTOR).count() and not page.locator(RUNNING_SELECTOR).count():
            break
        if time.monotonic() > deadline:
            raise AssertionError(f"Streamlit app at {page.url} kept rerunning for {timeout_ms} ms")

    exceptions = page.locator(EXCEPTION_SELECTOR)
    if exceptions.count():
        texts = [re.sub(r"\s+", " ", t).strip()[:800] for t in exceptions.all_inner_texts()]
        raise AssertionError(f"Streamlit shows an exception at {page.url}:\n" + "\n".join(texts))


def screenshot(page, name: str) -> Path:
    """Save a full-page PNG as tests/screenshots/<name>.png and return its path."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "page"
    path = SCREENSHOT_DIR / f"{safe}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def css_rgb(css: str) -> tuple[float, ...]:
    """A computed CSS colour as 0-255 channels: rgb(...) or color(srgb ...) from color-mix."""
    vals = [float(x) for x in re.findall(r"[\d.]+", css.replace("srgb", ""))[:3]]
    return tuple(v * 255 for v in vals) if css.startswith("color(") else tuple(vals)


@pytest.fixture(name="wait_for_app")
def wait_for_app_fixture():
    """The wait_for_app(page) helper, as a fixture (no import from conftest needed)."""
    return wait_for_app


@pytest.fixture(name="screenshot")
def screenshot_fixture():
    """The screenshot(page, name) helper, as a fixture (no import from conftest needed)."""
    return screenshot


def pytest_collection_modifyitems(config, items):
    for item in items:
        if BROWSER_DIR in Path(str(item.path)).resolve().parents:
            item.add_marker(pytest.mark.browser)
