"""The one colour scale for signed values and the heatmap every view builds on."""

from __future__ import annotations

import html

import numpy as np
import plotly.graph_objects as go

from rnn.vocab import display_token

# Diverging, centred on 0: blue for negative, white for 0, red for positive (as tanh outputs).
SIGNED_SCALE = "RdBu_r"
# The same scale as explicit colour stops, for traces built as plain dicts: plotly.js knows no
# "_r" names (plotly.py's validation resolves them, which the fast dict path skips).
SIGNED_STOPS = [[pos, color] for pos, color in go.Heatmap(colorscale=SIGNED_SCALE).colorscale]
PROB_SCALE = "Blues"
FONT = dict(family="Inter, system-ui, sans-serif", size=13)


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
        plot_bgcolor="white", paper_bgcolor="white",
        # room for tick labels and axis titles, also where a chart is shown without
        # Streamlit's theme (which turns this on)
        xaxis_automargin=True, yaxis_automargin=True,
    )
    return fig
