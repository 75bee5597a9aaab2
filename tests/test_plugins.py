"""A loss component from the user's own code, through `--loss.plugins`."""
import csv
import textwrap

import pytest
import torch

from conftest import tiny_overrides
from trident.cli import main
from trident.config import load_config
from trident.errors import ConfigError
from trident.losses.multi import MultiComponentLoss
from trident.losses.registry import COMPONENTS, LossInputs

PLUGIN = textwrap.dedent('''
    """A user's component: the mean entropy of the student's next-token distributions."""
    import torch

    from trident.losses.registry import register_component


    @register_component("entropy_{tag}", kind="token", doc="mean entropy of the student's predictions")
    def entropy(inputs, cfg):
        logp = torch.log_softmax(inputs.student_logits.float(), -1)
        per_token = -(logp.exp() * logp).sum(-1)
        real = inputs.labels != -100
        return per_token[real].mean()
''')


def _plugin(tmp_path, tag: str):
    path = tmp_path / f"user_terms_{tag}.py"
    path.write_text(PLUGIN.replace("{tag}", tag))
    return path


def test_a_plugin_component_is_resolved_and_moves_the_student(tmp_path):
    path = _plugin(tmp_path, "unit")
    cfg = load_config(None, [f"--loss.plugins={path}", "--loss.components={entropy_unit: {start: 1.0}}",
                             "--loss.components.focal.start=0", "--loss.components.focal.end=0"])
    assert cfg.loss.plugins == [str(path)] and COMPONENTS["entropy_unit"].kind == "token"
    logits = torch.randn(2, 3, 7, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([[1, 2, -100], [3, -100, -100]])
    loss_fn = MultiComponentLoss(cfg.loss)
    only = MultiComponentLoss(load_config(None, [f"--loss.plugins={path}", "--loss.components={entropy_unit: {start: 1.0}}",
                                                 "--loss.components.focal.start=0", "--loss.components.focal.end=0",
                                                 "--loss.components.jsd.start=0", "--loss.components.jsd.end=0"]).loss)
    assert "entropy_unit" in loss_fn.names
    _, parts, terms = only(LossInputs(logits, labels, teacher_logits=torch.randn(2, 3, 7, dtype=torch.float64)))
    # the value, against a float64 reference computed here
    p = torch.softmax(logits.detach(), -1)
    ref = -(p * p.log()).sum(-1)[labels != -100].mean()
    assert parts["entropy_unit/raw"].item() == pytest.approx(ref.item(), rel=1e-6)  # the plugin computes in float32
    terms["entropy_unit"].backward()
    assert logits.grad is not None and logits.grad[labels != -100].abs().sum() > 0


def test_a_missing_plugin_or_unknown_component_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"loss.plugins: cannot import 'no_such_module_xyz'"):
        load_config(None, ["--loss.plugins=no_such_module_xyz"])
    with pytest.raises(ConfigError, match=r"loss.plugins: cannot import .*nothing_here.py"):
        load_config(None, [f"--loss.plugins={tmp_path / 'nothing_here.py'}"])
    with pytest.raises(ConfigError, match=r"unknown loss component 'entropy_missing'; available: .*ce"):
        load_config(None, ["--loss.components={entropy_missing: {start: 1.0}}"])


def test_trident_train_uses_a_plugin_component(synth_dir, tmp_path, capsys):
    path = _plugin(tmp_path, "cli")
    args = ["--config", "experiments/legacy.yaml",
            *tiny_overrides(synth_dir, tmp_path / "runs", name="plugged"),
            f"--loss.plugins={path}", "--loss.components={entropy_cli: {start: 0.1}}"]
    assert main(["train", *args]) == 0
    run = tmp_path / "runs" / "plugged"
    with open(run / "step_metrics.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and all(float(r["entropy_cli/weight"]) == pytest.approx(0.1) for r in rows)
    assert all(float(r["entropy_cli/raw"]) > 0 for r in rows)
    # the run's saved config names the plugin, so a later process (evaluate) resolves it again
    assert load_config(run / "config.yaml").loss.plugins == [str(path)]
    assert main(["evaluate", "--run", str(run), "--split", "val"]) == 0
