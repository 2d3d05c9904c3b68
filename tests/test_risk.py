"""Risk rules on hand-built decoded requests: depth, revokes, thresholds, score, catalogue."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from copilot.models import (
    AccountKind,
    Authorization,
    CallStatus,
    ChainFacts,
    DecodedCall,
    DecodedRequest,
    Finding,
    MessageInfo,
    Param,
    RequestKind,
    ReviewContext,
    Severity,
    SigningRequest,
    TransactionInfo,
    TypedDataInfo,
)
from copilot.resources import ROOT
from copilot.risk import assess, risk_score
from copilot.risk.catalogue import CATALOGUE, markdown_table

USER = "0x8ba1f109551bD432803012645Ac136ddd64DBA72"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
ROUTER = "0x68b3465833fb72A70ecDF485E0e4C7bD8665Fc45"  # Uniswap SwapRouter02
MULTICALL3 = "0xcA11bde05977b3631167028862bE2a173976CA11"
MULTISEND_CALL_ONLY = "0x40A2aCCbd92BCA938b02010E17A5b8929b49130D"
STRANGER = "0x9D3e1b5aC2F84e7b60d9C51fA3be0C27d4e6A8F1"
NOW = 1_764_000_000
MAX = 2**256 - 1


def approve(spender: str, amount: int, *, path: str = "call", token: str = USDC) -> DecodedCall:
    return DecodedCall(
        to=token, selector="0x095ea7b3", function="approve(address,uint256)", status=CallStatus.DECODED, path=path,
        params=[Param(name="spender", type="address", value=spender), Param(name="value", type="uint256", value=amount)],
    )


def tx_request(call: DecodedCall, **tx: object) -> DecodedRequest:
    info = TransactionInfo(type=2, chain_id=1, sender=USER, to=call.to, **tx)  # type: ignore[arg-type]
    return DecodedRequest(request=SigningRequest(kind=RequestKind.TRANSACTION, chain_id=1, sender=USER),
                          transaction=info, call=call, payload_hash="0x" + "00" * 32)


def context(**fields: object) -> ReviewContext:
    return ReviewContext(now=NOW, **fields)  # type: ignore[arg-type]


def ids(findings: list[Finding]) -> set[str]:
    return {f.id for f in findings}


def test_risk_hidden_at_depth_counts_like_one_at_the_top() -> None:
    top = assess(tx_request(approve(STRANGER, MAX)), context())
    inner = approve(STRANGER, MAX, path="call.children[0].children[1]")
    middle = DecodedCall(to=MULTICALL3, function="aggregate3((address,bool,bytes)[])", status=CallStatus.DECODED,
                         path="call.children[0]", children=[approve(ROUTER, 5, path="call.children[0].children[0]"), inner])
    outer = DecodedCall(to=MULTICALL3, function="aggregate3((address,bool,bytes)[])", status=CallStatus.DECODED,
                        children=[middle])
    deep = assess(tx_request(outer), context())
    assert {(f.id, f.severity) for f in top} == {(f.id, f.severity) for f in deep}
    assert risk_score(deep) >= risk_score(top)
    unlimited = next(f for f in deep if f.id == "approval.unlimited")
    assert unlimited.location == "call.children[0].children[1]"
    assert "unlimited USDC" in unlimited.evidence


def test_revoking_an_approval_raises_nothing_about_the_spender() -> None:
    findings = assess(tx_request(approve(STRANGER, 0)), context())
    assert not {i for i in ids(findings) if i.startswith("approval.")}


def test_address_book_makes_a_spender_known_and_node_facts_expose_an_eoa() -> None:
    request = tx_request(approve(STRANGER, 1_000_000))
    assert "approval.unknown_spender" in ids(assess(request, context()))
    assert "approval.unknown_spender" not in ids(assess(request, context(address_book={STRANGER: "my vault"})))
    eoa = context(chain=ChainFacts(chain_id=1, account_kinds={STRANGER: AccountKind.EOA}))
    spender_is_eoa = next(f for f in assess(request, eoa) if f.id == "approval.spender_is_eoa")
    assert spender_is_eoa.severity == Severity.CRITICAL


def test_approval_above_the_balance_needs_the_node_and_an_exact_amount() -> None:
    chain = ChainFacts(chain_id=1, balances={USER: {USDC: 1_200_000_000}})
    assert "approval.exceeds_balance" in ids(assess(tx_request(approve(ROUTER, 5_000_000_000)), context(chain=chain)))
    assert "approval.exceeds_balance" not in ids(assess(tx_request(approve(ROUTER, 1_000_000_000)), context(chain=chain)))
    assert "approval.exceeds_balance" not in ids(assess(tx_request(approve(ROUTER, 5_000_000_000)), context()))


def permit_request(deadline: int, value: int = 100_000_000) -> DecodedRequest:
    message = {"owner": USER, "spender": ROUTER, "value": str(value), "nonce": "0", "deadline": str(deadline)}
    typed = TypedDataInfo(primary_type="Permit", domain={"chainId": 1, "verifyingContract": USDC}, message=message,
                          domain_hash="0x", message_hash="0x", signing_hash="0x", verifying_contract=USDC, chain_id=1)
    return DecodedRequest(request=SigningRequest(kind=RequestKind.TYPED_DATA, chain_id=1), typed_data=typed,
                          payload_hash="0x" + "00" * 32)


@pytest.mark.parametrize(
    ("deadline", "expected"),
    [(NOW + 3600, set()), (NOW + 31 * 86400, {"permit.long_expiry"}), (MAX, {"permit.no_expiry"})],
)
def test_permit_expiry_is_judged_against_the_review_clock(deadline: int, expected: set[str]) -> None:
    found = {i for i in ids(assess(permit_request(deadline), context())) if i.startswith("permit.")}
    assert found == expected


def test_safe_delegatecall_only_to_allowlisted_targets() -> None:
    def exec_to(target: str) -> DecodedRequest:
        inner = DecodedCall(to=target, operation="delegatecall", status=CallStatus.DECODED, path="call.children[0]",
                            function="multiSend(bytes)", selector="0x8d80ff0a")
        outer = DecodedCall(to="0x5AFE0000c0FFEE00b0Ba00deaDBeeF0000005afE", status=CallStatus.DECODED,
                            function="execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
                            params=[Param(name=n, type=t, value=v) for n, t, v in [
                                ("to", "address", target), ("value", "uint256", 0), ("data", "bytes", "0x"),
                                ("operation", "uint8", 1), ("safeTxGas", "uint256", 0), ("baseGas", "uint256", 0),
                                ("gasPrice", "uint256", 0), ("gasToken", "address", "0x" + "00" * 20),
                                ("refundReceiver", "address", "0x" + "00" * 20), ("signatures", "bytes", "0x")]],
                            children=[inner])
        return tx_request(outer)

    assert "safe.delegatecall_untrusted" not in ids(assess(exec_to(MULTISEND_CALL_ONLY), context()))
    untrusted = [f for f in assess(exec_to(STRANGER), context()) if f.id == "safe.delegatecall_untrusted"]
    assert [f.location for f in untrusted] == ["call.children[0]"]
    assert untrusted[0].severity == Severity.CRITICAL


def test_eip7702_chain_zero_and_unknown_delegates() -> None:
    def with_auth(chain_id: int, delegate: str) -> DecodedRequest:
        auth = Authorization(chain_id=chain_id, address=delegate, nonce=0, y_parity=0, r=1, s=1, authority=USER)
        request = tx_request(DecodedCall(to=USER, status=CallStatus.EMPTY), authorization_list=[auth])
        request.transaction.type = 4  # type: ignore[union-attr]
        return request

    delegator = "0x63c0c19a282a1B52b07dD5a65b58948A07DAE32B"  # MetaMask DeleGator, allowlisted
    assert not {i for i in ids(assess(with_auth(1, delegator), context())) if i.startswith("eip7702.")}
    assert ids(assess(with_auth(0, delegator), context())) >= {"eip7702.any_chain"}
    assert "eip7702.untrusted_delegate" in ids(assess(with_auth(1, STRANGER), context()))
    assert "eip7702.untrusted_delegate" not in ids(assess(with_auth(1, "0x" + "00" * 20), context()))


def test_poisoned_lookalike_of_a_history_address() -> None:
    friend = "0x4cd7b1e0a4d2e6f0d2b5c8f6a0d3e2b8f9a1c2d3"
    lookalike = "0x4cd7b" + "9" * 30 + "1c2d3"
    send = DecodedCall(to=lookalike, value=10**18, status=CallStatus.EMPTY)
    findings = assess(tx_request(send), context(known_addresses={friend}))
    poisoning = next(f for f in findings if f.id == "address.poisoning")
    assert poisoning.severity == Severity.CRITICAL
    assert "0x4Cd7B1" in poisoning.evidence or friend in poisoning.evidence.lower()
    assert "address.poisoning" not in ids(assess(tx_request(DecodedCall(to=friend, value=1, status=CallStatus.EMPTY)),
                                                 context(known_addresses={friend})))


def test_value_to_a_token_only_when_the_token_cannot_take_it() -> None:
    plain = DecodedCall(to=USDC, value=10**17, status=CallStatus.EMPTY)
    assert "value.to_token_contract" in ids(assess(tx_request(plain), context()))
    weth = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
    wrap = DecodedCall(to=weth, value=10**17, status=CallStatus.EMPTY)
    assert "value.to_token_contract" not in ids(assess(tx_request(wrap), context()))


def test_score_is_monotone_in_severity_and_in_findings() -> None:
    def f(severity: Severity) -> Finding:
        return Finding(id="x.y", severity=severity, title="t", evidence="e")

    assert risk_score([]) == 0
    ladder = [risk_score([f(s)]) for s in Severity]
    assert ladder == sorted(ladder) and len(set(ladder)) == len(ladder)
    assert risk_score([f(Severity.INFO)] * 3) < 15
    many_medium = risk_score([f(Severity.MEDIUM)] * 20)
    assert risk_score([f(Severity.MEDIUM)]) < many_medium < risk_score([f(Severity.HIGH)])
    assert risk_score([f(Severity.CRITICAL), f(Severity.HIGH)]) <= 100


def test_catalogue_ids_are_stable_shaped_and_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for finding_id, spec in CATALOGUE.items():
        assert re.fullmatch(r"[a-z0-9]+(\.[a-z0-9_]+)+", finding_id)
        assert spec.title and spec.example
        assert f"`{finding_id}`" in readme, f"{finding_id} missing from the README findings table"
    assert markdown_table() in readme, "README findings table is out of date: paste catalogue.markdown_table()"


def typed_request(primary_type: str, message: dict[str, object], verifying_contract: str) -> DecodedRequest:
    typed = TypedDataInfo(primary_type=primary_type, domain={"chainId": 1}, message=message, domain_hash="0x",
                          message_hash="0x", signing_hash="0x", verifying_contract=verifying_contract, chain_id=1)
    return DecodedRequest(request=SigningRequest(kind=RequestKind.TYPED_DATA, chain_id=1), typed_data=typed,
                          payload_hash="0x" + "00" * 32)


def test_permit2_tuples_read_the_same_as_lists_or_as_named_members() -> None:
    permit2 = "0x000000000022D473030F116dDEE9F6B43aC78BA3"
    signature = "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)"
    as_list = [[USDC, 2**160 - 1, NOW + 86400, 0], STRANGER, NOW + 600]
    as_dict = {"details": {"token": USDC, "amount": 2**160 - 1, "expiration": NOW + 86400, "nonce": 0},
               "spender": STRANGER, "sigDeadline": NOW + 600}
    results = []
    for permit in (as_list, as_dict):
        call = DecodedCall(to=permit2, function=signature, status=CallStatus.DECODED, params=[
            Param(name="owner", type="address", value=USER), Param(name="permitSingle", type="tuple", value=permit),
            Param(name="signature", type="bytes", value="0x")])
        results.append(ids(assess(tx_request(call), context())))
    assert results[0] == results[1] >= {"permit.unlimited", "approval.unknown_spender"}


def test_siwe_accepts_subdomains_of_the_domain_but_not_other_sites() -> None:
    def siwe(uri: str, **extra: str) -> DecodedRequest:
        fields = {"domain": "app.example.org", "address": USER, "uri": uri, "version": "1", "chain_id": "1",
                  "nonce": "k8Jd93LmQp2x", "issued_at": "2025-11-24T15:58:00Z", **extra}
        message = MessageInfo(hex="0x00", text="…", signing_hash="0x", siwe=fields)
        return DecodedRequest(request=SigningRequest(kind=RequestKind.PERSONAL_MESSAGE, sender=USER), message=message,
                              payload_hash="0x" + "00" * 32)

    chain_one = context(chain=ChainFacts(chain_id=1))
    assert not ids(assess(siwe("https://app.example.org/login"), chain_one))
    assert not ids(assess(siwe("https://auth.app.example.org"), chain_one))
    assert ids(assess(siwe("https://app.example.org.evil.xyz"), chain_one)) == {"siwe.domain_mismatch"}
    bad = [f.evidence for f in assess(siwe("https://app.example.org", nonce="123"), chain_one)]
    assert any("Nonce" in e for e in bad)
    other_account = [f.evidence for f in assess(siwe("https://app.example.org", address=STRANGER), chain_one)]
    assert any("not as your account" in e for e in other_account)


def test_personal_sign_of_binary_data_is_a_hidden_payload() -> None:
    message = MessageInfo(hex="0x" + "ab" * 32, text=None, signing_hash="0x")
    request = DecodedRequest(request=SigningRequest(kind=RequestKind.PERSONAL_MESSAGE), message=message,
                             payload_hash="0x" + "00" * 32)
    hidden = [f for f in assess(request, context()) if f.id == "sign.hidden_payload"]
    assert hidden and "32-byte hash" in hidden[0].evidence


def test_seaport_order_for_a_dust_price_takes_only_dust() -> None:
    import json

    from copilot.decoding import decode
    from copilot.inputs import parse_request

    listing = json.loads((ROOT / "fixtures" / "requests" / "benign-seaport-listing.json").read_text())["request"]
    typed = json.loads(listing["params"][1])
    typed["message"]["consideration"] = [dict(typed["message"]["consideration"][0], startAmount="1000", endAmount="1000")]
    decoded = decode(parse_request(json.dumps(typed)))
    dust = next(f for f in assess(decoded, context()) if f.id == "order.dust_take")
    assert "0.000000000000001 ETH" in dust.evidence and dust.severity == Severity.HIGH


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-1, max_value=2**256) | st.text(max_size=50)
    | st.sampled_from([USDC, STRANGER, "0x" + "00" * 20, "0x", "0xzz"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(["token", "amount", "spender", "details", "expiration"]), inner, max_size=4),
    max_leaves=12,
)
_SIGNATURES = [
    "approve(address,uint256)", "setApprovalForAll(address,bool)", "approve(address,address,uint160,uint48)",
    "permit(address,((address,uint160,uint48,uint48),address,uint256),bytes)",
    "permit(address,address,uint256,uint256,bool,uint8,bytes32,bytes32)", "transferOwnership(address)",
    "execTransaction(address,uint256,bytes,uint8,uint256,uint256,uint256,address,address,bytes)",
    "PERMIT2_PERMIT(((address,uint160,uint48,uint48),address,uint256),bytes)", "transfer(address,uint256)",
]


@settings(max_examples=80, deadline=None)
@given(
    function=st.sampled_from(_SIGNATURES),
    values=st.lists(_JSON, min_size=0, max_size=10),
    value=st.integers(min_value=0, max_value=10**20),
    primary=st.sampled_from(["Permit", "PermitSingle", "PermitBatch", "PermitTransferFrom", "OrderComponents", "Order", "SafeTx", "BulkOrder"]),
    message=st.dictionaries(st.sampled_from(["spender", "value", "deadline", "details", "permitted", "offerer", "offer",
                                             "consideration", "trader", "side", "price", "sellToken", "receiver", "tree",
                                             "operation", "to", "allowed", "expiry"]), _JSON, max_size=8),
)
def test_rules_never_crash_on_odd_decoded_values(
    function: str, values: list[object], value: int, primary: str, message: dict[str, object]
) -> None:
    """Decoders hand over whatever the calldata or the dApp's JSON held: the rules must cope, not raise."""
    call = DecodedCall(to=STRANGER, value=value, function=function, status=CallStatus.DECODED,
                       params=[Param(name=f"p{i}", type="bytes", value=v) for i, v in enumerate(values)])
    assess(tx_request(call), context())
    assess(typed_request(primary, message, USDC), context())


def test_a_proxy_upgrade_is_an_admin_change_not_a_safe_delegatecall() -> None:
    """upgradeToAndCall delegatecalls its payload on the proxy: an admin act, outside any Safe."""
    setup = DecodedCall(to=STRANGER, operation="delegatecall", status=CallStatus.UNKNOWN, selector="0x12345678",
                        data="0x12345678", path="call.children[0]")
    upgrade = DecodedCall(to=USER, function="upgradeToAndCall(address,bytes)", status=CallStatus.DECODED,
                          params=[Param(name="implementation", type="address", value=STRANGER),
                                  Param(name="data", type="bytes", value="0x12345678")], children=[setup])
    found = ids(assess(tx_request(upgrade), context()))
    assert "admin.ownership_transfer" in found and "call.blind" in found
    assert "safe.delegatecall_untrusted" not in found
