"""Every test runs with its own PROFOND_HOME and the default (SQLite) tracking store."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def isolated_home(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    home = tmp_path_factory.mktemp("profond_home")
    monkeypatch.setenv("PROFOND_HOME", str(home))
    # set first so that the value before the test (often none) is what comes back afterwards
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "")
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    monkeypatch.delenv("PROFOND_DATA", raising=False)
    return home


# Datasets that come from Debian packages: where they land, and the packages to install.
SYSTEM_DATA = {
    "fashion-mnist": (("/usr/share/datasets/fashion-mnist",), "dataset-fashion-mnist"),
    "fortunes": (("/usr/share/games/fortunes", "/usr/share/fortune"), "fortunes fortunes-min"),
}


def require_system_data(name: str) -> None:
    """Skip the calling test, naming the Debian package(s), when dataset ``name`` is absent."""
    from pathlib import Path

    folders, packages = SYSTEM_DATA[name]
    if not any(Path(folder).is_dir() for folder in folders):
        pytest.skip(f"needs the Debian package(s) {packages}: apt-get install -y {packages}")


@pytest.fixture(scope="session")
def system_data():
    """``system_data("fashion-mnist")`` skips the test when Debian's files are not installed."""
    return require_system_data
