from pathlib import Path

from profond.study.parse import parse_bank, split_topic

FIXTURES = Path(__file__).parents[1] / "fixtures" / "study"


def parse(name: str):
    path = FIXTURES / name
    return parse_bank(path.read_text(encoding="utf-8"), str(path))


def test_sectioned_french_bank_cards_decks_and_answers():
    result = parse("cours_reseaux.md")
    assert [c.deck for c in result.cards] == [
        "Réseaux de neurones/Perceptron",
        "Réseaux de neurones/Perceptron",
        "Réseaux de neurones/Optimisation",
        "Réseaux de neurones/Optimisation",
        "Réseaux de neurones/Activations",
    ]
    first, second, third, fourth, fifth = result.cards
    assert first.question == "Qu'est-ce qu'un perceptron ?"
    assert "contentReference" not in first.answer and "oaicite" not in first.answer
    assert first.answer.startswith("Un neurone formel") and "\\hat{y}" in first.answer
    assert second.answer.splitlines()[0] == "- Sa frontière de décision est un hyperplan."
    assert "| $\\eta$ | pas d'apprentissage |" in third.answer
    # Python comments in fenced code are not headings; a deeper sub-heading stays in the answer.
    assert "# Ceci est un commentaire Python" in fourth.question
    assert "## encore un" in fourth.answer and "#### Remarque" in fourth.answer
    assert fifth.answer.startswith("Sa dérivée vaut au plus 1/4")
    assert result.problems == []


def test_level_one_sections_and_both_answer_markers():
    result = parse("deep_learning_exam.md")
    assert [(c.deck, c.question) for c in result.cards] == [
        (
            "Deep learning exam questions/Convolutional networks",
            "What does weight sharing buy a convolution?",
        ),
        ("Deep learning exam questions/Convolutional networks", "Output size of a convolution?"),
        ("Deep learning exam questions/Recurrent networks", "Why do LSTMs have gates?"),
    ]
    assert result.cards[0].answer.endswith("2. translation equivariance.")
    assert [(p.line, "no answer" in p.message) for p in result.problems] == [(25, True)]


def test_flat_blocks_ignore_comments_and_keep_multiline_questions():
    result = parse("quiz_keras.md")
    assert [(c.deck, c.line) for c in result.cards] == [
        ("Keras/Layers", 7),
        ("Keras/Model", 12),
        ("Optimisation/Adam", 34),
        ("Entraînement/Régularisation", 39),
        ("Keras/Callbacks", 46),
    ]
    texts = " ".join(c.question + c.answer for c in result.cards)
    assert "Fake" not in texts and "keras.io" not in texts and "Template" not in texts
    model = result.cards[1]
    assert "Total params: 101770" in model.question and model.answer.startswith(
        "101 770 parameters:"
    )
    assert "| dense_1 | 128 × 10 + 10 = 1 290 |" in model.answer
    assert result.cards[3].answer.endswith("Rien de tout cela n'est actif en inférence.")
    assert result.cards[4].answer == "val_loss"  # free text after the comment is not appended
    assert result.problems == []


def test_unterminated_comment_and_missing_answer_are_reported_rest_is_read():
    result = parse("bad/broken.md")
    assert [c.answer for c in result.cards] == ["4", "9", "5"]
    assert [p.line for p in result.problems] == [4, 11]
    assert "unterminated" in result.problems[0].message
    assert "no answer" in result.problems[1].message


def test_split_topic_keeps_later_dashes_in_the_question():
    assert split_topic("A - B - what is x - y?") == (["A", "B"], "what is x - y?")
    assert split_topic("A - question") == (["A"], "question")
    assert split_topic("just a question") == ([], "just a question")
