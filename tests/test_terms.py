from hypothesis import given, settings, strategies as st

from conftest import make_doc
from medcite.index.lexical import Filters, Fts5Index
from medcite.index.terms import fts_or_query, query_terms
from medcite.ingest.chunking import chunk_document


def test_question_words_and_stop_words_are_dropped():
    assert query_terms("At what age should colorectal cancer screening start for a patient?") == [
        "age", "colorectal", "cancer", "screening", "start"]


def test_all_stop_words_still_give_terms():
    assert query_terms("what should I do?") == ["what", "should", "do"]


def test_operators_are_plain_text():
    terms = query_terms('aspirin NOT "bleeding" OR col:umn* (NEAR)')
    assert fts_or_query(terms).count('"') == 2 * len(terms)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_is_a_valid_fts_query(store_text):
    from medcite.store.sqlite import Store
    import tempfile, pathlib

    global _STORE
    try:
        _STORE
    except NameError:
        _STORE = Store(pathlib.Path(tempfile.mkdtemp()) / "t.db")
        with _STORE.transaction():
            _STORE.upsert_document(make_doc(), chunk_document, parser="t", origin="t")
    res = Fts5Index(_STORE).search_ids(store_text, 5)
    assert isinstance(res.ids, list)


def test_bm25_search_and_filters(store):
    with store.transaction():
        store.upsert_document(make_doc("pmid:1"), chunk_document, parser="t", origin="t")
        store.upsert_document(make_doc("pmid:2", title="Statins", text="Statins reduce LDL. Aspirin is unrelated here.",
                                       year=2001), chunk_document, parser="t", origin="t")
    idx = Fts5Index(store)
    res = idx.search_ids("aspirin bleeding", 10)
    rows = store.get_passages(res.ids)
    assert rows[res.ids[0]]["doc_id"] == "pmid:1"
    only_2001 = idx.search_ids("aspirin", 10, Filters(year_min=2000))
    assert [store.get_passages(only_2001.ids)[i]["doc_id"] for i in only_2001.ids] == ["pmid:2"]
