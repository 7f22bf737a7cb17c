"""Retractions and corrections end to end: PubMed CommentsCorrections, notices that arrive after the paper,
badges on references and document pages, never a retracted source in an answer, articles back to review."""

from __future__ import annotations

import gzip
import io
from pathlib import Path
from typing import Any, Iterator

import pytest
from web_fixtures import PASSWORD, WebEnv

from medcite.answer.notices import cap_for_concern, mark_notices, quotable_status, retracted_in_bottom_line
from medcite.answer.render import to_markdown
from medcite.domain import DocStatus, Document
from medcite.ingest.pubmed import PubMedParser
from medcite.review.models import APPROVED, UNDER_REVIEW
from medcite.service import Medcite
from medcite.settings import Settings

FIX = Path(__file__).resolve().parent / "fixtures" / "pubmed_retractions"
BASELINE, NOTICES, RESENT, LATE = (FIX / n for n in ("baseline.xml", "update_notices.xml", "update_resent.xml",
                                                     "update_late.xml"))
COLCHICINE = "Does colchicine prevent recurrent pericarditis?"
IBUPROFEN = "Is ibuprofen a reasonable first treatment for acute pericarditis?"
ASPIRIN = "Should aspirin be tapered after acute pericarditis?"


def _record(pmid: int, cc: str = "", pub_types: str = "<PublicationType>Journal Article</PublicationType>") -> str:
    return (f'<PubmedArticle><MedlineCitation><PMID Version="1">{pmid}</PMID><Article><Journal><Title>J</Title>'
            f"</Journal><ArticleTitle>Title {pmid}</ArticleTitle><Abstract><AbstractText>Text {pmid}.</AbstractText>"
            f"</Abstract><PublicationTypeList>{pub_types}</PublicationTypeList></Article>{cc}</MedlineCitation>"
            "</PubmedArticle>")


def _cc(ref_type: str, pmid: str, source: str = "J Test. 2020;1:1.") -> str:
    return (f'<CommentsCorrectionsList><CommentsCorrections RefType="{ref_type}"><RefSource>{source}</RefSource>'
            f'<PMID Version="1">{pmid}</PMID></CommentsCorrections></CommentsCorrectionsList>')


def parse(xml: str) -> list[Document]:
    data = f"<PubmedArticleSet>{xml}</PubmedArticleSet>".encode()
    return [e for e in PubMedParser().parse(io.BytesIO(data), "x.xml") if isinstance(e, Document)]


# --- parser ------------------------------------------------------------------------------------


@pytest.mark.parametrize("ref_type", ["RetractionIn", "ErratumIn", "ExpressionOfConcernIn", "RetractionOf",
                                      "ErratumFor", "ExpressionOfConcernFor"])
def test_parser_reads_each_notice_type(ref_type: str) -> None:
    (doc,) = parse(_record(1, _cc(ref_type, "42", "Lancet. 2020;1:2. doi: 10.1/x.")))
    assert doc.metadata["corrections"] == [{"type": ref_type, "pmid": "42", "ref_source": "Lancet. 2020;1:2. doi: 10.1/x."}]
    # only the original paper's own RetractionIn makes it retracted; a notice stays an ordinary, searchable record
    assert doc.status is (DocStatus.RETRACTED if ref_type == "RetractionIn" else DocStatus.ACTIVE)


def test_parser_ignores_other_comment_types_and_keeps_several() -> None:
    cc = ('<CommentsCorrectionsList>'
          '<CommentsCorrections RefType="CommentIn"><RefSource>x</RefSource><PMID Version="1">5</PMID></CommentsCorrections>'
          '<CommentsCorrections RefType="UpdateOf"><RefSource>y</RefSource><PMID Version="1">6</PMID></CommentsCorrections>'
          '<CommentsCorrections RefType="ErratumIn"><RefSource>a</RefSource><PMID Version="1">7</PMID></CommentsCorrections>'
          '<CommentsCorrections RefType="ErratumIn"><RefSource>b</RefSource><PMID Version="1">8</PMID></CommentsCorrections>'
          '<CommentsCorrections RefType="ExpressionOfConcernIn"><RefSource>c</RefSource></CommentsCorrections>'
          '</CommentsCorrectionsList>')
    (doc,) = parse(_record(1, cc))
    assert [c["type"] for c in doc.metadata["corrections"]] == ["ErratumIn", "ErratumIn", "ExpressionOfConcernIn"]
    assert doc.metadata["corrections"][2]["pmid"] == ""  # a notice without a PMID is kept, named by its source
    (plain,) = parse(_record(2))
    assert "corrections" not in plain.metadata


def test_parser_retracted_publication_type() -> None:
    (doc,) = parse(_record(3, pub_types="<PublicationType>Retracted Publication</PublicationType>"))
    assert doc.status is DocStatus.RETRACTED


def test_parser_real_pubmed_files(shared: Path) -> None:
    """The shared baseline carries a retraction notice (RetractionOf) and an erratum (ErratumFor); the update
    file a paper with its erratum named (ErratumIn)."""
    found: dict[str, list[dict[str, str]]] = {}
    for path in sorted((shared / "corpus" / "pubmed").glob("*/*.xml.gz")):
        with gzip.open(path) as fh:
            for e in PubMedParser().parse(fh, str(path)):
                if isinstance(e, Document) and e.metadata.get("corrections"):
                    found[e.doc_id] = e.metadata["corrections"]
    types = {c["type"] for cs in found.values() for c in cs}
    assert {"RetractionOf", "ErratumFor", "ErratumIn"} <= types
    assert found["pmid:41578200"] == [{"type": "RetractionOf", "pmid": "21595987",
                                       "ref_source": "BMC Cancer. 2011 May 20;11:185. doi: 10.1186/1471-2407-11-185."}]
    assert all(c["pmid"].isdigit() and c["ref_source"] for cs in found.values() for c in cs)


# --- store and pipeline ------------------------------------------------------------------------


@pytest.fixture
def svc(tmp_path: Path) -> Iterator[Medcite]:
    s = Medcite(Settings(db=tmp_path / "m.db", progress=False, cache_dir=tmp_path / "cache"))
    yield s
    s.close()


def _status(svc: Medcite, doc_id: str) -> str:
    return svc.document(doc_id).status.value


def _passages(svc: Medcite, doc_id: str) -> int:
    return svc.store.conn.execute("SELECT count(*) FROM passages WHERE doc_id = ?", (doc_id,)).fetchone()[0]


def test_notice_in_a_later_update_marks_the_paper(svc: Medcite) -> None:
    svc.ingest([BASELINE])
    assert _passages(svc, "pmid:90000001") > 0
    report = svc.ingest([NOTICES])  # the notices only: the originals are not sent again
    assert not report.errors
    assert _status(svc, "pmid:90000001") == "retracted" and _passages(svc, "pmid:90000001") == 0
    # erratum and expression of concern mark the paper but keep it searchable
    assert _status(svc, "pmid:90000002") == "active" and _passages(svc, "pmid:90000002") > 0
    assert _status(svc, "pmid:90000003") == "active" and _passages(svc, "pmid:90000003") > 0
    assert svc.store.notices(["pmid:90000001", "pmid:90000002", "pmid:90000003", "pmid:90000010"]) == {
        "pmid:90000001": "retracted", "pmid:90000002": "erratum", "pmid:90000003": "expression_of_concern"}
    details = svc.document_notices("pmid:90000001")
    assert [(d["notice"], d["label"], d["doc_id"]) for d in details] == [("retracted", "Retracted", "pmid:90000010")]
    assert svc.search("colchicine recurrent pericarditis randomized").hits == [] or all(
        h.doc_id != "pmid:90000001" for h in svc.search("colchicine recurrent pericarditis randomized").hits)
    again = svc.ingest([NOTICES])  # re-running the update changes nothing
    assert again.unchanged == 4 and again.added == again.updated == 0 and again.flagged_articles == 0


def test_notice_before_the_paper_is_remembered(svc: Medcite) -> None:
    svc.ingest([NOTICES])
    assert svc.store.notices(["pmid:90000020"]) == {"pmid:90000020": "retracted"}  # not in the store yet
    report = svc.ingest([LATE])
    assert report.added == 1
    assert _status(svc, "pmid:90000020") == "retracted" and _passages(svc, "pmid:90000020") == 0
    # the same file again: unchanged, still retracted
    assert svc.ingest([LATE]).unchanged == 1 and _status(svc, "pmid:90000020") == "retracted"


def test_notice_and_paper_in_one_file_either_order(svc: Medcite, tmp_path: Path) -> None:
    first = tmp_path / "notice_first.xml"
    first.write_text(f"<PubmedArticleSet>{_record(71, _cc('RetractionOf', '81'))}{_record(81)}</PubmedArticleSet>")
    second = tmp_path / "paper_first.xml"
    second.write_text(f"<PubmedArticleSet>{_record(82)}{_record(72, _cc('RetractionOf', '82'))}</PubmedArticleSet>")
    svc.ingest([first, second])
    assert _status(svc, "pmid:81") == _status(svc, "pmid:82") == "retracted"
    assert _passages(svc, "pmid:81") == _passages(svc, "pmid:82") == 0
    assert _status(svc, "pmid:71") == _status(svc, "pmid:72") == "active"


def test_paper_resent_with_retraction_in(svc: Medcite) -> None:
    svc.ingest([BASELINE])
    report = svc.ingest([RESENT])  # "Retracted Publication" + RetractionIn, no notice record
    assert report.updated == 1
    assert _status(svc, "pmid:90000001") == "retracted" and _passages(svc, "pmid:90000001") == 0
    details = svc.document_notices("pmid:90000001")
    assert details[0]["notice"] == "retracted" and details[0]["pmid"] == "90000010"
    assert details[0]["ref_source"] == "J Test Cardiol. 2024 Jun;4:10."


# --- answers -----------------------------------------------------------------------------------


def test_retracted_paper_never_in_an_answer(svc: Medcite) -> None:
    svc.ingest([BASELINE])
    before = svc.ask(COLCHICINE, remember=False)
    assert [r.doc_id for r in before.references][:1] == ["pmid:90000001"]
    assert "[1]" in before.bottom_line and before.references[0].notice is None
    svc.ingest([NOTICES])
    after = svc.ask(COLCHICINE, remember=False)
    assert "pmid:90000001" not in {r.doc_id for r in after.references}
    assert "pmid:90000001" not in {d.doc_id for d in after.related_reading}
    for q in (IBUPROFEN, ASPIRIN):
        assert all(r.notice != "retracted" for r in svc.ask(q, remember=False).references)


def test_stale_index_hit_of_a_retracted_document_is_dropped() -> None:
    class H:
        def __init__(self, doc_id: str) -> None:
            self.doc_id = doc_id

    rows = {"a": {"status": "active"}, "b": {"status": "retracted"}, "c": {"status": "deleted"},
            "d": {"status": "superseded"}}
    assert [h.doc_id for h in quotable_status([H(x) for x in "abcde"], rows)] == ["a", "d"]


def test_erratum_and_expression_of_concern_are_cited_with_their_notice(svc: Medcite) -> None:
    svc.ingest([BASELINE, NOTICES])
    erratum = svc.ask(IBUPROFEN, remember=False)
    assert erratum.references[0].doc_id == "pmid:90000002" and erratum.references[0].notice == "erratum"
    concern = svc.ask(ASPIRIN, remember=False)
    ref = concern.references[0]
    assert ref.doc_id == "pmid:90000003" and ref.notice == "expression_of_concern"
    # its only source is under an expression of concern: no more than low certainty, and it says why
    assert concern.evidence_quality.grade in ("low", "very low")
    assert "expression of concern" in concern.evidence_quality.rationale
    assert "[Erratum]" in to_markdown(erratum) and "[Expression of concern]" in to_markdown(concern)
    schema = concern.model_json_schema()
    assert "notice" in schema["$defs"]["Reference"]["properties"]


def test_cap_for_concern_policy() -> None:
    assert cap_for_concern("high", "Two trials.", [{"notice": "expression_of_concern"}])[0] == "low"
    assert cap_for_concern("high", "x", [{"notice": "expression_of_concern"}, {"notice": None}]) == ("high", "x")
    assert cap_for_concern("moderate", "x", [{"notice": "erratum"}]) == ("moderate", "x")
    assert cap_for_concern("very low", "x", [{"notice": "expression_of_concern"}])[0] == "very low"


def test_stored_answer_shows_a_later_retraction(svc: Medcite) -> None:
    svc.ingest([BASELINE])
    answer = svc.ask(COLCHICINE, remember=False)
    thread_id = svc.start_thread(answer)
    svc.ingest([NOTICES])
    (stored,) = svc.thread(thread_id)
    assert stored.references[0].notice == "retracted"
    assert retracted_in_bottom_line(stored) == [1]
    as_dict = mark_notices(answer.model_dump(mode="json"), {"pmid:90000001": "retracted"})
    assert retracted_in_bottom_line(as_dict) == [1] and as_dict["references"][0]["notice"] == "retracted"


# --- the review workflow -------------------------------------------------------------------------


def _people(svc: Medcite) -> dict[str, Any]:
    board = svc.editorial
    admin = board.add_user("ada", "admin", PASSWORD)
    return {"ada": admin, "ed": board.add_user("ed", "editor", PASSWORD, actor=admin),
            "rita": board.add_user("rita", "reviewer", PASSWORD, actor=admin)}


def _approved(svc: Medcite, people: dict[str, Any], question: str) -> Any:
    board = svc.editorial
    art = board.submit(svc.ask(question, remember=False).model_dump(mode="json"), people["ed"])
    art = board.take(art.id, people["rita"])
    art = board.approve(art.id, people["rita"], art.version)
    assert art.state == APPROVED
    return art


def test_approved_article_citing_a_retracted_paper_goes_back_to_review(svc: Medcite) -> None:
    svc.ingest([BASELINE])
    people = _people(svc)
    retracted = _approved(svc, people, COLCHICINE)
    corrected = _approved(svc, people, IBUPROFEN)
    report = svc.ingest([NOTICES])
    assert report.flagged_articles == 2
    board = svc.editorial
    moved = board.get(retracted.id, people["rita"])
    assert moved.state == UNDER_REVIEW and moved.reviewer is None and moved.needs_rereview
    assert "reference [1]" in moved.rereview_reason and "pmid:90000001" in moved.rereview_reason
    assert "was retracted" in moved.rereview_reason
    entry = [e for e in board.audit(retracted.id, people["ada"]) if e.action == "returned_to_review"]
    assert len(entry) == 1 and entry[0].actor == "system"
    assert entry[0].details["retracted"] == [{"n": 1, "doc_id": "pmid:90000001",
                                              "title": moved.answer["references"][0]["title"]}]
    assert entry[0].details["from_state"] == APPROVED and entry[0].details["to_state"] == UNDER_REVIEW
    assert not moved.public
    # an erratum does not unpublish: the article stays approved, flagged for re-review
    flagged = board.get(corrected.id, None)
    assert flagged.state == APPROVED and flagged.needs_rereview
    # a second run of the same update moves nothing again
    assert svc.ingest([NOTICES]).flagged_articles == 0
    assert len([e for e in board.audit(retracted.id, people["ada"]) if e.action == "returned_to_review"]) == 1


def test_resent_retracted_paper_moves_its_articles_too(svc: Medcite) -> None:
    svc.ingest([BASELINE])
    people = _people(svc)
    art = _approved(svc, people, COLCHICINE)
    svc.ingest([RESENT])
    assert svc.editorial.get(art.id, people["rita"]).state == UNDER_REVIEW


# --- web and API ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from medcite.web import create_app

    root = tmp_path_factory.mktemp("retractions-web")
    svc = Medcite(Settings(db=root / "web.db", progress=False, cache_dir=root / "cache"))
    svc.ingest([BASELINE])
    people = _people(svc)
    article = _approved(svc, people, COLCHICINE)
    thread_id = svc.start_thread(svc.ask(COLCHICINE, remember=False))
    svc.ingest([NOTICES])
    env = WebEnv(svc=svc, app=create_app(svc, ask_burst=10000, ask_rate_per_minute=600000), db=root / "web.db")
    env.users.update(people)
    yield {"env": env, "article": article, "thread_id": thread_id}
    svc.close()


def _badge(html: str, label: str) -> bool:
    return "badge-notice badge-" in html and f">{label}</strong>" in html


def test_web_thread_page_shows_badge_and_warning(web: dict[str, Any]) -> None:
    with web["env"].client() as client:
        html = client.get(f"/thread/{web['thread_id']}").text
    assert _badge(html, "Retracted")
    assert "Retracted source:" in html and "retracted after this answer was written" in html


def test_web_article_page_shows_badge_to_reviewers(web: dict[str, Any]) -> None:
    env, article = web["env"], web["article"]
    with env.client() as client:
        assert client.get(f"/articles/{article.id}", follow_redirects=False).status_code in (303, 401, 403)  # not public
        env.login(client, "rita")
        html = client.get(f"/articles/{article.id}").text
        assert _badge(html, "Retracted") and "Needs re-review" in html and "was retracted" in html
        review = client.get(f"/articles/{article.id}/review").text
        assert _badge(review, "Retracted")


def test_web_document_page_and_api(web: dict[str, Any]) -> None:
    with web["env"].client() as client:
        html = client.get("/doc/pmid:90000001").text
        assert _badge(html, "Retracted") and "medcite no longer quotes it" in html and "/doc/pmid:90000010" in html
        html = client.get("/doc/pmid:90000002").text
        assert _badge(html, "Erratum")
        html = client.get("/doc/pmid:90000003").text
        assert _badge(html, "Expression of concern")
        assert "badge-notice" not in client.get("/doc/pmid:90000010").text
        doc = client.get("/api/v1/documents/pmid:90000001").json()
        assert doc["status"] == "retracted" and doc["notices"][0]["notice"] == "retracted"


def test_web_fresh_answer_badges(web: dict[str, Any]) -> None:
    env = web["env"]
    with env.client() as client:
        r = client.post("/api/v1/ask", json={"question": IBUPROFEN}, headers={"Authorization": "Bearer " +
                                                                                  env.svc.editorial.create_token(env.users["ed"], "t")})
        assert r.status_code == 200, r.text
        refs = r.json()["references"]
        assert refs[0]["doc_id"] == "pmid:90000002" and refs[0]["notice"] == "erratum"
        assert all(ref["doc_id"] != "pmid:90000001" for ref in refs)
