"""What one session may ask of a shared server, and the checks of a corpus or upload against it."""

from __future__ import annotations

import io
import zipfile

from rnn import CheckpointError, RNNError, TrainConfig, text_from_bytes

# Upload sizes are in MB of 10^6 bytes: Streamlit's uploader counts so in the browser (its
# max_upload_size, and the "File must be 2.0MB or smaller" it shows), so the stated limit, the
# widget's and this check agree to the byte. The server's own hard stop, server.maxUploadSize
# in .streamlit/config.toml, is 20 MiB: just above the largest of them.
MAX_CORPUS_MB = 2
MAX_CORPUS_BYTES = MAX_CORPUS_MB * 10**6  # of UTF-8 text
MIN_CORPUS_CHARS = 200  # below this there is nothing to learn and nothing to validate on
# What every page can serve interactively (an eigendecomposition of W_h in ~0.1 s, a W_o
# heatmap of 0.5 M cells); checked where a model enters the session (upload, continue). The
# tester's H=4096 model took 392 s for one spectral radius.
MAX_HIDDEN = 256  # hidden neurons, to train and to look at
MAX_VOCAB = 2048  # tokens of a model to look at (a word-level English model has ~1850)
MAX_TRAIN_VOCAB = 1000  # tokens a run here trains: the most frequent; the rest read as <unk>
MAX_SEQ_LEN = 200
MAX_BATCH = 64
MAX_TARGET = 1_000_000  # largest step target
MAX_CHECKPOINT_MB = 20
MAX_CHECKPOINT_BYTES = MAX_CHECKPOINT_MB * 10**6  # an upload, to open or to continue training
# What an upload may unpack to. The reader's own bound (rnn.checkpoint.MAX_BYTES, 256 MiB) would
# let one upload take a quarter of a GB before its shapes are checked; a model this server
# serves, with its optimizer state and metadata, unpacks to far less.
MAX_UNPACKED_BYTES = 64 * 2**20
MAX_UPLOADS = 4  # uploaded models a session keeps (the oldest not shown goes first)


def corpus_from_bytes(data: bytes) -> str:
    """The text of an uploaded corpus; RNNError for binary, non-UTF-8 or oversized files."""
    return text_from_bytes(data, MAX_CORPUS_BYTES)


def check_corpus(text: str) -> str:
    """The text if it can be trained on; RNNError for empty, tiny or oversized text."""
    if not text or not text.strip():
        raise RNNError("The corpus is empty. Paste or upload some text, or pick a built-in one.")
    if len(text.encode("utf-8")) > MAX_CORPUS_BYTES:
        raise RNNError(f"The text is over the {MAX_CORPUS_MB} MB limit "
                       f"({MAX_CORPUS_BYTES:,} bytes of UTF-8).")
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
        raise CheckpointError(f"The file is over {MAX_CHECKPOINT_MB} MB "
                              f"({MAX_CHECKPOINT_BYTES:,} bytes).")
    check_unpacked_size(data)


def check_unpacked_size(data: bytes) -> None:
    """CheckpointError for an archive that declares more than MAX_UNPACKED_BYTES (from its
    directory alone; the reader never inflates a member past its declared size)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            total = sum(i.file_size for i in zf.infolist())
    except (zipfile.BadZipFile, EOFError, ValueError, OSError):
        return  # not a zip: the checkpoint reader says so in its own words
    if total > MAX_UNPACKED_BYTES:
        raise CheckpointError(f"This checkpoint unpacks to {total / 2**20:.0f} MiB; this server "
                              f"opens checkpoints of at most {MAX_UNPACKED_BYTES // 2**20} MiB "
                              "unpacked.")
