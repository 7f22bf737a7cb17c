"""Hypothesis strategies shared by the parser tests: valid fixtures, mutated the ways real files break."""

from __future__ import annotations

import random
import re
from typing import Sequence

from hypothesis import strategies as st

XML_INSERTS = (b"<", b"&", b"</", b"<!--", b"&#0;", b"]]>", b"\xff")
XML_CLOSERS = rb"</[A-Za-z][^>]*>"


def mutations(samples: Sequence[bytes], inserts: Sequence[bytes] = XML_INSERTS, droppable: bytes = XML_CLOSERS):
    """A strategy: one of ``samples`` truncated at a random point, with bytes flipped, fragments from
    ``inserts`` inserted, or matches of ``droppable`` (closing tags, by default) deleted — 1 to 4 times."""

    @st.composite
    def mutated(draw) -> bytes:
        data = bytearray(draw(st.sampled_from(list(samples))))
        for op in draw(st.lists(st.sampled_from(["truncate", "flip", "insert", "drop"]), min_size=1, max_size=4)):
            if not data:
                break
            if op == "truncate":
                del data[draw(st.integers(0, len(data))):]
            elif op == "flip":
                data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
            elif op == "insert":
                at = draw(st.integers(0, len(data)))
                data[at:at] = draw(st.sampled_from(list(inserts)))
            else:
                spans = [m.span() for m in re.finditer(droppable, bytes(data))]
                if spans:
                    s, e = draw(st.sampled_from(spans))
                    del data[s:e]
        return bytes(data)

    return mutated()


def mutate(data: bytes, rng: random.Random, inserts: Sequence[bytes] = XML_INSERTS,
           droppable: bytes = XML_CLOSERS) -> tuple[bytes, list[str]]:
    """The same mutations as :func:`mutations`, drawn from a seeded ``rng`` (for benchmarks/bench_fuzz.py):
    the mutated bytes and the names of the operations applied."""
    out = bytearray(data)
    ops = [rng.choice(["truncate", "flip", "insert", "drop"]) for _ in range(rng.randint(1, 4))]
    for op in ops:
        if not out:
            break
        if op == "truncate":
            del out[rng.randint(0, len(out)):]
        elif op == "flip":
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif op == "insert":
            at = rng.randint(0, len(out))
            out[at:at] = rng.choice(list(inserts))
        else:
            spans = [m.span() for m in re.finditer(droppable, bytes(out))]
            if spans:
                s, e = rng.choice(spans)
                del out[s:e]
    return bytes(out), ops
