"""Render an AuditReport as Markdown or as one self-contained HTML page (inline CSS, SVG and a few lines
of JS for sorting; no external asset of any kind, so the file opens offline and leaks nothing)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from html import escape

from copilot.audit.report import ApprovalItem, AuditReport, TimelinePoint
from copilot.state.prices import dated


def _date(timestamp: int | None) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d") if timestamp else "?"


def _short(address: str | None) -> str:
    return f"{address[:6]}…{address[-4:]}" if address and len(address) == 42 else (address or "-")


def headline(report: AuditReport) -> list[str]:
    """The few lines every format starts with."""
    risky = report.risky_approvals
    lines = [
        f"{report.transactions} transactions ({report.reviewed} reviewed), {report.token_transfers} token transfer "
        f"rows, {report.bad_rows} bad rows skipped",
        f"{len(report.approvals)} open approvals, {len(risky)} risky; {len(report.revoke_plan)} revoke transactions "
        "planned",
        f"{report.risky_transactions} risky transactions (blocked, or a finding of high severity and above)",
        f"{report.confirmations} transactions needed your confirmation under policy '{report.policy}' (large "
        f"payments, new payees above a limit: not risky by themselves; {len(report.policy_breaches)} decided by a "
        "policy rule)",
        f"{sum(1 for p in report.poisoning if p.kind == 'dust')} address-poisoning attempts received, "
        f"{sum(1 for p in report.poisoning if p.kind == 'payment')} payments to lookalike addresses",
        f"{len(report.listed)} interactions with addresses on scam lists",
    ]
    dates = sorted({a.exposure_usd_as_of for a in report.approvals if a.exposure_usd_as_of})
    if dates:
        lines.append(f"USD values{dated(dates[-1])} (coarse; your prices.toml overrides them)")
    return lines


def attention_lines(report: AuditReport) -> list[str]:
    """The "what needs your attention" list, one line per problem, most urgent first."""
    if not report.attention:
        return ["Nothing risky found: no risky transaction, open risky approval, poisoning or scam-list address."]
    lines = []
    for item in report.attention:
        who = f"{item.role} {item.address}" if item.address else item.role
        first, last = item.first, item.last
        when = f"{_date(first.timestamp)} ({first.tx or f'line {first.line}'})"
        if item.count > 1:
            when = f"{item.count} transactions, first {when}, last {_date(last.timestamp)} ({last.tx or f'line {last.line}'})"
        lines.append(f"{item.rank}. {item.severity.upper()} {who}: {item.problem}. {when}")
    return lines


def narrative_byline(report: AuditReport) -> str:
    """Who wrote the narrative and how far to trust it."""
    info = report.narrative_info
    if info is None:
        return "Written by the local model from the audit's facts; advisory."
    dropped = (
        f"; {info.sentences_dropped} of {info.sentences_checked} sentences dropped for naming facts not in the audit"
        if info.sentences_dropped else ""
    )
    writer = (
        f"your LLM server's model {info.model} (external server, not sandboxed by txcopilot)"
        if info.external else f"the local model {info.model}"
    )
    return f"Written by {writer} from the audit's facts only; advisory{dropped}."


def report_notes(report: AuditReport) -> list[str]:
    return [*report.notes, *([report.explanation_note] if report.explanation_note else [])]


# --------------------------------------------------------------------------- Markdown


def _md_cell(text: object) -> str:
    """History values are attacker-chosen (token symbols): no table break-out, no raw HTML."""
    return escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def _md_table(headers: list[str], rows: list[list[object]]) -> list[str]:
    lines = ["| " + " | ".join(headers) + " |", "|" + " --- |" * len(headers)]
    return lines + ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows]


def to_markdown(report: AuditReport) -> str:
    out = [f"# Wallet audit: {report.address}", ""]
    out.append(f"Source: `{report.source}` ({report.format}); policy: {_md_cell(report.policy)}; "
               f"generated {_date(report.generated_at)} UTC.")
    out += ["", "## What needs your attention", ""]
    out += [_md_cell(line) for line in attention_lines(report)]
    out += ["", "## Counts", ""]
    out += [f"- {_md_cell(line)}" for line in headline(report)]
    if report.warnings:
        out += ["", "## Warnings", ""] + [f"- **{_md_cell(w)}**" for w in report.warnings]
    if report.narrative:
        out += ["", "## Summary", "", _md_cell(report.narrative), "", f"_{_md_cell(narrative_byline(report))}_"]
    elif report.narrative_note:
        out += ["", f"_{_md_cell(report.narrative_note)}_"]
    out += ["", "## Open approvals", ""]
    if report.approvals:
        out += _md_table(
            ["risky", "kind", "token", "spender", "amount", "exposure", "USD", "granted", "why"],
            [
                [
                    "yes" if a.risky else "", a.kind, a.token_symbol or a.token,
                    f"{a.spender_label} ({_short(a.spender)})" if a.spender_label else a.spender,
                    a.amount_display, a.exposure_display or "-",
                    f"{a.exposure_usd:,.2f}" if a.exposure_usd is not None else "-",
                    _date(a.granted_at), "; ".join(a.reasons),
                ]
                for a in report.approvals
            ],
        )
    else:
        out.append("None.")
    out += ["", "## Address poisoning", ""]
    if report.poisoning:
        out += _md_table(
            ["what", "date", "lookalike", "imitates", "token", "amount", "tx"],
            [
                [
                    "PAYMENT to lookalike" if p.kind == "payment" else "planted transfer",
                    _date(p.timestamp), p.lookalike, p.resembles, _short(p.token), p.amount,
                    p.tx or f"line {p.line}",
                ]
                for p in report.poisoning
            ],
        )
    else:
        out.append("None found.")
    out += ["", "## Interactions with addresses on scam lists", ""]
    if report.listed:
        out += _md_table(
            ["date", "address", "role", "lists", "tx"],
            [[_date(i.timestamp), i.address, i.role, i.evidence, i.tx or f"line {i.line}"] for i in report.listed],
        )
    else:
        out.append("None found.")
    out += ["", "## Transactions the policy would not allow (risky, then needed confirmation)", ""]
    if report.flagged:
        out += _md_table(
            ["risky", "risk", "verdict", "date", "to", "function", "findings", "decided by", "tx"],
            [
                [
                    "yes" if t.risky else "", t.risk_score, t.verdict, _date(t.timestamp), t.contract or _short(t.to), t.function or "-",
                    ", ".join(f["id"] for f in t.findings), t.decided_by, t.hash or f"line {t.line}",
                ]
                for t in report.flagged
            ],
        )
        explained = {t.explanation for t in report.flagged if t.explanation}
        if explained:
            out += ["", "Model explanations (one per call shape, advisory):", ""]
            out += [f"- {_md_cell(text)}" for text in sorted(explained)]
    else:
        out.append("None.")
    out += ["", "## Revoke plan", ""]
    if report.revoke_plan:
        out += [f"{i}. {_md_cell(r.description)}" for i, r in enumerate(report.revoke_plan, start=1)]
    else:
        out.append("Nothing to revoke.")
    if report.bad_rows:
        out += ["", f"## Skipped rows ({report.bad_rows})", ""]
        out += [f"- line {b.line}: {_md_cell(b.reason)}" for b in report.bad_row_details]
    if report_notes(report):
        out += ["", "## Notes", ""] + [f"- {_md_cell(n)}" for n in report_notes(report)]
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- HTML

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#1b1f24;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left}
th{background:#f3f4f6;cursor:pointer;user-select:none}tr.risky td{background:#fff1f0}
code{font-size:12px}.muted{color:#6b7280}.chart text{font-size:11px;fill:#374151}
"""

_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th){
  th.addEventListener('click', function(){
    // The column within th's own table: the page holds several tables of different widths.
    var col = th.cellIndex, body = th.closest('table').tBodies[0], rows = Array.prototype.slice.call(body.rows);
    var dir = th.dataset.dir === 'asc' ? -1 : 1; th.dataset.dir = dir === 1 ? 'asc' : 'desc';
    rows.sort(function(a, b){
      var x = a.cells[col].dataset.sort || a.cells[col].textContent, y = b.cells[col].dataset.sort || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      return (isNaN(nx) || isNaN(ny) ? x.localeCompare(y) : nx - ny) * dir;
    });
    rows.forEach(function(r){ body.appendChild(r); });
  });
});
"""


def timeline_svg(points: list[TimelinePoint], width: int = 1100, height: int = 260) -> str:
    """Open approvals (risky ones in red) and the day's highest risk score, as an inline SVG chart."""
    if not points:
        return "<p class='muted'>No dated rows: no timeline.</p>"
    left, right, top, bottom = 40, 40, 20, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)
    max_open = max(1, *(p.open_approvals for p in points))
    days = [date.fromisoformat(p.day).toordinal() for p in points]
    span = max(days[-1] - days[0], 1)

    def x(i: int) -> float:
        """Proportional to time: quiet weeks take their real width."""
        return left + (plot_w * (days[i] - days[0]) / span if n > 1 else plot_w / 2)

    def y_open(v: int) -> float:
        return top + plot_h - plot_h * v / max_open

    def y_risk(v: int) -> float:
        return top + plot_h - plot_h * v / 100

    def path(values: list[float]) -> str:
        """A step line: a count holds until the day it changes."""
        steps = [f"M{x(0):.1f},{values[0]:.1f}"]
        steps += [f"H{x(i):.1f} V{v:.1f}" for i, v in enumerate(values) if i]
        return " ".join(steps)

    parts = [f"<svg class='chart' viewBox='0 0 {width} {height}' width='100%' "
             "role='img' aria-label='Open approvals and risk over time'>"]
    parts.append(f"<rect x='{left}' y='{top}' width='{plot_w}' height='{plot_h}' fill='#fafafa' stroke='#ddd'/>")
    bar_w = max(1.0, plot_w / (span + 1) * 0.8)
    for i, p in enumerate(points):
        if p.max_risk:
            parts.append(f"<rect x='{x(i) - bar_w / 2:.1f}' y='{y_risk(p.max_risk):.1f}' width='{bar_w:.1f}' "
                         f"height='{top + plot_h - y_risk(p.max_risk):.1f}' fill='#f59e0b' opacity='0.45'>"
                         f"<title>{p.day}: max risk {p.max_risk}, {p.flagged} flagged of {p.transactions}</title></rect>")
    parts.append(f"<path d='{path([y_open(p.open_approvals) for p in points])}' fill='none' stroke='#2563eb' "
                 "stroke-width='2'/>")
    parts.append(f"<path d='{path([y_open(p.risky_approvals) for p in points])}' fill='none' stroke='#dc2626' "
                 "stroke-width='2'/>")
    for i in sorted({0, n // 2, n - 1}):
        parts.append(f"<text x='{x(i):.1f}' y='{height - bottom + 16}' text-anchor='middle'>{points[i].day}</text>")
    parts.append(f"<text x='{left - 6}' y='{top + 4}' text-anchor='end'>{max_open}</text>")
    parts.append(f"<text x='{left - 6}' y='{top + plot_h}' text-anchor='end'>0</text>")
    parts.append(f"<text x='{width - right + 6}' y='{top + 4}'>100</text>")
    legend_y = height - 8
    parts.append(f"<text x='{left}' y='{legend_y}'><tspan fill='#2563eb'>━ open approvals</tspan>  "
                 "<tspan fill='#dc2626'>━ risky open approvals</tspan>  "
                 "<tspan fill='#d97706'>▮ highest risk score of the day (right axis, 0-100)</tspan></text>")
    parts.append("</svg>")
    return "".join(parts)


def _td(value: object, sort: object | None = None) -> str:
    attr = f" data-sort='{escape(str(sort))}'" if sort is not None else ""
    return f"<td{attr}>{escape(str(value))}</td>"


def _sort_units(raw: int | None, item: ApprovalItem) -> str:
    """Sort value in token units, so that columns never compare raw units of tokens of different decimals."""
    if raw is None:  # no amount (NFT approvals), or unlimited with the balance unknown
        return "Infinity" if item.unlimited else "-1"
    return format(Decimal(raw).scaleb(-(item.token_decimals or 0)).normalize(), "f")


def to_html(report: AuditReport) -> str:
    h = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Wallet audit {escape(report.address)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Wallet audit: <code>{escape(report.address)}</code></h1>",
        f"<p class='muted'>Source {escape(report.source)} ({escape(report.format)}), policy {escape(report.policy)}, "
        f"generated {_date(report.generated_at)} UTC by txcopilot, offline.</p>",
        "<h2>What needs your attention</h2><ol id='attention'>",
    ]
    h += [f"<li>{escape(line.split('. ', 1)[1] if report.attention else line)}</li>" for line in attention_lines(report)]
    h.append("</ol><h2>Counts</h2><ul>")
    h += [f"<li>{escape(line)}</li>" for line in headline(report)]
    h.append("</ul>")
    if report.warnings:
        h.append("<h2>Warnings</h2><ul id='warnings'>"
                 + "".join(f"<li><strong>{escape(w)}</strong></li>" for w in report.warnings) + "</ul>")
    if report.narrative:
        h.append(f"<h2>Summary</h2><p id='narrative'>{escape(report.narrative)}</p>"
                 f"<p class='muted'>{escape(narrative_byline(report))}</p>")
    elif report.narrative_note:
        h.append(f"<p class='muted'>{escape(report.narrative_note)}</p>")
    h.append("<h2>Exposure and risk over time</h2>")
    h.append(timeline_svg(report.timeline))
    h.append("<h2>Open approvals</h2>")
    if report.approvals:
        h.append("<table class='sortable' id='approvals'><thead><tr><th>risky</th><th>kind</th><th>token</th>"
                 "<th>spender</th><th>amount</th><th>exposure</th><th>USD</th><th>granted</th><th>why</th>"
                 "</tr></thead><tbody>")
        for a in report.approvals:
            spender = f"{a.spender_label} ({a.spender})" if a.spender_label else a.spender
            h.append(f"<tr class='{'risky' if a.risky else ''}'>" + "".join([
                _td("yes" if a.risky else "", 1 if a.risky else 0), _td(a.kind), _td(a.token_symbol or a.token),
                _td(spender), _td(a.amount_display, "Infinity" if a.unlimited else _sort_units(a.amount, a)),
                _td(a.exposure_display or "-", _sort_units(a.exposure, a)),
                _td(f"{a.exposure_usd:,.2f}" if a.exposure_usd is not None else "-",
                    a.exposure_usd if a.exposure_usd is not None else -1),
                _td(_date(a.granted_at), a.granted_at or 0), _td("; ".join(a.reasons)),
            ]) + "</tr>")
        h.append("</tbody></table>")
    else:
        h.append("<p>None.</p>")
    h.append("<h2>Address poisoning</h2>")
    if report.poisoning:
        h.append("<table class='sortable'><thead><tr><th>what</th><th>date</th><th>lookalike</th><th>imitates</th>"
                 "<th>token</th><th>amount</th><th>tx</th></tr></thead><tbody>")
        for p in report.poisoning:
            what = "PAYMENT to lookalike" if p.kind == "payment" else "planted transfer"
            h.append("<tr class='risky'>" + "".join([
                _td(what), _td(_date(p.timestamp), p.timestamp or 0), _td(p.lookalike), _td(p.resembles),
                _td(p.token), _td(p.amount), _td(p.tx or f"line {p.line}")]) + "</tr>")
        h.append("</tbody></table>")
    else:
        h.append("<p>None found.</p>")
    h.append("<h2>Interactions with addresses on scam lists</h2>")
    if report.listed:
        h.append("<table class='sortable'><thead><tr><th>date</th><th>address</th><th>role</th><th>lists</th>"
                 "<th>tx</th></tr></thead><tbody>")
        for i in report.listed:
            h.append("<tr class='risky'>" + "".join([
                _td(_date(i.timestamp), i.timestamp or 0), _td(i.address), _td(i.role), _td(i.evidence),
                _td(i.tx or f"line {i.line}")]) + "</tr>")
        h.append("</tbody></table>")
    else:
        h.append("<p>None found.</p>")
    h.append("<h2>Transactions the policy would not allow (risky, then needed confirmation)</h2>")
    if report.flagged:
        h.append("<table class='sortable'><thead><tr><th>risky</th><th>risk</th><th>verdict</th><th>date</th><th>to</th>"
                 "<th>function</th><th>findings</th><th>decided by</th><th>tx</th><th>explanation (model, advisory)</th>"
                 "</tr></thead><tbody>")
        for t in report.flagged:
            h.append(f"<tr class='{'risky' if t.risky else ''}'>" + "".join([
                _td("yes" if t.risky else "", 1 if t.risky else 0), _td(t.risk_score), _td(t.verdict), _td(_date(t.timestamp), t.timestamp or 0),
                _td(t.contract or t.to or "-"), _td(t.function or "-"),
                _td(", ".join(f["id"] for f in t.findings)), _td(t.decided_by), _td(t.hash or f"line {t.line}"),
                _td(t.explanation or ""),
            ]) + "</tr>")
        h.append("</tbody></table>")
    else:
        h.append("<p>None.</p>")
    h.append("<h2>Revoke plan</h2>")
    if report.revoke_plan:
        h.append("<ol>" + "".join(f"<li>{escape(r.description)}</li>" for r in report.revoke_plan) + "</ol>")
    else:
        h.append("<p>Nothing to revoke.</p>")
    if report.bad_rows:
        h.append(f"<h2>Skipped rows ({report.bad_rows})</h2><ul>")
        h += [f"<li>line {b.line}: {escape(b.reason)}</li>" for b in report.bad_row_details]
        h.append("</ul>")
    if report_notes(report):
        h.append("<h2>Notes</h2><ul>" + "".join(f"<li>{escape(n)}</li>" for n in report_notes(report)) + "</ul>")
    h.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(h)
