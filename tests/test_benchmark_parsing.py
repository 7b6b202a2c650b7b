"""The benchmark scripts' pure helpers: parsing committed notebook outputs, time-to-accuracy."""
import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load(name):
    spec = importlib.util.spec_from_file_location(name, ROOT / "benchmarks" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write_notebook(root, name, *texts):
    cells = [{"cell_type": "code", "source": "", "metadata": {}, "execution_count": 1,
              "outputs": [{"output_type": "stream", "name": "stdout", "text": text}]} for text in texts]
    (root / "notebooks").mkdir(exist_ok=True)
    (root / "notebooks" / f"{name}.ipynb").write_text(json.dumps({"cells": cells}))


def test_committed_times_keeps_two_models_of_one_notebook_apart(tmp_path):
    modern = load("modern_cnns")
    write_notebook(tmp_path, "09",
                   "AlexNet-style: test accuracy 0.9101 after 8 epochs\n  AlexNet-style time to 90%: 200 s (epoch 5)\n"
                   "  AlexNet-style time to 92%: not reached\n",
                   "VGG-style: test accuracy 0.9322 after 7 epochs\n  VGG-style time to 90%: 150 s (epoch 2)\n"
                   "  VGG-style time to 92%: 400 s (epoch 5)\n")
    assert modern.committed_times("09", "AlexNet-style", tmp_path) == {"final_accuracy": 0.9101, "90%": 200.0}
    assert modern.committed_times("09", "VGG-style", tmp_path) == {"final_accuracy": 0.9322, "90%": 150.0,
                                                                   "92%": 400.0}
    assert modern.committed_times("missing", "VGG-style", tmp_path) is None


def test_committed_times_without_a_label_reads_only_lines_that_start_with_the_result(tmp_path):
    modern = load("modern_cnns")
    write_notebook(tmp_path, "10", "plain-8 test accuracy 0.5\n",
                   "test accuracy 0.9312 after 8 epochs; 500 s\ntime to 93%: 480 s (epoch 8)\n")
    assert modern.committed_times("10", "", tmp_path) == {"final_accuracy": 0.9312, "93%": 480.0}


@pytest.mark.parametrize("accuracies, seconds, expected", [
    ([0.98, 0.991, 0.995], [5, 5, 5], 10),
    ([0.98, 0.985], [5, 5], None),
    ([0.99], [7.5], 7.5),
])
def test_lenet_time_to_counts_whole_epochs_up_to_the_first_hit(accuracies, seconds, expected):
    assert load("lenet_mnist").time_to(0.99, accuracies, seconds) == expected
