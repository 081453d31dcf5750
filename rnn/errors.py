"""Exceptions the rnn package raises for bad input; their messages are meant for a learner."""


class RNNError(ValueError):
    """Bad input to the rnn package (text, hyperparameters, arrays), with a plain message."""


class CheckpointError(RNNError):
    """A checkpoint file that cannot be loaded: corrupt, truncated, hostile or inconsistent."""
