"""What else runs in the app's origin, and so inside the trusted base for the person's file.

Streamlit frames every v1 component with ``allow-same-origin``, and ``components.html`` and
HTML in markdown run in the app's origin too. Such code can reach the component's host frame:
rewrite the request or the engine before they are posted, or swap the sandbox for a look-alike
picker (docs/security.md, "The trust boundary"). The scripts are read, not run.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .model_checks import _scripts
from .report import Check, passed, warn

OWN_PACKAGE = "streamlit_secure_context"


def _findings(tree: ast.AST) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            owner = func.value.id if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) else ""
            if name == "html" and owner in {"components", "v1"}:
                found.append((node.lineno, "components.html() runs its HTML and scripts in the app's origin"))
            elif name == "declare_component":
                found.append((node.lineno, "declare_component() adds a custom component, framed with allow-same-origin"))
            elif any(k.arg == "unsafe_allow_html" and not (isinstance(k.value, ast.Constant) and k.value.value is False)
                     for k in node.keywords):
                found.append((node.lineno, f"{name}(..., unsafe_allow_html=...) renders raw HTML in the app's page"))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
            for module in modules:
                top = module.split(".")[0]
                if top.startswith("streamlit_") and top != OWN_PACKAGE:
                    found.append((node.lineno, f"imports {top}, a third-party Streamlit component package"))
    return sorted(found)


def check_origin(apps: list[Path]) -> list[Check]:
    checks: list[Check] = []
    for app in apps:
        for script in _scripts(app):
            try:
                tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
            except (OSError, SyntaxError, UnicodeDecodeError):
                continue  # model_pins reports a script it cannot read
            for line, what in _findings(tree):
                checks.append(warn(
                    "same_origin_code", f"{script.name}:{line}: {what}, in the trusted base for the person's file",
                    "keep only code you vet in an app that handles PHI; see docs/security.md, 'The trust boundary'"))
    if apps and not checks:
        checks.append(passed("same_origin_code", "no other component, components.html or unsafe HTML in the app scripts"))
    return checks
