"""Home: what a recurrent network is, its four equations, and a way into each view."""

import streamlit as st

from figures.home import SATURATED_A, tanh_figure
from rnn import SATURATED
from ui.nav import require_app

require_app()  # a page opened by a direct link on a fresh server runs via app.py

st.title("RNN Explorer")
st.markdown("#### See a recurrent neural network think, one step at a time.")

left, right = st.columns([3, 2], gap="large")
with left:
    st.markdown(
        "A **recurrent neural network** (RNN) reads a text one token at a time; here a token is "
        "a character. It carries a list of numbers from step to step, its **hidden state** "
        "h_t: a running summary of what it has read so far.\n\n"
        "At each step it mixes the new character with its memory: the character picks a "
        "column of the input weights W_i, the memory is multiplied by the recurrent weights "
        "W_h, and the two are added with a bias. The sum a_t is squashed into −1 … 1 by tanh, "
        "and that is the new hidden state.\n\n"
        "From the hidden state the network scores every possible next character (W_o, b_o) "
        "and turns the scores into probabilities with softmax. Training nudges all the "
        "weights so that the character that really came next gets a high probability."
    )
    st.plotly_chart(tanh_figure(), key="home_tanh", config={"displayModeBar": False})
    st.caption(f"tanh keeps every neuron of h_t between −1 and 1. In the shaded ranges a neuron "
               f"is saturated: |h| > {SATURATED:g} (|a| > {SATURATED_A:.2f}), so its slope "
               f"1 − h² is below {1 - SATURATED**2:.1f} and a gradient hardly passes through it. "
               "The BPTT page counts saturated neurons with the same threshold.")
with right:
    st.markdown("**The whole network, at step t**")
    st.latex(r"a_t = W_i\,x_t + W_h\,h_{t-1} + b_h")
    st.latex(r"h_t = \tanh(a_t)")
    st.latex(r"y_t = W_o\,h_t + b_o")
    st.latex(r"p_t = \operatorname{softmax}(y_t)")
    st.caption("x_t: the one-hot vector of the token read at step t. h_{t−1}: the hidden state "
               "of the step before (zeros at the start). p_t: the probability of each "
               "possible next token. The loss of a step is −ln p_t[next token].")

st.subheader("The views", divider="gray")
VIEWS = [
    ("pages/explorer.py", "Explorer", ":material/timeline:",
     "Type a sentence and step through it: the input, memory, bias, pre-activation and "
     "hidden state at every step as heatmaps, the top guesses for the next character, and "
     "one neuron's equation with the real numbers."),
    ("pages/train.py", "Train live", ":material/model_training:",
     "Train a small network in your browser session and watch the loss fall and the samples "
     "turn from noise into words; then open your model in the Explorer."),
    ("pages/bptt.py", "Backprop through time", ":material/undo:",
     "Follow the gradient backwards through the steps and see it vanish or explode; scale "
     "W_h and watch the same views change."),
    ("pages/space.py", "Hidden-state space", ":material/scatter_plot:",
     "The hidden states of a text projected to 2-D: the path the network walks while it "
     "reads, and which contexts land close together."),
    ("pages/atlas.py", "Neuron atlas", ":material/grid_view:",
     "Every neuron at a glance: what makes it fire, across a whole corpus."),
]
cols = st.columns(len(VIEWS) // 2 + len(VIEWS) % 2)
for i, (path, title, icon, text) in enumerate(VIEWS):
    with cols[i % len(cols)], st.container(border=True):
        st.page_link(path, label=title, icon=icon)
        st.caption(text)
