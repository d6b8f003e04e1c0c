"""The issue's targets, as ratios of one run's numbers (met when ``value <= limit`` or ``>=``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from bench import stats


@dataclass(frozen=True)
class Target:
    key: str
    text: str
    value: float
    limit: float
    higher_is_better: bool
    #: the figures the value is made of, as the runner prints them beside it
    detail: str = ""

    @property
    def met(self) -> bool | None:
        if math.isnan(self.value):
            return None
        return self.value >= self.limit if self.higher_is_better else self.value <= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "text": self.text,
            "value": self.value,
            "limit": self.limit,
            "higher_is_better": self.higher_is_better,
            "met": self.met,
            "detail": self.detail,
        }


def _get(d: dict[str, Any] | None, *path: str) -> float:
    cur: Any = d
    for p in path:
        if not isinstance(cur, dict) or p not in cur:
            return float("nan")
        cur = cur[p]
    return float(cur) if isinstance(cur, int | float) and cur is not None else float("nan")


def evaluate(results: dict[str, Any]) -> list[Target]:
    t2t = results.get("tab_to_tab", {}).get("transports", {})
    dev = results.get("devices", {})
    scale = results.get("scale", {})
    out: list[Target] = []
    for kind in ("small", "binary"):
        ps_rtt = _get(t2t, "peersocket", kind, "rtt", "median_ms")
        out.append(
            Target(
                f"{kind}.tab_rtt_vs_rtc",
                f"tab-to-tab RTT / RTCDataChannel RTT ({kind})",
                stats.ratio(ps_rtt, _get(t2t, "rtc", kind, "rtt", "median_ms")),
                1.5,
                False,
            )
        )
        out.append(
            Target(
                f"{kind}.tab_rate_vs_rtc",
                f"tab-to-tab msgs/s / RTCDataChannel msgs/s ({kind})",
                stats.ratio(
                    _get(t2t, "peersocket", kind, "msgs_per_s"), _get(t2t, "rtc", kind, "msgs_per_s")
                ),
                1.0,
                True,
            )
        )
    for kind in ("small", "binary"):
        core_rate = _get(dev, "core", kind, "msgs_per_s")
        out.append(
            Target(
                f"{kind}.core_rate_vs_raw",
                f"core-to-core msgs/s / raw Hyperswarm msgs/s, one write per message ({kind})",
                stats.ratio(core_rate, _get(dev, "node", kind, "msgs_per_s")),
                0.5,
                True,
            )
        )
        # the same against Node peers that coalesce their writes per loop turn, as the core does
        out.append(
            Target(
                f"{kind}.core_rate_vs_raw_batched",
                f"core-to-core msgs/s / raw Hyperswarm msgs/s, writes coalesced ({kind})",
                stats.ratio(core_rate, _get(dev, "node_batched", kind, "msgs_per_s")),
                0.5,
                True,
            )
        )
        # tab to tab as measured by the devices benchmark itself (same engine, same
        # moment, bench.device page tabs) when it ran, else the tab_to_tab benchmark's
        tab_src = dev["tabs"] if dev.get("tabs") else t2t.get("peersocket")
        out.append(
            Target(
                f"{kind}.page_rate_vs_tab",
                f"page-to-page msgs/s / tab-to-tab msgs/s ({kind})",
                stats.ratio(_get(dev, "page", kind, "msgs_per_s"), _get(tab_src, kind, "msgs_per_s")),
                0.8,
                True,
            )
        )
        budget = _get(tab_src, kind, "rtt", "median_ms") + _get(dev, "node", kind, "rtt", "median_ms") + 0.3
        out.append(
            Target(
                f"{kind}.page_rtt_vs_budget",
                f"page-to-page RTT / (tab-to-tab RTT + raw Hyperswarm RTT + 0.3 ms) ({kind})",
                stats.ratio(_get(dev, "page", kind, "rtt", "median_ms"), budget),
                1.0,
                False,
            )
        )
    out.append(
        Target(
            "mesh64_one_device_s",
            "64 presences fully meshed, one device (s)",
            _get(scale, "core", "64", "mesh_ms") / 1000,
            2.0,
            False,
        )
    )
    out.append(
        Target(
            "mesh64_four_devices_s",
            "64 presences fully meshed over 4 devices (s)",
            _get(dev, "mesh4", "64", "mesh_ms") / 1000,
            2.0,
            False,
        )
    )
    linkup = results.get("lan_linkup", {})
    for series, how in (("after_lan", "--network lan"), ("after_bootstrap", "a testnet on the LAN")):
        out.append(
            Target(
                f"lan_linkup.{series}_p95_s",
                f"link-up of two fresh firewalled devices on one LAN, p95 ({how}) (s)",
                _get(linkup, series, "p95"),
                2.0,
                False,
            )
        )
    out.append(
        Target(
            "tab_memory_extra_vs_plain",
            "PSS PeerSocket adds to a tab / PSS of a plain page's tab",
            _get(scale, "page", "memory", "peersocket_extra_vs_plain", "pss"),
            1.0,
            False,
        )
    )
    out += idiom_targets(results.get("idioms", {}))
    out += isolation_targets(results.get("isolation", {}))
    # issue 17: what one 10 s flood of a hostile device may cost (bench/hostile.py)
    for name, r in results.get("hostile", {}).get("attacks", {}).items():
        if "error" in r:
            continue
        tree = r["memory"]["tree"]
        # back to the baseline's growth: the control's over the same time (bench/hostile.py),
        # or, in a run without it, the quiet phase's (10 s)
        if "control_growth_mib" in tree:
            baseline, against = tree["control_growth_mib"], "the control's over the same time"
        else:
            baseline, against = _get(tree, "quiet_growth_mib"), "the quiet one"
        out += [
            Target(f"hostile.{name}.rtt_median", f"{name}: quiet pair's median RTT x quiet",
                   _get(r, "rtt", "median_ratio"), 2, False),
            Target(f"hostile.{name}.rtt_p99", f"{name}: quiet pair's p99 RTT x quiet",
                   _get(r, "rtt", "p99_ratio"), 5, False),
            Target(f"hostile.{name}.memory_peak", f"{name}: process tree's peak growth (MiB)",
                   _get(tree, "peak_growth_mib"), 200, False),
            Target(f"hostile.{name}.memory_after", f"{name}: tree's growth after, less {against} (MiB)",
                   _get(tree, "after_growth_mib") - baseline, 20, False),
            Target(f"hostile.{name}.events", f"{name}: connection + close events per second per page",
                   float(r["events_max_per_s"]), 1000, False),
            Target(f"hostile.{name}.probe", f"{name}: slowest probe answer of any tab (s)",
                   max(p["attack_and_after_max_s"] for p in r["probes"].values()), r["probe_bound_s"], False),
        ]  # fmt: skip
    return out


#: issue 13: every idiom docs/API.md teaches, against RTCDataChannel and the fastest idiom
IDIOM_RTT_VS_RTC = 1.5
IDIOM_RATE_VS_RTC = 1.0
IDIOM_VS_FASTEST = 1.25
CHANNEL_PER_MESSAGE = 2.0


def idiom_targets(idioms: dict[str, Any]) -> list[Target]:
    """bench/idioms.py: each PeerSocket idiom's RTT and msgs/s against RTCDataChannel's in
    the same run and against the fastest idiom's, and its channel messages per message."""
    t = idioms.get("transports", {})
    names = [k.split(":", 1)[1] for k in t if k.startswith("peersocket:")]
    if not names:
        return []
    rtt = {n: _get(t, f"peersocket:{n}", "rtt_median_ms") for n in names}
    rate = {n: _get(t, f"peersocket:{n}", "msgs_per_s") for n in names}
    rtc_rtt, rtc_rate = _get(t, "rtc:events", "rtt_median_ms"), _get(t, "rtc:events", "msgs_per_s")
    best_rtt = min((v for v in rtt.values() if v == v), default=float("nan"))
    best_rate = max((v for v in rate.values() if v == v), default=float("nan"))
    out = []
    for n in names:
        key = f"idioms.{n}"
        rtt_msgs = _get(t, f"peersocket:{n}", "channel_per_msg_rtt")
        flood_msgs = _get(t, f"peersocket:{n}", "channel_per_msg_flood")
        out += [
            Target(f"{key}.rtt_vs_rtc", f"idiom {n}: RTT / RTCDataChannel RTT",
                   stats.ratio(rtt[n], rtc_rtt), IDIOM_RTT_VS_RTC, False,
                   f"{rtt[n]:.3g} ms vs {rtc_rtt:.3g} ms"),
            Target(f"{key}.rate_vs_rtc", f"idiom {n}: msgs/s / RTCDataChannel msgs/s",
                   stats.ratio(rate[n], rtc_rate), IDIOM_RATE_VS_RTC, True,
                   f"{rate[n]:,.0f} vs {rtc_rate:,.0f} msgs/s"),
            Target(f"{key}.rtt_vs_fastest", f"idiom {n}: RTT / the fastest idiom's",
                   stats.ratio(rtt[n], best_rtt), IDIOM_VS_FASTEST, False,
                   f"{rtt[n]:.3g} ms vs {best_rtt:.3g} ms"),
            Target(f"{key}.rate_vs_fastest", f"idiom {n}: the fastest idiom's msgs/s / its msgs/s",
                   stats.ratio(best_rate, rate[n]), IDIOM_VS_FASTEST, False,
                   f"{best_rate:,.0f} vs {rate[n]:,.0f} msgs/s"),
            Target(f"{key}.channel_rtt", f"idiom {n}: channel messages per message, round trips",
                   rtt_msgs, CHANNEL_PER_MESSAGE, False),
            Target(f"{key}.channel_flood", f"idiom {n}: channel messages per message, flood",
                   flood_msgs, CHANNEL_PER_MESSAGE, False),
        ]  # fmt: skip
    return out


def slowdown(factor: float) -> float:
    """A quiet pair's slow-down from its RTT factor against its quiet phase: a pair
    that came out faster beside the disturbance than alone (a factor under 1: the
    noise between two phases) was not slowed, so its slow-down is 1, not less. Two
    pairs neither of which slowed are equal, whichever drew the lower factor. NaN (not
    measured) stays NaN."""
    return factor if math.isnan(factor) else max(1.0, factor)


def isolation_targets(iso: dict[str, Any]) -> list[Target]:
    """bench/isolation.py: the PeerSocket quiet pair's slow-down under each scenario over
    RTCDataChannel's quiet pair's in the same scenario and run (at most 1: no worse;
    each slow-down at least 1, see :func:`slowdown`)."""
    t = iso.get("transports", {})
    scenarios = iso.get("plan", {}).get("scenarios", [])
    out = []
    if "flood-apart" in scenarios and "peersocket" in t:  # against its own quiet phase only
        out += free_core_targets(
            _get(t, "peersocket", "flood-apart", "median_x"), _get(t, "peersocket", "flood-apart", "p99_x")
        )
    if "peersocket" not in t or "rtc" not in t:
        return out
    for scenario in scenarios:
        if scenario == "flood-apart":
            continue
        for q, label in (("median_x", "median"), ("p99_x", "p99")):
            ps, rtc = _get(t, "peersocket", scenario, q), _get(t, "rtc", scenario, q)
            out.append(
                Target(
                    f"isolation.{scenario}.{label}",
                    f"isolation, {scenario}: PeerSocket quiet pair's {label} slow-down / RTCDataChannel's",
                    stats.ratio(slowdown(ps), slowdown(rtc)),
                    1.0,
                    False,
                    f"PeerSocket x{ps:.3g} vs RTCDataChannel x{rtc:.3g}",
                )
            )
    return out


#: issue 13: where a core is free, the quiet pair's slow-down beside a flooding pair
FREE_CORE_LIMITS = {"median": 1.5, "p99": 2.0}


def free_core_targets(median_x: float, p99_x: float) -> list[Target]:
    """bench/isolation.py's ``flood-apart``: the flooding pair's renderers on a CPU of
    their own; the PeerSocket quiet pair's slow-down against its own quiet phase pinned
    the same way, at most x1.5 (median) and x2 (p99)."""
    return [
        Target(
            f"isolation.flood-apart.{label}_abs",
            f"isolation, a core free for the quiet pair beside a flooding pair: its {label} slow-down",
            value,
            FREE_CORE_LIMITS[label],
            False,
            f"x{value:.3g} its quiet {label}",
        )
        for label, value in (("median", median_x), ("p99", p99_x))
    ]
