import json
import subprocess
import sys
from pathlib import Path

FIXTURES = Path(__file__).parents[1] / "fixtures" / "study"


def test_python_m_profond_runs_study_commands(tmp_path):
    env = {"PROFOND_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "profond",
            "study",
            "import",
            "--json",
            str(FIXTURES / "deep_learning_exam.md"),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    doc = json.loads(run.stdout)
    assert run.returncode == 0 and doc["added"] == 3
    assert doc["files"][0]["problems"][0]["line"] == 25
    bad = subprocess.run(
        [sys.executable, "-m", "profond", "study", "import", str(tmp_path / "missing.md")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert bad.returncode == 2 and bad.stderr.startswith("error: no such file")
