"""The locks are the only source of versions: complete, hashed, consistent, and what is installed.

``.ci/lock`` writes each lock from its ``.in`` file; these tests fail when a lock lost a hash or a pin,
when the locks disagree on a version, or when the environment running the tests holds anything else.
"""

from __future__ import annotations

import importlib.metadata as metadata
import re

import pytest
from conftest import ROOT
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCKS = {
    "requirements.txt": "requirements.in",
    "requirements-dev.txt": "requirements-dev.in",
    "requirements-build.txt": "requirements-build.in",
    "benchmarks/requirements.txt": "benchmarks/requirements.in",
    "benchmarks/peers.txt": "benchmarks/peers.in",
    "benchmarks/peers-env.txt": "benchmarks/peers-env.in",
}
#: What ``python -m venv`` puts in every environment before the lock is installed.
SEEDED = {"pip", "setuptools", "wheel"}


def entries(lock: str) -> list[tuple[Requirement, list[str]]]:
    """Each locked requirement with its hashes (a universal lock may list a name once per marker)."""
    text = (ROOT / lock).read_text(encoding="utf-8")
    found = []
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        lines = [line.strip().rstrip("\\").strip() for line in block.splitlines()]
        lines = [line for line in lines if line and not line.startswith("#")]
        if not lines:
            continue
        hashes = [h for line in lines[1:] for h in re.findall(r"--hash=sha256:([0-9a-f]{64})", line)]
        found.append((Requirement(lines[0]), hashes))
    return found


def here(lock: str) -> dict[str, str | None]:
    """The locked version of each distribution for this interpreter and platform, by canonical name."""
    return {
        canonicalize_name(requirement.name): pinned(requirement)
        for requirement, _ in entries(lock)
        if requirement.marker is None or requirement.marker.evaluate()
    }


def pinned(requirement: Requirement) -> str | None:
    exact = [spec.version for spec in requirement.specifier if spec.operator == "=="]
    return exact[0] if len(exact) == 1 else None


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_distribution_is_pinned_with_hashes(lock):
    locked = entries(lock)
    assert locked, f"{lock} is empty"
    for requirement, hashes in locked:
        assert pinned(requirement), f"{lock}: {requirement} is not pinned to one version"
        assert hashes, f"{lock}: {requirement} has no hashes"


@pytest.mark.parametrize(("lock", "source"), LOCKS.items())
def test_every_pin_of_the_source_is_in_its_lock(lock, source):
    locked = here(lock)
    for line in (ROOT / source).read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{source} asks for {name}, {lock} does not lock it"
        version = pinned(requirement)
        if version is not None:
            assert locked[name] == version, f"{lock} locks {name} at another version than {source}"


@pytest.mark.parametrize("lock", ["requirements-dev.txt", "requirements-build.txt"])
def test_the_runtime_versions_are_the_same_everywhere(lock):
    other = here(lock)
    for name, version in here("requirements.txt").items():
        assert other.get(name) == version, f"{lock} has {name} {other.get(name)}, the runtime {version}"


def test_the_test_environment_is_exactly_the_dev_lock():
    locked = here("requirements-dev.txt")
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    extra = {n: v for n, v in installed.items() if n not in locked and n not in SEEDED}
    assert not extra, f"installed but not locked: {extra}"
    wrong = {n: (v, installed.get(n)) for n, v in locked.items() if installed.get(n) != v}
    assert not wrong, f"locked version, installed version: {wrong}"
