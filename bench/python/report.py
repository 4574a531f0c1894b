"""Targets from issues 4 and 11, and the markdown tables written into bench/README.md."""

from __future__ import annotations

import re
import statistics
from pathlib import Path
from typing import Any, Optional

from spec import CASES, CASES_BY_ID, CHECK_STEPS, case_flops

START, END = "<!-- cpu-results:start -->", "<!-- cpu-results:end -->"

# Issue 11's targets at 1 thread. Step and fit cases: the smallest fraction of the machine's FMA
# peak (measured in the same run) that eigennet's product flops must reach. Predict cases: the
# largest time, (AVX-512 machine, other machine). Every step, fit and predict case: never slower
# than PyTorch or NumPy (within NOISE).
PEAK_TARGETS: dict[str, float] = {
    "w1-step-b32": 0.55,
    "w1-step-b128": 0.65,
    "w1-step-b1024": 0.78,
    "w1-fit": 0.62,
    "w2-step-b128": 0.68,
    "w2-step-b1024": 0.78,
    "w3-step-b32": 0.40,
}
TIME_TARGETS: dict[str, tuple[float, float]] = {
    "w1-predict-1": (12e-6, 15e-6),
    "w3-predict-1": (2e-6, 2e-6),
}
# PyTorch's times on the machine the targets were set on (issue 4), to compare machines by.
TORCH_REFERENCE = {
    "w1-step-b32": 496e-6,
    "w1-step-b128": 1.47e-3,
    "w1-step-b1024": 11.0e-3,
    "w1-fit": 756e-3,
    "w3-step-b32": 251e-6,
    "w3-fit": 4.8e-3,
    "w1-predict-1": 30.5e-6,
    "w3-predict-1": 19.5e-6,
}
# With more threads: the 1-thread time over this one must reach this (default: never slower).
SCALING = {"w1-step-b1024": 1.8, "w2-step-b1024": 1.8}
NOISE = 0.95  # "never slower" accepts 5% of timing noise
IMPORT_SLACK = 30e-3  # eigennet's import may take NumPy's plus this
BUSY = 0.1  # CPU share used by other processes above which the tables carry a warning


def fmt_time(seconds: float, lo: Optional[float] = None, hi: Optional[float] = None) -> str:
    """'248 µs (240–262)': median with min–max in the median's unit."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale or unit == "µs":
            break

    def num(v: float) -> str:
        v /= scale
        return f"{v:.0f}" if v >= 100 else f"{v:.1f}" if v >= 10 else f"{v:.2f}"

    text = f"{num(seconds)} {unit}"
    if lo is not None and hi is not None:
        text += f" ({num(lo)}–{num(hi)})"
    return text


def _pct(x: Optional[float]) -> str:
    return "?" if x is None else f"{100 * x:.0f}%"


def cell(row: Optional[dict[str, Any]]) -> str:
    """Median (min–max), or the warm-up's estimate for a variant too slow to run."""
    if row is None:
        return "–"
    if row.get("estimated"):
        return f"≈ {fmt_time(row['median_s'])} (estimate, not run)"
    return fmt_time(row["median_s"], row["min_s"], row["max_s"])


def _index(results: list[dict[str, Any]]) -> dict[tuple[str, int, str], dict[str, Any]]:
    return {(r["case"], r["threads"], r["variant"]): r for r in results}


def _framework_row(
    results: list[dict[str, Any]], case: str, threads: int, framework: str
) -> Optional[dict[str, Any]]:
    for r in results:
        if r["case"] == case and r["threads"] == threads and r["framework"] == framework:
            return r
    return None


def peak_fraction(row: Optional[dict[str, Any]], peak: Optional[float]) -> Optional[float]:
    """The fraction of the FMA peak (GFLOP/s) that a row's product flops reach."""
    if row is None or not peak:
        return None
    flops = case_flops(CASES_BY_ID[row["case"]])
    return None if flops is None else flops / row["median_s"] / (peak * 1e9)


def _time_limit(case: str, avx512: bool) -> Optional[float]:
    limits = TIME_TARGETS.get(case)
    return None if limits is None else limits[0] if avx512 else limits[1]


def target_text(case: str, threads: int, avx512: bool = False) -> str:
    if threads == 1 and CASES_BY_ID[case].kind != "interference":
        parts = []
        if case in PEAK_TARGETS:
            parts.append(f"≥ {100 * PEAK_TARGETS[case]:.0f}% peak")
        limit = _time_limit(case, avx512)
        if limit is not None:
            parts.append(f"≤ {fmt_time(limit)}")
        return ", ".join(parts + ["≤ torch, numpy"])
    if threads > 1 and CASES_BY_ID[case].kind != "interference":
        return f"≥ {SCALING.get(case, 1.0)}x 1-thread speed"
    return ""


def target_met(
    results: list[dict[str, Any]],
    row: dict[str, Any],
    others: list[Optional[dict[str, Any]]],
    peak: Optional[float] = None,
    avx512: bool = False,
) -> Optional[tuple[bool, str]]:
    """(met, detail) for an eigennet row, or None where no target applies."""
    case, threads = row["case"], row["threads"]
    if row["variant"] == TAPE:  # its targets are relative to train_on_batch: tape_table
        return None
    if threads == 1 and CASES_BY_ID[case].kind != "interference":
        ok, detail = True, ""
        if case in PEAK_TARGETS:
            frac = peak_fraction(row, peak)
            ok = frac is not None and frac >= PEAK_TARGETS[case]
        limit = _time_limit(case, avx512)
        if limit is not None:
            ok = ok and row["median_s"] <= limit
        slower = [o for o in others if o and row["median_s"] * NOISE > o["median_s"]]
        if slower:
            ok = False
            detail = "slower than " + ", ".join(o["framework"] for o in slower)
        return ok, detail
    if threads > 1 and CASES_BY_ID[case].kind != "interference":
        one = _index(results).get((case, 1, row["variant"]))
        if one is None:
            return None
        x = one["median_s"] / row["median_s"]
        need = SCALING.get(case, 1.0)
        return x >= need * (NOISE if need == 1.0 else 1.0), f"{x:.2f}x"
    return None


def machine_factor(results: list[dict[str, Any]]) -> Optional[str]:
    """How much slower PyTorch ran here (1 thread) than on the machine of issue 4's targets."""
    ratios = sorted(
        r["median_s"] / TORCH_REFERENCE[r["case"]]
        for r in results
        if r["framework"] == "torch"
        and r["threads"] == 1
        and r["case"] in TORCH_REFERENCE
        and not r.get("estimated")
    )
    if not ratios:
        return None
    mid = statistics.median(ratios)
    return (
        f"PyTorch at 1 thread took {mid:.2f}x the time issue 4 reports for it on the machine its "
        f"targets were set on (median of {len(ratios)} cases, {ratios[0]:.2f}x to "
        f"{ratios[-1]:.2f}x): the absolute targets assume that machine, the ratios do not."
    )


def results_table(
    results: list[dict[str, Any]], threads: int, peak: Optional[float] = None, avx512: bool = False
) -> list[str]:
    lines = [
        "| case | eigennet variant | eigennet | torch | numpy | eigennet/torch "
        "| eigennet/numpy | % of FMA peak (eigennet / torch / numpy) | target | met |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        if case.kind == "interference":
            continue
        torch = _framework_row(results, case.id, threads, "torch")
        ref = _framework_row(results, case.id, threads, "numpy")
        rows = [
            r
            for r in results
            if r["case"] == case.id and r["threads"] == threads and r["framework"] == "eigennet"
        ]
        if not rows and torch is None and ref is None:
            continue
        for row in rows or [None]:
            cells = [case.label, row["variant"] if row else "–", cell(row), cell(torch)]
            cells.append(cell(ref))
            for other in (torch, ref):
                ratio = row["median_s"] / other["median_s"] if row and other else None
                cells.append(f"{ratio:.2f}" if ratio is not None else "–")
            fracs = [peak_fraction(r, peak) for r in (row, torch, ref)]
            cells.append(
                " / ".join(_pct(f) for f in fracs) if any(f is not None for f in fracs) else ""
            )
            met = target_met(results, row, [torch, ref], peak, avx512) if row else None
            cells.append(target_text(case.id, threads, avx512))
            if met is None:
                cells.append("")
            else:
                notes = [
                    n for n in (met[1], "estimate" if row and row.get("estimated") else "") if n
                ]
                cells.append(
                    ("yes" if met[0] else "**no**") + (f" ({', '.join(notes)})" if notes else "")
                )
            lines.append("| " + " | ".join(cells) + " |")
    return lines


TAPE = "eigennet (tape)"
# Issue 13: a tape step within these multiples of train_on_batch's, at 1 thread.
TAPE_TARGETS = {"w3-step-b32": 3.0, "w1-step-b128": 1.3}


def tape_table(results: list[dict[str, Any]], threads: int) -> list[str]:
    """A custom-loop step (GradientTape + apply_gradients) against train_on_batch."""
    idx = _index(results)
    lines = [
        "| case | tape step | train_on_batch | tape / train_on_batch | torch step "
        "| tape / torch | target | met |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for case in CASES:
        tape, plain = idx.get((case.id, threads, TAPE)), idx.get((case.id, threads, "eigennet"))
        if tape is None or plain is None:
            continue
        torch = _framework_row(results, case.id, threads, "torch")
        ratio = tape["median_s"] / plain["median_s"]
        target = TAPE_TARGETS.get(case.id) if threads == 1 else None
        cells = [case.label, cell(tape), cell(plain), f"{ratio:.2f}", cell(torch)]
        cells.append(f"{tape['median_s'] / torch['median_s']:.2f}" if torch else "–")
        cells.append(f"≤ {target:g}x" if target else "")
        cells.append(("yes" if ratio <= target else "**no**") if target else "")
        lines.append("| " + " | ".join(cells) + " |")
    return lines if len(lines) > 2 else []


def interference_table(results: list[dict[str, Any]], threads: int) -> list[str]:
    idx = _index(results)
    measurements = [
        ("W1 step b128 alone", "int-mix", "step", "step"),
        ("W1 step b128, NumPy matmul between steps", "int-mix", "step, matmul between", "step"),
        ("W1 step b128, one busy background process", "int-load", "step", "step"),
        ("NumPy 512² float32 matmul alone", "int-mix", "matmul", "matmul"),
        ("NumPy matmul, W1 step b128 between", "int-mix", "matmul, step between", "matmul"),
    ]
    if not any(("int-mix", threads, f"{fw} step") in idx for fw in ("eigennet", "torch")):
        return []
    lines = ["| measurement | eigennet process | torch process |", "|---|---|---|"]
    for label, case, variant, base in measurements:
        cells = [label]
        for fw in ("eigennet", "torch"):
            row = idx.get((case, threads, f"{fw} {variant}"))
            alone = idx.get(("int-mix", threads, f"{fw} {base}"))
            text = cell(row)
            if row and alone and row is not alone:
                text += f", {row['median_s'] / alone['median_s']:.2f}x alone"
            cells.append(text)
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def import_table(imports: dict[str, Any]) -> list[str]:
    lines = [
        "| module | import (in process) | process wall time | target | met |",
        "|---|---|---|---|---|",
    ]
    numpy = imports.get("numpy")
    for name, r in imports.items():
        imp = fmt_time(r["import_median_s"], r["import_min_s"], r["import_max_s"])
        if name == "(python -c pass)":
            imp = "–"
        target = met = ""
        if name == "eigennet" and numpy:
            limit = numpy["import_median_s"] + IMPORT_SLACK
            target = f"≤ numpy + 30 ms = {fmt_time(limit)}"
            met = "yes" if r["import_median_s"] <= limit else "**no**"
        lines.append(f"| {name} | {imp} | {fmt_time(r['wall_median_s'])} | {target} | {met} |")
    return lines


def markdown(doc: dict[str, Any]) -> str:
    m, v = doc["machine"], doc["versions"]
    flags = ", ".join(m["isa"]) or "no AVX"
    peak = m.get("fma_peak_gflops")
    avx512 = "avx512f" in m["isa"]
    kset = next((i.get("eigennet_kernel_set") for i in doc["workers"].values() if i), None)
    head = [
        f"Machine: {m['cpu_model']}, {m['cores']} cores ({flags}), {m['memory_gib']} GiB; "
        f"busy with other work before and after the run: {_pct(m['busy_start'])}, "
        f"{_pct(m['busy_end'])} of the CPU.",
        "",
        f"`lscpu`: model name {m.get('lscpu_model', '?')}; flags: {m.get('lscpu_flags', '?')}.",
        "",
        f"FMA peak of one core, measured in this run (bench/cpp/fma_peak.c, -march=native): "
        f"{peak:.1f} GFLOP/s. eigennet kernel set: {kset or '?'}. The % column counts the "
        "flops of the products a step needs (2·m·n·k each; no input gradient for the first "
        "layer) over the time of the whole step or epoch."
        if peak
        else "FMA peak: not measured (no C compiler).",
        "",
        f"Python {v.get('python')}, NumPy {v.get('numpy') or '–'}, "
        f"PyTorch {v.get('torch') or '–'}, eigennet {v.get('eigennet') or '–'}; {doc['date']}; "
        f"{doc['mode']} run ({doc['wall_s']:.0f} s): `{doc['command']}`.",
        *(
            [
                "",
                "**Other processes were using the CPU**: treat these numbers as noisy, the "
                "multi-thread ones most.",
            ]
            if max(m["busy_start"] or 0.0, m["busy_end"] or 0.0) > BUSY
            else []
        ),
        "",
        "Same model in every framework: the losses of the first "
        f"{CHECK_STEPS} training steps from the shared initial weights agree to "
        + ", ".join(f"{v:.0e} ({k})" for k, v in doc.get("loss_agreement", {}).items())
        + " (largest relative difference).",
        "",
        "Times are per call: median over samples, (min–max) in the same unit. Ratios are "
        "eigennet's median time over the other framework's (below 1: eigennet is faster). "
        "Targets are issue 11's; with more than one thread the target is the speed-up over the "
        "same variant at 1 thread (≥ 1x allows 5% noise).",
    ]
    out = head
    results = doc["results"]
    factor = machine_factor(results)
    if factor:
        out += ["", factor]
    for t in doc["threads"]:
        out += ["", f"### {t} thread{'s' if t > 1 else ''}", ""]
        out += results_table(results, t, peak, avx512)
    for t in doc["threads"]:
        table = tape_table(results, t)
        if table:
            out += ["", f"### Custom training loops, {t} thread{'s' if t > 1 else ''}", ""]
            out += [
                "A step written with `en.GradientTape` (forward on the tape, the compiled "
                "loss object, `tape.gradient`, `optimizer.apply_gradients`) against "
                "`train_on_batch` on the same batches; the torch column is PyTorch's own "
                "step, which is written the same way.",
                "",
            ] + table
    for t in doc["threads"]:
        table = interference_table(results, t)
        if table:
            out += ["", f"### OpenMP interference, {t} threads", ""] + table
    if doc.get("imports"):
        out += ["", "### Import time (fresh process each)", ""] + import_table(doc["imports"])
    return "\n".join(out) + "\n"


INTRO = """# Benchmarks

eigennet against PyTorch and a NumPy reference; see bench/python/bench.py.

## CPU results

"""


def update_readme(path: Path, body: str) -> None:
    """Replaces the text between the cpu-results markers, creating the file or the markers (before
    any later "## GPU" section) when missing; everything else is kept."""
    block = f"{START}\n{body}{END}"
    text = path.read_text() if path.exists() else INTRO
    if START in text and END in text:
        pattern = re.escape(START) + r".*?" + re.escape(END)
        text = re.sub(pattern, lambda _: block, text, count=1, flags=re.S)
    else:
        gpu = re.search(r"^## GPU", text, flags=re.M)
        at = gpu.start() if gpu else len(text)
        text = text[:at].rstrip("\n") + "\n\n" + block + "\n" + ("\n" + text[at:] if gpu else "")
    path.write_text(text)
