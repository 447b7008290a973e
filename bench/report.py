"""``bench/RESULTS.md``, written from ``bench/results.json`` (so the two never disagree).

``python -m bench.report`` (the last step of ``make bench``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import Settings
from bench import cost_model
from bench.notes import NOTES
from bench.results import load_results

REPORT = Path(__file__).resolve().parent / "RESULTS.md"
SLACK_ACK_MS = 3000  # Slack's documented ack deadline
OPERATION_BYTES_CAP = 262_144  # AWS: per-operation checkpoint payload
LAMBDA_ZIPPED_MB, LAMBDA_UNZIPPED_MB = 50, 250  # AWS: deployment package limits


@dataclass(frozen=True)
class Row:
    """One comparison: a metric, what it is set against, and how that is labelled."""

    metric: str
    unit: str
    label: str  # what it is compared with ({placeholders} filled from the results)
    against: str | float | None = None  # another metric, a documented constant, or nothing


ROWS = (
    Row("ack_cold_ms", "ms", "Slack's ack deadline, 3,000 ms (documented)", SLACK_ACK_MS),
    Row("ack_warm_ms", "ms", "Slack's ack deadline, 3,000 ms (documented)", SLACK_ACK_MS),
    Row("agent_cold_import_ms", "ms", "paid once per new container (no peer)"),
    Row(
        "turn_overhead_ms",
        "ms/turn",
        "bare SDK floor, same {floor_operations_10_turns} operations: {turn_floor_ms} ms/turn",
        "turn_floor_ms",
    ),
    Row("turn_overhead_ratio", "x", "turn_overhead_ms / turn_floor_ms"),
    *(
        Row(
            f"resume_ms_{n}",
            "ms",
            f"bare SDK replay of the same {{resume_operations_{n}}} operations: "
            f"{{resume_floor_ms_{n}}} ms",
            f"resume_floor_ms_{n}",
        )
        for n in (10, 50, 200)
    ),
    Row("resume_ratio_200", "x", "resume_ms_200 / resume_floor_ms_200"),
    *(
        Row(
            f"checkpoint_bytes_per_turn_{n}",
            "B",
            "raw content per turn (reply + tool outputs): {amplification_raw_bytes_per_turn} B",
            "amplification_raw_bytes_per_turn",
        )
        for n in (10, 50)
    ),
    Row(
        "max_operation_bytes",
        "B",
        "AWS's per-operation checkpoint cap, 262,144 B (documented)",
        OPERATION_BYTES_CAP,
    ),
    *(
        Row("checkpoint_amplification", "x", f"{label}: {{{peer}}}x", peer)
        for label, peer in (
            ("SDK default NESTED map, same content", "amplification_nested_map"),
            ("FLAT map, same content", "amplification_flat_map"),
            ("whole history each step, whole run", "amplification_whole_history_run"),
            ("whole history each step, at turn 10", "amplification_whole_history_10"),
            ("whole history each step, at turn 50", "amplification_whole_history_50"),
        )
    ),
    Row("parallel_speedup", "x", "ideal for 3 equal calls: 3.0", 3.0),
    Row(
        "job_poll_50_ms",
        "ms",
        "the SDK's bare wait_for_condition, 50 checks: {job_poll_50_floor_ms} ms",
        "job_poll_50_floor_ms",
    ),
    Row(
        "cache_prefix_ratio",
        "",
        "ideal: each request reads all of the previous one back, 1.0",
        1.0,
    ),
    Row(
        "mcp_added_ms",
        "ms",
        "an MCP call ({mcp_call_ms} ms) over a native call ({mcp_native_call_ms} ms), same run",
    ),
    Row("mcp_listing_ms", "ms", "once per run, in the mcp-tools step (no floor)"),
    Row("click_to_resume_ms", "ms", "no floor: the whole local stack, end to end (see Method)"),
    Row("click_ack_ms", "ms", "Slack's ack deadline, 3,000 ms (documented)", SLACK_ACK_MS),
    Row(
        "quorum_last_vote_to_resume_ms",
        "ms",
        "one click on a 1-of-1 gate in the same run: {single_click_to_resume_ms} ms",
        "single_click_to_resume_ms",
    ),
    Row(
        "batch_wall_s",
        "s",
        "5 gated calls, one card per call: {per_call_wall_s} s",
        "per_call_wall_s",
    ),
    Row("batch_clicks", "clicks", "one card per call: {per_call_clicks} clicks", "per_call_clicks"),
    Row("reminder_operations", "ops", "a wait and a step: 2", 2.0),
    Row("reminder_checkpoint_bytes", "bytes", "no floor: what a reminder's step returns"),
    *(
        row
        for name in ("agent", "slack")
        for row in (
            Row(
                f"bundle_mb_{name}",
                "MB zipped",
                "Lambda's 50 MB zipped upload (documented)",
                LAMBDA_ZIPPED_MB,
            ),
            Row(
                f"bundle_mb_{name}_unzipped",
                "MB",
                "Lambda's 250 MB unzipped (documented)",
                LAMBDA_UNZIPPED_MB,
            ),
        )
    ),
    Row("operations_per_turn", "ops", "AWS's cap per execution, 3,000 (documented)", 3000.0),
    Row(
        "max_turns_under_limit",
        "turns",
        "AGENT_MAX_TURNS default: {default_max_turns}",
        "default_max_turns",
    ),
    Row(
        "orchestration_cost_per_run_usd",
        "USD",
        "same run on Step Functions Standard + Lambda: {sfn_orchestration_cost_per_run_usd}",
        "sfn_orchestration_cost_per_run_usd",
    ),
    Row(
        "llm_cost_per_run_usd",
        "USD",
        "same requests without prompt caching: {llm_cost_uncached_usd}",
        "llm_cost_uncached_usd",
    ),
    Row(
        "llm_cost_per_run_usd",
        "USD",
        "same requests, every byte before the newest turn a cache read: {llm_cost_ideal_usd}",
        "llm_cost_ideal_usd",
    ),
    Row(
        "orchestration_cost_per_run_usd",
        "USD",
        "the run's Claude cost (cached): {llm_cost_per_run_usd}",
        "llm_cost_per_run_usd",
    ),
)


def fmt(value: Any) -> str:
    """A number as the table shows it: thousands separated, decimals only where they tell."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, int) or float(value).is_integer():
        return f"{int(value):,}"
    if abs(value) < 0.01:
        return f"{value:.6f}".rstrip("0")
    digits = 1 if abs(value) >= 100 else 3
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def usd(value: float) -> str:
    """Dollars, with enough digits for fractions of a cent."""
    return f"${value:.6f}" if abs(value) < 0.01 else f"${value:.4f}"


def table(results: dict[str, Any]) -> list[str]:
    """The main table: metric, value, what it is compared with, and the ratio."""
    values = {**results, "default_max_turns": Settings(llm_provider="offline").max_turns}
    shown = {k: usd(v) if k.endswith("_usd") else fmt(v) for k, v in values.items()}
    lines = ["| metric | value | compared with | ratio |", "|---|---|---|---|"]
    for row in ROWS:
        value = results.get(row.metric)
        if value is None:
            lines.append(f"| `{row.metric}` | not measured | | |")
            continue
        against = values.get(row.against) if isinstance(row.against, str) else row.against
        ratio = fmt(round(value / against, 3)) if against else ""
        label = row.label.format_map(shown)
        shown_value = usd(value) if row.unit == "USD" else f"{fmt(value)} {row.unit}".strip()
        lines.append(f"| `{row.metric}` | {shown_value} | {label} | {ratio} |")
    return lines


def cost_breakdown(results: dict[str, Any]) -> list[str]:
    """Each component of the two orchestration totals."""
    lines = ["| component | durable functions | Step Functions |", "|---|---|---|"]
    components = sorted(
        {k.split("_", 2)[2].removesuffix("_usd") for k in results if k.startswith("cost_durable_")}
        | {k.split("_", 2)[2].removesuffix("_usd") for k in results if k.startswith("cost_sfn_")}
    )
    for name in components:
        durable = results.get(f"cost_durable_{name}_usd")
        sfn = results.get(f"cost_sfn_{name}_usd")
        shown = ["" if cost is None else usd(cost) for cost in (durable, sfn)]
        lines.append(f"| {name} | {shown[0]} | {shown[1]} |")
    return lines


def price_table() -> list[str]:
    """The prices the cost model uses, with their sources."""
    lines = ["| price | USD per unit | source | as read |", "|---|---|---|---|"]
    for name, price in cost_model.PRICES.items():
        per_unit = f"{price.usd:.10f}".rstrip("0").rstrip(".")
        lines.append(f"| {name} ({price.unit}) | {per_unit} | {price.source} | {price.note} |")
    return lines


def render(results: dict[str, Any]) -> str:
    """The whole report."""
    machine = results.get("machine", {})
    versions = ", ".join(f"{k} {v}" for k, v in sorted(machine.get("versions", {}).items()))
    parts = [
        "# Benchmark results",
        "",
        "Written by `python -m bench.report` from `bench/results.json` (`make bench` runs every",
        "benchmark, then this). Every figure is a median over repeated runs; every ratio sets",
        "two figures measured in the same `make bench` run against each other, or a figure",
        "against a documented constant (marked as such).",
        "",
        f"Machine: {machine.get('platform')}, {machine.get('cpus')} CPUs, Python "
        f"{machine.get('python')}; {versions}.",
        "",
        *table(results),
        "",
        "## Orchestration cost of one run, by component",
        "",
        *cost_breakdown(results),
        "",
        "## Prices",
        "",
        f"As of {cost_model.AS_OF}; US East (N. Virginia), on demand, no free tier.",
        "",
        *price_table(),
        "",
        "## Method",
        "",
        *NOTES,
        "",
    ]
    return "\n".join(parts)


def main() -> None:
    REPORT.write_text(render(load_results()))


if __name__ == "__main__":
    main()
