"""rnn: a from-scratch NumPy recurrent neural network, shaped for step-by-step inspection.

    a_t = W_i x_t + W_h h_{t-1} + b_h,  h_t = tanh(a_t),  y_t = W_o h_t + b_o,  p_t = softmax(y_t)
"""

from .checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint, save_checkpoint
from .corpora import CORPORA, load_corpus
from .errors import RNNError
from .model import RNN, Backward, Trace, softmax
from .optim import OPTIMIZERS, make_optimizer
from .sample import sample
from .train import History, TrainConfig, Trainer
from .vocab import UNK, Encoded, Vocab

__all__ = [
    "CORPORA", "OPTIMIZERS", "RNN", "UNK", "Backward", "CheckpointError", "Encoded", "History",
    "RNNError", "Trace", "TrainConfig", "Trainer", "Vocab", "checkpoint_bytes", "load_checkpoint",
    "load_corpus", "make_optimizer", "sample", "save_checkpoint", "softmax",
]
