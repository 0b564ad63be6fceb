"""Each privacy claim of the README's table, made false: the code behind it is switched off, the
test the table names runs, and the code is restored. Every such test must fail.

    scripts/mutate [--list] [NAME ...]     all mutations, or the named ones

A mutation edits the source in place, rebuilds what it touched (`scripts/build` for the
component and the browser's engine; the native tests rebuild themselves), runs the test and
restores the file whatever happens, then rebuilds again. It prints one line per mutation and
exits non-zero when a test passed with its claim made false. Run it after `scripts/test`, in a
checkout with no uncommitted change to the files it edits.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutation:
    name: str
    claim: str
    edits: tuple[tuple[str, str, str], ...]  # (file, text, replacement): the text occurs exactly once
    build: bool  # the component or the browser's engine changed: scripts/build before the test
    test: tuple[str, ...]  # the command that must fail


def pytest(*tests: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests)


def cargo(test_file: str, name: str) -> tuple[str, ...]:
    return ("cargo", "test", "--locked", "-p", "ssc-engine", "--test", test_file, "--", "--exact", name)


MUTATIONS = [
    Mutation(
        "public-error-carries-detail",
        "No byte of the picked file, nor its name, nor a value read from it, leaves the browser",
        (("component/src/protocol.ts",
          "({ code: e.code, message: e.message });",
          "({ code: e.code, message: e.detail ?? e.message });"),),
        True,
        pytest("tests/e2e/test_egress_canary.py::test_canary_never_leaves_the_browser"),
    ),
    Mutation(
        "public-error-carries-detail-everywhere",
        "...in Firefox and WebKit too, as far as the server can tell",
        (("component/src/protocol.ts",
          "({ code: e.code, message: e.message });",
          "({ code: e.code, message: e.detail ?? e.message });"),),
        True,
        pytest("tests/e2e/test_browsers.py::test_no_canary_reaches_the_server_from_any_engine"),
    ),
    Mutation(
        "sandbox-same-origin",
        "The sandbox and its Worker cannot reach the network, the app page, cookies or storage",
        (("component/src/host.ts",
          'state.sandbox.setAttribute("sandbox", "allow-scripts");',
          'state.sandbox.setAttribute("sandbox", "allow-scripts allow-same-origin");'),),
        True,
        pytest("tests/e2e/test_sandbox_attestation.py::test_every_way_out_is_blocked_in_the_sandbox_and_its_worker"),
    ),
    Mutation(
        "sandbox-reads-the-file",
        "The file is read only in the Worker, never in the sandbox's page",
        (("component/src/sandbox.ts",
          "  state.picked = files;\n",
          "  state.picked = files;\n  void files[0].arrayBuffer();\n"),),
        True,
        pytest("tests/e2e/test_sandbox_attestation.py::test_the_picked_file_goes_to_the_worker_unread"),
    ),
    Mutation(
        "host-forwards-the-envelope",
        "Python receives only the declared result fields",
        (("component/src/host.ts",
          "setValue({ ...cleanResult(msg.result), request_key: run.key });",
          "setValue({ ...cleanResult(msg.result), ...msg, request_key: run.key });"),),
        True,
        pytest("tests/e2e/test_egress_canary.py::test_python_receives_only_the_declared_result_fields"),
    ),
    Mutation(
        "policy-ignored",
        "Only what the disclosure policy allows leaves, and every result carries a receipt",
        (("crates/engine/src/disclosure.rs",
          "        if self.top_k_only {\n            return Ok(Some(WithheldReason::TopKOnly));\n        }\n"
          "        if !listed {\n            return Ok(Some(WithheldReason::NotListed));\n        }\n",
          ""),),
        True,
        pytest("tests/e2e/test_disclosure.py"),
    ),
    Mutation(
        "ranking-rows-uncut",
        "A model cannot spread the file over its ranking, and every result states a bound in bits",
        (("crates/engine/src/disclosure.rs", "            ranked.retain(|t| t.row < rows);\n", ""),),
        False,
        cargo("disclosure", "a_model_that_ranks_a_row_per_pixel_gets_one_row_out_under_top_k_only"),
    ),
    Mutation(
        "patient-name-allowed",
        "A DICOM study's header stays in the browser; only allow-listed, non-identifying attributes the app names may leave",
        (("crates/engine/src/preprocess/dicom.rs", "    ImageLaterality,\n}", "    ImageLaterality,\n    PatientName,\n}"),
         ("crates/engine/src/preprocess/dicom.rs", "            Self::Modality => tags::MODALITY,",
          "            Self::Modality => tags::MODALITY,\n            Self::PatientName => tags::PATIENT_NAME,")),
        False,
        cargo("dicom", "only_allowed_header_attributes_leave_and_they_count_in_the_receipt"),
    ),
    Mutation(
        "csv-error-declared-file-free",
        "Errors under a file input quote nothing of the file",
        (("crates/engine/src/error.rs",
          "    pub fn file_safe_message(&self) -> Option<String> {\n",
          "    pub fn file_safe_message(&self) -> Option<String> {\n"
          "        if matches!(self, Self::Csv { .. }) {\n            return None;\n        }\n"),),
        False,
        cargo("hostile", "no_files_error_tells_the_app_anything_of_the_file"),
    ),
    Mutation(
        "any-run-answered",
        "Nothing malformed, forged or oversized is acted on",
        (("component/src/host.ts",
          "const answered = (runId: number) => (state.run?.id === runId ? state.run : null);",
          "const answered = (_runId: number) => state.run;"),),
        True,
        pytest("tests/e2e/test_protocol_fuzz.py::test_hostile_messages_are_dropped_counted_and_harmless"),
    ),
    Mutation(
        "host-runs-anywhere",
        "Only its own app drives the component",
        (("component/src/host.ts",
          "    return window.parent !== window && window.parent.location.origin === location.origin && appOrigin === location.origin;",
          "    return true;"),),
        True,
        pytest("tests/e2e/test_trust_boundary.py::test_a_foreign_page_framing_the_host_gets_nothing_to_drive"),
    ),
]


def apply(mutation: Mutation) -> dict[Path, str]:
    """Edits the files; returns their original texts."""
    originals: dict[Path, str] = {}
    for file, text, replacement in mutation.edits:
        path = ROOT / file
        originals.setdefault(path, path.read_text())
        current = path.read_text()
        if current.count(text) != 1:
            restore(originals)
            raise SystemExit(f"{mutation.name}: {file} holds {current.count(text)} copies of the text to mutate, not 1")
        path.write_text(current.replace(text, replacement))
    return originals


def restore(originals: dict[Path, str]) -> None:
    for path, text in originals.items():
        path.write_text(text)


def build() -> None:
    done = subprocess.run([str(ROOT / "scripts" / "build")], capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"scripts/build failed:\n{done.stdout}{done.stderr}")


def why(output: str) -> str:
    """The line that says why the test failed: pytest's first assertion, or the panic's message."""
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("E   "):
            return line[1:].strip()[:300]
        if "panicked at" in line and i + 1 < len(lines):
            return f"panicked: {lines[i + 1].strip()[:300]}"
    return output.strip().splitlines()[-1][:300] if output.strip() else "(no output)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutations to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutations and their claims")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.names or m.name in args.names]
    if args.list or not chosen:
        for m in MUTATIONS:
            print(f"{m.name}: {m.claim}")
        return
    survived = []
    for mutation in chosen:
        start = time.monotonic()
        originals = apply(mutation)
        try:
            if mutation.build:
                build()
            run = subprocess.run(mutation.test, cwd=ROOT, env=os.environ, capture_output=True, text=True)
        finally:
            restore(originals)
        if run.returncode == 0:
            survived.append(mutation.name)
            verdict = "TEST PASSED: it does not hold the claim"
        else:
            verdict = f"test failed, as it must: {why(run.stdout + run.stderr)}"
        print(f"{mutation.name} ({time.monotonic() - start:.0f} s): {verdict}\n  claim: {mutation.claim}", flush=True)
    if any(m.build for m in chosen):
        build()  # the restored sources, as they were
    if survived:
        raise SystemExit(f"{len(survived)} mutation(s) survived: {', '.join(survived)}")


if __name__ == "__main__":
    main()
