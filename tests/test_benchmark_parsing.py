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
    cells = [
        {
            "cell_type": "code",
            "source": "",
            "metadata": {},
            "execution_count": 1,
            "outputs": [{"output_type": "stream", "name": "stdout", "text": text}],
        }
        for text in texts
    ]
    (root / "notebooks").mkdir(exist_ok=True)
    (root / "notebooks" / f"{name}.ipynb").write_text(json.dumps({"cells": cells}))


def test_committed_times_keeps_two_models_of_one_notebook_apart(tmp_path):
    modern = load("modern_cnns")
    write_notebook(
        tmp_path,
        "09",
        "AlexNet-style: test accuracy 0.9101 after 8 epochs\n  AlexNet-style time to 90%: 200 s (epoch 5)\n"
        "  AlexNet-style time to 92%: not reached\n",
        "VGG-style: test accuracy 0.9322 after 7 epochs\n  VGG-style time to 90%: 150 s (epoch 2)\n"
        "  VGG-style time to 92%: 400 s (epoch 5)\n",
    )
    assert modern.committed_times("09", "AlexNet-style", tmp_path) == {"final_accuracy": 0.9101, "90%": 200.0}
    assert modern.committed_times("09", "VGG-style", tmp_path) == {"final_accuracy": 0.9322, "90%": 150.0, "92%": 400.0}
    assert modern.committed_times("missing", "VGG-style", tmp_path) is None


def test_committed_times_without_a_label_reads_only_lines_that_start_with_the_result(tmp_path):
    modern = load("modern_cnns")
    write_notebook(
        tmp_path,
        "10",
        "plain-8 test accuracy 0.5\n",
        "test accuracy 0.9312 after 8 epochs; 500 s\ntime to 93%: 480 s (epoch 8)\n",
    )
    assert modern.committed_times("10", "", tmp_path) == {"final_accuracy": 0.9312, "93%": 480.0}


@pytest.mark.parametrize(
    "accuracies, seconds, expected",
    [
        ([0.98, 0.991, 0.995], [5, 5, 5], 10),
        ([0.98, 0.985], [5, 5], None),
        ([0.99], [7.5], 7.5),
    ],
)
def test_lenet_time_to_counts_whole_epochs_up_to_the_first_hit(accuracies, seconds, expected):
    assert load("lenet_mnist").time_to(0.99, accuracies, seconds) == expected


# --- the shared set-up: benchmarks/common.py ------------------------------------------------------

SCRIPTS = sorted(path.stem for path in (ROOT / "benchmarks").glob("*.py") if path.stem != "common")


def test_the_script_list_is_the_folder():
    assert {"ops", "im2col", "speedrun", "compile"} <= set(SCRIPTS) and "common" not in SCRIPTS


@pytest.mark.parametrize("name", SCRIPTS)
def test_every_script_uses_the_shared_helper_and_answers_help(name, capsys):
    module = load(name)
    source = (ROOT / "benchmarks" / f"{name}.py").read_text()
    assert "from common import" in source and "argparse.ArgumentParser(" not in source
    assert "write_json(" not in source and "max_train_seconds" not in source
    with pytest.raises(SystemExit) as exit_:
        module.main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert "--json" in out and f"benchmarks/results/{name}.json" in out.replace("\n", "").replace(" ", "")


def test_common_table_report_and_parser(tmp_path, capsys):
    common = load("common")
    text = common.format_table(
        [("name", "<6", "s"), ("ms", ">8", ".2f"), ("n", ">6", ",")],
        [("a", 1.234, 1000), ("b", None, "text")],
        rule=True,
    )
    assert text.splitlines() == ["name        ms     n", "-" * 20, "a         1.23 1,000", "b            -  text"]
    report = tmp_path / "out" / "r.json"
    assert common.write_report(report, {"x": 1}, "a table") == report
    assert json.loads(report.read_text()) == {"x": 1}
    assert capsys.readouterr().out == f"a table\nwrote {report}\n"
    args = common.argument_parser(str(ROOT / "benchmarks" / "thing.py"), "First line.\n\nMore.").parse_args([])
    assert args.json == ROOT / "benchmarks" / "results" / "thing.json"
    assert set(common.machine_record(extra=1)) >= {"extra"}
    with pytest.raises(TypeError, match="convert it"):
        common.write_report(report, {"x": object()})
    assert json.loads(report.read_text()) == {"x": 1}


def test_lenet_table_shows_runs_summary_and_targets():
    lenet = load("lenet_mnist")
    run = dict(
        seed=0, final_acc=0.9931, seconds_per_epoch=20.0, images_per_second=3000.0, time_to_99=40.0, peak_rss_mb=500.0
    )
    summary = dict(
        lenet_final_acc_mean=0.9931,
        lenet_final_acc_min=0.9931,
        lenet_seconds_per_epoch=20.0,
        lenet_images_per_second=3000.0,
        lenet_time_to_99_mean=40.0,
        lenet_peak_rss_mb=500.0,
        accuracy_target_met=True,
    )
    text = lenet.table([run], None, summary)
    assert "LeNet-5 seed 0" in text and "0.9931" in text and "(0.9931)" in text
    assert "accuracy target (mean and min >= 0.992): met" in text
    no_time = dict(run, time_to_99=None)
    assert "LeNet-5 seed 0" in lenet.table([no_time], None, dict(summary, lenet_time_to_99_mean=None))


def test_modern_cnns_builds_its_models_from_the_profile_sections():
    modern = load("modern_cnns")
    assert modern._section("no-such-lesson") == {}
    assert modern._section("resnet")["val_size"] == 5000


# --- benchmarks/compile.py ------------------------------------------------------------------------


def test_compile_break_even_and_budget():
    compile_ = load("compile")
    from coursekit.speedrun import FASHION_PATH, MNIST_PATH

    def measured(step_ms, outside):
        return dict(ms_per_step=dict(total=step_ms), outside_timed_steps_seconds=outside)

    faster = compile_.compare(measured(10.0, 2.0), measured(8.0, 32.0))  # 2 ms saved a step, 30 s to pay back
    assert faster["speedup"] == pytest.approx(1.25) and faster["compile_overhead_seconds"] == pytest.approx(30.0)
    assert faster["break_even_steps"] == 15_000
    slower = compile_.compare(measured(10.0, 2.0), measured(11.0, 32.0))
    assert slower["speedup"] < 1 and slower["break_even_steps"] is None
    # 55,000 training images: 430 batches of 128 (1.4 passes = 602 steps), 215 of 256 (11 passes = 2,365)
    assert compile_.budget_steps(MNIST_PATH[-1]) == 602 and compile_.budget_steps(FASHION_PATH[-1]) == 2365
