"""Adversarial: the PHI guard (issue 13, item 3) — every Safe Harbor class, loopback that resolves, refuse by
default, and a web app that keeps no raw question in its database, its logs or an address."""

from __future__ import annotations

import logging
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from medcite.errors import PHIError
from medcite.llm.client import is_loopback
from medcite.llm.phi import SAFE_HARBOR, find_phi, guard, redact
from medcite.settings import Settings

# (Safe Harbor class, question, identifiers that must all be redacted) — the defect examples first
CLASSES: list[tuple[str, str, list[str]]] = [
    ("names", "patient john smith on warfarin, INR 4", ["john smith"]),
    ("names", "pt J.S. with new AF, anticoagulate?", ["J.S."]),
    ("names", "Question from 王小明: is metformin safe with contrast?", ["王小明"]),
    ("names", "Анна Петрова asks whether she can breastfeed on sertraline", ["Анна Петрова"]),
    ("names", "Can Xiomara Quispe take naproxen with lisinopril?", ["Xiomara", "Quispe"]),
    ("names", "my daughter maisie has eczema, which steroid?", ["maisie"]),
    ("names", "Mrs okonkwo has a potassium of 6.1 on ramipril", ["okonkwo"]),
    ("names", "What dose of enoxaparin in obesity? Thanks, Priyanka", ["Priyanka"]),
    ("geographic", "Admitted to St. Mary's Hospital with pancreatitis, early feeding?", ["St. Mary's Hospital"]),
    ("geographic", "She lives at 4417 Birchwood Lane and has COPD", ["4417 Birchwood Lane"]),
    ("geographic", "He lives in Tulsa and was bitten by a brown recluse", ["Tulsa"]),
    ("geographic", "patient from Eau Claire, WI 54701 with farmer's lung", ["Eau Claire", "54701"]),
    ("dates", "Last seen 3/4 with chest pain, repeat troponin?", ["3/4"]),
    ("dates", "Her LMP was March 4th, how far along is she?", ["March 4th"]),
    ("dates", "A 93-year-old woman with hip fracture, nerve block?", ["93"]),
    ("dates", "DOB 07.11.1954, eGFR 38, metformin dose?", ["07.11.1954"]),
    ("phone", "call my cell 5551234567 with the biopsy result", ["5551234567"]),
    ("phone", "Reach me at (212) 555 0143 about the prep", ["212", "555 0143"]),
    ("fax", "fax no. 2125550167 for the pathology report", ["2125550167"]),
    ("email", "contact john dot smith at gmail dot com about his statin", ["john dot smith at gmail dot com"]),
    ("email", "my email is maria_g [at] yahoo [dot] com", ["maria_g [at] yahoo [dot] com"]),
    ("ssn", "social security no. 219099999 for disability paperwork", ["219099999"]),
    ("mrn", "medical record no. A0092213 with recurrent cellulitis", ["A0092213"]),
    ("health_plan", "Medicare ID 1EG4-TE5-MK73, does Part B cover DEXA?", ["1EG4-TE5-MK73"]),
    ("health_plan", "is 1EG4TE5MK73 covered for the shingles vaccine?", ["1EG4TE5MK73"]),
    ("account", "acct 99017744: invoice for the Holter monitor", ["99017744"]),
    ("license", "Driver's licence number D1234-56789-01234, drive after a seizure?", ["D1234-56789-01234"]),
    ("vehicle", "licence plate KX19 BZT — the driver had a hypo at the wheel", ["KX19 BZT"]),
    ("vehicle", "VIN 1HGCM82633A004352, car crash with rib fractures", ["1HGCM82633A004352"]),
    ("device", "Pacemaker serial number PJN718264S — MRI conditional?", ["PJN718264S"]),
    ("device", "MAC address 00:1A:2B:3C:4D:5E of the home BP monitor", ["00:1A:2B:3C:4D:5E"]),
    ("url", "see mychart.example-health.org/patient/88123 for the CT", ["mychart.example-health.org/patient/88123"]),
    ("ip", "Her CGM uploads from 10.44.201.7 stopped", ["10.44.201.7"]),
    ("biometric", "fingerprint template FP-7731-AC09-88E2 unlocks the cabinet", ["FP-7731-AC09-88E2"]),
    ("other_id", "Research subject ID STUDY-0447-B had a grade 2 rash", ["STUDY-0447-B"]),
]

CLEAN = [
    "Is Hodgkin lymphoma in a 25-year-old curable with ABVD?",
    "Parkinson's disease with freezing of gait: does rasagiline help?",
    "Crohn's disease with perianal fistula, infliximab or adalimumab first?",
    "Does Down syndrome raise the risk of early Alzheimer's dementia?",
    "Grade 3/4 neutropenia on docetaxel, G-CSF prophylaxis?",
    "Should she take 1/2 tablet of metoprolol 25 mg?",
    "Insulin glargine 5551 units dispensed in total this year, is that plausible?",
    "BP 160/110 at 34 weeks, labetalol 200 mg?",
    "Over 90 years of age: should adults aged 90 or older still be screened?",
    "An 89-year-old with hip fracture: surgery within 36 hours?",
    "Is Lipitor 80 mg safe with clarithromycin?",
    "Will metformin cause B12 deficiency after 4 years?",
    "Taking aspirin 75 mg since 2019 for stroke prevention, continue?",
    "Should people in Texas be tested for Valley fever?",
    "My son has croup, dexamethasone dose?",
]


def _covered(text: str, value: str, spans: list[tuple[int, int]]) -> bool:
    start = text.index(value)
    return all(not text[i].isalnum() or any(s <= i < e for s, e in spans) for i in range(start, start + len(value)))


def test_every_safe_harbor_class_is_tested() -> None:
    assert {c for c, _, _ in CLASSES} == set(SAFE_HARBOR) - {"photo"}  # photos: a question is text


@pytest.mark.parametrize(("cls", "question", "values"), CLASSES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CLASSES)])
def test_each_class_is_found_and_redacted(cls: str, question: str, values: list[str]) -> None:
    matches = find_phi(question)
    spans = [(m.start, m.end) for m in matches]
    for value in values:
        assert _covered(question, value, spans), (cls, value, [(m.kind, m.text) for m in matches])
    text, _ = redact(question)
    for value in values:
        assert value not in text
    assert {m.kind for m in matches} & set(SAFE_HARBOR[cls]), [(m.kind, m.text) for m in matches]


@pytest.mark.parametrize("question", CLEAN)
def test_clean_clinical_questions_pass(question: str) -> None:
    assert find_phi(question) == [], [(m.kind, m.text) for m in find_phi(question)]
    assert guard(question, mode="refuse", endpoint_is_loopback=False) == question


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:8000/v1", True),
    ("http://localhost:11434/v1", True),
    ("http://[::1]:8080/v1", True),
    ("http://0.0.0.0:8000/v1", False),             # every interface: not loopback
    ("http://[::]:8000/v1", False),
    ("http://llm.localhost/v1", False),            # does not resolve here: not loopback
    ("http://localhost.evil.com/v1", False),
    ("http://no-such-host.invalid/v1", False),
])
def test_loopback_means_resolving_to_loopback_only(url: str, expected: bool) -> None:
    assert is_loopback(url) is expected


def test_a_localhost_name_counts_only_when_it_resolves_to_loopback(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def fake(host: str, *a: Any, **k: Any) -> list:
        table = {"api.localhost": ["127.0.0.1", "::1"], "mixed.localhost": ["127.0.0.1", "10.0.0.5"]}
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, 0)) for ip in table[host]]

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    assert is_loopback("http://api.localhost/v1") is True
    assert is_loopback("http://mixed.localhost/v1") is False


def test_refuse_is_the_default_and_shows_the_redacted_question() -> None:
    assert Settings().llm_phi == "refuse"
    q = "Mr. John Smith, DOB 3/4/1950, call 5551234567: can he take ibuprofen?"
    with pytest.raises(PHIError) as exc:
        guard(q, endpoint_is_loopback=False)
    message = str(exc.value)
    assert "John" not in message and "Smith" not in message and "5551234567" not in message and "1950" not in message
    assert "[NAME]" in message and "can he take ibuprofen?" in message
    assert guard(q, endpoint_is_loopback=True) == q  # a server on this machine sees the question as asked


# --- the web app ----------------------------------------------------------------------------------------

RAW = ["Xiomara", "Quispe", "5551234567", "1EG4-TE5-MK73", "PJN718264S"]
PHI_QUESTION = ("How should hypertension be treated in pregnancy? Patient Xiomara Quispe, phone 5551234567, "
                "Medicare ID 1EG4-TE5-MK73, pacemaker serial number PJN718264S")


@pytest.fixture(scope="module")
def phi_env(tmp_path_factory: pytest.TempPathFactory) -> Any:
    pytest.importorskip("fastapi")
    from web_fixtures import build_env

    env = build_env(tmp_path_factory.mktemp("phi-web"))
    yield env
    env.svc.close()


def _dump(db: Path) -> str:
    conn = sqlite3.connect(db)
    try:
        out = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for t in tables:
            for row in conn.execute(f'SELECT * FROM "{t}"'):
                out.append(" ".join(str(x) for x in row))
        return "\n".join(out)
    finally:
        conn.close()


def test_web_keeps_no_raw_question_in_tables_logs_or_addresses(phi_env: Any, caplog: pytest.LogCaptureFixture) -> None:
    from web_fixtures import csrf_of

    caplog.set_level(logging.DEBUG)
    with phi_env.client() as client:
        csrf = csrf_of(client.get("/").text)
        page = client.post("/ask", data={"question": PHI_QUESTION, "audience": "clinician", "csrf": csrf})
        assert page.status_code == 200
        thread_id = re.search(r"/thread/([0-9a-f]+)", page.text).group(1)
        client.post(f"/thread/{thread_id}/follow-up", data={"question": "And for Xiomara at 5551234567?",
                                                             "csrf": csrf})
        old = client.get("/ask", params={"q": PHI_QUESTION, "audience": "patient"}, follow_redirects=False)
        assert old.status_code == 303 and "Xiomara" not in old.headers["location"] and "?" not in old.headers["location"]
        thread_page = client.get(old.headers["location"])
        assert thread_page.status_code == 200 and "Xiomara" not in thread_page.text and "[NAME]" in thread_page.text
        assert "?q=" not in thread_page.text.split("Related questions")[0]  # no link carries the question
        client.post("/api/v1/ask/stream", json={"question": PHI_QUESTION, "audience": "clinician"},
                    headers={"X-CSRF-Token": csrf})
        switched = client.get(f"/thread/{thread_id}/audience", params={"turn": 1, "to": "patient"},
                              follow_redirects=False)
        assert switched.status_code == 303 and re.fullmatch(r"/thread/[0-9a-f]+", switched.headers["location"])
    dump = _dump(phi_env.db)
    assert "[NAME]" in dump  # the threads were kept, redacted
    for raw in RAW:
        assert raw not in dump, raw
    # uvicorn's access line for an old-style link keeps the question only redacted (a handler on the logger
    # itself: uvicorn's logging config may stop access lines from reaching the root logger)
    access = logging.getLogger("uvicorn.access")
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    access.addHandler(handler)
    old_level, access.disabled = access.level, False
    access.setLevel(logging.INFO)
    try:
        access.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET",
                    "/ask?q=" + PHI_QUESTION.replace(" ", "+"), "1.1", 303)
    finally:
        access.removeHandler(handler)
        access.setLevel(old_level)
    # every server-side line (the test's own HTTP client logs the addresses it asked for: not the server's)
    records = [r for r in caplog.records if not r.name.startswith("httpx")] + seen
    lines = "\n".join(r.getMessage() for r in records)
    assert "GET /ask?q=" in lines
    for raw in RAW:
        assert raw not in lines, raw
