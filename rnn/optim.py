"""Optimizers (SGD with momentum, Adagrad, Adam) and gradient clipping, updating arrays in place."""

from __future__ import annotations

import numpy as np

from .errors import RNNError

OPTIMIZERS = ("sgd", "adagrad", "adam")


def global_norm(grads: dict[str, np.ndarray]) -> float:
    """sqrt of the sum of squares of every gradient entry."""
    return float(np.sqrt(sum(float(np.vdot(g, g)) for g in grads.values())))


def clip_elementwise(grads: dict[str, np.ndarray], clip: float) -> None:
    """Clip every entry to [-clip, clip] in place (min-char-rnn's guard against exploding steps)."""
    for g in grads.values():
        np.clip(g, -clip, clip, out=g)


def clip_global_norm(grads: dict[str, np.ndarray], max_norm: float, norm: float) -> None:
    """Scale all gradients by max_norm / norm in place when their global norm exceeds max_norm."""
    if norm > max_norm:
        for g in grads.values():
            g *= max_norm / norm


class Optimizer:
    """Updates named parameter arrays in place from gradients; its state can be saved and restored."""

    slots: tuple[str, ...] = ()  # per-parameter state arrays, e.g. Adagrad's squared-gradient sum

    def __init__(self, params: dict[str, np.ndarray], lr: float) -> None:
        if not np.isfinite(lr) or lr <= 0:
            raise RNNError("The learning rate must be a positive number.")
        self.lr = lr
        self.t = 0  # number of updates made
        self.state = {s: {k: np.zeros_like(p) for k, p in params.items()} for s in self.slots}

    def update(self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray]) -> None:
        self.t += 1
        for k, p in params.items():
            self._update_one(k, p, grads[k])

    def _update_one(self, k: str, p: np.ndarray, g: np.ndarray) -> None:
        raise NotImplementedError

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

    slots = ("velocity",)

    def __init__(self, params, lr: float, momentum: float = 0.9) -> None:
        super().__init__(params, lr)
        if not 0 <= momentum < 1:
            raise RNNError("Momentum must lie in [0, 1).")
        self.momentum = momentum

    def _update_one(self, k, p, g):
        v = self.state["velocity"][k]
        v *= self.momentum
        v -= self.lr * g
        p += v


class Adagrad(Optimizer):
    """m += g^2;  p -= lr g / sqrt(m + eps)  (as in min-char-rnn)."""

    slots = ("mem",)
    eps = 1e-8

    def _update_one(self, k, p, g):
        m = self.state["mem"][k]
        m += g * g
        p -= self.lr * g / np.sqrt(m + self.eps)


class Adam(Optimizer):
    """m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2;  p -= lr m_hat / (sqrt(v_hat) + eps)."""

    slots = ("m", "v")
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def update(self, params, grads):
        self.t += 1
        # bias corrections folded into one step size, and into eps so that it still adds to
        # sqrt(v_hat) as documented: lr m_hat / (sqrt(v_hat) + eps) = step m / (sqrt(v) + eps_t)
        self._step = self.lr * np.sqrt(1 - self.beta2**self.t) / (1 - self.beta1**self.t)
        self._eps_t = self.eps * np.sqrt(1 - self.beta2**self.t)
        for k, p in params.items():
            self._update_one(k, p, grads[k])

    def _update_one(self, k, p, g):
        m, v = self.state["m"][k], self.state["v"][k]
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * (g * g)
        p -= self._step * m / (np.sqrt(v) + self._eps_t)


def make_optimizer(name: str, params: dict[str, np.ndarray], lr: float, momentum: float = 0.9):
    """An optimizer by name: 'sgd', 'adagrad' or 'adam'."""
    if name == "sgd":
        return SGD(params, lr, momentum)
    if name == "adagrad":
        return Adagrad(params, lr)
    if name == "adam":
        return Adam(params, lr)
    raise RNNError(f"Unknown optimizer {name!r}: choose one of {', '.join(OPTIMIZERS)}.")
