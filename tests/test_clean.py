"""A checkout stays clean: what medcite writes beside a store is ignored by git and removed by `make clean`;
pyproject.toml uses the license form pip and setuptools accept without a deprecation warning."""

from __future__ import annotations

import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from conftest import FIXTURES, ROOT
from medcite.cli import app
from medcite.index.paths import default_index_path, manifest_path
from medcite.index.vector import _tmp_name
from medcite.service import Medcite
from medcite.settings import Settings
from medcite.sync.pubmed import _exclusive


def test_make_clean_removes_what_medcite_made_beside_a_store_and_git_ignores_it(runner, tmp_path: Path) -> None:
    if shutil.which("make") is None:
        pytest.skip("make not found")
    work = tmp_path / "checkout"
    work.mkdir()
    db = work / "medcite.db"
    res = runner.invoke(app, ["--db", str(db), "ingest", "--no-embed", str(FIXTURES / "answers" / "corpus.jsonl")])
    assert res.exit_code == 0, res.output
    svc = Medcite(Settings(db=db, cache_dir=tmp_path / "cache", progress=False))
    try:
        with _exclusive(svc.sync_download_dir() / "pubmed"):  # what `medcite sync pubmed` leaves: its lock
            pass
    finally:
        svc.close()
    vectors = default_index_path(db)  # the dense index's files, and an interrupted write's temporary file
    for path in (manifest_path(vectors), Path(f"{vectors}.g1.ids.npy"), _tmp_name(Path(f"{vectors}.g2.f32.npy"))):
        path.write_bytes(b"")
    building = work / "medcite.db.tantivy.building-1"  # an interrupted rebuild of the lexical index
    building.mkdir()
    (building / "meta.json").write_bytes(b"")
    made = sorted(str(p.relative_to(work)) for p in work.rglob("*") if p.is_file())
    assert {"medcite.db", "medcite.db.tantivy.lock", "medcite.db.downloads/pubmed/.lock"} <= set(made), made
    assert any(m.startswith("medcite.db.tantivy/") for m in made), made

    if (ROOT / ".git").exists() and shutil.which("git"):
        ignored = subprocess.run(["git", "-C", str(ROOT), "check-ignore", "--no-index", "--stdin"],
                                 input="\n".join(made) + "\n",
                                 capture_output=True, text=True).stdout.split()
        assert sorted(set(made) - set(ignored)) == []

    env = {**os.environ, "HOME": str(tmp_path / "home"), "MEDCITE_CACHE_DIR": str(tmp_path / "cache")}
    subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "-C", str(work), "clean",
                    f"VENV={work / '.venv'}"], env=env, check=True, capture_output=True)
    assert sorted(os.listdir(work)) == []
    assert not (tmp_path / "cache").exists()


def test_project_license_is_an_spdx_expression() -> None:
    """A `project.license` TOML table is deprecated (setuptools ≥ 77 warns on every install)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert isinstance(project["license"], str) and project["license"] == "Apache-2.0"
    assert not any(c.startswith("License ::") for c in project.get("classifiers", []))
