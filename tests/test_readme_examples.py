"""The README's "Extending trident" examples, run as written: a plugin component, a reward, a
sweep engine and an importer. In a subprocess, so their registrations do not leak into other tests."""
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _examples() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## Extending trident"):]
    section = section[:section.index("\n## ", 1)] if "\n## " in section[1:] else section
    return re.findall(r"```python\n(.*?)```", section, re.S)


def test_the_readme_extension_examples_work(tmp_path):
    component, reward, engine, importer = _examples()
    (tmp_path / "my_terms.py").write_text(component)
    (tmp_path / "my_reward.py").write_text(reward)
    (tmp_path / "my_engine.py").write_text(engine)
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


def test_the_readme_importer_example_works(tmp_path, capsys):
    importer = _examples()[3]
    (tmp_path / "csv_importer.py").write_text(importer)
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
