"""What a Space and `pip install` get: the front matter agrees with the pins, and the package installs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
import zipfile
from pathlib import Path

import pytest

import secondme
from secondme.web.scripts import FILES

ROOT = Path(__file__).resolve().parents[1]


def front_matter() -> dict[str, str]:
    """The README's YAML front matter, raw: each top-level ``key: value`` as written."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert block, "README.md has no front matter"
    return {k: v.strip() for k, v in re.findall(r"^(\w+):[ \t]*(.*)$", block.group(1), re.M)}


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            found[name.split("[")[0].strip().lower()] = version.strip()
    return found


def test_the_space_python_is_quoted_and_every_pin_has_a_release_for_it(tmp_path: Path) -> None:
    raw = front_matter()["python_version"]
    assert re.fullmatch(r'"3\.\d+(\.\d+)?"', raw), f"python_version must be quoted (YAML reads 3.10 as 3.1): {raw}"
    python = raw.strip('"')
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps", "--ignore-installed",
         "--only-binary=:all:", "--python-version", python, "--target", str(tmp_path), "-r",
         str(ROOT / "requirements.txt")], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"a pinned requirement has no release for Python {python}:\n{done.stderr[-2000:]}"


def test_the_space_sdk_version_is_the_pinned_gradio() -> None:
    assert front_matter()["sdk_version"] == pins(ROOT / "requirements.txt")["gradio"]


def test_the_license_named_is_shipped() -> None:
    assert front_matter()["license"] == "apache-2.0"
    assert "Apache License" in (ROOT / "LICENSE").read_text() and "Version 2.0" in (ROOT / "LICENSE").read_text()
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == "Apache-2.0"


def test_the_package_dependencies_are_the_pins() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {name.split("[")[0]: version for name, version in
                (dep.lower().split("==") for dep in project["dependencies"])}
    assert declared == pins(ROOT / "requirements.txt")
    assert project["requires-python"] == ">=3.11"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the project's files build from, copied: a build writes build/ and *.egg-info beside them."""
    copy = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, copy / name)
    shutil.copytree(ROOT / "secondme", copy / "secondme", ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    return next(out.glob("secondme_chat-*.whl"))


def test_the_wheel_holds_the_package_alone(wheel: Path) -> None:
    assert wheel.name.startswith(f"secondme_chat-{secondme.__version__}-")
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/")[0] for n in names if not n.startswith("secondme_chat-")}
    assert tops == {"secondme"}, tops
    assert "secondme/web/ui.py" in names
    static = {f"secondme/web/static/{name}" for name in (*FILES, "page.css")}  # the page's scripts and styles
    assert static <= set(names), static - set(names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "secondme = secondme.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def see_the_packages_of_this_python(env_dir: Path) -> None:
    """Let the venv at ``env_dir`` import what the Python running the tests has installed (so nothing is
    downloaded), but not the checkout. Not ``system_site_packages``: under a venv, that is the base
    interpreter's packages, not the venv's. Its own site-packages still come first."""
    theirs = [p for p in sys.path if Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    assert theirs, sys.path
    site_packages = next(env_dir.glob("lib/python*/site-packages"))
    (site_packages / "zz-tests-python.pth").write_text("".join(f"{p}\n" for p in theirs))


@pytest.mark.parametrize("how", ["wheel", "editable"])
def test_installed_into_a_fresh_venv_it_runs_from_outside_the_checkout(wheel: Path, source: Path, tmp_path: Path,
                                                                         how: str) -> None:
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    see_the_packages_of_this_python(env_dir)
    bin_dir = env_dir / "bin"
    target = [str(wheel)] if how == "wheel" else ["-e", str(source)]
    done = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--quiet", "--no-deps", *target],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    version = subprocess.run([str(bin_dir / "secondme"), "--version"], capture_output=True, text=True,
                             cwd=tmp_path, env=env, timeout=60)
    assert version.returncode == 0 and version.stdout.strip() == f"secondme {secondme.__version__}"
    where = subprocess.run([str(bin_dir / "python"), "-c", "import secondme, secondme.web; print(secondme.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, env=env, timeout=120)
    assert where.returncode == 0, where.stderr[-2000:]
    expected = env_dir if how == "wheel" else source
    assert Path(where.stdout.strip()).is_relative_to(expected)


# Binary whatever their first bytes: what a Space or a page could hold.
BINARY_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico", ".pdf", ".woff", ".woff2", ".ttf",
                   ".otf", ".mp3", ".wav", ".mp4", ".webm", ".zip", ".gz", ".tgz", ".whl", ".sqlite"}


def is_binary(path: Path) -> bool:
    """As Git decides: a NUL byte in the first 8 KiB; or a binary kind of file by its name."""
    if path.suffix.lower() in BINARY_SUFFIXES:
        return True
    with path.open("rb") as f:
        return b"\0" in f.read(8192)


def lfs_attributes(paths: list[str]) -> dict[str, dict[str, str]]:
    """``git check-attr`` for ``paths`` (tracked or not): path → {filter, diff, merge, text}."""
    done = subprocess.run(["git", "check-attr", "-z", "--stdin", "filter", "diff", "merge", "text"], cwd=ROOT,
                          input="\0".join(paths) + "\0", capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    fields = done.stdout.split("\0")
    found: dict[str, dict[str, str]] = {}
    for path, attribute, value in zip(fields[0::3], fields[1::3], fields[2::3], strict=False):
        found.setdefault(path, {})[attribute] = value
    return found


def stored_with_lfs(attributes: dict[str, str]) -> bool:
    return (attributes.get("filter"), attributes.get("diff"), attributes.get("merge"),
            attributes.get("text")) == ("lfs", "lfs", "lfs", "unset")


def test_every_binary_file_is_stored_with_lfs_as_the_hub_requires() -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if tracked.returncode != 0:
        pytest.skip("not a Git checkout")
    binaries = [name for name in tracked.stdout.split("\0") if name and (ROOT / name).is_file()
                and is_binary(ROOT / name)]
    assert any(name.startswith("assets/") for name in binaries), binaries  # the screenshots are found
    attributes = lfs_attributes(binaries)
    plain = [name for name in binaries if not stored_with_lfs(attributes.get(name, {}))]
    assert not plain, f"binary files not stored with Xet/LFS (add them to .gitattributes): {plain}"
    # And whatever binary is added next, wherever it goes.
    probes = [f"{folder}/added{suffix}" for suffix in sorted(BINARY_SUFFIXES) for folder in ("assets", "secondme/web")]
    attributes = lfs_attributes(probes)
    assert not [name for name in probes if not stored_with_lfs(attributes.get(name, {}))]
    assert not stored_with_lfs(lfs_attributes(["README.md"])["README.md"])  # text stays text
