"""Every figure reads on the light and the dark theme: Streamlit's theme paints the background
and the text, and what a figure colours itself keeps its contrast on both."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import plotly.colors as pc
import pytest

from figures.atlas import feature_bars, selectivity_grid, text_heatmap
from figures.bptt import activation_comparison, gradient_decay, gradient_text, sensitivity_heatmap
from figures.home import activation_figure
from figures.space import explained_variance, trajectory
from figures.style import PROB_SCALE, SIGNED_SCALE, TRANSPARENT, contrast, white_ink
from figures.train import grad_norm_figure, loss_figure
from figures.weights import weight_figure
from rnn import ACTIVATIONS
from rnn.analysis.bptt import GradientDecay

# The page behind a chart in Streamlit 1.67's light and dark themes (this app sets neither).
BACKGROUNDS = {"light": (255, 255, 255), "dark": (23, 22, 20)}

rng = np.random.default_rng(0)
T, H = 12, 6
TOKENS = list("hello world!")
decays = {g: GradientDecay(np.arange(5), 0.5 ** np.arange(5), 2.0, 0.1) for g in ACTIVATIONS}
FIGURES = {
    "activation": lambda: activation_figure(ACTIVATIONS["tanh"]),
    "activation relu": lambda: activation_figure(ACTIVATIONS["relu"]),
    "text heatmap": lambda: text_heatmap(TOKENS, np.tanh(rng.normal(size=T)), title="h"),
    "selectivity grid": lambda: selectivity_grid(np.linspace(-0.9, 0.9, H), np.arange(H),
                                                 [""] * H, selected=2),
    "feature bars": lambda: feature_bars(np.array([0.2, -0.8]), ("a", "b"), neuron=1),
    "gradient text": lambda: gradient_text(TOKENS, 10.0 ** -np.arange(T), 6),
    "gradient decay": lambda: gradient_decay(TOKENS, 5, *(10.0 ** -np.arange(6),) * 3,
                                             np.full(6, 0.2)),
    "sensitivity": lambda: sensitivity_heatmap(np.tril(np.ones((T, T))), TOKENS),
    "comparison": lambda: activation_comparison(decays),
    "trajectory": lambda: trajectory(rng.normal(size=(T, 3)), TOKENS, np.array([0.5, 0.3, 0.2]),
                                     t=4, reference=rng.normal(size=(30, 3))),
    "trajectory 3-D": lambda: trajectory(rng.normal(size=(T, 3)), TOKENS,
                                         np.array([0.5, 0.3, 0.2]), t=4, dims=3),
    "explained variance": lambda: explained_variance(np.array([0.5, 0.3, 0.2])),
    "loss": lambda: loss_figure(np.arange(1, 30), np.linspace(4, 2, 29), [10, 20], [3.5, 3.0],
                                initial=4.3),
    "grad norm": lambda: grad_norm_figure(np.arange(1, 30), np.linspace(4, 2, 29)),
    "W_h": lambda: weight_figure("W_h", rng.normal(size=(H, H)), []),
    "W_i": lambda: weight_figure("W_i", rng.normal(size=(H, 3)), list("abc")),
}


def _rgba(colour: str) -> tuple[float, float, float, float]:
    if colour.startswith("#") or colour in ("black", "white"):
        hexa = {"black": "#000000", "white": "#ffffff"}.get(colour, colour)
        rgb = pc.hex_to_rgb(hexa if len(hexa) == 7 else "#" + "".join(c * 2 for c in hexa[1:]))
        return (*rgb, 1.0)
    vals = [float(v) for v in colour[colour.index("(") + 1: -1].split(",")]
    return (*vals[:3], vals[3] if len(vals) > 3 else 1.0)


def _on(colour: str, background) -> tuple[float, ...]:
    *rgb, alpha = _rgba(colour)
    return tuple(alpha * c + (1 - alpha) * b for c, b in zip(rgb, background, strict=True))


@pytest.mark.parametrize("name", list(FIGURES))
def test_the_theme_paints_background_and_text(name):
    fig = FIGURES[name]()
    layout = fig.layout
    assert layout.paper_bgcolor == TRANSPARENT
    # the plot area shows the page, at most tinted (the sensitivity matrix's empty triangle)
    assert _rgba(layout.plot_bgcolor)[3] <= 0.1
    assert layout.font.color is None and layout.title.font.color is None
    assert layout.legend.bgcolor is None and layout.legend.font.color is None
    for axis in [*fig.select_xaxes(), *fig.select_yaxes()]:
        assert axis.tickfont.color is None and axis.title.font.color is None
        assert axis.gridcolor is None  # the theme's grid: a white grid vanished on white
    for note in layout.annotations:
        assert note.font.color is None, note.text
    for trace in fig.data:
        colour = getattr(getattr(trace, "textfont", None), "color", None)
        if colour is None:
            continue
        # text of its own colour only on a cell or marker: letters on the text heatmap, neuron
        # ids on the grid's squares (their contrast is checked below)
        assert name in ("text heatmap", "gradient text", "selectivity grid"), trace.name


@pytest.mark.parametrize("name", list(FIGURES))
def test_lines_and_bars_keep_3_to_1_on_both_backgrounds(name):
    fig = FIGURES[name]()
    colours = []
    for trace in fig.data:
        if trace.type in ("scatter", "scatter3d") and "lines" in (trace.mode or "lines"):
            colours.append((trace.name, trace.line.color))
        if trace.type == "bar" and isinstance(trace.marker.color, str):
            colours.append((trace.name, trace.marker.color))
    for shape in fig.layout.shapes:
        if shape.type == "rect" and shape.line.color:  # the outline marking "now"
            colours.append(("outline", shape.line.color))
    for what, colour in colours:
        if colour is None or "," in colour and _rgba(colour)[3] < 1:
            continue  # the theme's colour, or a deliberately faint one (raw loss, path line)
        for theme, bg in BACKGROUNDS.items():
            assert contrast(_on(colour, bg), bg) >= 3.0, (what, colour, theme)


def _cell_colours(values, scale, lo, hi) -> list[tuple[float, ...]]:
    pos = np.clip((np.asarray(values) - lo) / (hi - lo), 0, 1).tolist()
    return [pc.unlabel_rgb(c) for c in pc.sample_colorscale(pc.get_colorscale(scale), pos)]


@pytest.mark.parametrize("scale", [SIGNED_SCALE, PROB_SCALE])
def test_white_ink_picks_the_letter_colour_that_reads_on_the_cell(scale):
    values = np.linspace(-1, 1, 201)
    white = white_ink(values, scale, -1, 1)
    for v, w, cell in zip(values, white, _cell_colours(values, scale, -1, 1), strict=True):
        ink = (255, 255, 255) if w else (0, 0, 0)
        assert contrast(ink, cell) >= 4.5, (v, cell, w)
    assert not white_ink(np.array([np.nan]), scale, -1, 1).any()


def test_selectivity_grid_ids_read_on_their_squares():
    r = np.linspace(-1, 1, 21)
    fig = selectivity_grid(r, np.arange(21), [""] * 21)
    tr = fig.data[0]
    for colour, cell in zip(tr.textfont.color, _cell_colours(r, SIGNED_SCALE, -1, 1),
                            strict=True):
        assert contrast(_on(colour, (0, 0, 0)), cell) >= 4.5, (colour, cell)



def test_every_chart_is_shown_in_streamlits_theme():
    """The theme paints what the figures leave transparent: no page turns it off (theme=None)."""
    root = Path(__file__).resolve().parents[1]
    sources = {path: path.read_text() for folder in ("pages", "ui")
               for path in (root / folder).rglob("*.py")}
    assert sum(text.count("st.plotly_chart(") for text in sources.values()) >= 14
    assert not [path for path, text in sources.items() if re.search(r"theme\s*=\s*None", text)]
