"""Adversarial: odd files named on the command line and DOCTYPE lines (issue 13, item 7)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from medcite.ingest.pipeline import expand_paths
from medcite.service import Medcite
from medcite.settings import Settings

FIX = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
def test_fifo_named_on_the_command_line_is_skipped_with_a_message(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.xml"
    os.mkfifo(fifo)
    good = FIX / "ngc" / "ngc-11005.xml"
    files, errors = expand_paths([fifo, good])
    assert files == [good]
    assert errors == [f"{fifo}: not a regular file (a FIFO, device or socket) — skipped; name a file or folder"]


def _with_doctype(data: bytes, doctype: bytes) -> bytes:
    if data.startswith(b"<?xml"):
        end = data.index(b"?>") + 2
        return data[:end] + b"\n" + doctype + b"\n" + data[end:]
    return doctype + b"\n" + data


def test_medquad_ngc_spl_files_with_a_doctype_line_are_ingested(tmp_path: Path) -> None:
    medquad = tmp_path / "2_GARD_QA"
    medquad.mkdir()
    src = sorted((FIX / "medquad" / "2_GARD_QA").glob("*.xml"))[0]
    (medquad / src.name).write_bytes(_with_doctype(src.read_bytes(),
                                                   b'<!DOCTYPE Document SYSTEM "file:///etc/passwd">'))
    (tmp_path / "ngc-11005.xml").write_bytes(_with_doctype((FIX / "ngc" / "ngc-11005.xml").read_bytes(),
                                                           b"<!DOCTYPE Version>"))
    (tmp_path / "label.xml").write_bytes(_with_doctype((FIX / "spl" / "label.xml").read_bytes(),
                                                       b'<!DOCTYPE document PUBLIC "-//HL7//SPL" "spl.dtd">'))
    svc = Medcite(Settings(db=tmp_path / "m.db", progress=False, cache_dir=tmp_path / "cache"))
    try:
        report = svc.ingest([tmp_path / "2_GARD_QA", tmp_path / "ngc-11005.xml", tmp_path / "label.xml"])
        assert not report.errors, report.errors
        assert svc.stats()["documents"] >= 3
        text = " ".join(r[0] for r in svc.store.conn.execute("SELECT text FROM passages"))
        assert "root:" not in text  # the SYSTEM id was never fetched
    finally:
        svc.close()
