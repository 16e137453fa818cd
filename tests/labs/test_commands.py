import json
import subprocess
import sys


def profond(*args, home):
    return subprocess.run(
        [sys.executable, "-m", "profond", "lab", *args],
        capture_output=True,
        text=True,
        env={"PROFOND_HOME": str(home), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


def test_list_json_and_unknown_lab(tmp_path):
    listed = profond("list", "--json", home=tmp_path)
    assert listed.returncode == 0
    assert {lab["name"] for lab in json.loads(listed.stdout)} == {
        "activation_gradients",
        "adam_vs_sgd",
    }
    unknown = profond("run", "nope", home=tmp_path)
    assert unknown.returncode == 2 and "error: unknown lab 'nope'" in unknown.stderr


def test_run_refuses_to_overwrite_results(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").write_text("{}")
    refused = profond("run", "adam_vs_sgd", "--out", str(tmp_path / "out"), home=tmp_path)
    assert refused.returncode == 2 and "already holds results.json" in refused.stderr
    assert (tmp_path / "out" / "results.json").read_text() == "{}"
