"""Text coloured by a per-token value, the grid of all neurons, and one neuron's feature profile."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn.vocab import display_token

from .style import NOW_COLOUR, PROB_SCALE, SIGNED_SCALE, base_layout, signed_heatmap, white_ink

CELL_PX = 20  # height of one text row
MAX_WORD_CHARS = 12  # a longer word token is cut to this many cells (the hover has it whole)


def token_spans(tokens: list[str]) -> np.ndarray:
    """Cells each token takes: one per character of its label, at most ``MAX_WORD_CHARS``."""
    return np.array([len(display_token(t, MAX_WORD_CHARS)) or 1 for t in tokens], dtype=int)


def text_layout(tokens: list[str], width: int = 80) -> tuple[np.ndarray, np.ndarray]:
    """Row and first column of each token when the text is wrapped at ``width`` and at line
    breaks; a word token takes as many cells as its label has characters (``token_spans``)."""
    rows = np.empty(len(tokens), dtype=int)
    cols = np.empty(len(tokens), dtype=int)
    spans = token_spans(tokens)
    r = c = 0
    for i, tok in enumerate(tokens):
        w = int(spans[i])
        if c and c + w > width and tok != "\n":  # a line break may hang past the edge
            r, c = r + 1, 0
        rows[i], cols[i] = r, c
        c += w
        if tok.endswith("\n"):
            r, c = r + 1, 0
    return rows, cols


def text_heatmap(
    tokens: list[str], values: np.ndarray, *, width: int = 80, signed: bool = True,
    zmax: float | None = None, zmin: float | None = None, colorbar_title: str = "",
    hover_name: str = "value", hover_values: np.ndarray | None = None, title: str = "",
    mark: int | None = None,
) -> go.Figure:
    """The text laid out in a grid, each token's cell coloured by its value.

    ``signed`` uses the shared diverging scale centred on 0; otherwise the sequential scale
    from ``zmin`` to ``zmax``. NaN values leave the cell blank (the token is still written).
    ``hover_values`` (default ``values``) is what the tooltip prints; ``mark`` outlines one token.
    """
    values = np.asarray(values, dtype=float)
    shown = values if hover_values is None else np.asarray(hover_values, dtype=float)
    rows, cols = text_layout(tokens, width)
    spans = token_spans(tokens)
    ends = cols + spans  # (T,) one past each token's last cell
    n_rows = int(rows.max()) + 1 if len(tokens) else 1
    n_cols = max(int(ends.max()) if len(tokens) else 1, min(width, int(spans.sum())))
    z = np.full((n_rows, n_cols), np.nan)
    hover = np.full((n_rows, n_cols), "", dtype=object)
    for i, (tok, v) in enumerate(zip(tokens, shown, strict=True)):  # a word fills its cells
        z[rows[i], cols[i]: ends[i]] = values[i]
        hover[rows[i], cols[i]: ends[i]] = f"{i}: {display_token(tok)}<br>{hover_name} {v:.3g}"
    template = "%{customdata}<extra></extra>"
    if signed:
        heat = signed_heatmap(z, zmax=zmax, customdata=hover.tolist(), hovertemplate=template,
                              colorbar_title=colorbar_title)
    else:
        heat = go.Heatmap(z=z, zmin=zmin, zmax=zmax, colorscale=PROB_SCALE,
                          customdata=hover.tolist(), hovertemplate=template, xgap=1, ygap=1,
                          colorbar=dict(title=dict(text=colorbar_title), thickness=12))
    if signed:
        lim = heat.zmax
        white = white_ink(values, SIGNED_SCALE, -lim, lim)
    else:
        lo = zmin if zmin is not None else (values[np.isfinite(values)].min(initial=0.0))
        hi = zmax if zmax is not None else (values[np.isfinite(values)].max(initial=1.0))
        white = white_ink(values, PROB_SCALE, lo, hi)
    black = np.isfinite(values) & ~white
    # Three text traces rather than one colour per point (plotly validates a per-point colour
    # list one string at a time, which is slow for long texts): white or black on a coloured
    # cell, whichever reads better; the theme's text colour on a blank (NaN) cell.
    labels = np.array([display_token(t, MAX_WORD_CHARS) for t in tokens], dtype=object)
    centre = cols + (spans - 1) / 2  # (T,) a word's label sits across its cells
    mono = dict(family="DejaVu Sans Mono, monospace", size=12)
    letters = [
        go.Scatter(x=centre[m].tolist(), y=rows[m].tolist(), mode="text",
                   text=labels[m].tolist(), hoverinfo="skip", showlegend=False,
                   textfont=dict(mono, **({"color": colour} if colour else {})))
        for m, colour in ((black, "black"), (white, "white"), (~black & ~white, None)) if m.any()
    ]
    fig = go.Figure([heat, *letters])
    if mark is not None and 0 <= mark < len(tokens):
        fig.add_shape(type="rect", x0=cols[mark] - 0.5, x1=ends[mark] - 0.5, y0=rows[mark] - 0.5,
                      y1=rows[mark] + 0.5, line=dict(color=NOW_COLOUR, width=2))
    height = n_rows * CELL_PX + (60 if title else 30)
    if n_rows <= 4:  # a short strip: a vertical colour bar would be squashed, lay it below
        fig.update_traces(colorbar=dict(orientation="h", x=0, xanchor="left", y=-0.05,
                                        yanchor="top", len=min(1.0, 300 / max(n_cols * 14, 1)),
                                        lenmode="fraction", thickness=10,
                                        title=dict(side="top")),
                          selector=dict(type="heatmap"))
        height += 90
    else:  # a tall text: keep the colour bar short enough to read at a glance
        fig.update_traces(colorbar=dict(lenmode="pixels", len=min(260, height - 60), y=1,
                                        yanchor="top"), selector=dict(type="heatmap"))
    base_layout(fig, title=title, height=height)
    if n_rows <= 4:
        fig.update_layout(margin=dict(b=70))  # room for the colour bar and its ticks
    fig.update_xaxes(visible=False, range=[-0.5, n_cols - 0.5], fixedrange=True)
    fig.update_yaxes(visible=False, autorange="reversed", fixedrange=True)
    return fig


def selectivity_grid(best_r: np.ndarray, order: np.ndarray, descriptions: list[str], *,
              selected: int | None = None, n_cols: int = 16) -> go.Figure:
    """Every neuron as a square, most selective first, coloured by the signed r of its best feature.

    ``customdata`` of each point is the neuron id, so a click selects that neuron.
    """
    best_r = np.asarray(best_r, dtype=float)
    order = np.asarray(order)
    slot = np.arange(len(order))
    x, y = slot % n_cols, slot // n_cols
    n_rows = int(y.max()) + 1 if len(order) else 1
    # the selected square outlined in the "now" orange, the others faintly (pale ones need an
    # edge on a white page): both read on the light and the dark theme
    marker_line = [NOW_COLOUR if u == selected else "rgba(128,128,128,0.3)"
                   for u in order.tolist()]
    widths = [3 if u == selected else 1 for u in order.tolist()]
    white = white_ink(best_r[order], SIGNED_SCALE, -1.0, 1.0)
    fig = go.Figure(go.Scatter(
        x=x, y=y, mode="markers+text", text=[str(u) for u in order.tolist()],
        textfont=dict(size=10, color=["white" if w else "black" for w in white]),
        customdata=order.tolist(),
        hovertext=[f"neuron {u}: {descriptions[u]}" for u in order.tolist()],
        hovertemplate="%{hovertext}<extra></extra>",
        marker=dict(symbol="square", size=30, color=best_r[order], cmin=-1, cmax=1, cmid=0,
                    colorscale=SIGNED_SCALE, line=dict(color=marker_line, width=widths),
                    colorbar=dict(title=dict(text="best r"), thickness=12)),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=1)),
        showlegend=False,
    ))
    base_layout(fig, title="All neurons, most selective first (colour: r of the best feature)",
                height=70 + 34 * n_rows)
    fig.update_xaxes(visible=False, range=[-0.6, n_cols - 0.4], fixedrange=True)
    fig.update_yaxes(visible=False, range=[n_rows - 0.5, -0.5], fixedrange=True)
    fig.update_layout(clickmode="event+select", dragmode=False)
    return fig


def feature_bars(r: np.ndarray, names: tuple[str, ...], *, neuron: int) -> go.Figure:
    """Pearson r of one neuron with every text feature, as horizontal bars (largest |r| on top)."""
    r = np.asarray(r, dtype=float)
    idx = np.argsort(np.abs(r))
    fig = go.Figure(go.Bar(
        x=r[idx], y=[names[i] for i in idx], orientation="h",
        marker=dict(color=r[idx], cmin=-1, cmax=1, cmid=0, colorscale=SIGNED_SCALE),
        hovertemplate="%{y}: r = %{x:+.3f}<extra></extra>",
    ))
    base_layout(fig, title=f"Neuron {neuron}: r with each feature",
                height=60 + 22 * len(names))
    fig.update_xaxes(range=[-1, 1], title="Pearson r", zeroline=True, zerolinecolor="#999")
    return fig
