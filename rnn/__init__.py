"""rnn: a from-scratch NumPy recurrent neural network, shaped for step-by-step inspection.

    a_t = W_i x_t + W_h h_{t-1} + b_h,  h_t = g(a_t),  y_t = W_o h_t + b_o,  p_t = softmax(y_t)

with g one of ``ACTIVATIONS`` (tanh by default).
"""

from .activation import ACTIVATIONS, Activation
from .checkpoint import CheckpointError, checkpoint_bytes, load_checkpoint, save_checkpoint
from .config import DTYPES, TrainConfig
from .corpora import CORPORA, load_corpus
from .errors import RNNError
from .history import History
from .meta import ModelMeta
from .model import RNN, SATURATED
from .optim import OPTIMIZERS, make_optimizer
from .pytorch import export_pytorch, import_pytorch, pytorch_bytes
from .sample import sample
from .textfile import text_from_bytes
from .trace import Backward, Trace, softmax
from .train import Trainer
from .vocab import LEVELS, UNK, Encoded, Vocab, display_token

__all__ = [
    "ACTIVATIONS", "Activation", "export_pytorch", "import_pytorch", "pytorch_bytes",
    "CORPORA", "DTYPES", "LEVELS", "OPTIMIZERS", "RNN", "SATURATED", "UNK", "Backward",
    "CheckpointError", "Encoded", "History", "ModelMeta", "RNNError", "Trace", "TrainConfig",
    "Trainer", "Vocab", "checkpoint_bytes", "display_token", "load_checkpoint", "load_corpus",
    "make_optimizer", "sample", "save_checkpoint", "softmax", "text_from_bytes",
]
