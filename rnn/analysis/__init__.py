"""Looking inside a trained RNN: per-step gradients, Jacobian chains, PCA of h_t, neuron features.

- ``text``: the text a view looks at (encoded, cut to a limit) and a model's reference text;
- ``bptt``: ``dL_t/dh_k`` for one loss at a time, the (T, T) sensitivity matrix and the
  Jacobian chain ``prod_k diag(g'(a_k)) W_h`` that decides whether gradients vanish or explode;
- ``pca``: principal components of the hidden states;
- ``atlas``: text features per position and what each hidden neuron correlates with.

Arrays of one sequence are shaped ``(T, .)``; nothing here imports streamlit or plotly.
"""

from .atlas import (
    FEATURES,
    Context,
    NeuronReport,
    TextFeatures,
    correlations,
    feature_names,
    neuron_report,
    text_features,
    top_contexts,
)
from .bptt import (
    SATURATED,
    SATURATED_SLOPE,
    SATURATION,
    GradientDecay,
    JacobianChain,
    Sensitivity,
    StepGradients,
    gradient_decay,
    jacobian_chain,
    saturated,
    scaled_model,
    sensitivity_matrix,
    step_gradients,
    untrained_model,
)
from .pca import PCA, fit_pca
from .text import PreparedText, hidden_states, prepare_text, reference_text

__all__ = [
    "FEATURES", "PCA", "SATURATED", "SATURATED_SLOPE", "SATURATION", "Context", "GradientDecay",
    "JacobianChain", "NeuronReport", "PreparedText", "Sensitivity", "StepGradients",
    "TextFeatures", "correlations", "feature_names", "fit_pca", "gradient_decay",
    "hidden_states", "jacobian_chain", "neuron_report", "prepare_text", "reference_text",
    "saturated", "scaled_model", "sensitivity_matrix", "step_gradients", "text_features",
    "top_contexts", "untrained_model",
]
