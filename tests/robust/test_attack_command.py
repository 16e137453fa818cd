"""``profond attack``: the curve, the examples, the numbers; bad input, one error line."""

from __future__ import annotations

import json

import pytest

from profond.cli import main
from tracked_runs import store_with_runs


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    uri, ids = store_with_runs(tmp_path_factory.mktemp("store"), cnn={})
    return uri, ids["cnn"]


def test_attack_writes_the_curve_and_examples_and_logs_them(store, tmp_path, capsys) -> None:
    from profond.track.store import client

    uri, run_id = store
    out = tmp_path / "figures"
    argv = ["attack", run_id, "--method", "fgsm,pgd", "--eps", "0,0.1,0.2", "--steps", "5",
            "--limit", "200", "--out", str(out), "--tracking-uri", uri, "--json"]  # fmt: skip
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    fgsm, pgd = result["accuracy"]["fgsm"], result["accuracy"]["pgd"]
    assert fgsm["0.0"] == pgd["0.0"] > 0.5
    assert pgd["0.2"] <= fgsm["0.2"] < fgsm["0.0"]
    for name in ("accuracy_vs_eps.png", "adversarial_examples.png"):
        assert (out / name).read_bytes()[:4] == b"\x89PNG"
    logged = {a.path for a in client(uri).list_artifacts(run_id, "robustness")}
    assert "robustness/attack.json" in logged and "robustness/accuracy_vs_eps.png" in logged
    assert main(argv) == 2  # the figures exist now: nothing is overwritten
    assert capsys.readouterr().err.startswith("error:")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "cw"], "unknown attack"),
        (["--eps", "0,-0.1"], "--eps"),
        (["--eps", "a"], "--eps expects a float"),
        (["--steps", "0"], "--steps"),
        (["--limit", "0"], "--limit"),
    ],
)
def test_bad_options_are_one_error_line(store, tmp_path, capsys, extra, message) -> None:
    uri, run_id = store
    out = tmp_path / "never"
    assert main(["attack", run_id, *extra, "--out", str(out), "--tracking-uri", uri]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]
    assert not out.exists()


def test_unknown_run_is_one_error_line(store, tmp_path, capsys) -> None:
    uri, _ = store
    argv = ["attack", "f" * 32, "--out", str(tmp_path / "x"), "--tracking-uri", uri]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:")
