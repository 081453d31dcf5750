"""What one session may ask of a shared server, and the checks of a corpus or upload against it."""

from __future__ import annotations

from rnn import CheckpointError, RNNError, TrainConfig, text_from_bytes

MAX_CORPUS_BYTES = 2 * 2**20  # 2 MB of text
MIN_CORPUS_CHARS = 200  # below this there is nothing to learn and nothing to validate on
MAX_HIDDEN = 256
MAX_SEQ_LEN = 200
MAX_BATCH = 64
MAX_TARGET = 1_000_000  # largest step target
MAX_CHECKPOINT_BYTES = 20 * 2**20  # an uploaded checkpoint, to open or to continue training
MAX_CHECKPOINT_MB = MAX_CHECKPOINT_BYTES // 2**20


def corpus_from_bytes(data: bytes) -> str:
    """The text of an uploaded corpus; RNNError for binary, non-UTF-8 or oversized files."""
    return text_from_bytes(data, MAX_CORPUS_BYTES)


def check_corpus(text: str) -> str:
    """The text if it can be trained on; RNNError for empty, tiny or oversized text."""
    if not text or not text.strip():
        raise RNNError("The corpus is empty. Paste or upload some text, or pick a built-in one.")
    if len(text.encode("utf-8")) > MAX_CORPUS_BYTES:
        raise RNNError(f"The text is over the {MAX_CORPUS_BYTES // 2**20} MB limit.")
    if len(text) < MIN_CORPUS_CHARS:
        raise RNNError(f"The corpus is too short: {len(text)} characters. Give at least "
                       f"{MIN_CORPUS_CHARS} so there is something to learn and to validate on.")
    if len(set(text)) < 2:
        raise RNNError("The corpus uses a single character: there is nothing to predict.")
    return text


def check_limits(config: TrainConfig) -> None:
    """RNNError when a setting is over this server's limits."""
    for value, top, what in ((config.hidden_size, MAX_HIDDEN, "hidden size"),
                             (config.seq_len, MAX_SEQ_LEN, "sequence length"),
                             (config.batch_size, MAX_BATCH, "batch size")):
        if value > top:
            raise RNNError(f"The {what} is {value}; this server allows at most {top}.")


def check_checkpoint_size(data: bytes) -> None:
    """CheckpointError for an upload over MAX_CHECKPOINT_BYTES (checked before it is opened)."""
    if len(data) > MAX_CHECKPOINT_BYTES:
        raise CheckpointError(f"The file is over {MAX_CHECKPOINT_MB} MB.")
