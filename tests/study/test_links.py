from profond.labs.registry import all_labs
from profond.study.links import linked_labs


def names(text):
    return [lab.name for lab in linked_labs(text, all_labs())]


def test_cards_link_to_labs_by_whole_keyword():
    assert names("Pourquoi la sigmoïde provoque-t-elle la disparition du gradient ?") == [
        "activation_gradients"
    ]
    assert names("Compare ADAM and SGD") == ["adam_vs_sgd"]
    assert names("An adamant stance on the matter") == []
