"""Figure layer: plotly only. Functions take arrays (a Trace, a model) and return go.Figure."""
