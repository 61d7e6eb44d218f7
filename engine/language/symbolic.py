"""SymPy on demand: importing it takes half a second, and banks whose values stay rational (or
c·√m) never need it, so no module imports it at load time; they call `sympy()` where they must."""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import Any, cast

from engine.vocabulary import ASSUMPTIONS, Assumption


def sympy() -> ModuleType:
    """The SymPy module, imported on first use."""
    return importlib.import_module("sympy")


def sympy_symbol(name: str, assumption: str) -> Any:
    """The SymPy symbol of a declared name and assumption (`positive_integer`, ...)."""
    return sympy().Symbol(name, **ASSUMPTIONS[cast(Assumption, assumption)])


def is_sympy(value: Any) -> bool:
    """Whether value is a SymPy object; never imports SymPy (such an object means it is loaded)."""
    module = sys.modules.get("sympy")
    return module is not None and isinstance(value, module.Basic)
