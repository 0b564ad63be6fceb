"""The pages of docs/ that restate the code are checked against it, so they cannot go stale."""

import json
import re
import shlex
import subprocess
from pathlib import Path

import onnx.defs

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def ssc(cli: str, *args: str) -> str:
    return subprocess.run([cli, *args], check=True, capture_output=True, text=True).stdout


def test_supported_models_page_is_what_the_engine_reports(cli):
    generated = ssc(cli, "support", "--markdown")
    committed = (DOCS / "supported-models.md").read_text()
    assert committed == generated, (
        "docs/supported-models.md differs from the engine's list: regenerate it with "
        "`ssc support --markdown > docs/supported-models.md` and commit the result"
    )


def test_the_onnx_ml_operators_listed_are_the_onnx_specs(cli):
    listed = {op["name"] for op in json.loads(ssc(cli, "support"))["onnx_ml_operators"]}
    spec = {s.name for s in onnx.defs.get_all_schemas_with_history() if s.domain == "ai.onnx.ml"}
    assert listed == spec


def schema_codes(definition: str) -> set[str]:
    """The codes the engine's schema enumerates (`ErrorCode`, `ComponentErrorCode`)."""
    schema = json.loads((ROOT / "python/streamlit_secure_context/schema.json").read_text())["$defs"][definition]
    groups = schema.get("oneOf", [schema])
    return {v for g in groups for v in g.get("enum", [g.get("const")]) if v}


def engine_codes() -> set[str]:
    return schema_codes("ErrorCode")


def component_codes() -> set[str]:
    return schema_codes("ComponentErrorCode")


def codes_in_the_component_sources() -> set[str]:
    """The codes the host, sandbox and Worker scripts produce themselves (`code: "..."`)."""
    sources = "\n".join(p.read_text() for p in sorted((ROOT / "component/src").glob("*.ts")))
    return set(re.findall(r'\bcode: "([a-z0-9_]+)"', sources))


def documented_codes() -> list[str]:
    return re.findall(r"^### `([a-z0-9_]+)`$", (DOCS / "troubleshooting.md").read_text(), re.MULTILINE)


def test_the_code_extraction_finds_both_sources():
    # Guards the regular expressions: an extraction that found nothing would agree with anything.
    assert {"unsupported_ops", "sha256_mismatch", "randomness"} <= engine_codes()
    assert len(engine_codes()) >= 20
    assert {"fetch_failed", "timeout", "worker_failed", "not_isolated", "version_mismatch"} <= component_codes()
    # Every code the component's scripts write is one the schema names (TypeScript checks it too).
    assert codes_in_the_component_sources() <= component_codes() | engine_codes()
    assert len(codes_in_the_component_sources()) >= 5


def test_troubleshooting_explains_every_error_code_once():
    documented = documented_codes()
    assert len(documented) == len(set(documented)), "a code has two sections"
    expected = engine_codes() | component_codes()
    missing, stale = expected - set(documented), set(documented) - expected
    assert not missing, f"docs/troubleshooting.md has no section for {sorted(missing)}"
    assert not stale, f"docs/troubleshooting.md explains codes nothing produces: {sorted(stale)}"


PROTOCOL_UNIONS = {
    "HostToSandbox": "host → sandbox",
    "SandboxToHost": "sandbox → host",
    "SandboxToWorker": "sandbox → worker",
    "WorkerToSandbox": "worker → sandbox",
}


def protocol_messages() -> set[tuple[str, str]]:
    """(direction, type) for every message type of the unions in component/src/protocol.ts."""
    source = (ROOT / "component/src/protocol.ts").read_text()
    messages = set()
    for union, direction in PROTOCOL_UNIONS.items():
        body = source.split(f"export type {union} =", 1)[1].split(";\n\n", 1)[0]
        messages |= {(direction, t) for t in re.findall(r'type: "([a-z_]+)"', body)}
    return messages


def test_architecture_lists_exactly_the_protocols_messages():
    page = (DOCS / "architecture.md").read_text()
    table = re.findall(r"^\| ([a-z]+ → [a-z]+) \| `([a-z_]+)` \|", page, re.MULTILINE)
    expected = protocol_messages()
    assert len(expected) >= 14, "the protocol unions were not found"
    assert set(table) == expected, (
        f"docs/architecture.md's message table lacks {sorted(expected - set(table))} "
        f"and names {sorted(set(table) - expected)}, which protocol.ts does not have"
    )
    for kind in ("mermaid", "text"):
        diagram = page.split(f"```{kind}\n", 1)[1].split("```", 1)[0]
        unlabelled = sorted(name for _, name in expected if not re.search(rf"\b{name}\b", diagram))
        assert not unlabelled, f"the {kind} diagram of docs/architecture.md does not show {unlabelled}"


def documented_errors() -> list[tuple[str, str, str]]:
    """(page, command, printed error) for each `$ ssc ...` line in a console block of docs/ whose
    output is one `error:` line: the messages the pages quote."""
    cases = []
    for page in sorted(DOCS.glob("*.md")):
        for block in re.findall(r"```console\n(.*?)```", page.read_text(), re.DOTALL):
            lines = block.splitlines()
            for command, output in zip(lines, lines[1:]):
                if command.startswith("$ ssc ") and output.startswith("error: "):
                    cases.append((page.name, command[2:], output))
    return cases


def test_the_errors_the_docs_quote_are_what_ssc_prints(cli):
    cases = documented_errors()
    assert len(cases) >= 5, "the quoted errors were not found"
    for page, command, expected in cases:
        args = shlex.split(command)[1:]
        run = subprocess.run([cli, *args], cwd=ROOT, capture_output=True, text=True)
        assert run.returncode == 1 and run.stderr.strip() == expected, f"{page}: `{command}` now prints {run.stderr!r}"


def test_the_shipped_schema_is_what_the_engine_prints(cli):
    # Python validates against the shipped copy; the settings page and the component read the
    # same types. So the copy must be the engine's current output.
    committed = json.loads((ROOT / "python/streamlit_secure_context/schema.json").read_text())
    assert committed == json.loads(ssc(cli, "schema")), (
        "python/streamlit_secure_context/schema.json differs from the engine's: regenerate it with "
        "`ssc schema > python/streamlit_secure_context/schema.json` and commit the result"
    )


def test_every_readme_privacy_claim_names_a_test_that_exists_and_that_security_md_cites():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### Privacy claims", 1)[1].split("\n#", 1)[0]
    rows = re.findall(r"^\| (?!claim |---)(.+?) \| `([^`]+)` \|$", section, flags=re.M)
    assert len(rows) >= 10, section
    security = (DOCS / "security.md").read_text()
    for claim, ref in rows:
        file, _, name = ref.partition("::")
        [path] = [p for p in (ROOT / "tests/e2e", ROOT / "crates/engine/tests") if (p / file).is_file()] or [None]
        assert path is not None, f"{claim!r}: no test file {file}"
        if name:
            assert re.search(rf"^(def|fn) {re.escape(name)}\(", (path / file).read_text(), flags=re.M), f"{claim!r}: no {ref}"
        # The claim is docs/security.md's, where the same test backs it.
        assert (name or file) in security, f"{claim!r}: docs/security.md does not cite {ref}"
