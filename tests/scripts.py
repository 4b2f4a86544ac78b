"""The benchmark scripts as modules, so a test runs the same code as the benchmark it shortens."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def load_benchmark(filename: str, *, name: str | None = None) -> ModuleType:
    """``benchmarks/<filename>`` loaded by path (the folder is not a package)."""
    spec = importlib.util.spec_from_file_location(name or Path(filename).stem, BENCHMARKS / filename)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
