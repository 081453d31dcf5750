"""Figures of a training run: loss curves and the gradient norm (W_h: ``figures.weights``)."""

from __future__ import annotations

import math

import numpy as np
import plotly.graph_objects as go

from .style import base_layout

MAX_POINTS = 1500  # longer curves are thinned before plotting; the browser stays quick
LN2 = math.log(2.0)
# The raw curve faint, the smoothed one strong, on the light and the dark theme alike: mid tones
# with 3:1 or more against both backgrounds, the raw one translucent.
TRAIN_COLOUR = "rgba(33,113,181,0.5)"
SMOOTH_COLOUR = "#2171b5"
VAL_COLOUR = "#d94801"
GRAD_COLOUR = "#807dba"


def ema(values: np.ndarray, alpha: float) -> np.ndarray:
    """Exponential moving average y_t = (1 - alpha) y_{t-1} + alpha x_t, debiased at the start."""
    x = np.asarray(values, dtype=float)
    out = np.empty_like(x)
    acc, weight = 0.0, 0.0
    for i, v in enumerate(x):  # a few thousand points: a plain loop is fast enough
        acc = (1 - alpha) * acc + alpha * v
        weight = (1 - alpha) * weight + alpha
        out[i] = acc / weight
    return out


def _thin(n: int) -> np.ndarray:
    """Indices of at most MAX_POINTS points spread over n, always keeping the last one."""
    if n <= MAX_POINTS:
        return np.arange(n)
    idx = np.linspace(0, n - 1, MAX_POINTS).astype(int)
    return np.unique(idx)


def loss_figure(step, loss, val_step, val_loss, *, unit: str = "character",
                initial: float | None = None, smooth: float = 0.05,
                height: int = 340) -> go.Figure:
    """Training loss (raw and smoothed) and validation loss, nats on the left, bits on the right.

    The axis spans the curves (and ``initial``), not 0 to the top: the fall from the first guess
    to 2 nats or less is what a learner watches, and on a 0-8 axis it looked flat.

    Parameters
    ----------
    step, loss : sequences, shape (N,)
        Training step and its loss in nats per token.
    val_step, val_loss : sequences, shape (M,)
        Steps at which the held-out loss was measured, and that loss in nats per token.
    unit : str
        What the loss is per: ``Vocab.unit_name`` ("character" or "word").
    initial : float, optional
        The loss of the uniform guess, ln V nats per token, drawn as a dotted line.
    smooth : float
        The smoothing weight alpha of the exponential moving average (smaller is smoother).
    """
    step = np.asarray(step)
    loss = np.asarray(loss, dtype=float)
    traces = []
    if loss.size:
        keep = _thin(loss.size)
        smoothed = ema(loss, smooth)
        traces += [
            go.Scatter(x=step[keep], y=loss[keep], mode="lines", name="training (per step)",
                       line=dict(color=TRAIN_COLOUR, width=1),
                       hovertemplate="step %{x}<br>loss %{y:.3f} nats<extra></extra>"),
            go.Scatter(x=step[keep], y=smoothed[keep], mode="lines", name="training (smoothed)",
                       line=dict(color=SMOOTH_COLOUR, width=2.5), customdata=smoothed[keep] / LN2,
                       hovertemplate="step %{x}<br>smoothed %{y:.3f} nats = %{customdata:.3f} "
                                     "bits<extra></extra>"),
        ]
    v = np.asarray(val_loss, dtype=float)
    if v.size:
        traces.append(go.Scatter(
            x=list(val_step), y=v, mode="lines+markers", name="validation",
            line=dict(color=VAL_COLOUR, width=2), marker=dict(size=6), customdata=v / LN2,
            hovertemplate="step %{x}<br>validation %{y:.3f} nats = %{customdata:.3f} bits"
                          "<extra></extra>"))
    traces.append(go.Scatter(x=[None], y=[None], yaxis="y2", showlegend=False,
                             hoverinfo="skip"))  # makes plotly draw the bits axis
    values = np.concatenate([loss, v, [] if initial is None else [initial]])
    values = values[np.isfinite(values)]
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
    pad = 0.05 * max(hi - lo, 0.1)
    lo, hi = max(0.0, lo - pad), hi + pad
    # bits = nats / ln 2: the right axis spans the same range in bits, so both read off one curve
    layout = dict(
        xaxis=dict(title="step", rangemode="tozero", showgrid=True),
        yaxis=dict(title=f"loss (nats per {unit})", range=[lo, hi], showgrid=True),
        yaxis2=dict(title=f"bits per {unit}", range=[lo / LN2, hi / LN2], overlaying="y",
                    side="right", showgrid=False),
        legend=dict(orientation="h", y=1.02, yanchor="bottom", x=1, xanchor="right"),
    )
    fig = go.Figure(traces, layout)
    if initial is not None and np.isfinite(initial):
        fig.add_hline(y=initial, line=dict(color="#888", dash="dot", width=1),
                      annotation_text=f"ln V = {initial:.2f}: a uniform guess",
                      annotation_position="top right")
    return base_layout(fig, title="Loss", height=height)


def grad_norm_figure(step, grad_norm, *, height: int = 260) -> go.Figure:
    """The global gradient norm ||dL/dtheta|| before clipping, on a log axis."""
    step = np.asarray(step)
    g = np.asarray(grad_norm, dtype=float)
    keep = _thin(g.size)
    trace = go.Scatter(x=step[keep], y=g[keep], mode="lines", name="gradient norm",
                       line=dict(color=GRAD_COLOUR, width=1.5),
                       hovertemplate="step %{x}<br>norm %{y:.3g}<extra></extra>")
    layout = dict(xaxis=dict(title="step", rangemode="tozero"),
                  yaxis=dict(title="‖dL/dθ‖ (before clipping)", type="log", dtick=1),
                  showlegend=False)
    return base_layout(go.Figure([trace] if g.size else [], layout), title="Gradient norm",
                       height=height)
