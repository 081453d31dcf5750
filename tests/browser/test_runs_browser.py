"""A run that survives and travels, in a real browser: training goes on off the page, a reload
finds the run again, a shared link opens the same model elsewhere, and the analysis pages'
views live in their URLs."""

from __future__ import annotations

import re
from urllib.parse import quote

from tests.browser.conftest import TRAIN_STEP, train_step, wait_train_step
from tests.browser.test_train_browser import _loss_points as loss_points

INDICATOR = ".st-key-run_indicator"


def _indicator_step(page) -> int:
    text = page.locator(INDICATOR).first.inner_text()
    found = re.search(r"step\s+([\d,]+)", text)
    assert found, text
    return int(found.group(1).replace(",", ""))


def _wait_step(page, above: int, timeout_ms: int = 90_000) -> None:
    wait_train_step(page, above + 1, timeout_ms)


def _start_training(page, base: str, wait_for_app, above: int) -> None:
    page.goto(base + "/train")
    page.wait_for_selector(TRAIN_STEP, timeout=60_000)
    wait_for_app(page)
    page.locator(".st-key-train_play button").first.click()
    _wait_step(page, above)


def _nav(page, title: str, path: str) -> None:
    """Go to another page by the sidebar (a playing run keeps the page's timers busy, so this
    waits for the page's content, not for an idle app)."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).first.click()
    page.wait_for_url(re.compile(f"/{path}(\\?|$)"), timeout=30_000)
    page.wait_for_selector(f'[data-testid="stMain"] h1:has-text("{title}")', timeout=60_000)


def test_training_goes_on_while_on_the_explorer(app_server, page, wait_for_app, screenshot):
    _start_training(page, app_server, wait_for_app, 50)
    s0 = train_step(page)
    page.wait_for_timeout(3000)
    left_at = train_step(page)
    per_s = (left_at - s0) / 3.0  # steps per second on this (busy) machine, about
    _nav(page, "Explorer", "explorer")
    page.wait_for_timeout(8000)
    indicator = [_indicator_step(page)] if page.locator(INDICATOR).count() else []
    page.wait_for_timeout(7000)
    indicator += [_indicator_step(page)] if page.locator(INDICATOR).count() else []
    screenshot(page, "run-indicator-on-explorer")
    _nav(page, "Train live", "train")
    page.wait_for_selector(TRAIN_STEP, timeout=30_000)
    back_at = train_step(page)  # at once: the page itself trains nothing before it draws this
    # 15 s away: about 15 x per_s steps if it trained there; only what the Train page trained
    # while the two page changes took (a few seconds) if it did not
    assert back_at - left_at > 8 * per_s, (
        f"training stopped on the Explorer: {left_at} -> {back_at} in 15 s away, at about "
        f"{per_s:.0f} steps/s before")
    assert len(indicator) == 2 and indicator[0] < indicator[1], (
        f"the sidebar did not follow the run: {indicator}")
    assert page.locator(".st-key-train_pause button").first.is_enabled()


def test_a_reload_mid_run_keeps_the_run(app_server, page, wait_for_app, screenshot):
    _start_training(page, app_server, wait_for_app, 150)  # past the snapshot at step 100
    before = train_step(page)
    page.reload()
    page.wait_for_selector(TRAIN_STEP, timeout=60_000)
    page.wait_for_selector(".st-key-train_loss_chart .js-plotly-plot", timeout=60_000)
    page.wait_for_timeout(1000)
    assert train_step(page) >= before, "the run started over"
    assert "run=" in page.url
    assert loss_points(page)[0] >= min(before, 100)  # its history
    options = []
    for _ in range(3):  # the list opens on a click; a busy page may take a while
        page.locator(".st-key-train_explore_pick").click()
        try:
            page.wait_for_selector('[role="option"]', timeout=10_000)
        except Exception:  # Playwright's TimeoutError: click again
            continue
        options = page.locator('[role="option"]').all_inner_texts()
        page.keyboard.press("Escape")
        break
    assert any(o.startswith("snapshot at step 100") for o in options), options  # snapshots
    assert page.locator(".st-key-train_pause button").first.is_enabled()  # still training
    screenshot(page, "run-after-reload")


def _explorer_numbers(page) -> tuple[str, str]:
    """The model line of the Explorer and the spectral radius of its W_h."""
    page.wait_for_selector('[data-testid="stMain"] [data-testid="stMarkdown"]', timeout=30_000)
    summary = page.locator('[data-testid="stMain"] [data-testid="stMarkdown"]',
                           has_text="hidden neurons").first.inner_text()
    page.locator('[data-testid="stExpander"] summary', has_text="The weights").first.click()
    page.wait_for_selector('[data-testid="stMetric"]:has-text("Spectral radius")',
                           timeout=30_000)
    rho = page.locator('[data-testid="stMetric"]', has_text="Spectral radius").first.locator(
        '[data-testid="stMetricValue"]').inner_text()
    return summary, rho


def test_a_shared_link_opens_the_same_model_in_another_browser(
        app_server, browser, page, wait_for_app, screenshot):
    _start_training(page, app_server, wait_for_app, 120)
    page.locator(".st-key-train_pause button").first.click()
    wait_for_app(page)
    page.locator(".st-key-train_share button").first.click()
    wait_for_app(page)
    link = page.locator('[data-testid="stCode"]', has_text="model=sha256-").first.inner_text()
    link = link.strip()
    assert re.fullmatch(r"http://[^ ]+/explorer\?model=sha256-[0-9a-f]{64}", link), link
    assert "run=" not in link  # the link carries the model, never the run
    screenshot(page, "share-link")
    page.locator(".st-key-train_explore button").first.click()  # the same weights, here
    wait_for_app(page)
    here = _explorer_numbers(page)

    other = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        there_page = other.new_page()
        there_page.goto(link)
        wait_for_app(there_page)
        there = _explorer_numbers(there_page)
        screenshot(there_page, "shared-model-second-browser")
        assert there[0].startswith("Shared: Trained on english"), there[0]
    finally:
        other.close()
    strip = re.compile(r"^\*?\*?[^·]*·")  # the label differs ("Trained here" / "Shared")
    assert strip.sub("", here[0]) == strip.sub("", there[0]), (here, there)
    assert here[1] == there[1]


def test_an_altered_run_token_gets_a_notice_and_a_fresh_run(app_server, page, wait_for_app):
    page.goto(app_server + "/train?run=" + "A" * 32)
    page.wait_for_selector(TRAIN_STEP, timeout=60_000)
    wait_for_app(page)
    assert page.locator('[data-testid="stAlert"]', has_text="not on this server").count()
    assert train_step(page) == 0


def _picked(page) -> str:
    """What the sidebar's model picker shows."""
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    return picker.inner_text() + " " + " ".join(
        el.input_value() for el in picker.locator("input").all())


def _value(page, label: str) -> str:
    return page.locator(f'input[aria-label="{label}"]').first.input_value()


def test_deep_links_reproduce_the_bptt_space_and_atlas_views(
        app_server, page, wait_for_app, screenshot):
    text = "The lamp is lit."
    page.goto(f"{app_server}/bptt?text={quote(text)}&t=4&scale=1.5&model=english")
    wait_for_app(page)
    page.wait_for_selector('[data-testid="stMetric"]:has-text("Loss L_4")', timeout=30_000)
    assert page.locator('[data-testid="stTextInput"] input').first.input_value() == text
    assert "× 1.5 W_h" in _picked(page)
    assert _value(page, "What if: multiply W_h by") == "25"  # the index of 1.5 in SCALES
    screenshot(page, "deep-link-bptt")

    page.goto(f"{app_server}/space?text={quote('(a(b)c)')}&step=2&view=3d&model=brackets")
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)
    assert page.locator('[data-testid="stTextInput"] input').first.input_value() == "(a(b)c)"
    assert page.locator('[data-testid="stRadio"] input[type="radio"]').nth(1).is_checked()
    assert _value(page, "Step t") == "2"
    assert "rackets" in _picked(page)
    screenshot(page, "deep-link-space")

    page.goto(f"{app_server}/atlas?source=corpus&unit=7&model=english")
    wait_for_app(page)
    page.wait_for_selector('[data-testid="stMain"] h3:has-text("7")', timeout=30_000)
    assert re.search(r"\b7\b", page.locator('[data-testid="stMain"] h3').first.inner_text())
    screenshot(page, "deep-link-atlas")
