"""The extractive composer: an answer made only of verbatim, cited sentences of the corpus.

No LLM, no network. It scores every sentence of the retrieved passages for how well it answers the
question, drops near-duplicates and sentences that cannot stand alone, then arranges the rest:
bottom line (strongest guideline / systematic-review statement first), recommendations, the
evidence grouped by level, cautions, and the quality of evidence. Deterministic: the same corpus
and question give the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterable, Sequence

from medcite import regexcache
from medcite.answer.concepts import (
    CONTEXT_SHARE,
    CONTEXT_WEIGHT,
    CONVERSATIONAL,
    CTX_CREDIT,
    FOCUS_BAND,
    IDF_CAP,
    _PREFIX_MARK,
    Concept,
    _interrogative_head,
    _value_cue_map,
    aspect_weighted,
    build_concepts,
    missing_words,
    concept_present,
    question_parts,
    sentence_tokens,
    with_prefixes,
    word_rarity,
)
from medcite.answer.grading import guideline_grade, infer_kind, level_for
from medcite.answer.sentences import (
    _AIM,
    _BASELINE,
    _BULLET,
    _CAUTION,
    _CONCLUDE,
    _FINDING,
    _GRADED,
    _OTHERS,
    _PRIMARY,
    _QUANT,
    _RECOMMEND,
    _RESULT_HEADING,
    _SKIP_HEADINGS,
    _TRAILING_GRADE,
    _acronym,
    _standalone_penalty,
    _uses,
    defined_abbreviations,
    leading_clauses,
    other_population,
    populations,
    strip_glued_heading,
)
from medcite.answer.safety import flagged_spans
from medcite.domain import KIND_LABELS, DocKind, Hit
from medcite.text import flesch_kincaid_grade, sentence_spans, stem

BOTTOM = "Bottom line"


@dataclass
class Scored:
    text: str
    passage_id: str
    doc_id: str
    kind: str
    heading: str
    rank: int
    cover: float
    score: float
    focus: bool
    tokens: frozenset[str]
    caution: bool = False
    recommend: bool = False
    grade: str | None = None
    section: str = ""
    can_lead: bool = True   # may open the answer: from a document about the focus, missing ≤ 1 specific word
    hard: bool = False      # patient mode: above the hard reading-grade limit
    ease: float = 0.0       # patient mode: the part of the penalty that is for reading difficulty
    full_cover: float = -1.0  # cover of the whole question (``cover`` may be a part's; see question_parts)
    says: bool = True       # names a question word itself; else only its document's title does (lead detail only)
    reading: float = 0.0    # patient mode: its Flesch–Kincaid grade


@dataclass
class Composition:
    """What the composer decided, before it becomes an Answer object (the service adds the rest)."""

    bottom: list[Scored] = field(default_factory=list)
    recommendations: list[Scored] = field(default_factory=list)
    evidence: list[Scored] = field(default_factory=list)
    cautions: list[Scored] = field(default_factory=list)
    best_cover: float = 0.0
    best_passage_cover: float = 0.0
    concepts: list[Concept] = field(default_factory=list)
    missing_terms: list[str] = field(default_factory=list)
    #: drugs the question names that no document behind the bottom line names (medcite.answer.drugs)
    unnamed_drugs: list[str] = field(default_factory=list)
    ranked: list[Scored] = field(default_factory=list)   # best candidates, for explanations

    @property
    def chosen(self) -> list[Scored]:
        return self.bottom + self.recommendations + self.evidence + self.cautions


@dataclass(frozen=True)
class ComposerConfig:
    #: a sentence must cover this share of the question's (idf-weighted) content to be cited at all
    min_cover: float = 0.35
    #: some passage (with its title) must cover this share and mention the question's focus, and the
    #: best sentence must reach ``answer_cover``, or the answer is "insufficient evidence"
    #: (tuned on the development questions, docs/evaluation.md)
    passage_cover: float = 0.45
    answer_cover: float = 0.35
    max_bottom: int = 2
    #: never quote a sentence scoped to another population than the question names (pregnancy, children, …)
    population_check: bool = True
    #: sentences below this score never fill a section (they stay in the passages for related reading)
    min_section_score: float = 0.45
    max_recommendations: int = 4
    max_evidence: int = 6
    max_cautions: int = 3
    max_per_doc: int = 3
    #: a guideline or label states several decision points (ages, grades, doses): keep more of them
    max_per_guideline: int = 4
    passages: int = 90
    duplicate_jaccard: float = 0.55
    patient_max_grade: float = 8.0
    #: patient mode quotes at most ``patient_max_hard`` sentences above this reading grade, scored
    #: ``hard_penalty`` lower, and (``hard_bottom_only``) only as the bottom line
    patient_hard_limit: float = 16.0
    patient_max_hard: int = 1
    #: patient mode: the lead document's further sentences are quoted up to this reading grade
    patient_lead_grade: float = 10.0
    #: patient mode: easy sentences from patient pages about the focus added to a short answer (see
    #: ``_plain_background``), while it has fewer than ``patient_min_statements`` sentences
    patient_background: int = 3
    patient_min_statements: int = 5
    patient_background_score: float = 0.0
    patient_background_cover: float = 0.3
    #: patient mode: score lost per reading grade above ``patient_max_grade``
    grade_penalty: float = 0.1
    hard_penalty: float = 0.1
    hard_bottom_only: bool = True
    #: share of a sentence's reading-difficulty penalty forgiven when it competes for the bottom line
    bottom_relief: float = 1.0
    #: how many of the best candidates the composition keeps (for explanations and diagnostics)
    keep_ranked: int = 25
    #: bonus for a sentence that states the kind of value the question asks for
    value_cue: float = 0.12
    #: once the answer's lead document is clear, up to this many of its sentences are quoted in all
    #: (a study's results and conclusions; a guideline's or label's decision points)
    max_lead: int = 7
    #: a lead-document sentence must reach this score (and report a finding or a recommendation)
    min_lead_score: float = 0.3
    #: … and cover this share of the question (its title supplies the rest)
    min_lead_cover: float = 0.2
    #: a passage covering this share of the question may open the answer even when its title does not
    #: name the question's focus
    lead_passage_cover: float = 0.7
    #: a question word at least this common in everyday English (Zipf frequency) that no retrieved
    #: passage contains is dropped from the question (None: keep every word)
    everyday_absent_zipf: float | None = 3.5
    #: … as long as the dropped words weigh at most this share of the question
    everyday_max_share: float = 0.34
    #: a word in at most this many documents names something the corpus lacks; it never leaves the question
    unseen_df: int = 2
    absent_cap: bool = True
    #: meaning-based cover (when a similarity model is given): cosine similarity at or below
    #: ``sem_floor`` adds nothing, at ``sem_full`` counts as full cover; ``sem_weight`` is the score per
    #: unit of cover gained; sentences with ``sem_focus`` similarity count as about the focus
    sem_floor: float = 0.35
    sem_full: float = 0.8
    sem_weight: float = 0.3
    sem_focus: float = 0.6
    #: word cover a sentence needs to be embedded at all, and how many candidates are embedded
    sem_min_cover: float = 0.1
    sem_candidates: int = 40
    #: a sentence that covers one part of a compound question counts this share of that part's cover
    #: (0: parts are not considered); whether to answer at all is still decided on the whole question
    part_credit: float = 1.0
    #: … and one that covers this share of a part is about the question even without its focus word
    part_focus: float = 0.5
    #: a document whose title (and heading) covers this share of the question is about it (see select)
    about_title_cover: float = 0.5
    #: … among the passages retrieved up to this rank (its other sentences cost time and rarely answer)
    about_rank: int = 20
    #: bonus, within the lead study, for a sentence that reports measured results (percentages, p, CI)
    quant_bonus: float = 0.15


#: ``patient_reading = "strict"``: reading level before completeness (docs/evaluation.md has both)
STRICT_READING = {"grade_penalty": 0.2, "patient_hard_limit": 12.0, "bottom_relief": 0.0, "patient_max_hard": 0}


_KIND_PRIOR = {
    "clinician": {"guideline": 1.0, "systematic_review": 0.95, "randomized_trial": 0.8, "observational": 0.55,
                  "drug_label": 0.7, "review": 0.5, "patient_info": 0.45, "case_report": 0.3, "other": 0.4},
    "patient": {"patient_info": 1.0, "guideline": 0.7, "drug_label": 0.55, "systematic_review": 0.5,
                "review": 0.45, "randomized_trial": 0.4, "observational": 0.35, "case_report": 0.2, "other": 0.3},
}



class ExtractiveComposer:
    name = "extractive"

    def __init__(self, config: ComposerConfig | None = None) -> None:
        self.config = config or ComposerConfig()

    def select(
        self,
        question_terms: Sequence[str],
        expansions: Iterable[Any],
        hits: Sequence[Hit],
        doc_meta: dict[str, Any],
        idf: Callable[[str], float],
        audience: str = "clinician",
        df: Callable[[str], int] | None = None,
        emphasis: Sequence[str] = (),
        question: str = "",
        emphasis_needs_topic: bool = False,
        similarity: Callable[[list[str]], Any] | None = None,
    ) -> Composition:
        """Score and pick sentences; an empty composition means "insufficient evidence".

        Relevance is the idf-weighted share of the question's concepts a sentence mentions; a concept
        named only in its document's title or section heading counts half. A question word that no
        passage of the corpus contains (a drug the corpus never mentions, a typo) makes the question
        unanswerable from this corpus: no loosely related text is passed off as an answer.
        """
        cfg = self.config
        coverable = [t for t in question_terms
                     if not any(ch.isdigit() for ch in t) and t not in CONVERSATIONAL and len(t) > 2]
        if df is not None:
            # words that name the kind of answer ("pills", "dosage") are not the topic, and a word the corpus never
            # uses still counts as said when the corpus uses every word of what it is expanded to (missing_words)
            expansions = list(expansions)
            comp_missing = missing_words(coverable, df, expansions)
            if comp_missing:
                return Composition(missing_terms=comp_missing)
        capped = lambda t: min(idf(t), IDF_CAP)  # noqa: E731 — one very rare word must not outweigh the rest
        concepts = aspect_weighted(build_concepts(coverable, expansions, capped), hits[:10])
        if emphasis and (not emphasis_needs_topic or any(c.topic for c in concepts)):
            # in "My husband snores loudly … How is sleep apnea treated?" the last sentence is the question;
            # words only in the sentences before it are context and weigh less. When the question sentence
            # points back ("… The dentist called it geographic tongue. Does it need treatment?") that holds
            # only if the topic is clear from the titles found (the topic always keeps its weight).
            asked = {stem(t) for t in emphasis}
            core_w = sum(c.idf for c in concepts if stem(c.term) in asked or c.topic)
            ctx_w = sum(c.idf for c in concepts if not (stem(c.term) in asked or c.topic)) * CONTEXT_WEIGHT
            # however long the description, together its words weigh at most CONTEXT_SHARE of the question
            limit = core_w * CONTEXT_SHARE / (1.0 - CONTEXT_SHARE)
            factor = CONTEXT_WEIGHT * (min(1.0, limit / ctx_w) if ctx_w > 0 and core_w > 0 else 1.0)
            concepts = [c if stem(c.term) in asked or c.topic
                        else replace(c, idf=c.idf * factor) for c in concepts]
        if concepts and (cfg.everyday_absent_zipf is not None or cfg.absent_cap):
            seen: set[str] = set()
            for hit in hits[: cfg.passages]:
                # (the same two token sets the scoring loop below uses: computed once, cached)
                seen |= with_prefixes(sentence_tokens(hit.text)) | with_prefixes(sentence_tokens(f"{hit.title} {hit.heading}"))
            seen_f = frozenset(seen)
            if cfg.everyday_absent_zipf is not None:
                # an everyday word that no retrieved passage uses ("I want kids someday … what can I do
                # beforehand?") is how the asker talks, not what the evidence must say: it leaves the
                # question. A specialised word (a drug, a disease) that nothing retrieved mentions stays,
                # so the question still cannot be answered from loosely related text; so does a word naming
                # the kind of answer wanted ("How is stroke treated?" needs a treatment, not any sentence
                # on stroke); so does a word the corpus has (almost) never seen: "How do I reset my Wi-Fi
                # router?" is not about Wi-Fi alone.
                everyday = 8.0 - cfg.everyday_absent_zipf
                kept = [c for c in concepts
                        if c.asks or concept_present(c, seen_f) or word_rarity(c.term) > everyday
                        or (df is not None and df(c.term) <= cfg.unseen_df)]
                dropped = sum(c.idf for c in concepts) - sum(c.idf for c in kept)
                if (0 < dropped <= cfg.everyday_max_share * sum(c.idf for c in concepts)
                        and sum(1 for c in kept if not c.asks) >= 2):
                    concepts = kept
            if cfg.absent_cap:
                # a rarer word that nothing retrieved says still counts against every candidate, but no
                # more than a typical word of the question does (its corpus idf is high *because* it is rare)
                present_w = sorted(c.idf for c in concepts if concept_present(c, seen_f))
                if present_w:
                    typical = present_w[len(present_w) // 2]
                    concepts = [c if c.asks or concept_present(c, seen_f) or c.idf <= typical
                                else replace(c, idf=typical) for c in concepts]
        comp = Composition(concepts=concepts)
        total_idf = sum(c.idf for c in concepts)
        if not concepts or total_idf <= 0:
            return comp
        # the focus is the most specific word of the topic (or of the question when no topic is clear);
        # every cited sentence must mention it (in the sentence or its document's title/heading)
        topic = [c for c in concepts if c.topic]
        pool = topic or [c for c in concepts if not c.asks] or concepts
        if topic:
            focus = max(pool, key=lambda c: (c.idf, c.term))
            foci = [focus]
        else:
            # without a clear topic, corpus idf alone cannot tell "pinworms" from "family" ("My son has
            # pinworms … does the rest of the family need treatment?") or "common" from "blindness": how
            # rare a word is in everyday English decides; every word about as rare as the rarest is a focus
            rarity = {c.term: word_rarity(c.term) for c in pool}
            focus = max(pool, key=lambda c: (rarity[c.term], c.idf, c.term))
            foci = [c for c in pool if rarity[c.term] >= rarity[focus.term] - FOCUS_BAND]
        focus_terms = {c.term for c in foci}
        # a compound question ("What regimen …, and how often …?"): each part with the words all parts share
        # (the topic, the context) is a question of its own; a sentence may answer one part
        part_defs: list[tuple[list[Concept], float, frozenset[str]]] = []
        parts = question_parts(question) if cfg.part_credit > 0 else []
        if parts:
            owner = {c.term: [i for i, p in enumerate(parts) if stem(c.term) in p] for c in concepts}
            shared = [c for c in concepts if c.topic or not owner[c.term]]
            for i in range(len(parts)):
                own = [c for c in concepts if i in owner[c.term] and not c.topic]
                # the words a sentence must say to answer this part: its own words, not counting a word that
                # only names the kind of answer when there are others ("Will treatment affect that?" needs
                # "affect"; "Can I pass it on?" needs "pass" or an inheritance word)
                core = frozenset(c.term for c in own if not c.asks) or frozenset(c.term for c in own)
                if core:
                    cs = own + shared
                    part_defs.append((cs, sum(c.idf for c in cs), core))
            if len(part_defs) < 2:
                part_defs = []
        # a bottom line must come from a document about the focus (named in its title or heading) and,
        # when the question names the kind of answer it wants ("treatment", "dose", "symptoms"), must
        # speak of that kind: a screening recommendation does not answer "what is the treatment of …"
        head = _interrogative_head(question)
        asked_types = {c.term for c in concepts if c.asks and stem(c.term) in head}
        priors = _KIND_PRIOR["patient" if audience == "patient" else "clinician"]
        cue_map = _value_cue_map()
        value_cues = list(dict.fromkeys(cue_map[stem(c.term)] for c in concepts if stem(c.term) in cue_map))
        scored: list[Scored] = []
        best_passage = 0.0
        asked_stems = {stem(t) for t in question_terms}
        # cheap substring probes (the first 4 letters of every word of every concept's wordings)
        probes = {w.lstrip(_PREFIX_MARK)[:4] for c in concepts for alt in c.alternatives for w in alt}
        probes.discard("")
        # abbreviations each document defines (in any of its retrieved passages or its title)
        abbrevs: dict[str, dict[str, frozenset[str]]] = {}
        for hit in hits[: cfg.passages]:
            d = abbrevs.setdefault(hit.doc_id, {})
            for text in (hit.title or "", hit.text):
                for a, long in defined_abbreviations(text):
                    d.setdefault(a, long)
        for hit in hits[: cfg.passages]:
            meta = doc_meta.get(hit.doc_id, {})
            local = abbrevs.get(hit.doc_id) or {}
            kind = infer_kind(hit.kind, hit.title, meta.get("publication_types", ()))
            heading = (hit.heading or "").lower()
            if _SKIP_HEADINGS.search(heading):
                continue
            ctx = with_prefixes(sentence_tokens(f"{hit.title} {hit.heading}"))
            in_ctx = {c.term for c in concepts if concept_present(c, ctx)}
            src = with_prefixes(sentence_tokens(f"{hit.source} {_acronym(hit.source)}"))
            by_source = {c.term for c in concepts if concept_present(c, src)}
            title_cover = sum(c.idf for c in concepts if c.term in in_ctx) / total_idf
            passage_tokens = with_prefixes(sentence_tokens(hit.text)) | ctx
            passage_cover = sum(c.idf for c in concepts if concept_present(c, passage_tokens)) / total_idf
            # a passage that itself says most of a detailed question (≥ 3 of its own words, not just
            # the topic and "treated") may open the answer although its title names none of them
            says_it_all = (passage_cover >= cfg.lead_passage_cover and sum(
                1 for c in concepts if not c.asks and concept_present(c, passage_tokens)) >= 3)
            if any(concept_present(c, passage_tokens) for c in foci):
                best_passage = max(best_passage, passage_cover)
            # a document whose title names most of the question is about it: its sentences need not repeat the
            # question's words ("A retinal detachment is a medical emergency." on the retinal-detachment page;
            # "At 24 months, the survival rate … was 82%." in the pulpotomy trial). They stay candidates, with
            # the low cover their title gives them, for quoting more of the answer's lead document.
            about = title_cover >= cfg.about_title_cover and hit.rank <= cfg.about_rank
            spans = sentence_spans(hit.text)
            flagged = flagged_spans(hit.text)
            for i, (s, e) in enumerate(spans):
                if i + 1 < len(spans):
                    nxt = _TRAILING_GRADE.match(hit.text, spans[i + 1][0])
                    if nxt is not None and hit.text[e:spans[i + 1][0]].strip() == "":
                        e = nxt.end()  # the grade belongs to this sentence, not to the next one
                if any(a < e and s < b for a, b, _ in flagged):
                    continue  # an instruction to a model (or what one introduces) is never quoted
                raw = hit.text[s:e]
                lowered = raw.lower()
                if not about and not any(p in lowered for p in probes):
                    continue  # mentions no question word in any form: cannot be relevant
                sentence = strip_glued_heading(_BULLET.sub("", raw).strip(), hit.title or "")
                # the sentence and, for a lay reader, the independent clauses it opens with
                for text in [sentence] + (leading_clauses(sentence) if audience == "patient" else []):
                    # a label's pharmacologic-class index ("METHOXSALEN: Photoactivated Radical Generator [EPC];
                    # Psoralen [EPC] …") is a list, not prose, and is quoted as it stands
                    penalty = 0.0 if heading == "pharmacologic class" else _standalone_penalty(text)
                    if penalty is None:
                        continue
                    tokens = sentence_tokens(text)
                    if local:
                        tokens = tokens.union(*(long for a, long in local.items() if _uses(text, a)))
                    present = {c.term for c in concepts if concept_present(c, with_prefixes(tokens))}
                    says = bool(present - by_source)  # names a question word itself (not only its source)
                    if not says and not about:
                        continue  # only the source's own name ("The USPSTF recommends the service.")
                    present |= by_source
                    def said(cs: Iterable[Concept]) -> float:
                        return sum(c.idf * (1.0 if c.term in present else CTX_CREDIT if c.term in in_ctx else 0.0)
                                   for c in cs)

                    cover = full_cover = said(concepts) / total_idf
                    part = 0.0
                    if part_defs:
                        # (a part counts only for a sentence that says one of that part's own words)
                        part = max((said(cs) / max(w, 1e-9) for cs, w, core in part_defs if core & present),
                                   default=0.0)
                        cover = max(cover, cfg.part_credit * part)
                    if (cover < min(cfg.min_cover, cfg.min_lead_cover) and not about
                            and (similarity is None or cover < cfg.sem_min_cover)):
                        continue  # (with a similarity model, weaker wordings stay candidates: see below)
                    hard = False
                    ease = fk = 0.0
                    if audience == "patient":
                        fk = flesch_kincaid_grade(text)
                        # too hard for a lay reader: quoted only when nothing easier says it (see _pick)
                        hard = fk > cfg.patient_hard_limit
                        ease = (min(max(0.0, fk - cfg.patient_max_grade), cfg.patient_hard_limit - cfg.patient_max_grade)
                                * cfg.grade_penalty) + (cfg.hard_penalty if hard else 0.0)
                        penalty += ease
                    recommend = bool(_RECOMMEND.search(text)) and kind in ("guideline", "drug_label", "patient_info")
                    # a caution word the question itself uses ("… in pregnancy?") marks the topic, not a caution
                    caution = any(stem(m.group(0).split()[-1]) not in asked_stems for m in _CAUTION.finditer(text))
                    cue = 0.0
                    if recommend:
                        cue += 0.15
                    elif "recommendation" in heading:
                        cue += 0.05
                    if _GRADED.search(text):
                        cue += 0.1
                    if any(v.search(text) for v in value_cues):
                        cue += cfg.value_cue  # states the kind of value asked for (an age, a dose, an interval)
                    if "conclusion" in heading or _CONCLUDE.search(text):
                        cue += 0.08
                    if len(text) > 250 and not (recommend and _GRADED.search(text)):
                        penalty += 0.1
                    if "method" in heading or "design" in heading or "participants" in heading:
                        penalty += 0.3
                    elif "background" in heading or "introduction" in heading:
                        penalty += 0.05
                    rank_score = 1.0 / (1.0 + (hit.rank - 1) / 4.0)
                    score = (0.6 * cover + 0.1 * rank_score + 0.15 * priors.get(kind, 0.3) + 0.2 * title_cover
                             + cue - penalty)
                    scored.append(
                        Scored(
                            text=text, passage_id=hit.passage_id, doc_id=hit.doc_id, kind=kind, heading=hit.heading,
                            rank=hit.rank, cover=round(cover, 4), score=round(score, 6),
                            # (or answers most of one part of a compound question: "… and when are oral
                            # fluoride supplements indicated?" is not about the first part's varnish)
                            focus=bool(focus_terms & (present | in_ctx)) or part >= cfg.part_focus,
                            # from a document about the focus; or from a passage that itself says nearly all
                            # the question says ("sudden floaters, flashes, a curtain over the vision" → the
                            # retinal-detachment page, whose title names none of the asker's words)
                            can_lead=(bool(focus_terms & in_ctx)
                                      or (says_it_all and bool(focus_terms & present)))
                            and (not asked_types or bool(asked_types & (present | in_ctx))) and says,

                            tokens=tokens, caution=caution, recommend=recommend, hard=hard, ease=ease,
                            full_cover=round(full_cover, 4), says=says, reading=fk,
                            grade=guideline_grade(text, meta.get("metadata")) if kind == "guideline" else None,
                        )
                    )
        comp.best_passage_cover = round(best_passage, 4)
        if best_passage < cfg.passage_cover:
            return comp
        # whether to answer at all is decided on the question's own words (below); which sentences
        # answer it may also be judged by meaning ("malignancies" for "cancer", "halitosis" for "bad breath")
        comp.best_cover = max((x.full_cover for x in scored if x.focus and x.can_lead), default=0.0)
        if comp.best_cover < cfg.answer_cover:
            return comp
        if similarity is not None and scored:
            scored = self._by_meaning(scored, similarity)
        scored.sort(key=lambda x: (-x.score, x.rank, x.passage_id, x.text))
        comp.ranked = scored[: cfg.keep_ranked]

        chosen: list[Scored] = []
        per_doc: dict[str, int] = {}

        asked_for = populations(question)

        def take(x: Scored, section: str) -> bool:
            cap = cfg.max_per_guideline if x.kind in ("guideline", "drug_label") else cfg.max_per_doc
            if per_doc.get(x.doc_id, 0) >= cap:
                return False
            if cfg.population_check and other_population(asked_for, populations(x.text)):
                return False  # scoped to another population than the question asks about
            if x.hard and (sum(y.hard for y in chosen) >= cfg.patient_max_hard
                           or (cfg.hard_bottom_only and section != BOTTOM)):
                return False
            for y in chosen:
                if x.text in y.text or y.text in x.text:
                    return False
                inter = len(x.tokens & y.tokens)
                if (inter / max(1, len(x.tokens | y.tokens)) >= cfg.duplicate_jaccard
                        and (x.doc_id != y.doc_id or _values(x.text) == _values(y.text))):
                    # (one document's parallel statements for other ages, doses or grades — "12 to 18 years (B)"
                    # and "11 years or younger (I)" — say different things in the same words: both are kept;
                    # two documents' "1%" and "6%" without what each is about would only confuse)
                    return False
            x.section = section
            chosen.append(x)
            per_doc[x.doc_id] = per_doc.get(x.doc_id, 0) + 1
            return True

        strong = ("guideline", "systematic_review") if audience != "patient" else ("patient_info", "guideline")
        lead = [x for x in scored if x.focus and x.can_lead and x.cover >= cfg.answer_cover]
        readable = [x for x in lead if not x.hard]
        readable = readable or lead
        firsts = [x for x in readable if x.kind in strong] or readable
        if cfg.bottom_relief:
            # the bottom line is the direct answer: its reading difficulty weighs less than elsewhere
            firsts = sorted(firsts, key=lambda x: -(x.score + cfg.bottom_relief * x.ease))
        for x in firsts:
            if take(x, BOTTOM):
                comp.bottom.append(x)
                break
        if not comp.bottom:
            return comp  # nothing may open the answer: insufficient evidence
        for x in lead:
            if len(comp.bottom) >= cfg.max_bottom:
                break
            if x.doc_id != comp.bottom[0].doc_id and x.score >= 0.85 * comp.bottom[0].score and not x.caution:
                if take(x, BOTTOM):
                    comp.bottom.append(x)
        for x in scored:
            if x in chosen or x.score < cfg.min_section_score or x.cover < cfg.min_cover or not x.says:
                continue
            if (x.kind in _PRIMARY and _OTHERS.search(x.text)) or _AIM.search(x.text):
                continue  # a trial's account of another study is second-hand; what a study set out to do is no finding
            if x.caution and len(comp.cautions) < cfg.max_cautions and x.focus:
                if take(x, "Cautions"):
                    comp.cautions.append(x)
            elif not x.focus:
                continue
            elif x.recommend and len(comp.recommendations) < cfg.max_recommendations and x.cover >= cfg.answer_cover:
                if take(x, "Recommendations"):
                    comp.recommendations.append(x)
            elif len(comp.evidence) < cfg.max_evidence and x.cover >= cfg.answer_cover:
                if take(x, "What the evidence says"):
                    comp.evidence.append(x)
        self._expand_lead(comp, scored, chosen, per_doc, take, audience)
        if audience == "patient":
            self._plain_background(comp, scored, take)
        return comp

    def _plain_background(self, comp: Composition, scored: list[Scored], take: Callable[[Scored, str], bool]) -> None:
        """Patient mode: an answer of a few hard sentences gets easy ones from pages written for patients.

        A lay reader asking about a condition needs its plain description as much as the trial result or the
        guideline's wording; up to ``patient_background`` sentences at or below the target reading grade, from
        patient-information pages about the question's focus (named in their title), that cover more of the
        question than its topic (``patient_background_cover``), are added to "What we know" while the answer
        has fewer than ``patient_min_statements`` sentences.
        """
        cfg = self.config
        if not comp.bottom or cfg.patient_background <= 0:
            return
        added = 0
        for x in scored:
            if len(comp.chosen) >= cfg.patient_min_statements or added >= cfg.patient_background:
                break
            if (x in comp.chosen or x.kind != "patient_info" or not (x.focus and x.can_lead)
                    or x.cover < cfg.patient_background_cover or x.score < cfg.patient_background_score):
                continue
            if _AIM.search(x.text) or x.reading > cfg.patient_max_grade:
                continue
            if take(x, "What the evidence says"):
                comp.evidence.append(x)
                added += 1

    def _by_meaning(self, scored: list[Scored], similarity: Callable[[list[str]], Any]) -> list[Scored]:
        """Raise each candidate's cover to its meaning-based cover (embedding similarity to the question).

        The best ``sem_candidates`` candidates (by words and title) are embedded in one batch; cosine
        similarity s maps to a cover of (s − sem_floor) / (sem_full − sem_floor), clipped to [0, 1]. A
        sentence this close in meaning also counts as being about the question's focus. Sentences that
        stay below the usual word-cover floor are dropped, as before.
        """
        cfg = self.config
        floor = min(cfg.min_cover, cfg.min_lead_cover)
        pool = sorted(scored, key=lambda x: (-(x.cover + x.score), x.rank, x.passage_id, x.text))[: cfg.sem_candidates]
        sims = similarity([x.text for x in pool])
        span = max(1e-6, cfg.sem_full - cfg.sem_floor)
        for x, sim in zip(pool, sims):
            sem = min(1.0, max(0.0, (float(sim) - cfg.sem_floor) / span))
            if sem > x.cover:
                gain = sem - x.cover
                x.cover = round(sem, 4)
                x.score = round(x.score + cfg.sem_weight * gain, 6)
            if float(sim) >= cfg.sem_focus:
                x.focus = True
        return [x for x in scored if x.cover >= floor]

    def _expand_lead(self, comp: Composition, scored: list[Scored], chosen: list[Scored], per_doc: dict[str, int],
                     take: Callable[[Scored, str], bool], audience: str = "clinician") -> None:
        """Quote more of the document the bottom line comes from.

        When one document clearly answers the question (a trial of exactly this intervention, the
        guideline on exactly this decision), the facts sit in several of its sentences: the results
        and conclusions of a study, the ages, doses and intervals of a recommendation. Those sentences
        need not repeat the question's words (the title already does), so they are taken at a lower
        score than other documents' sentences, but only when they report a finding or a recommendation.
        """
        cfg = self.config
        if not comp.bottom:
            return
        lead = comp.bottom[0].doc_id
        cands = []
        for x in scored:
            if x.doc_id != lead or x in chosen or not x.focus or x.score < cfg.min_lead_score:
                continue
            heading = (x.heading or "").lower()
            if "method" in heading or "design" in heading or "participants" in heading or "setting" in heading:
                continue
            if audience == "patient" and x.reading > cfg.patient_lead_grade:
                continue  # extra detail for a lay reader only when it is easy to read
            if _AIM.search(x.text) or _BASELINE.search(x.text) or _OTHERS.search(x.text):
                continue  # aims, baseline tables and other studies are not what this study found
            finding = bool(_FINDING.search(x.text))
            if not (x.recommend or finding or _RESULT_HEADING.search(heading)):
                continue
            if not x.says and not (finding or _QUANT.search(x.text)) and x.kind in _PRIMARY:
                continue  # a study's sentence only its title ties to the question must report a result itself
            bonus = (0.15 if _RESULT_HEADING.search(heading) else 0.0) + (0.1 if finding else 0.0)
            if x.kind not in ("guideline", "drug_label", "patient_info") and _QUANT.search(x.text):
                bonus += cfg.quant_bonus  # a study's measured result, with its numbers
            cands.append((x.score + bonus, x))
        cands.sort(key=lambda t: (-t[0], t[1].rank, t[1].passage_id, t[1].text))
        for _, x in cands:
            if per_doc.get(lead, 0) >= cfg.max_lead:
                break
            per_doc_before = per_doc.get(lead, 0)
            per_doc[lead] = 0  # the lead document is allowed past the usual per-document cap
            section = "Recommendations" if x.recommend else "Cautions" if x.caution else "What the evidence says"
            ok = take(x, section)
            per_doc[lead] = per_doc_before + (1 if ok else 0)
            if ok:
                (comp.recommendations if x.recommend else comp.cautions if x.caution else comp.evidence).append(x)


_VALUE = regexcache.compile(r"\d+(?:\.\d+)?|\b[ABCDI](?= (?:recommendation|statement)\b)")


def _values(text: str) -> frozenset[str]:
    """The numbers and recommendation grades a sentence states."""
    return frozenset(_VALUE.findall(text))


def idf_from_counts(n_docs: int, df: int) -> float:
    return math.log(1 + (n_docs - df + 0.5) / (df + 0.5))


def kind_label(kind: str) -> str:
    try:
        return KIND_LABELS[DocKind(kind)]
    except ValueError:
        return "Other"


__all__ = ["ExtractiveComposer", "ComposerConfig", "Composition", "Scored", "BOTTOM", "STRICT_READING",
           "idf_from_counts", "kind_label", "level_for"]
