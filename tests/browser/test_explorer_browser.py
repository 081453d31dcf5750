"""The explorer in a real browser: type, step, click a neuron and a token, hover, play, pause."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

SENTENCE = "A lamp at the top of the tower."
CHART = ".js-plotly-plot"


def url_params(page) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(page.url).query).items()}


def wait_url(page, key: str, value: str, timeout_ms: int = 15_000) -> None:
    """Wait until the address bar says key=value (the page keeps it in sync)."""
    page.wait_for_function(
        "([k, v]) => new URL(location.href).searchParams.get(k) === v", arg=[key, value],
        timeout=timeout_ms)


def cell_point(page, chart_key: str, axis: str, x: float, y: float) -> tuple[float, float]:
    """Page coordinates of data point (x, y) on a subplot's axes (e.g. axis "5" = x5/y5)."""
    return page.evaluate(
        """([sel, ax, x, y]) => {
            const gd = document.querySelector(sel);
            const L = gd._fullLayout;
            const xa = L['xaxis' + ax], ya = L['yaxis' + ax];
            const box = gd.getBoundingClientRect();
            return [box.left + xa._offset + xa.l2p(x), box.top + ya._offset + ya.l2p(y)];
        }""",
        [f".st-key-{chart_key} {CHART}", axis, x, y],
    )


def click_at(page, xy) -> None:
    x, y = xy
    page.mouse.move(x - 3, y - 3)
    page.mouse.move(x, y)
    page.wait_for_timeout(150)
    page.mouse.click(x, y)


def test_explorer_in_the_browser(app_server, page, wait_for_app, screenshot):
    page.set_viewport_size({"width": 1400, "height": 2600})
    page.goto(app_server + "/explorer")
    wait_for_app(page)
    page.wait_for_selector(f".st-key-explorer_grid {CHART} .main-svg")
    assert page.locator(CHART).count() == 5
    screenshot(page, "explorer-default")

    # type a sentence and press Enter: the strip, the URL and the heatmaps follow
    box = page.locator(".st-key-text input")
    box.fill(SENTENCE)
    box.press("Enter")
    wait_url(page, "text", SENTENCE)
    wait_for_app(page)
    strip = page.locator(f".st-key-explorer_strip {CHART} .textpoint")
    assert strip.count() == len(SENTENCE)
    assert url_params(page)["step"] == "0"

    # next: one step on, in the URL and in the text
    page.locator(".st-key-next button").first.click()
    wait_url(page, "step", "1")
    wait_for_app(page)
    assert page.get_by_text(re.compile(r"Step t = 1")).count() == 1

    # click a cell of the h_t grid: that neuron becomes the chosen one
    cols = round(page.evaluate(  # each grid's x range is [-0.5, cols - 0.5]
        f"() => document.querySelector('.st-key-explorer_grid {CHART}')"
        "._fullLayout.xaxis5.range[1]") + 0.5)
    r, c = 2, 5
    click_at(page, cell_point(page, "explorer_grid", "5", c, r))
    wait_url(page, "neuron", str(r * cols + c))
    wait_for_app(page)
    assert page.locator(".st-key-neuron input").input_value() == str(r * cols + c)
    assert page.get_by_text(f"Neuron {r * cols + c} over the text").count() == 1

    # hovering a cell shows its neuron and value
    x, y = cell_point(page, "explorer_grid", "4", 1, 0)
    page.mouse.move(x, y)
    page.wait_for_selector(".hoverlayer .hovertext", timeout=5000)
    hover = page.locator(".hoverlayer .hovertext").first.text_content()  # an SVG group
    assert "neuron 1" in hover and re.search(r"-?\d\.\d{4}", hover), hover

    # click a token in the strip: the view jumps to that step
    click_at(page, cell_point(page, "explorer_strip", "", 9, 0))
    wait_url(page, "step", "9")
    wait_for_app(page)
    screenshot(page, "explorer-step9-neuron")

    # play advances by itself, pause stops at once
    page.locator(".st-key-play button").first.click()
    page.wait_for_function(
        "() => Number(new URL(location.href).searchParams.get('step')) >= 11", timeout=15_000)
    page.locator(".st-key-pause button").first.click()
    page.wait_for_selector(".st-key-play button", timeout=20_000)
    wait_for_app(page)
    stopped = url_params(page)["step"]
    page.wait_for_timeout(1500)
    assert url_params(page)["step"] == stopped

    # the weights open on demand
    page.get_by_text("The weights: W_i, W_h, W_o").click()
    page.wait_for_selector(f".st-key-explorer_W_h {CHART} .main-svg", timeout=30_000)
    wait_for_app(page)
    screenshot(page, "explorer-weights")


def test_shared_link_and_bad_params(app_server, page, wait_for_app, screenshot):
    page.set_viewport_size({"width": 1400, "height": 1600})
    page.goto(app_server + "/explorer?text=Hello%20%3Cb%3Ew%C3%B6rld%3C%2Fb%3E&step=4&neuron=77")
    wait_for_app(page)
    page.wait_for_selector(f".st-key-explorer_grid {CHART} .main-svg")
    assert page.get_by_text(re.compile(r"Step t = 4")).count() == 1
    assert page.locator(".st-key-neuron input").input_value() == "77"
    assert page.locator("b:has-text('wörld')").count() == 0  # user text is never markup
    screenshot(page, "explorer-shared-link")

    page.goto(app_server + "/explorer?step=999&neuron=x&model=nope")
    wait_for_app(page)
    alerts = " ".join(page.locator('[data-testid="stAlert"]').all_inner_texts())
    assert "999" in alerts and "nope" in alerts and "neuron" in alerts
    wait_url(page, "step", "0")
