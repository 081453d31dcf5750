"""The explorer's step view as a person sees it: light and dark themes with readable text, and a
large model on a long text drawn legibly."""

from __future__ import annotations

import math
import tomllib
from urllib.parse import quote

import pytest

from figures.style import contrast
from rnn import RNN, load_checkpoint, save_checkpoint
from session.limits import MAX_HIDDEN
from tests.browser.conftest import REPO_ROOT, css_rgb
from tests.browser.test_explorer_browser import (
    MODELS,
    SENTENCE,
    VIEW,
    cell_centre,
    open_view,
    shown,
    wait_url,
)

THEME = tomllib.loads((REPO_ROOT / ".streamlit" / "config.toml").read_text())["theme"]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_and_contrast(browser, app_server, wait_for_app, screenshot, scheme):
    context = browser.new_context(viewport={"width": 1400, "height": 2400}, color_scheme=scheme)
    page = context.new_page()
    try:
        open_view(page, wait_for_app, app_server + "/explorer?step=12&neuron=5")
        pairs = page.locator(VIEW).evaluate(CONTRAST_PROBE)
        assert len(pairs) >= 12
        assert {s for s, _, _ in pairs} >= {'.colours button[aria-pressed="true"]',
                                            '.colours button[aria-pressed="false"]'}
        for where, fg, bg in pairs:
            ratio = contrast(css_rgb(fg), css_rgb(bg))
            assert ratio >= 4.5, (where, fg, bg, round(ratio, 2))
        app_bg = css_rgb(page.evaluate(
            "getComputedStyle(document.querySelector('[data-testid=\"stApp\"]')).backgroundColor"))
        assert (sum(app_bg) < 3 * 128) == (scheme == "dark")
        # the app's accent for this scheme (.streamlit/config.toml) reaches the step view
        accent = page.locator(VIEW).evaluate(
            "r => getComputedStyle(r).getPropertyValue('--st-primary-color')")
        assert accent.strip().lower() == THEME[scheme]["primaryColor"].lower()
        page.keyboard.press("ArrowRight")
        page.mouse.move(*cell_centre(page, "Wh_h", 20))
        screenshot(page, f"explorer-{scheme}")
    finally:
        context.close()


def test_large_model_and_long_text_stay_legible(app_server, page, wait_for_app, screenshot,
                                                tmp_path):
    """The largest model the app serves (H = 256) at its limit of 500 characters: cells keep
    their size, the views scroll."""
    H = MAX_HIDDEN
    _, vocab, _ = load_checkpoint(MODELS / "english.npz")
    model = RNN.create(vocab.size, H, seed=1, init_std=0.15)
    save_checkpoint(tmp_path / "wide.npz", model, vocab, title="wide")
    text = (SENTENCE + " ") * 17
    text = text[:500]
    page.set_viewport_size({"width": 1400, "height": 1800})
    open_view(page, wait_for_app, app_server + "/explorer?text=" + quote(text))
    page.get_by_text("Upload a checkpoint", exact=True).click()
    page.locator('[data-testid="stSidebar"] input[type=file]').set_input_files(
        str(tmp_path / "wide.npz"))
    page.locator(f"{VIEW} .neuron[max='{H - 1}']").wait_for(state="attached", timeout=60_000)
    sizes = page.locator(VIEW).evaluate("""r => {
        const g = r.querySelector('figure.grid[data-term="h"] canvas').getBoundingClientRect();
        const s = r.querySelector('.hscroll');
        const b = r.querySelector('.hbase').getBoundingClientRect();
        return {grid: g.width, scrollW: s.scrollWidth, clientW: s.clientWidth,
                scrollH: s.scrollHeight, clientH: s.clientHeight, base: [b.width, b.height]};
    }""")
    cols = math.ceil(math.sqrt(2 * H))
    assert (sizes["grid"] - 3) / cols >= 8  # 7 px cells and a 1 px gap at least
    assert sizes["base"][0] >= 3 * 500 and sizes["base"][1] >= 3 * H  # >= 3 px a cell
    assert sizes["scrollW"] > sizes["clientW"]
    assert sizes["scrollH"] > sizes["clientH"] or sizes["base"][1] <= sizes["clientH"]
    page.keyboard.press("End")
    assert shown(page)["step"] == "499"

    # a click in the hidden state over the text picks that row's neuron
    scroller = page.locator(f"{VIEW} .hscroll")
    scroller.evaluate("s => { s.scrollTop = 0; s.scrollLeft = 0; }")
    scroller.scroll_into_view_if_needed()
    box = page.locator(f"{VIEW} .hbase").bounding_box()
    ch = box["height"] / H
    k = 40
    page.mouse.click(box["x"] + 10, box["y"] + (k + 0.5) * ch)
    page.locator(f"{VIEW}[data-neuron='{k}']").wait_for(state="attached", timeout=2000)
    wait_url(page, "neuron", str(k))
    screenshot(page, f"explorer-H{H}-T500")


# Every kind of text in the step view, with the background it is drawn on (the nearest opaque
# background up the tree, Streamlit's app background at the end).
CONTRAST_PROBE = """r => {
    const app = getComputedStyle(document.querySelector('[data-testid="stApp"]')).backgroundColor;
    const bgOf = (e) => {
        for (let n = e; n && n.nodeType === 1; n = n.parentElement || n.getRootNode().host) {
            const c = getComputedStyle(n).backgroundColor;
            if (c && !/rgba\\(.*, 0\\)$/.test(c) && c !== 'transparent') return c;
        }
        return app;
    };
    const sels = ['.caption', '.sub', '.range', '.readout', '.stepinfo', '.reads', 'h3',
                  '.controls button', '.speed', '.zoomlabel', '.tokens .tok', '.contrib th',
                  '.contrib tr.pos td.c', '.contrib tr.neg td.c', '.contrib td', '.bar .p',
                  '.bar .lab', '.equation', '.pick', '.colours .lab', '.colourhelp',
                  '.colours button[aria-pressed="false"]', '.colours button[aria-pressed="true"]'];
    return sels.filter(s => r.querySelector(s)).map(s => {
        const e = r.querySelector(s);
        return [s, getComputedStyle(e).color, bgOf(e)];
    });
}"""
