"""The BPTT, hidden-state space and neuron atlas pages in a real browser: open, interact, look."""

from __future__ import annotations

import re

# Streamlit 1.67 sliders are <input type="range"> labelled with the widget label.
STEP_SLIDER = 'input[type="range"][aria-label="Loss at step t"]'
SCALE_SLIDER = 'input[type="range"][aria-label="What if: multiply W_h by"]'


def _metric(page, label: str) -> str:
    box = page.locator('[data-testid="stMetric"]', has_text=label).first
    return box.locator('[data-testid="stMetricValue"]').inner_text().strip()


def _open(page, url: str, wait_for_app) -> None:
    page.goto(url)
    wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot", timeout=30_000)  # plotly.js loads after the run
    page.wait_for_timeout(500)


def _shoot(page, screenshot, name: str) -> None:
    """A screenshot of the whole page: Streamlit scrolls inside its main block, so make the
    viewport as tall as the content first."""
    height = page.evaluate(
        "() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    page.set_viewport_size({"width": 1400, "height": max(1000, min(int(height) + 40, 6000))})
    page.wait_for_timeout(400)
    screenshot(page, name)
    page.set_viewport_size({"width": 1400, "height": 1000})


def _press(page, selector: str, key: str, times: int, wait_for_app) -> None:
    slider = page.locator(selector).first
    slider.focus()
    for _ in range(times):
        slider.press(key)
    wait_for_app(page)


def test_bptt_page(app_server, page, wait_for_app, screenshot):
    _open(page, app_server + "/bptt", wait_for_app)
    assert page.locator(".js-plotly-plot").count() >= 3
    _shoot(page, screenshot, "analysis-bptt")
    _press(page, STEP_SLIDER, "ArrowLeft", 10, wait_for_app)
    assert page.locator('[data-testid="stMetric"]', has_text="Loss L_36").count() == 1
    rho = float(_metric(page, "Spectral radius"))
    _press(page, SCALE_SLIDER, "ArrowLeft", 10, wait_for_app)  # 1.0 -> 0.5
    rho_half = float(_metric(page, "Spectral radius"))
    assert abs(rho_half - 0.5 * rho) < 2e-3
    picker = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').first
    shown = picker.inner_text() + " " + " ".join(
        el.input_value() for el in picker.locator("input").all())
    assert re.search(r"× 0\.5 W_h", shown), shown
    _shoot(page, screenshot, "analysis-bptt-scaled")


def test_space_page(app_server, page, wait_for_app, screenshot):
    _open(page, app_server + "/space", wait_for_app)
    chart = page.locator(".js-plotly-plot").first
    assert chart.is_visible()
    _shoot(page, screenshot, "analysis-space")
    page.get_by_text("▶ Play").first.click()
    page.wait_for_timeout(1500)
    _shoot(page, screenshot, "analysis-space-playing")
    page.locator('[data-testid="stRadio"]').get_by_text("3-D").click()
    wait_for_app(page)
    page.wait_for_timeout(500)
    assert page.locator(".js-plotly-plot .gl-container, .js-plotly-plot canvas").count() >= 1
    _shoot(page, screenshot, "analysis-space-3d")


def test_atlas_page(app_server, page, wait_for_app, screenshot):
    _open(page, app_server + "/atlas", wait_for_app)
    _shoot(page, screenshot, "analysis-atlas")
    heading = page.locator('[data-testid="stMain"] h3', has_text="Neuron ").first
    before = heading.inner_text()
    # Click the square in the second row, first column of the neuron grid.
    grid = page.locator(".js-plotly-plot").first
    points = grid.locator(".scatterlayer .trace .points path")
    target = points.nth(16)
    label = grid.locator(".scatterlayer .trace .textpoint text").nth(16).text_content().strip()
    target.click(force=True)
    wait_for_app(page)
    after = page.locator('[data-testid="stMain"] h3', has_text="Neuron ").first.inner_text()
    assert after == f"Neuron {label}" and after != before
    _shoot(page, screenshot, "analysis-atlas-clicked")
