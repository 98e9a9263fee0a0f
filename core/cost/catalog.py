"""Where prices come from: the devices catalog (gpus.yaml, overridable) and plugins' price tables."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import FtxError
from ..estimate import PriceTable

GPUS_FILE = Path(__file__).with_name("gpus.yaml")
# The order devices are compared in when --gpu is not given: cheapest first.
DEFAULT_ORDER = ("cpu", "t4", "l4", "a10g", "rtx4090", "a100-40gb", "a100-80gb", "h100")


class CostError(FtxError):
    """A cost estimate or a spending guard refused to go on."""


@dataclass
class Device:
    """One row of gpus.yaml, with the machine-dependent CPU values filled in."""

    key: str
    name: str
    memory_gb: float
    peak_tflops: float
    precision: str
    mfu: float
    step_overhead_s: float
    startup_s: float
    usd_per_hour: float
    source: str
    date: str
    overhead_gb: float = 0.75
    fragmentation: float = 0.1
    load_gb_per_s: float = 1.0
    aliases: list[str] = field(default_factory=list)
    kind: str = "gpu"  # or "cpu": float32, no fused attention, memory and cores of this machine
    # a CPU row's step_overhead_s before this machine's speed scaled it (ftx.cost.cpu_speed), or None
    calibration_step_overhead_s: float | None = None

    @property
    def is_cpu(self) -> bool:
        return self.kind == "cpu"


def _read_yaml(path: Path) -> dict[str, Any]:
    from ..yamlio import load_file

    try:
        data = load_file(path) or {}
    except Exception as exc:
        import yaml  # only now: load_file may have read the catalog without PyYAML

        if not isinstance(exc, (OSError, yaml.YAMLError)):
            raise
        raise CostError(f"cannot read device catalog: {exc}", file=str(path)) from None
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise CostError("a device catalog maps names to mappings of fields", file=str(path))
    return data


def override_file() -> Path | None:
    """The user's device catalog: ``$FTX_GPUS``, else ``<ftx home>/gpus.yaml`` if it exists."""
    from ..home import ftx_home

    env = os.environ.get("FTX_GPUS")
    if env:
        path = Path(env).expanduser()
        if not path.is_file():
            raise CostError(f"FTX_GPUS names no file: {path}")
        return path
    path = ftx_home() / "gpus.yaml"
    return path if path.is_file() else None


def system_memory_gb() -> float:
    """Physical memory of this machine in GB (1e9 bytes)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    except (ValueError, OSError, AttributeError):  # not POSIX: a conservative guess
        return 8.0


def usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _device(key: str, raw: dict[str, Any], where: str) -> Device:
    raw = dict(raw)
    if key == "cpu":
        raw.setdefault("kind", "cpu")
    if raw.get("kind") == "cpu":
        raw.setdefault("precision", "fp32")
        cores = raw.get("cores") or usable_cores()
        raw.setdefault("peak_tflops", None)
        raw["peak_tflops"] = raw["peak_tflops"] or float(raw.get("peak_tflops_per_core", 0.096)) * cores
        raw["memory_gb"] = raw.get("memory_gb") or round(system_memory_gb(), 1)
        if raw.get("name") == "CPU":
            raw["name"] = f"CPU x{cores}"
        reference = raw.pop("probe_reference_s", None)
        if reference and raw.get("step_overhead_s") is not None:
            from .cpu_speed import slowdown  # the calibration machine's step cost, at this CPU's speed

            raw["calibration_step_overhead_s"] = float(raw["step_overhead_s"])
            raw["step_overhead_s"] = float(raw["step_overhead_s"]) * slowdown(float(reference))
    try:
        return Device(
            key=key, name=str(raw.get("name") or key), memory_gb=float(raw["memory_gb"]),
            peak_tflops=float(raw["peak_tflops"]), precision=str(raw.get("precision", "bf16")),
            mfu=float(raw.get("mfu", 0.3)), step_overhead_s=float(raw.get("step_overhead_s", 0.05)),
            startup_s=float(raw.get("startup_s", 20.0)), usd_per_hour=float(raw.get("usd_per_hour", 0.0)),
            source=str(raw.get("source", "unknown")), date=str(raw.get("date", "unknown")),
            overhead_gb=float(raw.get("overhead_gb", 0.75)), fragmentation=float(raw.get("fragmentation", 0.1)),
            load_gb_per_s=float(raw.get("load_gb_per_s", 1.0)),
            aliases=[str(a).lower() for a in raw.get("aliases") or ()], kind=str(raw.get("kind", "gpu")),
            calibration_step_overhead_s=(float(raw["calibration_step_overhead_s"])
                                         if raw.get("calibration_step_overhead_s") is not None else None))
    except (KeyError, TypeError, ValueError) as exc:
        raise CostError(f"device {key!r}: missing or invalid field ({exc})", file=where) from None


def load_devices() -> dict[str, Device]:
    """Every device: the shipped gpus.yaml, merged field by field with the user's file."""
    merged = {k: dict(v) for k, v in _read_yaml(GPUS_FILE).items()}
    where = str(GPUS_FILE)
    user = override_file()
    if user is not None:
        where = str(user)
        for key, fields in _read_yaml(user).items():
            entry = merged.setdefault(str(key).lower(), {})
            if "step_overhead_s" in fields and "probe_reference_s" not in fields:
                entry.pop("probe_reference_s", None)  # the user's own step cost: not scaled again
            entry.update(fields)
    return {key: _device(key, raw, where) for key, raw in merged.items()}


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


def find_device(name: str, devices: dict[str, Device] | None = None) -> Device:
    """A device by key, display name or alias (case and spaces ignored)."""
    devices = devices if devices is not None else load_devices()
    want = _norm(name)
    for dev in devices.values():
        if want in {dev.key, _norm(dev.name), *(_norm(a) for a in dev.aliases)}:
            return dev
    raise CostError(f"unknown GPU {name!r}; known: {', '.join(sorted(devices))}",
                    hint="add it to $FTX_GPUS or <ftx home>/gpus.yaml")


def default_devices(devices: dict[str, Device] | None = None) -> list[Device]:
    """The devices compared when none is named: the usual ladder, then any the user added."""
    devices = devices if devices is not None else load_devices()
    ordered = [devices[k] for k in DEFAULT_ORDER if k in devices]
    return ordered + [d for k, d in devices.items() if k not in DEFAULT_ORDER]


# -- price tables from plugins ---------------------------------------------------------------

def price_tables() -> list[PriceTable]:
    """Every registered price table in ftx's call order (its own first, then plugins')."""
    from ..pluginmanager import get_plugins

    return [t for _, t in get_plugins().collect_all("ftx_register_price_tables")]


_DATE_SUFFIX = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{3})$")


def model_keys(model: str) -> list[str]:
    """Names a model may be priced under, most specific first.

    ``ft:gpt-4o-mini-2024-07-18:org::id`` (a fine-tuned model, trained further) is priced as
    its base; a dated snapshot (``gpt-4.1-2025-04-14``, ``gemini-2.0-flash-001``) falls back to
    its undated name. No prefix matching: ``gpt-4.1-nano`` must never get ``gpt-4.1``'s price.
    """
    name = model.strip()
    if name.startswith("ft:"):
        name = name.split(":")[1]
    name = name.split("/")[-1] if name.startswith(("publishers/", "models/")) else name
    keys = [name]
    undated = _DATE_SUFFIX.sub("", name)
    if undated != name:
        keys.append(undated)
    return keys + [k.lower() for k in keys if k.lower() != k]


def _names(entry_name: str, entry: dict[str, Any]) -> set[str]:
    return {entry_name, *(str(a) for a in entry.get("aliases") or ())}


def equivalent_names(model: str, tables: list[PriceTable]) -> set[str]:
    """``model``'s own keys plus every name an entry lists it with (its snapshot, its aliases),
    so a table keyed by ``gpt-4.1-mini-2025-04-14`` prices a recipe that says ``gpt-4.1-mini``."""
    names = set(model_keys(model))
    for table in tables:
        for entry_name, entry in table.entries.items():
            both = _names(entry_name, entry)
            if both & names:
                names |= both
    return names


def price_for(backend: str, model: str, tables: list[PriceTable] | None = None,
              ) -> tuple[dict[str, Any], PriceTable] | None:
    """The price entry for ``model`` on ``backend`` and the table it came from; the last
    registered table that prices the model (under any of its names) wins, so a plugin can
    override ftx's prices."""
    mine = [t for t in (tables if tables is not None else price_tables()) if t.backend == backend]
    names = equivalent_names(model, mine)
    found = None
    for table in mine:
        for entry_name, entry in table.entries.items():
            if _names(entry_name, entry) & names:
                found = (entry, table)
                break
    return found


def package_yaml(path: Path) -> dict[str, Any]:
    """A YAML data file shipped with ftx, parsed once per process (C loader where present)."""
    from ..yamlio import load_file

    return load_file(path) or {}
