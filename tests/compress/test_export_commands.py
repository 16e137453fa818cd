"""`profond export` as a user runs it."""

from __future__ import annotations

import subprocess
import sys

import onnxruntime as ort

from profond.cli import main


def test_export_command_writes_a_loadable_file(model_dir, tmp_path, capsys) -> None:
    out = tmp_path / "digits.onnx"
    assert (
        main(["export", "--model-dir", str(model_dir), "--format", "onnx", "--out", str(out)]) == 0
    )
    assert capsys.readouterr().out.strip() == str(out)
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].name == "input"


def test_export_refuses_to_overwrite_and_bad_sources(model_dir, tmp_path, capsys) -> None:
    out = tmp_path / "m.onnx"
    out.write_bytes(b"keep me")
    assert main(["export", "--model-dir", str(model_dir), "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert out.read_bytes() == b"keep me"
    assert (
        main(
            ["export", "--model-dir", str(tmp_path / "nothing"), "--out", str(tmp_path / "x.onnx")]
        )
        == 2
    )
    assert "no saved model" in capsys.readouterr().err
    assert main(["export", "--out", str(tmp_path / "y.onnx")]) == 2
    assert "exactly one model source" in capsys.readouterr().err


def test_unknown_format_is_an_argparse_error(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "profond", "export", "run1", "--format", "tflite"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and "invalid choice: 'tflite'" in result.stderr
