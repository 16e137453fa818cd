import pytest
from fsrs import Rating

from profond.errors import ProfondError
from profond.study.cards import ParsedCard
from profond.study.store import StudyStore

NOW = 1_800_000_000.0


def cards(n, deck="A/B", answer="x"):
    return [ParsedCard(deck, f"q{i}?", f"{answer}{i}", "f.md", i + 1) for i in range(n)]


def test_new_cards_come_in_order_and_a_grade_schedules_and_logs(tmp_path):
    store = StudyStore(tmp_path / "s.db")
    store.import_cards(cards(3), NOW)
    first = store.next_card(NOW)
    assert first.question == "q0?" and first.is_new
    graded = store.grade(first.key, Rating.Good, NOW)
    assert not graded.is_new and graded.reps == 1 and graded.memory.due > NOW
    assert store.next_card(NOW).question == "q1?"
    # Once its learning step has passed, the reviewed card comes before new ones.
    assert store.next_card(graded.memory.due + 1).key == first.key
    assert store.next_card(NOW, new=False) is None
    rows = store._db.execute("SELECT card_key, rating, due_after FROM reviews").fetchall()
    assert rows == [(first.key, 3, graded.memory.due)]


def test_deck_filter_keeps_subdecks_only(tmp_path):
    store = StudyStore(tmp_path / "s.db")
    store.import_cards(cards(1, "A/B") + cards(1, "AB") + cards(1, "C"), NOW)
    assert store.next_card(NOW, deck="A").deck == "A/B"
    assert store.next_card(NOW, deck="AB").deck == "AB"
    assert store.next_card(NOW, deck="Z") is None
    assert [(d.deck, d.cards, d.new) for d in store.decks(NOW)] == [
        ("A/B", 1, 1),
        ("AB", 1, 1),
        ("C", 1, 1),
    ]


def test_reimport_updates_changed_answers_and_keeps_history(tmp_path):
    store = StudyStore(tmp_path / "s.db")
    assert store.import_cards(cards(3), NOW).added == 3
    key = store.next_card(NOW).key
    store.grade(key, Rating.Easy, NOW)
    counts = store.import_cards(cards(2, answer="changed") + cards(3)[2:], NOW + 10)
    assert (counts.added, counts.updated, counts.unchanged) == (0, 2, 1)
    card = store.get(key)
    assert card.answer == "changed0" and card.reps == 1 and not card.is_new


def test_corrupt_database_is_a_clear_error(tmp_path):
    path = tmp_path / "s.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(ProfondError, match="cannot open the study database"):
        StudyStore(path)
