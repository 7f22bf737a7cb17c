"""The six questions that showed answers could not yet be trusted, asked of the real shared corpus.

Each must get a bottom line that answers (the asked-for fact in the bottom line itself) or an honest
"insufficient evidence" — never a confident answer built from sentences that only share the question's
words. Lexical store, as after `make demo`; the model composer with the shipped answer model.
"""

from __future__ import annotations

import pytest

from mock_openai import mock_openai  # noqa: F401  (fixture)

from medcite.answer.schema import check_answer
from medcite.service import Medcite
from medcite.settings import Settings

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def full(tmp_path_factory: pytest.TempPathFactory) -> Medcite:
    from conftest import shared_dir

    shared = shared_dir()
    if not (shared / "corpus").is_dir():
        pytest.skip(f"shared corpus not found at {shared}")
    root = tmp_path_factory.mktemp("full")
    svc = Medcite(Settings(db=root / "full.db", progress=False, embedder="none", cache_dir=root / "cache",
                           composer="model"))
    svc.demo(shared / "corpus")
    return svc


def _ask(svc: Medcite, question: str, audience: str = "clinician"):
    a = svc.ask(question, audience=audience, remember=False)
    assert check_answer(a) == []
    return a


def test_nitroglycerin_and_sildenafil_is_a_contraindication(full: Medcite) -> None:
    a = _ask(full, "Can a man who takes nitroglycerin use sildenafil?")
    assert not a.insufficient_evidence
    assert "contraindicated" in a.bottom_line.lower() or "do not take" in a.bottom_line.lower()
    assert any(r.kind == "drug_label" for r in a.references)


def test_ibuprofen_in_pregnancy_is_not_answered_from_a_hip_surgery_trial(full: Medcite) -> None:
    a = _ask(full, "Is it safe to take ibuprofen while pregnant?", audience="patient")
    assert a.insufficient_evidence or "pregnan" in a.bottom_line.lower()
    assert "perioperative blood loss" not in a.bottom_line.lower()
    if a.insufficient_evidence:
        assert a.evidence_quality.grade == "insufficient" and a.related_reading


def test_acute_hyperkalemia_is_not_answered_with_transfusion_advice(full: Medcite) -> None:
    a = _ask(full, "How should hyperkalemia be treated acutely?")
    assert "transfusion" not in a.bottom_line.lower()
    assert a.insufficient_evidence or "potassium" in a.bottom_line.lower() or "hyperkal" in a.bottom_line.lower()


def test_atorvastatin_side_effects_are_named(full: Medcite) -> None:
    a = _ask(full, "What are the side effects of atorvastatin?")
    assert not a.insufficient_evidence
    named = ("myalgia", "arthralgia", "nasopharyngitis", "diarrhea", "muscle", "liver", "myopathy")
    assert any(w in a.bottom_line.lower() for w in named)
    assert "is associated with side effects" not in a.bottom_line


def test_lowering_blood_pressure_without_medicine_names_lifestyle_changes(full: Medcite) -> None:
    a = _ask(full, "How can I lower my blood pressure without medicine?", audience="patient")
    assert a.insufficient_evidence or any(
        w in a.bottom_line.lower() for w in ("lifestyle", "weight", "salt", "sodium", "physical activity", "diet"))


def test_stroke_warning_signs_are_listed(full: Medcite) -> None:
    a = _ask(full, "What are the warning signs of a stroke?", audience="patient")
    assert not a.insufficient_evidence
    assert "sudden" in a.bottom_line.lower() and ("numbness" in a.bottom_line.lower()
                                                  or "trouble speaking" in a.bottom_line.lower())


def test_the_default_composer_routes_a_contraindication_question_to_the_model(full: Medcite) -> None:
    """With ``composer = rules`` (the default), "may he take it" questions go to the model composer
    (``safety_routing``); without the routing the rules composer quotes a pharmacokinetics sentence."""
    s = full.settings
    routed = Medcite(s.model_copy(update={"composer": "rules"}))
    unrouted = Medcite(s.model_copy(update={"composer": "rules", "safety_routing": False}))
    question = "Can a man who takes nitroglycerin use sildenafil?"
    a = _ask(routed, question)
    assert "contraindicated" in a.bottom_line.lower() or "do not take" in a.bottom_line.lower()
    assert "contraindicated" not in _ask(unrouted, question).bottom_line.lower()
    assert _ask(routed, "Is it safe to take ibuprofen while pregnant?").insufficient_evidence
    # a question that asks for a list (warning signs, side effects) is routed too, and gets the list
    signs = _ask(routed, "What are the warning signs of a stroke?", audience="patient").bottom_line.lower()
    assert "sudden numbness" in signs and "trouble speaking" in signs
    assert "sudden numbness" not in _ask(unrouted, "What are the warning signs of a stroke?",
                                         audience="patient").bottom_line.lower()
    # a routed question has 16 sentences scored, some of them from the sections of its type: the label's side
    # effects, not a trial result that names atorvastatin more often
    effects = _ask(routed, "What are the side effects of atorvastatin?").bottom_line.lower()
    assert any(w in effects for w in ("myalgia", "arthralgia", "diarrhea", "muscle", "liver", "myopathy"))
    routed.close()
    unrouted.close()


def test_two_drugs_are_answered_only_from_documents_that_name_both(full: Medcite) -> None:
    """"Plavix" with "Viagra": the Viagra label never names clopidogrel, so its cautions are no answer about the
    two together (``drug_coverage``); without the check the label's general cautions are the bottom line."""
    question = "I take Plavix every day since my heart stent. Is it safe for me to use Viagra too?"
    a = _ask(full, question, audience="patient")
    assert a.insufficient_evidence and "plavix" in a.bottom_line.lower()
    assert a.evidence_quality.grade == "insufficient" and a.related_reading
    unchecked = Medcite(full.settings.model_copy(update={"drug_coverage": False}))
    assert not _ask(unchecked, question, audience="patient").insufficient_evidence
    unchecked.close()
    # both drugs named by the label that answers: still answered
    b = _ask(full, "Can a man who takes nitroglycerin use sildenafil?")
    assert not b.insufficient_evidence


def test_a_configured_llm_does_not_answer_for_a_drug_the_documents_never_name(full: Medcite, mock_openai) -> None:
    """With an LLM configured (the mock speaks the OpenAI protocol on loopback) the Plavix + Viagra question stays
    "insufficient evidence": the model is not asked to write about clopidogrel from the Viagra label's passages."""
    import json

    llm = Medcite(full.settings.model_copy(update={"llm_base_url": mock_openai.url, "llm_model": "mock"}))
    try:
        mock_openai.queue_chat(json.dumps({"bottom_line": "Yes, it is safe to use them together [1].", "sections": [],
                                           "related_questions": []}))
        a = llm.ask("I take Plavix every day since my heart stent. Is it safe for me to use Viagra too?",
                    audience="patient", llm=True, remember=False)
        assert a.insufficient_evidence and a.composer == "extractive" and "plavix" in a.bottom_line.lower()
        assert a.metadata["llm_skipped"] and not mock_openai.chat_requests()
        # a question whose documents name its drug still goes to the LLM
        llm.ask("Can a man who takes nitroglycerin use sildenafil?", llm=True, remember=False)
        assert len(mock_openai.chat_requests()) == 1
    finally:
        llm.close()


def test_a_sentence_from_a_document_naming_neither_drug_never_opens_the_answer(full: Medcite) -> None:
    """Sildenafil with erythromycin: the rules composer's first bottom-line sentence came from the opioid
    guideline ("When opioids are started, clinicians should prescribe the lowest effective dosage."), a document
    that names neither drug; it is left out and the label's own sentence answers (``drug_coverage``)."""
    question = ("Man taking a 10-day course of erythromycin for a chest infection wants to use sildenafil for ED "
                "this weekend. What starting dose should I prescribe, and why?")
    rules = Medcite(full.settings.model_copy(update={"composer": "rules"}))
    unchecked = Medcite(full.settings.model_copy(update={"composer": "rules", "drug_coverage": False}))
    a = _ask(rules, question)
    assert "opioid" not in a.bottom_line.lower() and "25 mg" in a.bottom_line
    assert "opioid" in _ask(unchecked, question).bottom_line.lower()
    rules.close()
    unchecked.close()
