"""Continual learning helpers: class subsets (the tasks learned in turn) and a replay buffer.

A model trained on classes A then fine-tuned on classes B forgets A (catastrophic
forgetting). Replaying a few stored examples of A while learning B limits it:
:class:`ReplayBuffer` keeps a uniform sample of everything it was shown (reservoir sampling,
fixed memory), and :func:`with_replay` adds its content to a bundle's training split.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from profond.data.bundle import DataBundle
from profond.errors import ProfondError


def class_subset(bundle: DataBundle, classes: list[int]) -> DataBundle:
    """``bundle`` restricted to ``classes`` in every split; class ids keep their meaning.

    The label space (``bundle.classes``, the model's outputs) stays the whole one, so a model
    trained on one subset and then another is compared on the same outputs.
    """
    if not classes:
        raise ProfondError("class_subset needs at least one class")
    bad = [c for c in classes if not 0 <= c < bundle.num_classes]
    if bad:
        raise ProfondError(f"classes {bad} are not in 0..{bundle.num_classes - 1}")
    wanted = torch.tensor(classes)

    def keep(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mask = torch.isin(y, wanted)
        return x[mask], y[mask]

    x_train, y_train = keep(bundle.x_train, bundle.y_train)
    x_val, y_val = keep(bundle.x_val, bundle.y_val)
    x_test, y_test = keep(bundle.x_test, bundle.y_test)
    return replace(bundle, x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val,
                   x_test=x_test, y_test=y_test)  # fmt: skip


class ReplayBuffer:
    """At most ``capacity`` examples, a uniform sample of all those added (reservoir sampling).

    Args:
        capacity: examples kept, ``>= 1``.
        seed: seeds which examples are kept.
    """

    def __init__(self, capacity: int, seed: int = 0) -> None:
        if capacity < 1:
            raise ProfondError(f"--replay must be a positive number of examples, got {capacity}")
        self.capacity = capacity
        self.seen = 0
        self.generator = torch.Generator().manual_seed(seed)
        self.x: torch.Tensor | None = None
        self.y: torch.Tensor | None = None

    def __len__(self) -> int:
        return 0 if self.y is None else len(self.y)

    def add(self, x: torch.Tensor, y: torch.Tensor) -> None:
        """Offer examples ``x`` ``(N, *input_shape)`` with targets ``y`` ``(N, ...)``."""
        for i in range(len(x)):
            if self.x is None or self.y is None:
                self.x = torch.empty(0, *x.shape[1:], dtype=x.dtype)
                self.y = torch.empty(0, *y.shape[1:], dtype=y.dtype)
            if len(self) < self.capacity:
                self.x = torch.cat([self.x, x[i : i + 1]])
                self.y = torch.cat([self.y, y[i : i + 1]])
            else:  # keep the new one with probability capacity / (seen + 1)
                j = int(torch.randint(0, self.seen + 1, (1,), generator=self.generator))
                if j < self.capacity:
                    self.x[j], self.y[j] = x[i], y[i]
            self.seen += 1

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The stored ``(x, y)``."""
        if self.x is None or self.y is None:
            raise ProfondError("the replay buffer is empty")
        return self.x, self.y


def fill_buffer(bundle: DataBundle, capacity: int, seed: int = 0) -> ReplayBuffer:
    """A buffer of ``capacity`` examples drawn from ``bundle``'s training split (in a random order)."""
    buffer = ReplayBuffer(capacity, seed)
    order = torch.randperm(len(bundle.x_train), generator=torch.Generator().manual_seed(seed))
    buffer.add(bundle.x_train[order], bundle.y_train[order])
    return buffer


def with_replay(bundle: DataBundle, buffer: ReplayBuffer) -> DataBundle:
    """``bundle`` with the buffer's examples appended to its training split (the trainer shuffles)."""
    x, y = buffer.tensors()
    return replace(bundle, x_train=torch.cat([bundle.x_train, x]),
                   y_train=torch.cat([bundle.y_train, y]))  # fmt: skip
