import sqlite3
import sys
from pathlib import Path

import pexpect
import pytest

FIXTURES = Path(__file__).parents[1] / "fixtures" / "study"
GRADE = r"grade: 1 again"


def spawn(home, *args):
    env = {"PROFOND_HOME": str(home), "PATH": "/usr/bin:/bin", "TERM": "dumb", "COLUMNS": "100"}
    return pexpect.spawn(
        sys.executable, ["-m", "profond", "study", *args], env=env, encoding="utf-8", timeout=30
    )


def import_fixture(home):
    child = spawn(home, "import", str(FIXTURES / "cours_reseaux.md"))
    child.expect("added 5, updated 0, unchanged 0")
    child.expect(pexpect.EOF)


def test_answer_grade_quit_restart_and_schedule(tmp_path):
    import_fixture(tmp_path)
    child = spawn(tmp_path, "quiz", "--deck", "Réseaux de neurones")
    child.expect("Qu'est-ce qu'un perceptron")
    child.expect("Enter to show the answer")
    child.sendline("")
    child.expect("Un neurone formel")
    child.expect(GRADE)
    child.sendline("7")  # not a grade: asked again
    child.expect("please type 1, 2, 3, 4 or q")
    child.sendline("3")
    child.expect("next review")
    child.expect("ne résout-il pas le XOR")
    child.sendline("")
    child.expect(GRADE)
    child.sendline("q")  # quit before grading the second card
    child.expect("1 card\\(s\\) graded")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0

    db = sqlite3.connect(tmp_path / "study.db")
    rows = db.execute(
        "SELECT question, is_new, state, reps, due - last_review FROM cards WHERE reps > 0"
    ).fetchall()
    assert [(q, n, s, r) for q, n, s, r, _ in rows] == [("Qu'est-ce qu'un perceptron ?", 0, 1, 1)]
    assert abs(rows[0][4] - 600) < 1  # FSRS's second learning step: 10 minutes
    assert db.execute("SELECT rating FROM reviews").fetchall() == [(3,)]

    # A new session starts with the card that was not graded, and links the optimiser lab.
    child = spawn(tmp_path, "quiz", "--new", "3")
    child.expect("ne résout-il pas le XOR")
    child.sendline("")
    child.expect(GRADE)
    child.sendline("4")
    child.expect("mise à jour d'Adam")
    child.sendline("")
    child.expect("→ profond lab run adam_vs_sgd")
    child.sendline("1")
    child.expect("Que fait ce code")
    child.sendcontrol("d")  # end of input quits too
    child.expect("2 card\\(s\\) graded")
    child.expect(pexpect.EOF)
    ratings = db.execute("SELECT rating FROM reviews ORDER BY id").fetchall()
    assert ratings == [(3,), (4,), (1,)]
    assert db.execute("SELECT COUNT(*) FROM cards WHERE is_new = 0").fetchone() == (3,)


def test_due_only_session_with_nothing_due_ends_at_once(tmp_path):
    import_fixture(tmp_path)
    child = spawn(tmp_path, "quiz", "--due")
    child.expect("nothing more to study now")
    child.expect(pexpect.EOF)


def test_json_interfaces_and_unknown_deck(tmp_path):
    import json

    child = spawn(tmp_path, "import", "--json", str(FIXTURES / "quiz_keras.md"))
    doc = json.loads(child.read())
    assert doc["added"] == 5 and doc["files"][0]["cards"] == 5
    decks = json.loads(spawn(tmp_path, "decks", "--json").read())
    assert {d["deck"]: d["cards"] for d in decks}["Keras/Model"] == 1
    assert set(decks[0]) >= {"deck", "cards", "due"}
    child = spawn(tmp_path, "quiz", "--deck", "Nope")
    child.expect("error: no deck 'Nope'")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


@pytest.mark.slow
def test_with_labs_offers_and_runs_the_linked_fast_lab(tmp_path):
    child = spawn(tmp_path, "import", str(FIXTURES / "quiz_keras.md"))
    child.expect(pexpect.EOF)
    child = spawn(tmp_path, "quiz", "--deck", "Optimisation", "--with-labs")
    child.expect("epsilon dans Adam")
    child.sendline("")
    child.expect(GRADE)
    child.sendline("3")
    child.expect(r"run lab adam_vs_sgd now\? \[y/N\]")
    child.sendline("y")
    child.expect("HOLDS", timeout=120)
    child.expect("nothing more to study now")
    child.expect(pexpect.EOF)
    assert list((tmp_path / "labs" / "adam_vs_sgd").glob("*/results.json"))
