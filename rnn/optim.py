"""Optimizers (SGD with momentum, Adagrad, Adam) and gradient clipping, updating arrays in place."""

from __future__ import annotations

import numpy as np

from .errors import RNNError

OPTIMIZERS = ("sgd", "adagrad", "adam")


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt of the sum of squares of every gradient entry."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_global_norm(grads: dict[str, np.ndarray], max_norm: float, norm: float) -> None:
    """Scale all gradients by max_norm / norm in place when their global norm exceeds max_norm."""
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm


def flat_buffer(like: dict[str, np.ndarray], zero: bool = True):
    """One contiguous buffer (zeroed unless ``zero`` is False) with room for arrays shaped like
    ``like``, and a view of it per name: ``(flat, views)``. Element-wise work on all of them
    (clipping, updates, copies) is then one call."""
    dtypes = {v.dtype for v in like.values()}
    if len(dtypes) != 1:
        raise RNNError("All arrays sharing one buffer must have the same dtype.")
    flat = (np.zeros if zero else np.empty)(sum(v.size for v in like.values()), dtypes.pop())
    views, start = {}, 0
    for k, v in like.items():
        views[k] = flat[start : start + v.size].reshape(v.shape)
        start += v.size
    return flat, views


class Optimizer:
    """Updates named parameter arrays in place from gradients; its state can be saved and restored.

    Each slot's state lives in one buffer laid out by ``flat_buffer(params)``: ``state[s][k]``
    are views of ``flat[s]``, so that ``update_flat`` updates all parameters in a few calls
    (the parameters must share one dtype).
    """

    slots: tuple[str, ...] = ()  # per-parameter state arrays, e.g. Adagrad's squared-gradient sum
    slot_powers: tuple[int, ...] = ()  # each slot scales with this power of the gradient
    n_tmp = 0  # scratch arrays an update needs (allocated once, not at every step)

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        if not np.isfinite(lr) or lr <= 0:
            raise RNNError("The learning rate must be a positive number.")
        self.lr = lr
        self.t = 0  # number of updates made
        self.flat, self.state = {}, {}
        for s in self.slots:
            self.flat[s], self.state[s] = flat_buffer(params)
        self._tmp = [flat_buffer(params)[0] for _ in range(self.n_tmp)]  # scratch buffers

    def update_flat(self, p: np.ndarray, g: np.ndarray) -> None:
        """One step on every parameter, in place: ``p`` and ``g`` are buffers laid out like
        ``flat_buffer`` of the params this optimizer was made for (one call per operation)."""
        self._begin()
        self._apply(p, g, *(self.flat[s] for s in self.slots), *self._tmp)

    def _begin(self) -> None:
        self.t += 1

    def _apply(self, p: np.ndarray, g: np.ndarray, *state_and_tmp: np.ndarray) -> None:
        """Update p in place from g, given the slots' state arrays then the scratch arrays."""
        raise NotImplementedError

    def rescale_gradients(self, factor: float) -> None:
        """Make the state what it would be had every past gradient been ``factor`` times larger
        (for a checkpoint saved before the Trainer followed the gradient of the window's sum)."""
        for s, power in zip(self.slots, self.slot_powers, strict=True):
            for v in self.state[s].values():
                v *= factor**power

    def state_arrays(self) -> dict[str, np.ndarray]:
        """The state as flat named arrays (for checkpoints): ``'<slot>.<param>'``."""
        return {f"{s}.{k}": v for s, d in self.state.items() for k, v in d.items()}

    def load_state_arrays(self, arrays: dict[str, np.ndarray], t: int) -> None:
        for s, d in self.state.items():
            for k, v in d.items():
                src = arrays.get(f"{s}.{k}")
                if src is None or src.shape != v.shape:
                    raise RNNError(f"Optimizer state '{s}.{k}' is missing or has the wrong shape.")
                np.copyto(v, src)
        self.t = int(t)


class SGD(Optimizer):
    """v = mu v - lr g;  p += v  (plain SGD when mu = 0)."""

    slots, slot_powers = ("velocity",), (1,)

    def __init__(self, params, lr: float, momentum: float = 0.9) -> None:
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise RNNError("Momentum must lie in [0, 1).")
        self.momentum = momentum

    n_tmp = 1

    def _apply(self, p, g, v, tmp):
        v *= self.momentum
        v -= np.multiply(g, self.lr, out=tmp)  # lr g
        p += v


class Adagrad(Optimizer):
    """m += g^2;  p -= lr g / sqrt(m + eps)  (as in min-char-rnn).

    eps is not scale-free: entries whose summed squared gradient is not well above it move less
    than lr. It is min-char-rnn's 1e-8 for gradients of its loss, summed over a window (the
    Trainer's too; in units of the mean loss per token it is 1e-8 / T^2).
    """

    slots, slot_powers = ("mem",), (2,)
    eps = 1e-8

    n_tmp = 2

    def _apply(self, p, g, m, tmp, tmp2):
        m += np.multiply(g, g, out=tmp)  # g^2
        root = np.sqrt(np.add(m, self.eps, out=tmp), out=tmp)  # sqrt(m + eps)
        p -= np.divide(np.multiply(g, self.lr, out=tmp2), root, out=tmp2)  # lr g / sqrt(m + eps)


class Adam(Optimizer):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr m_hat / (sqrt(v_hat) + eps).

    eps = 1e-8 as in Kingma & Ba, for the Trainer's gradients of the loss summed over a window
    (1e-8 / T in units of the mean loss per token).
    """

    slots, slot_powers = ("m", "v"), (1, 2)
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    n_tmp = 2

    def _begin(self):
        self.t += 1
        # bias corrections folded into one step size, and into eps so that it still adds to
        # sqrt(v_hat) as documented: lr m_hat / (sqrt(v_hat) + eps) = step m / (sqrt(v) + eps_t);
        # Python floats, so that float32 parameters are updated in float32
        self._step = float(self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t))
        self._eps_t = float(self.eps * np.sqrt(1 - self.beta2**self.t))

    def _apply(self, p, g, m, v, tmp, tmp2):
        m *= self.beta1
        m += np.multiply(g, 1 - self.beta1, out=tmp)
        v *= self.beta2
        v += np.multiply(np.multiply(g, g, out=tmp), 1 - self.beta2, out=tmp)
        denom = np.add(np.sqrt(v, out=tmp), self._eps_t, out=tmp)  # sqrt(v) + eps_t
        p -= np.divide(np.multiply(m, self._step, out=tmp2), denom, out=tmp2)


def make_optimizer(name: str, params: dict[str, np.ndarray], lr: float, momentum: float = 0.9):
    """An optimizer by name: 'sgd', 'adagrad' or 'adam'."""
    if name == "sgd":
        return SGD(params, lr, momentum)
    if name == "adagrad":
        return Adagrad(params, lr)
    if name == "adam":
        return Adam(params, lr)
    raise RNNError(f"Unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}.")
