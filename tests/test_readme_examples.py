"""README.md and docs/ checked against the code they describe.

- Every ```python block parses. A block whose first line names a file (`# my_terms.py`) is a
  plugin file the docs' commands use: the extension examples of docs/extending.md (a plugin
  component, a reward, a sweep engine and an importer) are written out and run as the docs use
  them. Every other python block runs as written in a fresh interpreter, unless the line before
  it is an HTML comment `<!-- not run: why -->`.
- In ```bash/```sh blocks: `make TARGET` names a Makefile target; `trident SUB --flag` a
  subcommand and one of its options (`python -m trident SUB --help`); `--section.key=value` a
  key of the config dataclasses (and, with concrete values, the command line's config loads);
  `python analysis/report.py --flag` one of the report's options.
- Every experiments/*.yaml and sweeps/*.yaml named outside ```text output blocks exists, as does
  every trident/, tests/, benchmarks/ or analysis/ path named in code; every relative link reaches
  a page and a heading.

Extension examples run in a subprocess, so their registrations do not leak into other tests."""
from __future__ import annotations

import ast
import dataclasses
import functools
import json
import re
import shlex
import subprocess
import sys
import textwrap
import typing
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

from trident.config import RunConfig, load_config
from trident.errors import TridentError

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
SHELL = {"bash", "sh", "shell", "console"}
# The plugin files of docs/extending.md, each exercised below the way the docs use it.
PLUGINS = {"my_terms.py", "my_reward.py", "my_engine.py", "csv_importer.py"}
# Subcommands whose leftover --key=value arguments are config overrides (trident/cli.py).
TAKES_OVERRIDES = {("teacher",), ("train",), ("baseline",), ("evaluate",)}
PLACEHOLDER = re.compile(r"[<>…]|\.\.\.|\bENTITY\b|\bPROJECT\b|\bSWEEP_ID\b")
NOT_RUN = re.compile(r"<!--\s*not run:\s*\S.*-->")
# A config key named in prose (`loss.jsd_beta`, `teacher.source=auto`): its first part is a
# section of the run config; a file name (`train.jsonl`) is not a key.
CONFIG_SPAN = re.compile(r"(?!\S*\.(?:jsonl|json|csv|yaml|yml|py|md|gz|db|txt|npy)\b)(?:data|model|loss|train|teacher_train|teacher|eval|tracking)(?:\.[\w<>]+)+(?:=\S*)?")


@dataclasses.dataclass(frozen=True)
class Block:
    page: Path
    line: int  # 1-based line of the opening fence
    lang: str
    text: str
    note: str  # the line before the fence (an HTML comment marks a block that is not run)

    @property
    def where(self) -> str:
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def _parse(page: Path) -> tuple[list[Block], str]:
    """The page's fenced blocks, and its text outside them (prose, with its inline code)."""
    lines = page.read_text(encoding="utf-8").split("\n")
    blocks, prose, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            assert line.startswith("```"), f"{page.relative_to(ROOT)}:{i + 1}: indented fence (the checks read fences at column 0)"
            end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), None)
            assert end is not None, f"{page.relative_to(ROOT)}:{i + 1}: unclosed fence"
            note = lines[i - 1].strip() if i else ""
            blocks.append(Block(page, i + 1, line[3:].strip().split(" ")[0], "\n".join(lines[i + 1:end]) + "\n", note))
            i = end + 1
            continue
        prose.append(line)
        i += 1
    return blocks, "\n".join(prose)


@functools.lru_cache(maxsize=None)
def _pages() -> tuple[tuple[Block, ...], dict[Path, str]]:
    blocks, prose = [], {}
    for page in PAGES:
        b, p = _parse(page)
        blocks.extend(b)
        prose[page] = p
    return tuple(blocks), prose


def _blocks(*langs: str) -> list[Block]:
    return [b for b in _pages()[0] if b.lang in langs]


def _inline_code(text: str) -> list[str]:
    return re.findall(r"(?<!`)`([^`\n]+)`(?!`)", text)


def _plugin_name(block: Block) -> str | None:
    m = re.match(r"# ([\w-]+\.py)\n", block.text)
    return m.group(1) if m else None


def _plugins() -> dict[str, str]:
    found: dict[str, str] = {}
    for block in _blocks("python"):
        name = _plugin_name(block)
        if name:
            assert name not in found, f"{block.where}: a second block named {name}"
            found[name] = block.text
    return found


# ---- python blocks -------------------------------------------------------------------------------

def test_every_python_block_parses():
    blocks = _blocks("python")
    assert len(blocks) >= 5, "the docs' python examples were not found"
    for block in blocks:
        try:
            ast.parse(block.text, filename=block.where)
        except SyntaxError as exc:
            pytest.fail(f"{block.where}: {exc}")


def test_the_named_plugin_files_are_the_ones_these_tests_run():
    assert set(_plugins()) == PLUGINS, "a python block named as a file needs a test that runs it as the docs do"


def test_every_other_python_block_runs(tmp_path):
    runnable = [b for b in _blocks("python") if _plugin_name(b) is None and not NOT_RUN.fullmatch(b.note)]
    assert runnable, "no self-contained python example was found"
    for block in runnable:
        done = subprocess.run([sys.executable, "-c", block.text], cwd=tmp_path, capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, f"{block.where} does not run as written:\n{done.stderr[-2000:]}"


def test_the_extension_examples_work(tmp_path):
    plugins = _plugins()
    for name in ("my_terms.py", "my_reward.py", "my_engine.py"):
        (tmp_path / name).write_text(plugins[name])
    driver = textwrap.dedent(f'''
        import sys, torch
        sys.path.insert(0, {str(tmp_path)!r})
        from trident.config import load_config
        from trident.losses.multi import MultiComponentLoss
        from trident.losses.registry import COMPONENTS, REWARDS, LossInputs

        cfg = load_config(None, ["--loss.plugins={tmp_path / 'my_terms.py'}",
                                 "--loss.components={{entropy: {{start: 0.05}}}}"])
        logits = torch.randn(2, 3, 5, requires_grad=True)
        _, parts, terms = MultiComponentLoss(cfg.loss)(LossInputs(logits, torch.tensor([[1, 2, -100], [3, 4, 0]]),
                                                                  teacher_logits=torch.randn(2, 3, 5)))
        terms["entropy"].backward()
        assert 0 < parts["entropy/raw"].item() <= torch.log(torch.tensor(5.0)).item() + 1e-6
        assert logits.grad.abs().sum() > 0

        import my_reward
        assert COMPONENTS["expected"].kind == "sequence"
        score = REWARDS["expected"].score(["assertEquals(3, x);", "assertNull(y);"],
                                          ["assertEquals(3, f(1));", "assertEquals(4, g());"], {{}}, None, "cpu")
        assert score.tolist() == [1.0, 0.0], score

        import my_engine
        from trident.cli import main
        sys.exit(main(["sweep", "sweeps/beta.yaml", "--engine", "print"]))
    ''')
    done = subprocess.run([sys.executable, "-c", driver], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    commands = [line for line in done.stdout.splitlines() if "trident" in line and "train" in line]
    assert len(commands) == 3, done.stdout
    assert sorted(re.search(r"--loss.semantic_loss_scale=(\d)", c).group(1) for c in commands) == ["3", "5", "7"]


def test_the_importer_example_works(tmp_path):
    (tmp_path / "csv_importer.py").write_text(_plugins()["csv_importer.py"])
    src = tmp_path / "csvs"
    src.mkdir()
    test = "@Test\nvoid t() {\n    int x = f();\n    assertEquals(1, x);\n}"
    rows = {"train": [("int f() { return 1; }", test), ("int f() { return 1; }", "void u() { f(); }"), ("", test)],
            "val": [("int g() { return 2; }", "void v() { assertTrue(g() == 2); }")],
            "test": [("int h() { return 3; }", "void w() { assertEquals(3, h()); }")]}
    import csv
    for split, items in rows.items():
        with open(src / f"{split}.csv", "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["focal_method", "test_method"])
            writer.writerows(items)
    args = ["data", "import", "--plugins", str(tmp_path / "csv_importer.py"), "--format", "csv", str(src)]
    done = subprocess.run([sys.executable, "-m", "trident", *args, "--out", str(tmp_path / "strict")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    # csv's line_num is the line a row ends on: the header is line 1, the five-line test of row 1
    # spans 2-6, row 2 is line 7, and the bad row 3 spans 8-12.
    assert done.returncode == 2 and "train.csv:12: focal_method or test_method is empty" in done.stderr, done.stderr
    done = subprocess.run([sys.executable, "-m", "trident", *args, "--out", str(tmp_path / "out"), "--skip-bad-records"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "imported 3 records" in done.stdout and "no_assertion 1" in done.stdout and "missing_field 1" in done.stdout
    record = json.loads((tmp_path / "out" / "train.jsonl").read_text())
    assert record["assertions"] == ["assertEquals(1, x);"]
    assert record["test_method_masked"] == "@Test\nvoid t() {\n    int x = f();\n    <AssertPlaceHolder>;\n}"


# ---- shell blocks: make targets, trident subcommands, flags, config keys -------------------------

def _commands(block: Block) -> list[list[str]]:
    """Each command of a shell block as its words (continuations joined, comments dropped)."""
    commands = []
    for line in block.text.replace("\\\n", " ").splitlines():
        words = shlex.split(line, comments=True)
        current: list[str] = []
        for word in words:
            if word in ("&&", "||", ";", "|"):
                commands.append(current)
                current = []
            else:
                current.append(word)
        commands.append(current)
    return [c for c in commands if c]


@functools.lru_cache(maxsize=None)
def _make_targets() -> frozenset[str]:
    targets = set()
    for line in (ROOT / "Makefile").read_text().splitlines():
        m = re.match(r"([A-Za-z0-9_.%$() -]+?)\s*:(?!=)", line)
        if m:
            targets.update(m.group(1).split())
    return frozenset(targets)


@functools.lru_cache(maxsize=None)
def _help(*command: str) -> str:
    """`--help` of a trident subcommand (or of another script); its options are the flags it takes."""
    script = bool(command) and command[0].endswith(".py")
    argv = [sys.executable, *command] if script else [sys.executable, "-m", "trident", *command]
    done = subprocess.run([*argv, "--help"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"{' '.join(argv[1:])} --help: {done.stderr[-1000:]}"
    return done.stdout


def _options(*command: str) -> set[str]:
    return set(re.findall(r"(?<![\w.-])(--[a-z][a-z0-9-]*)(?![\w.])", _help(*command)))


def _subcommands(*parent: str) -> set[str]:
    m = re.search(r"\{([\w,-]+)\}", _help(*parent))
    return set(m.group(1).split(",")) if m else set()


def _config_key_problem(key: str) -> str | None:
    """Why `key` (dotted) is not a key of the run config, or None. A mapping-valued field
    (loss.components, loss.hidden_layers) takes any name, then the value type's keys; a part in
    <angle brackets> is a placeholder."""
    cls: typing.Any = RunConfig
    parts = key.split(".")
    i = 0
    while i < len(parts):
        if "<" in parts[i]:
            return None
        if not (dataclasses.is_dataclass(cls)):
            return f"{'.'.join(parts[:i])} is not a section"
        hints = typing.get_type_hints(cls)
        if parts[i] not in hints:
            return f"unknown config key {'.'.join(parts[:i + 1])}"
        hint = hints[parts[i]]
        if dataclasses.is_dataclass(hint):
            cls, i = hint, i + 1
            continue
        if typing.get_origin(hint) is dict:
            value = typing.get_args(hint)[1]
            if i + 2 < len(parts) and dataclasses.is_dataclass(value):
                cls, i = value, i + 2
                continue
            return None  # a mapping's own keys (and a dict of dicts) are free-form
        return None if i == len(parts) - 1 else f"{'.'.join(parts[:i + 1])} is a value, not a section"
    return None


def _trident_call(words: list[str]) -> tuple[list[str], list[str]] | None:
    """(subcommand path, the words after it) of a trident command line, or None."""
    if words[0] == "trident":
        rest = words[1:]
    elif "-m" in words and words.index("-m") + 1 < len(words) and words[words.index("-m") + 1] == "trident":
        rest = words[words.index("-m") + 2:]
    else:
        return None
    if not rest or rest[0].startswith("-") or PLACEHOLDER.search(rest[0]):
        return [], rest
    sub = [rest[0]]
    # down the nested subcommands (`data mine`, `data corpus build`) as far as --help lists them
    while len(sub) < len(rest) and not rest[len(sub)].startswith("-") and rest[len(sub)] in _subcommands(*sub):
        sub.append(rest[len(sub)])
    return sub, rest[len(sub):]


def _check_trident(words: list[str], where: str) -> list[str]:
    call = _trident_call(words)
    if call is None:
        return []
    sub, rest = call
    if not sub:
        return []
    problems = []
    known = _subcommands(*sub[:-1])
    if sub[-1] not in known:
        return [f"{where}: `trident {' '.join(sub)}`: no such subcommand (known: {', '.join(sorted(known))})"]
    options = _options(*sub)
    config, overrides = None, []
    it = iter(rest)
    for word in it:
        if not word.startswith("--"):
            continue
        name = word.split("=", 1)[0]
        if name == "--config":
            config = word.split("=", 1)[1] if "=" in word else next(it, None)
            continue
        if name in options:
            continue
        if tuple(sub) in TAKES_OVERRIDES and "=" in word:
            problem = _config_key_problem(name[2:])
            if problem:
                problems.append(f"{where}: `{word}`: {problem}")
            overrides.append(word)
            continue
        problems.append(f"{where}: `trident {' '.join(sub)}` has no option {name}")
    concrete = not any(PLACEHOLDER.search(o) or o.startswith("--loss.plugins") for o in overrides)
    if tuple(sub) in TAKES_OVERRIDES and not problems and concrete and (config is None or not PLACEHOLDER.search(config)):
        try:
            load_config(ROOT / config if config else None, overrides)
        except TridentError as exc:
            problems.append(f"{where}: {' '.join(words)}: {exc}")
    return problems


def _check_report(words: list[str], where: str) -> list[str]:
    if len(words) < 2 or not words[0].startswith("python") or words[1] != "analysis/report.py":
        return []
    options = _options("analysis/report.py")
    return [f"{where}: python analysis/report.py has no option {w.split('=', 1)[0]}"
            for w in words[2:] if w.startswith("--") and w.split("=", 1)[0] not in options]


def _check_make(words: list[str], where: str) -> list[str]:
    if words[0] != "make":
        return []
    named = [w for w in words[1:] if not w.startswith("-") and "=" not in w and not PLACEHOLDER.search(w)]
    return [f"{where}: `make {t}`: no such target in the Makefile" for t in named if t not in _make_targets()]


def _shell_problems() -> tuple[list[str], int]:
    problems, checked = [], 0
    for block in _blocks(*SHELL):
        for words in _commands(block):
            while words and re.fullmatch(r"[A-Z_][A-Z0-9_]*=\S*", words[0]):  # VAR=value before a command
                words = words[1:]
            if not words:
                continue
            found = _check_make(words, block.where) + _check_trident(words, block.where) + _check_report(words, block.where)
            checked += words[0] == "make" or _trident_call(words) is not None or "analysis/report.py" in words[:2]
            problems += found
    for page, prose in _pages()[1].items():
        for span in _inline_code(prose):
            where = f"{page.relative_to(ROOT)}: `{span}`"
            if span.startswith(("make ", "trident ")):
                try:
                    words = shlex.split(span)
                except ValueError:
                    continue
                problems += _check_make(words, where) + _check_trident(words, where)
            elif re.fullmatch(r"--[a-z_]+(\.[\w<>]+)+(=.*)?", span) or CONFIG_SPAN.fullmatch(span):
                problem = _config_key_problem(span.removeprefix("--").split("=", 1)[0])
                if problem:
                    problems.append(f"{where}: {problem}")
    return problems, checked


def test_commands_in_the_docs_exist():
    problems, checked = _shell_problems()
    assert checked >= 30, f"only {checked} make/trident commands found in the docs' shell blocks"
    assert not problems, "\n".join(problems)


def test_config_keys_are_checked_against_the_dataclasses():
    # the checker itself, on keys worked out by hand from trident/config.py
    assert _config_key_problem("train.lr") is None
    assert _config_key_problem("loss.components.kl.start") is None
    assert _config_key_problem("loss.components.<name>.<key>") is None
    assert _config_key_problem("loss.hidden_layers.encoder.2") is None
    assert _config_key_problem("teacher_seed") is None
    assert "unknown config key train.bogus" in _config_key_problem("train.bogus")
    assert "unknown config key loss.components.kl.begin" in _config_key_problem("loss.components.kl.begin")
    assert "is a value" in _config_key_problem("train.lr.max")
    assert _check_trident(["trident", "train", "--train.lr=0"], "x"), "lr 0 is out of range and must be reported"
    assert _check_trident(["trident", "evaluate", "--run", "r", "--no-such-flag"], "x")
    assert _check_trident(["trident", "trian"], "x")
    assert _check_make(["make", "no-such-target"], "x") and not _check_make(["make", "sweep-gkd", "STUDY=x"], "x")


# ---- files and links ---------------------------------------------------------------------------

def _named_paths() -> list[tuple[str, str]]:
    """(where, path) of every repository path the docs name, outside ```text output blocks."""
    found = []
    config_files = re.compile(r"(?<![\w/.-])((?:experiments|sweeps)/[\w.-]+\.ya?ml)\b")
    code_paths = re.compile(r"(?<![\w/.-])((?:trident|tests|benchmarks|analysis)/[\w./-]*[\w/])")
    for block in _pages()[0]:
        if block.lang != "text":
            found += [(block.where, p) for p in config_files.findall(block.text)]
            found += [(block.where, p) for p in code_paths.findall(block.text) if block.lang in SHELL]
    for page, prose in _pages()[1].items():
        where = str(page.relative_to(ROOT))
        found += [(where, p) for p in config_files.findall(prose)]
        for span in _inline_code(prose):
            found += [(where, p) for p in code_paths.findall(span)]
    return found


def test_the_files_the_docs_name_exist():
    named = _named_paths()
    assert any(p == "sweeps/beta.yaml" for _, p in named) and any(p.startswith("trident/") for _, p in named)
    missing = [f"{where}: {path}" for where, path in named if not (ROOT / path).exists()]
    assert not missing, "named but not in the repository:\n" + "\n".join(missing)


def _anchors(page: Path) -> set[str]:
    blocks, prose = _parse(page)
    heads = re.findall(r"(?m)^#{1,6} (.+?)\s*$", prose)
    return {slugify(re.sub(r"[`*]", "", h), "-") for h in heads}


def test_links_reach_a_page_and_a_heading():
    problems, links = [], 0
    for page, prose in _pages()[1].items():
        for target, anchor in re.findall(r"\]\(([^)#\s]*)(?:#([^)\s]+))?\)", prose):
            if re.match(r"[a-z]+:", target):
                continue
            links += 1
            dest = (page.parent / target).resolve() if target else page
            if not dest.exists():
                problems.append(f"{page.relative_to(ROOT)}: link to {target}: no such file")
            elif anchor and anchor not in _anchors(dest):
                problems.append(f"{page.relative_to(ROOT)}: link to {target}#{anchor}: no such heading")
    assert links >= 30, links
    assert not problems, "\n".join(problems)
