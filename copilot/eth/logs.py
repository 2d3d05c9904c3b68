"""Event logs as asset movements and grants: one decoder shared by the audit and the simulation.

This lives at the bottom (copilot.eth) because two stages read logs: the audit reads the logs of the
user's past receipts, the simulation reads the logs of a transaction that has not been sent yet. Both
must agree on what a log means, so neither owns the decoder and neither imports the other.

A log decodes into zero or more `LogEvent`s (an ERC-1155 TransferBatch is several). Layouts are
checked strictly: a log whose topics or data do not match its event's shape is not that event, so a
token cannot pass off an odd log as a transfer. Addresses come back lowercase; amounts are ints.
Hand-written rather than through eth-abi: each event is a few fixed 32-byte words, and the audit
decodes hundreds of thousands of logs, where slicing hex is several times faster than a codec call
(the batch benchmark in benchmarks/ measures the audit); tests check every topic against keccak.
"""

from __future__ import annotations

from typing import NamedTuple

NATIVE = "native"  # the chain's coin, where a token address would stand
PERMIT2 = "0x000000000022d473030f116ddee9f6b43ac78ba3"
# eth_simulateV1 with traceTransfers: native ETH moves appear as ERC-20 Transfer logs from this address.
ETH_TRANSFER_EMITTER = "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"

TOPIC_TRANSFER = "0xddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
TOPIC_APPROVAL = "0x8c5be1e5ebec7d5bd14f71427d1e84f3dd0314c0f7b2291e5b200ac8c7c3b925"
TOPIC_APPROVAL_FOR_ALL = "0x17307eab39ab6107e8899845ad3d59bd9653f200f220920489ca2b5937696c31"
TOPIC_TRANSFER_SINGLE = "0xc3d58168c5ae7397731d063d5bbf3d657854427343f4c083240f7aacaa2d0f62"
TOPIC_TRANSFER_BATCH = "0x4a39dc06d4c0dbc64b70af90fd698a233a518aa5d07e595d983b8c0526c8f7fb"
TOPIC_PERMIT2_APPROVAL = "0xda9fa7c1b00402c17d0161b249b1ab8bbec047c5a52207b9c112deffd817036b"
TOPIC_PERMIT2_PERMIT = "0xc6a377bfc4eb120024a8ac08eef205be16b817020812c73223e81d1bdb9708ec"
TOPIC_PERMIT2_LOCKDOWN = "0x89b1add15eff56b3dfe299ad94e01f2b52fbcb80ae1a3baea6ae8c04cb2b98a4"
TOPIC_DEPOSIT = "0xe1fffcc4923d04b559f4d29a8bfc6cda04eb5b0d3c460751c2402c5c5cc9109c"  # WETH Deposit
TOPIC_WITHDRAWAL = "0x7fcf532c15f0a6db0bd6d0e038bea71d30d808c7d98cb3bf7268a95bf5081b65"  # WETH Withdrawal
TOPIC_OWNERSHIP_TRANSFERRED = "0x8be0079c531659141344cd1fd0a4f28419497f9722a3daafe3b4186f6b6457e0"
TOPIC_SAFE_ADDED_OWNER = "0x9465fa0c962cc76958e6373a993326400c1c94f8be2fe3a952adfa7f60b2ea26"
TOPIC_SAFE_REMOVED_OWNER = "0xf8d49fc529812e9a7c5c50e69c20f0dccc0db8fa95c98bc58cc9a4f1c1299eaf"
TOPIC_SAFE_CHANGED_THRESHOLD = "0x610f7ff2b304ae8903c3de74c60c6ab1f7d6226b3f52c5161905bb5ad4039c93"

# kinds of LogEvent
TRANSFER = "transfer"  # value moved: ERC-20 (unit raw), ERC-721 (unit nft), ERC-1155 (unit erc1155), ETH
APPROVE = "approve"  # ERC-20 allowance set to amount
NFT_APPROVE = "nft_approve"  # ERC-721 single-token approval
OPERATOR = "operator"  # ApprovalForAll (ERC-721 / ERC-1155)
PERMIT2_GRANT = "permit2"  # Permit2 allowance (Approval or Permit event)
PERMIT2_LOCKDOWN = "permit2_lockdown"
DEPOSIT = "deposit"  # WETH minted for ETH (owner: who deposited)
WITHDRAWAL = "withdrawal"  # WETH burnt for ETH
OWNERSHIP = "ownership"  # OwnershipTransferred: owner -> counterparty
SAFE_OWNER_ADDED = "safe_owner_added"
SAFE_OWNER_REMOVED = "safe_owner_removed"
SAFE_THRESHOLD = "safe_threshold"


class LogEvent(NamedTuple):
    """One movement or grant read from a log. `token` is the emitting contract (NATIVE for ETH), except
    for Permit2 grants, where it is the token the grant covers."""

    kind: str
    token: str
    owner: str  # sender of a transfer, the approver, the previous owner, the Safe
    counterparty: str  # recipient, spender, operator, new owner
    amount: int = 0  # raw units; for an ERC-721 transfer or approval, the token id
    unit: str = "raw"  # raw | nft | erc1155
    token_id: int | None = None  # ERC-721 and ERC-1155 id
    expiration: int | None = None  # Permit2 expiry
    approved: bool = True  # operator approvals: granted or revoked


def _address(topic: str) -> str:
    """The address in an indexed topic: its last 20 bytes, as the EVM reads it."""
    if len(topic) != 66:
        raise ValueError("not a 32-byte topic")
    return "0x" + topic[26:].lower()


def _word(data: str, position: int) -> int:
    """The 32-byte word at `position` of 0x-prefixed data; a missing one is an IndexError."""
    start = 2 + 64 * position
    word = data[start : start + 64]
    if len(word) != 64:
        raise IndexError("data too short")
    return int(word, 16)


def _words(data: str) -> list[int]:
    """Every whole 32-byte word of 0x-prefixed data (a trailing partial word is ignored)."""
    return [int(data[i : i + 64], 16) for i in range(2, len(data) - 63, 64)]


def _word_address(value: int) -> str:
    return "0x" + format(value & ((1 << 160) - 1), "040x")


def decode_log(address: str, topics: list[str], data: str) -> list[LogEvent]:
    """The events one log stands for; [] for a log of another kind or a malformed one."""
    if not topics:
        return []
    try:
        return _decode(address.lower(), topics, data if data[:2] == "0x" else "0x" + data.removeprefix("0X"))
    except (ValueError, IndexError):
        return []  # a log that does not match its event's layout is not that event


def _decode(address: str, topics: list[str], data: str) -> list[LogEvent]:
    topic0, count = topics[0].lower(), len(topics)
    token = NATIVE if address == ETH_TRANSFER_EMITTER else address
    if topic0 == TOPIC_TRANSFER and count == 3:
        return [LogEvent(TRANSFER, token, _address(topics[1]), _address(topics[2]), _word(data, 0))]
    if topic0 == TOPIC_TRANSFER and count == 4:  # ERC-721: the id is the third topic
        token_id = int(topics[3], 16)
        return [LogEvent(TRANSFER, token, _address(topics[1]), _address(topics[2]), token_id, "nft", token_id)]
    if topic0 == TOPIC_APPROVAL and count == 3:
        return [LogEvent(APPROVE, token, _address(topics[1]), _address(topics[2]), _word(data, 0))]
    if topic0 == TOPIC_APPROVAL and count == 4:
        token_id = int(topics[3], 16)
        return [LogEvent(NFT_APPROVE, token, _address(topics[1]), _address(topics[2]), token_id, "nft", token_id)]
    if topic0 == TOPIC_APPROVAL_FOR_ALL and count == 3:
        return [LogEvent(OPERATOR, token, _address(topics[1]), _address(topics[2]), approved=bool(_word(data, 0)))]
    if topic0 == TOPIC_TRANSFER_SINGLE and count == 4:
        token_id, value = _word(data, 0), _word(data, 1)
        return [LogEvent(TRANSFER, token, _address(topics[2]), _address(topics[3]), value, "erc1155", token_id)]
    if topic0 == TOPIC_TRANSFER_BATCH and count == 4:
        return _transfer_batch(token, _address(topics[2]), _address(topics[3]), _words(data))
    if address == PERMIT2 and topic0 in (TOPIC_PERMIT2_APPROVAL, TOPIC_PERMIT2_PERMIT) and count == 4:
        return [LogEvent(PERMIT2_GRANT, _address(topics[2]), _address(topics[1]), _address(topics[3]), _word(data, 0),
                         expiration=_word(data, 1))]
    if address == PERMIT2 and topic0 == TOPIC_PERMIT2_LOCKDOWN and count == 2:
        return [LogEvent(PERMIT2_LOCKDOWN, _word_address(_word(data, 0)), _address(topics[1]),
                         _word_address(_word(data, 1)))]
    if topic0 in (TOPIC_DEPOSIT, TOPIC_WITHDRAWAL) and count == 2:
        kind = DEPOSIT if topic0 == TOPIC_DEPOSIT else WITHDRAWAL
        return [LogEvent(kind, token, _address(topics[1]), address, _word(data, 0))]
    if topic0 == TOPIC_OWNERSHIP_TRANSFERRED and count == 3:
        return [LogEvent(OWNERSHIP, token, _address(topics[1]), _address(topics[2]))]
    if topic0 in (TOPIC_SAFE_ADDED_OWNER, TOPIC_SAFE_REMOVED_OWNER):  # owner indexed (1.4) or in data (1.3)
        owner = _address(topics[1]) if count == 2 else _word_address(_word(data, 0))
        kind = SAFE_OWNER_ADDED if topic0 == TOPIC_SAFE_ADDED_OWNER else SAFE_OWNER_REMOVED
        return [LogEvent(kind, token, address, owner)]
    if topic0 == TOPIC_SAFE_CHANGED_THRESHOLD and count == 1:
        return [LogEvent(SAFE_THRESHOLD, token, address, address, _word(data, 0))]
    return []


def _transfer_batch(token: str, sender: str, recipient: str, words: list[int]) -> list[LogEvent]:
    """TransferBatch data: offset of ids, offset of values, then each array as a length and its items."""
    ids_at, values_at = words[0] // 32, words[1] // 32
    ids = words[ids_at + 1 : ids_at + 1 + words[ids_at]]
    values = words[values_at + 1 : values_at + 1 + words[values_at]]
    if len(ids) != words[ids_at] or len(values) != len(ids):
        raise ValueError("TransferBatch arrays do not match")
    return [
        LogEvent(TRANSFER, token, sender, recipient, value, "erc1155", token_id)
        for token_id, value in zip(ids, values, strict=True)
    ]
