"""The peak-memory section of docs/benchmarks.md (``memory_calibration.py``'s results), for
report.py."""

from __future__ import annotations

from typing import Callable


def _memory_rows(cases: list[dict]) -> str:
    return "\n".join(f"| {r['shape']} | {r['total_parameters']:,} | {r['method']} | {r['max_length']} | "
                     f"{r['peak_memory_mb']:,.0f} | {r.get('end_rss_file_mb', float('nan')):,.0f} | "
                     f"{r['peak_rss_sampled_mb']:,.0f} | {r['predicted_peak_memory_mb']:,.0f} | "
                     f"{r['peak_memory_error']:+.1%} |" for r in cases)


_MEMORY_HEAD = """| shape | parameters | method | max length | measured MB | of which file-backed MB | sampled MB | estimated MB | error |
| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"""


def _worst(result: dict) -> float:
    """The error of largest size, with its sign (results store the size as worst_error)."""
    return max((c["peak_memory_error"] for c in result["cases"]), key=abs)


def memory(_load: Callable[[str], dict | None]) -> str:
    """The section, from the results ``_load`` reads (report.py's loader)."""
    m = _load("memory.json")
    if m is None:
        return ""
    fresh = _load("memory_fresh_install.json")
    states = _load("memory_library_pages.json")
    text = f"""
## Peak memory: measured vs estimated (`memory_calibration.py`)

Two steps of batch 4 on the CPU, each case in a fresh process; every sequence is truncated at max length.
Measured = the process high-water mark (VmHWM), which ftx reports; "sampled" = the RSS sampled at step ends,
which ftx reported before; "file-backed" = the resident file-backed pages at the end of the run (the
libraries' code, and for LoRA the frozen weights read through mmap). Error = measured / estimated - 1;
tolerance +-{m['tolerance']:.0%}.

In the project's development environment (libraries installed hours before, page cache as found): worst
{_worst(m):+.1%}: {'every case within it' if m['all_within_tolerance'] else 'NOT every case within it'}.

{_MEMORY_HEAD}
{_memory_rows(m['cases'])}
"""
    if fresh:
        text += f"""
On a fresh install, as in CI (a clean clone, `scripts/setup.sh "all,dev"`, empty HOME, CI=true): worst
{_worst(fresh):+.1%}: {'every case within it' if fresh['all_within_tolerance'] else 'NOT every case within it'}.

{_MEMORY_HEAD}
{_memory_rows(fresh['cases'])}
"""
    machine = _load("memory_fresh_machine.json")
    if machine:
        text += f"""
On another fresh install ({machine['install']}): worst {_worst(machine):+.1%}:
{'every case within it' if machine['all_within_tolerance'] else 'NOT every case within it'}.

{_MEMORY_HEAD}
{_memory_rows(machine['cases'])}
"""
    if states:
        rows = "\n".join(f"| {r['library_pages']} | {r['shape']} {r['method']} {r['max_length']} | "
                         f"{r['peak_memory_mb']:,.0f} | {r['end_rss_anon_mb']:,.0f} | {r['end_rss_file_mb']:,.0f} | "
                         f"{r['predicted_peak_memory_mb']:,.0f} | {r['peak_memory_error']:+.1%} |"
                         for r in states["cases"])
        text += f"""
The same packages measure differently because the high-water mark counts the libraries' resident code
pages, and how much of them is resident depends on the page cache, not on the run: the kernel here (Linux
6.18) maps a cached large folio whole on a fault, so libraries written by a fresh install, or read through,
count more than the same files faulted back in small pieces; the anonymous memory is the same to a few
megabytes. This case has peaked between 586 MB (an earlier development-venv run) and 756 MB (libraries
rewritten as pip writes them), 128-299 MB of it file-backed; the estimate takes the middle of that range
(`LIBRARY_PAGES_GB` in `plugins/local/estimator/memory.py`), so both ends are within 13%. The same case in
each state of the fresh install's libraries (`--library-pages evicted|read`; "as installed" = as pip wrote
them, the state CI runs in; runs of one state differ too: an earlier eviction gave 633 MB, 175 file-backed):

| libraries' pages | case | measured MB | anonymous MB | file-backed MB | estimated MB | error |
| --- | --- | ---: | ---: | ---: | ---: | ---: |
{rows}
"""
    return text
