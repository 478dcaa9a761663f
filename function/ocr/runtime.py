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
    * ``enable_cpu_mem_arena=False``: the arena keeps the high-water mark of the largest input ever seen
      (rounded up to powers of two) and never gives it back. Without it, tensors come from malloc and large
      blocks go back to the OS after each run. This is the only per-session setting that bounds RSS without
      run options at every call site, and it also lowers the peak. It costs speed on large inputs (pages are
      faulted in afresh on every run), see the numbers below.
    * memory patterns stay on: turning them off as well saves a little retained memory but is clearly slower.
    * ``session.intra_op.allow_spinning=0``: idle pool threads block instead of spinning. Spinning burned
      about 30 ms of CPU in the 200 ms after every run, which counts against a container's CFS quota.
      Turning it off cost the detector alone 4-10 % (38 -> 42 ms at 640x640) but made the many small
      recogniser runs of a request faster (11.9 -> 7.6 ms), so a whole request got faster; on a busier
      machine spinning lost everywhere (det640 136 ms with spinning vs 99 ms without).

    Measured with the PP-OCRv6 small detector and recogniser, onnxruntime 1.32, 2 threads, on a shared
    2-core machine. Memory, in a fresh process per configuration: "peak" is VmHWM, "kept" is RSS after a
    small input that followed big ones (det 1x3x1280x1280 + rec 16x3x48x960, then det 1x3x320x320 + rec
    1x3x48x320, three cycles). Latency: medians of 15 interleaved rounds (7 for det 1280) in one process.

    ===========================  =========  =========  ======  =======  ========  ========
    configuration                peak (MB)  kept (MB)  det640  det1280  rec1x320  rec8x640
    ===========================  =========  =========  ======  =======  ========  ========
    default: arena + spinning    1263       1263       38 ms   211 ms   11.9 ms   102 ms
    arena, no spinning           1263       1263       42 ms   219 ms   7.6 ms    103 ms
    arena + per-run shrinkage    910        607        (a)     (a)      (a)       (a)
    **no arena, no spinning**    762        350        47 ms   270 ms   8.9 ms    137 ms
    no arena, no mem patterns    677        274        54 ms   448 ms   8.8 ms    160 ms
    ===========================  =========  =========  ======  =======  ========  ========

    (a) Within 10 % of "no arena" in a second, busier run (det640 129 vs 132 ms, det1280 540 vs 586 ms), but
    it keeps more memory and needs a ``RunOptions`` passed to every ``run`` call.

    The session is returned ready to use; callers pass no run options.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.enable_cpu_mem_arena = False
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
