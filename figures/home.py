"""The home page's figure: what tanh does to the pre-activation a_t."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnn.model import SATURATED

from .style import base_layout

SATURATED_A = math.atanh(SATURATED)  # |a| beyond this (1.83): |h| > SATURATED, tanh' < 0.1


def tanh_figure(a_max: float = 4.0, n: int = 161) -> go.Figure:
    """h = tanh(a) and its slope 1 - h², with the saturated ranges shaded: |h| > SATURATED,
    that is |a| > SATURATED_A.

    The slope is the factor by which a gradient passes back through the neuron: near 0 in the
    shaded ranges, where the gradient through time fades (the BPTT page shows it happen).
    """
    a = np.linspace(-a_max, a_max, n)  # (n,)
    h = np.tanh(a)  # (n,)
    curves = [
        go.Scatter(x=a, y=h, name="h = tanh(a)", line=dict(color="#b91c1c", width=3),
                   hovertemplate="a = %{x:.2f}<br>h = tanh(a) = %{y:.3f}<extra></extra>"),
        go.Scatter(x=a, y=1 - h**2, name="slope 1 − h²", line=dict(color="#64748b", dash="dot"),
                   hovertemplate="a = %{x:.2f}<br>tanh′(a) = 1 − h² = %{y:.3f}<extra></extra>"),
    ]
    fig = go.Figure(curves)
    for x0, x1 in ((-a_max, -SATURATED_A), (SATURATED_A, a_max)):
        fig.add_vrect(x0=x0, x1=x1, fillcolor="#e2e8f0", opacity=0.6, line_width=0, layer="below")
    fig.add_annotation(x=(SATURATED_A + a_max) / 2, y=0.35, text="saturated", showarrow=False,
                       font=dict(size=11, color="#475569"))
    fig.update_layout(
        xaxis=dict(title=dict(text="a (pre-activation)"), zeroline=True, zerolinecolor="#cbd5e1",
                   range=[-a_max, a_max], fixedrange=True),
        yaxis=dict(range=[-1.1, 1.1], tickvals=[-1, 0, 1], zeroline=True,
                   zerolinecolor="#cbd5e1", fixedrange=True),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
    )
    base_layout(fig, height=260)
    fig.update_layout(margin=dict(l=40, r=10, t=30, b=45))
    return fig
