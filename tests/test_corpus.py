"""`trident data corpus build`: two git repositories made here (no network), fetched by file:// URL
and from a --from folder; a pinned commit that is not HEAD; a near-duplicate across the two
(removed once, counted); Apache-2.0 and MIT detected and on every record; a bad list line."""
import json
import subprocess
from pathlib import Path

import pytest

from trident.cli import main
from trident.data.corpus.dedup import record_key
from trident.data.corpus.licences import detect, detect_text
from trident.data.corpus.list import parse_list
from trident.data.records import load_split
from trident.errors import DataError

APACHE = """
                                 Apache License
                           Version 2.0, January 2004
                        http://www.apache.org/licenses/

   TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION
"""
MIT = """MIT License

Copyright (c) 2020 Beta

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction.
"""
CALC = """package org.alpha;

public class Calc {
    public int add(int a, int b) {
        return a + b;
    }

    public int twice(int a) {
        return 2 * a;
    }
}
"""
# Pinned commit: testAdd and testTwice. HEAD drops testTwice and adds testLater.
_CALC_TEST = """package org.alpha;

import static org.junit.Assert.assertEquals;
import org.junit.Test;

public class CalcTest {
    @Test
    public void testAdd() {
        Calc c = new Calc();
        assertEquals(3, c.add(1, 2));
    }

    @Test
    public void %s() {
        assertEquals(%s);
    }
}
"""
CALC_TEST_PINNED = _CALC_TEST % ("testTwice", "4, new Calc().twice(2)")
CALC_TEST_HEAD = _CALC_TEST % ("testLater", "0, new Calc().add(0, 0)")
# beta/two holds alpha's Calc.add and testAdd again, laid out differently, with a comment and an
# Assert. qualifier: the same tokens, so a near-duplicate. Its Strings test is its own.
BETA_CALC = """package org.beta;

public class Calc {
    /** Sum. */
    public int add(int a,
                   int b) {
        return a+b;  // plain
    }
}
"""
BETA_CALC_TEST = """package org.beta;

import org.junit.Assert;
import org.junit.Test;

public class CalcTest {
    @Test public void testAdd() {
        Calc c = new Calc();
        Assert.assertEquals(3, c.add(1,2));
    }
}
"""
STRINGS = """package org.beta;

public class Strings {
    public String shout(String s) {
        return s.toUpperCase();
    }
}
"""
STRINGS_TEST = """package org.beta;

import static org.junit.Assert.assertEquals;
import org.junit.Test;

public class StringsTest {
    @Test
    public void testShout() {
        assertEquals("HI", new Strings().shout("hi"));
    }
}
"""


def _git(repo: Path, *args: str) -> str:
    env_cfg = ["-c", "user.name=t", "-c", "user.email=t@example.org", "-c", "commit.gpgsign=false"]
    return subprocess.run(["git", *env_cfg, *args], cwd=repo, check=True, capture_output=True, text=True).stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for rel, text in files.items():
        (repo / rel).parent.mkdir(parents=True, exist_ok=True)
        (repo / rel).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    """tmp/owner/name: alpha/one (Apache-2.0, pinned one commit before HEAD), beta/two (MIT)."""
    base = tmp_path_factory.mktemp("remote")
    alpha, beta = base / "alpha" / "one", base / "beta" / "two"
    for r in (alpha, beta):
        r.mkdir(parents=True)
        _git(r, "init", "-q")
    pinned = _commit(alpha, {"LICENSE": APACHE, "src/main/java/org/alpha/Calc.java": CALC,
                             "src/test/java/org/alpha/CalcTest.java": CALC_TEST_PINNED}, "pinned")
    _commit(alpha, {"src/test/java/org/alpha/CalcTest.java": CALC_TEST_HEAD}, "later")
    beta_head = _commit(beta, {"LICENSE.md": MIT, "src/main/java/org/beta/Calc.java": BETA_CALC,
                               "src/test/java/org/beta/CalcTest.java": BETA_CALC_TEST,
                               "src/main/java/org/beta/Strings.java": STRINGS,
                               "src/test/java/org/beta/StringsTest.java": STRINGS_TEST}, "one")
    listing = base / "java-2.tsv"
    # beta/two is declared Apache-2.0 on purpose: its MIT licence file wins, with a warning.
    listing.write_text(f"# repo\tcommit\tlicence\nalpha/one\t{pinned}\tApache-2.0\n\nbeta/two\t{beta_head}\tApache-2.0\n")
    return base, listing


def _read(out: Path) -> dict[str, list[dict]]:
    return {s: [json.loads(line) for line in (out / f"{s}.jsonl").open()] for s in ("train", "val", "test")}


def _check_corpus(out: Path, text: str, listing: Path) -> None:
    splits = _read(out)
    records = [r for rs in splits.values() for r in rs]
    got = sorted((r["repo"], r["test_name"], r["license"]) for r in records)
    # testTwice is at the pinned commit only, testLater at HEAD only; beta's testAdd is alpha's again.
    assert got == [("alpha/one", "testAdd", "Apache-2.0"), ("alpha/one", "testTwice", "Apache-2.0"),
                   ("beta/two", "testShout", "MIT")]
    assert all(r["id"].startswith(r["repo"] + "/src/test/java/") for r in records)
    # 50/50/0 by repository: the first repository drawn fills train, the other val.
    where = {r["repo"]: s for s, rs in splits.items() for r in rs}
    assert sorted(where.values()) == ["train", "val"] and not splits["test"]
    stats = json.loads((out / "stats.json").read_text())
    per = {s["repo"]: s for s in stats["repositories"]}
    assert [s["repo"] for s in stats["repositories"]] == ["alpha/one", "beta/two"]
    assert (per["alpha/one"]["mined"], per["alpha/one"]["records"], per["alpha/one"]["duplicates_removed"]) == (2, 2, 0)
    assert (per["beta/two"]["mined"], per["beta/two"]["records"], per["beta/two"]["duplicates_removed"]) == (2, 1, 1)
    assert per["beta/two"]["duplicates_of"] == {"alpha/one": 1}
    assert stats["duplicates_removed"] == 1
    assert (per["alpha/one"]["license_detected"], per["alpha/one"]["license_file"]) == ("Apache-2.0", "LICENSE")
    assert (per["beta/two"]["license_detected"], per["beta/two"]["license_declared"]) == ("MIT", "Apache-2.0")
    assert {s["repo"]: s["split"] for s in stats["repositories"]} == where
    assert stats["records"] == {s: len(rs) for s, rs in splits.items()}
    listed = [line.split("\t")[1] for line in listing.read_text().splitlines() if line and not line.startswith("#")]
    assert [s["commit"] for s in stats["repositories"]] == listed
    assert stats["warnings"] == ["beta/two: the list says Apache-2.0, LICENSE.md is MIT (records carry MIT)"]
    assert "1 near-duplicates removed" in text and "warning: beta/two: the list says Apache-2.0" in text


def test_build_from_file_urls_and_from_local_copies_agree(repos, tmp_path, capsys):
    base, listing = repos
    out = tmp_path / "by-url"
    assert main(["data", "corpus", "build", str(listing), "--out", str(out), "--url", f"file://{base}/{{repo}}",
                 "--split", "50/50/0", "--workers", "1"]) == 0
    _check_corpus(out, capsys.readouterr().out, listing)
    # --from: alpha as DIR/owner/name (a working checkout, at HEAD), beta as DIR/owner+name.git (bare).
    local = tmp_path / "local"
    subprocess.run(["git", "clone", "-q", str(base / "alpha" / "one"), str(local / "alpha" / "one")], check=True)
    subprocess.run(["git", "clone", "-q", "--bare", str(base / "beta" / "two"), str(local / "beta+two.git")], check=True)
    out2 = tmp_path / "by-from"
    assert main(["data", "corpus", "build", str(listing), "--out", str(out2), "--from", str(local),
                 "--split", "50/50/0", "--workers", "1"]) == 0
    _check_corpus(out2, capsys.readouterr().out, listing)
    assert _read(out2) == _read(out)
    # The licence is an ordinary extra field: the record loader keeps it, as it keeps `repo`.
    loaded = {(r.extra["repo"], r.extra["license"]) for split in ("train", "val") for r in load_split(out, split)}
    assert loaded == {("alpha/one", "Apache-2.0"), ("beta/two", "MIT")}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "work and scratch folders are removed"


def test_pinned_commit_is_the_one_mined(repos, tmp_path, capsys):
    base, listing = repos
    alpha = base / "alpha" / "one"
    pinned = listing.read_text().splitlines()[1].split("\t")[1]
    assert pinned == _git(alpha, "rev-parse", "HEAD~1") != _git(alpha, "rev-parse", "HEAD")
    only_alpha = tmp_path / "alpha.tsv"
    only_alpha.write_text(f"alpha/one {_git(alpha, 'rev-parse', 'HEAD')} Apache-2.0\n")
    assert main(["data", "corpus", "build", str(only_alpha), "--out", str(tmp_path / "head"),
                 "--url", f"file://{base}/{{repo}}", "--workers", "1"]) == 0
    names = sorted(r["test_name"] for rs in _read(tmp_path / "head").values() for r in rs)
    assert names == ["testAdd", "testLater"]


def test_bad_list_line_and_unreachable_repository_are_one_line_errors(repos, tmp_path, capsys):
    base, listing = repos
    bad = tmp_path / "bad.tsv"
    bad.write_text("# list\nalpha/one " + "a" * 40 + " MIT\nbeta/two main MIT\n")
    assert main(["data", "corpus", "build", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (f"trident: error: {bad}:3: 'main' is not a full 40-hex commit SHA (pin the commit, not a branch "
                   "or tag)")
    missing = tmp_path / "missing.tsv"
    missing.write_text("gamma/none " + "b" * 40 + " MIT\n")
    assert main(["data", "corpus", "build", str(missing), "--out", str(tmp_path / "o"),
                 "--url", f"file://{base}/{{repo}}"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"trident: error: gamma/none: git fetch from file://{base}/gamma/none failed")
    assert main(["data", "corpus", "build", str(missing), "--out", str(tmp_path / "o"), "--from", str(base)]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and err.startswith(f"trident: error: gamma/none: no git checkout or bare repository in --from")
    assert main(["data", "corpus", "build", str(listing), "--out", str(tmp_path / "o"), "--url", "file:///x/{repository}"]) == 2
    assert capsys.readouterr().err.strip() == ("trident: error: --url 'file:///x/{repository}': 'repository' is not a "
                                               "placeholder it can fill (use {repo}, {owner}, {name}; double a literal brace)")
    assert not (tmp_path / "o").exists()


def test_list_parsing_names_file_and_line():
    entries = parse_list("# c\n\nA/b\t" + "C" * 40 + "\tMIT\n", "x.tsv")
    assert [(e.repo, e.commit, e.license, e.line, e.folder_name) for e in entries] == [("A/b", "c" * 40, "MIT", 3, "A+b")]
    for text, message in (("a/b " + "c" * 40 + "\n", "x.tsv:1: expected 3 fields"),
                          ("ab " + "c" * 40 + " MIT\n", "x.tsv:1: 'ab' is not a repository name"),
                          ("a/b " + "c" * 40 + " MIT\nA/B " + "d" * 40 + " MIT\n", "x.tsv:2: A/B is listed twice (first at line 1)"),
                          ("# only\n", "x.tsv: lists no repositories")):
        with pytest.raises(DataError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
            parse_list(text, "x.tsv")


@pytest.mark.parametrize("text, spdx", [
    (APACHE, "Apache-2.0"), (MIT, "MIT"),
    ("Eclipse Public License - v 2.0\n\nTHE ACCOMPANYING PROGRAM", "EPL-2.0"),
    ("Eclipse Public License - v 1.0", "EPL-1.0"),
    # Old Apache files: BSD-like clauses, but the title comes first.
    ("The Apache Software License, Version 1.1\n *\n * Redistribution and use in source and binary forms, with or "
     "without\n * modification, are permitted ... must not be used to endorse or promote", "Apache-1.1"),
    ("Mozilla Public License Version 2.0\n==================================", "MPL-2.0"),
    ("GNU LESSER GENERAL PUBLIC LICENSE\n   Version 2.1, February 1999", "LGPL-2.1"),
    ("GNU GENERAL PUBLIC LICENSE\n   Version 3, 29 June 2007", "GPL-3.0"),
    ("Redistribution and use in source and binary forms, with or without modification, are permitted provided "
     "that ... 3. Neither the name of the copyright holder nor ...", "BSD-3-Clause"),
    ("Redistribution and use in source and binary forms, with or without\nmodification, are permitted provided "
     "that the following conditions are met: 1. ... 2. ...", "BSD-2-Clause"),
    ("Permission to use, copy, modify, and/or distribute this software for any purpose with or without fee is "
     "hereby granted", "ISC"),
    ("This is free and unencumbered software released into the public domain.", "Unlicense"),
    # The licence the file opens with wins over a third-party notice it quotes later.
    (APACHE + "\n\nThird-party: " + MIT, "Apache-2.0"),
    ("All rights reserved. Do not copy.", None),
])
def test_licence_phrases(text, spdx):
    assert detect_text(text) == spdx


def test_near_duplicate_key_ignores_layout_comments_and_assert_qualifier():
    a = {"focal_method": "int f(int x) { return x+1; }", "test_method_masked": "void t() { <AssertPlaceHolder>; }",
         "assertions": ["assertEquals(2, f(1))"]}
    b = {"focal_method": "int f(int x)\n{\n  // one more\n  return x + 1;\n}",
         "test_method_masked": "void t() {\n    <AssertPlaceHolder>;\n}", "assertions": ["Assert.assertEquals(2,f(1))"]}
    c = {**b, "assertions": ["assertEquals(3, f(2))"]}
    assert record_key(a) == record_key(b) != record_key(c)


def test_licence_file_is_the_repositorys_own_before_bundled_ones(tmp_path):
    """A bundled library's LICENSE-asm.txt and a licence-header template sort before LICENSE.txt by
    name, yet the repository's licence is LICENSE.txt's; with no licence file there is no id."""
    (tmp_path / "LICENSE-asm.txt").write_text("Redistribution and use in source and binary forms, with or without "
                                              "modification, are permitted ... Neither the name of")
    (tmp_path / "licence-header-template.txt").write_text(MIT)
    assert detect(tmp_path).spdx == "MIT"  # only those two so far: the first by name (licence- < license-)
    (tmp_path / "LICENSE.txt").write_text(APACHE)
    assert (detect(tmp_path).spdx, detect(tmp_path).file) == ("Apache-2.0", "LICENSE.txt")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (detect(empty).spdx, detect(empty).file) == (None, None)


def test_a_copy_missing_a_files_content_is_mined_without_it_and_says_so(tmp_path, capsys):
    """A partial copy (a blob deleted here, as a snapshot without its large files has): the other files
    are mined, and the one absent is named in stats.json and a warning, not dropped silently."""
    repo = tmp_path / "src" / "delta+three"
    repo.mkdir(parents=True)
    _git(repo, "init", "-q")
    extra = "package org.alpha;\n\npublic class Extra {\n}\n"
    head = _commit(repo, {"LICENSE": APACHE, "src/main/java/org/alpha/Calc.java": CALC,
                          "src/main/java/org/alpha/Extra.java": extra,
                          "src/test/java/org/alpha/CalcTest.java": CALC_TEST_PINNED}, "one")
    oid = _git(repo, "rev-parse", "HEAD:src/main/java/org/alpha/Extra.java")
    (repo / ".git" / "objects" / oid[:2] / oid[2:]).unlink()
    listing = tmp_path / "one.tsv"
    listing.write_text(f"delta/three\t{head}\tApache-2.0\n")
    out = tmp_path / "out"
    assert main(["data", "corpus", "build", str(listing), "--out", str(out), "--from", str(tmp_path / "src"),
                 "--workers", "1"]) == 0
    text = capsys.readouterr().out
    stats = json.loads((out / "stats.json").read_text())
    (repo_stats,) = stats["repositories"]
    assert repo_stats["missing_files"] == ["src/main/java/org/alpha/Extra.java"]
    assert (repo_stats["java_files"], repo_stats["records"]) == (2, 2)
    assert stats["warnings"] == ["delta/three: 1 files in the commit's tree are not in the copy, not mined: "
                                 "src/main/java/org/alpha/Extra.java"]
    assert "warning: delta/three: 1 files" in text


def test_the_shipped_list_is_pinned_permissive_and_leaves_out_the_reserved_repositories():
    entries = parse_list((Path(__file__).parents[1] / "corpora" / "java-100.tsv").read_text(), "java-100.tsv")
    assert len(entries) >= 100
    assert {e.license for e in entries} <= {"Apache-2.0", "MIT", "BSD-2-Clause", "BSD-3-Clause"}
    reserved = {"apache/commons-lang", "apache/commons-collections", "google/gson", "jhy/jsoup"}
    assert not reserved & {e.repo.lower() for e in entries}
