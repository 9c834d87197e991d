"""Every class of bad input gets one clear line, a non-zero exit code, and loses no row."""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from lastmile.cli import app

runner = CliRunner()


def run(args: list[str], cwd: Path) -> tuple[int, str]:
    """Run the command line in ``cwd`` (where default quarantine files go)."""
    old = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(app, args)
    finally:
        os.chdir(old)
    return result.exit_code, result.output


def one_clear_line(output: str) -> str:
    assert "Traceback" not in output
    errors = [ln for ln in output.splitlines() if ln.startswith("error:")]
    assert len(errors) == 1, output
    return errors[0]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


GOOD_HEADER = "case_id,activity,timestamp,resource\n"


def test_rows_without_case_activity_or_time_are_quarantined_with_reasons(tmp_path: Path) -> None:
    log = write(tmp_path / "log.csv", GOOD_HEADER
                + "c1,start,2024-01-01 09:00:00,ann\n"
                + ",start,2024-01-01 10:00:00,bob\n"          # no case id
                + "c2,,2024-01-01 11:00:00,bob\n"             # no activity
                + "c2,start,,bob\n"                           # no timestamp
                + "c3,start,yesterday at noon,bob\n"          # unparseable timestamp
                + "c1,end,2024-01-02 09:00:00,ann,extra\n"    # too many fields
                + "c4,start\n"                                # too few fields
                + "c1,end,2024-01-03 09:00:00,ann\n")
    qfile = tmp_path / "q.csv"
    code, out = run(["inspect", str(log), "--quarantine", str(qfile), "--json",
                     str(tmp_path / "i.json")], tmp_path)
    assert code == 0, out
    info = pd.read_json(tmp_path / "i.json", typ="series")
    assert info["read"] == 8
    assert info["loaded"] == 2
    assert info["quarantined"] == 6
    assert info["read"] == info["loaded"] + info["quarantined"] + info["filtered"]
    q = pd.read_csv(qfile, keep_default_na=False, dtype=str)
    assert sorted(q["reason"]) == sorted([
        "missing case id", "missing activity", "missing timestamp", "unparseable timestamp",
        "wrong number of fields (expected 4, found 5)",
        "wrong number of fields (expected 4, found 2)",
    ])
    # the original values are kept: the bad timestamp text and the raw broken line
    assert "yesterday at noon" in set(q["timestamp"])
    assert "c1,end,2024-01-02 09:00:00,ann,extra" in set(q["raw_line"])
    assert set(q.loc[q["raw_line"] != "", "line"].astype(int)) == {7, 8}  # file lines
    # and the summary printed by reason
    assert "1 unparseable timestamp" in out
    assert "quarantined 6" in out


def test_library_keeps_quarantine_in_the_engine(tmp_path: Path) -> None:
    import lastmile

    log = lastmile.read_log(write(tmp_path / "l.csv", GOOD_HEADER + "a,x,2024-01-01,\n"
                                  + "b,y,31/31/2024,\n"))
    q = log.quarantined()
    assert list(q["reason"]) == ["unparseable timestamp"]
    assert list(q["timestamp"]) == ["31/31/2024"]
    assert log.accounting.balanced


def test_missing_file(tmp_path: Path) -> None:
    code, out = run(["inspect", str(tmp_path / "nope.csv")], tmp_path)
    assert code == 2
    assert re.search(r"nope\.csv: no such file", one_clear_line(out))


def test_empty_file(tmp_path: Path) -> None:
    (tmp_path / "empty.csv").write_bytes(b"")
    code, out = run(["inspect", str(tmp_path / "empty.csv")], tmp_path)
    assert code == 2
    assert "the file is empty" in one_clear_line(out)


def test_header_only_file_has_no_usable_events(tmp_path: Path) -> None:
    write(tmp_path / "h.csv", GOOD_HEADER)
    code, out = run(["inspect", str(tmp_path / "h.csv")], tmp_path)
    assert code == 2
    assert "no usable events among 0 rows" in one_clear_line(out)


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gzip.compress((GOOD_HEADER + "c1,a,2024-01-01,r\n" * 5000).encode())
    (tmp_path / "t.csv.gz").write_bytes(data[: len(data) // 2])
    code, out = run(["inspect", str(tmp_path / "t.csv.gz")], tmp_path)
    assert code == 2
    assert "truncated" in one_clear_line(out)


def test_truncated_xes_gz(tmp_path: Path) -> None:
    xes = ('<?xml version="1.0"?><log><trace><string key="concept:name" value="c"/>'
           + '<event><string key="concept:name" value="a"/>'
           '<date key="time:timestamp" value="2024-01-01T00:00:00Z"/></event>' * 3000
           + "</trace></log>")
    data = gzip.compress(xes.encode())
    (tmp_path / "t.xes.gz").write_bytes(data[: len(data) // 2])
    code, out = run(["inspect", str(tmp_path / "t.xes.gz")], tmp_path)
    assert code == 2
    assert "truncated" in one_clear_line(out)


def test_malformed_xml(tmp_path: Path) -> None:
    write(tmp_path / "bad.xes", '<?xml version="1.0"?><log><trace><string key="concept:name" '
          'value="c"/><event><string key="concept:name" value="a"/></trace></log>')
    code, out = run(["inspect", str(tmp_path / "bad.xes")], tmp_path)
    assert code == 2
    assert "malformed XML" in one_clear_line(out)


def test_xml_that_is_not_xes(tmp_path: Path) -> None:
    write(tmp_path / "other.xes", '<?xml version="1.0"?><html><body>hi</body></html>')
    code, out = run(["inspect", str(tmp_path / "other.xes")], tmp_path)
    assert code == 2
    assert "not an XES file" in one_clear_line(out)


def test_binary_file(tmp_path: Path) -> None:
    (tmp_path / "pic.csv").write_bytes(bytes(range(256)) * 40)
    code, out = run(["inspect", str(tmp_path / "pic.csv")], tmp_path)
    assert code == 2
    assert "looks like a binary file" in one_clear_line(out)


def test_no_usable_columns_names_what_it_found_and_the_flag(tmp_path: Path) -> None:
    write(tmp_path / "cols.csv", "ticket,what,when\n1,a,2024-01-01\n")
    code, out = run(["inspect", str(tmp_path / "cols.csv")], tmp_path)
    assert code == 2
    line = one_clear_line(out)
    assert "'ticket', 'what', 'when'" in line
    assert "--case COLUMN" in line and "--activity COLUMN" in line
    # and the flags do map them
    code, out = run(["inspect", str(tmp_path / "cols.csv"), "--case", "ticket", "--activity",
                     "what", "--timestamp", "when"], tmp_path)
    assert code == 0, out


def test_unknown_mapping_column_is_named(tmp_path: Path) -> None:
    write(tmp_path / "l.csv", GOOD_HEADER + "c,a,2024-01-01,r\n")
    code, out = run(["inspect", str(tmp_path / "l.csv"), "--case", "nope"], tmp_path)
    assert code == 2
    assert "--case 'nope': no such column" in one_clear_line(out)


def test_unknown_extension(tmp_path: Path) -> None:
    (tmp_path / "log.docx").write_bytes(b"PK")
    code, out = run(["inspect", str(tmp_path / "log.docx")], tmp_path)
    assert code == 2
    assert "unknown file type '.docx'" in one_clear_line(out)


def test_not_parquet(tmp_path: Path) -> None:
    write(tmp_path / "fake.parquet", GOOD_HEADER)
    code, out = run(["inspect", str(tmp_path / "fake.parquet")], tmp_path)
    assert code == 2
    assert "not a Parquet file" in one_clear_line(out)


def test_broken_json_lines_are_quarantined(tmp_path: Path) -> None:
    write(tmp_path / "l.jsonl",
          '{"case_id": "c1", "activity": "a", "timestamp": "2024-01-01T00:00:00Z"}\n'
          '{"case_id": "c1", "activity": "b", "timestamp": \n'
          '[1, 2]\n'
          '{"case_id": "c2", "activity": "a", "timestamp": "2024-01-02T00:00:00+01:00"}\n')
    qfile = tmp_path / "q.jsonl"
    code, out = run(["inspect", str(tmp_path / "l.jsonl"), "--quarantine", str(qfile)],
                    tmp_path)
    assert code == 0, out
    q = pd.read_json(qfile, lines=True)
    assert sorted(q["reason"].str.split(" ").str[0]) == ["invalid", "not"]
    assert sorted(q["line"]) == [2, 3]


def test_exact_duplicates_reported_and_dropped_only_on_request(tmp_path: Path) -> None:
    import lastmile

    path = write(tmp_path / "d.csv", GOOD_HEADER + "c,a,2024-01-01,r\n" * 3
                 + "c,b,2024-01-02,r\n")
    kept = lastmile.read_log(path)
    assert (kept.accounting.loaded, kept.accounting.duplicates) == (4, 2)
    assert any("exact duplicates" in w for w in kept.warnings)
    dropped = lastmile.read_log(path, dedupe=True)
    assert (dropped.accounting.loaded, dropped.accounting.deduplicated) == (2, 2)
    assert dropped.accounting.balanced


def test_xes_events_without_time_are_quarantined_as_xes(tmp_path: Path) -> None:
    import xml.etree.ElementTree as ET

    write(tmp_path / "l.xes", '<?xml version="1.0"?><log xmlns="http://www.xes-standard.org/">'
          '<trace><string key="concept:name" value="c1"/>'
          '<event><string key="concept:name" value="a"/>'
          '<date key="time:timestamp" value="2024-01-01T00:00:00Z"/></event>'
          '<event><string key="concept:name" value="b"/></event>'
          '</trace></log>')
    code, out = run(["inspect", str(tmp_path / "l.xes")], tmp_path)
    assert code == 0, out
    qfile = tmp_path / "l.quarantine.xes"  # the default: next to where the command runs
    assert qfile.exists()
    root = ET.parse(qfile).getroot()
    keys = {el.get("key"): el.get("value") for el in root.iter() if el.get("key")}
    assert keys["reason"] == "missing timestamp"
    assert keys["concept:name"] == "b"  # the event's own name, inside trace c1
    assert "1 missing timestamp" in out


def test_default_quarantine_file_is_written_in_the_working_folder(tmp_path: Path) -> None:
    src_dir = tmp_path / "data"
    src_dir.mkdir()
    write(src_dir / "orders.csv", GOOD_HEADER + "c1,a,2024-01-01,r\nc2,b,never,r\n")
    code, out = run(["inspect", str(src_dir / "orders.csv")], tmp_path)
    assert code == 0
    q = pd.read_csv(tmp_path / "orders.quarantine.csv")
    assert list(q["reason"]) == ["unparseable timestamp"] and list(q["case_id"]) == ["c2"]
    assert "orders.quarantine.csv" in out
