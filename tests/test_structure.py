"""The package's shape: no import cycles in trident/, nothing imported from outside it, no
module taking another's private names. Read from the source (every import statement, also
those inside functions), so a late import cannot hide a cycle."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "trident"


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT.parent).with_suffix("").parts
        out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]):
    """(imported trident module, names taken from it) for every import statement of `name`."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, ()
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                yield (sub, ()) if sub in modules else (base, (alias.name,))


def _graph():
    modules = _modules()
    graph = {m: set() for m in modules}
    for name, path in modules.items():
        for target, _ in _imports(name, path, modules):
            if target in modules and target != name and not name.startswith(target + "."):
                graph[name].add(target)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (iterative Tarjan)."""
    index, low, on, stack, out, counter = {}, {}, set(), [], [], [0]

    def visit(root):
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter[0]; counter[0] += 1; stack.append(root); on.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]; counter[0] += 1; stack.append(child); on.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        top = stack.pop(); on.discard(top); component.append(top)
                        if top == node:
                            break
                    if len(component) > 1:
                        out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_trident_has_no_import_cycle():
    assert _cycles(_graph()) == []


def test_trident_imports_nothing_from_the_analysis_scripts_or_tests():
    modules = _modules()
    for name, path in modules.items():
        for target, _ in _imports(name, path, modules):
            top = target.split(".")[0]
            assert top not in ("analysis", "tests", "benchmarks"), f"{name} imports {target}"


def test_no_module_takes_another_modules_private_names():
    modules = _modules()
    for name, path in modules.items():
        for target, names in _imports(name, path, modules):
            if target.startswith("trident") and target != name:
                private = [n for n in names if n.startswith("_") and not n.startswith("__")]
                assert not private, f"{name} imports private {private} from {target}"


def test_no_module_reaches_into_another_modules_private_attributes():
    """`from trident import metrics as tm` then `tm._helper(...)` is the same reach as importing it."""
    modules = _modules()
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        aliases = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("trident"):
                aliases |= {a.asname or a.name for a in node.names if f"{node.module}.{a.name}" in modules}
            elif isinstance(node, ast.Import):
                aliases |= {a.asname for a in node.names if a.asname and a.name.startswith("trident")}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                raise AssertionError(f"{name} uses {node.value.id}.{node.attr}")


REGISTRIES = {  # module: the registries it holds
    "trident.losses.registry": ["COMPONENTS", "REWARDS"],
    "trident.schedules": ["SCHEDULES"],
    "trident.sweeps.distributions": ["KINDS"],
    "trident.sweeps.registry": ["ENGINES"],
    "trident.data.importers.registry": ["IMPORTERS"],
}


def _registered(imports: list[str], shown: list[str]) -> dict:
    """The names in the registries of the modules `shown` after a fresh interpreter imports
    only `imports` (and `shown`, which import nothing of each other's)."""
    import json
    import subprocess
    import sys

    probe = "; ".join([*(f"import {m}" for m in [*imports, *shown]), "import json, sys",
                       f"regs = {({m: REGISTRIES[m] for m in shown})!r}",
                       "print(json.dumps({m + '.' + r: sorted(getattr(sys.modules[m], r))"
                       " for m, rs in regs.items() for r in rs}))"])
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True,
                          cwd=ROOT.parent)
    return json.loads(done.stdout.splitlines()[-1])


def test_every_registry_is_complete_whoever_imports_it_first():
    """A test file run alone imports one registry and nothing else: the built-ins must be there
    already, not registered later by some other module's import (test_rewards once failed alone)."""
    everything = _registered(["trident.cli", "trident.losses.multi", "trident.trainer"], list(REGISTRIES))
    assert everything["trident.losses.registry.REWARDS"] and everything["trident.losses.registry.COMPONENTS"]
    for module, names in REGISTRIES.items():
        alone = _registered([], [module])
        for name in names:
            key = f"{module}.{name}"
            assert alone[key] == everything[key], key
