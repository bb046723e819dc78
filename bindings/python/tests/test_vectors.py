"""Every golden vector of tests/vectors/ through the installed binding, with
the runner's rules of core/tests/vectors.rs."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

import incwo_connector as ic
from conftest import VECTORS, dump_exact, load_exact, subset_mismatch


def vector_files() -> List[Path]:
    files = []
    for path in VECTORS.rglob("*.json"):
        rel = path.relative_to(VECTORS)
        if rel.parts[0] in ("fixtures", "profiles"):
            continue
        files.append(path)
    return sorted(files)


FILES = vector_files()


def input_bytes(vector: Dict[str, Any], base: Path) -> Optional[bytes]:
    if "inputText" in vector:
        return vector["inputText"].encode("utf-8")
    if "inputFile" in vector:
        return (base / vector["inputFile"]).read_bytes()
    if "input" in vector:
        return dump_exact(vector["input"]).encode("utf-8")
    return None


def invoke(vector: Dict[str, Any]) -> Any:
    """Calls the binding; errors raise."""
    args = vector.get("args", {})
    data = input_bytes(vector, VECTORS)
    profile = (VECTORS / vector["profileFile"]).read_text(encoding="utf-8") if "profileFile" in vector else None
    call = vector["call"]
    if call == "validate":
        return ic.validate(args["kind"], data.decode("utf-8"), profile)
    if call == "map":
        return ic.map_record(args["kind"], data.decode("utf-8"), profile)
    if call == "schema":
        return ic.schema(args["kind"], profile)
    if call == "parse":
        return ic.parse(args["resource"], data)
    return ic.call(call, dump_exact(args))


def run_vector(vector: Dict[str, Any]) -> Any:
    """The core's result: the value, or ``{"error": …}`` from the exception."""
    try:
        return invoke(vector)
    except ic.IncwoError as error:
        return error.to_dict()


def test_every_vector_is_collected() -> None:
    assert len(FILES) >= 40, f"only {len(FILES)} vectors under {VECTORS}"
    calls = Counter(load_exact(f)["call"] for f in FILES)
    for call in ("validate", "map", "parse", "schema", "request", "classify", "retry"):
        assert calls[call] > 0, f"no {call} vector: {dict(calls)}"
    print(f"{len(FILES)} vectors: {dict(sorted(calls.items()))}")


@pytest.mark.parametrize("path", FILES, ids=[str(f.relative_to(VECTORS)) for f in FILES])
def test_vector(path: Path) -> None:
    vector = load_exact(path)
    actual = run_vector(vector)
    diff = subset_mismatch(vector["expected"], actual)
    assert diff is None, f"{diff}\n  actual: {json.dumps(actual, default=str)[:2000]}"


CLASSES = {
    "usage": ic.UsageError,
    "contract": ic.ContractError,
    "technical": ic.TechnicalError,
    "business": ic.BusinessError,
}


def test_error_vectors_raise_their_class() -> None:
    """Error results are exceptions of their class, carrying the code, the
    message and the violations."""
    checked = Counter()
    for path in FILES:
        vector = load_exact(path)
        expected = vector["expected"]
        if not (isinstance(expected, dict) and list(expected) == ["error"]):
            continue
        want = expected["error"]
        with pytest.raises(CLASSES[want["class"]]) as info:
            invoke(vector)
        error = info.value
        assert isinstance(error, ic.IncwoError)
        assert error.error_class == want["class"] == error.error["class"]
        if "code" in want:
            assert error.code == want["code"], path
        assert error.message and str(error).startswith(error.code)
        if "violations" in want:
            assert [v.path for v in error.violations] == [v["path"] for v in error.error["violations"]]
            assert len(error.violations) == len(want["violations"])
        checked[want["class"]] += 1
    assert checked["usage"] >= 3 and checked["contract"] >= 1, checked


def test_map_vectors_through_the_xml_calls_give_the_same_results() -> None:
    """Every ``map`` vector through map_xml one by one and map_many in one
    call per profile and kind (each input twice): the XML bytes and warnings
    of map_record, or an exception of the same class and error document."""
    groups: Dict[Any, Dict[str, bytes]] = {}
    for path in FILES:
        vector = load_exact(path)
        if vector["call"] != "map":
            continue
        key = (vector.get("profileFile"), vector["args"]["kind"])
        groups.setdefault(key, {})[str(path.relative_to(VECTORS))] = input_bytes(vector, VECTORS)
    records = 0
    for (profile_file, kind), inputs in groups.items():
        profile = (VECTORS / profile_file).read_text(encoding="utf-8") if profile_file else None
        names = [f"{name}#{round_}" for round_ in (1, 2) for name in inputs]
        data = [inputs[name.rsplit("#", 1)[0]] for name in names]
        many = ic.map_many(kind, data, profile)
        assert len(many) == len(data)
        for i, (name, record) in enumerate(zip(names, data)):
            records += 1
            try:
                want = ic.map_record(kind, record, profile)
                want_error = None
            except ic.IncwoError as error:
                want, want_error = None, error
            warnings: list = []
            try:
                one: Any = ic.map_xml(kind, record, profile, warnings=warnings)
            except ic.IncwoError as error:
                one = error
            for call, result, got_warnings in (("map_xml", one, warnings), ("map_many", many[i], many.warnings.get(i, []))):
                if want is not None:
                    assert result == want["xml"].encode("utf-8"), f"{name} ({call}): XML differs"
                    assert got_warnings == want["warnings"], f"{name} ({call}): warnings differ"
                else:
                    assert type(result) is type(want_error), f"{name} ({call}): {result!r}"
                    assert result.error_json == want_error.error_json, f"{name} ({call}): error differs"
                    assert result.violations == want_error.violations, f"{name} ({call}): violations differ"
    assert records >= 24
