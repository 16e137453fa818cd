"""Helpers shared by the serving and export tests: a small MLP trained on sklearn digits, saved
with a drift reference, and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import torch
import uvicorn

from profond.data.preprocess import Preprocessing
from profond.models import build_model
from profond.models.saved import LoadedModel, ModelCard, save_model
from profond.monitor.drift import build_reference, save_reference
from profond.serve.app import create_app
from profond.serve.config import ModelSource, ServeConfig
from profond.serve.protocol import uvicorn_options


def digits_split() -> dict[str, np.ndarray]:
    """Raw digits (values 0..16): 1,400 train and 397 test images of shape (8, 8)."""
    from sklearn.datasets import load_digits

    data = load_digits()
    images, labels = data.images.astype(np.float32), data.target
    order = np.random.default_rng(0).permutation(len(images))
    train, test = order[:1400], order[1400:]
    return {
        "x_train": images[train],
        "y_train": labels[train],
        "x_test": images[test],
        "y_test": labels[test],
    }


def train_digits_model(folder: Path, digits: dict[str, np.ndarray]) -> Path:
    """Save an MLP (64 → 32 → 10) trained for 300 steps into ``folder``, with its drift reference."""
    torch.manual_seed(0)
    config = {"in_features": 64, "num_classes": 10, "hidden_sizes": [32]}
    model = build_model("mlp", config)
    preprocessing = Preprocessing(raw_max=16)
    x = preprocessing.apply(torch.from_numpy(digits["x_train"])).reshape(-1, 1, 8, 8)
    y = torch.from_numpy(digits["y_train"]).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)
    model.train()
    for _ in range(300):
        index = torch.randint(0, len(x), (64,), generator=generator)
        loss = torch.nn.functional.cross_entropy(model(x[index]), y[index])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    x_test = preprocessing.apply(torch.from_numpy(digits["x_test"])).reshape(-1, 1, 8, 8)
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1).numpy() == digits["y_test"]).mean()
    card = ModelCard(
        family="mlp",
        task="classification",
        data="digits",
        config=config,
        input_shape=[1, 8, 8],
        classes=[str(i) for i in range(10)],
        preprocessing=preprocessing.to_dict(),
        run_id="test",
        metrics={"test_accuracy": float(accuracy)},
    )
    save_model(folder, model, card)
    save_reference(folder, build_reference(model, x, max_samples=1400))
    return folder


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_config(model_dir: Path, **overrides: object) -> ServeConfig:
    values = {"source": ModelSource(model_dir=str(model_dir)), "port": free_port(), **overrides}
    return ServeConfig(**values)  # type: ignore[arg-type]


@contextmanager
def running_server(config: ServeConfig, loaded: LoadedModel | None = None) -> Iterator[str]:
    """A real uvicorn server in a thread; yields its base URL once /ready answers 200."""
    app = create_app(config, loaded)
    options = {**uvicorn_options(config), "log_level": "error", "access_log": False}
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", **options))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://{config.host}:{config.port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not become ready")
        time.sleep(0.05)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)


WINDOW = 12
# A series scaled as training scales it: a served forecast must come back in these raw units.
SERIES_SCALING = Preprocessing(raw_max=200.0, normalization="standard", mean=0.4, std=0.25)


def save_forecaster(folder: Path) -> Path:
    """An (untrained, seeded) LSTM forecaster of 3 steps after a window of 12, scaled input."""
    torch.manual_seed(0)
    config = {"input_size": 1, "horizon": 3, "hidden_size": 8, "num_layers": 1}
    card = ModelCard(
        family="lstm",
        task="forecasting",
        data="sunspots",
        config=config,
        input_shape=[WINDOW, 1],
        preprocessing=SERIES_SCALING.to_dict(),
        run_id="forecast",
        extra={"unit": "sunspots"},
    )
    return save_model(folder, build_model("lstm", config), card)


def save_text_classifier(folder: Path) -> Path:
    """An (untrained, seeded) tiny Transformer over a 7-word vocabulary, two classes."""
    torch.manual_seed(0)
    vocab = ["<pad>", "<unk>", "the", "cat", "sat", "dog", "ran"]
    config = {"vocab_size": len(vocab), "num_classes": 2, "max_len": 8, "d_model": 16}
    config |= {"num_heads": 2, "num_layers": 1, "dim_feedforward": 16}
    card = ModelCard(
        family="transformer",
        task="classification",
        data="fortunes",
        config=config,
        input_shape=[8],
        classes=["a", "b"],
        preprocessing=Preprocessing(normalization="none").to_dict(),
        run_id="text",
        extra={"vocab": vocab, "max_len": 8, "tokenizer": "words"},
    )
    return save_model(folder, build_model("transformer", config), card)
