# Shared environment for the scripts; sourced, not run.
#
# Build outputs and tools live in a cache outside the clone (SSC_CACHE), so a fresh clone
# (CI's, or a second checkout) reuses the warm tract build instead of spending minutes on it.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SSC_CACHE="${SSC_CACHE:-$HOME/.cache/streamlit-secure-context}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$SSC_CACHE/target}"
TOOLS="$SSC_CACHE/tools"
# One venv per version of the pinned requirements: changing them builds a new one.
VENV="$SSC_CACHE/venv-$(sha256sum "$ROOT/python/requirements-dev.txt" | cut -c1-12)"
FRONTEND="$ROOT/python/streamlit_secure_context/frontend"
export PATH="$TOOLS/bin:$VENV/bin:$HOME/.cargo/bin:$PATH"
# The package is imported from the checkout, so the venv serves every clone alike.
export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}"
# Seconds since the outermost script started, on every step: the README's per-phase breakdown
# of a fresh machine's run is read off these.
export SSC_T0="${SSC_T0:-$(date +%s)}"
step() { printf '\n==> [%ss] %s\n' "$(($(date +%s) - SSC_T0))" "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
