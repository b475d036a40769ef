"""The package's layers: nothing imports upward, and the pure layers load no I/O library.

Two checks, because each misses what the other sees: the import statements of every module
(including those inside functions, which a fresh interpreter would not run), and what a fresh
interpreter really loads when a layer is imported (which catches a dependency pulled in
transitively).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "meso_fhir"

# Each part of the package and the parts it may import. A part may always import itself.
MAY_IMPORT: dict[str, set[str]] = {
    "_version": set(),
    "_lazy": set(),
    "errors": set(),
    "codes": set(),
    "model": {"_version", "errors", "codes"},
    "mapping": {"_lazy", "_version", "errors", "codes", "model"},
    "validation": {"_version", "errors", "codes"},
    "fhir": {"_version", "errors", "mapping"},
    "syncing": {"_version", "errors", "codes", "model", "mapping", "fhir"},
    "cli": {"_version", "errors", "codes", "model", "mapping", "validation", "fhir", "syncing"},
}

# What a fresh interpreter must not have loaded after importing a part. (httpx loads click
# itself when click is installed, for its own command line: so the layers above httpx are
# held to "never imports meso_fhir.cli" by test_the_command_line_is_imported_by_nothing.)
MUST_NOT_LOAD: dict[str, set[str]] = {
    "meso_fhir": {"httpx", "sqlite3", "click", "pydantic", "fhir", "meso_fhir.model"},
    "meso_fhir.model": {"httpx", "sqlite3", "click", "fhir"},
    "meso_fhir.mapping": {"httpx", "sqlite3", "click", "fhir"},
    # what the command line reads for its options: not the input model (validate's start-up)
    "meso_fhir.mapping.bundle": {"pydantic", "meso_fhir.model"},
    "meso_fhir.validation": {"httpx", "sqlite3", "click"},
    "meso_fhir.fhir": {"sqlite3", "fhir", "meso_fhir.cli", "meso_fhir.validation"},
    "meso_fhir.syncing": {"fhir", "meso_fhir.cli", "meso_fhir.validation"},
}


def _part(module: Path) -> str:
    relative = module.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def _imported_parts(module: Path) -> set[str]:
    """The parts of meso_fhir a module imports, from its import statements anywhere in it."""
    tree = ast.parse(module.read_text(), str(module))
    package = module.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    parts = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                target = [*base, *(node.module.split(".") if node.module else [])]
                if len(target) == 1:  # `from . import codes` names the parts themselves
                    names = [f"meso_fhir.{alias.name}" for alias in node.names]
                else:
                    names = [".".join(target)]
            elif node.module:
                names = [node.module]
        for name in names:
            if name.startswith("meso_fhir."):
                parts.add(name.split(".")[1])
    return parts


LIBRARY_MODULES = sorted(
    p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py" or p.parent != PACKAGE
)


@pytest.mark.parametrize("module", LIBRARY_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_upward(module: Path) -> None:
    part = _part(module)
    assert part in MAY_IMPORT, f"{part} is not placed in a layer: add it to MAY_IMPORT"
    upward = _imported_parts(module) - MAY_IMPORT[part] - {part}
    assert upward == set(), f"{module.relative_to(PACKAGE)} imports {sorted(upward)}"


def test_every_part_of_the_package_is_placed_in_a_layer() -> None:
    parts = {
        _part(p) for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE or p.name != "__init__.py"
    }
    assert parts - {"data"} == set(MAY_IMPORT)


@pytest.mark.parametrize("layer", sorted(MUST_NOT_LOAD))
def test_a_fresh_interpreter_loads_no_library_a_layer_does_not_need(layer: str) -> None:
    code = f"import sys, {layer}; print('\\n'.join(sys.modules))"
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, text=True
        ).stdout.split()
    )
    forbidden = {
        name
        for name in loaded
        for banned in MUST_NOT_LOAD[layer]
        if name == banned or name.startswith(banned + ".")
    }
    assert forbidden == set()


def test_the_command_line_is_imported_by_nothing_but_its_entry_point() -> None:
    importers = [
        str(p.relative_to(PACKAGE))
        for p in PACKAGE.rglob("*.py")
        if _part(p) != "cli" and "cli" in _imported_parts(p)
    ]
    assert importers == []
