"""TOML 1.0 conformance: every case of toml-test that applies to TOML 1.0, run through
tests/toml-decode (lamina's TOML reader behind the toml-test decoder interface).

The cases are listed in tests/toml-test/tests/files-toml-1.0.0. An invalid case must be refused
with exit code 1 and a "<stdin>:LINE:COL: message" line on stderr. A valid case must be accepted
and decode to the JSON of its .json file. Values are compared as toml-test's own harness compares
them, but no looser: floats by value (nan equal to nan, signs of inf and zero kept), date-times
after normalising only the spellings RFC 3339 treats as the same (' ' or 't' for 'T', 'z' for
'Z', trailing zeros of the fraction); everything else as exact strings.

The decoder is $LAMINA_BUILD_DIR/tests/toml-decode (as in conftest.py, the default build
directory is build/ in the source tree).
"""

import json
import math
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SUITE = REPO / "tests" / "toml-test" / "tests"
LIST = SUITE / "files-toml-1.0.0"
BUILD_DIR = Path(os.environ.get("LAMINA_BUILD_DIR", REPO / "build"))
DECODER = BUILD_DIR / "tests" / "toml-decode"

# The size of the 1.0.0 list of the toml-test commit in tests/toml-test/SOURCE, so that a list
# truncated or emptied by accident fails rather than passes with fewer cases.
EXPECTED_VALID = 210
EXPECTED_INVALID = 499

ERROR_LINE = re.compile(r"^<stdin>:([1-9][0-9]*):([1-9][0-9]*): \S.*$", re.MULTILINE)
SCALAR_TYPES = {
    "string",
    "integer",
    "float",
    "bool",
    "datetime",
    "datetime-local",
    "date-local",
    "time-local",
}


def read_list():
    entries = [line.strip() for line in LIST.read_text(encoding="utf-8").splitlines()]
    return [entry for entry in entries if entry]


def collect_cases():
    """(id, kind) for every .toml entry of the list."""
    cases = []
    for entry in read_list():
        if entry.endswith(".toml"):
            kind = entry.split("/", 1)[0]
            cases.append(pytest.param(entry[: -len(".toml")], kind, id=entry[: -len(".toml")]))
    return cases


CASES = collect_cases()


def test_case_list_complete():
    entries = read_list()
    tomls = [e for e in entries if e.endswith(".toml")]
    jsons = [e for e in entries if e.endswith(".json")]
    valid = [e for e in tomls if e.startswith("valid/")]
    invalid = [e for e in tomls if e.startswith("invalid/")]

    # Every line is a case file, and every valid case comes with its expected JSON.
    assert len(tomls) + len(jsons) == len(entries)
    assert len(valid) + len(invalid) == len(tomls)
    assert sorted(jsons) == sorted(e[: -len(".toml")] + ".json" for e in valid)
    for entry in entries:
        assert (SUITE / entry).is_file(), entry
    assert (len(valid), len(invalid)) == (EXPECTED_VALID, EXPECTED_INVALID)
    assert len(CASES) == len(tomls) == EXPECTED_VALID + EXPECTED_INVALID


@pytest.fixture(scope="session")
def decoder():
    if not os.access(DECODER, os.X_OK):
        pytest.fail(f"decoder {DECODER} not built (set LAMINA_BUILD_DIR)")
    return DECODER


def decode(decoder, path):
    return subprocess.run(
        [str(decoder)],
        stdin=path.open("rb"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        timeout=30,
        check=False,
    )


def parse_float(text):
    if text in ("nan", "+nan", "-nan"):
        return math.nan
    if text in ("inf", "+inf"):
        return math.inf
    if text == "-inf":
        return -math.inf
    return float(text)


def floats_equal(want, have):
    a, b = parse_float(want), parse_float(have)
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)


DATETIME = re.compile(
    r"^(?:(?P<date>\d{4}-\d{2}-\d{2})(?:[Tt ](?=\d))?)?"
    r"(?:(?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?)?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})?$"
)


def normalise_datetime(text):
    m = DATETIME.match(text)
    if not m:
        return ("unparsable", text)
    frac = (m.group("frac") or "").rstrip("0")
    offset = m.group("offset")
    if offset is not None:
        offset = offset.upper()
    return (m.group("date"), m.group("time"), frac, offset)


def is_tagged(value):
    return (
        isinstance(value, dict)
        and set(value) == {"type", "value"}
        and isinstance(value["type"], str)
        and isinstance(value["value"], str)
    )


def compare(want, have, path="$"):
    """Returns None when have matches want, else a description of the first difference."""
    if is_tagged(want):
        if not is_tagged(have):
            return f"{path}: expected {want}, got {have!r}"
        if want["type"] != have["type"]:
            return f"{path}: expected type {want['type']}, got {have['type']}"
        kind, w, h = want["type"], want["value"], have["value"]
        if kind not in SCALAR_TYPES:
            return f"{path}: unknown type {kind} in the expected JSON"
        if kind == "float":
            ok = floats_equal(w, h)
        elif kind in ("datetime", "datetime-local", "date-local", "time-local"):
            ok = normalise_datetime(w) == normalise_datetime(h)
        else:
            ok = w == h
        return None if ok else f"{path}: expected {kind} {w!r}, got {h!r}"
    if isinstance(want, dict):
        if not isinstance(have, dict) or is_tagged(have):
            return f"{path}: expected a table, got {have!r}"
        if set(want) != set(have):
            return f"{path}: keys differ: expected {sorted(want)}, got {sorted(have)}"
        for key in want:
            diff = compare(want[key], have[key], f"{path}.{key}")
            if diff:
                return diff
        return None
    if isinstance(want, list):
        if not isinstance(have, list):
            return f"{path}: expected an array, got {have!r}"
        if len(want) != len(have):
            return f"{path}: expected {len(want)} elements, got {len(have)}"
        for i, (w, h) in enumerate(zip(want, have)):
            diff = compare(w, h, f"{path}[{i}]")
            if diff:
                return diff
        return None
    return f"{path}: unexpected {want!r} in the expected JSON"


@pytest.mark.parametrize("case,kind", CASES)
def test_toml_case(decoder, case, kind):
    result = decode(decoder, SUITE / f"{case}.toml")
    stderr = result.stderr.decode("utf-8", "replace")
    if kind == "invalid":
        assert result.returncode == 1, f"exit code {result.returncode}, stderr: {stderr}"
        assert result.stdout == b"", "a refused document must print nothing on stdout"
        m = ERROR_LINE.search(stderr)
        assert m, f"no '<stdin>:L:C: message' on stderr: {stderr!r}"
        # The place is inside the document: an existing line, and at most one column past
        # its end (the end of the line or of the file).
        lines = (SUITE / f"{case}.toml").read_bytes().split(b"\n")
        line, col = int(m.group(1)), int(m.group(2))
        assert line <= len(lines), f"line {line} of a {len(lines)}-line document: {stderr}"
        assert col <= len(lines[line - 1]) + 1, f"column {col} past the end of line: {stderr}"
        return
    assert result.returncode == 0, f"refused: {stderr}"
    assert stderr == "", f"accepted, but printed on stderr: {stderr}"
    have = json.loads(result.stdout.decode("utf-8"))
    want = json.loads((SUITE / f"{case}.json").read_text(encoding="utf-8"))
    diff = compare(want, have)
    assert diff is None, diff
