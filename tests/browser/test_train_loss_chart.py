"""Train live at its defaults in a real browser: the first 50 steps fall from ln V, no spike."""

from __future__ import annotations

from tests.browser.conftest import TRAIN_STEP, train_step, wait_train_step

N_STEPS = 50

LOSS_CHART = """() => {
  for (const el of document.querySelectorAll('.js-plotly-plot')) {
    const t = ((el.layout.title && el.layout.title.text) || '').replace(/<[^>]*>/g, '');
    if (t !== 'Loss') continue;
    const d = (el._fullData || []).find(d => d.name === 'training (per step)');
    const shapes = (el._fullLayout.shapes || []).map(s => s.y0);
    return {x: d ? Array.from(d.x) : [], y: d ? Array.from(d.y) : [],
            range: el._fullLayout.yaxis.range, shapes: shapes};
  }
  return null;
}"""


def test_first_50_steps_at_the_defaults(app_server, page, wait_for_app, screenshot):
    page.goto(app_server + "/train")
    page.wait_for_selector(TRAIN_STEP, timeout=60_000)
    wait_for_app(page)
    target = page.locator(".st-key-train_target input")
    target.fill(str(N_STEPS))
    target.press("Enter")
    wait_for_app(page)
    page.locator(".st-key-train_play button").first.click()
    wait_train_step(page, N_STEPS, 120_000)  # it stops (pauses) by itself at the target step
    wait_for_app(page)
    page.wait_for_function(f"() => {{ const c = ({LOSS_CHART})(); "
                           f"return c && c.x.length >= {N_STEPS}; }}", timeout=60_000)
    assert train_step(page) == N_STEPS
    chart = page.evaluate(LOSS_CHART)
    x, y = chart["x"], chart["y"]
    assert x == list(range(1, N_STEPS + 1))
    ln_v = y[0]  # the untrained model's loss is ln V to within a few thousandths
    assert any(abs(s - ln_v) < 0.02 for s in chart["shapes"]), "ln V is not marked"
    rises = [b - a for a, b in zip(y, y[1:], strict=False)]
    assert max(y) <= y[0] + 0.02, f"the loss rose above its start: {max(y):.3f} > {y[0]:.3f}"
    assert max(rises) < 0.15, f"a spike: +{max(rises):.3f} nats in one step"
    assert y[-1] < y[0] - 0.5, "the loss did not fall"
    lo, hi = chart["range"]
    assert lo > 1.0 and hi < ln_v + 0.5  # the axis spans the fall, not 0 to the top
    loss_chart = page.locator(".js-plotly-plot").filter(has_text="Loss").first
    loss_chart.scroll_into_view_if_needed()
    path = screenshot(page, "train-first-50-steps")  # the page, then the chart alone beside it
    loss_chart.screenshot(path=str(path.with_name("train-loss-chart-first-50-steps.png")))
