"""The path of h_t through the plane (or space) of its first principal components."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from rnn.vocab import display_token

from .style import NOW_COLOUR, base_layout

CLOUD_COLOUR = "rgba(150,150,150,0.25)"
CLOUD_3D = "#8a8a8a"  # WebGL 3-D markers ignore rgba alpha: grey plus trace opacity
LINE_COLOUR = "rgba(47,111,208,0.5)"
BAR_COLOUR = "#2f6fd0"  # 3:1 or more against the light and the dark theme's background
BUTTON_TEXT = "#31333f"  # Streamlit's light-theme text


def _axis_titles(ratio: np.ndarray, dims: int) -> list[str]:
    return [f"PC{i + 1} ({ratio[i]:.1%} of variance)" for i in range(dims)]


def _pad_axes(a: np.ndarray, dims: int) -> np.ndarray:
    """Zero columns up to ``dims``: a model with H=1, or a PCA fitted on two states, has fewer
    principal axes than the view draws; the missing ones carry no variance."""
    a = np.asarray(a, dtype=float)
    missing = dims - a.shape[-1]
    return np.pad(a, [(0, 0)] * (a.ndim - 1) + [(0, missing)]) if missing > 0 else a


def trajectory(
    z: np.ndarray, tokens: list[str], explained: np.ndarray, *, t: int, dims: int = 2,
    reference: np.ndarray | None = None, animate: bool = True,
) -> go.Figure:
    """The states h_0..h_{T-1} projected on the principal axes, each labelled with its token.

    Parameters
    ----------
    z : array, shape (T, K)
        Projected trajectory, K >= dims.
    explained : array, shape (K,)
        Explained variance ratio of each axis (for the axis titles).
    t : int
        The current step, marked and shown as the end of the drawn path.
    reference : array, shape (N, K), optional
        Projected reference states, drawn as a faint cloud behind the path.
    animate : bool
        Add one frame per step and Play / Pause buttons that walk the marker along the path
        in the browser, without a rerun.
    """
    z = _pad_axes(z, dims)  # (T, >= dims)
    explained = _pad_axes(explained, dims)
    if reference is not None:
        reference = _pad_axes(reference, dims)
    T = len(tokens)
    t = int(np.clip(t, 0, T - 1))
    labels = [display_token(tok, 12) for tok in tokens]  # a long word is cut; the hover has it
    hover = [f"t={i} {display_token(tok)}" for i, tok in enumerate(tokens)]
    three = dims == 3
    Scatter = go.Scatter3d if three else go.Scatter

    def coords(sl) -> dict:
        # Lists, not arrays: plotly validates lists of floats several times faster.
        out = dict(type="scatter3d" if three else "scatter", x=z[sl, 0].tolist(),
                   y=z[sl, 1].tolist())
        if three:
            out["z"] = z[sl, 2].tolist()
        return out

    def now(i: int) -> dict:
        return dict(**coords(slice(i, i + 1)), text=[labels[i]], hovertext=[hover[i]])

    traces = []
    if reference is not None:
        ref = np.asarray(reference, dtype=float)
        cloud = dict(x=ref[:, 0], y=ref[:, 1])
        if three:
            cloud["z"] = ref[:, 2]
        traces.append(Scatter(**cloud, mode="markers", name="reference states",
                              marker=dict(size=2 if three else 4,
                                          color=CLOUD_3D if three else CLOUD_COLOUR),
                              opacity=0.5 if three else 1.0, hoverinfo="skip"))
    # The path, its points shaded from light (first token) to dark (last) so the direction of
    # travel shows; an animation frame moves only the "now" marker (cheap to build and send).
    traces.append(Scatter(
        **coords(slice(None)), mode="lines+markers+text", name="your text",
        text=labels, hovertext=hover, hovertemplate="%{hovertext}<extra></extra>",
        line=dict(color=LINE_COLOUR, width=1.5),
        marker=dict(size=3 if three else 7, color=np.arange(T), colorscale="Blues",
                    cmin=-0.4 * T, cmax=T - 1),
        textposition="top center", textfont=dict(size=11),
    ))
    traces.append(Scatter(
        **now(t), mode="markers+text", name="now",
        marker=dict(size=7 if three else 16, color=NOW_COLOUR, line=dict(color="white", width=2)),
        textposition="bottom center", textfont=dict(size=15),  # the theme's text colour
        hovertemplate="now: %{hovertext}<extra></extra>",
    ))
    fig = go.Figure(traces)
    if animate and T > 1:
        fig.frames = [dict(name=str(i), data=[now(i)], traces=[len(traces) - 1])
                      for i in range(T)]
        play = dict(label="▶ Play", method="animate", args=[None, dict(
            frame=dict(duration=250, redraw=three), fromcurrent=True,
            transition=dict(duration=0), mode="immediate")])
        pause = dict(label="❚❚ Pause", method="animate", args=[[None], dict(
            frame=dict(duration=0, redraw=False), mode="immediate")])
        fig.update_layout(
            # Light buttons with dark text in either theme: plotly lights the pressed button in
            # a fixed near-white, on which the dark theme's light text vanished.
            updatemenus=[dict(type="buttons", direction="left", x=0, y=-0.1, xanchor="left",
                              yanchor="top", buttons=[play, pause], pad=dict(r=8, t=8),
                              bgcolor="white", font=dict(color=BUTTON_TEXT))],
        )
    titles = _axis_titles(np.asarray(explained), dims)
    base_layout(fig, title="", height=620)
    if three:
        fig.update_layout(scene=dict(xaxis_title=titles[0], yaxis_title=titles[1],
                                     zaxis_title=titles[2], aspectmode="cube",
                                     camera=dict(eye=dict(x=1.25, y=1.25, z=0.8))),
                          scene_xaxis_title_font_size=11, scene_yaxis_title_font_size=11,
                          scene_zaxis_title_font_size=11)
    else:
        # Fix the axes to the whole path (and cloud) so the view stays still while animating.
        pts = z[:, :2] if reference is None else np.vstack([z[:, :2], reference[:, :2]])
        lo, hi = pts.min(axis=0), pts.max(axis=0)
        pad = 0.08 * np.maximum(hi - lo, 1e-6)
        fig.update_xaxes(title=titles[0], range=[lo[0] - pad[0], hi[0] + pad[0]],
                         zeroline=False)
        fig.update_yaxes(title=titles[1], range=[lo[1] - pad[1], hi[1] + pad[1]],
                         zeroline=False)
    fig.update_layout(legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0),
                      margin=dict(l=10, r=10, t=30, b=90 if animate and T > 1 else 10))
    return fig


def explained_variance(ratio: np.ndarray) -> go.Figure:
    """Bar chart of the explained variance ratio of each principal axis, with the running total."""
    ratio = np.asarray(ratio, dtype=float)
    names = list(range(1, len(ratio) + 1))
    fig = go.Figure([
        go.Bar(x=names, y=ratio, name="this axis", marker_color=BAR_COLOUR,
               hovertemplate="PC%{x}: %{y:.1%}<extra></extra>"),
        go.Scatter(x=names, y=np.cumsum(ratio), name="cumulative", mode="lines+markers",
                   line=dict(color=NOW_COLOUR),
                   hovertemplate="PC1 to PC%{x}: %{y:.1%}<extra></extra>"),
    ])
    base_layout(fig, title="Explained variance", height=260)
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    fig.update_xaxes(title="principal component", dtick=1)
    # top left, inside: clear of the title, and of the curves unless PC1 alone explains 80%
    fig.update_layout(legend=dict(x=0.02, xanchor="left", y=0.98, yanchor="top"),
                      showlegend=True)
    return fig
