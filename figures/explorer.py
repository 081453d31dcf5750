"""Figures of the explorer: one step of the forward pass, the state over time, the prediction.

Every function takes arrays of a ``Trace`` (or slices of them) and returns a ``go.Figure``;
the values drawn are the Trace's own numbers, never recomputed. A hidden vector of H neurons
is drawn as a grid of ``neuron_grid(H)`` cells read row by row: cell (r, c) is neuron
``r * cols + c``.
"""

from __future__ import annotations

import html
import math

import numpy as np
import plotly.graph_objects as go

from rnn.vocab import display_token

from .style import SIGNED_STOPS, base_layout, signed_heatmap

# The five panels of one step, left to right: a_t = W_i x_t + W_h h_{t-1} + b_h, h_t = tanh(a_t).
STEP_PANELS = (
    ("Wi_x", "W<sub>i</sub>·x<sub>t</sub>", "input"),
    ("Wh_h", "W<sub>h</sub>·h<sub>t−1</sub>", "memory"),
    ("b_h", "b<sub>h</sub>", "bias"),
    ("a", "a<sub>t</sub>", "pre-activation"),
    ("h", "h<sub>t</sub> = tanh(a<sub>t</sub>)", "hidden state"),
)
PANEL_OPS = ("+", "+", "=", "→")  # drawn between panels; the last panel says "tanh"
CURRENT = "#f59e0b"  # amber: the current step / the chosen neuron
UNKNOWN = "#dc2626"  # red: a token the vocabulary does not know
ACTUAL = "#f59e0b"  # the bar of the token that really comes next
OTHER = "#94a3b8"  # the other predicted tokens


def plain(tok: str) -> str:
    """A token as plotly text: visible white space, and ``<``, ``>``, ``&`` shown literally.

    Plotly reads a small set of HTML-like tags in labels; escaping keeps user text as text.
    """
    return html.escape(display_token(tok), quote=False)


def neuron_grid(H: int) -> tuple[int, int]:
    """(rows, cols) of the grid that shows an H-vector: about twice as wide as tall."""
    cols = max(1, math.ceil(math.sqrt(2 * H)))
    return math.ceil(H / cols), cols


def as_grid(v: np.ndarray, cols: int) -> np.ndarray:
    """An H-vector as a (rows, cols) grid read row by row, padded with NaN."""
    H = v.shape[-1]
    rows = math.ceil(H / cols)
    out = np.full(rows * cols, np.nan)
    out[:H] = v
    return out.reshape(rows, cols)


def signed_zmax(*arrays: np.ndarray, q: float = 100.0) -> float:
    """A symmetric colour range: the q-th percentile of |value| over all arrays (1.0 if zero).

    With q < 100 a few extreme cells saturate instead of washing out all the others; the hover
    still shows every exact value.
    """
    vals = np.concatenate([np.abs(np.ravel(a)) for a in arrays])
    m = float(np.percentile(vals, q)) if vals.size else 0.0
    return m if m > 0 and np.isfinite(m) else 1.0


def _figure(data, layout: dict | None = None) -> go.Figure:
    """A figure from traces and a layout dict, without plotly's per-property validation.

    Validation made up most of a step's server time (about 40 ms of 50 for ``step_figure``);
    the tests validate every figure these functions build once, so typos are still caught.
    """
    return go.Figure(data=data, layout=layout, _validate=False)


def _axis(k: int) -> str:
    return "" if k == 1 else str(k)


def step_figure(
    step: dict[str, np.ndarray], token: str, t: int, *, neuron: int | None = None,
    zmax: float | None = None,
) -> go.Figure:
    """The sum that makes h_t, as five grids: W_i·x_t + W_h·h_{t-1} + b_h = a_t, then tanh.

    Parameters
    ----------
    step : dict with the H-vectors ``Wi_x, Wh_h, b_h, a, h`` at step t (Trace rows and b_h)
    token : the token read at step t
    t : the step, for the hover text
    neuron : index j of the neuron to outline in every grid, or None
    zmax : symmetric colour range of the four terms of a_t (h_t always uses [-1, 1]);
        pass the range over the whole sentence so the colours mean the same at every step.

    Each heatmap carries the neuron index as customdata. Plotly heatmaps emit no selection
    events, so an invisible marker sits on every cell of the h_t grid: a click there selects
    the neuron. Only that grid has them: on all five, the 640 markers (H = 128) doubled the
    grid's drawing time in the browser, and every step redraws it.
    """
    H = step["h"].shape[-1]
    rows, cols = neuron_grid(H)
    idx = as_grid(np.arange(H, dtype=float), cols)
    custom = np.where(np.isnan(idx), -1, idx).astype(int)
    if zmax is None:
        zmax = signed_zmax(*(step[k] for k in ("Wi_x", "Wh_h", "b_h", "a")))
    n = len(STEP_PANELS)
    gap = 0.05
    width = (1 - gap * (n - 1)) / n
    tok = plain(token)
    cc, rr = np.meshgrid(np.arange(cols), np.arange(rows))
    valid = (custom >= 0).ravel()
    traces, annotations, shapes = [], [], []
    layout: dict = {}
    for k, (key, label, role) in enumerate(STEP_PANELS, start=1):
        is_h = key == "h"
        xa, ya = f"x{_axis(k)}", f"y{_axis(k)}"
        z = as_grid(step[key], cols)
        hover = (
            f"<b>{label}</b> ({role})<br>neuron %{{customdata}}<br>value %{{z:.4f}}"
            f"<br>step {t}, token '{tok}'<extra></extra>"
        )
        hm = signed_heatmap(
            z, zmax=1.0 if is_h else zmax, customdata=custom, hovertemplate=hover,
            showscale=k in (1, n), name=key,
        ).to_plotly_json()  # a plain dict: cheap to extend
        x0 = (k - 1) * (width + gap)
        hm.update(
            xaxis=xa, yaxis=ya,
            colorbar=dict(
                orientation="h", thickness=10, y=-0.04, yanchor="top",
                x=(x0 + width / 2) if is_h else (n - 1) * (width + gap) / 2 - gap / 2,
                len=width if is_h else (n - 1) * (width + gap) - gap,
                title=dict(text="h<sub>t</sub>" if is_h else "the four terms of a<sub>t</sub>",
                           side="top"),
                tickfont=dict(size=10), tickvals=[-1, 0, 1] if is_h else None,
            ),
        )
        traces.append(hm)
        if is_h:  # invisible click targets, one per neuron: they make h_t's grid selectable
            traces.append(dict(
                type="scatter", x=cc.ravel()[valid], y=rr.ravel()[valid],
                customdata=custom.ravel()[valid], mode="markers",
                # small markers: the nearest centre wins, so a click anywhere in a cell is exact
                marker=dict(size=6, opacity=0, symbol="square"),
                hovertemplate=hover.replace("%{z:.4f}", "%{text}"),
                text=[f"{v:.4f}" for v in np.asarray(step[key])],
                xaxis=xa, yaxis=ya, showlegend=False, name=f"{key} cells",
            ))
        layout[f"xaxis{_axis(k)}"] = dict(
            domain=[x0, x0 + width], anchor=ya, showgrid=False, zeroline=False, ticks="",
            showticklabels=False, fixedrange=True, range=[-0.5, cols - 0.5])
        layout[f"yaxis{_axis(k)}"] = dict(
            anchor=xa, range=[rows - 0.5, -0.5], showgrid=False, zeroline=False,
            fixedrange=True, showticklabels=k == 1, ticks="", tickvals=list(range(rows)),
            ticktext=[str(r * cols) for r in range(rows)], tickfont=dict(size=9))
        annotations.append(dict(
            text=f"<b>{label}</b><br><span style='font-size:11px'>{role}</span>",
            xref="paper", yref="paper", x=x0 + width / 2, y=1.0, yanchor="bottom",
            showarrow=False))
        if k < n:
            annotations.append(dict(
                text=f"<b>{PANEL_OPS[k - 1]}</b>", xref="paper", yref="paper",
                x=x0 + width + gap / 2, y=0.5, showarrow=False,
                font=dict(size=16)))
        if neuron is not None and 0 <= neuron < H:
            r, c = divmod(int(neuron), cols)
            shapes.append(dict(type="rect", x0=c - 0.5, x1=c + 0.5, y0=r - 0.5, y1=r + 0.5,
                               xref=xa, yref=ya, line=dict(color=CURRENT, width=2.5)))
    fig = _figure(traces, dict(
        **layout, annotations=annotations, shapes=shapes, hovermode="closest",
        clickmode="event+select", dragmode=False))
    base_layout(fig, height=110 + 20 * rows)
    fig.update_layout(margin=dict(l=30, r=10, t=50, b=60))
    return fig


def hidden_over_time_figure(
    h: np.ndarray, tokens: list[str], t: int, *, neuron: int | None = None,
) -> go.Figure:
    """h_t of every neuron (rows) at every step (columns), filled up to step t.

    Parameters
    ----------
    h : (T, H) hidden states of the Trace
    tokens : the T tokens read
    t : current step; later columns are left empty, column t is outlined
    neuron : a neuron whose row is outlined, or None
    """
    T, H = h.shape
    z = np.full((H, T), np.nan, dtype=np.float32)  # float32 halves the payload; hover has 4 d.p.
    z[:, : t + 1] = h[: t + 1].T  # (H, t+1)
    # Category x labels "step 'token'": the hover names the token without a (H, T) text array.
    labels = [f"{i} '{plain(tok)}'" for i, tok in enumerate(tokens)]
    hm = signed_heatmap(
        z, x=labels, zmax=1.0, colorbar_title="h_t", name="h",
        hovertemplate="neuron %{y}<br>step %{x}<br>h = %{z:.4f}<extra></extra>",
    ).to_plotly_json()
    hm.update(z=z, hoverongaps=False, xgap=0, ygap=0)
    shapes = [dict(type="rect", x0=t - 0.5, x1=t + 0.5, y0=-0.5, y1=H - 0.5,
                   line=dict(color=CURRENT, width=2))]
    if neuron is not None and 0 <= neuron < H:
        shapes.append(dict(type="rect", x0=-0.5, x1=T - 0.5, y0=neuron - 0.5, y1=neuron + 0.5,
                           line=dict(color=CURRENT, width=1.5, dash="dot")))
    every = 1 if T <= 80 else max(1, T // 20)
    fig = _figure([hm], dict(
        shapes=shapes,
        xaxis=dict(type="category", range=[-0.5, T - 0.5], showgrid=False, zeroline=False,
                   title=dict(text="step t (token)"), tickangle=0,
                   tickfont=dict(size=11, family="monospace"), tickvals=labels[::every],
                   ticktext=[plain(tok) if every == 1 else str(i)
                             for i, tok in enumerate(tokens)][::every]),
        yaxis=dict(range=[H - 0.5, -0.5], showgrid=False, zeroline=False,
                   title=dict(text="neuron")),
    ))
    return base_layout(fig, height=min(460, 160 + 2 * H))


def top_k(p: np.ndarray, k: int) -> np.ndarray:
    """Ids of the k most probable tokens, most probable first (ties by lower id)."""
    k = min(k, p.shape[-1])
    return np.argsort(-p, kind="stable")[:k]


def prediction_figure(
    p: np.ndarray, labels: list[str], *, actual: int | None = None, k: int = 10,
) -> go.Figure:
    """Top-k next-token probabilities p_t as bars, with the token that really comes next marked.

    Parameters
    ----------
    p : (V,) probabilities of the Trace at step t
    labels : the V vocabulary tokens, as printed
    actual : id of the token that really follows, or None at the end of the text;
        if it is not among the top k it gets its own bar at the bottom, with its rank.
    """
    ids = [int(i) for i in top_k(p, k)]
    rank = None
    if actual is not None:
        rank = int(np.sum(p > p[actual])) + 1
        if actual not in ids:
            ids.append(int(actual))
    names = [
        f"'{plain(labels[i])}'" + (f" (rank {rank})" if i == actual and rank > k else "")
        for i in ids
    ]
    bar = dict(
        type="bar", x=[float(p[i]) for i in ids], y=list(range(len(ids))), orientation="h",
        marker=dict(color=[ACTUAL if i == actual else OTHER for i in ids]), customdata=names,
        text=[f"{p[i]:.3f}" for i in ids], textposition="outside", cliponaxis=False,
        hovertemplate="%{customdata}: p = %{x:.4f}<extra></extra>", name="p_t",
    )
    top = float(max(p[i] for i in ids))
    fig = _figure([bar], dict(
        yaxis=dict(tickvals=list(range(len(ids))), ticktext=names, autorange="reversed",
                   tickfont=dict(family="monospace", size=13)),
        xaxis=dict(range=[0, min(1.0, top * 1.25) or 1.0], showgrid=True, gridcolor="#eee",
                   title=dict(text="p_t (probability)")),
        showlegend=False, bargap=0.25,
    ))
    return base_layout(fig, height=90 + 24 * len(ids))


def _strip_layout(T: int, width: int) -> tuple[np.ndarray, np.ndarray, int]:
    """x (column) and y (row) of each of T cells wrapped at ``width`` per row."""
    pos = np.arange(T)
    return pos % width, pos // width, math.ceil(T / width)


def text_strip_figure(
    tokens: list[str], t: int | None = None, *, values: np.ndarray | None = None,
    unknown: list[int] | tuple[int, ...] = (), width: int = 34, value_name: str = "h",
) -> go.Figure:
    """The text as a strip of cells, wrapped into rows; clicking a cell selects its step.

    Without ``values`` the cells show where the reader is: read tokens grey, step t amber,
    unknown tokens outlined red. With ``values`` (T,) each cell is coloured on the shared
    signed scale in [-1, 1] (e.g. one neuron's h_t over the text) and step t is outlined.
    """
    T = len(tokens)
    width = max(1, min(width, T))
    x, y, nrows = _strip_layout(T, width)
    unk = np.zeros(T, bool)
    unk[[i for i in unknown if 0 <= i < T]] = True
    line_color = np.where(unk, UNKNOWN, "#cbd5e1").astype(object)
    line_width = np.where(unk, 2.5, 1.0)
    has_t = t is not None and 0 <= t < T
    if has_t:
        line_color[t] = CURRENT if values is not None else "#b45309"
        line_width[t] = 3.0
    note = np.where(unk, " (unknown to the model: read as &lt;unk&gt;)", "")
    steps = np.arange(T)
    cell = 24
    marker = dict(symbol="square", size=cell - 2,
                  line=dict(color=list(line_color), width=list(line_width)))
    if values is None:
        before = steps < (t if has_t else 0)
        fill = np.where(steps == t, CURRENT, np.where(before, "#e2e8f0", "white"))
        marker["color"] = list(fill)
        custom = [[int(i), n] for i, n in zip(steps, note, strict=True)]
        hover = "step %{customdata[0]}: '%{text}'%{customdata[1]}<extra></extra>"
    else:
        v = np.asarray(values, dtype=float)
        text_color = list(np.where(np.abs(v) > 0.6, "white", "#111"))  # readable on dark cells
        marker.update(color=v, colorscale=SIGNED_STOPS, cmin=-1.0, cmax=1.0, cmid=0.0,
                      showscale=True, colorbar=dict(title=dict(text=value_name), thickness=10,
                                                    tickvals=[-1, 0, 1], len=1.2))
        custom = [[int(i), n, f"{a:.4f}"] for i, n, a in zip(steps, note, v, strict=True)]
        hover = (f"step %{{customdata[0]}}: '%{{text}}'%{{customdata[1]}}"
                 f"<br>{value_name} = %{{customdata[2]}}<extra></extra>")
    scatter = dict(
        type="scatter", x=x, y=y, mode="markers+text", text=[plain(tok) for tok in tokens],
        customdata=custom, hovertemplate=hover, marker=marker, name="tokens",
        textfont=dict(family="monospace", size=14,
                      color=text_color if values is not None else "#111"),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
    )
    fig = _figure([scatter], dict(
        xaxis=dict(visible=False, range=[-0.6, width - 0.4], fixedrange=True),
        yaxis=dict(visible=False, range=[nrows - 0.5, -0.5], fixedrange=True),
    ))
    base_layout(fig, height=max(20 + cell * nrows + 10, 90 if values is not None else 0))
    # A fixed width keeps the cells square; show it with st.plotly_chart(width="content").
    fig.update_layout(width=10 + cell * width + (90 if values is not None else 0),
                      margin=dict(l=5, r=5, t=5, b=5), clickmode="event+select",
                      dragmode=False, showlegend=False)
    return fig
