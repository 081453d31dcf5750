"""Backprop through time: gradient norms over the text, against distance, and for every step."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn.activation import ACTIVATIONS, Activation
from rnn.analysis import GradientDecay
from rnn.vocab import display_token

from .atlas import text_heatmap
from .style import NOW_COLOUR, PROB_SCALE, base_layout, unique_labels

# Mid tones: each keeps 3:1 or more against the light and the dark theme's background.
LINE_COLOURS = {"dh": "#2f6fd0", "dx": NOW_COLOUR, "jac": "#7f7f7f", "sat": "#d62728"}
G_COLOURS = {"tanh": "#2f6fd0", "relu": NOW_COLOUR, "sigmoid": "#2e8b57", "identity": "#9b59b6"}


def _log10(x: np.ndarray) -> np.ndarray:
    """log10 of non-negative norms; 0 and non-finite values become NaN (not drawn)."""
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.log10(x)
    out[~np.isfinite(out)] = np.nan
    return out


def _finite_or_none(x: np.ndarray) -> list:
    """Values for a plotly log axis: positive finite numbers, others as gaps."""
    return [float(v) if np.isfinite(v) and v > 0 else None for v in np.asarray(x, dtype=float)]


def gradient_text(tokens: list[str], norms: np.ndarray, t: int, *, width: int = 80) -> go.Figure:
    """The sentence, each input token k <= t coloured by log10 ||dL_t/dx_k||; later ones blank.

    ``tokens`` are the inputs; ``norms`` (t+1,) the gradient norms of tokens 0..t.
    """
    values = np.full(len(tokens), np.nan)
    values[: t + 1] = _log10(norms[: t + 1])
    finite = values[np.isfinite(values)]
    hi = float(finite.max()) if finite.size else 0.0
    lo = float(finite.min()) if finite.size else -1.0
    raw = np.full(len(tokens), np.nan)
    raw[: t + 1] = norms[: t + 1]
    return text_heatmap(
        tokens, values, width=width, signed=False, zmin=min(lo, hi - 1.0), zmax=hi,
        colorbar_title="log10 ‖dL_t/dx_k‖", hover_name="‖dL_t/dx_k‖ =", hover_values=raw,
        mark=t,
    )


def gradient_decay(
    tokens: list[str], t: int, dh_norm: np.ndarray, dx_norm: np.ndarray, jac_frob: np.ndarray,
    saturated: np.ndarray, g: Activation | None = None,
) -> go.Figure:
    """Gradient norms against the distance t - k on a log axis, and the saturation of h_k below.

    All arrays are shaped (t+1,) and indexed by k = 0..t; the x axis is the distance t - k.
    ``g`` is the model's activation, named in the labels (tanh if None).
    """
    g = g or ACTIVATIONS["tanh"]
    k = np.arange(t + 1)
    dist = t - k
    label = [f"k={i} {display_token(tokens[i])}" for i in k]
    # Two stacked panels sharing the x axis, laid out by hand (make_subplots costs ~15 ms).
    fig = go.Figure(layout=dict(
        xaxis=dict(anchor="y", matches="x2", showticklabels=False),
        yaxis=dict(domain=[0.34, 1.0], type="log", title="norm (log scale)",
                   exponentformat="power"),
        xaxis2=dict(anchor="y2", title="distance t − k (steps back from t)"),
        yaxis2=dict(domain=[0.0, 0.26], title="saturated", range=[0, 1], tickformat=".0%"),
    ))
    lines = [
        ("‖dL_t/dh_k‖", dh_norm, LINE_COLOURS["dh"], "solid"),
        ("‖dL_t/dx_k‖ = ‖W_iᵀ dL_t/da_k‖", dx_norm, LINE_COLOURS["dx"], "solid"),
        (f"‖∂h_t/∂h_k‖_F, Jacobian product ∏ diag({g.name}′(a_j)) W_h", jac_frob,
         LINE_COLOURS["jac"], "dot"),
    ]
    for name, y, colour, dash in lines:
        fig.add_trace(go.Scatter(
            x=dist, y=_finite_or_none(y), name=name, mode="lines+markers", customdata=label,
            line=dict(color=colour, dash=dash, width=2), marker=dict(size=4),
            hovertemplate="%{customdata}<br>t-k=%{x}<br>%{y:.3g}<extra>" + name + "</extra>",
        ))
    fig.add_trace(go.Bar(
        x=dist, y=saturated, name=f"share of saturated neurons ({g.name}′(a_k) < 0.1)",
        customdata=label,
        marker_color=LINE_COLOURS["sat"], xaxis="x2", yaxis="y2",
        hovertemplate="%{customdata}<br>%{y:.0%} saturated<extra></extra>",
    ))
    base_layout(fig, height=470)
    fig.update_layout(legend=dict(orientation="h", y=1.01, yanchor="bottom", x=0, xanchor="left"),
                      bargap=0.1, margin=dict(t=60))
    return fig


def sensitivity_heatmap(dh_norm: np.ndarray, tokens: list[str]) -> go.Figure:
    """log10 ||dL_t/dh_k|| for every loss step t (rows) and every state k <= t (columns).

    The figure depends only on the text and the model; ``mark_loss_step`` outlines one row.
    """
    z = _log10(dh_norm)
    labels = unique_labels(tokens)
    finite = z[np.isfinite(z)]
    hi = float(finite.max()) if finite.size else 0.0
    lo = float(np.percentile(finite, 2)) if finite.size else -1.0
    fig = go.Figure(go.Heatmap(
        z=z, x=labels, y=labels, colorscale=PROB_SCALE, zmin=min(lo, hi - 1.0), zmax=hi,
        colorbar=dict(title=dict(text="log10 ‖dL_t/dh_k‖"), thickness=12),
        hovertemplate="loss at t=%{y}<br>state k=%{x}<br>log10 norm %{z:.2f}<extra></extra>",
    ))
    fig.add_shape(type="rect", xref="x", yref="y", x0=-0.5, x1=0.5, y0=-0.5, y1=0.5,
                  line=dict(color=NOW_COLOUR, width=2), visible=False)
    base_layout(fig, title="Every step at once: rows are the loss step t, columns the state k",
                height=520)
    fig.update_yaxes(autorange="reversed", title="loss at step t", showticklabels=len(tokens) <= 60)
    fig.update_xaxes(title="hidden state h_k", showticklabels=len(tokens) <= 60)
    fig.update_layout(plot_bgcolor="rgba(128,128,128,0.08)")  # k > t, no gradient: a faint tint
    return fig


def mark_loss_step(fig: go.Figure, t: int) -> go.Figure:
    """Outline row t (the states k <= t) of a ``sensitivity_heatmap``, in place."""
    fig.layout.shapes[0].update(x0=-0.5, x1=t + 0.5, y0=t - 0.5, y1=t + 0.5, visible=True)
    return fig


def activation_comparison(decays: dict[str, GradientDecay], unit: str = "char") -> go.Figure:
    """Models that differ only in g, side by side: how the gradient fades with the distance back
    in time (left, log scale) and the loss on the same text (right)."""
    fig = go.Figure(layout=dict(
        xaxis=dict(domain=[0.0, 0.62], title="distance d = t − k (steps back)"),
        yaxis=dict(type="log", title="‖dL_t/dh_{t−d}‖ / ‖dL_t/dh_t‖ (median)",
                   exponentformat="power"),
        xaxis2=dict(domain=[0.74, 1.0], anchor="y2"),
        yaxis2=dict(anchor="x2", title=f"loss, nats/{unit}", rangemode="tozero"),
    ))
    for name, dec in decays.items():
        colour = G_COLOURS.get(name, LINE_COLOURS["jac"])
        fig.add_trace(go.Scatter(
            x=dec.distance, y=_finite_or_none(dec.ratio), name=f"g = {name}", mode="lines",
            line=dict(color=colour, width=2), legendgroup=name,
            hovertemplate=f"g = {name}<br>d = %{{x}}<br>ratio %{{y:.3g}}<extra></extra>",
        ))
        fig.add_trace(go.Bar(
            x=[name], y=[dec.loss], marker_color=colour, xaxis="x2", yaxis="y2",
            showlegend=False, legendgroup=name, customdata=[[dec.saturated]],
            hovertemplate=f"g = {name}<br>loss %{{y:.3f}} nats/{unit}<br>"
                          "%{customdata[0]:.0%} of units saturated<extra></extra>",
        ))
    base_layout(fig, height=340)
    fig.update_layout(legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
                      margin=dict(t=40), bargap=0.3)
    return fig
