"""Errors before work: a model name, sweep file, run or config file that cannot be used is one
line on stderr and exit 2, before anything is generated, trained or written (issue 22, item 2).

The CLI runs as a subprocess (`python -m trident`) in a scratch folder holding a copy of
experiments/, with its own empty Hugging Face cache; nothing here reaches the network: the hub
is either off (HF_HUB_OFFLINE=1), a closed local port, or a stub server in this process."""
import http.server
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from trident.errors import ModelNameError, SweepError
from trident.model_names import ModelRef, resolve_models
from trident.sweeps.spec import load_sweep

ROOT = Path(__file__).resolve().parents[1]
HUB_NAME = "trident-tests/no-such-model"  # never cached, never on a hub these tests can reach


@pytest.fixture
def work(tmp_path):
    """A scratch working folder with the shipped run configs, as a checkout has them."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "experiments", work / "experiments")
    return work


@pytest.fixture
def closed_port():
    """A local port that refuses connections: bound, never listening (held until the test ends)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def _env(tmp_path, hub: str, port: int | None = None) -> dict:
    """The environment of a CLI run: its own empty HF cache; `hub` "offline" or "closed" (the
    endpoint a closed port, offline mode unset, as on a machine without network)."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_ENDPOINT")}
    env.update(HF_HOME=str(tmp_path / "hf-home"), HF_HUB_CACHE=str(tmp_path / "hf-cache"), WANDB_MODE="disabled")
    if hub == "offline":
        env["HF_HUB_OFFLINE"] = "1"
    else:
        env["HF_ENDPOINT"] = f"http://127.0.0.1:{port}"
    return env


def _trident(cwd: Path, env: dict, *args: str, timeout: float = 120) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "trident", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout)
    return done, time.monotonic() - start


def _listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def _one_error_line(done: subprocess.CompletedProcess) -> str:
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and lines[0].startswith("trident: error: "), done.stderr
    return lines[0].removeprefix("trident: error: ")


# ---- model names -------------------------------------------------------------------------------

def test_a_misspelt_preset_is_named_with_the_preset_meant_before_any_data_exists(work, tmp_path):
    before = _listing(work)
    # legacy.yaml generates data/synth (data.synth_n: 6000) and trains a teacher when they are missing
    assert yaml.safe_load((work / "experiments" / "legacy.yaml").read_text())["data"]["synth_n"] > 0
    done, seconds = _trident(work, _env(tmp_path, "offline"), "train", "--config", "experiments/legacy.yaml",
                             "--model.student=tiny-studnt")
    assert _one_error_line(done) == "model.student: unknown preset 'tiny-studnt'; did you mean tiny-student?"
    assert seconds < 5
    assert _listing(work) == before  # no data/synth, no runs/, no config.yaml or .lock


def test_names_that_are_neither_preset_nor_folder_nor_hub_name_are_refused_by_kind(tmp_path):
    with pytest.raises(ModelNameError) as caught:
        resolve_models([ModelRef("model.teacher", "tiny-teacher", presets=("tiny-teacher", "tiny-student")),
                        ModelRef("model.student", "bert", presets=("tiny-teacher", "tiny-student"))])
    assert str(caught.value) == ("model.student: unknown preset 'bert'; built in: tiny-teacher, tiny-student "
                                 "(a hub model is named owner/name; a folder by its path)")
    # where no preset is built in (a checkpoint, a tokenizer), a name without "/" is a missing folder
    with pytest.raises(ModelNameError, match=r"^model.tokenizer: no folder tok \(a hub model is named owner/name\)$"):
        resolve_models([ModelRef("model.tokenizer", "tok", "tokenizer")])
    # more than one "/": a path, never a hub name
    with pytest.raises(ModelNameError, match=r"^model.teacher_checkpoint: no folder runs/teacher-x/model "):
        resolve_models([ModelRef("model.teacher_checkpoint", "runs/teacher-x/model")])
    empty = tmp_path / "empty-model"
    empty.mkdir()
    with pytest.raises(ModelNameError, match=f"^model.student: the folder {empty} holds no config.json"):
        resolve_models([ModelRef("model.student", str(empty))])
    (empty / "config.json").write_text("{}")
    assert [r.source for r in resolve_models([ModelRef("model.student", str(empty))])] == ["folder"]
    with pytest.raises(ModelNameError, match=r"^loss.semantic_model: unknown encoder 'all-MiniLM-L6-v3'; "
                                             r"did you mean all-MiniLM-L6-v2\?$"):
        from trident.model_names import encoder_ref

        resolve_models([encoder_ref("loss.semantic_model", "all-MiniLM-L6-v3")])


@pytest.mark.parametrize("hub", ["offline", "closed"])
@pytest.mark.parametrize("command,key", [("train", "model.student"), ("train", "model.teacher"),
                                         ("train", "model.teacher_checkpoint"), ("train", "model.tokenizer"),
                                         ("teacher", "model.teacher")])
def test_a_hub_name_the_hub_cannot_serve_is_one_line_at_once_and_leaves_nothing(work, tmp_path, closed_port, hub,
                                                                                 command, key):
    before = _listing(work)
    done, seconds = _trident(work, _env(tmp_path, hub, closed_port), command, "--config", "experiments/legacy.yaml",
                             f"--{key}={HUB_NAME}")
    line = _one_error_line(done)
    why = "HF_HUB_OFFLINE=1 is set" if hub == "offline" else f"http://127.0.0.1:{closed_port}: ConnectError"
    assert line.startswith(f"{key}: {HUB_NAME} is a Hugging Face hub name with no copy in the local cache, and the "
                           f"hub is unreachable ({why}")
    files = "tokenizer_config.json, tokenizer.json or config.json" if key == "model.tokenizer" else "config.json"
    assert line.endswith("either fetch it once where the hub is reachable (HF_HUB_OFFLINE=1 then uses the cached "
                         f"copy), or give a local folder holding it (its {files}): --{key}=FOLDER")
    assert "Retrying" not in done.stdout + done.stderr and done.stdout == ""
    assert seconds < 5  # huggingface_hub's own retries wait 1+2+4+8+8 s per file
    assert _listing(work) == before  # no data/synth, no runs/<name>, no runs/teacher-<hash>


@pytest.fixture
def cached_teacher(tmp_path):
    """A fine-tuned-teacher stand-in stored in an HF cache as `hf_hub_download` lays one out
    (refs/main → snapshots/<commit>/…), under the hub name trident-tests/tiny-teacher."""
    from trident.models import build_model, train_tokenizer

    repo = tmp_path / "hf-cache" / "models--trident-tests--tiny-teacher"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    tokenizer = train_tokenizer(["assertEquals(1, f(x));", "int f(int x) { return x; }"] * 50, 300)
    build_model("tiny-teacher", tokenizer, 0).save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    return "trident-tests/tiny-teacher"


@pytest.mark.parametrize("hub", ["offline", "closed"])
def test_a_cached_hub_copy_is_used_without_the_hub(work, tmp_path, closed_port, cached_teacher, synth_dir, hub):
    """The check reads the cache instead of asking the hub; with the hub unreachable (not offline)
    the run goes on offline, so the libraries load the cached copy without retrying the hub."""
    done, _ = _trident(work, _env(tmp_path, hub, closed_port), "teacher", "--cache-logits",
                       "--config", "experiments/legacy.yaml", f"--model.teacher_checkpoint={cached_teacher}",
                       f"--data.dir={synth_dir}", "--data.max_source_len=64", "--data.max_target_len=24",
                       "--tracking.progress=false", "--teacher.top_k=4", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "Retrying" not in done.stderr
    note = f"[trident] the Hugging Face hub is unreachable (http://127.0.0.1:{closed_port}: ConnectError"
    assert (note in done.stderr) == (hub == "closed")
    assert '"teacher": "trident-tests/tiny-teacher"' in done.stdout
    assert list((work / "runs" / ".cache" / "teacher-logits").glob("*/meta.json"))


class _StubHub(http.server.BaseHTTPRequestHandler):
    """Answers HEAD …/resolve/main/<file> like the hub: 200 for trident-tests/tiny's config.json,
    404 EntryNotFound for every other file of trident-tests/*, 404 RepoNotFound for other repos,
    503 for busy/*."""
    requests: list[str] = []

    def do_HEAD(self):
        type(self).requests.append(self.path)
        if self.path.startswith("/busy/"):
            self.send_response(503)
        elif self.path == "/trident-tests/tiny/resolve/main/config.json":
            self.send_response(200)
            self.send_header("ETag", '"abc"')
            self.send_header("X-Repo-Commit", "0" * 40)
            self.send_header("Content-Length", "2")
        elif self.path.startswith("/trident-tests/"):
            self.send_response(404)
            self.send_header("X-Error-Code", "EntryNotFound")
        else:
            self.send_response(404)
            self.send_header("X-Error-Code", "RepoNotFound")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def stub_hub():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StubHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _StubHub.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _resolve_in_subprocess(tmp_path, endpoint: str, ref: str) -> subprocess.CompletedProcess:
    """resolve_models on one ref (python literal), in a process whose huggingface_hub reads HF_ENDPOINT."""
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf-home"), HF_HUB_CACHE=str(tmp_path / "hf-cache"))
    code = ("import sys\nfrom trident.errors import ModelNameError\nfrom trident.model_names import ModelRef, "
            f"resolve_models\ntry:\n    print([(r.source, r.location) for r in resolve_models([{ref}])])\n"
            "except ModelNameError as exc:\n    sys.exit(f'error: {exc}')\n")
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)


def test_a_reachable_hub_is_asked_once_per_file_and_its_answer_is_one_line(tmp_path, stub_hub):
    ok = _resolve_in_subprocess(tmp_path, stub_hub, "ModelRef('model.student', 'trident-tests/tiny')")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"[('hub', '{stub_hub}/trident-tests/tiny/resolve/main/config.json')]"

    missing = _resolve_in_subprocess(tmp_path, stub_hub, "ModelRef('model.student', 'someone/nothing')")
    assert missing.stderr.strip() == (f"error: model.student: no model someone/nothing on the hub ({stub_hub}), and "
                                      "no folder of that name here; check the name (or, for a private model, log "
                                      "in: hf auth login)")
    # a tokenizer is shown by any of three files: asked for in turn, until one is there
    _StubHub.requests.clear()
    tokenizer = _resolve_in_subprocess(tmp_path, stub_hub, "ModelRef('model.tokenizer', 'trident-tests/tiny', "
                                                           "'tokenizer')")
    assert tokenizer.stdout.strip() == f"[('hub', '{stub_hub}/trident-tests/tiny/resolve/main/config.json')]"
    assert _StubHub.requests == [f"/trident-tests/tiny/resolve/main/{f}"
                                 for f in ("tokenizer_config.json", "tokenizer.json", "config.json")]
    bare = _resolve_in_subprocess(tmp_path, stub_hub, "ModelRef('model.student', 'trident-tests/bare')")
    assert bare.stderr.strip() == ("error: model.student: trident-tests/bare on the hub has no config.json: not a "
                                   "model transformers can load")
    _StubHub.requests.clear()
    busy = _resolve_in_subprocess(tmp_path, stub_hub, "ModelRef('model.student', 'busy/model')")
    assert busy.stderr.strip().startswith("error: model.student: busy/model is a Hugging Face hub name with no copy "
                                          f"in the local cache, and the hub is unreachable ({stub_hub} answered "
                                          "HTTP 503)")
    assert _StubHub.requests == ["/busy/model/resolve/main/config.json"]  # one request: no retries


# ---- sweep files -------------------------------------------------------------------------------

def _sweep_file(folder: Path, parameters: dict, name: str = "s", method: str = "grid") -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump({
        "name": name, "program": "trident", "method": method, "metric": {"name": "eval/f1", "goal": "maximize"},
        "parameters": parameters,
        "command": ["${env}", "${interpreter}", "-m", "trident", "train", "--config=experiments/legacy.yaml",
                    "${args}"]}, sort_keys=False))
    return path


@pytest.mark.parametrize("parameters,problem", [
    ({"loss.semantic_los_scale": {"values": [3, 5, 7]}},
     "parameter loss.semantic_los_scale: no such config key; did you mean loss.semantic_loss_scale?"),
    ({"loss.semantic_loss_scale": {"value": [3, 5, 7]}},
     "parameter loss.semantic_loss_scale: value: [3, 5, 7] is one value, a list, and loss.semantic_loss_scale "
     "takes a number or auto; did you mean values: [3, 5, 7]?"),
    ({"model.student": {"values": ["tiny-student", "tiny-studnt"]}},
     "model.student: unknown preset 'tiny-studnt'; did you mean tiny-student?"),
    ({"config": {"values": ["experiments/legacy.yaml", "experiments/legcy.yaml"]}},
     "config file experiments/legcy.yaml does not exist; did you mean experiments/legacy.yaml?"),
])
def test_a_sweep_file_that_cannot_run_is_refused_before_its_study_exists(work, tmp_path, parameters, problem):
    path = _sweep_file(work, parameters)
    before = _listing(work)
    storage = tmp_path / "study.db"
    done, _ = _trident(work, _env(tmp_path, "offline"), "sweep", "s.yaml", "--storage", f"sqlite:///{storage}")
    assert _one_error_line(done) == f"s.yaml: {problem}"
    assert "Traceback" not in done.stderr and done.stdout == ""
    assert not storage.exists()
    assert _listing(work) == before and path.name in before
    assert not (work / "sweeps").exists()  # nor the default storage's folder, sweeps/studies


@pytest.mark.parametrize("parameter,problem", [
    ({"lr": {"values": [1e-3]}}, "parameter lr: no such config key; did you mean train.lr?"),
    ({"loss.temperature": {"valus": [1, 2]}}, "parameter loss.temperature: unknown key valus; did you mean values?"),
    ({"train.batch_size": {"distribution": "uniform", "min": 4, "max": 16}},
     "parameter train.batch_size: distribution uniform draws real numbers, but train.batch_size takes an integer; "
     "use int_uniform, or a q_ distribution with a whole q"),
    ({"train.batch_size": {"distribution": "int_uniform", "min": 0, "max": 16}},
     "parameter train.batch_size: min: expected >= 1, got 0"),
    ({"train.batch_size": {"values": [8, 2.5]}}, "parameter train.batch_size: values: expected int, got 2.5"),
    ({"model.student": {"distribution": "uniform", "min": 0, "max": 1}},
     "parameter model.student: distribution uniform draws numbers, but model.student takes text; give its choices "
     "as values"),
    ({"train.lr": {"distribution": "log_uniform_values", "min": -1, "max": 1}},
     "parameter train.lr: min: expected > 0, got -1.0"),
    ({"train.precision": {"values": ["fp32", "fp64"]}},
     "parameter train.precision: values: expected one of fp32, bf16, fp16, got 'fp64'"),
    ({"loss.components.kl": {"values": [{"start": 0.1, "end": -1}]}},
     "parameter loss.components.kl: values: loss.components.kl.end: expected >= 0, got -1.0"),
])
def test_sweep_parameters_are_checked_against_the_config_schema(tmp_path, parameter, problem):
    path = _sweep_file(tmp_path, parameter, method="random")
    with pytest.raises(SweepError) as caught:
        load_sweep(path)
    assert str(caught.value) == f"{path}: {problem}"


def test_sweep_parameters_the_schema_takes_load(tmp_path):
    spec = load_sweep(_sweep_file(tmp_path, {
        "train.batch_size": {"distribution": "q_uniform", "min": 4, "max": 16, "q": 4},  # whole q: integers
        "loss.components.kl.end": {"distribution": "uniform", "min": 0.0, "max": 0.5},
        "loss.semantic_loss_scale": {"values": [1, "auto"]},
        "config": {"values": ["experiments/legacy.yaml"]},
        "loss.plugins": {"value": ["my_plugin"]}}, method="random"))
    assert list(spec.parameters) == ["train.batch_size", "loss.components.kl.end", "loss.semantic_loss_scale",
                                     "config", "loss.plugins"]


# ---- runs and config files ---------------------------------------------------------------------

def test_evaluating_a_run_that_does_not_exist_says_so(work, tmp_path):
    done, _ = _trident(work, _env(tmp_path, "offline"), "evaluate", "--run", "runs/nope")
    assert _one_error_line(done) == "no run at runs/nope"
    (work / "runs" / "empty").mkdir(parents=True)
    done, _ = _trident(work, _env(tmp_path, "offline"), "evaluate", "--run", "runs/empty")
    assert _one_error_line(done) == "no run at runs/empty: the folder holds no config.yaml"


@pytest.mark.parametrize("given,meant", [("legacy", "experiments/legacy.yaml"),
                                         ("experiments/legacy", "experiments/legacy.yaml"),
                                         ("experiments/trident-v1-gk.yaml", "experiments/trident-v1-gkd.yaml")])
def test_a_config_file_that_does_not_exist_is_named_with_the_one_meant(work, tmp_path, given, meant):
    before = _listing(work)
    done, _ = _trident(work, _env(tmp_path, "offline"), "train", "--config", given)
    assert _one_error_line(done) == f"config file {given} does not exist; did you mean {meant}?"
    assert _listing(work) == before


def test_a_config_file_like_none_gets_no_suggestion(work, tmp_path):
    done, _ = _trident(work, _env(tmp_path, "offline"), "train", "--config", "nothing")
    assert _one_error_line(done) == "config file nothing does not exist"
