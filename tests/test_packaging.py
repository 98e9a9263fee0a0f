"""ftx as users get it: a wheel built from the repository, installed into a clean virtual
environment (no system site-packages, only the base dependencies), and an editable install; then a
third-party plugin package and a broken one installed next to it.

Each scenario builds its venv once (module-scoped fixtures); the time each step takes is printed at
the end of the module. Dependencies come from the configured package index or pip's cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
VERSION = PYPROJECT["project"]["version"]
BUILTINS = PYPROJECT["project"]["entry-points"]["ftx"]
BASE_DEPS = PYPROJECT["project"]["dependencies"]
# source folder -> where its files land in the wheel (pyproject's package-dir)
PACKAGE_DIRS = {src: pkg.replace(".", "/") for pkg, src in PYPROJECT["tool"]["setuptools"]["package-dir"].items()}
HEAVY = ("torch", "transformers", "peft", "trl", "accelerate", "bitsandbytes", "datasets", "openai",
         "tiktoken", "google")
# hooks each built-in must implement (they may implement more)
BUILTIN_HOOKS = {
    "formats": {"ftx_register_formats"},
    "methods": {"ftx_register_methods"},
    "local": {"ftx_register_backends"},
    "openai": {"ftx_register_backends"},
    "vertex": {"ftx_register_backends"},
}
SKIP_COPY = shutil.ignore_patterns(".venv", ".git", "build", "dist", "*.egg-info", "__pycache__", "*.pyc",
                                   ".pytest_cache", "runs", ".ftx-home", "out", ".whl")

TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module", autouse=True)
def report_timings(request):
    yield
    lines = [f"  {step:<42} {seconds:6.1f} s" for step, seconds in TIMINGS.items()]
    lines.append(f"  {'total':<42} {sum(TIMINGS.values()):6.1f} s")
    text = "\n[test_packaging] time per step:\n" + "\n".join(lines)
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if capture is not None and reporter is not None:
        with capture.global_and_fixture_disabled():  # shown even without -s
            reporter.write_line(text)
    else:  # pragma: no cover
        print(text, file=sys.__stderr__)


def timed(step: str, cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, **kwargs)
    TIMINGS[step] = TIMINGS.get(step, 0.0) + time.perf_counter() - start
    assert proc.returncode == 0, f"{step} failed ({' '.join(map(str, cmd))}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def pip(*args: str, step: str) -> subprocess.CompletedProcess:
    """The project venv's pip (it can install into another interpreter with --python)."""
    return timed(step, [sys.executable, "-m", "pip", "--disable-pip-version-check", *args])


def build_wheels(sources: list[Path], tmp: Path, step: str) -> list[Path]:
    """Build from copies (one pip call), so setuptools' build/ and egg-info never touch, or come
    from, the tree."""
    out = tmp / "wheels"
    copies = []
    for src in sources:
        copies.append(tmp / f"src-{src.name}")
        shutil.copytree(src, copies[-1], ignore=SKIP_COPY)
    pip("wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), *map(str, copies), step=step)
    wheels = sorted(out.glob("*.whl"))
    assert len(wheels) == len(sources), wheels
    return wheels


@dataclass
class Venv:
    root: Path
    home: Path

    @property
    def python(self) -> Path:
        return self.root / "bin" / "python"

    @property
    def site(self) -> Path:
        (site,) = (self.root / "lib").glob("python3*/site-packages")
        return site

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV") and not k.startswith("FTX_")}
        env.update(PATH=f"{self.root / 'bin'}{os.pathsep}{env.get('PATH', '')}", VIRTUAL_ENV=str(self.root),
                   FTX_HOME=str(self.home), COLUMNS="200", **extra)
        return env

    def run(self, *args: str, ok: bool = True, cwd: Path | None = None, **env: str) -> subprocess.CompletedProcess:
        """Run a program of this venv (``ftx ...``, ``python ...``) outside the repository."""
        exe = self.root / "bin" / args[0]
        proc = subprocess.run([str(exe), *args[1:]], capture_output=True, text=True, timeout=300,
                              cwd=cwd or self.home, env=self.env(**env))
        if ok:
            assert proc.returncode == 0, f"{' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
        return proc

    def ftx(self, *args: str, **kw) -> subprocess.CompletedProcess:
        return self.run("ftx", *args, **kw)


def make_venv(tmp: Path, step: str) -> Venv:
    """A clean venv: no system site-packages, no pip (the project's pip installs into it)."""
    root = tmp / "venv"
    timed(step, [sys.executable, "-m", "venv", "--without-pip", str(root)])
    home = tmp / "home"
    home.mkdir()
    venv = Venv(root, home)
    cfg = (root / "pyvenv.cfg").read_text()
    assert "include-system-site-packages = false" in cfg
    return venv


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    (built,) = build_wheels([ROOT], tmp_path_factory.mktemp("ftx-wheel"), "build ftx wheel")
    return built


@pytest.fixture(scope="module")
def wheel_venv(wheel, tmp_path_factory) -> Venv:
    venv = make_venv(tmp_path_factory.mktemp("wheel-venv"), "create clean venv (wheel)")
    pip("--python", str(venv.python), "install", "-q", str(wheel), step="install wheel + base deps")
    return venv


@pytest.fixture(scope="module")
def editable_venv(tmp_path_factory) -> Venv:
    venv = make_venv(tmp_path_factory.mktemp("editable-venv"), "create clean venv (editable)")
    # --no-build-isolation builds with the target venv's own setuptools
    pip("--python", str(venv.python), "install", "-q", "setuptools>=68", "wheel", step="install setuptools (editable)")
    pip("--python", str(venv.python), "install", "-q", "--no-build-isolation", "-e", str(ROOT),
        step="pip install -e repo")
    return venv


# -- the wheel -----------------------------------------------------------------------------------

def test_wheel_holds_only_the_ftx_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = f"ftx-{VERSION}.dist-info/"
    stray = [n for n in names if not (n.startswith("ftx/") or n.startswith(dist_info))]
    assert stray == [], f"the wheel installs files outside the ftx package: {stray}"


def test_wheel_holds_every_source_and_data_file(wheel):
    """A subpackage missing from pyproject's packages, or data missing from package-data, fails here."""
    names = set(zipfile.ZipFile(wheel).namelist())
    missing = []
    for src, pkg in PACKAGE_DIRS.items():
        for path in sorted((ROOT / src).rglob("*")):
            rel = path.relative_to(ROOT / src)
            if path.is_dir() or "__pycache__" in rel.parts or path.suffix == ".pyc":
                continue
            if any(f"{src}/{rel.as_posix()}".startswith(other + "/") for other in PACKAGE_DIRS if other != src):
                continue  # mapped by a more specific package-dir entry
            if f"{pkg}/{rel.as_posix()}" not in names:
                missing.append(f"{src}/{rel.as_posix()}")
    assert not missing, ("files of the source tree missing from the wheel (add the subpackage to "
                         f"[tool.setuptools] packages, or the data to package-data): {missing}")
    shipped = sorted(p.name for p in (ROOT / "recipes").glob("*.yaml"))
    assert shipped, "no shipped recipes in recipes/"
    assert all(f"ftx/recipes/{name}" in names for name in shipped)


def test_wheel_metadata_declares_entry_points_and_script(wheel):
    z = zipfile.ZipFile(wheel)
    entry_points = z.read(f"ftx-{VERSION}.dist-info/entry_points.txt").decode()
    assert "[console_scripts]\nftx = ftx.cli:main" in entry_points
    for name, module in BUILTINS.items():
        assert f"{name} = {module}" in entry_points
    metadata = z.read(f"ftx-{VERSION}.dist-info/METADATA").decode()
    for dep in BASE_DEPS:
        assert f"Requires-Dist: {dep}\n" in metadata


# -- installed from the wheel into a clean venv ----------------------------------------------------

def test_site_packages_has_ftx_and_no_top_level_folders(wheel_venv):
    top = {p.name for p in wheel_venv.site.iterdir()}
    assert "ftx" in top
    for name in ("core", "plugins", "providers", "recipes"):
        assert name not in top and f"{name}.py" not in top, f"site-packages has a top-level {name!r}"
    probe = wheel_venv.run("python", "-I", "-c",
                           "import importlib.util as u, json, ftx; print(json.dumps([ftx.__file__, "
                           "[n for n in ('core', 'plugins', 'providers', 'recipes') if u.find_spec(n)]]))")
    file, importable = json.loads(probe.stdout)
    assert Path(file).is_relative_to(wheel_venv.site) and importable == []


def test_clean_venv_has_no_heavy_extras(wheel_venv):
    top = {p.name.lower() for p in wheel_venv.site.iterdir()}
    assert not [h for h in HEAVY if h in top], f"heavy packages in the base install: {sorted(top)}"


def test_help_and_version(wheel_venv):
    r = wheel_venv.ftx("--help")
    for command in ("data", "recipes", "run", "plugins"):
        assert f"\n  {command} " in r.stdout
    assert r.stderr == ""
    assert wheel_venv.ftx("--version").stdout.strip() == f"ftx, version {VERSION}"
    assert wheel_venv.run("python", "-m", "ftx", "--help").stdout == r.stdout


def test_plugins_lists_builtins(wheel_venv):
    r = wheel_venv.ftx("plugins")
    for name, module in BUILTINS.items():
        assert f"{name} {VERSION} (built-in, {module})" in r.stdout
    assert "FAILED" not in r.stdout and r.stderr == ""


def test_plugins_json_lists_builtins_with_hooks(wheel_venv):
    rows = {row["name"]: row for row in json.loads(wheel_venv.ftx("plugins", "--json").stdout)}
    assert set(rows) == set(BUILTINS)
    for name, row in rows.items():
        assert (row["module"], row["package"], row["version"], row["builtin"], row["error"]) == (
            BUILTINS[name], "ftx", VERSION, True, None)
        assert BUILTIN_HOOKS.get(name, set()) <= set(row["hooks"]), (name, row["hooks"])
    assert {"lora", "qlora", "full"} <= set(rows["methods"]["provides"]["methods"])
    assert "openai" in rows["openai"]["provides"]["backends"]


def test_recipes_are_package_data(wheel_venv):
    r = wheel_venv.ftx("recipes", "list")
    listed = {line.split()[0] for line in r.stdout.splitlines() if line and not line.startswith(" ")}
    assert listed == {p.stem for p in (ROOT / "recipes").glob("*.yaml")}
    shown = wheel_venv.ftx("recipes", "show", "quickstart").stdout
    assert shown == (ROOT / "recipes" / "quickstart.yaml").read_text(encoding="utf-8")
    for data in (ROOT / "recipes" / "data").glob("*"):
        assert (wheel_venv.site / "ftx" / "recipes" / "data" / data.name).read_bytes() == data.read_bytes()


@pytest.mark.parametrize("backend", ["local", "openai", "vertex"])
def test_dry_run_without_extras_plans_or_names_the_extra(wheel_venv, backend):
    """In the base install a dry run either plans (torch and the SDKs are needed only to run) or,
    when planning needs the backend's extra (OpenAI's exact token counts need bpe-openai), says
    which extra to install in one error line: never a traceback."""
    r = wheel_venv.ftx("run", "quickstart", "--backend", backend, "--dry-run", "--json", ok=False)
    assert "Traceback" not in r.stderr, r.stderr
    if r.returncode == 0:
        plan = json.loads(r.stdout)
        assert plan["backend"] == backend and plan["plan"]
    else:
        assert r.returncode == 2 and r.stderr.startswith("error: "), r.stderr
        assert f"ftx[{backend}]" in r.stderr, r.stderr


# -- editable install ------------------------------------------------------------------------------

def test_editable_install_runs_from_the_repository(editable_venv):
    probe = editable_venv.run("python", "-I", "-c",
                              "import importlib.util as u, json, ftx; print(json.dumps([ftx.__file__, "
                              "[n for n in ('core', 'plugins', 'providers', 'recipes') if u.find_spec(n)]]))")
    file, importable = json.loads(probe.stdout)
    assert Path(file) == ROOT / "core" / "__init__.py"
    assert importable == []
    r = editable_venv.ftx("--help")
    assert "\n  plugins " in r.stdout and r.stderr == ""
    listing = editable_venv.ftx("plugins").stdout
    for name, module in BUILTINS.items():
        assert f"{name} {VERSION} (built-in, {module})" in listing
    assert "FAILED" not in listing


# -- a third-party plugin and a broken one, installed next to ftx ---------------------------------

QA = '{"q": "What is the capital of France?", "a": "Paris"}\n{"q": "2+2?", "a": "4"}\n' * 6


@pytest.fixture(scope="module")
def plugin_venv(wheel_venv, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("plugin-wheels")
    wheels = build_wheels([ROOT / "tests" / "plugin_example", ROOT / "tests" / "plugin_broken"], tmp,
                          "build plugin wheels")
    # --no-deps: their dependency "ftx" is the one installed; never ask an index for it
    pip("--python", str(wheel_venv.python), "install", "-q", "--no-deps", *map(str, wheels), step="install plugins")
    yield wheel_venv
    pip("--python", str(wheel_venv.python), "uninstall", "-y", "-q", "ftx-plugin-example", "ftx-plugin-broken",
        step="uninstall plugins")


BROKEN_LINE = ("ftx: plugin 'broken' (ftx-plugin-broken) failed to load: RuntimeError: ftx-plugin-broken "
               "cannot start: its backend library is missing (FTX_DISABLE_PLUGINS=broken skips it)\n")


def test_plugins_json_lists_the_example_and_the_broken_plugin(plugin_venv):
    r = plugin_venv.ftx("plugins", "--json")
    rows = {row["name"]: row for row in json.loads(r.stdout)}
    assert set(BUILTINS) | {"example", "broken"} == set(rows)
    ex = rows["example"]
    assert (ex["package"], ex["version"], ex["module"], ex["builtin"], ex["error"]) == (
        "ftx-plugin-example", "0.3.1", "ftx_plugin_example", False, None)
    assert ex["hooks"] == ["ftx_estimate", "ftx_register_backends", "ftx_register_commands",
                           "ftx_register_formats", "ftx_register_methods", "ftx_register_metrics", "ftx_register_objectives",
                           "ftx_register_price_tables"]
    assert ex["provides"] == {"backends": ["echo"], "commands": ["example-hello"], "formats": ["qa"],
                              "methods": ["lora-lite"], "objectives": ["answer-only"],
                              "price_tables": ["echo-2026-11"]}
    broken = rows["broken"]
    assert broken["loaded"] is False and broken["package"] == "ftx-plugin-broken"
    assert broken["error"] == "RuntimeError: ftx-plugin-broken cannot start: its backend library is missing"
    assert r.stderr == BROKEN_LINE


def test_broken_plugin_is_reported_and_everything_else_works(plugin_venv):
    r = plugin_venv.ftx("plugins")
    assert "broken 0.0.1 (ftx-plugin-broken, ftx_plugin_broken)\n  FAILED to load: RuntimeError" in r.stdout
    assert "example 0.3.1 (ftx-plugin-example, ftx_plugin_example)\n  hooks: " in r.stdout
    help_ = plugin_venv.ftx("--help")
    assert help_.returncode == 0 and "example-hello" in help_.stdout
    assert help_.stderr == BROKEN_LINE
    assert plugin_venv.ftx("recipes", "list").returncode == 0
    quiet = plugin_venv.ftx("--help", FTX_DISABLE_PLUGINS="broken")
    assert quiet.stderr == "" and "example-hello" in quiet.stdout


def test_example_command_runs(plugin_venv):
    r = plugin_venv.ftx("example-hello", "--name", "ci", FTX_DISABLE_PLUGINS="broken")
    assert r.stdout == "hello ci from ftx-plugin-example 0.3.1\n"
    only_builtin = plugin_venv.ftx("--help", FTX_PLUGINS="builtin")
    assert "example-hello" not in only_builtin.stdout and only_builtin.stderr == ""


def test_data_validate_detects_the_plugin_format(plugin_venv):
    (plugin_venv.home / "qa.jsonl").write_text(QA, encoding="utf-8")
    r = plugin_venv.ftx("data", "validate", "qa.jsonl", FTX_DISABLE_PLUGINS="broken")
    assert "qa" in r.stdout + r.stderr
    (plugin_venv.home / "bad.jsonl").write_text('{"q": "x?", "a": "y"}\n{"q": "z?", "a": 5}\n', encoding="utf-8")
    bad = plugin_venv.ftx("data", "validate", "bad.jsonl", ok=False, FTX_DISABLE_PLUGINS="broken")
    assert bad.returncode != 0 and "bad.jsonl:2" in bad.stdout + bad.stderr and "Traceback" not in bad.stderr


def test_dry_run_plans_with_the_plugin_backend(plugin_venv):
    (plugin_venv.home / "qa.jsonl").write_text(QA, encoding="utf-8")
    (plugin_venv.home / "qa.yaml").write_text(
        "name: qa-echo\nmodel: {echo: echo-small}\ndata: {train: qa.jsonl, split: 0.25}\n"
        "method: {name: lora-lite, r: 2}\nhyperparameters: {epochs: 2}\n", encoding="utf-8")
    r = plugin_venv.ftx("run", "qa.yaml", "--backend", "echo", "--dry-run", "--json", FTX_DISABLE_PLUGINS="broken")
    plan = json.loads(r.stdout)
    assert plan["backend"] == "echo"
    assert plan["plan"]["echo"] == "would train echo-small with lora-lite"
    assert (plan["plan"]["rank"], plan["plan"]["epochs"]) == (2, 2)
    assert plan["plan"]["train_examples"] == plan["data"]["train_examples"] == 9
    assert plan["recipe"]["method"] == {**plan["recipe"]["method"], "name": "lora-lite", "r": 2}
