import pytest

from profond.errors import ProfondError
from profond.labs.registry import all_labs, get_lab, lab_names


def test_every_listed_lab_loads_and_is_described():
    labs = all_labs()
    assert [lab.name for lab in labs] == lab_names()
    for lab in labs:
        doc = lab.describe()
        assert doc["name"] == lab.name and doc["keywords"] and isinstance(doc["fast"], bool)


def test_unknown_lab_names_the_choices():
    with pytest.raises(ProfondError, match="unknown lab 'nope'.*adam_vs_sgd"):
        get_lab("nope")
