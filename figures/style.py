"""The one colour scale for signed values, the heatmap every view builds on, and the colours that
read on the light and the dark theme alike.

Streamlit's theme owns each chart's background and text: the figures set a transparent
background and no colour for titles, ticks, legends or labels, so the page's own colours show,
light or dark, whichever the browser asks for. What a figure colours itself is drawn on a cell or
a marker of a known colour, or is a line or bar in a mid tone that keeps at least 3:1 against
both themes' backgrounds.
"""

from __future__ import annotations

import html

import numpy as np
import plotly.colors as pc
import plotly.graph_objects as go

from rnn.vocab import display_token

# Diverging, centred on 0: blue for negative, white for 0, red for positive (as tanh outputs).
SIGNED_SCALE = "RdBu_r"
# The same scale as explicit colour stops, for traces built as plain dicts: plotly.js knows no
# "_r" names (plotly.py's validation resolves them, which the fast dict path skips).
SIGNED_STOPS = [[pos, color] for pos, color in go.Heatmap(colorscale=SIGNED_SCALE).colorscale]
PROB_SCALE = "Blues"
FONT = dict(family="Inter, system-ui, sans-serif", size=13)
TRANSPARENT = "rgba(0,0,0,0)"  # paper and plot area: the page shows through, in either theme
NOW_COLOUR = "#d0661a"  # the current step or token, wherever it is marked


def luminance(rgb) -> float:
    """WCAG relative luminance of a colour given as 0-255 channels (0 black to 1 white)."""
    lin = [(v / 255) / 12.92 if v / 255 <= 0.04045 else ((v / 255 + 0.055) / 1.055) ** 2.4
           for v in rgb]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a, b) -> float:
    """WCAG contrast ratio of two colours given as 0-255 channels (1 to 21)."""
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def white_ink(values: np.ndarray, colorscale, zmin: float, zmax: float) -> np.ndarray:
    """Where white letters read better than black on each value's colour of the scale.

    The better of the two is at least 4.58:1 on any colour. NaN values (blank cells) give False.
    """
    values = np.asarray(values, dtype=float)
    out = np.zeros(values.shape, dtype=bool)
    ok = np.isfinite(values)
    if not ok.any():
        return out
    pos = np.clip((values[ok] - zmin) / max(zmax - zmin, 1e-12), 0.0, 1.0)
    scale = pc.get_colorscale(colorscale) if isinstance(colorscale, str) else colorscale
    cells = [pc.unlabel_rgb(c) for c in pc.sample_colorscale(scale, pos.tolist())]
    out[ok] = [contrast(c, (255, 255, 255)) > contrast(c, (0, 0, 0)) for c in cells]
    return out


def plain(tok: str) -> str:
    """A token as plotly text: visible white space, and ``<``, ``>``, ``&`` shown literally.

    Plotly reads a small set of HTML-like tags in labels; escaping keeps user text as text.
    """
    return html.escape(display_token(tok), quote=False)


def unique_labels(tokens: list[str]) -> list[str]:
    """Axis labels for a token sequence, unique so plotly keeps one column per step."""
    return [f"{i}:{display_token(t)}" for i, t in enumerate(tokens)]


def signed_heatmap(
    z: np.ndarray, *, x=None, y=None, zmax: float | None = None, hovertemplate: str | None = None,
    customdata=None, colorbar_title: str = "", showscale: bool = True, name: str = "",
) -> go.Heatmap:
    """A heatmap trace of signed values on the shared diverging scale, symmetric around 0."""
    z = np.asarray(z, dtype=float)
    if zmax is None:
        finite = np.abs(z[np.isfinite(z)])
        zmax = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    return go.Heatmap(
        z=z, x=x, y=y, zmin=-zmax, zmax=zmax, zmid=0, colorscale=SIGNED_SCALE,
        customdata=customdata, hovertemplate=hovertemplate, showscale=showscale, name=name,
        colorbar=dict(title=dict(text=colorbar_title), thickness=12),
        xgap=1, ygap=1,
    )


def base_layout(fig: go.Figure, *, title: str = "", height: int = 320) -> go.Figure:
    """Shared margins, font and height."""
    fig.update_layout(
        title=dict(text=title, x=0, xanchor="left", font=dict(size=15)), height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10), font=FONT,
        plot_bgcolor=TRANSPARENT, paper_bgcolor=TRANSPARENT,
        # room for tick labels and axis titles, also where a chart is shown without
        # Streamlit's theme (which turns this on)
        xaxis_automargin=True, yaxis_automargin=True,
    )
    return fig
