"""coursekit.device and coursekit.profile."""

import json
import random

import numpy as np
import pytest
import torch

from coursekit import device, profile
from coursekit.errors import UnknownName


def test_device_override(monkeypatch):
    monkeypatch.setenv(device.DEVICE_ENV, "cpu")
    assert device.get_device() == torch.device("cpu")


def test_default_device_is_cpu_without_accelerators(monkeypatch):
    monkeypatch.delenv(device.DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(device, "_mps_available", lambda: False)
    assert device.get_device() == torch.device("cpu")


def test_default_prefers_cuda_then_mps(monkeypatch):
    monkeypatch.delenv(device.DEVICE_ENV, raising=False)
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert device.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert device.get_device() == torch.device("cuda")


def test_override_to_missing_device_is_an_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setenv(device.DEVICE_ENV, "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        device.get_device()
    monkeypatch.setenv(device.DEVICE_ENV, "toaster")
    with pytest.raises(ValueError, match="unknown device in COURSEKIT_DEVICE 'toaster'; choose one of: cpu, cuda"):
        device.get_device()


@pytest.mark.parametrize("name", ["meta", "xla", "xpu", "ipu", "cuda:", "cuda:-1", "cpu cuda", "vulkan"])
def test_only_training_devices_are_accepted(monkeypatch, name):
    """torch.device accepts meta, xla, xpu...; the course trains on cpu, cuda, cuda:N and mps only."""
    monkeypatch.setenv(device.DEVICE_ENV, name)
    with pytest.raises(UnknownName, match=f"COURSEKIT_DEVICE {name!r}; choose one of: cpu, cuda, cuda:N, mps"):
        device.get_device()


@pytest.mark.parametrize(
    "text, expected", [("cpu", "cpu"), (" CPU ", "cpu"), ("cuda", "cuda"), ("cuda:1", "cuda:1"), ("mps", "mps")]
)
def test_accepted_names_and_availability(monkeypatch, text, expected):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(device, "_mps_available", lambda: True)
    monkeypatch.setenv(device.DEVICE_ENV, text)
    assert device.get_device() == torch.device(expected)
    assert device.resolve_device(text) == torch.device(expected)
    assert device.resolve_device(torch.device(expected)) == torch.device(expected)


def test_resolve_device_defaults_to_get_device(monkeypatch):
    monkeypatch.setenv(device.DEVICE_ENV, "cpu")
    assert device.resolve_device(None) == torch.device("cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="device='cuda:0' but CUDA is not available"):
        device.resolve_device(torch.device("cuda:0"))


def test_seed_everything_repeats_all_three_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    device.seed_everything(7)
    first = draw()
    device.seed_everything(7)
    assert draw() == first
    device.seed_everything(8)
    assert draw() != first
    device.seed_everything(np.int64(7))  # NumPy integers are ints too
    assert draw() == first
    with pytest.raises(TypeError, match="seed must be an int"):
        device.seed_everything("7")


def test_environment_report_names_versions_and_device(monkeypatch):
    monkeypatch.setenv(device.DEVICE_ENV, "cpu")
    monkeypatch.setenv(profile.PROFILE_ENV, "ci")
    report = device.environment_report()
    assert f"torch {torch.__version__}" in report and "device cpu" in report and "profile ci" in report


def test_machine_describes_where_a_benchmark_ran():
    record = device.machine()
    assert record["torch"] == torch.__version__ and record["threads"] == torch.get_num_threads()
    assert record["cpu_count"] >= 1 and record["load_average_1min"] >= 0 and record["platform"]
    assert json.loads(json.dumps(record)) == record  # goes into the JSON reports as it is


def test_profile_from_environment(monkeypatch):
    monkeypatch.setenv(profile.PROFILE_ENV, "ci")
    assert profile.current_profile() == "ci"
    monkeypatch.setenv(profile.PROFILE_ENV, "laptop")
    with pytest.raises(ValueError, match="unknown profile in COURSEKIT_PROFILE 'laptop'; choose one of: ci, cpu, gpu"):
        profile.current_profile()


def test_profile_default_follows_cuda(monkeypatch):
    monkeypatch.delenv(profile.PROFILE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert profile.current_profile() == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert profile.current_profile() == "gpu"


def test_settings_by_profile():
    ci, cpu = profile.settings("lenet", "ci"), profile.settings("lenet", "cpu")
    assert ci.epochs <= cpu.epochs
    assert ci["epochs"] == ci.epochs and ci.profile == "ci" and ci.section == "lenet"
    with pytest.raises(AttributeError, match="has no 'epochz'"):
        _ = ci.epochz
    with pytest.raises(UnknownName, match="unknown lesson 'lenet7'; choose one of: alexnet"):
        profile.settings("lenet7")
    with pytest.raises(TypeError, match="takes a lesson name such as 'lenet', got int 8"):
        profile.settings(8)


@pytest.mark.parametrize("section", sorted(profile.SECTIONS))
def test_every_profile_of_a_lesson_has_the_same_keys(section):
    keys = {name: set(values) for name, values in profile.SECTIONS[section].items()}
    assert set(keys) == set(profile.PROFILES)
    assert len({frozenset(k) for k in keys.values()}) == 1, keys
