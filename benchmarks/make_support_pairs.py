"""Build tests/data/support_pairs.jsonl: labelled statement/passage pairs for the support checker.

Deterministic (seeded); reads real abstracts from the shared corpus:

* /work/shared/corpus/pubmedqa/pqal_abstracts.jsonl  (``abstract_sections[].text``)
* /work/shared/corpus/rct/pmc_rct_ccby.jsonl          (``abstract``; "LABEL:" prefixes dropped)

A *passage* is a run of consecutive abstract sentences of about 400–800 characters. From one of its
sentences (the *source*) a statement is made:

supported (label 1)
    ``verbatim``  the source sentence as is (at most a third of the positives);
    ``synonym``   one to three synonym swaps ("patients" → "participants", "showed" → "demonstrated");
    ``reorder``   a leading clause moved to the end ("In 40 patients, X …" → "X … in 40 patients");
    ``drop``      a parenthesis or a trailing subordinate clause dropped (plus a synonym swap when
                  possible).

unsupported (label 0)
    ``number``    one number of the source changed;
    ``negation``  a negation added or removed ("was associated" ↔ "was not associated");
    ``swap``      a salient term (intervention/outcome) replaced by one from a different abstract, or an
                  antonym flip ("increased" ↔ "decreased");
    ``other``     the sentence of a DIFFERENT, topically related abstract that overlaps the passage most.

Usage: ``python benchmarks/make_support_pairs.py [--n 240] [--out tests/data/support_pairs.jsonl]``
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _common import SHARED  # noqa: E402

from medcite.text import clean_text, split_sentences  # noqa: E402

SEED = 20240611

# synonym swaps used for paraphrase; several are deliberately NOT known to the checker's synonym table
SWAPS = [
    (r"\bpatients\b", "participants"), (r"\bshowed\b", "demonstrated"), (r"\bsignificantly\b", "markedly"),
    (r"\bcompared with\b", "versus"), (r"\bcompared to\b", "versus"), (r"\bassociated with\b", "linked to"),
    (r"\breduced\b", "lowered"), (r"\bincreased\b", "raised"), (r"\bhigher\b", "greater"),
    (r"\bevaluate\b", "assess"), (r"\bevaluated\b", "assessed"), (r"\bchildren\b", "paediatric patients"),
    (r"\btreatment\b", "therapy"), (r"\bfound\b", "observed"), (r"\bexamined\b", "investigated"),
    (r"\bapproximately\b", "about"), (r"\bhowever\b", "but"), (r"\brisk\b", "likelihood"),
    (r"\bcommon\b", "frequent"), (r"\bimportant\b", "key"), (r"\bdetermine\b", "establish"),
    (r"\bimproved\b", "enhanced"), (r"\bsuggest\b", "indicate"), (r"\bmethod\b", "approach"),
    (r"\bprevalence\b", "frequency"), (r"\bobtained\b", "collected"), (r"\bperformed\b", "carried out"),
    (r"\bamong\b", "in"), (r"\bwomen\b", "female patients"), (r"\bmen\b", "male patients"),
]

ANTONYMS = [("increased", "decreased"), ("higher", "lower"), ("improved", "worsened"), ("more", "less"),
            ("greater", "smaller"), ("reduced", "increased"), ("better", "worse"), ("decreased", "increased"),
            ("lower", "higher"), ("increase", "decrease"), ("reduction", "increase"), ("shorter", "longer"),
            ("longer", "shorter"), ("positive", "negative"), ("less", "more"), ("fewer", "more"),
            ("greater", "lower"), ("improvement", "deterioration"), ("benefit", "harm")]

_AUX_NEG = re.compile(r"\b(was|were|is|are|did|does|do|could|can|may|might|should|will|would|has|have|had)\b")
_EXISTING_NEG = [(r"\bwas not\b", "was"), (r"\bwere not\b", "were"), (r"\bdid not\b", "did"),
                 (r"\bis not\b", "is"), (r"\bare not\b", "are"), (r"\bno significant\b", "a significant"),
                 (r"\bnot\b ", ""), (r"\bwithout\b", "with"), (r"\bno\b", "a")]
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w])")
_BOILERPLATE = set("""study studies patients patient results group groups significant significantly method methods
    conclusion conclusions analysis treatment clinical compared between after before during years months
    weeks baseline primary secondary outcome outcomes control controls trial trials randomized randomised
    participants included however their there these those which whether other total higher lower using
    associated effect effects level levels increased reduced decreased intervention interventions subjects
    difference differences mean median score scores rates among within without about number""".split())
_STOP = set("the a an of in and or to with for on by at from as is was were are be been that this these those "
            "which who than then there their its it we our not no patients study results group groups".split())


def load_abstracts() -> list[dict]:
    out = []
    with (SHARED / "corpus" / "pubmedqa" / "pqal_abstracts.jsonl").open() as fh:
        for line in fh:
            rec = json.loads(line)
            text = " ".join(clean_text(s.get("text", "")) for s in rec.get("abstract_sections", []))
            out.append({"id": rec["id"], "text": text})
    with (SHARED / "corpus" / "rct" / "pmc_rct_ccby.jsonl").open() as fh:
        for line in fh:
            rec = json.loads(line)
            raw = rec.get("abstract") or ""
            raw = re.sub(r"(?m)^[A-Z][A-Z /&-]{2,40}:\s*", "", raw)
            out.append({"id": rec["id"], "text": clean_text(raw)})
    return [a for a in out if len(a["text"]) > 500]


def words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower()) if w not in _STOP}


def good_sentence(s: str) -> bool:
    n = len(s.split())
    return 9 <= n <= 45 and s[0].isupper() and s.endswith(".") and "?" not in s


def make_passage(rng: random.Random, text: str) -> tuple[str, list[str]] | None:
    sents = split_sentences(text)
    if len(sents) < 3:
        return None
    start = rng.randrange(0, max(1, len(sents) - 2))
    chosen: list[str] = []
    for s in sents[start:]:
        if len(" ".join(chosen + [s])) > 800 and len(" ".join(chosen)) >= 400:
            break
        chosen.append(s)
    passage = " ".join(chosen)
    if not 300 <= len(passage) <= 1000:
        return None
    return passage, chosen


# ------------------------------------------------------------------ positives


def synonym(rng: random.Random, s: str, k: int = 3) -> str | None:
    options = [(p, r) for p, r in SWAPS if re.search(p, s, flags=re.I)]
    if not options:
        return None
    rng.shuffle(options)
    for pat, rep in options[: rng.randint(1, k)]:
        s = re.sub(pat, lambda m, rep=rep: rep.capitalize() if m.group(0)[0].isupper() else rep, s, count=1,
                   flags=re.I)
    return s


def reorder(rng: random.Random, s: str) -> str | None:
    m = re.match(r"^((?:In|Among|After|During|For|At|Within|Compared with|Compared to)\b[^,]{3,80}),\s+(.+?)\.$", s)
    if not m:
        return None
    head, rest = m.group(1), m.group(2)
    if re.match(r"(?i)in (fact|addition|conclusion|summary|contrast|particular|general|brief|total)\b", head):
        return None
    head = head[0].lower() + head[1:]
    return f"{rest[0].upper()}{rest[1:]} {head}."


def drop_clause(rng: random.Random, s: str) -> str | None:
    out = re.sub(r"\s*\([^()]{2,80}\)", "", s)
    if out == s:
        out = re.sub(r",\s+(?:which|although|while|whereas|but|as|because)\b[^,]{5,120}(?=[.,])", "", s, count=1)
    if out == s or len(out.split()) < 7:
        return None
    return out


# ------------------------------------------------------------------ negatives


def change_number(rng: random.Random, s: str) -> str | None:
    nums = [m for m in _NUMBER.finditer(s)]
    # avoid years and list markers: numbers that look like results
    nums = [m for m in nums if not (1900 <= float(m.group(1)) <= 2030)]
    if not nums:
        return None
    m = rng.choice(nums)
    old = m.group(1)
    val = float(old)
    for _ in range(10):
        if "." in old:
            decimals = len(old.split(".")[1])
            new_val = round(val * rng.choice([0.5, 0.7, 1.4, 2.0]) + rng.choice([0.1, 0.2, 0.3]), decimals)
            new = f"{new_val:.{decimals}f}"
        else:
            new = str(max(0, int(val * rng.choice([0.5, 2, 3]) + rng.choice([1, 2, 3, 5, 7]))))
        if new != old:
            return s[: m.start(1)] + new + s[m.end(1):]
    return None


def flip_negation(rng: random.Random, s: str) -> str | None:
    for pat, rep in _EXISTING_NEG:
        if re.search(pat, s):
            out = re.sub(pat, rep, s, count=1)
            return re.sub(r"\s{2,}", " ", out)
    m = _AUX_NEG.search(s)
    if m:
        return s[: m.end()] + " not" + s[m.end():]
    return None


def salient_terms(text: str) -> list[str]:
    """Domain terms of an abstract: words of 5+ letters used at least twice, minus boilerplate."""
    counts: dict[str, int] = {}
    for w in re.findall(r"\b[A-Za-z][A-Za-z0-9-]{4,}\b", text):
        if w.lower() in _STOP or w.lower() in _BOILERPLATE:
            continue
        counts[w] = counts.get(w, 0) + 1
    return sorted((w for w, c in counts.items() if c >= 2), key=lambda w: (-counts[w], w))


def swap_term(rng: random.Random, s: str, other_text: str, passage: str, abstract: str) -> str | None:
    # outcome direction swapped (antonym flip) about a third of the time when possible
    flips = [(a, b) for a, b in ANTONYMS if re.search(rf"\b{a}\b", s)]
    if flips and rng.random() < 0.35:
        a, b = rng.choice(flips)
        return re.sub(rf"\b{a}\b", b, s, count=1)
    # intervention/outcome swapped: a salient term of this abstract that occurs in the sentence is
    # replaced by a salient term of a different abstract that the passage never mentions
    own = [w for w in salient_terms(abstract) if re.search(rf"\b{re.escape(w)}\b", s)]
    foreign = [w for w in salient_terms(other_text) if w.lower() not in passage.lower()]
    if not own or not foreign:
        return None
    target = own[0]
    repl = rng.choice(foreign[:5])
    return re.sub(rf"\b{re.escape(target)}\b", repl, s)


def related_sentence(rng: random.Random, passage: str, pool: list[dict], own_id: str,
                     index: list[set[str]]) -> tuple[str, str] | None:
    pw = words(passage)
    sample = rng.sample(range(len(pool)), min(300, len(pool)))
    ranked = sorted(sample, key=lambda i: -len(pw & index[i]) / (1 + len(index[i])) ** 0.5)
    for i in ranked[:3]:
        if pool[i]["id"] == own_id:
            continue
        sents = [s for s in split_sentences(pool[i]["text"]) if good_sentence(s)]
        if not sents:
            continue
        best = max(sents, key=lambda s: (len(words(s) & pw), s))
        return best, pool[i]["id"]
    return None


# ------------------------------------------------------------------ main


def build(n: int) -> list[dict]:
    rng = random.Random(SEED)
    pool = load_abstracts()
    index = [words(a["text"]) for a in pool]
    order = list(range(len(pool)))
    rng.shuffle(order)
    pos_kinds = ["verbatim", "synonym", "synonym", "reorder", "drop", "synonym"]
    neg_kinds = ["number", "negation", "swap", "other"]
    rows: list[dict] = []
    n_pos = n_neg = 0
    verbatim = 0
    cursor = 0
    while (n_pos < n // 2 or n_neg < n // 2) and cursor < len(order):
        abstract = pool[order[cursor]]
        cursor += 1
        made = make_passage(rng, abstract["text"])
        if not made:
            continue
        passage, sents = made
        candidates = [s for s in sents if good_sentence(s)]
        if not candidates:
            continue
        src = rng.choice(candidates)
        want_pos = n_pos < n // 2 and (n_neg >= n // 2 or rng.random() < 0.5)
        statement = None
        kind = ""
        other_id = None
        if want_pos:
            kinds = pos_kinds[:]
            rng.shuffle(kinds)
            for kind in kinds:
                if kind == "verbatim":
                    if verbatim + 1 > (n // 2) // 3:
                        continue
                    statement = src
                elif kind == "synonym":
                    statement = synonym(rng, src)
                elif kind == "reorder":
                    statement = reorder(rng, src)
                    if statement and rng.random() < 0.5:
                        statement = synonym(rng, statement, 1) or statement
                elif kind == "drop":
                    statement = drop_clause(rng, src)
                    if statement and rng.random() < 0.5:
                        statement = synonym(rng, statement, 1) or statement
                if statement and statement != src or kind == "verbatim" and statement:
                    break
                statement = None
            if not statement:
                continue
            if kind == "verbatim":
                verbatim += 1
            label = 1
            n_pos += 1
        else:
            kinds = neg_kinds[:]
            rng.shuffle(kinds)
            other = pool[order[(cursor + 7) % len(order)]]
            for kind in kinds:
                if kind == "number":
                    statement = change_number(rng, src)
                elif kind == "negation":
                    statement = flip_negation(rng, src)
                elif kind == "swap":
                    statement = swap_term(rng, src, other["text"], passage, abstract["text"])
                    other_id = other["id"]
                elif kind == "other":
                    got = related_sentence(rng, passage, pool, abstract["id"], index)
                    if got:
                        statement, other_id = got
                if statement and statement != src and statement not in passage:
                    break
                statement = None
                other_id = None
            if not statement:
                continue
            label = 0
            n_neg += 1
        row = {"id": f"sp{len(rows):04d}", "label": label, "kind": kind, "statement": statement,
               "passage": passage, "source_id": abstract["id"]}
        if label == 1 or kind != "other":
            row["source_sentence"] = src
        if other_id:
            row["other_id"] = other_id
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=240)
    ap.add_argument("--out", type=Path, default=ROOT / "tests" / "data" / "support_pairs.jsonl")
    args = ap.parse_args()
    rows = build(args.n)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    from collections import Counter

    counts = Counter((r["label"], r["kind"]) for r in rows)
    print(f"wrote {len(rows)} pairs to {args.out}")
    for (label, kind), c in sorted(counts.items()):
        print(f"  label={label} {kind:9s} {c}")


if __name__ == "__main__":
    main()
