"""Near-duplicate records across repositories: the same test of the same method, re-formatted.

A record's key is the SHA-256 of its normalised form: the Java tokens of the focal method and of
the masked test (trident.java.tokenize: comments and layout gone, a string literal one token),
and each assertion in canonical form (java.canonical_assertion: also without an `Assert.` /
`Assertions.` qualifier), serialised as one JSON array, UTF-8. Names and literals are kept: two
tests that differ in them are different tests.
"""
from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass, field

from trident import java

HASHING = ("sha256 of the UTF-8 JSON array [focal method tokens, masked test tokens, canonical assertions] "
           "(trident.java.tokenize / canonical_assertion: comments and layout dropped, Assert. qualifier dropped)")


def record_key(record: dict) -> str:
    form = [java.tokenize(record["focal_method"]), java.tokenize(record["test_method_masked"]),
            [java.canonical_assertion(a) for a in record["assertions"]]]
    return hashlib.sha256(json.dumps(form, ensure_ascii=False).encode("utf-8")).hexdigest()


@dataclass
class Dedup:
    """Keeps the first record of each key, in the order records are offered (the list's order)."""
    first: dict[str, str] = field(default_factory=dict)  # key → repository that kept it
    removed: Counter = field(default_factory=Counter)  # repository → records removed
    removed_as: dict[str, Counter] = field(default_factory=dict)  # repository → {repository kept in: n}

    def keep(self, repo: str, record: dict) -> bool:
        key = record_key(record)
        if key not in self.first:
            self.first[key] = repo
            return True
        self.removed[repo] += 1
        self.removed_as.setdefault(repo, Counter())[self.first[key]] += 1
        return False
