"""What kind of source the user pointed at, and whether it can be read at all.

Every check here fails with one clear :class:`~lastmile.errors.LastmileError` line: a missing
file, an empty file, a binary file, a truncated ``.gz``, an unknown extension.

>>> Source.of("events.csv.gz").format
'csv'
>>> Source.of("log.xes").format
'xes'
>>> Source.of("postgresql://me@localhost/db?table=events").format
'postgres'
"""

from __future__ import annotations

import codecs
import csv
import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

from lastmile.errors import LastmileError

SUFFIXES = {
    ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".tab": "csv",
    ".parquet": "parquet", ".pq": "parquet",
    ".xes": "xes",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
    ".duckdb": "duckdb", ".ddb": "duckdb", ".db": "duckdb",
}
SAMPLE_BYTES = 1 << 20


@dataclass
class Source:
    """A place to read events from: a file, a database table, or a DataFrame in memory."""

    format: str
    path: Path | None = None
    url: str | None = None
    table: str | None = None
    compressed: bool = False
    frame: Any = None
    options: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """A short name for messages and reports."""
        if self.path is not None:
            return self.path.name
        if self.url is not None:
            return _redact(self.url)
        return "DataFrame"

    @classmethod
    def of(cls, source: Any) -> Source:
        """Classify ``source`` (path, URL, pandas or Polars DataFrame) without reading it."""
        if _is_frame(source):
            return cls("frame", frame=source)
        text = str(source)
        if "://" in text and not text.startswith("file://"):
            return _from_url(text)
        path = Path(text.removeprefix("file://")).expanduser()
        suffixes = [s.lower() for s in path.suffixes]
        compressed = bool(suffixes) and suffixes[-1] in (".gz", ".gzip")
        if compressed:
            suffixes = suffixes[:-1]
        ext = suffixes[-1] if suffixes else ""
        fmt = SUFFIXES.get(ext)
        if fmt is None:
            fmt = "csv" if not ext or compressed else ""
        if not fmt:
            raise LastmileError(
                f"{path.name}: unknown file type {ext!r}",
                hint="lastmile reads .csv/.tsv, .parquet, .xes/.xes.gz, .jsonl and .duckdb files "
                "and postgresql:// or duckdb:// URLs",
            )
        return cls(fmt, path=path, compressed=compressed)


def _is_frame(obj: Any) -> bool:
    mod = type(obj).__module__
    return mod.startswith(("pandas", "polars", "pyarrow")) and hasattr(obj, "columns")


def _redact(url: str) -> str:
    parsed = urlparse(url)
    if parsed.password:
        return url.replace(f":{parsed.password}@", ":***@")
    return url


def _from_url(url: str) -> Source:
    parsed = urlparse(url)
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    table = query.pop("table", None)
    scheme = parsed.scheme.lower().split("+")[0]
    if scheme in ("postgresql", "postgres"):
        return Source("postgres", url=url, table=table or "events", options=query)
    if scheme == "duckdb":
        raw = url.split("://", 1)[1].split("?", 1)[0]
        path = Path(raw) if raw and raw != ":memory:" else None
        return Source("duckdb", path=path, url=url, table=table or "events", options=query)
    raise LastmileError(
        f"unsupported URL scheme {parsed.scheme!r}",
        hint="use postgresql://user@host/db?table=NAME or duckdb:///path.duckdb?table=NAME",
    )


def check_file(src: Source) -> None:
    """Fail clearly when a file is missing, empty, truncated or plainly not what it claims."""
    path = src.path
    if path is None:
        return
    if not path.exists():
        raise LastmileError(f"{path}: no such file", hint="check the path")
    if path.is_dir():
        raise LastmileError(f"{path}: is a folder, not a file")
    if path.stat().st_size == 0:
        raise LastmileError(f"{path.name}: the file is empty (0 bytes)")
    head = path.open("rb").read(4)
    if src.format == "parquet":
        if head != b"PAR1":
            raise LastmileError(f"{path.name}: not a Parquet file (it does not start with PAR1)")
        return
    if src.format == "duckdb":
        return
    if head[:2] == b"\x1f\x8b":
        src.compressed = True
        if src.format == "jsonl":  # DuckDB and rustxes report a truncated stream themselves
            check_gzip(path)
    elif src.compressed:
        raise LastmileError(f"{path.name}: named .gz but is not gzip-compressed")
    sample = read_sample(path, src.compressed)
    if not sample.strip():
        raise LastmileError(f"{path.name}: the file is empty (no text in it)")
    if looks_binary(sample):
        raise LastmileError(
            f"{path.name}: looks like a binary file, not a {src.format.upper()} event log"
        )


def check_gzip(path: Path) -> None:
    """Read a gzip file through once; a truncated or corrupt one raises a clear error."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(1 << 22):
                d.decompress(chunk, 0)
                while d.unconsumed_tail:
                    d.decompress(d.unconsumed_tail, 1 << 24)
                if d.eof and d.unused_data:  # concatenated members
                    rest = d.unused_data
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                    d.decompress(rest, 0)
    except zlib.error as exc:
        raise LastmileError(f"{path.name}: corrupt gzip data ({exc})") from None
    if not d.eof:
        raise LastmileError(
            f"{path.name}: the gzip file is truncated (it ends before its data does)",
            hint="download or copy it again",
        )


def read_sample(path: Path, compressed: bool, size: int = SAMPLE_BYTES) -> bytes:
    """The first ``size`` bytes of the (decompressed) file."""
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rb") as fh:  # type: ignore[operator]
            return fh.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        if isinstance(exc, EOFError) or "end" in str(exc).lower():
            raise LastmileError(
                f"{path.name}: the gzip file is truncated (it ends before its data does)",
                hint="download or copy it again") from None
        raise LastmileError(f"{path.name}: corrupt gzip data ({exc})") from None


def looks_binary(sample: bytes) -> bool:
    """True for data with NUL bytes or many control characters (UTF-16 text excepted)."""
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return False
    head = sample[:65536]
    if b"\x00" in head:
        return True
    control = sum(1 for b in head if b < 9 or 13 < b < 32)
    return control > max(8, len(head) // 100)


def detect_encoding(sample: bytes) -> str:
    """``utf-8`` (with or without BOM), ``utf-16`` or ``latin-1``, from the file's start.

    >>> detect_encoding("Café".encode("utf-8"))
    'utf-8'
    >>> detect_encoding("Café au lait".encode("latin-1"))
    'latin-1'
    """
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    body = sample[3:] if sample.startswith(codecs.BOM_UTF8) else sample
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.reason != "unexpected end of data":  # not just a character cut at the end
            return "latin-1"
    return "utf-8"


def detect_delimiter(text: str) -> str:
    """The field separator among ``, ; TAB |``, from the first lines.

    >>> detect_delimiter("a;b;c\\n1;2;3\\n")
    ';'
    >>> detect_delimiter("a\\tb\\n1\\t2\\n")
    '\\t'
    """
    lines = [ln for ln in text.splitlines()[:50] if ln.strip()]
    if not lines:
        return ","
    try:
        return csv.Sniffer().sniff("\n".join(lines[:20]), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0]
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","
