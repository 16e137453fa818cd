import importlib.util
import shutil
import time
from pathlib import Path

import pytest

from profond.errors import ProfondError
from profond.study.importer import import_banks
from profond.study.schedule import GRADES
from profond.study.store import StudyStore

FIXTURES = Path(__file__).parents[1] / "fixtures" / "study"
ROOT = Path(__file__).parents[2]


def load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "study_import", ROOT / "benchmarks" / "study_import.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_fixture_folder_counts_per_file_and_bad_files_reported(tmp_path):
    store = StudyStore(tmp_path / "s.db")
    report = import_banks(store, [FIXTURES], 1e9)
    per_file = {Path(f.path).name: f.cards for f in report.files}
    assert per_file == {
        "broken.md": 3,
        "latin1.md": 0,
        "cours_reseaux.md": 5,
        "deep_learning_exam.md": 3,
        "quiz_keras.md": 5,
    }
    doc = report.to_json()
    assert doc["added"] == 16 and doc["updated"] == 0 and doc["unchanged"] == 0
    latin = next(f for f in doc["files"] if f["path"].endswith("latin1.md"))
    assert latin["problems"][0]["line"] == 5 and "not UTF-8" in latin["problems"][0]["message"]


def test_reimport_is_idempotent_and_edits_update(tmp_path):
    bank = tmp_path / "bank.md"
    shutil.copy(FIXTURES / "quiz_keras.md", bank)
    store = StudyStore(tmp_path / "s.db")
    import_banks(store, [bank], 1e9)
    card = store.next_card(1e9)
    store.grade(card.key, GRADES["3"], 1e9)
    again = import_banks(store, [bank], 1e9 + 1).counts
    assert (again.added, again.updated, again.unchanged) == (0, 0, 5)
    bank.write_text(
        bank.read_text(encoding="utf-8").replace("y = f(Wx + b).", "f(Wx+b)"), encoding="utf-8"
    )
    edited = import_banks(store, [bank], 1e9 + 2).counts
    assert (edited.added, edited.updated, edited.unchanged) == (0, 1, 4)
    assert store.get(card.key).answer.endswith("f(Wx+b)") and store.get(card.key).reps == 1


def test_duplicate_question_across_files_is_reported(tmp_path):
    for name in ("a.md", "b.md"):
        shutil.copy(FIXTURES / "deep_learning_exam.md", tmp_path / name)
    report = import_banks(
        StudyStore(tmp_path / "s.db"), [tmp_path / "a.md", tmp_path / "b.md"], 1e9
    )
    assert report.counts.added == 3
    assert [f.cards for f in report.files] == [3, 0]
    assert sum("same deck and question" in p.message for p in report.files[1].problems) == 3


def test_missing_path_is_a_user_error(tmp_path):
    with pytest.raises(ProfondError, match="no such file"):
        import_banks(StudyStore(tmp_path / "s.db"), [tmp_path / "nope.md"], 1e9)


def test_ten_thousand_cards_import_fast_and_next_card_under_10ms(tmp_path):
    bank = tmp_path / "big.md"
    bank.write_text(load_benchmark().generate_bank(10_000), encoding="utf-8")
    store = StudyStore(tmp_path / "s.db")
    start = time.perf_counter()
    report = import_banks(store, [bank], 1e9)
    elapsed = time.perf_counter() - start
    assert report.counts.added == 10_000 and report.files[0].problems == []
    assert elapsed < 2.0, f"import took {elapsed:.2f} s"
    for _ in range(50):
        card = store.next_card(1e9)
        store.grade(card.key, GRADES["3"], 1e9)
    start = time.perf_counter()
    for _ in range(100):
        assert store.next_card(1e9 + 3 * 86400, deck="Topic3") is not None
    per_pick = (time.perf_counter() - start) / 100
    assert per_pick < 0.010, f"next_card took {per_pick * 1000:.2f} ms"
