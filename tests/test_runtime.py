"""Tests for function.ocr.runtime: CPU limit detection, thread override parsing and session options."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from function.ocr.runtime import cpu_limit, create_session, resolve_threads

AFFINITY = 8


@pytest.fixture
def eight_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend the affinity mask holds eight CPUs, so limits below and above it are both observable."""
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(AFFINITY)), raising=False)


def write(root: Path, relative: str, text: str | bytes) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


# --- cgroup v2 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("max 100000\n", AFFINITY),
        ("max\n", AFFINITY),
        ("200000 100000\n", 2),
        ("150000 100000\n", 2),
        ("50000 100000\n", 1),
        ("1000 100000\n", 1),
        ("300000 100000", 3),
        ("250000 50000\n", 5),
        ("400000\n", 4),  # period omitted: the kernel default of 100000
        ("1600000 100000\n", AFFINITY),  # a limit above the affinity mask is capped by it
    ],
)
@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v2(tmp_path: Path, content: str, expected: int) -> None:
    write(tmp_path, "cpu.max", content)
    assert cpu_limit(tmp_path) == expected


@pytest.mark.parametrize(
    "content",
    ["", "\n", "garbage", "abc 100000", "100000 abc", "0 100000", "-5 100000", "100 0", "1 2 3", b"\xff\xfe"],
)
@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v2_malformed_falls_back_to_affinity(tmp_path: Path, content: str | bytes) -> None:
    write(tmp_path, "cpu.max", content)
    assert cpu_limit(tmp_path) == AFFINITY


@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v2_unreadable_entry_falls_back(tmp_path: Path) -> None:
    (tmp_path / "cpu.max").mkdir()  # reading a directory raises an OSError
    assert cpu_limit(tmp_path) == AFFINITY


# --- cgroup v1 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("directory", ["cpu", "cpu,cpuacct", "cpuacct,cpu"])
@pytest.mark.parametrize(
    ("quota", "period", "expected"),
    [("300000", "100000", 3), ("150000", "100000", 2), ("20000", "100000", 1), ("-1", "100000", AFFINITY)],
)
@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v1(tmp_path: Path, directory: str, quota: str, period: str, expected: int) -> None:
    write(tmp_path, f"{directory}/cpu.cfs_quota_us", quota + "\n")
    write(tmp_path, f"{directory}/cpu.cfs_period_us", period + "\n")
    assert cpu_limit(tmp_path) == expected


@pytest.mark.parametrize(
    ("quota", "period"), [("x", "100000"), ("100000", ""), ("100000", "0"), ("1.5", "1")]
)
@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v1_malformed_falls_back(tmp_path: Path, quota: str, period: str) -> None:
    write(tmp_path, "cpu/cpu.cfs_quota_us", quota)
    write(tmp_path, "cpu/cpu.cfs_period_us", period)
    assert cpu_limit(tmp_path) == AFFINITY


@pytest.mark.usefixtures("eight_cpus")
def test_cgroup_v1_needs_both_files(tmp_path: Path) -> None:
    write(tmp_path, "cpu/cpu.cfs_quota_us", "200000")
    assert cpu_limit(tmp_path) == AFFINITY


@pytest.mark.usefixtures("eight_cpus")
def test_malformed_v2_falls_through_to_v1(tmp_path: Path) -> None:
    write(tmp_path, "cpu.max", "nonsense")
    write(tmp_path, "cpu/cpu.cfs_quota_us", "200000")
    write(tmp_path, "cpu/cpu.cfs_period_us", "100000")
    assert cpu_limit(tmp_path) == 2


# --- no cgroup information -----------------------------------------------------------------------------


def test_missing_files_give_the_real_affinity_count(tmp_path: Path) -> None:
    assert cpu_limit(tmp_path) == len(os.sched_getaffinity(0))
    assert cpu_limit(tmp_path / "does-not-exist") == len(os.sched_getaffinity(0))


def test_limit_never_exceeds_the_real_affinity_count(tmp_path: Path) -> None:
    write(tmp_path, "cpu.max", "100000000 100000")  # 1000 CPUs
    assert cpu_limit(tmp_path) == len(os.sched_getaffinity(0))


def test_this_machine() -> None:
    assert 1 <= cpu_limit() <= len(os.sched_getaffinity(0))


# --- thread override -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("override", "expected"), [("4", 4), (" 3 ", 3), ("1", 1), ("64", 64), ("007", 7)])
def test_override_wins(tmp_path: Path, override: str, expected: int) -> None:
    write(tmp_path, "cpu.max", "100000 100000")
    assert resolve_threads(override, tmp_path) == expected


@pytest.mark.parametrize("override", [None, "", "   "])
@pytest.mark.usefixtures("eight_cpus")
def test_no_override_uses_the_cpu_limit(tmp_path: Path, override: str | None) -> None:
    write(tmp_path, "cpu.max", "300000 100000")
    assert resolve_threads(override, tmp_path) == 3


@pytest.mark.parametrize("override", ["0", "-1", "abc", "1.5", "+2", "2 threads", "\uff13", "1e3", "0x4"])
def test_invalid_override(tmp_path: Path, override: str) -> None:
    with pytest.raises(ValueError, match="positive integer") as info:
        resolve_threads(override, tmp_path)
    assert repr(override) in str(info.value)


# --- sessions ------------------------------------------------------------------------------------------


@pytest.fixture
def tiny_model(tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """An ONNX model computing ``relu(x @ w + b)`` for x of shape (N, 4), built with onnx's helper API."""
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((4, 5)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("MatMul", ["x", "w"], ["xw"]),
            helper.make_node("Add", ["xw", "b"], ["pre"]),
            helper.make_node("Relu", ["pre"], ["y"]),
        ],
        "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 5])],
        initializer=[numpy_helper.from_array(weight, "w"), numpy_helper.from_array(bias, "b")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    path = tmp_path / "tiny.onnx"
    onnx.save(model, str(path))
    return path, weight, bias


def test_session_options_take_effect(tiny_model: tuple[Path, np.ndarray, np.ndarray]) -> None:
    path, _, _ = tiny_model
    session = create_session(path, 3)
    options = session.get_session_options()
    assert options.intra_op_num_threads == 3
    assert options.inter_op_num_threads == 1
    assert options.execution_mode == ort.ExecutionMode.ORT_SEQUENTIAL
    assert options.graph_optimization_level == ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    assert options.enable_cpu_mem_arena is True
    assert options.enable_mem_pattern is True
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"
    assert session.get_providers() == ["CPUExecutionProvider"]


@pytest.mark.parametrize("as_text", [False, True])
def test_session_runs_inference(tiny_model: tuple[Path, np.ndarray, np.ndarray], as_text: bool) -> None:
    path, weight, bias = tiny_model
    session = create_session(str(path) if as_text else path, 1)
    assert session.get_session_options().intra_op_num_threads == 1
    rng = np.random.default_rng(4)
    for rows in (1, 2000, 3, 2000, 1):  # alternate big and small batches, as requests do
        x = rng.standard_normal((rows, 4)).astype(np.float32)
        (y,) = session.run(None, {"x": x})
        assert y.shape == (rows, 5)
        np.testing.assert_allclose(y, np.maximum(x @ weight + bias, 0), rtol=1e-5, atol=1e-5)


def test_session_on_a_missing_model_fails(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"(?i)no such file|not exist|load model"):
        create_session(tmp_path / "missing.onnx", 1)
