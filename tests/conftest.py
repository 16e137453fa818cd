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
