"""The policy judge: findings plus the user's policy give the verdict, and the rule that set it.

Every finding maps to a verdict through the policy's `[verdicts]` table (after `[severity]`
overrides); every policy rule that fires adds its own finding and demands its own action; the
policy's `default` is the floor. The worst outcome wins (block > confirm > allow); among equals the
more severe finding decides, then the first one found.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from copilot.decoding.tokens import native_symbol
from copilot.models import (
    VERDICT_RANK,
    DecodedRequest,
    Finding,
    PolicyDecision,
    ReviewContext,
    Severity,
    Verdict,
)
from copilot.policy.extract import approvals, named_addresses, request_chain_id, siwe_chain_id
from copilot.policy.loader import Policy
from copilot.policy.spend import (
    POLICY_UNKNOWN_NATIVE,
    Payment,
    RuleHit,
    Spend,
    check_spend,
    payment_spend,
    payments,
    prices_note,
    spend_of,
    token_meta,
)
from copilot.state.prices import PriceTable, dated, load_prices

if TYPE_CHECKING:
    from copilot.risk.facts import Facts

GWEI = 10**9
WEI = Decimal(10) ** 18
# Below this many gwei above the base fee a fee is never "abnormal": L2 and test-node base fees are tiny.
GAS_FLOOR_GWEI = 10
EFFECTIVELY_UNLIMITED = 2**160 - 1  # uint160 max (Permit2) and above


def effective_severity(finding_id: str, severity: Severity, policy: Policy) -> Severity:
    override = policy.severity_exact.get(finding_id)
    if override is None:
        override = next((s for prefix, s in policy.severity_prefixes if finding_id.startswith(prefix)), None)
    return Severity(override) if override else severity


def effective_findings(findings: list[Finding], policy: Policy) -> list[Finding]:
    """The findings with the policy's severity overrides applied (and said so in the evidence)."""
    out: list[Finding] = []
    for finding in findings:
        severity = effective_severity(finding.id, finding.severity, policy)
        if severity is finding.severity:
            out.append(finding)
        else:
            note = f" [severity {finding.severity.value} -> {severity.value} by {policy.rule('severity')}]"
            out.append(finding.model_copy(update={"severity": severity, "evidence": finding.evidence + note}))
    return out


def judge(
    decoded: DecodedRequest, findings: list[Finding], policy: Policy, context: ReviewContext
) -> PolicyDecision:
    """The verdict for `findings` (the rules' findings, before overrides) under `policy`.

    The decision's findings are the policy's own (`policy.*`, `address.blocklisted`); show the rules'
    findings through `effective_findings` so their overridden severities are what the user sees.
    """
    spec = policy.spec
    verdict: Verdict = spec.default
    decided_by = policy.rule("default")
    best = (VERDICT_RANK[verdict], -1)
    for finding in effective_findings(findings, policy):
        outcome = spec.verdicts.for_severity(finding.severity)
        if outcome == "allow":
            continue  # a finding that allows decides nothing: the policy's default does
        rank = (VERDICT_RANK[outcome], finding.severity.rank)
        if rank > best:
            best, verdict, decided_by = rank, outcome, f"finding:{finding.id}"
    hits = policy_hits(decoded, policy, context)
    for hit in hits:
        rank = (VERDICT_RANK[hit.action], hit.finding.severity.rank)
        if rank > best:
            best, verdict, decided_by = rank, hit.action, hit.rule
    return PolicyDecision(
        verdict=verdict, decided_by=decided_by, findings=[h.finding for h in hits], policy_name=policy.name
    )


def policy_hits(decoded: DecodedRequest, policy: Policy, context: ReviewContext) -> list[RuleHit]:
    """Every policy rule this request breaks."""
    hits: list[RuleHit] = []
    hits += _chain_hits(decoded, policy)
    hits += _address_hits(decoded, policy)
    hits += _gas_hits(decoded, policy, context)
    spec = policy.spec
    uses_value = (
        spec.limits.tx_usd is not None or spec.limits.daily_usd is not None or bool(spec.limits.assets)
    )
    if uses_value or spec.confirm.above_usd is not None or spec.confirm.above_native is not None:
        hits += _value_hits(decoded, policy, context)
    if spec.confirm.new_address_above_native is not None or spec.confirm.new_address_above_usd is not None:
        hits += _new_address_hits(decoded, policy, context)
    if (
        spec.approvals.max_usd is not None
        or spec.approvals.max_amount
        or spec.approvals.max_permit_days is not None
    ):
        hits += _approval_hits(decoded, policy, context)
    return hits


def _hit(
    policy: Policy,
    rule: str,
    action: Verdict,
    finding_id: str,
    severity: Severity,
    title: str,
    evidence: str,
    location: str | None = None,
) -> RuleHit:
    finding = Finding(id=finding_id, severity=severity, title=title, evidence=evidence, location=location)
    return RuleHit(policy.rule(rule), action, finding)


def _chain_hits(decoded: DecodedRequest, policy: Policy) -> list[RuleHit]:
    """The request's chain, and the chain a Sign-In-With-Ethereum message signs in to, must be allowed;
    typed data that signs no chain is valid on every one, so it needs at least a confirmation."""
    allowed = policy.spec.chains.allowed
    if not allowed:
        return []
    stated = (("the request is for", request_chain_id(decoded), None), ("the SIWE message signs in on", siwe_chain_id(decoded), "message"))
    anywhere: list[RuleHit] = []
    if decoded.typed_data is not None and decoded.typed_data.chain_id is None:
        # Valid on every chain, those outside the list too, and on those in it: a question, not a refusal.
        anywhere.append(
            _hit(
                policy,
                "chains.allowed",
                "confirm",
                "policy.chain_not_allowed",
                Severity.HIGH,
                "Chain not allowed by your policy",
                f"the typed data names no chain, so it is valid on every chain; the policy allows {', '.join(map(str, allowed))}",
                "typed_data.domain",
            )
        )
    return anywhere + [
        _hit(
            policy,
            "chains.allowed",
            policy.spec.chains.action,
            "policy.chain_not_allowed",
            Severity.HIGH,
            "Chain not allowed by your policy",
            f"{what} chain {chain_id}; the policy allows {', '.join(map(str, allowed))}",
            where,
        )
        for what, chain_id, where in stated
        if chain_id is not None and chain_id not in allowed
    ]


def _address_hits(decoded: DecodedRequest, policy: Policy) -> list[RuleHit]:
    hits: list[RuleHit] = []
    seen: set[tuple[str, str]] = set()
    named = named_addresses(decoded) if policy.blocklist or policy.denied_addresses else []
    denials = (
        (
            "deny.blocklist",
            policy.blocklist,
            "address.blocklisted",
            "Known drainer address (your blocklist)",
            policy.spec.deny.blocklist,
        ),
        (
            "deny.addresses",
            policy.denied_addresses,
            "policy.denied_address",
            "Address denied by your policy",
            "deny.addresses",
        ),
    )
    for address, where in named:
        lower = address.lower()
        for rule, listed, finding_id, title, source in denials:
            if lower in listed and (rule, lower) not in seen:
                seen.add((rule, lower))
                evidence = f"{address} at {where} is in {source}"
                hits.append(
                    _hit(policy, rule, "block", finding_id, Severity.CRITICAL, title, evidence, where)
                )
    calls = decoded.all_calls()
    targets = [(c.to, c.path) for c in calls if c.to]
    if decoded.typed_data and decoded.typed_data.verifying_contract:
        targets.append((decoded.typed_data.verifying_contract, "typed_data.domain"))
    for target, where in targets:
        if target.lower() in policy.denied_contracts and ("contract", target.lower()) not in seen:
            seen.add(("contract", target.lower()))
            hits.append(
                _hit(
                    policy,
                    "deny.contracts",
                    "block",
                    "policy.denied_address",
                    Severity.CRITICAL,
                    "Contract denied by your policy",
                    f"{target} at {where} is in deny.contracts",
                    where,
                )
            )
    for call in calls:
        if call.selector is None:
            continue
        if call.function in policy.denied_signatures or call.selector.lower() in policy.denied_selectors:
            hits.append(
                _hit(
                    policy,
                    "deny.functions",
                    "block",
                    "policy.denied_function",
                    Severity.CRITICAL,
                    "Function denied by your policy",
                    f"{call.function or call.selector} on {call.to} at {call.path} is in deny.functions",
                    call.path,
                )
            )
    if policy.spec.allow.only:
        hits += _allow_only_hits(decoded, policy, targets)
    return hits


def _not_allowlisted(policy: Policy, what: str, evidence: str, where: str) -> RuleHit:
    """`allow.only`: anything not on the allow list needs the human."""
    return _hit(
        policy,
        "allow.only",
        "confirm",
        "policy.not_allowlisted",
        Severity.MEDIUM,
        f"{what} not on your allow list",
        evidence,
        where,
    )


def _allow_only_hits(
    decoded: DecodedRequest, policy: Policy, targets: list[tuple[str, str]]
) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for target, where in targets:
        if target.lower() not in policy.allowed_contracts:
            hits.append(
                _not_allowlisted(
                    policy,
                    "Contract",
                    f"{target} at {where} is not in allow.contracts or allow.addresses",
                    where,
                )
            )
    if policy.allowed_signatures or policy.allowed_selectors:
        for call in decoded.all_calls():
            if (
                call.selector
                and call.function not in policy.allowed_signatures
                and call.selector.lower() not in policy.allowed_selectors
            ):
                hits.append(
                    _not_allowlisted(
                        policy,
                        "Function",
                        f"{call.function or call.selector} at {call.path} is not in allow.functions",
                        call.path,
                    )
                )
    return hits


def _gas_hits(decoded: DecodedRequest, policy: Policy, context: ReviewContext) -> list[RuleHit]:
    tx = decoded.transaction
    gas = policy.spec.gas
    if tx is None:
        return []
    fee = tx.max_fee_per_gas if tx.max_fee_per_gas is not None else tx.gas_price
    if fee is None:
        return []
    reasons: list[str] = []
    severity = Severity.MEDIUM
    if gas.max_fee_gwei is not None and fee > gas.max_fee_gwei * GWEI:
        reasons.append(
            f"a fee of {Decimal(fee) / GWEI:f} gwei per gas is above the policy's {gas.max_fee_gwei} gwei"
        )
    if gas.max_fee_native is not None and tx.gas is not None and tx.gas * fee > gas.max_fee_native * WEI:
        severity = Severity.HIGH
        symbol = native_symbol(tx.chain_id, POLICY_UNKNOWN_NATIVE)
        reasons.append(
            f"up to {Decimal(tx.gas * fee) / WEI:f} {symbol} in fees (gas {tx.gas} x {Decimal(fee) / GWEI:f} gwei) "
            f"is above the policy's {gas.max_fee_native} {symbol}"
        )
    base = context.chain.base_fee
    if (
        base
        and gas.max_base_fee_multiple is not None
        and fee > base * gas.max_base_fee_multiple
        and fee - base > GAS_FLOOR_GWEI * GWEI
    ):
        reasons.append(
            f"{Decimal(fee) / GWEI:f} gwei is over {gas.max_base_fee_multiple}x the node's base fee of {Decimal(base) / GWEI:f} gwei"
        )
    if not reasons:
        return []
    return [
        _hit(
            policy,
            "gas",
            gas.action,
            "policy.gas_abnormal",
            severity,
            "Abnormal gas fee",
            "; ".join(reasons),
            "transaction",
        )
    ]


def _value_hits(decoded: DecodedRequest, policy: Policy, context: ReviewContext) -> list[RuleHit]:
    spends = spend_of(decoded, load_prices(), context.chain.tokens)
    hits = check_spend(policy, spends, None)
    confirm = policy.spec.confirm
    native = native_symbol(request_chain_id(decoded), POLICY_UNKNOWN_NATIVE)
    native_units = sum((s.units or Decimal(0) for s in spends if s.asset == native), Decimal(0))
    if confirm.above_native is not None and native_units > confirm.above_native:
        hits.append(
            _hit(
                policy,
                "confirm.above_native",
                "confirm",
                "policy.value_over_limit",
                Severity.MEDIUM,
                "Above your confirmation threshold",
                f"{native_units.normalize():f} {native} sent; the policy confirms above {confirm.above_native} {native}",
            )
        )
    if confirm.above_usd is not None and spends:
        if any(s.usd is None for s in spends):
            if not any(h.finding.id == "policy.price_unknown" for h in hits):
                unpriced = ", ".join(s.describe() for s in spends if s.usd is None)
                hits.append(
                    _hit(
                        policy,
                        "confirm.above_usd",
                        "confirm",
                        "policy.price_unknown",
                        Severity.MEDIUM,
                        "Value unknown: no local price for an asset this request spends",
                        f"{unpriced}: cannot compare with the policy's {confirm.above_usd} USD threshold; "
                        "add the asset to prices.toml in the config dir",
                    )
                )
        else:
            total = sum((s.usd or Decimal(0)) for s in spends)
            if total > confirm.above_usd:
                hits.append(
                    _hit(
                        policy,
                        "confirm.above_usd",
                        "confirm",
                        "policy.value_over_limit",
                        Severity.MEDIUM,
                        "Above your confirmation threshold",
                        f"this request is worth ≈ {total:.2f} USD{prices_note(spends)}; the policy confirms above {confirm.above_usd} USD",
                    )
                )
    return hits


def _new_address_hits(decoded: DecodedRequest, policy: Policy, context: ReviewContext) -> list[RuleHit]:
    """`confirm.new_address_*`: a payment to an address never dealt with before, above the policy's
    native or USD threshold; a token without a price by its count or its share of your balance."""
    paid = payments(decoded)
    if not paid:
        return []
    from copilot.risk.facts import Facts  # its per-context index knows history, book and allow list

    facts = Facts.of(decoded, context)
    prices = load_prices()
    hits: list[RuleHit] = []
    for payment in paid:
        if facts.seen_before(payment.recipient):
            continue
        spend = payment_spend(payment, facts.chain_id, prices, context.chain.tokens)
        over = _new_address_excess(payment, spend, policy, facts)
        if over:
            rule, threshold = over
            hits.append(
                _hit(
                    policy,
                    rule,
                    "confirm",
                    "policy.value_over_limit",
                    Severity.MEDIUM,
                    "Above your confirmation threshold for a new address",
                    f"{spend.describe()} to {payment.recipient}, an address you never dealt with before; "
                    f"the policy confirms {threshold}",
                    payment.location,
                )
            )
    return hits


def _new_address_excess(payment: Payment, spend: Spend, policy: Policy, facts: Facts) -> tuple[str, str] | None:
    """(the rule, what it asks about) when this payment to a new address needs the human."""
    confirm = policy.spec.confirm
    units = spend.units
    native_limit = confirm.new_address_above_native
    if payment.token is None and native_limit is not None and units is not None and units > native_limit:
        return "confirm.new_address_above_native", f"above {native_limit} {spend.symbol} to new addresses"
    if confirm.new_address_above_usd is None:
        return None
    if spend.usd is not None:
        if spend.usd > confirm.new_address_above_usd:
            return "confirm.new_address_above_usd", f"above {confirm.new_address_above_usd} USD to new addresses"
        return None
    if payment.token is None:
        return None  # an unknown chain's coin: the native threshold above is the one that applies
    many = confirm.new_address_unpriced_tokens
    if units is not None and units >= many:
        return "confirm.new_address_unpriced_tokens", f"payments of {many} or more unpriced tokens to new addresses"
    share = confirm.new_address_balance_share
    balance = facts.token_balance(facts.user, payment.token)
    if balance is not None:
        if payment.amount >= balance * share:
            return (
                "confirm.new_address_balance_share",
                f"payments of {(share * 100).normalize():f}% or more of your balance ({balance} base units, per your node) to new addresses",
            )
        return None
    if units is None:
        return (
            "confirm.new_address_unpriced_tokens",
            f"payments of {many} or more unpriced tokens to new addresses, and this token's decimals are "
            "unknown (with --rpc your node tells them, and your balance)",
        )
    return None


def _approval_hits(decoded: DecodedRequest, policy: Policy, context: ReviewContext) -> list[RuleHit]:
    rules = policy.spec.approvals
    prices = load_prices() if rules.max_usd is not None else None
    chain_id = request_chain_id(decoded)
    hits: list[RuleHit] = []
    for grant in approvals(decoded):
        if grant.amount and grant.token:
            over = _approval_excess(grant.token, grant.amount, chain_id, policy, prices, context)
            if over:
                rule, text = over
                hits.append(
                    _hit(
                        policy,
                        rule,
                        rules.action,
                        "policy.approval_over_max",
                        Severity.MEDIUM,
                        "Approval above your policy's maximum",
                        f"approval to {grant.spender}: {text}",
                        grant.location,
                    )
                )
        if rules.max_permit_days is not None and grant.has_expiry:
            limit = int(rules.max_permit_days * 86400)
            if grant.expiry is None or grant.expiry - context.now > limit:
                lifetime = (
                    "never expires"
                    if grant.expiry is None
                    else f"is valid for {(grant.expiry - context.now) / 86400:.1f} days"
                )
                hits.append(
                    _hit(
                        policy,
                        "approvals.max_permit_days",
                        rules.action,
                        "policy.permit_lifetime",
                        Severity.MEDIUM,
                        "Permit lifetime above your policy's maximum",
                        f"the permit for {grant.spender} {lifetime}; the policy allows {rules.max_permit_days} days",
                        grant.location,
                    )
                )
    return hits


def _approval_excess(
    token: str,
    amount: int,
    chain_id: int | None,
    policy: Policy,
    prices: PriceTable | None,
    context: ReviewContext,
) -> tuple[str, str] | None:
    rules = policy.spec.approvals
    meta = token_meta(token, chain_id, context.chain.tokens)
    symbol = meta.symbol if meta else token
    unlimited = amount >= EFFECTIVELY_UNLIMITED
    units = Decimal(amount).scaleb(-meta.decimals) if meta else None
    for key, maximum in rules.max_amount.items():
        matches = key.lower() == token.lower() or (meta is not None and key.upper() == meta.symbol.upper())
        if matches and (unlimited or units is None or units > maximum):
            shown = (
                "unlimited"
                if unlimited
                else (f"{units.normalize():f}" if units is not None else f"{amount} base units of")
            )
            return (
                f"approvals.max_amount.{key}",
                f"{shown} {symbol} is above the maximum of {maximum} {symbol}",
            )
    if rules.max_usd is not None and prices is not None:
        if unlimited:
            return "approvals.max_usd", f"unlimited {symbol} is above the maximum of {rules.max_usd} USD"
        quote = prices.quote(address=token, symbol=meta.symbol if meta else None)
        if quote is not None and units is not None and units * quote.usd > rules.max_usd:
            return (
                "approvals.max_usd",
                f"{units.normalize():f} {symbol} (≈ {units * quote.usd:.2f} USD{dated(quote.as_of)}) is above the "
                f"maximum of {rules.max_usd} USD",
            )
    return None
