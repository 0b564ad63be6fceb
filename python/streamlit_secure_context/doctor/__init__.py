"""``python -m streamlit_secure_context doctor``: checks a deployment, for people and for CI.

It checks that the installed Streamlit runs the component (and the features the apps use),
reads ``.streamlit/config.toml``, checks the installed component's assets against their
recorded sha256 and the app's model pins, and, with ``--url``, probes a running app's
responses. Each finding is a PASS, WARN or FAIL line with a fix; the exit code is 0 when
nothing failed (with ``--strict``, nothing warned either), 1 otherwise, 2 on bad usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from .._component import FRONTEND
from .asset_checks import check_assets, load_manifest
from .config_checks import check_config
from .http_checks import check_url
from .model_checks import check_models
from .origin_checks import check_origin
from .report import Check, as_json, as_text, ok
from .version_checks import check_streamlit


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m streamlit_secure_context doctor", description=__doc__.split("\n\n")[0])
    p.add_argument("--url", help="a running app to probe, e.g. https://app.example.org/ (open it once in a browser first)")
    p.add_argument("--config", type=Path, default=Path(".streamlit/config.toml"),
                   help="the Streamlit config file (default: .streamlit/config.toml)")
    p.add_argument("--app", type=Path, action="append", default=[],
                   help="an app script whose streamlit_secure_context() calls to check for model pins (repeatable)")
    p.add_argument("--cafile", help="CA certificates to trust for --url (a private or self-signed CA)")
    p.add_argument("--strict", action="store_true", help="treat warnings as failures")
    p.add_argument("--json", action="store_true", help="print JSON instead of lines")
    return p


def run_checks(url: str | None, config: Path, apps: list[Path], cafile: str | None) -> list[Check]:
    checks = check_streamlit(apps)
    checks += check_config(config, https_url=bool(url and url.startswith("https://")))
    manifest = load_manifest(FRONTEND)
    checks += check_assets(FRONTEND, manifest)
    checks += check_models(apps)
    checks += check_origin(apps)
    if url:
        checks += check_url(url, manifest, cafile)
    return checks


def main(argv: list[str]) -> int:
    """Checks a deployment and prints one PASS, WARN or FAIL line per finding, each with a fix.

    This is ``python -m streamlit_secure_context doctor``. It checks the Streamlit config
    file, the installed component's assets against their recorded sha256, the model pins
    of the given app scripts and, with ``--url``, the headers and assets a running app
    serves.

    Parameters
    ----------
    argv : list of str
        The command-line arguments after ``doctor``: ``--url URL``, ``--config PATH``
        (default ``.streamlit/config.toml``), ``--app SCRIPT`` (repeatable), ``--cafile
        PATH``, ``--strict`` (warnings fail too) and ``--json`` (JSON instead of lines).

    Returns
    -------
    int
        The exit code: 0 when nothing failed (with ``--strict``, nothing warned either),
        1 otherwise; bad usage exits with 2.

    Examples
    --------
    In CI, against the app's own config and script:

    >>> exit_code = main(["--app", "app.py", "--strict"])

    The same from a shell, probing a running app::

        python -m streamlit_secure_context doctor --app app.py --url https://app.example.org/
    """
    args = _parser().parse_args(argv)
    checks = run_checks(args.url, args.config, args.app, args.cafile)
    print(as_json(checks, args.strict) if args.json else as_text(checks, args.strict))
    return 0 if ok(checks, args.strict) else 1
