"""The home page's figure: what the activation g does to the pre-activation a_t."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from rnn.activation import ACTIVATIONS, Activation
from rnn.analysis import SATURATED_SLOPE
from rnn.model import SATURATED

from .style import base_layout

SATURATED_A = math.atanh(SATURATED)  # |a| beyond this (1.83): |h| > SATURATED, tanh' < 0.1


def saturated_ranges(name: str) -> list[tuple[float, float]]:
    """The ranges of a where g'(a) < SATURATED_SLOPE, from the slope's formula (inf: no end)."""
    s = SATURATED_SLOPE
    if name == "tanh":  # 1 - h^2 < s  <=>  |h| > sqrt(1 - s)
        c = SATURATED_A
    elif name == "sigmoid":  # h (1 - h) < s  <=>  h outside (1 -+ sqrt(1 - 4s)) / 2
        h = (1 + np.sqrt(1 - 4 * s)) / 2
        c = float(np.log(h / (1 - h)))
    elif name == "relu":  # slope 0 for a <= 0
        return [(-np.inf, 0.0)]
    else:  # identity: slope 1 everywhere
        return []
    return [(-np.inf, -c), (c, np.inf)]


def activation_figure(g: Activation | None = None, a_max: float = 4.0, n: int = 161
                      ) -> go.Figure:
    """h = g(a) and its slope g'(a), with the saturated ranges shaded: the slope below
    SATURATED_SLOPE (tanh's slope at |h| = SATURATED, |a| > SATURATED_A).

    The slope is the factor by which a gradient passes back through the neuron: small in the
    shaded ranges, where the gradient through time fades (the BPTT page shows it happen).
    """
    g = g or ACTIVATIONS["tanh"]
    a = np.linspace(-a_max, a_max, n)  # (n,)
    h = g.fn(a)  # (n,)
    slope = g.slope(h)  # (n,) g'(a), written in h
    name = {"tanh": "tanh(a)", "relu": "max(0, a)", "sigmoid": "σ(a)", "identity": "a"}[g.name]
    curves = [
        go.Scatter(x=a, y=h, name=f"h = {name}", line=dict(color="#dc2626", width=3),
                   hovertemplate=f"a = %{{x:.2f}}<br>h = {name} = %{{y:.3f}}<extra></extra>"),
        go.Scatter(x=a, y=slope, name=f"slope {g.slope_formula}",
                   line=dict(color="#64748b", dash="dot"),
                   hovertemplate=f"a = %{{x:.2f}}<br>{g.name}′(a) = {g.slope_formula} = "
                                 "%{y:.3f}<extra></extra>"),
    ]
    fig = go.Figure(curves)
    ranges = saturated_ranges(g.name)
    for x0, x1 in ranges:
        fig.add_vrect(x0=max(x0, -a_max), x1=min(x1, a_max), fillcolor="rgba(148,163,184,0.2)",
                      line_width=0, layer="below")
    if ranges:
        x0, x1 = max(ranges[-1][0], -a_max), min(ranges[-1][1], a_max)
        label = "inactive: slope 0" if g.name == "relu" else "saturated"
        fig.add_annotation(x=(x0 + x1) / 2, y=0.35 if g.name != "relu" else 1.6, text=label,
                           showarrow=False, font=dict(size=11))
    lo = min(float(h.min()), 0.0) - 0.1
    hi = max(float(h.max()), 1.0) + 0.1
    fig.update_layout(
        xaxis=dict(title=dict(text="a (pre-activation)"), zeroline=True,
                   range=[-a_max, a_max], fixedrange=True),
        yaxis=dict(range=[lo, hi], zeroline=True, fixedrange=True,
                   tickvals=[-1, 0, 1] if g.name == "tanh" else None),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
    )
    base_layout(fig, height=260)
    fig.update_layout(margin=dict(l=40, r=10, t=30, b=45))
    return fig


def tanh_figure(a_max: float = 4.0, n: int = 161) -> go.Figure:
    """``activation_figure`` of tanh."""
    return activation_figure(ACTIVATIONS["tanh"], a_max, n)
