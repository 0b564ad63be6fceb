"""Are the models an app runs pinned by sha256?

"Pinned" here means: every ``streamlit_secure_context(...)`` call in the app's scripts passes
``sha256="<64 hex digits>"``. The package then refuses a model file whose hash differs (in
Python) and the browser engine verifies the downloaded bytes against the same pin, so a model
swapped on the server never runs. The scripts are read, not run: a call whose model path or
pin is not a literal is reported as unverifiable.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TypeGuard

from .._model import sha256_file
from .._params import model_pin
from .report import Check, fail, passed, warn

FUNCTION = "streamlit_secure_context"


def _is_pin(value: object) -> TypeGuard[str]:
    """What the public function accepts as ``sha256=`` (one rule, in ``_params.model_pin``)."""
    try:
        return value is not None and model_pin(value) is not None
    except ValueError:
        return False


def _literal(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    """Calls of `name`, also under the aliases it is imported as (``import ... as ssc``)."""
    names = {name} | {
        alias.asname for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
        for alias in node.names if alias.name == name and alias.asname
    }
    return [
        n for n in ast.walk(tree)
        if isinstance(n, ast.Call) and ((isinstance(n.func, ast.Name) and n.func.id in names) or
                                        (isinstance(n.func, ast.Attribute) and n.func.attr == name))
    ]


def _scripts(app: Path) -> list[Path]:
    """The script itself and, for an ``st.App("page.py")`` launcher, the script it serves."""
    found = [app]
    try:
        tree = ast.parse(app.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError):
        return found
    for call in _calls(tree, "App"):
        target = _literal(call.args[0]) if call.args else None
        if target and (app.parent / target).is_file():
            found.append(app.parent / target)
    return found


def _check_call(script: Path, call: ast.Call) -> Check:
    where = f"{script.name}:{call.lineno}"
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    model_node = call.args[0] if call.args else keywords.get("model_path")
    if "sha256" not in keywords:
        return warn("model_pins", f"{where}: the model is not pinned",
                    "pass sha256=\"<hex>\" to streamlit_secure_context() (get it with: sha256sum model.onnx) "
                    "after vetting the model with `ssc inspect`")
    pin = _literal(keywords["sha256"])
    if not _is_pin(pin):
        return warn("model_pins", f"{where}: sha256= is not a literal 64-hex-digit string, so it cannot be checked here",
                    "write the pin as a string literal in the script")
    model = _literal(model_node)
    if model is None:
        return passed("model_pins", f"{where}: pinned to {pin[:12]}… (model path is computed; the package checks it at run time)")
    path = Path(model) if Path(model).is_absolute() else script.parent / model
    if not path.is_file():
        path = Path(model)  # relative to the working directory, as Streamlit would open it
    if not path.is_file():
        return fail("model_pins", f"{where}: model file {model} not found", "fix the model path")
    actual = sha256_file(path)
    if actual != pin:
        return fail("model_pins", f"{where}: {model} has sha256 {actual}, but the pin is {pin}",
                    "the model file changed since it was pinned: vet it again, then update the pin")
    return passed("model_pins", f"{where}: {model} matches its pin {pin[:12]}…")


def check_models(apps: list[Path]) -> list[Check]:
    if not apps:
        return [warn("model_pins", "no app script given, so model pins were not checked",
                     "run doctor with --app path/to/app.py")]
    checks: list[Check] = []
    for app in apps:
        for script in _scripts(app):
            try:
                tree = ast.parse(script.read_text(encoding="utf-8"), filename=str(script))
            except (OSError, SyntaxError, UnicodeDecodeError) as e:
                checks.append(fail("model_pins", f"cannot read {script}: {e}", "pass the app's main script with --app"))
                continue
            checks += [_check_call(script, call) for call in _calls(tree, FUNCTION)]
    if not checks:
        checks.append(warn("model_pins", f"no {FUNCTION}() call found in {[str(a) for a in apps]}",
                           "pass the script(s) that call streamlit_secure_context() with --app"))
    return checks
