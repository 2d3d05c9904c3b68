"""Regressions from the audit review: per-table sorting in the HTML report, false all-clears, conflicting
flags, exposure ranking across tokens, piping into `head`, readable bad-row reasons."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from copilot.audit.render import to_html
from copilot.audit.report import AuditReport

# A fake DOM just big enough for the report's sorting script: two sortable tables of different widths.
_FAKE_DOM = """
function makeCell(text){ return {textContent: String(text), dataset: {}}; }
function makeTable(headers, rows){
  var table = {tBodies: []}, ths = [];
  headers.forEach(function(name, i){
    var th = {textContent: name, cellIndex: i, dataset: {}, handlers: [],
              addEventListener: function(kind, fn){ this.handlers.push(fn); },
              closest: function(sel){ return sel === 'table' ? table : null; }};
    th.parentNode = {parentNode: table, cells: ths};
    ths.push(th);
  });
  var body = {rows: rows.map(function(r){ return {cells: r.map(makeCell)}; }),
              appendChild: function(row){ var i = this.rows.indexOf(row); this.rows.splice(i, 1); this.rows.push(row); }};
  table.tBodies.push(body); table.ths = ths; table.rows = [{cells: ths}];
  return table;
}
var first = makeTable(['a','b','c','d','e','f','g','h','i'], [[1,2,3,4,5,6,7,8,9]]);
var second = makeTable(['name','amount'], [['x', 30], ['y', 10], ['z', 20]]);
var document = {querySelectorAll: function(sel){ return first.ths.concat(second.ths); }};
"""

_CLICK_SECOND_TABLE = """
second.ths[1].handlers.forEach(function(fn){ fn(); });
console.log(JSON.stringify(second.tBodies[0].rows.map(function(r){ return r.cells[1].textContent; })));
"""


def _report(**overrides: object) -> AuditReport:
    base: dict[str, object] = dict(
        address="0x" + "11" * 20, source="test", format="jsonl", policy="default", chain_id=1, generated_at=0,
        rows=0, transactions=0, reviewed=0, token_transfers=0, bad_rows=0, bad_row_details=[], verdicts={},
        finding_counts={}, approvals=[], poisoning=[], flagged=[], revoke_plan=[], timeline=[], notes=[],
    )
    base.update(overrides)
    return AuditReport(**base)  # type: ignore[arg-type]


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the report's script")
def test_sorting_a_later_table_sorts_by_that_tables_own_column(tmp_path: Path) -> None:
    html = to_html(_report())
    script = re.search(r"<script>(.*)</script>", html, re.S)
    assert script is not None
    program = tmp_path / "sort.js"
    program.write_text(_FAKE_DOM + script.group(1) + _CLICK_SECOND_TABLE)
    done = subprocess.run(["node", str(program)], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == ["10", "20", "30"]
