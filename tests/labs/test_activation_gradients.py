import json

from profond.labs.activation_gradients import CONFIG, LAB


def test_sigmoid_gradients_vanish_relu_do_not(tmp_path):
    result = LAB.run(tmp_path, seed=0)
    sigmoid, relu = result.verdicts
    assert len(sigmoid.measured["layer_norms"]) == CONFIG.depth + 1
    # The verdicts follow from the measured numbers, not from constants.
    assert sigmoid.passed == (sigmoid.measured["first_over_last_hidden"] < CONFIG.vanish_below)
    assert relu.passed == (relu.measured["first_over_last_hidden"] > CONFIG.keep_above)
    assert sigmoid.passed and relu.passed
    assert (tmp_path / "gradient_norms.png").read_bytes()[:4] == b"\x89PNG"
    assert json.loads((tmp_path / "results.json").read_text())["passed"] is True
    assert result.seconds < 20
