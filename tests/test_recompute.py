"""A reviewer's edit rebuilds references, citation numbers, statements and the certainty line from the text."""

from __future__ import annotations

import copy
from datetime import date

import pytest

pytest.importorskip("fastapi")

from medcite.answer.build import bottom_line_certainty  # noqa: E402
from medcite.answer.schema import Answer, check_answer, marker_numbers  # noqa: E402
from medcite.errors import ReviewError  # noqa: E402
from medcite.review.recompute import newest_year, recompute, stale_bottom_line  # noqa: E402
from web_fixtures import QUESTION, WebEnv, web_client, web_env  # noqa: E402,F401


@pytest.fixture(scope="module")
def composed(web_env: WebEnv) -> dict:
    """A real answer citing three documents: guideline [1], systematic review [2], patient page [3]."""
    answer = web_env.svc.ask(QUESTION, "clinician", remember=False).model_dump(mode="json")
    assert [r["kind"] for r in answer["references"]] == ["guideline", "systematic_review", "patient_info"]
    return answer


def _section(answer: dict, heading: str) -> dict:
    return next(s for s in answer["sections"] if s["heading"] == heading)


def _consistent(answer: dict) -> None:
    """References, numbers, statements and certainty agree with the text."""
    model = Answer.model_validate(answer)
    assert check_answer(model, verbatim=False) == []
    cited = {n for st in answer["statements"] for n in st["citations"]}
    assert [r["n"] for r in answer["references"]] == sorted(cited) == list(range(1, len(cited) + 1))
    grade, rationale = bottom_line_certainty(answer["statements"], answer["references"])
    assert answer["evidence_quality"] == {"grade": grade, "rationale": rationale}
    assert _section(answer, "Quality of evidence")["markdown"].startswith(f"**Certainty: {grade}.** {rationale}")


def test_an_unedited_answer_is_unchanged(composed: dict) -> None:
    assert recompute(composed) == composed
    _consistent(composed)


def test_a_reference_no_longer_cited_disappears(composed: dict) -> None:
    edited = copy.deepcopy(composed)
    edited["sections"] = [s for s in edited["sections"] if s["heading"] != "What the evidence says"]
    out = recompute(edited)
    assert [(r["n"], r["doc_id"]) for r in out["references"]] == [(1, "local:htn-guideline"), (2, "local:htn-patient")]
    assert _section(out, "Cautions")["markdown"].endswith("[2]")  # [3] became [2]
    quality = _section(out, "Quality of evidence")["markdown"]
    # the certainty is the bottom line's (its guideline); the listing below it names the two references left
    assert "systematic review, level" not in quality and "[2] patient information, level 4" in quality
    assert out["evidence_quality"]["grade"] == "moderate"
    assert [s["citations"] for s in out["statements"]] == [[1], [1], [2]]
    _consistent(out)
    assert recompute(out) == out


def test_numbers_follow_the_order_of_first_citation(composed: dict) -> None:
    edited = copy.deepcopy(composed)
    edited["bottom_line"] = "Your doctor may suggest medicine [3]. Treatment lowers stroke [2, 3]."
    out = recompute(edited)
    assert out["bottom_line"] == "Your doctor may suggest medicine [1]. Treatment lowers stroke [2, 1]."
    assert [r["doc_id"] for r in out["references"]] == ["local:htn-patient", "local:htn-review", "local:htn-guideline"]
    assert out["statements"][0] == {"id": "s1", "text": "Your doctor may suggest medicine", "citations": [1],
                                    "section": "Bottom line", "support": None}
    assert "[3] guideline, level 1" in _section(out, "Quality of evidence")["markdown"]
    _consistent(out)


def test_a_citation_of_a_missing_reference_is_refused(composed: dict) -> None:
    edited = copy.deepcopy(composed)
    edited["bottom_line"] += " See also [4]."
    with pytest.raises(ReviewError, match=r"cites \[4\], but the article has no such reference "
                                          r"\(its references are \[1\], \[2\], \[3\]\)"):
        recompute(edited)
    edited["bottom_line"] = "No citation at all."
    edited["sections"] = []
    with pytest.raises(ReviewError, match="cites no reference"):
        recompute(edited)


def test_quotes_follow_the_statements(composed: dict) -> None:
    edited = copy.deepcopy(composed)
    ref = edited["references"][0]
    ref["quotes"].append({"passage_id": "local:htn-guideline#9.9", "text": "A passage no statement quotes."})
    out = recompute(edited)
    assert [q["passage_id"] for q in out["references"][0]["quotes"]] == [
        q["passage_id"] for q in composed["references"][0]["quotes"]]


def test_newest_year_and_stale_bottom_line(composed: dict) -> None:
    years = {r["n"]: r["year"] for r in composed["references"]}
    assert newest_year(composed) == max(years.values())
    assert newest_year({"references": []}) is None
    cited = max(years[n] for n in marker_numbers(composed["bottom_line"]))
    assert stale_bottom_line(composed, date(cited + 5, 12, 31)) is None  # five years old: not yet
    assert stale_bottom_line(composed, date(cited + 6, 1, 1)) == cited
    assert stale_bottom_line(Answer.model_validate(composed), date(cited + 6, 1, 1)) == cited  # objects too
    undated = copy.deepcopy(composed)
    for r in undated["references"]:
        r["year"] = None
    assert stale_bottom_line(undated, date(2100, 1, 1)) is None


def test_edited_and_approved_article_matches_its_statements(web_env: WebEnv, web_client) -> None:
    """Through the API: the reviewer drops the only sentence citing [2]; the published article follows."""
    ed, rita, rob = (web_env.bearer(n) for n in ("ed", "rita", "rob"))
    tid = web_client.post("/api/v1/threads", json={"question": QUESTION}).json()["thread_id"]
    art = web_client.post("/api/v1/articles", json={"thread_id": tid}, headers=ed).json()
    assert len(art["answer"]["references"]) == 3
    web_client.post(f"/api/v1/articles/{art['id']}/take", headers=rita)
    sections = [s for s in art["answer"]["sections"] if s["heading"] != "What the evidence says"]
    bad = web_client.post(f"/api/v1/articles/{art['id']}/edit", headers=rita,
                          json={"bottom_line": art["answer"]["bottom_line"] + " More [9].", "note": "x"})
    assert bad.status_code == 422 and "cites [9], but the article has no such reference" in bad.json()["error"]
    edited = web_client.post(f"/api/v1/articles/{art['id']}/edit", headers=rita,
                             json={"sections": sections, "note": "the review is about adults in general"}).json()
    approved = web_client.post(f"/api/v1/articles/{art['id']}/approve", headers=rob,
                               json={"expected_version": edited["version"]}).json()
    assert approved["state"] == "approved"
    public = web_client.get(f"/api/v1/articles/{art['id']}").json()["answer"]
    assert [r["doc_id"] for r in public["references"]] == ["local:htn-guideline", "local:htn-patient"]
    _consistent(public)
    assert public["evidence_quality"]["grade"] == "moderate"
    page = web_client.get(f"/articles/{art['id']}").text
    assert "local:htn-review" not in page and "label-systematic_review" not in page
    assert 'id="ref-3"' not in page and 'id="ref-2"' in page
