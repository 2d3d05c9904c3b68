"""Build the ReviewContext: the user's book and history, the policy's lists, and (with --rpc) chain facts.

Offline it reads two small local files and imports nothing heavy. With a node it asks only about
what the request touches: the kinds of the accounts it names, unknown tokens' metadata, the user's
balances of those tokens and of the native coin, the user's nonce and the base fee; and the user's
recent transfers (copilot.state.counterparties: who they really deal with, for poisoning checks).
"""

from __future__ import annotations

import time

from copilot.models import ChainFacts, DecodedRequest, ReviewContext
from copilot.policy.extract import approvals, named_addresses, request_chain_id, request_sender
from copilot.policy.loader import Policy
from copilot.state.addressbook import load_book, own_addresses
from copilot.state.history import known_addresses

_ERC20_FUNCTIONS = (
    "transfer(address,uint256)",
    "transferFrom(address,address,uint256)",
    "approve(address,uint256)",
    "increaseAllowance(address,uint256)",
    "permit(address,address,uint256,uint256,uint8,bytes32,bytes32)",
)


def build_context(
    policy: Policy,
    *,
    rpc: str | None = None,
    user: str | None = None,
    decoded: DecodedRequest | None = None,
    chain_id: int | None = None,
    origin: str | None = None,
) -> ReviewContext:
    """`chain_id` is the chain the wallet is on, when the user says (`review --chain-id`); `origin` the
    site the request comes from, when the wallet or `serve` says (`review --origin`)."""
    from copilot.policy.addresses import is_address, to_checksum

    if user is None and decoded is not None:
        user = request_sender(decoded)
    if user is not None and is_address(user):
        user = to_checksum(user)
    book = dict(policy.spec.address_book)
    book.update(load_book())  # the user's own labels win over a shared policy's
    own = own_addresses() | keystore_addresses() | ({user} if user else set())
    context = ReviewContext(
        user=user,
        address_book=book,
        known_addresses=known_addresses(),
        trusted=set(policy.trusted),
        own_addresses=own,
        wallet_chain_id=chain_id,
        origin=origin,
        now=int(time.time()),
    )
    if rpc:
        context.chain = chain_facts(rpc, user=user, decoded=decoded, expected_chain=chain_id)
    return context


def keystore_addresses() -> set[str]:
    """The accounts of the user's keystores (each file states its address; no password needed).
    A file that is not a keystore is skipped here: `txcopilot keys list` is where it is reported."""
    from copilot.parsing import load_json
    from copilot.policy.addresses import is_address, to_checksum
    from copilot.state.dirs import keystore_dir

    found: set[str] = set()
    for path in keystore_dir().glob("*.json"):
        try:
            keyfile = load_json(path.read_bytes())
        except (OSError, ValueError):
            continue
        stated = keyfile.get("address") if isinstance(keyfile, dict) else None
        if isinstance(stated, str):
            address = stated if stated.startswith("0x") else "0x" + stated
            if is_address(address):
                found.add(to_checksum(address))
    return found


def touched_tokens(decoded: DecodedRequest) -> list[str]:
    """Token contracts a request moves or approves (ERC-20 calls and permits), in order, once each."""
    tokens: list[str] = []
    for call in decoded.all_calls():
        if call.to and call.function in _ERC20_FUNCTIONS:
            tokens.append(call.to)
    tokens += [grant.token for grant in approvals(decoded) if grant.token]
    return list({t.lower(): t for t in tokens}.values())


def chain_facts(
    rpc: str, *, user: str | None, decoded: DecodedRequest | None, expected_chain: int | None = None
) -> ChainFacts:
    """What the node says about the accounts and tokens a request touches. A node on another chain
    than the request's (or, when the request states none, the wallet's) answers only its chain id:
    its accounts, balances and nonces belong to another chain, and `rpc.chain_mismatch` says so."""
    from copilot.chain.node import NodeClient
    from copilot.policy.addresses import to_checksum
    from copilot.policy.spend import token_meta

    node = NodeClient(rpc)
    node_chain = node.chain_id()
    wanted = request_chain_id(decoded) if decoded else None
    if wanted is None:
        wanted = expected_chain
    if wanted is not None and wanted != node_chain:
        return ChainFacts(chain_id=node_chain)
    facts = ChainFacts(chain_id=node_chain, base_fee=node.base_fee())
    addresses: list[str] = [user] if user else []
    tokens: list[str] = []
    if decoded is not None:
        addresses += [address for address, _ in named_addresses(decoded)]
        tokens = touched_tokens(decoded)
    for address in dict.fromkeys(to_checksum(a) for a in addresses):
        kind, delegate = node.account_kind(address)
        facts.account_kinds[address] = kind
        if delegate:
            facts.delegates[address] = delegate
    chain_id = request_chain_id(decoded) if decoded else None
    for token in tokens:
        checksummed = to_checksum(token)
        if token_meta(checksummed, chain_id or facts.chain_id) is None:
            meta = node.erc20_metadata(checksummed)
            if meta is not None:
                facts.tokens[checksummed] = meta
    if user:
        balances = {"native": node.balance(user)}
        for token in tokens:
            amount = node.erc20_balance(token, user)
            if amount is not None:
                balances[to_checksum(token)] = amount
        facts.balances[user] = balances
        facts.nonce = node.nonce(user)
        from copilot.state.counterparties import recent_transfers

        facts.recent_transfers, facts.recent_blocks = recent_transfers(node, node_chain, user)
    return facts
