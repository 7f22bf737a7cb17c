"""What a user reads on the command line: usage lines, progress without a terminal, summaries whose counts agree,
parse errors that say where once and give advice that fits, the demo's first search, and docs that match."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from medcite.cli import app

GOOD_JSONL = FIXTURES / "answers" / "corpus.jsonl"


def _flat(text: str) -> str:
    """Output as one line: rich wraps long lines at 80 columns when it is not on a terminal."""
    return " ".join(text.split())


def _db(tmp_path: Path) -> list[str]:
    return ["--db", str(tmp_path / "medcite.db")]


@pytest.mark.parametrize("command, usage", [
    ("search", "Usage: medcite search [OPTIONS] QUERY"),
    ("ask", "Usage: medcite ask [OPTIONS] QUESTION"),
    ("ingest", "Usage: medcite ingest [OPTIONS] PATHS..."),
])
def test_usage_lines_name_arguments_in_upper_case(runner, command: str, usage: str) -> None:
    res = runner.invoke(app, [command, "--help"], prog_name="medcite")
    assert res.exit_code == 0
    assert usage in res.output and "{" not in res.output.split("\n\n")[0]


def test_ingest_without_a_terminal_prints_plain_progress_lines(runner, tmp_path: Path, monkeypatch) -> None:
    from medcite.cli import corpus

    monkeypatch.setattr(corpus, "PLAIN_PROGRESS_EVERY", 0.0)
    res = runner.invoke(app, [*_db(tmp_path), "ingest", "--no-embed", str(GOOD_JSONL)])
    assert res.exit_code == 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.startswith("ingest: ")]
    assert lines, res.stderr
    assert re.fullmatch(r"ingest: 1/1 files · [\d,]+ documents · [\d,]+ documents/s · \d+ s", lines[-1]), lines
    assert "\x1b[" not in res.stderr  # plain text, no terminal control codes


def test_ingest_prints_no_progress_lines_for_a_short_run(runner, tmp_path: Path) -> None:
    res = runner.invoke(app, [*_db(tmp_path), "ingest", "--no-embed", str(GOOD_JSONL)])
    assert res.exit_code == 0 and "ingest: " not in res.stderr


def _one_bad_file_and_one_bad_record(folder: Path) -> Path:
    folder.mkdir()
    shutil.copy(GOOD_JSONL, folder / "good.jsonl")
    lines = GOOD_JSONL.read_text().splitlines()
    (folder / "one-bad-record.jsonl").write_text("\n".join([lines[0], '{"medcite": 1, "id": "x:1"}']) + "\n")
    xml = sorted((FIXTURES / "medquad").rglob("*.xml"))[0].read_bytes()
    (folder / "truncated.xml").write_bytes(xml[: len(xml) // 2])
    return folder


def test_summary_counts_files_and_records_the_way_the_error_lines_do(runner, tmp_path: Path) -> None:
    folder = _one_bad_file_and_one_bad_record(tmp_path / "corpus")
    res = runner.invoke(app, [*_db(tmp_path), "ingest", "--no-embed", str(folder)])
    assert res.exit_code == 1
    assert len([ln for ln in res.stderr.splitlines() if ln.startswith("✗")]) == 2
    assert "1 file not ingested and 1 record skipped" in _flat(res.stdout)
    assert "2 errors" not in res.output

    demo = runner.invoke(app, ["--db", str(tmp_path / "demo.db"), "demo", "--corpus", str(folder)])
    assert "1 file not ingested and 1 record skipped (see above)" in _flat(demo.stderr)
    assert "file(s)" not in demo.output


def test_truncated_xml_says_its_position_once_and_gives_advice_that_fits(runner, tmp_path: Path) -> None:
    folder = _one_bad_file_and_one_bad_record(tmp_path / "corpus")
    res = runner.invoke(app, [*_db(tmp_path), "ingest", "--no-embed", str(folder / "truncated.xml")])
    line = _flat(res.stderr)
    assert "not well-formed XML" in line
    assert len(re.findall(r"line \d+", line)) == 1 and "column" not in line, line
    assert "download it again" not in line and "replace it with a complete copy, or leave it out" in line


def test_truncated_pubmed_and_jats_get_the_same_advice(tmp_path: Path) -> None:
    from medcite.errors import ParseError
    from medcite.ingest.jats import JatsParser
    from medcite.ingest.pubmed import PubMedParser
    import io

    for parser, name in ((PubMedParser(), "pubmed"), (JatsParser(), "jats")):
        xml = (FIXTURES / name / ("baseline_sample.xml" if name == "pubmed" else "research_article.nxml")).read_bytes()
        with pytest.raises(ParseError) as info:
            list(parser.parse(io.BytesIO(xml[: len(xml) // 2]), f"cut.{name}"))
        text = info.value.line()
        assert "download" not in text and "complete copy" in text and "column" not in text, text


def test_demo_first_search_lists_each_document_once_with_its_kind(runner, tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    shutil.copy(GOOD_JSONL, folder / "corpus.jsonl")
    res = runner.invoke(app, ["--db", str(tmp_path / "demo.db"), "demo", "--corpus", str(folder)])
    assert res.exit_code == 0, res.output
    block = _flat(res.stdout.split("Try it:", 1)[1].split("Ask:", 1)[0])
    hits = re.findall(r"(\d+)\. \[(\w+)\] .*? \(([\w:.-]+)\)", block)
    assert hits, block
    ids = [doc_id for _, _, doc_id in hits]
    assert len(ids) == len(set(ids)), block
    assert [int(n) for n, _, _ in hits] == list(range(1, len(hits) + 1))


def test_journal_character_references_are_decoded_at_ingest(service, tmp_path: Path) -> None:
    rec = {"id": "pmc:PMC1", "doc_type": "rct", "title": "A trial of something",
           "abstract": "Patients were randomised. The primary outcome improved.",
           "journal": "Addiction Science &#x00026; Clinical Practice", "year": "2017"}
    path = tmp_path / "rct.jsonl"
    path.write_text(json.dumps(rec) + "\n")
    report = service.ingest([path])
    assert report.added == 1, report.errors
    assert service.stats()["documents_by_source"] == {"Addiction Science & Clinical Practice": 1}


def test_binary_file_named_jsonl_gets_the_message_docs_formats_promises(service, tmp_path: Path) -> None:
    path = tmp_path / "binary.jsonl"
    path.write_bytes(bytes(range(256)) * 4)
    report = service.ingest([path])
    assert report.files_failed == 1
    row = next(ln for ln in (ROOT / "docs" / "formats.md").read_text().splitlines() if "binary file named" in ln)
    promised = re.search(r'`(?:\w+Error)\("([^"…]+)', row).group(1)
    assert promised in report.errors[0], (row, report.errors[0])


def test_non_utf8_jsonl_gets_the_message_docs_formats_promises(service, tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    good = json.dumps({"medcite": 1, "id": "x:1", "kind": "other", "title": "Café",
                       "sections": [{"heading": "Text", "text": "Un café."}]}, ensure_ascii=False)
    path.write_bytes((good + "\n").encode("utf-8") + good.replace("x:1", "x:2").encode("latin-1") + b"\n")
    report = service.ingest([path])
    row = next(ln for ln in (ROOT / "docs" / "formats.md").read_text().splitlines() if "not UTF-8" in ln)
    promised = re.search(r'`(?:\w+Error)\("([^"…]+)', row).group(1)
    assert any(promised in e for e in report.errors), (row, report.errors)


def test_docs_stats_example_has_the_keys_the_program_prints(runner, tmp_path: Path) -> None:
    runner.invoke(app, [*_db(tmp_path), "ingest", "--no-embed", str(GOOD_JSONL)])
    res = runner.invoke(app, [*_db(tmp_path), "stats", "--json"])
    keys = set(json.loads(res.stdout))
    text = (ROOT / "docs" / "cli.md").read_text()
    example = text.split("## `medcite stats", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    top = re.sub(r"\{[^{}]*\}", "{}", example.strip()[1:-1])  # nested objects emptied: top-level keys remain
    assert set(re.findall(r'"(\w+)":', top)) == keys, example
    numbers = {k: int(v) for k, v in re.findall(r'"(documents|active|deleted)": (\d+)', example)}
    assert numbers["active"] + numbers["deleted"] == numbers["documents"], example


def test_the_terminal_view_renders_the_answers_markdown_subset() -> None:
    from rich.console import Console

    from medcite.cli.answers import markdown_view

    console = Console(record=True, width=60, color_system=None)
    console.print(markdown_view("**Guidelines**\n- Give 25 g of dextrose [1]\n- Recheck glucose in 15 minutes, "
                                "and repeat the dose if it is still low [2]"))
    text = console.export_text()
    assert "**" not in text and "Guidelines" in text
    assert text.count("•") == 2 and "[1]" in text and "[2]" in text
    # a wrapped bullet hangs under its text, not under the bullet
    wrapped = [ln for ln in text.splitlines() if ln.strip() and "•" not in ln and "Guidelines" not in ln]
    assert wrapped and all(ln.startswith("    ") for ln in wrapped)
