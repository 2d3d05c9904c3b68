"""Compare a parsed intent with the decoded request and, where it ran, the simulation.

What the request does is read into `Effects` (what leaves the wallet, who is paid, what is approved,
what a swap delivers and to whom, delegations); the intent says which of those it expects. Anything
else is a mismatch. The outcome `blocks` when the asset or a party differs, or something the intent
does not mention leaves the wallet or is granted; an amount that differs alone is a plain mismatch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from copilot.decoding.calldata import swap_output
from copilot.decoding.registry import known_contract
from copilot.decoding.tokens import format_amount, format_native, is_unlimited, lookup_token
from copilot.intent.schema import NATIVE, IntentAsset, IntentCheck, IntentParty, ParsedIntent
from copilot.models import CallStatus, DecodedRequest, Finding, RequestKind, ReviewContext, Verdict
from copilot.policy.addresses import is_address, to_checksum
from copilot.policy.extract import approvals, request_chain_id, request_sender, to_int
from copilot.policy.spend import payments, spend_of

_UNREADABLE = (CallStatus.UNKNOWN, CallStatus.AMBIGUOUS, CallStatus.UNDECODABLE, CallStatus.TRUNCATED)
# Universal Router recipients: MSG_SENDER (the signer) and ADDRESS_THIS (the router keeps it for a later step)
_MSG_SENDER = "0x0000000000000000000000000000000000000001"
_ADDRESS_THIS = "0x0000000000000000000000000000000000000002"
_ETH_IN_SWAPS = frozenset({"swapExactETHForTokens", "swapETHForExactTokens", "swapExactETHForTokensSupportingFeeOnTransferTokens"})
_DEPOSIT_TAGS = {"stake": "staking", "bridge": "bridge"}


@dataclass
class Grant:
    token: str  # lowercase
    spender: str  # lowercase
    amount: int | None  # None: an operator grant for a whole collection
    location: str


@dataclass
class Effects:
    """What the request does to the signer's wallet, every address lowercase ("native": the coin)."""

    user: str
    outflows: dict[str, int] = field(default_factory=dict)  # asset -> base units leaving the wallet
    paid: list[tuple[str, str, int]] = field(default_factory=list)  # (asset, recipient, amount)
    grants: list[Grant] = field(default_factory=list)
    outputs: list[tuple[str, int, str]] = field(default_factory=list)  # swaps: (asset, least, recipient)
    delegations: list[str] = field(default_factory=list)
    targets: set[str] = field(default_factory=set)  # every contract the request calls
    unreadable: list[str] = field(default_factory=list)  # parts no decoder here reads
    simulated_in: dict[str, int] | None = None  # the simulation's credits to the wallet, when it ran


def check_sentence(text: str, decoded: DecodedRequest, context: ReviewContext) -> IntentCheck:
    """Parse `text` for the request's chain with the user's address book, then compare."""
    from copilot.intent.parse import IntentError, parse_intent

    chain_id = request_chain_id(decoded) or context.wallet_chain_id or context.chain.chain_id
    try:
        parsed = parse_intent(text, chain_id, context.address_book)
    except IntentError as exc:
        return IntentCheck(text=text, outcome="unverifiable", reasons=[str(exc)])
    return check_intent(text, parsed, decoded, context)


def intent_finding(check: IntentCheck) -> Finding:
    """intent.match (info), intent.mismatch (high) or intent.unverifiable, with the parsed form as evidence."""
    from copilot.risk.catalogue import finding

    said = f'"{check.text}" read as: {check.parsed.describe()}' if check.parsed else f'"{check.text}"'
    if check.outcome == "match":
        return finding("intent.match", f"{said}; the request does exactly that", "intent")
    return finding(f"intent.{check.outcome}", f"{said}; " + "; ".join(check.reasons), "intent")


def intent_floor(check: IntentCheck) -> tuple[Verdict, str] | None:
    """The verdict the outcome demands at least, and what decided it: a blocking mismatch blocks, any
    other mismatch or an unverifiable intent asks for confirmation; a match demands nothing."""
    if check.outcome == "match":
        return None
    return ("block" if check.blocks else "confirm"), f"finding:intent.{check.outcome}"


def check_intent(text: str, parsed: ParsedIntent, decoded: DecodedRequest, context: ReviewContext) -> IntentCheck:
    """The outcome of comparing `parsed` with what the request (and its simulation) does."""
    if parsed.problems:
        unknown_party = parsed.counterparty is not None and parsed.counterparty.source == "unresolved"
        if unknown_party and len(parsed.problems) == 1:
            # Who the payee is cannot be told, but another asset or an extra grant still can: compare
            # the rest, and let a mismatch there stand (it may block) rather than ask "cannot verify".
            rest = check_intent(text, parsed.model_copy(update={"counterparty": None, "problems": []}), decoded, context)
            if rest.outcome == "mismatch":
                return rest.model_copy(update={"parsed": parsed, "reasons": rest.reasons + parsed.problems})
        return IntentCheck(text=text, parsed=parsed, outcome="unverifiable", reasons=list(parsed.problems))
    effects = read_effects(decoded, context)
    check = _Comparison(parsed, effects, decoded, context)
    _CHECKS[parsed.action](check)
    if check.mismatches:
        return IntentCheck(text=text, parsed=parsed, outcome="mismatch", reasons=check.mismatches, blocks=check.blocks)
    if check.unverifiable:
        return IntentCheck(text=text, parsed=parsed, outcome="unverifiable", reasons=check.unverifiable)
    return IntentCheck(text=text, parsed=parsed, outcome="match")


def read_effects(decoded: DecodedRequest, context: ReviewContext) -> Effects:
    user = (request_sender(decoded) or context.user or "").lower()
    effects = Effects(user=user)
    for spend in spend_of(decoded):
        asset = spend.asset.lower() if is_address(spend.asset) else NATIVE
        effects.outflows[asset] = effects.outflows.get(asset, 0) + spend.amount
    effects.paid = [(p.token.lower() if p.token else NATIVE, p.recipient.lower(), p.amount) for p in payments(decoded)]
    effects.grants = [
        Grant(g.token.lower(), g.spender.lower(), g.amount, g.location)
        for g in approvals(decoded)
        if g.token and g.spender
    ]
    if decoded.transaction:
        effects.delegations += [a.address.lower() for a in decoded.transaction.authorization_list]
    for call in decoded.all_calls():
        if call.to:
            effects.targets.add(call.to.lower())
        if call.status in _UNREADABLE:
            effects.unreadable.append(f"the call at {call.path} is not decoded")
        values = [p.value for p in call.params]
        if call.function == "setApprovalForAll(address,bool)" and len(values) == 2 and call.to and is_address(values[0]):
            effects.grants.append(Grant(call.to.lower(), values[0].lower(), None if values[1] else 0, call.path))
        elif call.name == "delegate" and values and is_address(values[0]):
            effects.delegations.append(values[0].lower())
        scope = {p.name: p.value for p in call.params}
        output = swap_output(call)
        if output is not None:
            token, least, recipient = output
            effects.outputs.append((token.lower(), least, _recipient(recipient, call.to, user)))
        elif call.name in _ETH_IN_SWAPS and isinstance(scope.get("path"), list) and scope["path"]:
            least = to_int(scope.get("amountOutMin", scope.get("amountOut"))) or 0
            effects.outputs.append((str(scope["path"][-1]).lower(), least, _recipient(scope.get("to"), call.to, user)))
        elif call.to and _wraps_native(call.to, decoded) and call.name in ("deposit", "withdraw"):
            # WETH: deposit() turns the ETH sent into WETH, withdraw(wad) WETH back into ETH, both for the caller
            wrapped = call.to.lower()
            if call.name == "deposit":
                effects.outputs.append((wrapped, call.value, user))
            else:
                amount = to_int(values[0]) if values else 0
                effects.outputs.append((NATIVE, amount or 0, user))
                effects.outflows[wrapped] = effects.outflows.get(wrapped, 0) + (amount or 0)
        elif call.name in ("unwrapWETH9", "UNWRAP_WETH"):
            least, recipient = to_int(scope.get("amountMinimum", scope.get("amountMin"))) or 0, scope.get("recipient")
            effects.outputs.append((NATIVE, least, _recipient(recipient if isinstance(recipient, str) else None, call.to, user)))
    _read_typed(decoded, effects)
    _read_simulation(context, effects)
    return effects


def _wraps_native(address: str, decoded: DecodedRequest) -> bool:
    known = known_contract(address, request_chain_id(decoded))
    return known is not None and "weth" in known.abi


def _recipient(recipient: str | None, router: str | None, user: str) -> str:
    """Who a swap step pays: the signer for "the caller", the router itself for an intermediate step."""
    if recipient is None or recipient.lower() in (_MSG_SENDER, "0x" + "00" * 20):
        return user
    if recipient.lower() == _ADDRESS_THIS:
        return (router or _ADDRESS_THIS).lower()
    return recipient.lower()


def _read_typed(decoded: DecodedRequest, effects: Effects) -> None:
    typed = decoded.typed_data
    if typed is not None:
        for order in typed.orders:
            if not order.complete:
                effects.unreadable.append(f"part of the {order.protocol} order is not read")
            receiver = (order.receiver or effects.user).lower()
            for item in order.give:
                asset = (item.token or NATIVE).lower() if item.kind != "native" else NATIVE
                effects.outflows[asset] = effects.outflows.get(asset, 0) + item.amount
            effects.outputs += [
                ((item.token or NATIVE).lower() if item.kind != "native" else NATIVE, item.amount, receiver)
                for item in order.take
            ]
        readable = typed.orders or typed.calls or effects.grants or typed.standard in ("permit", "permit2", "login")
        if not readable:
            effects.unreadable.append(f"the typed data {typed.primary_type} is no standard this check reads")
    if decoded.request.kind == RequestKind.HASH:
        effects.unreadable.append("a raw hash shows nothing of what it authorises")


def _read_simulation(context: ReviewContext, effects: Effects) -> None:
    """A simulation that ran replaces guesses about unreadable parts with what actually moved."""
    report = context.simulation
    if report is None or report.status != "simulated" or report.reverted:
        return
    effects.unreadable = []
    effects.simulated_in = {}
    for change in report.account_changes():
        asset = change.asset.lower() if change.asset != "native" else NATIVE
        gas = (report.gas_cost or 0) if asset == NATIVE else 0  # measured native balances include the fee
        if change.amount < 0 and -change.amount > gas:
            effects.outflows[asset] = max(effects.outflows.get(asset, 0), -change.amount - gas)
        elif change.amount > 0:
            effects.simulated_in[asset] = effects.simulated_in.get(asset, 0) + change.amount
    known = {(g.token, g.spender) for g in effects.grants}
    effects.grants += [
        Grant(g.token.lower(), g.spender.lower(), g.amount if g.kind != "operator" else (None if g.approved else 0), "simulation")
        for g in report.approvals
        if (g.token.lower(), g.spender.lower()) not in known
    ]


class _Comparison:
    def __init__(self, parsed: ParsedIntent, effects: Effects, decoded: DecodedRequest, context: ReviewContext) -> None:
        self.parsed = parsed
        self.effects = effects
        self.decoded = decoded
        self.context = context
        self.chain_id = request_chain_id(decoded) or parsed.chain_id
        self.mismatches: list[str] = []
        self.unverifiable: list[str] = list(effects.unreadable)
        self.blocks = False

    # -- outcomes

    def differs(self, reason: str, *, blocks: bool = True) -> None:
        self.mismatches.append(reason)
        self.blocks = self.blocks or blocks

    def cannot(self, reason: str) -> None:
        self.unverifiable.append(reason)

    # -- words

    def amount(self, asset: str, amount: int) -> str:
        if asset == NATIVE:
            return format_native(amount, self.chain_id)
        token = lookup_token(asset, self.chain_id)
        return format_amount(amount, token) + ("" if token else f" of {to_checksum(asset)}")

    def who(self, address: str) -> str:
        label = next((name for a, name in self.context.address_book.items() if a.lower() == address), None)
        known = known_contract(address, self.chain_id)
        name = label or (known.label if known else None)
        return f"{name} ({to_checksum(address)})" if name else to_checksum(address)

    # -- shared checks

    def asset_key(self, asset: IntentAsset | None) -> str | None:
        if asset is None:
            return None
        return asset.address.lower() if asset.address and asset.address != NATIVE else asset.address

    def intended_units(self, asset: IntentAsset | None) -> int | None:
        """The intent's amount in base units; None when it states none, or "all"/"max" without a balance."""
        parsed = self.parsed
        if parsed.amount_kind == "exact" and parsed.amount is not None and asset is not None and asset.decimals is not None:
            units = parsed.amount.scaleb(asset.decimals)
            if units != units.to_integral_value():
                self.differs(f"{parsed.amount:f} {asset.symbol} has more decimals than {asset.symbol}'s {asset.decimals}", blocks=False)
                return None
            return int(units)
        if parsed.amount_kind in ("all", "max") and asset is not None:  # an approval reads "max" as unlimited itself
            balance = self.balance(self.asset_key(asset) or "")
            if balance is None:
                self.cannot(f'"{parsed.amount_kind}" needs your {asset.symbol} balance from your node (--rpc)')
            return balance
        return None

    def balance(self, asset: str) -> int | None:
        holders = {h.lower(): b for h, b in self.context.chain.balances.items()}
        balances = holders.get(self.effects.user, {})
        for key, value in balances.items():
            if key.lower() == asset:
                return int(value)
        return None

    def party_ok(self, party: IntentParty | None, address: str) -> bool:
        if party is None:
            return True
        return address in {a.lower() for a in party.addresses}

    def own(self, address: str) -> bool:
        return address == self.effects.user or address in {a.lower() for a in self.context.own_addresses}

    def extra_outflows(self, allowed: set[str]) -> None:
        for asset, amount in self.effects.outflows.items():
            if asset not in allowed:
                self.differs(f"{self.amount(asset, amount)} also leaves your wallet, which the intent does not mention")

    def extra_grants(self, allowed: Callable[[Grant], bool] = lambda grant: False) -> None:
        for grant in self.effects.grants:
            if grant.amount == 0 or allowed(grant):
                continue
            what = "every item of " + self.who(grant.token) if grant.amount is None else self.amount(grant.token, grant.amount)
            self.differs(f"it also approves {self.who(grant.spender)} to spend {what}")

    def extra_delegations(self) -> None:
        for delegate in self.effects.delegations:
            self.differs(f"it also delegates your account or votes to {self.who(delegate)}")

    def exact(self, what: str, asset: str, got: int, want: int | None) -> None:
        if want is not None and got != want:
            self.differs(f"{what} {self.amount(asset, got)}, not {self.amount(asset, want)}", blocks=False)


def _send(check: _Comparison) -> None:
    parsed, effects = check.parsed, check.effects
    asset = check.asset_key(parsed.asset)
    if asset is None:
        check.cannot("the intent names no asset to send")
        return
    want = check.intended_units(parsed.asset)
    sent = [(a, r, n) for a, r, n in effects.paid if a == asset]
    for other, recipient, amount in effects.paid:
        if other != asset:
            check.differs(f"it sends {check.amount(other, amount)} to {check.who(recipient)}, not {parsed.asset.symbol if parsed.asset else ''}")
    if not sent:
        if effects.unreadable or effects.paid:
            return
        check.differs(f"the request sends no {parsed.asset.symbol if parsed.asset else asset}")
        return
    for _, recipient, _amount in sent:
        if not check.party_ok(parsed.counterparty, recipient):
            check.differs(f"it pays {check.who(recipient)}, not {_party(parsed.counterparty)}")
    check.exact("it sends", asset, sum(n for _, _, n in sent), want)
    check.extra_outflows({asset})
    check.extra_grants()
    check.extra_delegations()


def _swap(check: _Comparison) -> None:
    parsed, effects = check.parsed, check.effects
    given, wanted = check.asset_key(parsed.asset), check.asset_key(parsed.output)
    if (parsed.action == "swap" and given is None) or wanted is None:
        check.cannot("the intent names no token to " + ("sell" if wanted else "buy"))
        return
    routers = {a.lower() for a in parsed.protocol.addresses} if parsed.protocol else None
    if routers is not None:
        for target in effects.targets - {given or "", wanted}:
            if target not in routers and target not in (given, wanted) and _is_swap_target(check, target):
                check.differs(f"the swap goes through {check.who(target)}, not {_party(parsed.protocol)}")
    if given is not None:
        paid = effects.outflows.get(given, 0)
        if not paid:
            if not effects.unreadable:
                check.differs(f"the request spends no {parsed.asset.symbol if parsed.asset else given}")
        elif parsed.action == "swap":
            check.exact("it spends", given, paid, check.intended_units(parsed.asset))
        check.extra_outflows({given})
    final = [(a, n, r) for a, n, r in effects.outputs if r not in effects.targets]  # not an intermediate step
    if not final and not effects.unreadable:
        check.differs("the request shows no swap output")
    for asset, least, recipient in final:
        if asset != wanted:
            check.differs(f"the swap delivers {check.amount(asset, least)}, not {parsed.output.symbol if parsed.output else wanted}")
        elif not check.own(recipient):
            check.differs(f"the swap's output goes to {check.who(recipient)}, not to you")
        elif parsed.action == "buy":
            want = check.intended_units(parsed.output)
            if want is not None and least < want:
                check.differs(f"the swap guarantees only {check.amount(asset, least)}, not {check.amount(asset, want)}", blocks=False)
    if effects.simulated_in is not None and not effects.simulated_in.get(wanted or ""):
        check.differs(f"the simulation credits you no {parsed.output.symbol if parsed.output else wanted}")

    def serves_the_swap(grant: Grant) -> bool:
        if grant.token != given or not _spends_for_you(check, grant.spender, routers):
            return False
        if grant.amount is None or (given in effects.outflows and grant.amount > effects.outflows[given] and not is_unlimited(grant.amount)):
            return False
        if grant.amount is not None and is_unlimited(grant.amount):
            check.differs(f"it approves {check.who(grant.spender)} for unlimited {parsed.asset.symbol if parsed.asset else ''}, more than the swap needs", blocks=False)
        return True

    check.extra_grants(serves_the_swap)
    check.extra_delegations()


def _is_swap_target(check: _Comparison, target: str) -> bool:
    known = known_contract(target, check.chain_id)
    return known is None or not known.tags <= {"token"}


def _spends_for_you(check: _Comparison, spender: str, routers: set[str] | None) -> bool:
    if routers is not None:
        return spender in routers
    known = known_contract(spender, check.chain_id)
    return known is not None and not known.tags.isdisjoint({"router", "spender"})


def _approve(check: _Comparison) -> None:
    parsed, effects = check.parsed, check.effects
    token = check.asset_key(parsed.asset)
    revoke = parsed.action == "revoke"
    if token is None or (parsed.counterparty is None and not revoke):
        check.cannot("the intent names no " + ("token" if token is None else "spender"))
        return
    mine = [g for g in effects.grants if g.token == token]
    for grant in effects.grants:
        if grant.token != token and (grant.amount != 0 or not revoke):
            check.differs(f"it approves {check.who(grant.token)}, not {parsed.asset.symbol if parsed.asset else token}")
    if not mine and not effects.unreadable:
        check.differs(f"the request {'revokes' if revoke else 'approves'} no {parsed.asset.symbol if parsed.asset else token}")
    for grant in mine:
        if not check.party_ok(parsed.counterparty, grant.spender):
            check.differs(f"the spender is {check.who(grant.spender)}, not {_party(parsed.counterparty)}")
        if revoke:
            if grant.amount != 0:
                check.differs(f"it grants {check.who(grant.spender)} an allowance instead of revoking it")
        elif parsed.amount_kind == "max":
            if grant.amount is not None and not is_unlimited(grant.amount):
                check.differs(f"it approves {check.amount(token, grant.amount)}, not unlimited", blocks=False)
        elif grant.amount is not None:
            want = check.intended_units(parsed.asset)
            if want is None and parsed.amount_kind == "none":
                check.cannot(f"the intent states no amount; the request approves {check.amount(token, grant.amount)}")
            check.exact("it approves", token, grant.amount, want)
    check.extra_outflows(set())
    check.extra_delegations()


def _sign_in(check: _Comparison) -> None:
    message = check.decoded.message
    siwe = message.siwe if message else None
    if siwe is None:
        if message is not None and check.decoded.request.kind == RequestKind.PERSONAL_MESSAGE:
            check.cannot("the message is not a Sign-In-With-Ethereum message")
        else:
            check.differs(f"signing in is a message signature; this request is a {check.decoded.request.kind.value.replace('_', ' ')}")
        return
    domain = check.parsed.domain
    stated = siwe.get("domain", "").lower()
    if domain and stated != domain and not stated.endswith("." + domain):
        check.differs(f"the sign-in is for {stated or 'no domain'}, not {domain}")


def _mint(check: _Comparison) -> None:
    parsed, effects = check.parsed, check.effects
    price_asset = check.asset_key(parsed.asset)
    for asset, amount in effects.outflows.items():
        if asset != price_asset:
            if asset == NATIVE and price_asset is None:
                check.cannot(f"the mint costs {check.amount(asset, amount)}; say the price (\"mint for … ETH\") to verify it")
            else:
                check.differs(f"{check.amount(asset, amount)} leaves your wallet, which the intent does not mention")
        else:
            check.exact("the mint costs", asset, amount, check.intended_units(parsed.asset))
    if parsed.protocol is not None:
        for target in effects.targets:
            if not check.party_ok(parsed.protocol, target):
                check.differs(f"it calls {check.who(target)}, not {_party(parsed.protocol)}")
    calls = check.decoded.all_calls()
    if not any("mint" in (c.name or "").lower() or "claim" in (c.name or "").lower() for c in calls) and not effects.unreadable:
        check.cannot("no call in the request is a mint")
    check.extra_grants()
    check.extra_delegations()


def _deposit(check: _Comparison) -> None:
    """stake / bridge: the stated amount goes to a staking (bridge) contract, or the named protocol's."""
    parsed, effects = check.parsed, check.effects
    asset = check.asset_key(parsed.asset)
    if asset is None:
        check.cannot(f"the intent names nothing to {parsed.action}")
        return
    tag = _DEPOSIT_TAGS[parsed.action]
    protocol = {a.lower() for a in parsed.protocol.addresses} if parsed.protocol else None

    def destined(address: str) -> bool:
        if protocol is not None:
            return address in protocol
        known = known_contract(address, check.chain_id)
        return known is not None and tag in known.tags

    sent = effects.outflows.get(asset, 0)
    if not sent and not effects.unreadable:
        check.differs(f"the request {parsed.action}s no {parsed.asset.symbol if parsed.asset else asset}")
    elif sent:
        check.exact(f"it {parsed.action}s", asset, sent, check.intended_units(parsed.asset))
    for target in effects.targets - {asset}:
        if not destined(target):
            check.differs(f"it goes to {check.who(target)}, which is not a known {tag} contract" + (f" of {_party(parsed.protocol)}" if parsed.protocol else ""))
    for _, recipient, _amount in effects.paid:
        if recipient not in effects.targets and not destined(recipient):
            check.differs(f"it pays {check.who(recipient)}, not a {tag} contract")
    check.extra_outflows({asset})
    check.extra_grants(lambda grant: grant.token == asset and destined(grant.spender) and grant.amount is not None and grant.amount <= sent)
    check.extra_delegations()


def _delegate(check: _Comparison) -> None:
    parsed, effects = check.parsed, check.effects
    if parsed.counterparty is None:
        check.cannot("the intent names no delegate")
        return
    if not effects.delegations and not effects.unreadable:
        check.differs("the request delegates nothing")
    for delegate in effects.delegations:
        if not check.party_ok(parsed.counterparty, delegate):
            check.differs(f"it delegates to {check.who(delegate)}, not {_party(parsed.counterparty)}")
    check.extra_outflows(set())
    check.extra_grants()


def _party(party: IntentParty | None) -> str:
    if party is None:
        return "the party you named"
    return party.label or (party.addresses[0] if party.addresses else party.text)


_CHECKS: dict[str, Callable[[_Comparison], None]] = {
    "send": _send, "swap": _swap, "buy": _swap, "approve": _approve, "revoke": _approve,
    "sign_in": _sign_in, "mint": _mint, "stake": _deposit, "bridge": _deposit, "delegate": _delegate,
}  # fmt: skip
