"""``python -m streamlit_secure_context <command>``: deployment tooling.

Commands:
  doctor  check a deployment (config, served headers, assets, model pins); see --help
  csp     print the page Content-Security-Policy `security_middleware()` sends, for a proxy
"""

from __future__ import annotations

import sys

USAGE = "usage: python -m streamlit_secure_context {doctor,csp} [options]  (doctor --help for its options)"


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(__doc__.strip())
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "doctor":
        from .doctor import main as doctor_main

        return doctor_main(rest)
    if command == "csp" and not rest:
        from .security_headers import SecurityHeadersMiddleware

        # Exactly what the middleware sends with pages, frame-ancestors included.
        print(dict(SecurityHeadersMiddleware(None).page_headers)[b"content-security-policy"].decode())
        return 0
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
