from profond.labs.adam_vs_sgd import LAB


def test_adam_reaches_lower_training_loss_than_sgd(tmp_path):
    result = LAB.run(tmp_path, seed=1)
    (verdict,) = result.verdicts
    m = verdict.measured
    assert verdict.passed == (m["final_loss_adam"] < m["final_loss_sgd"])
    assert verdict.passed
    assert m["final_loss_adam"] < m["initial_loss"]  # it trained
    assert (tmp_path / "training_loss.png").read_bytes()[:4] == b"\x89PNG"
    assert result.seconds < 20
