"""Handovers of control: every form is caught, named in the typed confirmation, and judged by who
gets control (yours: routine; a stranger: confirm; a fresh account with no code: block)."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from copilot.cli.main import cli
from copilot.decoding import decode
from copilot.inputs import parse_request
from copilot.models import AccountKind, ChainFacts, DisplayField, Review, ReviewContext
from copilot.pipeline import ReviewOptions, review_decoded
from copilot.policy import load_policy
from copilot.signing.confirmation import confirmation_for
from copilot.state.context import build_context
from copilot.state.dirs import keystore_dir
from tests.nodehelpers import CAST
from tests.policyhelpers import USER, call, tx_request

CONTRACT = "0x1f2e3d4c5B6a79881f2e3D4c5B6a79881F2e3d4C"
STRANGER = "0x9D3e1b5aC2F84e7b60d9C51fA3be0C27d4e6A8F1"
OTHER = "0x5B38Da6a701c568545dCfcB03FcB875f56beddC4"


def calldata(signature: str, *args: str) -> str:
    return subprocess.run([str(CAST), "calldata", signature, *args], capture_output=True, text=True, check=True).stdout.strip()


def review(data: str, context: ReviewContext | None = None) -> Review:
    request = {"method": "eth_sendTransaction", "params": [{"from": USER, "to": CONTRACT, "value": "0x0", "data": data, "chainId": "0x1"}]}
    decoded = decode(parse_request(json.dumps(request)))
    policy = load_policy("default")
    if context is None:
        context = build_context(policy, decoded=decoded)
    return review_decoded(decoded, policy, context, ReviewOptions(use_llm=False))


def found(result: Review) -> dict[str, str]:
    return {f.id: f.evidence for f in result.findings}


@pytest.mark.parametrize(
    ("signature", "args", "finding_id", "becomes"),
    [
        ("setOwner(address)", [STRANGER], "admin.ownership_transfer", "the owner"),  # DSAuth / DSProxy
        ("setAuthority(address)", [STRANGER], "admin.ownership_transfer", "the authority"),
        ("transferOwnership(address)", [STRANGER], "admin.ownership_transfer", "acceptOwnership"),  # Ownable2Step
        ("changeAdmin(address)", [STRANGER], "admin.ownership_transfer", "the admin"),
        ("upgradeTo(address)", [STRANGER], "admin.ownership_transfer", "the implementation"),
        ("upgradeToAndCall(address,bytes)", [STRANGER, "0x"], "admin.ownership_transfer", "the implementation"),
        ("grantRole(bytes32,address)", ["0x" + "00" * 32, STRANGER], "admin.ownership_transfer", "DEFAULT_ADMIN_ROLE"),
        ("addOwnerWithThreshold(address,uint256)", [STRANGER, "1"], "safe.owner_change", STRANGER),
        ("swapOwner(address,address,address)", ["0x" + "00" * 19 + "01", OTHER, STRANGER], "safe.owner_change", STRANGER),
        ("enableModule(address)", [STRANGER], "safe.module_change", STRANGER),
        ("setGuard(address)", [STRANGER], "safe.guard_change", STRANGER),
    ],
)
def test_every_handover_to_a_stranger_needs_confirmation_typing_the_new_controller(
    signature: str, args: list[str], finding_id: str, becomes: str
) -> None:
    result = review(calldata(signature, *args))
    assert result.verdict == "confirm", result.findings
    assert becomes in found(result)[finding_id] and STRANGER in found(result)[finding_id]
    need = confirmation_for(result, signs_delegation=False)
    assert need.high_risk and need.target == STRANGER and need.expected == STRANGER[-4:].lower()
    assert need.target_role.startswith("new ")


@pytest.mark.parametrize(
    ("signature", "finding_id"),
    [("removeOwner(address,address,uint256)", "safe.owner_change"), ("changeThreshold(uint256)", "safe.threshold_change")],
)
def test_safe_changes_without_a_new_controller_still_need_confirmation(signature: str, finding_id: str) -> None:
    args = ["0x" + "00" * 19 + "01", OTHER, "1"] if "removeOwner" in signature else ["1"]
    result = review(calldata(signature, *args))
    assert result.verdict == "confirm" and finding_id in found(result)


def test_a_role_other_than_admin_is_named_and_accepting_ownership_is_not_a_handover() -> None:
    minter = "0x9f2df0fed2c77648de5860a4cc508cd0818c85b8b8a1ab4ceeef8d981c8956a6"  # keccak("MINTER_ROLE")
    assert "MINTER_ROLE holder" in found(review(calldata("grantRole(bytes32,address)", minter, STRANGER)))["admin.ownership_transfer"]
    accepted = review(calldata("acceptOwnership()"))  # the signer takes control: nothing handed away
    assert not {"admin.ownership_transfer", "admin.new_controller_unknown"} & set(found(accepted))


def test_with_a_node_a_fresh_account_with_no_code_blocks_and_a_contract_or_a_known_account_asks() -> None:
    data = calldata("setOwner(address)", STRANGER)
    base = dict(user=USER, now=int(time.time()), own_addresses={USER})

    def on_node(kind: AccountKind, **extra: object) -> Review:
        chain = ChainFacts(chain_id=1, account_kinds={STRANGER: kind, CONTRACT: AccountKind.CONTRACT})
        return review(data, ReviewContext(chain=chain, **base, **extra))  # type: ignore[arg-type]

    fresh = on_node(AccountKind.EOA)
    assert (fresh.verdict, fresh.decided_by) == ("block", "finding:admin.new_controller_unknown")
    assert "no code" in found(fresh)["admin.new_controller_unknown"]
    need = confirmation_for(fresh.model_copy(update={"verdict": "confirm"}), signs_delegation=False)
    assert (need.target, need.target_role) == (STRANGER, "new owner")
    contract = on_node(AccountKind.CONTRACT)
    assert contract.verdict == "confirm" and "a contract" in found(contract)["admin.ownership_transfer"]
    known = on_node(AccountKind.EOA, known_addresses={STRANGER})
    assert known.verdict == "confirm" and "dealt with before" in found(known)["admin.ownership_transfer"]
    offline = review(data)
    assert offline.verdict == "confirm" and "without a node (--rpc)" in found(offline)["admin.ownership_transfer"]


def test_a_safe_owner_added_with_no_code_and_never_seen_blocks() -> None:
    chain = ChainFacts(chain_id=1, account_kinds={STRANGER: AccountKind.EOA})
    context = ReviewContext(user=USER, now=int(time.time()), chain=chain)
    result = review(calldata("addOwnerWithThreshold(address,uint256)", STRANGER, "1"), context)
    assert result.verdict == "block" and "admin.new_controller_unknown" in found(result)


def test_handing_control_to_your_own_accounts_is_routine(tmp_path: Path) -> None:
    data = calldata("transferOwnership(address)", STRANGER)
    runner = CliRunner()
    added = runner.invoke(cli, ["book", "add", STRANGER, "cold wallet", "--own"])
    assert added.exit_code == 0, added.output
    own = review(data)
    assert own.verdict == "allow" and "admin.handover_own" in found(own)
    assert "admin.ownership_transfer" not in found(own)
    # a keystore account is yours too (its file states its address; no password needed)
    (keystore_dir() / "hot.json").write_text(json.dumps({"address": OTHER[2:].lower(), "crypto": {}}))
    assert review(calldata("transferOwnership(address)", OTHER)).verdict == "allow"
    # the book still lists it with its label, and relabelling keeps it yours unless said otherwise
    listed = runner.invoke(cli, ["book", "list", "--json"])
    assert json.loads(listed.stdout) == {STRANGER: "cold wallet"}
    runner.invoke(cli, ["book", "add", STRANGER, "old cold wallet"])
    assert review(data).verdict == "confirm"


def test_a_single_address_argument_named_or_labelled_as_controller_is_a_handover() -> None:
    now = int(time.time())
    context = ReviewContext(user=USER, now=now)
    by_name = tx_request(call(CONTRACT, "setGovernance(address)", [("_governance", "address", STRANGER)]))
    result = review_decoded(by_name, load_policy("default"), context, ReviewOptions(use_llm=False))
    assert "the governance of" in found(result)["admin.ownership_transfer"]
    labelled = call(CONTRACT, "migrate(address)", [("to", "address", STRANGER)])
    labelled.fields = [DisplayField(label="New owner", value=STRANGER, format="addressName", path="to")]
    result = review_decoded(tx_request(labelled), load_policy("default"), context, ReviewOptions(use_llm=False))
    assert "the owner of" in found(result)["admin.ownership_transfer"]
    plain = tx_request(call(CONTRACT, "setFeeRecipient(address)", [("r", "address", STRANGER)]))
    result = review_decoded(plain, load_policy("default"), context, ReviewOptions(use_llm=False))
    assert "admin.ownership_transfer" not in found(result)


def test_a_new_controller_on_an_imported_scam_list_blocks(tmp_path: Path) -> None:
    listed = tmp_path / "drainers.txt"
    listed.write_text(f"{STRANGER} dsproxy thief\n")
    imported = CliRunner().invoke(cli, ["intel", "import", str(listed)])
    assert imported.exit_code == 0, imported.output
    result = review(calldata("setOwner(address)", STRANGER))
    assert result.verdict == "block" and "address.listed_scam" in found(result)
    assert "admin.ownership_transfer" in found(result)  # and it still says what the call does
