"""onnxruntime plumbing: how many threads the container may use, and how sessions are configured.

Nothing is created at import time. Sessions must be created in the process that serves requests (after a
gunicorn fork, not in the master): onnxruntime's thread pools do not survive ``fork``.
"""

from __future__ import annotations

import os
from pathlib import Path

import onnxruntime as ort

__all__ = ["DEFAULT_CGROUP_ROOT", "cpu_limit", "create_session", "resolve_threads"]

DEFAULT_CGROUP_ROOT = Path("/sys/fs/cgroup")

# cgroup v1 mounts the cpu controller under one of these names, depending on the distribution.
_V1_CPU_DIRS = ("cpu", "cpu,cpuacct", "cpuacct,cpu")


def cpu_limit(cgroup_root: Path = DEFAULT_CGROUP_ROOT) -> int:
    """Return the number of CPUs this container may use, as a whole number of at least 1.

    The CFS quota is read from cgroup v2 (``cpu.max``) or, failing that, cgroup v1 (``cpu.cfs_quota_us``
    and ``cpu.cfs_period_us`` under ``cpu/`` or ``cpu,cpuacct/``) and rounded up: a limit of 1.5 CPUs gives 2.
    Without a limit, or when the files are missing or malformed, the CPUs in this process's affinity mask
    are counted. The result never exceeds that affinity count.
    """
    available = _affinity_count()
    quota = _cgroup_v2_cpus(cgroup_root)
    if quota is None:
        quota = _cgroup_v1_cpus(cgroup_root)
    if quota is None:
        return available
    return max(1, min(quota, available))


def resolve_threads(override: str | None, cgroup_root: Path = DEFAULT_CGROUP_ROOT) -> int:
    """Return the intra-op thread count: a positive integer ``override`` if given, else :func:`cpu_limit`.

    ``override`` is the raw text of a setting such as ``OCRFN_THREADS``; ``None`` or blank means "not set".
    Anything other than a positive decimal integer raises ``ValueError`` naming the bad value.
    """
    if override is None or not override.strip():
        return cpu_limit(cgroup_root)
    text = override.strip()
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise ValueError(f"the thread count must be a positive integer, got {override!r}")
    return int(text)


def create_session(model_path: Path | str, threads: int) -> ort.InferenceSession:
    """Create a CPU inference session for ``model_path`` with ``threads`` intra-op threads.

    Configuration, and why:

    * CPU provider only; ``intra_op_num_threads=threads``, ``inter_op_num_threads=1``, sequential execution
      (the OCR graphs are chains; parallel execution only adds threads), all graph optimisations.
    * ``enable_cpu_mem_arena=True`` (onnxruntime's default): the arena keeps the memory of the largest run
      and hands it out again, so a run does not fault its tensors in afresh from the OS. It keeps the
      high-water mark for the life of the process, which is bounded because every input is: the detector
      sees at most ``DetectorParams.max_area`` pixels, a recogniser batch at most
      ``BatchPolicy.max_columns`` columns, the classifier a fixed size.
    * memory patterns stay on: turning them off is clearly slower.
    * ``session.intra_op.allow_spinning=0``: idle pool threads block instead of spinning. Spinning burned
      about 30 ms of CPU in the 200 ms after every run, which counts against a container's CFS quota.
      Turning it off cost the detector alone 4-10 % (38 -> 42 ms at 640x640) but made the many small
      recogniser runs of a request faster (11.9 -> 7.6 ms), so a whole request got faster; on a busier
      machine spinning lost everywhere (det640 136 ms with spinning vs 99 ms without).

    Arena measured with the shipped ``ppocrv6-small`` set and detector limit (0.6 Mpx), onnxruntime 1.32,
    2 threads, 2-core machine, 2026-11-23: the 34 evaluation pages, five passes, one fresh process per
    setting. RSS stops growing after the second pass (the arena has met every input size by then).

    ==================  ====================  =============  ============  ============================
    arena               RSS after load (MB)   peak RSS (MB)  kept (MB)     page latency (interleaved)
    ==================  ====================  =============  ============  ============================
    **on (ocrfn)**      101                   630            630           median 91.5 ms
    off                 101                   514            376           median 109.8 ms
    ==================  ====================  =============  ============  ============================

    With the arena off every large tensor is a fresh ``mmap`` whose pages fault in on first touch: the INT8
    detector at 1056x608 takes 72-76 ms per run instead of 51-52 ms. An environment-wide shared arena
    (``kSameAsRequested``) kept as much memory and was no faster.

    The session is returned ready to use; callers pass no run options.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = True
    options.enable_mem_pattern = True
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.add_session_config_entry("session.inter_op.allow_spinning", "0")
    return ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])


def _affinity_count() -> int:
    """CPUs this process may run on (the scheduler affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not Linux
        return max(1, os.cpu_count() or 1)


def _read(path: Path) -> str | None:
    """Return the stripped text of ``path``, or ``None`` if it cannot be read."""
    try:
        return path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return None


def _cpus(quota: int, period: int) -> int | None:
    """CPUs granted by a CFS quota, rounded up; ``None`` for "no limit" or nonsense values."""
    if quota <= 0 or period <= 0:
        return None
    return max(1, -(-quota // period))


def _cgroup_v2_cpus(root: Path) -> int | None:
    """Parse ``cpu.max`` (``"<quota|max> <period>"``); ``None`` if absent, unlimited or malformed."""
    text = _read(root / "cpu.max")
    if not text:
        return None
    fields = text.split()
    if fields[0] == "max" or len(fields) > 2:
        return None
    try:
        quota = int(fields[0])
        period = int(fields[1]) if len(fields) == 2 else 100_000
    except ValueError:
        return None
    return _cpus(quota, period)


def _cgroup_v1_cpus(root: Path) -> int | None:
    """Parse ``cpu.cfs_quota_us``/``cpu.cfs_period_us``; ``None`` if absent, unlimited (-1) or malformed."""
    for name in _V1_CPU_DIRS:
        quota_text = _read(root / name / "cpu.cfs_quota_us")
        period_text = _read(root / name / "cpu.cfs_period_us")
        if quota_text is None or period_text is None:
            continue
        try:
            return _cpus(int(quota_text), int(period_text))
        except ValueError:
            return None
    return None
