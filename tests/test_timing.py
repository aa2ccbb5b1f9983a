"""w2w.plugin_api.best_of: how a published speed is timed. On the CPU it reads one thread's CPU
time, so other work on the machine (which takes wall time, not this thread's CPU time) does not
change the figure; elsewhere it reads the wall clock. A sleep stands in for that other work: it
passes wall time and uses no CPU."""

from __future__ import annotations

import time

import pytest
import torch

from w2w.plugin_api import best_of

pytestmark = pytest.mark.quick


def test_on_the_cpu_the_figure_is_one_threads_cpu_time_not_the_wall_clock():
    before = torch.get_num_threads()
    threads = []

    def work():
        threads.append(torch.get_num_threads())
        time.sleep(0.05)

    timing = best_of(work, repeats=2, warmup=1, device="cpu")  # (the suite's default is no warm-up)
    assert timing["clock"] == "one-thread CPU time" and "one thread's CPU time" in timing["method"]
    assert timing["wall_s_of_best"] >= 0.05 > 0.02 > timing["best_s"]
    assert threads == [1] * (timing["warmup"] + timing["repeats"])  # warm-up and repeats on one thread
    assert torch.get_num_threads() == before  # and the build's own setting is back


def test_the_threads_setting_comes_back_when_the_work_fails():
    def work():
        assert torch.get_num_threads() == 1  # the failing work ran under the timing's setting
        raise RuntimeError("model error")

    before = torch.get_num_threads()
    torch.set_num_threads(3)  # not 1, the timing's own setting, so a setting left behind would show
    try:
        with pytest.raises(RuntimeError, match="^model error$"):  # the work's own failure reaches the caller
            best_of(work, device="cpu")
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(before)


def test_elsewhere_the_figure_is_the_wall_clock():
    synced = []
    timing = best_of(lambda: time.sleep(0.05), repeats=1, device="cuda", sync=lambda: synced.append(1))
    assert timing["clock"] == "wall clock" and timing["best_s"] >= 0.05
    assert len(synced) == 2 * timing["repeats"]  # before and after each timed repeat
