import pytest

from profond.errors import ProfondError
from profond.labs.registry import all_labs, get_lab, lab_names, labs_answering


def test_every_listed_lab_loads_and_is_described():
    labs = all_labs()
    assert [lab.name for lab in labs] == lab_names()
    for lab in labs:
        doc = lab.describe()
        assert doc["name"] == lab.name and doc["keywords"] and isinstance(doc["fast"], bool)
        assert [c["id"] for c in doc["claims"]] == [c.id for c in lab.claims]
        assert doc["seeds"]["faithful"] >= doc["seeds"]["fast"] >= 2


def test_unknown_lab_names_the_choices():
    with pytest.raises(ProfondError, match="unknown lab 'nope'.*adam_vs_sgd"):
        get_lab("nope")


def test_labs_answering_a_bank_item():
    assert "activation_gradients" in [lab.name for lab in labs_answering("c42")]
    assert labs_answering("Q999") == []
