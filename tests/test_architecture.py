"""The import rule (docs/architecture.md): kernel <- indexer <- service <- evals, one way.

Every module's imports are read with `ast`, function-local ones included, so a lazy import cannot
slip past. `service/cli.py` is the composition root of the `citeline` CLI and may import all.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("indexer", "service", "evals")
COMPOSITION_ROOT = "service.cli"
MAX_LINES = 300

# (importer prefix, forbidden import prefix)
FORBIDDEN = [
    ("indexer.kernel", "indexer"),  # but see _allowed: the kernel may import itself
    ("indexer.kernel", "service"),
    ("indexer.kernel", "evals"),
    ("indexer", "service"),
    ("indexer", "evals"),
    ("service", "evals"),
    ("service.citing", "service.answering"),
    ("service.citing", "service.http"),
    ("service.answering", "service.http"),
    ("service.retrieval", "service.http"),
]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            yield _module_name(path), path


def _imports(module: str, path: Path) -> Iterator[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    is_package = path.name == "__init__.py"
    for node in ast.walk(tree):  # every level: module-top and function-local imports alike
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                base = module.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            yield node.lineno, target
            for alias in node.names:  # `from service import pipeline` imports service.pipeline
                yield node.lineno, f"{target}.{alias.name}"


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _violations(module: str, path: Path) -> list[str]:
    if module == COMPOSITION_ROOT:
        return []
    found = []
    for line, target in _imports(module, path):
        for importer, forbidden in FORBIDDEN:
            if not (_under(module, importer) and _under(target, forbidden)):
                continue
            if forbidden == "indexer" and _under(target, "indexer.kernel"):
                continue  # the kernel importing itself
            if forbidden == "indexer" and target == "indexer":
                continue  # `from indexer import kernel`-style parents are checked by their names
            found.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {target}")
    return sorted(set(found))


def test_imports_point_one_way() -> None:
    problems = [p for module, path in _modules() for p in _violations(module, path)]
    assert not problems, "imports against the direction:\n" + "\n".join(problems)


def test_only_the_composition_root_imports_service_and_evals_together() -> None:
    problems = []
    for module, path in _modules():
        targets = {t for _, t in _imports(module, path)}
        both = any(_under(t, "service") for t in targets) and any(
            _under(t, "evals") for t in targets
        )
        if both and module != COMPOSITION_ROOT and not _under(module, "evals"):
            problems.append(module)
    assert not problems


def test_indexer_package_imports_nothing() -> None:
    """Importing the kernel must not pull in indexer code: `indexer/__init__.py` is empty."""
    tree = ast.parse((ROOT / "indexer" / "__init__.py").read_text(encoding="utf-8"))
    assert not [n for n in ast.walk(tree) if isinstance(n, ast.Import | ast.ImportFrom)]


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_passes_the_line_limit(package: str) -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in (ROOT / package).rglob("*.py")
    }
    long = {name: n for name, n in sizes.items() if n > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


def test_the_rule_catches_a_wrong_arrow(tmp_path: Path) -> None:
    """The checker itself: a kernel module importing the service, even lazily, is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from service.pipeline import Pipeline\n", encoding="utf-8")
    assert list(_imports("indexer.kernel.bad", bad)) == [
        (2, "service.pipeline"),
        (2, "service.pipeline.Pipeline"),
    ]
    found = [
        t
        for _, t in _imports("indexer.kernel.bad", bad)
        for importer, forbidden in FORBIDDEN
        if _under("indexer.kernel.bad", importer) and _under(t, forbidden)
    ]
    assert found
