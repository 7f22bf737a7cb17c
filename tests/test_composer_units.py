"""The extractive composer's sentence rules, on hand-made hits (no store needed).

Trailing grades stay with the sentence they grade; sentences that stop where their list should begin are
never quoted; in patient mode a sentence above the hard reading-grade limit is quoted only as the bottom
line, and only one of them; without a clear topic, every word about as specific as the rarest is a focus.
"""

from __future__ import annotations

from medcite.answer.concepts import answer_type_words
from medcite.answer.extractive import BOTTOM, ComposerConfig, ExtractiveComposer
from medcite.domain import Hit
from medcite.text import flesch_kincaid_grade


def hit(n: int, text: str, title: str, kind: str = "guideline", heading: str = "Recommendations") -> Hit:
    return Hit(passage_id=f"p{n}", doc_id=f"d{n}", rank=n, score=1.0 / n, kind=kind, title=title,
               heading=heading, text=text, source="Test Organisation")


def idf(term: str) -> float:
    return 5.0


def select(terms, hits, audience="clinician", question="", config=None):
    return ExtractiveComposer(config).select(terms, [], hits, {}, idf, audience, df=lambda t: 10, question=question)


def test_a_trailing_grade_is_quoted_with_the_sentence_it_grades() -> None:
    text = ("The task force recommends offering one-time screening for hepatitis C infection to adults born "
            "between 1945 and 1965. (B recommendation) Clinical considerations follow.")
    comp = select(["hepatitis", "screening", "adults"], [hit(1, text, "Hepatitis C screening in adults")])
    assert comp.bottom, comp
    assert comp.bottom[0].text.endswith("between 1945 and 1965. (B recommendation)")
    assert comp.bottom[0].text in text  # still verbatim


def test_a_sentence_that_stops_before_its_list_is_never_quoted() -> None:
    hits = [hit(1, "Foods with folic acid in them include\nFolic acid helps to prevent birth defects of the spine.",
                "Folic acid", kind="patient_info", heading="Summary")]
    comp = select(["folic", "acid", "foods"], hits, "patient")
    quoted = [x.text for x in comp.chosen]
    assert quoted and all(not t.endswith("include") for t in quoted), quoted


def test_patient_mode_quotes_one_hard_sentence_only_as_the_bottom_line() -> None:
    hard = ("Hashimoto disease, with or without hypothyroidism, is treated with synthetic thyroxine, "
            "which is manufactured levothyroxine administered orally every morning.")
    hard2 = ("Hashimoto thyroiditis treatment necessitates periodic laboratory evaluation of thyrotropin "
             "concentrations with individualized levothyroxine dosage modification.")
    assert flesch_kincaid_grade(hard) > 12 and flesch_kincaid_grade(hard2) > 12
    hits = [hit(1, f"{hard} {hard2}", "What are the treatments for Hashimoto disease?", kind="patient_info",
                heading="Treatment")]
    comp = select(["hashimoto", "treated"], hits, "patient", question="How is Hashimoto disease treated?")
    assert [x.section for x in comp.chosen if x.hard] == [BOTTOM]
    assert len(comp.chosen) == 1
    # a readable sentence that answers opens the answer instead, and the hard one is left out
    easy = "Hashimoto disease is treated with a daily thyroid pill."
    hits = [hit(1, f"{hard} {easy}", "What are the treatments for Hashimoto disease?", kind="patient_info",
                heading="Treatment")]
    comp = select(["hashimoto", "treated"], hits, "patient", question="How is Hashimoto disease treated?")
    assert comp.bottom[0].text == easy
    # with no hard sentence allowed, the only answer is "insufficient evidence"
    comp = select(["hashimoto", "treated"], [hit(1, hard, "What are the treatments for Hashimoto disease?",
                                                 kind="patient_info", heading="Treatment")],
                  "patient", config=ComposerConfig(patient_max_hard=0))
    assert not comp.chosen


def test_without_a_clear_topic_every_specific_word_is_a_focus() -> None:
    # "family" is about as rare as "pinworms" here; the page about pinworms must still be able to answer
    text = "The medicines used to treat pinworm are mebendazole and albendazole, given twice two weeks apart."
    hits = [hit(1, text, "What are the treatments for pinworm infection?", kind="patient_info", heading="Treatment")]
    weights = {"pinworms": 4.8, "family": 5.2, "medicine": 6.0}
    comp = ExtractiveComposer().select(["pinworms", "medicine", "family"], [], hits, {},
                                       lambda t: weights.get(t, 3.0), "patient", df=lambda t: 10,
                                       question="My son has pinworms. What medicine gets rid of them?")
    assert comp.bottom and comp.bottom[0].doc_id == "d1", comp


def test_answer_type_words_name_the_kind_of_answer_asked_for() -> None:
    assert "treatments" in answer_type_words(["hashimoto", "pills"])
    assert "dose" in answer_type_words(["dosage"])
    assert answer_type_words(["hashimoto"]) == []


def test_abbreviations_a_document_defines_are_resolved_in_its_other_sentences() -> None:
    from medcite.answer.sentences import defined_abbreviations

    got = dict(defined_abbreviations("CO2 laser cryptolysis (LC) was compared with radiofrequency (RF) ablation."))
    assert got["LC"] == frozenset({"laser", "cryptolysis"}) and got["RF"] == frozenset({"radiofrequency"})
    assert defined_abbreviations("in 24 patients (PEMF) and the drug (aspirin)") == ()
    methods = "Patients with delayed union received pulsed electromagnetic field (PEMF) stimulation or sham."
    result = "At the end of the study PEMF led to union in 77.4% of patients versus 48.1% with sham."
    hits = [hit(1, methods, "A randomized trial", kind="randomized_trial", heading="METHODS"),
            Hit(passage_id="p2", doc_id="d1", rank=2, score=0.5, kind="randomized_trial",
                title="A randomized trial", heading="RESULTS", text=result)]
    comp = select(["pulsed", "electromagnetic", "field", "union"], hits)
    scored = {x.text: x for x in comp.ranked}
    assert result in scored and scored[result].cover == 1.0, comp.ranked
    # the pronoun "he" is not the abbreviation "HE"
    hits = [hit(1, "Hashimoto encephalitis (HE) is rare. Most patients with HE respond to steroids quickly.",
                "Hashimoto encephalitis", kind="patient_info", heading="Treatment")]
    comp = select(["hashimoto", "encephalitis", "steroids"], hits, "patient")
    assert any(x.text.startswith("Most patients with HE") and x.cover == 1.0 for x in comp.ranked)


def test_baseline_tables_aims_and_other_studies_never_extend_the_lead_study() -> None:
    title = "Laser versus radiofrequency for tonsil halitosis: a randomized trial"
    sentences = [
        "Laser cryptolysis reduced halitosis scores significantly more than radiofrequency ablation (p < 0.05).",
        "Patient demographics were comparable between the two groups for age and sex (p = 0.45).",
        "The aim of this study was to compare laser cryptolysis with radiofrequency ablation for halitosis.",
        "Finkelstein et al. concluded that laser cryptolysis is effective for halitosis in adults.",
        "Pain after laser cryptolysis was lower than after radiofrequency ablation on every day (p < 0.01).",
    ]
    hits = [Hit(passage_id=f"p{i}", doc_id="d1", rank=i + 1, score=1.0, kind="randomized_trial", title=title,
                heading="RESULTS", text=t) for i, t in enumerate(sentences)]
    comp = select(["laser", "cryptolysis", "radiofrequency", "halitosis"], hits,
                  question="Is laser cryptolysis better than radiofrequency ablation for halitosis?")
    quoted = {x.text for x in comp.chosen}
    assert sentences[0] in quoted and sentences[4] in quoted, quoted
    assert not quoted & {sentences[1], sentences[2], sentences[3]}, quoted


def test_headings_and_list_items_without_a_verb_are_never_quoted() -> None:
    from medcite.answer.sentences import _standalone_penalty

    assert _standalone_penalty("Screening for thyroid cancer using neck palpation and ultrasound") is None
    assert _standalone_penalty("Drooping eyelid or corner of the mouth on one side") is None
    assert _standalone_penalty("People with sleep apnea often snore loudly.") is not None
    assert _standalone_penalty("Mutations in the FMR1 gene cause fragile X syndrome") is not None


def test_a_passage_that_says_the_whole_question_may_open_the_answer() -> None:
    # the asker describes symptoms; the page that matches them is titled with the diagnosis
    text = ("Symptoms include a sudden increase in floaters and flashes of light in one eye, and a curtain "
            "over part of your vision.")
    hits = [hit(1, text, "What is retinal detachment?", kind="patient_info", heading="Summary")]
    terms = ["sudden", "floaters", "flashes", "light", "eye", "curtain", "vision"]
    comp = select(terms, hits, "patient", question="Sudden floaters, flashes and a curtain over my vision?")
    assert comp.bottom and comp.bottom[0].doc_id == "d1"
    # two words ("stroke", "treated") are not a whole question: a passage about something else that
    # happens to say both may not open the answer
    other = "Statins are prescribed and treated patients had fewer heart attacks and fewer strokes."
    comp = select(["stroke", "treated"], [hit(1, other, "Statins for heart disease", kind="systematic_review",
                                                heading="Results")], question="How is stroke treated?")
    assert not comp.bottom


def test_everyday_words_nothing_retrieved_uses_leave_the_question() -> None:
    text = "Treatment for testicular cancer can cause infertility, so sperm banking is offered before it starts."
    hits = [hit(1, text, "What are the treatments for testicular cancer?", kind="patient_info", heading="Treatment")]
    terms = ["testicular", "cancer", "someday", "beforehand", "treatment"]
    q = "I have testicular cancer and want kids someday. What can I do beforehand about treatment?"
    weights = {"someday": 8.0, "beforehand": 8.0, "cancer": 3.0, "treatment": 3.0}  # rare in a medical corpus

    def run(config=None):
        return ExtractiveComposer(config).select(terms, [], hits, {}, lambda t: weights.get(t, 5.0), "patient",
                                                 df=lambda t: 10, question=q)

    assert run().bottom
    assert not run(ComposerConfig(everyday_absent_zipf=None, absent_cap=False)).bottom


def test_a_word_the_corpus_has_almost_never_seen_never_leaves_the_question() -> None:
    text = "Data were uploaded daily over secure Wi-Fi to a web database, and devices were reset at the factory."
    hits = [hit(1, text, "A field survey of diet", kind="observational", heading="Methods")]
    terms = ["reset", "wi-fi", "router", "factory"]

    def concepts(router_df: int) -> list[str]:
        comp = ExtractiveComposer().select(terms, [], hits, {}, lambda t: 5.0, "patient",
                                           df=lambda t: router_df if t == "router" else 50,
                                           question="How do I reset my Wi-Fi router at the factory?")
        return [c.term for c in comp.concepts]

    assert "router" in concepts(1)       # (almost) unseen: names what the corpus lacks
    assert "router" not in concepts(50)  # an everyday word the retrieved text just does not use


def test_a_heading_glued_to_its_sentence_is_not_quoted() -> None:
    from medcite.answer.sentences import strip_glued_heading

    assert strip_glued_heading("Stage IV In stage IV, the tumor is any grade.") == "In stage IV, the tumor is any grade."
    assert (strip_glued_heading("Shingles Vaccine The shingles vaccine is NOT recommended if you have shingles.")
            == "The shingles vaccine is NOT recommended if you have shingles.")
    # the page's topic may open the sentence after its heading
    assert (strip_glued_heading("Attacks Usually Start at Night Gout is a form of arthritis.", "Gout")
            == "Gout is a form of arthritis.")
    assert (strip_glued_heading("Sudden, Intense Joint Pain Gout is a form of arthritis.", "Gout")
            == "Gout is a form of arthritis.")
    assert strip_glued_heading("Summary : Folic acid is a B vitamin.") == "Folic acid is a B vitamin."
    # an ordinary sentence (an acronym, a capitalised subject, a connective, a glossary entry) is left alone
    for text in ("The USPSTF recommends screening for colorectal cancer in adults.",
                 "However, The results were mixed in the two groups of patients.",
                 "CA 125 assay : A test that measures the level of CA 125 in the blood.",
                 "Have had an eye injury Symptoms include an increase in floaters.",
                 "Huntington Disease Society of America offers support groups for families."):
        assert strip_glued_heading(text, "Huntington disease") == text
    passage = "Lifestyle. Stage IV In stage IV,  the cancer has spread to the bones and the liver."
    comp = select(["stage", "cancer", "bones"], [hit(1, passage, "Stages of cancer", kind="patient_info")], "patient")
    assert comp.bottom and comp.bottom[0].text.startswith("In stage IV,") and comp.bottom[0].text in passage


def test_a_lay_reader_may_get_the_clause_that_opens_a_long_sentence() -> None:
    from medcite.answer.build import closes
    from medcite.answer.sentences import leading_clauses

    long = ("Curing, drying, smoking, or microwaving meat alone does not consistently kill infective worms; "
            "homemade jerky and sausage were the cause of many cases reported in recent years.")
    assert leading_clauses(long) == ["Curing, drying, smoking, or microwaving meat alone does not consistently "
                                     "kill infective worms"]
    # a clause is never cut from the one that qualifies it, nor from a short list
    assert leading_clauses("Aspirin lowers the risk of a second stroke in adults; however, it raises bleeding.") == []
    assert leading_clauses("Aspirin lowers the risk of a second stroke in adults; it also raises bleeding.") == []
    assert leading_clauses("Doses: one in the morning; one at noon; one at night; one at bedtime.") == []
    hits = [hit(1, long, "Trichinellosis prevention", kind="patient_info", heading="Prevention")]
    patient = select(["smoking", "meat", "kill", "worms"], hits, "patient")
    clinician = select(["smoking", "meat", "kill", "worms"], hits, "clinician")
    assert [x.text for x in patient.bottom] == [leading_clauses(long)[0]]
    assert [x.text for x in clinician.bottom] == [long]
    # shown as a sentence: a full stop after its citation marker, none added to a sentence that has one
    assert closes(patient.bottom[0].text) == "." and closes(long) == ""


def test_a_short_patient_answer_gets_easy_sentences_from_pages_about_its_topic() -> None:
    hard = ("Mandibular advancement oral appliances reduce the apnea-hypopnea index and daytime somnolence in "
            "adults with mild to moderate obstructive sleep apnea compared with sham or conservative management.")
    page = ("Sleep apnea is a common disorder that causes your breathing to stop. Sleep apnea is treated with "
            "lifestyle changes and breathing devices. People with sleep apnea often snore loudly. Sleep apnea "
            "can be a serious problem when it is not treated.")
    hits = [hit(1, hard, "Oral appliances for obstructive sleep apnea", kind="systematic_review", heading="Results"),
            hit(2, page, "Sleep Apnea", kind="patient_info", heading="Summary")]
    # the page speaks of the topic (apnea) but not of the appliances asked about: too little for a section
    weights = {"apnea": 6.0, "oral": 5.0, "appliances": 5.0, "adults": 4.0}

    def run(audience: str, config: ComposerConfig | None = None):
        return ExtractiveComposer(config).select(list(weights), [], hits, {}, weights.__getitem__, audience,
                                                 df=lambda t: 10)

    patient = run("patient")
    assert patient.bottom, patient
    added = [x for x in patient.evidence if x.doc_id == "d2"]
    assert added and all(flesch_kincaid_grade(x.text) <= 8 and x.text in page for x in added)
    assert len(patient.chosen) <= ComposerConfig().patient_min_statements
    off = run("patient", ComposerConfig(patient_background=0))
    assert len([x for x in off.chosen if x.doc_id == "d2"]) < len([x for x in patient.chosen if x.doc_id == "d2"])


def test_a_word_the_corpus_never_uses_is_not_missing_when_its_everyday_rewording_is_there() -> None:
    from medcite.retrieve.query import Expansion

    text = "Motion sickness on boats is less likely when you sit on the upper deck near the middle of the ship."
    hits = [hit(1, text, "Motion sickness", kind="patient_info", heading="Summary")]
    df = {"seasick": 0, "queasiness": 0, "motion": 50, "sickness": 40}.get

    def run(expansions):
        return ExtractiveComposer().select(["seasick", "boats", "sit"], expansions, hits, {}, idf, "patient",
                                           df=lambda t: df(t, 10))

    assert run([]).missing_terms == ["seasick"]
    comp = run([Expansion("seasick", "motion sickness", "lay")])
    assert not comp.missing_terms and comp.bottom and comp.bottom[0].text == text
    # a rewording the corpus only half knows does not count ("seasick" → "motion queasiness", no "queasiness")
    assert run([Expansion("seasick", "motion queasiness", "lay")]).missing_terms == ["seasick"]


def test_what_an_organisation_offers_is_not_an_answer() -> None:
    from medcite.answer.sentences import _standalone_penalty

    assert _standalone_penalty("The foundation also sponsors adult Internet discussion forums for families.") >= 0.3
    assert _standalone_penalty("The HGF offers a brochure about adult growth hormone deficiency.") >= 0.3
    assert _standalone_penalty("Growth hormone treatment did not increase mortality in adults.") == 0.0
    # nor is a medication guide's standing instruction
    assert _standalone_penalty("Do not give LIPITOR to other people, even if they have the same problem.") is None
    assert _standalone_penalty("DO NOT USE IF SAFETY SEAL AROUND BOTTLE CAP IS BROKEN OR MISSING.") is None
    assert _standalone_penalty("Keep for use with this product only.") is None  # a Drug Facts dosing-cup line
    assert _standalone_penalty("Keep out of reach of children.") is None
    assert _standalone_penalty("Do not take LIPITOR if you are pregnant or breastfeeding.") == 0.0


def test_a_labels_pharmacologic_class_index_is_quoted_as_it_stands() -> None:
    text = ("METHOXSALEN: Photoabsorption [MoA]; Photoactivated Radical Generator [EPC]; Photosensitizing Activity "
            "[PE]; Psoralen [EPC]; Psoralens [Chemical/Ingredient].")
    terms = ["methoxsalen", "pharmacologic", "class"]
    comp = select(terms, [hit(1, text, "METHOXSALEN Pharmacologic Class Indexing", kind="drug_label",
                              heading="Pharmacologic class")])
    assert comp.bottom and comp.bottom[0].text == text
    # the same list anywhere else is a glossary, not a sentence
    assert not select(terms, [hit(1, text, "METHOXSALEN Pharmacologic Class Indexing", kind="drug_label",
                                  heading="Description")]).bottom


def test_the_lead_document_may_add_results_that_do_not_repeat_the_question() -> None:
    passage = ("Under the conditions of this study, pulpotomy offered a viable alternative to root canal treatment "
               "for molars. At 24 months, the survival rate without any complementary treatment was estimated to "
               "be 82%.")
    hits = [hit(1, passage, "Pulpotomy versus root canal treatment in molars", kind="randomized_trial",
                heading="Results")]
    terms = ["pulpotomy", "root", "canal", "molars"]
    quoted = [x.text for x in select(terms, hits).chosen]
    assert any("82%" in t for t in quoted), quoted
    # only because the title names the question: a document not about it never offers such sentences
    assert not any("82%" in x.text for x in select(terms, hits, config=ComposerConfig(about_title_cover=1.1)).chosen)


def test_parallel_recommendations_for_other_ages_are_not_duplicates() -> None:
    text = ("The USPSTF recommends low-dose aspirin for primary prevention in adults aged 50 to 59 years "
            "(B recommendation). The USPSTF recommends low-dose aspirin for primary prevention in adults aged 60 "
            "to 69 years (C recommendation). For primary prevention in adults aged 50 to 59 years the USPSTF "
            "recommends low-dose aspirin (B recommendation).")
    comp = select(["aspirin", "primary", "prevention", "adults"], [hit(1, text, "Aspirin for primary prevention")])
    quoted = [x.text for x in comp.chosen]
    assert any("50 to 59" in t for t in quoted) and any("60 to 69" in t for t in quoted), quoted
    assert sum("50 to 59" in t for t in quoted) == 1, quoted  # the same values in the same words: one is enough
    # two documents' "1%" and "6%" in the same words, without what each is about, are duplicates
    hits = [hit(1, "Men with this variant have a 1% lifetime risk of breast cancer.", "Breast cancer risk in men"),
            hit(2, "Men with this variant have a 6% lifetime risk of breast cancer.", "Breast cancer risk in men")]
    assert len(select(["men", "lifetime", "risk", "breast"], hits).chosen) == 1


def test_a_sentence_may_answer_one_part_of_a_compound_question() -> None:
    from medcite.answer.concepts import question_parts

    q = "What regimen should I prescribe for HIV PrEP, and how often do I need to recheck kidney function?"
    parts = question_parts(q)
    assert len(parts) == 2 and "regimen" in parts[0] and "kidney" in parts[1]
    assert question_parts("At what age should colorectal cancer screening start?") == []
    text = ("The recommended HIV PrEP regimen is daily oral tenofovir with emtricitabine. "
            "Recheck kidney function every 6 months in people taking HIV PrEP.")
    hits = [hit(1, text, "HIV PrEP guideline")]
    terms = ["regimen", "prescribe", "hiv", "prep", "recheck", "kidney", "function"]
    whole = ExtractiveComposer(ComposerConfig(part_credit=0)).select(terms, [], hits, {}, idf, "clinician",
                                                                      df=lambda t: 10, question=q)
    parted = ExtractiveComposer().select(terms, [], hits, {}, idf, "clinician", df=lambda t: 10, question=q)

    def regimen(comp):
        return next(x for x in comp.ranked if "regimen" in x.text)

    assert regimen(parted).cover > regimen(whole).cover
    # whether to answer at all is still decided on the whole question
    assert regimen(parted).full_cover == regimen(whole).cover
    # a sentence that only names the kind of answer a part asks for ("how often") does not answer that part
    q = "My patient wants HIV PrEP. What regimen should I prescribe, and how often do I need to recheck kidney function?"
    hits = [hit(1, text + " How often people on HIV PrEP are seen varies.", "HIV PrEP guideline")]
    parted = ExtractiveComposer().select(terms, [], hits, {}, idf, "clinician", df=lambda t: 10, question=q)
    vague = next(x for x in parted.ranked if "varies" in x.text)
    assert vague.cover == vague.full_cover
    assert next(x for x in parted.ranked if "kidney" in x.text).cover > vague.cover


def test_a_sentence_that_names_nothing_of_the_question_never_opens_the_answer() -> None:
    # the title names the whole question, the sentences none of it: nothing may lead, so no answer
    passage = "Ethics approval was obtained from the regional board. Patients were followed for two years."
    comp = select(["pulpotomy", "root", "canal", "molars"],
                  [hit(1, passage, "Pulpotomy versus root canal treatment in molars", kind="randomized_trial",
                       heading="Results")])
    assert not comp.bottom and not comp.chosen
    # … nor fills a section when another sentence answers
    passage = "Pulpotomy of molars worked as well as a root canal. " + passage
    comp = select(["pulpotomy", "root", "canal", "molars"],
                  [hit(1, passage, "Pulpotomy versus root canal treatment in molars", kind="randomized_trial",
                       heading="Results")])
    assert comp.bottom and not [x.text for x in comp.chosen if "Ethics" in x.text or "followed" in x.text]


def test_a_sentence_answering_the_second_part_of_a_question_need_not_name_the_first_parts_focus() -> None:
    q = "When should clinicians apply fluoride varnish to children's teeth, and when are oral fluoride supplements indicated?"
    supplements = ("Clinicians should prescribe oral fluoride supplements starting at age 6 months when the water "
                   "supply is deficient in fluoride.")
    # most titles found name the varnish (the question's focus); the supplements are in another document
    hits = [hit(1, "Clinicians should apply fluoride varnish to the primary teeth of all children.",
                "Fluoride varnish for children"),
            hit(2, "Varnish is painted on the teeth by clinicians.", "Varnish application"),
            hit(3, "Fluoride varnish is safe for teeth.", "Fluoride varnish safety"),
            hit(4, supplements, "Dental caries prevention in children")]
    weights = {"clinicians": 2.0, "apply": 2.0, "fluoride": 3.0, "varnish": 8.0, "teeth": 3.0, "oral": 3.0,
               "supplements": 5.0, "indicated": 2.0}

    def run(config: ComposerConfig | None = None):
        return ExtractiveComposer(config).select(list(weights), [], hits, {}, weights.__getitem__, "clinician",
                                                 df=lambda t: 10, question=q)

    assert supplements in [x.text for x in run().chosen]
    assert supplements not in [x.text for x in run(ComposerConfig(part_focus=9.0)).chosen]


def test_a_recommendation_for_another_population_is_not_quoted() -> None:
    text = ("Offer labetalol to treat hypertension in pregnancy. Start an ACE inhibitor as first-line treatment for "
            "hypertension in adults with type 2 diabetes. Offer lifestyle advice on hypertension to everyone.")
    terms = ["hypertension", "treated", "pregnancy"]
    quoted = [x.text for x in select(terms, [hit(1, text, "Hypertension: management")],
                                     question="How should hypertension be treated in pregnancy?").chosen]
    assert quoted and not any("ACE inhibitor" in t for t in quoted), quoted
    # the same sentence answers a question about adults
    quoted = [x.text for x in select(["hypertension", "treated", "adults", "diabetes"],
                                     [hit(1, text, "Hypertension: management")],
                                     question="How should hypertension be treated in adults with diabetes?").chosen]
    assert any("ACE inhibitor" in t for t in quoted), quoted


def test_child_pugh_names_no_population() -> None:
    from medcite.answer.sentences import populations

    # "Child-Pugh B" grades cirrhosis: the question is about an adult, and an adult dose may answer it
    assert populations("Man with Child-Pugh B cirrhosis asks for sildenafil. What starting dose?") == frozenset()
    assert populations("Child Pugh class C hepatic impairment") == frozenset()
    assert populations("Can a child with fever take ibuprofen?") == {"children"}
