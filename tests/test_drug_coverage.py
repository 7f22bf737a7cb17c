"""Named-drug coverage (medcite.answer.drugs): which drugs a question names, and which of them the documents
behind a bottom line never name."""

from __future__ import annotations

from conftest import make_doc

from medcite.answer.drugs import bottom_line_drugs, named_drugs, uncovered_drugs
from medcite.ingest.chunking import chunk_document

DRUGS = {"plavix": "clopidogrel", "viagra": "sildenafil", "children's motrin": "ibuprofen", "motrin": "ibuprofen",
         "vitamin c": "ascorbic acid"}
GENERICS = frozenset(DRUGS.values()) | {"aspirin"}


def test_brands_and_generics_are_found_and_mapped_to_the_generic() -> None:
    found = named_drugs("I take Plavix since my stent. Can I use Viagra and aspirin?", DRUGS, GENERICS)
    assert found == {"plavix": "clopidogrel", "viagra": "sildenafil", "aspirin": "aspirin"}


def test_the_longest_name_wins_and_words_are_not_counted_twice() -> None:
    found = named_drugs("Can I give children's Motrin with vitamin C?", DRUGS, GENERICS)
    assert found == {"children's motrin": "ibuprofen", "vitamin c": "ascorbic acid"}


def test_a_question_without_drugs_names_none() -> None:
    assert named_drugs("How long should I wait to donate blood after a tattoo?", DRUGS, GENERICS) == {}


def test_a_drug_no_cited_document_names_is_uncovered(store) -> None:
    with store.transaction():
        for doc in (make_doc("spl:viagra", title="VIAGRA (sildenafil citrate) tablets",
                             text="Use with caution in patients with bleeding disorders. Do not use with nitrates."),
                    make_doc("pmid:9", title="Antiplatelet therapy after stenting",
                             text="Clopidogrel (Plavix) reduces stent thrombosis. Sildenafilum is not studied.")):
            store.upsert_document(doc, chunk_document, parser="test", origin="t")
    named = {"plavix": "clopidogrel", "viagra": "sildenafil"}
    assert uncovered_drugs(named, ["spl:viagra"], store) == ["plavix"]
    # named by its generic in another cited document: covered
    assert uncovered_drugs(named, ["spl:viagra", "pmid:9"], store) == []
    # whole words only: "Sildenafilum" is not "sildenafil"; nothing cited means nothing to check
    assert uncovered_drugs({"viagra": "sildenafil"}, ["pmid:9"], store) == ["viagra"]
    assert uncovered_drugs({"viagra": "sildenafil"}, [], store) == []


def test_another_name_of_the_same_drug_counts(store) -> None:
    with store.transaction():
        store.upsert_document(make_doc("pmid:7", title="Stent thrombosis", text="Iscover was given for a year."),
                              chunk_document, parser="test", origin="t")
    named = {"plavix": "clopidogrel"}
    assert uncovered_drugs(named, ["pmid:7"], store) == ["plavix"]
    assert uncovered_drugs(named, ["pmid:7"], store, {"clopidogrel": ("plavix", "iscover")}) == []


def test_a_document_that_names_none_of_the_drugs_is_left_out(store) -> None:
    """The sentence such a document gives is about something else and is left out of the bottom line."""
    with store.transaction():
        for doc in (make_doc("spl:viagra2", title="VIAGRA (sildenafil citrate) tablets",
                             text="Consider a starting dose of 25 mg in patients treated with erythromycin."),
                    make_doc("ngc:opioids", title="Prescribing opioids for chronic pain",
                             text="When opioids are started, clinicians should prescribe the lowest effective dosage."),
                    make_doc("pmid:11", title="Macrolides", text="Erythromycin inhibits CYP3A4.")):
            store.upsert_document(doc, chunk_document, parser="test", origin="t")
    named = {"erythromycin": "erythromycin", "viagra": "sildenafil"}
    assert bottom_line_drugs(named, ["ngc:opioids", "spl:viagra2", "pmid:11"], store) == ({"ngc:opioids"}, [])
    assert bottom_line_drugs(named, ["spl:viagra2"], store) == (set(), [])
    assert bottom_line_drugs({}, ["ngc:opioids"], store) == (set(), [])
    # a document naming neither drug is kept when it is the only one; then both drugs are missing
    assert bottom_line_drugs(named, ["ngc:opioids"], store) == (set(), ["erythromycin", "viagra"])
    assert bottom_line_drugs(named, ["ngc:opioids", "pmid:11"], store) == ({"ngc:opioids"}, ["viagra"])
