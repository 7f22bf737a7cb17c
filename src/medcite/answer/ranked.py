"""The model composer: the answer model ranks the corpus's sentences; a few named rules arrange them.

1. Candidates: the quotable sentences of the retrieved passages (``sentences.quotable``), the ones that
   share the most question words (or whose document's title does) first, at most ``candidates`` of them.
2. The answer model (``medcite.answer.model``) gives each the calibrated probability that it answers the
   question, seeing the sentence with its heading and document title.
3. The kind of question (``qtypes``) decides which sections answer it: a sentence from such a section
   (a label's CONTRAINDICATIONS for "can he take …", a patient page written for "What are the symptoms …")
   gets ``type_bonus``; the reader's audience adds a small preference for the kinds of source it reads.
   What the asked-for fact looks like (``qtypes.answer_shapes``: a dose for "what dose", an age for "at what
   age", a drug name for "which drugs") is one more feature: the sentence has that shape or not.
4. Answerability: when no candidate reaches ``answer_prob`` the answer is "insufficient evidence" and the
   closest documents become related reading. A question word that no document of the corpus uses (a drug
   it lacks) makes the question unanswerable before any model runs.
5. Arrangement: the best sentence is the bottom line (with a second from another document when nearly as
   good; a question that names a population is opened only by a sentence whose text, heading or title
   names it too); the rest above ``section_prob`` fill Recommendations / the evidence / Cautions, without
   near-duplicates, at most ``max_per_doc`` per document, never scoped to another population than asked.

Deterministic: the same corpus, model and question give the same answer.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Sequence

from medcite.answer.concepts import CONVERSATIONAL, EVERYDAY_ZIPF, missing_words
from medcite.answer.extractive import BOTTOM, Composition, Scored
from medcite.answer.grading import guideline_grade, infer_kind
from medcite.answer.model import AnswerModel
from medcite.answer.pairs import candidate_text
from medcite.answer.qtypes import answer_shapes, question_types, section_answers, shape_feature
from medcite.answer.sentences import (
    _AIM,
    _CAUTION,
    _RECOMMEND,
    _SKIP_HEADINGS,
    other_population,
    populations,
    quotable_sentences,
)
from medcite.domain import Hit
from medcite.index.terms import tokenize
from medcite.text import flesch_kincaid_grade, stem


@dataclass(frozen=True)
class RankedConfig:
    #: retrieved passages whose sentences are candidates
    passages: int = 40
    #: sentences the model scores per question (the cost of an answer)
    candidates: int = 32
    #: the best candidate's probability must reach this, or the answer is "insufficient evidence"
    #: (chosen on the development questions: docs/composer.md)
    answer_prob: float = 0.5
    #: other sentences quoted in sections need this probability
    section_prob: float = 0.4
    #: a second bottom-line sentence needs this share of the first one's score
    second_bottom: float = 0.9
    #: patient mode: reading grades above this (at most 4) are the combiner's "reading" feature
    patient_grade: float = 9.0
    #: named rules, each switchable for the ablation table in docs/composer.md
    question_types: bool = True     # sections that answer the kind of question asked (feature + fetched sections)
    missing_check: bool = True      # a word the corpus never uses makes the question unanswerable
    population_check: bool = True   # never quote a sentence scoped to another population than asked
    answer_shapes: bool = True      # a dose, age, time, interval, drug or rate where the question asks for one
    max_bottom: int = 2
    max_recommendations: int = 4
    max_evidence: int = 5
    max_cautions: int = 3
    max_per_doc: int = 3
    duplicate_jaccard: float = 0.55
    keep_ranked: int = 25


_KIND_PRIOR = {
    "clinician": {"guideline": 1.0, "systematic_review": 0.9, "drug_label": 0.9, "randomized_trial": 0.7,
                  "observational": 0.5, "review": 0.5, "patient_info": 0.5, "case_report": 0.2, "other": 0.3},
    "patient": {"patient_info": 1.0, "guideline": 0.7, "drug_label": 0.7, "systematic_review": 0.5,
                "review": 0.4, "randomized_trial": 0.4, "observational": 0.3, "case_report": 0.1, "other": 0.2},
}


#: what the combiner weighs, per candidate sentence (``Combiner``)
FEATURES = ("model", "cover", "context", "typed", "source", "standalone", "rank", "shape", "reading")


@dataclass(frozen=True)
class Combiner:
    """Logistic regression over ``FEATURES``: the probability that a candidate states the asked-for fact.

    Fitted on medcite's development questions by tools/answer_model/fit_combiner.py (weights in
    answer-model.json); the default below is the model's probability with small fixed bonuses.
    """

    weights: tuple[float, ...] = (1.0, 0.5, 0.3, 0.6, 0.4, -2.0, 0.3, 0.5, -0.1)
    bias: float = -0.9

    def logit(self, feats: Sequence[float]) -> float:
        return self.bias + sum(w * f for w, f in zip(self.weights, feats))

    @classmethod
    def from_meta(cls, meta: dict[str, Any]) -> "Combiner | None":
        c = meta.get("combiner") or {}
        if list(c.get("features") or []) != list(FEATURES):
            return None
        return cls(tuple(float(w) for w in c["weights"]), float(c["bias"]))


Candidate = tuple[Scored, str, tuple[float, ...]]  # a sentence, its text as the model reads it, its features


def _fewer(cands: list[Candidate], limit: int) -> list[Candidate]:
    """``limit`` of the candidates (in their order): up to half of them from the sections that answer the kind of
    question asked (a label's ADVERSE REACTIONS for "what are the side effects of …"), the rest by word cover.
    Word cover alone would fill the places with sentences that repeat the question's words — trial results
    naming atorvastatin — and leave out the label section that lists its side effects."""
    typed = [i for i, (_, _, feats) in enumerate(cands) if feats[3]][: limit // 2]
    taken = set(typed)
    rest = [i for i in range(len(cands)) if i not in taken][: limit - len(typed)]
    return [cands[i] for i in sorted(typed + rest)]


class ModelComposer:
    name = "model"

    def __init__(self, model: AnswerModel, config: RankedConfig | None = None, combiner: Combiner | None = None,
                 trace: Callable[[str, list[Scored], list[tuple[float, ...]]], None] | None = None,
                 drug_words: Callable[[], frozenset[str]] | None = None) -> None:
        self.model = model
        self.drug_words = drug_words  # the words of drug names, for "which drugs …" questions (answer shapes)
        self.config = config or RankedConfig()
        self.combiner = combiner or Combiner()
        self.trace = trace  # sees every question's candidates and features (for fitting the combiner)

    def select(self, question: str, terms: Sequence[str], hits: Sequence[Hit], doc_meta: dict[str, Any],
               idf: Callable[[str], float], audience: str = "clinician",
               df: Callable[[str], int] | None = None, expansions: Iterable[Any] = (),
               candidates: int | None = None) -> Composition:
        """The answer to ``question`` from ``hits``: the best ``candidates`` sentences (default
        ``RankedConfig.candidates``) scored by the model and the combiner, or "insufficient evidence"."""
        cfg = self.config
        limit = candidates or cfg.candidates
        expansions = list(expansions)
        content = [t for t in dict.fromkeys(terms) if len(t) > 2 and t not in CONVERSATIONAL]
        if df is not None and cfg.missing_check:
            missing = missing_words(content, df, expansions, everyday_zipf=EVERYDAY_ZIPF)
            if missing:
                return Composition(missing_terms=missing)
        weights = {stem(t): min(idf(t), 8.0) for t in content}
        total = sum(weights.values()) or 1.0
        # a question word also counts as said in its expansions' words ("atorvastatin" → "Lipitor")
        alts: dict[str, list[frozenset[str]]] = {}
        for ex in expansions:
            src = [stem(w) for w in tokenize(getattr(ex, "source", "") or "")]
            tgt = frozenset(stem(w) for w in tokenize(getattr(ex, "target", "") or "") if len(w) > 2)
            for w in src:
                if w in weights and tgt:
                    alts.setdefault(w, []).append(tgt)

        def said(words: set[str]) -> float:
            return sum(w for s, w in weights.items() if s in words or any(t <= words for t in alts.get(s, ())))
        types = question_types(question) if cfg.question_types else ()
        shapes = answer_shapes(question) if cfg.answer_shapes else ()
        drugs = self.drug_words() if "drug" in shapes and self.drug_words is not None else frozenset()
        priors = _KIND_PRIOR["patient" if audience == "patient" else "clinician"]
        asked_pop = populations(question)
        asked_stems = set(weights)

        pool: list[tuple[float, Scored, str]] = []
        # (key passages fetched for a top document carry its rank: they compete with it, not after the list)
        for hit in sorted(hits, key=lambda h: h.rank)[: cfg.passages]:
            if _SKIP_HEADINGS.search(hit.heading or ""):
                continue
            meta = doc_meta.get(hit.doc_id, {})
            kind = infer_kind(hit.kind, hit.title, meta.get("publication_types", ()))
            ctx = {stem(w) for w in tokenize(f"{hit.title} {hit.heading}")}
            ctx_cover = said(ctx) / total
            typed = section_answers(types, hit.heading, hit.title, kind)
            # a patient page's title and heading are its own question: the model reads its sentences alone
            shown = ("", "") if kind == "patient_info" else (hit.heading, hit.title)
            for text, penalty in quotable_sentences(hit.text, hit.title or ""):
                words = {stem(w) for w in tokenize(text)}
                cover = said(words) / total
                if cover <= 0 and not (ctx_cover > 0 and typed):
                    continue
                if _AIM.search(text) or (cfg.population_check and other_population(asked_pop, populations(text))):
                    continue
                rank = 1.0 / (1 + (hit.rank - 1) / 5)
                pre = cover + 0.5 * ctx_cover + 0.3 * typed + 0.2 * rank
                x = Scored(text=text, passage_id=hit.passage_id, doc_id=hit.doc_id, kind=kind, heading=hit.heading,
                           rank=hit.rank, cover=round(cover, 4), score=0.0, focus=True, tokens=frozenset(words),
                           recommend=bool(_RECOMMEND.search(text)) and kind in ("guideline", "drug_label", "patient_info"),
                           caution=any(stem(m.group(0).split()[-1]) not in asked_stems for m in _CAUTION.finditer(text)),
                           # (a grade belongs to the recommendation that states it, not to every sentence)
                           grade=guideline_grade(text) if kind == "guideline" else None,
                           full_cover=round(cover, 4), ease=penalty)
                x.section = "typed" if typed else ""
                # a question about a population (pregnancy, children …) is answered only by a sentence whose
                # text, heading or title names it: "ibuprofen increases blood loss in hip surgery" never
                # opens an answer to "is ibuprofen safe in pregnancy?"
                x.can_lead = not asked_pop or bool(asked_pop & populations(f"{text} {hit.heading} {hit.title}"))
                feats = (0.0, cover, ctx_cover, float(typed), priors.get(kind, 0.3), penalty, rank,
                         shape_feature(shapes, text, drugs), 0.0)
                pool.append((pre, x, candidate_text(text, *shown), feats))
        pool.sort(key=lambda t: (-t[0], t[1].rank, t[1].passage_id, t[1].text))
        seen: set[tuple[str, str]] = set()
        cands: list[tuple[Scored, str, tuple[float, ...]]] = []
        for _, x, shown, feats in pool:
            if (x.doc_id, x.text) not in seen:
                seen.add((x.doc_id, x.text))
                cands.append((x, shown, feats))
            if len(cands) >= cfg.candidates:
                break
        if limit < len(cands):
            cands = _fewer(cands, limit)
        comp = Composition()
        if not cands:
            return comp
        logits = self.model.calibrated_logits(question, [shown for _, shown, _ in cands])
        scored, rows = [], []
        for (x, _, feats), lg in zip(cands, logits):
            reading = 0.0
            if audience == "patient":
                x.reading = flesch_kincaid_grade(x.text)
                reading = min(4.0, max(0.0, x.reading - cfg.patient_grade))
            f = (float(lg),) + feats[1:-1] + (reading,)
            z = self.combiner.logit(f)
            x.score = round(1.0 / (1.0 + math.exp(-z)), 6)   # the combined probability: ranks and decides
            x.cover = round(1.0 / (1.0 + math.exp(-float(lg))), 4)  # the model's own probability
            x.section = ""
            scored.append(x)
            rows.append(f)
        if self.trace is not None:
            self.trace(question, scored, rows)
        scored.sort(key=lambda x: (-x.score, x.rank, x.passage_id, x.text))
        comp.ranked = scored[: cfg.keep_ranked]
        comp.best_cover = max((x.score for x in scored if x.can_lead), default=0.0)
        comp.best_passage_cover = max(x.cover for x in scored)
        if comp.best_cover < cfg.answer_prob:
            return comp
        self._arrange(comp, scored)
        return comp

    def _arrange(self, comp: Composition, scored: list[Scored]) -> None:
        cfg = self.config
        chosen: list[Scored] = []
        per_doc: dict[str, int] = {}

        def take(x: Scored, section: str) -> bool:
            if per_doc.get(x.doc_id, 0) >= cfg.max_per_doc:
                return False
            for y in chosen:
                if x.text in y.text or y.text in x.text:
                    return False
                if len(x.tokens & y.tokens) / max(1, len(x.tokens | y.tokens)) >= cfg.duplicate_jaccard:
                    return False
            x.section = section
            chosen.append(x)
            per_doc[x.doc_id] = per_doc.get(x.doc_id, 0) + 1
            return True

        lead = [x for x in scored if x.score >= cfg.answer_prob and x.can_lead]
        take(lead[0], BOTTOM)
        comp.bottom.append(lead[0])
        for x in lead[1:]:
            if len(comp.bottom) >= cfg.max_bottom:
                break
            if x.score >= cfg.second_bottom * comp.bottom[0].score:
                if take(x, BOTTOM):
                    comp.bottom.append(x)
        for x in scored:
            if x in chosen or x.score < cfg.section_prob:
                continue
            if x.caution and len(comp.cautions) < cfg.max_cautions:
                if take(x, "Cautions"):
                    comp.cautions.append(x)
            elif x.recommend and len(comp.recommendations) < cfg.max_recommendations:
                if take(x, "Recommendations"):
                    comp.recommendations.append(x)
            elif len(comp.evidence) < cfg.max_evidence and not x.caution and not x.recommend:
                if take(x, "What the evidence says"):
                    comp.evidence.append(x)


__all__ = ["ModelComposer", "RankedConfig", "missing_words"]
