"""Every page's plotly charts as a person sees them, in the light and the dark colour scheme: no
chart is a box of its own colour on the page, and every text a chart draws (titles, tick labels,
axis titles, legends, annotations, buttons, labels on points) is readable on what it is drawn on."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from figures.style import contrast
from tests.browser.conftest import wait_train_step
from tests.browser.test_analysis_browser import _shoot
from tests.browser.test_explorer_browser import SENTENCE

TRAIN_STEPS = 20
# Streamlit's light theme draws tick labels and axis titles of every plotly chart in its gray70,
# 3.7:1 on white; no colour a figure could set instead reads at 4.5:1 in both schemes (it can
# not tell which one the browser shows), so that one grey is held to 3:1.
STREAMLIT_LIGHT_AXIS = (128, 132, 149)

PAGES = {  # page -> (address, the charts it shows once open)
    "home": ("/", 1),
    "explorer": ("/explorer?text=" + quote(SENTENCE), 1),  # W_h, once the weights are open
    "train": ("/train", 3),
    "bptt": ("/bptt", 4),
    "space": ("/space", 2),
    "atlas": ("/atlas", 3),
}


def _open(page, name: str, url: str, wait_for_app) -> None:
    page.goto(url)
    wait_for_app(page)
    if name == "explorer":
        page.get_by_text("The weights: W_i, W_h, W_o").click()
        wait_for_app(page)
    if name == "train":  # a few steps, so the curves and samples are there
        target = page.locator(".st-key-train_target input")
        target.fill(str(TRAIN_STEPS))
        target.press("Enter")
        wait_for_app(page)
        page.locator(".st-key-train_play button").first.click()
        wait_train_step(page, TRAIN_STEPS, 120_000)  # it pauses by itself at the target step
        wait_for_app(page)
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=30_000)  # plotly loads after
    page.wait_for_timeout(800)
    if name == "space":  # a pressed button is drawn in its own colour
        page.get_by_text("▶ Play").first.click()
        page.wait_for_timeout(600)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_chart_text_is_readable(browser, app_server, wait_for_app, screenshot, name, scheme):
    url, n_charts = PAGES[name]
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, color_scheme=scheme)
    page = context.new_page()
    try:
        _open(page, name, app_server + url, wait_for_app)
        _shoot(page, screenshot, f"charts-{name}-{scheme}")
        charts = page.evaluate(CHART_PROBE)
        assert len(charts) >= n_charts, [c["title"] for c in charts]
        unreadable = []
        for chart in charts:
            where = f"{name}, chart {chart['title']!r}"
            # the chart is no box of its own colour: the page shows through paper and plot area
            assert contrast(chart["paper"], chart["page"]) < 1.05, (where, chart)
            assert contrast(chart["plot"], chart["page"]) < 1.25, (where, chart)
            assert chart["texts"], where
            for kind, text, fg, bg in chart["texts"]:
                ratio = contrast(fg, bg)
                need = 3.0 if scheme == "light" and _rounded(fg) == STREAMLIT_LIGHT_AXIS else 4.5
                if ratio < need:
                    unreadable.append((where, kind, text, _rounded(fg), _rounded(bg),
                                       round(ratio, 2)))
        assert not unreadable, "\n".join(map(str, unreadable))
        if scheme == "dark":  # the test sees the dark theme, not a light page
            assert sum(charts[0]["page"]) < 3 * 128
    finally:
        context.close()


def _rounded(rgb) -> tuple[int, ...]:
    return tuple(round(v) for v in rgb)


# Each chart's background and every text in it with what it is drawn on, as 0-255 channels:
# the paper over the page behind the chart (the nearest opaque background up the tree), the plot
# area over the paper, a legend's or a button's own box over the paper, a marker for a label
# drawn on its marker. Labels on heatmap cells are left out (the cell's colour is in a bitmap);
# figures' unit tests check how those are coloured.
CHART_PROBE = """() => {
    const probe = document.body.appendChild(document.createElement('div'));
    const rgba = (css) => {
        probe.style.color = '';
        probe.style.color = css || 'transparent';
        const s = getComputedStyle(probe).color;
        const v = (s.match(/[\\d.]+/g) || []).map(Number);
        const scale = s.startsWith('color(') ? 255 : 1;
        return [v[0] * scale, v[1] * scale, v[2] * scale, v.length > 3 ? v[3] : 1];
    };
    const over = (fg, bg) => [0, 1, 2].map(i => fg[i] * fg[3] + bg[i] * (1 - fg[3]));
    const app = rgba(getComputedStyle(document.querySelector('[data-testid="stApp"]'))
                     .backgroundColor);
    const behind = (n) => {
        if (!n || n.nodeType !== 1) return app.slice(0, 3);
        const c = rgba(getComputedStyle(n).backgroundColor);
        return c[3] >= 1 ? c.slice(0, 3) : over(c, behind(n.parentElement));
    };
    const fillOf = (e) => {
        const s = getComputedStyle(e);
        const c = rgba(s.fill);
        const alpha = c[3] * Number(s.fillOpacity || 1);
        return [c[0], c[1], c[2], alpha];
    };
    const inside = (a, b) => {
        const r = a.getBoundingClientRect(), m = b.getBoundingClientRect();
        const x = r.left + r.width / 2, y = r.top + r.height / 2;
        return x >= m.left && x <= m.right && y >= m.top && y <= m.bottom;
    };
    const charts = [...document.querySelectorAll('[data-testid="stMain"] .js-plotly-plot')];
    const out = charts.filter(gd => gd._fullLayout && gd.getBoundingClientRect().height > 0)
                      .map(gd => {
        const L = gd._fullLayout;
        const pageBg = behind(gd.parentElement);
        const paper = over(rgba(L.paper_bgcolor), pageBg);
        const plot = over(rgba(L.plot_bgcolor), paper);
        const texts = [];
        const add = (kind, e, bg) => {
            const t = (e.textContent || '').trim();
            const box = e.getBoundingClientRect();
            if (!t || box.width === 0 || getComputedStyle(e).visibility === 'hidden') return;
            texts.push([kind, t.slice(0, 40), over(fillOf(e), bg), bg]);
        };
        const svg = [...gd.querySelectorAll('.main-svg')];
        const all = svg.flatMap(s => [...s.querySelectorAll('text')]);
        const heatmap = (gd._fullData || []).some(d => d.type === 'heatmap');
        for (const e of all) {
            if (e.closest('.legend')) {
                add('legend', e, over(rgba(L.legend.bgcolor), paper));
            } else if (e.closest('.updatemenu-button')) {
                const rect = e.closest('.updatemenu-button').querySelector('rect');
                add('button', e, over(fillOf(rect), paper));
            } else if (e.closest('.annotation')) {
                add('annotation', e, plot);
            } else if (e.closest('.textpoint')) {
                if (heatmap) continue;
                const trace = e.closest('.trace');
                const k = [...trace.querySelectorAll('.textpoint')]
                    .indexOf(e.closest('.textpoint'));
                const marker = trace.querySelectorAll('.points path')[k];
                if (marker && inside(e, marker)) {
                    add('label on marker', e, over(fillOf(marker), plot));
                } else {
                    add('label', e, plot);
                }
            } else {
                const cls = (e.getAttribute('class') || '') + ' ' +
                            (e.parentElement.getAttribute('class') || '');
                add(cls.trim().split(/\\s+/)[0] || 'text', e, paper);
            }
        }
        const title = (L.title && L.title.text) || (gd._fullData[0] || {}).name || '';
        return {title: title.replace(/<[^>]*>/g, ''), page: pageBg, paper, plot, texts};
    });
    probe.remove();
    return out;
}"""

