"""The README's "Extending trident" examples, run as written: a plugin component, a reward and
a sweep engine. In a subprocess, so their registrations do not leak into other tests."""
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
    component, reward, engine = _examples()
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
