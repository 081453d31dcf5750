"""The parameter matrices W_i, W_h, W_o as heatmaps on the shared signed scale."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from .style import base_layout, plain, signed_heatmap

# name -> (what a row is, what a column is, a one-line reading of one entry)
WEIGHTS = {
    "W_i": ("neuron", "input token", "how much reading token {col} pushes neuron {row}"),
    "W_h": ("neuron", "neuron at t-1", "how much neuron {col} at t-1 pushes neuron {row} at t"),
    "W_o": ("output token", "neuron", "how much neuron {col} votes for token {row}"),
}


def weight_figure(name: str, W: np.ndarray, vocab_labels: list[str], *, title: str = "",
                  height: int | None = None) -> go.Figure:
    """One weight matrix as a heatmap, symmetric colour range, rows and columns named.

    Parameters
    ----------
    name : "W_i" (H, V), "W_h" (H, H) or "W_o" (V, H)
    W : the matrix itself
    vocab_labels : the V tokens, to label the token axis of W_i and W_o (unused for W_h)
    title, height : override the default title ("W_h  (H × H)") and height
    """
    row_name, col_name, _ = WEIGHTS[name]
    rows, cols = W.shape
    tok = [f"'{plain(t)}'" for t in vocab_labels] if name != "W_h" else []
    x = tok if name == "W_i" else np.arange(cols)  # token axes are categories, neuron axes numbers
    y = tok if name == "W_o" else np.arange(rows)
    hm = signed_heatmap(
        W, x=x, y=y, colorbar_title=name, name=name,
        hovertemplate=(f"{name}[%{{y}}, %{{x}}] = %{{z:.4f}}<br>row: {row_name} %{{y}}"
                       f"<br>column: {col_name} %{{x}}<extra></extra>"),
    )
    hm.update(xgap=0, ygap=0)
    fig = go.Figure(hm)
    mono = dict(family="monospace", size=10)
    fig.update_xaxes(title_text=col_name, showgrid=False, tickfont=mono, tickangle=0,
                     **({"type": "category", "nticks": cols} if name == "W_i" else {}))
    fig.update_yaxes(title_text=row_name, showgrid=False, autorange="reversed", tickfont=mono,
                     **({"type": "category", "nticks": rows} if name == "W_o" else {}))
    square = name == "W_h"
    if height is None:
        height = 520 if square else min(640, max(300, 12 * rows + 80))
    base_layout(fig, title=title or f"{name}  ({rows} × {cols})", height=height)
    if square:
        fig.update_yaxes(scaleanchor="x", scaleratio=1, constrain="domain")
        fig.update_xaxes(constrain="domain")
    return fig
