"""bench/targets.py: how a benchmark's figures become the pass/miss of a target."""

from __future__ import annotations

import math

from bench.targets import isolation_targets, slowdown


def iso(ps: dict[str, float], rtc: dict[str, float]) -> dict[str, object]:
    return {
        "plan": {"scenarios": ["spam"]},
        "transports": {"peersocket": {"spam": ps}, "rtc": {"spam": rtc}},
    }


def test_a_pair_that_came_out_faster_than_alone_was_not_slowed() -> None:
    """Two quiet pairs neither of which slowed beside a spammer (x0.9 and x0.875: the
    noise between two phases) are equal: PeerSocket's is no worse."""
    (median, p99) = isolation_targets(
        iso({"median_x": 0.9, "p99_x": 0.96}, {"median_x": 0.875, "p99_x": 0.95})
    )
    assert median.value == 1.0 and p99.value == 1.0
    assert "x0.9 vs RTCDataChannel x0.875" in median.detail  # the figures themselves are shown


def test_a_slow_down_is_compared_as_measured_once_either_pair_slowed() -> None:
    (median, p99) = isolation_targets(iso({"median_x": 2.5, "p99_x": 0.8}, {"median_x": 1.25, "p99_x": 1.6}))
    assert median.value == 2.0  # missed: twice RTCDataChannel's
    assert p99.value == 1 / 1.6  # met


def test_a_figure_not_measured_is_not_taken_for_no_slow_down() -> None:
    assert math.isnan(slowdown(float("nan")))
    (median, _) = isolation_targets(
        iso({"median_x": float("nan"), "p99_x": 1.0}, {"median_x": 1.0, "p99_x": 1.0})
    )
    assert math.isnan(median.value)
