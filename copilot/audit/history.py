"""Reading a wallet history: transaction objects (JSON/JSONL), raw transactions, Etherscan CSV exports.

Files are read as a sequence of chunks so that worker processes parse them in parallel and the whole
history never sits in memory. A chunk is a byte range of whole lines (or, for JSON arrays, a list of
already-parsed objects). Every row becomes a `HistoryTx` (a transaction the wallet sent or received,
optionally with its logs) or a `TokenTransfer` (a row of an ERC-20 transfer export); a row that does
not parse becomes a `BadRow` with its line number, and the audit goes on.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any, BinaryIO

from copilot.dates import LAST_DATE
from copilot.decoding._crypto import UINT256_MAX
from copilot.errors import InputError
from copilot.parsing import load_json, load_json_prefix

CHUNK_BYTES = 1 << 20  # ~1,300 transaction objects: enough work per task to amortise the process hop
BAD_ROW_MARKER = "__txcopilot_bad_row__"  # a spooled JSON array element that did not parse


class HistoryFormat(StrEnum):
    JSONL = "jsonl"  # one transaction object per line
    JSON_ARRAY = "json"  # one JSON array of transaction objects
    RAW = "raw"  # one raw signed transaction (0x RLP hex) per line
    CSV_NORMAL = "etherscan-csv"  # Etherscan "Transactions" export
    CSV_TOKEN = "etherscan-token-csv"  # Etherscan "ERC-20 Token Txns" export


@dataclass(slots=True)
class Log:
    address: str  # lowercase 0x hex
    topics: list[str]  # lowercase 0x hex
    data: str  # lowercase 0x hex
    index: int = 0


# Fields the decoder needs as given: access and authorization lists (EIP-2930, EIP-7702) and the blob
# fields (EIP-4844), without which a type-3 transaction is not a valid request.
_CARRIED_FIELDS = ("accessList", "authorizationList", "blobVersionedHashes", "maxFeePerBlobGas")


@dataclass(slots=True)
class HistoryTx:
    line: int
    hash: str | None = None
    block: int | None = None
    index: int | None = None  # position in the block
    timestamp: int | None = None
    sender: str | None = None  # lowercase 0x hex
    to: str | None = None
    value: int = 0
    input: str = "0x"
    chain_id: int | None = None
    nonce: int | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    type: int | None = None
    status: int | None = None  # 1 success, 0 reverted, None unknown
    raw: str | None = None  # raw signed transaction, when that is what the row was
    has_input: bool = True  # False for CSV rows exported without calldata
    method: str | None = None  # Etherscan's "Method" column
    logs: list[Log] | None = None  # None: the row carried no receipt
    lists: dict[str, Any] | None = None  # _CARRIED_FIELDS as given, normalised when decoded


@dataclass(slots=True)
class TokenTransfer:
    line: int
    hash: str | None
    block: int | None
    timestamp: int | None
    sender: str
    to: str
    token: str
    amount: Decimal  # in token units as exported (already divided by decimals)
    symbol: str | None = None


@dataclass(slots=True)
class BadRow:
    line: int
    reason: str


Row = HistoryTx | TokenTransfer | BadRow


@dataclass(slots=True)
class Chunk:
    """A unit of work: lines [first_line, ...) at bytes [start, end) of the file, or parsed objects."""

    number: int
    first_line: int
    start: int = 0
    end: int = 0
    objects: list[tuple[int, Any]] = field(default_factory=list)  # rows already parsed: (line, row)
    lines: list[int] | None = None  # a spooled JSON array: the original line of each spool line


# --------------------------------------------------------------------------- format detection

_NORMAL_CSV_COLUMNS = {"txhash", "blockno", "from", "to", "value_out(eth)"}
_TOKEN_CSV_COLUMNS = {"txhash", "blockno", "from", "to", "tokenvalue", "contractaddress"}


def _csv_columns(header_line: str) -> list[str]:
    try:
        cells = next(csv.reader([header_line.strip()]), [])
    except csv.Error as exc:  # a carriage return inside an unquoted header cell
        raise InputError(f"the CSV header cannot be read: {exc}", "give an Etherscan CSV export as it was downloaded") from None
    return [c.strip().strip('"').strip().lower() for c in cells]


def detect_format(path: Path) -> HistoryFormat:
    with path.open("rb") as handle:
        head = handle.read(64 * 1024).decode("utf-8", errors="replace").lstrip("\ufeff")
    stripped = head.lstrip()
    if not stripped:
        raise InputError(f"{path}: the file is empty", "pass a history export with at least one row")
    if stripped.startswith("["):
        return HistoryFormat.JSON_ARRAY
    if stripped.startswith("{"):
        return HistoryFormat.JSONL
    first_line = stripped.splitlines()[0]
    if first_line.startswith("0x"):
        return HistoryFormat.RAW
    columns = set(_csv_columns(first_line))
    if columns >= _TOKEN_CSV_COLUMNS:
        return HistoryFormat.CSV_TOKEN
    if columns >= _NORMAL_CSV_COLUMNS or {"txhash", "from", "to"} <= columns:
        return HistoryFormat.CSV_NORMAL
    sample = first_line[:40]
    binary = any(c == "\ufffd" or not c.isprintable() for c in head[:512] if c not in "\r\n\t")
    shown = "the file looks binary, not text" if binary else f"first line: {sample!r}"
    raise InputError(
        f"{path}: unrecognised history format ({shown})",
        "give JSONL or a JSON array of transaction objects, raw transactions one per line, "
        "or an Etherscan CSV export",
    )


# --------------------------------------------------------------------------- chunking


@dataclass(slots=True)
class ChunkPlan:
    format: HistoryFormat
    file_hash: str
    chunks: list[Chunk]
    header: str | None = None  # CSV header line
    read_path: Path | None = None  # the file the chunks' byte ranges refer to (a JSON array's spool)


def plan_chunks(path: Path, chunk_bytes: int = CHUNK_BYTES) -> ChunkPlan:
    """Split the file into line-aligned chunks and hash it in the same pass (the resume key)."""
    fmt = detect_format(path)
    if fmt is HistoryFormat.JSON_ARRAY:
        return _plan_json_array(path, chunk_bytes)
    digest = hashlib.sha256()
    header: str | None = None
    with path.open("rb") as handle:
        if fmt in (HistoryFormat.CSV_NORMAL, HistoryFormat.CSV_TOKEN):
            first = handle.readline()
            digest.update(first)
            header = first.decode("utf-8", errors="replace").lstrip("\ufeff").rstrip("\r\n")
        chunks = _line_chunks(handle, digest, chunk_bytes, first_line=2 if header is not None else 1,
                              quoted=header is not None)
    return ChunkPlan(fmt, digest.hexdigest(), chunks, header, path)


def _record_end(data: bytes, quoted: bool) -> int:
    """The last newline in `data` that ends a record (-1: none). With CSV quoting a newline inside a quoted
    field does not: a newline ends a record only after an even number of quotes (an escaped "" counts
    twice). `data` starts at a record boundary."""
    if not quoted:
        return data.rfind(b"\n")
    quotes = data.count(b'"')
    end = len(data)
    while (cut := data.rfind(b"\n", 0, end)) >= 0:
        quotes -= data.count(b'"', cut, end)
        if quotes % 2 == 0:
            return cut
        end = cut
    return -1


def _line_chunks(
    handle: BinaryIO, digest: Any, chunk_bytes: int, first_line: int, *, quoted: bool = False
) -> list[Chunk]:
    """Chunks of whole records from the handle's position on (hashing what it reads into `digest`)."""
    chunks: list[Chunk] = []
    offset = start = handle.tell()
    line_no = start_line = first_line
    carry = b""
    while True:
        block = handle.read(chunk_bytes)
        if not block:
            break
        digest.update(block)
        data = carry + block
        cut = _record_end(data, quoted)
        if cut < 0:
            carry = data
            continue
        complete, carry = data[: cut + 1], data[cut + 1 :]
        offset += len(complete)
        line_no += complete.count(b"\n")
        chunks.append(Chunk(number=len(chunks), first_line=start_line, start=start, end=offset))
        start, start_line = offset, line_no
    if carry:  # a last line without a newline
        chunks.append(Chunk(number=len(chunks), first_line=start_line, start=start, end=offset + len(carry)))
    return chunks


def _file_hash(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(CHUNK_BYTES):
            digest.update(block)
    return digest.hexdigest()


def _plan_json_array(path: Path, chunk_bytes: int) -> ChunkPlan:
    """A JSON array is streamed element by element into a JSONL spool (one element per line, with each
    element's original line number kept aside), then chunked like JSONL: neither the planner nor a
    worker ever holds more than a chunk of it. The spool lives in the cache dir, keyed by the file's
    hash, until an audit of it completes."""
    from copilot.state.dirs import cache_dir

    file_hash = _file_hash(path)
    spool = cache_dir() / "audit-spool" / f"{file_hash[:40]}.jsonl"
    index = spool.with_suffix(".lines.json")
    if not (spool.exists() and index.exists()):
        spool.parent.mkdir(parents=True, exist_ok=True)
        temporary = spool.with_suffix(".tmp")
        lines: list[int] = []
        with temporary.open("w", encoding="utf-8") as out:
            for line, text in _array_elements(path):
                out.write(text + "\n")
                lines.append(line)
        index.write_text(json.dumps(lines), encoding="utf-8")
        temporary.replace(spool)
    original_lines: list[int] = json.loads(index.read_text(encoding="utf-8"))
    with spool.open("rb") as handle:
        chunks = _line_chunks(handle, hashlib.sha256(), chunk_bytes, first_line=1)
    starts = [c.first_line for c in chunks] + [len(original_lines) + 1]
    for chunk, start, end in zip(chunks, starts, starts[1:], strict=False):
        # spool line n holds the element that started on original line original_lines[n - 1]
        chunk.lines = original_lines[start - 1 : end - 1]
        chunk.first_line = chunk.lines[0] if chunk.lines else start
    return ChunkPlan(HistoryFormat.JSON_ARRAY, file_hash, chunks, None, spool)


def finish_spool(plan: ChunkPlan) -> None:
    """Deletes a JSON array's spool once its audit is complete (an interrupted audit keeps it)."""
    if plan.format is HistoryFormat.JSON_ARRAY and plan.read_path is not None:
        plan.read_path.unlink(missing_ok=True)
        plan.read_path.with_suffix(".lines.json").unlink(missing_ok=True)


def _array_elements(path: Path) -> Iterator[tuple[int, str]]:
    """(line where the element starts, the element as one line of JSON) for each element of the
    top-level array; an element that does not parse ends the stream with a bad-row marker."""
    buffer = ""
    line = 1
    started = False
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        eof = False

        def refill() -> bool:
            nonlocal buffer, eof
            block = handle.read(CHUNK_BYTES)
            if not block:
                eof = True
                return False
            buffer += block
            return True

        refill()
        pos = 0
        while True:
            while pos < len(buffer) and buffer[pos] in " \t\r\n,\ufeff" + ("" if started else "["):
                if buffer[pos] == "\n":
                    line += 1
                if buffer[pos] == "[":
                    started = True
                pos += 1
            if pos >= len(buffer):
                buffer, pos = "", 0
                if eof or not refill():
                    if started:  # the file ended before the array's closing bracket
                        yield line, json.dumps({BAD_ROW_MARKER: f"truncated JSON array at line {line}: no closing ']'"})
                    return
                continue
            if buffer[pos] == "]":
                return
            try:
                obj, end = load_json_prefix(buffer, pos)
            except json.JSONDecodeError as exc:
                if not eof and refill():
                    continue
                cut_off = not buffer.rstrip().endswith("]")  # the file ends before the array does
                reason = (f"truncated JSON array at line {line}: the last element is cut off" if cut_off
                          else f"invalid JSON: {exc.msg}")
                yield line, json.dumps({BAD_ROW_MARKER: reason})
                return
            yield line, json.dumps(obj, separators=(",", ":"))
            line += buffer.count("\n", pos, end)
            pos = end
            if pos > CHUNK_BYTES:
                buffer, pos = buffer[pos:], 0


def read_chunk(path: Path, plan_format: HistoryFormat, header: str | None, chunk: Chunk) -> Iterator[Row]:
    """Parse the rows of one chunk. Never raises for a bad row: yields a BadRow instead."""
    with path.open("rb") as handle:
        handle.seek(chunk.start)
        data = handle.read(chunk.end - chunk.start).decode("utf-8", errors="replace")
    if plan_format in (HistoryFormat.CSV_NORMAL, HistoryFormat.CSV_TOKEN):
        yield from _csv_rows(data, plan_format, _csv_columns(header or ""), chunk.first_line)
        return
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for offset, text in enumerate(lines):
        line = chunk.lines[offset] if chunk.lines is not None else chunk.first_line + offset
        text = text.strip()
        if not text:
            continue
        if plan_format in (HistoryFormat.JSONL, HistoryFormat.JSON_ARRAY):
            try:
                obj = load_json(text)
            except json.JSONDecodeError as exc:
                yield BadRow(line, f"invalid JSON: {exc.msg} at column {exc.colno}")
                continue
            if isinstance(obj, dict) and BAD_ROW_MARKER in obj:
                yield BadRow(line, str(obj[BAD_ROW_MARKER]))
                continue
            yield _safe(parse_tx_object, obj, line)
        else:
            yield _safe(parse_raw_line, text, line)


def _csv_rows(data: str, plan_format: HistoryFormat, columns: list[str], first_line: int) -> Iterator[Row]:
    """CSV records, a quoted field may span lines; each row is numbered by the line it starts on."""
    parser = parse_token_csv_row if plan_format is HistoryFormat.CSV_TOKEN else parse_normal_csv_row
    reader = csv.reader(io.StringIO(data, newline=""))
    while True:
        line = first_line + reader.line_num
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield BadRow(line, f"invalid CSV: {exc}")
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) < len(columns) - 1:  # trailing empty columns are often dropped
            yield BadRow(line, f"expected {len(columns)} CSV columns, found {len(cells)}")
            continue
        row = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(columns)}
        yield _safe(parser, row, line)


def _safe(parser: Any, value: Any, line: int) -> Row:
    try:
        row: Row = parser(value, line)
        return row
    except (ValueError, TypeError, KeyError, InvalidOperation) as exc:
        return BadRow(line, str(exc) or type(exc).__name__)


# --------------------------------------------------------------------------- row parsers


def _address(value: Any, what: str, *, optional: bool = False) -> str | None:
    if value in (None, "") and optional:
        return None
    if value is None:
        raise ValueError(f"row has no '{what}' field")
    if not isinstance(value, str):
        raise ValueError(f"{what}: expected an address, got {type(value).__name__}")
    text = value.strip().lower()
    if len(text) != 42 or not text.startswith("0x"):
        raise ValueError(f"{what}: {value!r} is not a 20-byte 0x address")
    int(text, 16)
    return text


def _quantity(value: Any, what: str, default: int | None = None) -> int | None:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected a number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            number = int(text, 16) if text.lower().startswith("0x") else int(text)
        except ValueError:
            raise ValueError(f"{what}: {value[:40]!r} is not a quantity") from None
    else:
        raise ValueError(f"{what}: expected a hex or decimal quantity, got {type(value).__name__}")
    if not 0 <= number <= UINT256_MAX:  # no Ethereum quantity is negative or wider than 256 bits
        raise ValueError(f"{what}: {'negative' if number < 0 else 'wider than 256 bits'}, so not a uint256 quantity")
    return number


def _timestamp(value: Any, what: str) -> int | None:
    stamp = _quantity(value, what)
    if stamp is not None and not 0 <= stamp <= LAST_DATE:
        raise ValueError(f"{what}: {str(stamp)[:30]} is not a date")
    return stamp


def _hex(value: Any, what: str) -> str:
    if value is None or value == "":
        return "0x"
    if not isinstance(value, str) or not value.startswith(("0x", "0X")) or len(value) % 2:
        raise ValueError(f"{what}: expected 0x-prefixed even-length hex")
    text = value.lower()
    if len(text) > 2:
        bytes.fromhex(text[2:])
    return text


def parse_tx_object(obj: Any, line: int) -> HistoryTx:
    """An eth_getTransactionByHash object, optionally with "receipt" and/or "logs"."""
    if not isinstance(obj, dict):
        raise ValueError(f"expected a transaction object, got {type(obj).__name__}")
    if "raw" in obj and "from" not in obj:
        return parse_raw_line(str(obj["raw"]), line)
    receipt = obj.get("receipt") if isinstance(obj.get("receipt"), dict) else None
    raw_logs = obj.get("logs")
    if raw_logs is None and receipt is not None:
        raw_logs = receipt.get("logs")
    status = _quantity(obj.get("status", receipt.get("status") if receipt else None), "status")
    sender = _address(obj.get("from"), "from")
    data = obj.get("input", obj.get("data"))
    return HistoryTx(
        line=line,
        hash=_hex(obj.get("hash"), "hash") if obj.get("hash") else None,
        block=_quantity(obj.get("blockNumber"), "blockNumber"),
        index=_quantity(obj.get("transactionIndex"), "transactionIndex"),
        timestamp=_timestamp(obj.get("timestamp", obj.get("blockTimestamp")), "timestamp"),
        sender=sender,
        to=_address(obj.get("to"), "to", optional=True),
        value=_quantity(obj.get("value"), "value", 0) or 0,
        input=_hex(data, "input"),
        chain_id=_quantity(obj.get("chainId"), "chainId"),
        nonce=_quantity(obj.get("nonce"), "nonce"),
        gas=_quantity(obj.get("gas"), "gas"),
        gas_price=_quantity(obj.get("gasPrice"), "gasPrice"),
        max_fee_per_gas=_quantity(obj.get("maxFeePerGas"), "maxFeePerGas"),
        max_priority_fee_per_gas=_quantity(obj.get("maxPriorityFeePerGas"), "maxPriorityFeePerGas"),
        type=_quantity(obj.get("type"), "type"),
        status=status,
        logs=None if raw_logs is None else [_parse_log(entry, i) for i, entry in enumerate(raw_logs)],
        lists={k: obj[k] for k in _CARRIED_FIELDS if obj.get(k)} or None,
    )


def _parse_log(entry: Any, position: int) -> Log:
    if not isinstance(entry, dict):
        raise ValueError("log: expected an object")
    topics = entry.get("topics") or []
    if not isinstance(topics, list):
        raise ValueError("log.topics: expected a list")
    return Log(
        address=_address(entry.get("address"), "log.address") or "",
        topics=[_hex(t, "log.topics") for t in topics],
        data=_hex(entry.get("data"), "log.data"),
        index=_quantity(entry.get("logIndex"), "logIndex", position) or position,
    )


def parse_raw_line(text: str, line: int) -> HistoryTx:
    raw = _hex(text.strip(), "raw transaction")
    if len(raw) < 4:
        raise ValueError("raw transaction: empty")
    return HistoryTx(line=line, raw=raw)


def _eth_to_wei(text: str, what: str) -> int:
    cleaned = text.replace(",", "").strip() or "0"
    try:
        return int(Decimal(cleaned) * 10**18)
    except InvalidOperation:
        raise ValueError(f"{what}: {text!r} is not a number") from None


def parse_normal_csv_row(row: dict[str, str], line: int) -> HistoryTx:
    # Etherscan quotes the column names and varies "DateTime (UTC)"; match case-insensitively.
    value_out = _eth_to_wei(row.get("value_out(eth)", "0"), "Value_OUT(ETH)")
    value_in = _eth_to_wei(row.get("value_in(eth)", "0"), "Value_IN(ETH)")
    status_text = (row.get("status") or "").lower()
    error = row.get("errcode") or ""
    calldata = row.get("input") or row.get("input data") or ""
    return HistoryTx(
        line=line,
        hash=_hex(row["txhash"], "Txhash"),
        block=_quantity(row.get("blockno"), "Blockno"),
        timestamp=_timestamp(row.get("unixtimestamp"), "UnixTimestamp"),
        sender=_address(row.get("from"), "From"),
        to=_address(row.get("to"), "To", optional=True),  # empty To: a contract creation (ContractAddress is its result)
        value=value_out or value_in,
        input=_hex(calldata, "Input") if calldata.startswith("0x") else "0x",
        has_input=calldata.startswith("0x"),
        status=0 if (error or status_text.startswith(("error", "fail"))) else 1,  # "Error(0)", "Failed"
        method=row.get("method") or None,
    )


def parse_token_csv_row(row: dict[str, str], line: int) -> TokenTransfer:
    amount_text = row.get("tokenvalue", "").replace(",", "").strip() or "0"
    try:
        amount = Decimal(amount_text)
    except InvalidOperation:
        raise ValueError(f"TokenValue: {amount_text!r} is not a number") from None
    return TokenTransfer(
        line=line,
        hash=_hex(row["txhash"], "Txhash"),
        block=_quantity(row.get("blockno"), "Blockno"),
        timestamp=_timestamp(row.get("unixtimestamp"), "UnixTimestamp"),
        sender=_address(row.get("from"), "From") or "",
        to=_address(row.get("to"), "To") or "",
        token=_address(row.get("contractaddress"), "ContractAddress") or "",
        amount=amount,
        symbol=row.get("tokensymbol") or None,
    )
