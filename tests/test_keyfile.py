"""A saved key read copy by copy: any layout and any chunk size give the same key; broken files say where."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from engine import api
from engine.errors import UsageError
from engine.generation.quiz import Quiz
from engine.grading import keyfile
from engine.grading.keys import Key, key_from_quiz, read_key
from engine.grading.models import Submission, SubmissionBatch

GRADING_BANK = Path(__file__).resolve().parent / "fixtures" / "grading" / "bank"
HINT = "make the key with `quizwright generate --format json`"


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """GR-1-0001..0004 as `generate -f json` writes it (one copy per line)."""
    path = tmp_path_factory.mktemp("key") / "quiz.json"
    api.export("json", [GRADING_BANK], output=path, seed=1, count=4)
    return path


def naming(*sheets: str) -> SubmissionBatch:
    subs = [Submission(row=i + 2, student=f"s{i}", sheet=sheet) for i, sheet in enumerate(sheets)]
    return SubmissionBatch(format="csv", unit="row", submissions=subs)


ALL = naming("GR-1-0001", "GR-1-0002", "GR-1-0003", "GR-1-0004")


def expected_key(path: Path) -> Key:
    return key_from_quiz(api.quiz([GRADING_BANK], seed=1, count=4), file=str(path))


def relaid(exported: Path, tmp_path: Path, **dump: object) -> Path:
    path = tmp_path / "relaid.json"
    path.write_text(json.dumps(json.loads(exported.read_text(encoding="utf-8")), **dump), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "dump",
    [{}, {"indent": 2}, {"indent": 1, "ensure_ascii": False}, {"separators": (",", ":")}],
    ids=["one-line", "indented", "indented-unicode", "minified"],
)
@pytest.mark.parametrize("chunk", [keyfile.CHUNK, 7], ids=["chunk-1MB", "chunk-7B"])
def test_any_layout_and_chunk_size_give_the_same_key(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     dump: dict[str, object], chunk: int) -> None:
    monkeypatch.setattr(keyfile, "CHUNK", chunk)
    monkeypatch.setattr(keyfile, "WINDOW", min(chunk, keyfile.WINDOW))
    path = relaid(exported, tmp_path, **dump)
    assert read_key(path, ALL) == expected_key(path)


def test_the_export_itself_in_small_chunks(exported: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(keyfile, "CHUNK", 5)
    assert read_key(exported, ALL) == expected_key(exported)


def test_only_the_named_sheets_are_kept(exported: Path) -> None:
    key = read_key(exported, naming("gr-1-3", "GR-1-0003", "junk", "GR-1-0009"))
    assert sorted(key.sheets) == ["GR-1-0003"]
    assert key.sheets["GR-1-0003"] == expected_key(exported).sheets["GR-1-0003"]
    assert key.info.count == 4 and key.sheet_range() == "GR-1-0001 to GR-1-0004"


def broken(exported: Path, tmp_path: Path, edit: bytes, at: bytes, occurrence: int = 1) -> tuple[Path, int]:
    """The export with the ``occurrence``-th ``at`` replaced by ``edit``, and the byte offset of the edit."""
    data = exported.read_bytes()
    offset = -1
    for _ in range(occurrence):
        offset = data.index(at, offset + 1)
    path = tmp_path / "broken.json"
    path.write_bytes(data[:offset] + edit + data[offset + len(at):])
    return path, offset


def where(data: bytes, offset: int) -> tuple[int, int]:
    before = data[:offset]
    return before.count(b"\n") + 1, len(before.rsplit(b"\n", 1)[-1].decode()) + 1


@pytest.mark.parametrize("chunk", [keyfile.CHUNK, 3])
def test_broken_json_names_line_column_and_byte(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                chunk: int) -> None:
    monkeypatch.setattr(keyfile, "CHUNK", chunk)
    # A comma lost between two fields of the third copy.
    path, offset = broken(exported, tmp_path, b'"', b',"', occurrence=200)
    line, column = where(path.read_bytes(), offset)
    with pytest.raises(UsageError) as info:
        read_key(path, ALL)
    message = str(info.value)
    assert message == (f"{path}: not a quizwright JSON export (invalid JSON at line {line}, column {column}, "
                       f"byte {offset}: Expecting ',' delimiter); {HINT}")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "invalid JSON at line 1, column 1, byte 0: expected a JSON object (the quiz)"),
        (b"student,sheet\n", "invalid JSON at line 1, column 1, byte 0: expected a JSON object (the quiz)"),
        (b'{"seed": 1,\n "copies": [', "invalid JSON at line 2, column 13, byte 24: Expecting value"),
        (b'{"seed": 1} {', "invalid JSON at line 1, column 13, byte 12: extra data after the quiz"),
        (b'{"seed": 1, 2: 3}', "invalid JSON at line 1, column 13, byte 12: expected a field name in double quotes"),
        (b'{"title": "caf\xc3\xa9 \xff"}', "not UTF-8 text at byte 17"),
    ],
    ids=["empty", "csv", "cut", "extra", "bad-name", "latin-1"],
)
def test_a_file_that_is_no_json_says_where(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "key.json"
    path.write_bytes(content)
    with pytest.raises(UsageError) as info:
        read_key(path, ALL)
    assert str(info.value).startswith(f"{path}: not a quizwright JSON export (")
    assert message in str(info.value)


def test_a_cut_export_says_where(exported: Path, tmp_path: Path) -> None:
    cut = exported.read_bytes()[: exported.stat().st_size * 2 // 3]
    path = tmp_path / "cut.json"
    path.write_bytes(cut)
    with pytest.raises(UsageError) as info:
        read_key(path, ALL)
    lines = cut.count(b"\n") + 1
    assert f"invalid JSON at line {lines}, column " in str(info.value)


@pytest.mark.parametrize(
    ("document", "problems"),
    [
        ([], ["invalid JSON at line 1, column 1, byte 0: expected a JSON object (the quiz)"]),
        ({"copies": []}, ["json: seed: required field is missing", "json: count: required field is missing",
                          "json: bank: required field is missing", "json: exercises: required field is missing"]),
        ({"tool": "other", "seed": 1, "count": 1, "bank": {"title": "t", "code": "GR", "hash": "0"},
          "exercises": []}, [":1: tool: Input should be 'quizwright' (got 'other')", ": copies: required field is missing"]),
    ],
    ids=["a-list", "no-header", "another-tool"],
)
def test_valid_json_that_is_no_key_says_what(tmp_path: Path, document: object, problems: list[str]) -> None:
    path = tmp_path / "key.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    with pytest.raises(UsageError) as info:
        read_key(path, ALL)
    text = str(info.value)
    for problem in problems:
        assert problem in text
    if isinstance(document, dict):
        assert text.splitlines()[0] == f"{path}: not a quizwright JSON export; {HINT}"


def test_a_bad_copy_names_its_line_and_field(exported: Path, tmp_path: Path) -> None:
    path, offset = broken(exported, tmp_path, b'"points":"many"', b'"points":1', occurrence=5)
    data = path.read_bytes()
    line = data[:offset].count(b"\n") + 1
    copy = line - 1 - data[:data.index(b'{"index":0')].count(b"\n")
    variant = data[data.rindex(b"\n", 0, offset):offset].count(b'"exercise":') - 1
    with pytest.raises(UsageError) as info:
        read_key(path, ALL)
    assert str(info.value).splitlines()[1] == (
        f"{path}:{line}: copies[{copy}].variants[{variant}].points: Input should be a valid integer, unable to "
        "parse string as an integer (got 'many')")


def test_an_unreadable_key_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="missing.json: cannot read"):
        read_key(tmp_path / "missing.json", ALL)


def pydantic_refuses(data: bytes) -> bool:
    try:
        Quiz.model_validate_json(data)
    except ValidationError:
        return True
    return False


@pytest.mark.parametrize("layout", ["one-line", "indented"])
@pytest.mark.parametrize(("edit", "at"), [
    (b'"question":"\\udc00', b'"question":"'),  # half a surrogate pair, which pydantic refuses
    (b'"index":1' + b"0" * 5000, b'"index":0'),  # an integer beyond Python's 4300 digits
    (b'"seed":1' + b"0" * 5000, b'"seed":1'),
])
def test_what_pydantic_refuses_is_refused(exported: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          layout: str, edit: bytes, at: bytes) -> None:
    monkeypatch.setattr(keyfile, "CHUNK", 4096)
    document = json.loads(exported.read_text(encoding="utf-8"))
    if layout == "indented":  # each copy spread over lines: read by the JSON decoder, not line by line
        data = json.dumps(document, indent=1).encode().replace(at.replace(b":", b": "), edit.replace(b":", b": ", 1), 1)
    else:
        data = exported.read_bytes().replace(at, edit, 1)
    assert pydantic_refuses(data)
    path = tmp_path / "key.json"
    path.write_bytes(data)
    with pytest.raises(UsageError, match="not a quizwright JSON export"):
        read_key(path, ALL)


def test_a_second_list_of_copies_is_refused(exported: Path, tmp_path: Path) -> None:
    # pydantic would keep the last list, but the first one's copies are handed on as they are read
    path = tmp_path / "key.json"
    path.write_bytes(exported.read_bytes().rstrip().removesuffix(b"}") + b',"copies":[]}')
    with pytest.raises(UsageError, match="a second list of copies"):
        read_key(path, ALL)


def test_an_empty_list_of_copies_before_the_real_one_is_pydantics_last_list(exported: Path, tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    path.write_bytes(exported.read_bytes().replace(b'"copies":', b'"copies":[],"copies":', 1))
    assert read_key(path, ALL) == expected_key(path)
