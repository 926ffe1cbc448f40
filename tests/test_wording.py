"""Counts read as a person writes them: '1 document', '2 documents', '1,200 passages'."""

from indexer.store.lance import PassageCounts
from indexer.types import counted


def test_a_count_takes_the_noun_in_its_number():
    assert counted(1, "document") == "1 document"
    assert counted(0, "document") == "0 documents"
    assert counted(1200, "passage") == "1,200 passages"
    assert counted(2, "query", "queries") == "2 queries"


def test_one_passage_is_not_one_passages():
    assert PassageCounts(1, 1, 1).describe().startswith("1 passage: 1 by keyword, 1 by meaning")
