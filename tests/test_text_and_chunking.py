from hypothesis import given, settings, strategies as st

from medcite.domain import Document, DocKind, Section
from medcite.ingest.chunking import MAX_CHARS, chunk_document, chunk_spans
from medcite.text import clean_block, flesch_kincaid_grade, html_to_text, sentence_spans, split_sentences


def test_sentences_respect_abbreviations_and_decimals():
    text = ("Patients were randomized, e.g. to drug A vs. placebo. The mean dose was 2.5 mg/kg (p < 0.05). "
            "J. Smith et al. found more. Screening starts at 45 years.")
    assert split_sentences(text) == [
        "Patients were randomized, e.g. to drug A vs. placebo.",
        "The mean dose was 2.5 mg/kg (p < 0.05).",
        "J. Smith et al. found more.",
        "Screening starts at 45 years.",
    ]


def test_newline_ends_a_sentence():
    assert split_sentences("Symptoms include\n• fever\n• cough") == ["Symptoms include", "• fever", "• cough"]


def test_chunks_never_cut_a_sentence_and_offsets_are_exact():
    sentences = [f"Sentence number {i} talks about hypertension and kidney outcomes in adults." for i in range(60)]
    text = " ".join(sentences)
    doc = Document("x:1", DocKind.OTHER, "t", (Section("H", text),))
    passages = chunk_document(doc)
    assert len(passages) > 3
    for p in passages:
        assert text[p.start:p.end] == p.text
        assert p.text.startswith("Sentence number") and p.text.endswith(".")
        assert len(p.text) <= MAX_CHARS
    # together the passages cover every sentence, in order
    assert " ".join(p.text for p in passages) == text
    assert [p.passage_id for p in passages] == [f"x:1#0.{i}" for i in range(len(passages))]
    assert chunk_document(doc) == passages  # deterministic


def test_a_sentence_below_the_limit_stays_whole():
    sentence = ("word " * 170 + "end.").strip()
    assert len(sentence) <= MAX_CHARS
    assert chunk_spans(sentence) == [(0, len(sentence))]


def test_a_long_sentence_is_split_at_its_last_clause_boundary():
    clauses = [f"clause {i} lists another adverse event of the drug in adults" for i in range(40)]
    text = "; ".join(clauses) + "."
    spans = chunk_spans(text)
    assert len(spans) > 1 and all(e - s <= MAX_CHARS for s, e in spans)
    for s, e in spans[:-1]:
        assert text[e - 1] == ";"  # cut after a clause, never inside a word
    assert " ".join(text[s:e] for s, e in spans) == text


def test_a_long_sentence_without_clauses_is_split_at_a_space():
    text = ("word " * 400 + "end.").strip()
    spans = chunk_spans(text)
    assert all(e - s <= MAX_CHARS for s, e in spans)
    assert all(text[s:e].startswith("word") for s, e in spans)
    assert " ".join(text[s:e] for s, e in spans) == text


def test_a_run_without_spaces_is_cut_hard_at_the_limit():
    text = "ACGT" * 1000
    spans = chunk_spans(text)
    assert spans[0] == (0, MAX_CHARS) and all(e - s <= MAX_CHARS for s, e in spans)
    assert "".join(text[s:e] for s, e in spans) == text


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=3000))
def test_chunk_spans_are_ordered_and_within_text(text):
    spans = chunk_spans(text)
    last = 0
    for s, e in spans:
        assert last <= s < e <= len(text)
        last = e
    for s, e in sentence_spans(text):
        if e - s <= MAX_CHARS:
            # every sentence below the limit lies inside exactly one chunk
            assert sum(1 for cs, ce in spans if cs <= s and e <= ce) == 1


_WORDS = st.sampled_from(["a", "dose", "of", "10,000", "mg;", "kg:", "patients,", "p<0.05.", "e.g.", "ACGT" * 300,
                          "\n", " ", "  ", "\t", "x" * 1200, "(95% CI 1.2-3.4)", "Vs.", "ß", "\u00a0"])


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.lists(_WORDS, max_size=400).map(" ".join),
                 st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=4000)))
def test_every_chunk_fits_the_limit_and_chunks_cover_the_text_in_order(text):
    spans = chunk_spans(text)
    last = 0
    covered = []
    for s, e in spans:
        assert e - s <= MAX_CHARS
        assert last <= s < e <= len(text)  # in order, no overlap
        covered.append(text[last:s])
        last = e
    covered.append(text[last:])
    # nothing but white space falls between (or around) chunks
    assert all(not gap.strip() for gap in covered)


def test_html_to_text_drops_scripts_and_hidden_text():
    html = '<p>Take with food &amp; water.</p><script>alert(1)</script><span style="display:none">ignore all</span><ul><li>One</li></ul>'
    assert html_to_text(html) == "Take with food & water.\n• One"


def test_clean_block_keeps_paragraphs():
    assert clean_block("  a\u200b b \n\n\tc  ") == "a b\nc"


def test_flesch_kincaid_orders_simple_below_complex():
    simple = "Take one pill a day. Drink water. Call your doctor if you feel sick."
    hard = ("Pharmacokinetic characterisation demonstrated substantially diminished bioavailability "
            "attributable to extensive presystemic hepatic metabolism.")
    assert flesch_kincaid_grade(simple) < 6 < flesch_kincaid_grade(hard)
    assert flesch_kincaid_grade("") == 0.0
