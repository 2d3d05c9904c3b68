"""Synthetic wallet histories with planted problems, for tests and benchmarks.

    python -m copilot.audit.synthetic --count 100000 --out history.jsonl

writes `history.jsonl` (eth_getTransactionByHash objects with their receipts, chain 1) and
`history.jsonl.planted.json`, the list of what was planted. Everyday traffic (ETH and USDC payments
to friends, incoming payments, WETH wrapping, exact approvals to Uniswap's router then swaps that
spend them, revokes) surrounds, per 5,000 transactions: an unlimited approval to an unknown spender
(left open), one that is later revoked, an operator approval for a whole NFT collection, a Permit2
approval to an unknown spender, a zero-value transferFrom and a fake-token transfer from a lookalike
of a friend, a payment to that lookalike, and an ETH "claim()" sent to a drainer contract.

    python -m copilot.audit.synthetic --profile regular --count 100000 --out history.jsonl

writes the other shape (issue 16): everyday traffic is payments to one regular counterparty (ETH and
USDC, most above the policy's new-address limits, a few above its general limit), WETH wraps and
Uniswap swaps; a handful of problems is planted once, whatever the length: two unlimited approvals to
unknown spenders, an NFT operator, and a look-alike of the counterparty that plants transfers and is paid.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from copilot.audit.events import (
    SEL_APPROVE,
    SEL_PERMIT2_APPROVE,
    SEL_SET_APPROVAL_FOR_ALL,
    SEL_TRANSFER,
    SEL_TRANSFER_FROM,
)
from copilot.eth.logs import (
    PERMIT2,
    TOPIC_APPROVAL,
    TOPIC_APPROVAL_FOR_ALL,
    TOPIC_PERMIT2_APPROVAL,
    TOPIC_TRANSFER,
)

GROUP = 5_000
START_TIME = 1_704_067_200  # 2024-01-01
SECONDS_PER_TX = 300
START_BLOCK = 18_908_000
USER = "0x7e5f4552091a69125d5dfcb7b8c2659029395bdf"  # the key-1 address: obviously synthetic
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
SWAP_ROUTER_02 = "0x68b3465833fb72a70ecdf485e0e4c7bd8665fc45"
USDC_WETH_POOL = "0x88e6a0c2ddd26feeb64f039a2c41296fcb3f5640"
NFT_COLLECTION = "0xbc4ca0eda7647a8ab7c2061c2e118a18a936f13d"
SEL_DEPOSIT = "d0e30db0"  # WETH deposit()
SEL_EXACT_INPUT_SINGLE = "04e45aaf"  # SwapRouter02.exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))
SEL_CLAIM = "4e71d92d"  # claim()
MAX_UINT256 = (1 << 256) - 1
MAX_UINT160 = (1 << 160) - 1
MAX_UINT48 = (1 << 48) - 1

# Where each planted step sits inside its group, as a fraction of the group's length.
_PLAN = [
    (0.01, "pay_friend"),
    (0.02, "unlimited_unknown"),
    (0.04, "unlimited_then_revoked"),
    (0.06, "operator_all"),
    (0.08, "approve_permit2"),
    (0.09, "permit2_unknown"),
    (0.10, "poison_zero_transfer"),
    (0.12, "poison_fake_token"),
    (0.14, "pay_lookalike"),
    (0.16, "drainer_claim"),
    (0.24, "revoke_unknown"),
]


@dataclass
class Planted:
    address: str
    count: int
    risky_approvals: list[list[str]] = field(default_factory=list)  # [kind, token, spender]
    closed_approvals: list[list[str]] = field(default_factory=list)
    poisoning: list[list[str]] = field(default_factory=list)  # [kind, tx, lookalike]
    flagged: list[str] = field(default_factory=list)  # tx hashes a review must not allow
    bad_lines: list[int] = field(default_factory=list)
    regular: str | None = None  # profile "regular": the one counterparty of the everyday payments
    everyday_payments: list[str] = field(default_factory=list)  # their tx hashes (the first one included)
    large_payments: list[str] = field(default_factory=list)  # above the general limit: confirmation, not risk


def _word_address(address: str) -> str:
    return address[2:].rjust(64, "0")


def _word(value: int) -> str:
    return format(value, "064x")


class _Writer:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.index = 0
        self.nonce = 0
        self.lines: list[str] = []

    def address(self) -> str:
        return "0x" + format(self.rng.getrandbits(160), "040x")

    def tx(self, sender: str, to: str, value: int = 0, data: str = "", logs: list[dict[str, Any]] | None = None) -> str:
        timestamp = START_TIME + self.index * SECONDS_PER_TX
        tx_hash = "0x" + format(self.rng.getrandbits(256), "064x")
        block = START_BLOCK + self.index * SECONDS_PER_TX // 12
        own = sender == USER
        obj = {
            "hash": tx_hash,
            "blockNumber": hex(block),
            "transactionIndex": hex(self.rng.randrange(200)),
            "timestamp": timestamp,
            "from": sender,
            "to": to,
            "value": hex(value),
            "input": "0x" + data,
            "nonce": hex(self.nonce if own else self.rng.randrange(1000)),
            "gas": hex(21_000 if not data else 150_000),
            "maxFeePerGas": hex(30 * 10**9),
            "maxPriorityFeePerGas": hex(10**9),
            "chainId": "0x1",
            "type": "0x2",
            "receipt": {"status": "0x1", "logs": [
                {**log, "logIndex": hex(i)} for i, log in enumerate(logs or [])
            ]},
        }
        if own:
            self.nonce += 1
        self.lines.append(json.dumps(obj, separators=(",", ":")))
        self.index += 1
        return tx_hash


def _transfer_log(token: str, sender: str, to: str, amount: int) -> dict[str, Any]:
    return {"address": token, "topics": [TOPIC_TRANSFER, "0x" + _word_address(sender),
                                         "0x" + _word_address(to)], "data": "0x" + _word(amount)}


def _approval_log(token: str, owner: str, spender: str, amount: int) -> dict[str, Any]:
    return {"address": token, "topics": [TOPIC_APPROVAL, "0x" + _word_address(owner), "0x" + _word_address(spender)],
            "data": "0x" + _word(amount)}


def _approve(w: _Writer, token: str, spender: str, amount: int) -> str:
    return w.tx(USER, token, 0, SEL_APPROVE + _word_address(spender) + _word(amount),
                [_approval_log(token, USER, spender, amount)])


class _Everyday:
    """Benign traffic: the shapes a wallet signs every week."""

    def __init__(self, w: _Writer, friends: list[str]) -> None:
        self.w = w
        self.friends = friends
        self.pending_swap = 0  # USDC approved to the router and not yet swapped

    def step(self) -> None:
        w, rng = self.w, self.w.rng
        roll = rng.random()
        friend = rng.choice(self.friends)
        if self.pending_swap:
            self.swap()
        elif roll < 0.35:
            w.tx(USER, friend, rng.randrange(10**15, 2 * 10**17))
        elif roll < 0.60:
            amount = rng.randrange(1, 500) * 10**6
            w.tx(USER, USDC, 0, SEL_TRANSFER + _word_address(friend) + _word(amount),
                 [_transfer_log(USDC, USER, friend, amount)])
        elif roll < 0.72:
            w.tx(friend, USER, rng.randrange(10**16, 10**18))
        elif roll < 0.84:
            w.tx(USER, WETH, rng.randrange(10**16, 10**17), SEL_DEPOSIT)
        else:
            self.approve_for_swap()

    def approve_for_swap(self) -> None:
        """An exact approval to Uniswap's router; the next step swaps it (swap)."""
        self.pending_swap = self.w.rng.randrange(10, 1000) * 10**6
        _approve(self.w, USDC, SWAP_ROUTER_02, self.pending_swap)

    def swap(self) -> None:
        amount, self.pending_swap = self.pending_swap, 0
        params = (_word_address(USDC) + _word_address(WETH) + _word(500) + _word_address(USER) + _word(amount)
                  + _word(amount * 10**6) + _word(0))
        self.w.tx(USER, SWAP_ROUTER_02, 0, SEL_EXACT_INPUT_SINGLE + params, [
            _transfer_log(USDC, USER, USDC_WETH_POOL, amount),
            _transfer_log(WETH, USDC_WETH_POOL, USER, amount * 10**6),
        ])


class _RegularEveryday(_Everyday):
    """Everyday traffic of profile "regular": one counterparty paid again and again, wraps and swaps."""

    def __init__(self, w: _Writer, planted: Planted) -> None:
        super().__init__(w, [w.address()])
        self.planted = planted
        planted.regular = self.friends[0]

    def step(self) -> None:
        w, rng, friend = self.w, self.w.rng, self.friends[0]
        roll = rng.random()
        if self.pending_swap:
            self.swap()
        elif roll < 0.45:  # above the default policy's 0.25 ETH for a new address
            self.planted.everyday_payments.append(w.tx(USER, friend, rng.randrange(3 * 10**17, 2 * 10**18)))
        elif roll < 0.60:  # above its 1,000 USD for a new address
            amount = rng.randrange(1_200, 5_000) * 10**6
            self.planted.everyday_payments.append(w.tx(
                USER, USDC, 0, SEL_TRANSFER + _word_address(friend) + _word(amount),
                [_transfer_log(USDC, USER, friend, amount)]))
        elif roll < 0.75:
            w.tx(USER, WETH, rng.randrange(10**16, 10**17), SEL_DEPOSIT)
        elif roll < 0.79:
            w.tx(friend, USER, rng.randrange(10**16, 10**18))
        elif roll < 0.99:
            self.approve_for_swap()
        else:  # an ordinary large payment: above the policy's 5 ETH, so it asks; not a risk
            self.planted.large_payments.append(w.tx(USER, friend, rng.randrange(6, 10) * 10**18))


# profile "regular": the planted problems, once, as fractions of the whole history
_REGULAR_PLAN = [
    (0.20, "unlimited_unknown"),
    (0.30, "operator_all"),
    (0.45, "unlimited_unknown"),
    (0.50, "poison_zero_transfer"),
    (0.55, "poison_fake_token"),
    (0.60, "pay_lookalike"),
]


def generate(count: int, out: Path, *, seed: int = 7, bad_rows: int = 0, profile: str = "groups") -> Planted:
    """Write `count` transactions to `out` (JSONL) and `<out>.planted.json`; returns what was planted.
    Profile "groups": everyday traffic with many friends, problems planted per 5,000 transactions;
    "regular": one regular counterparty, a handful of problems planted once."""
    if count < 100:
        raise ValueError("count must be at least 100 (room for the planted problems)")
    rng = random.Random(seed)
    w = _Writer(rng)
    planted = Planted(address=USER, count=count)
    state: dict[int, dict[str, str]] = {}
    everyday: _Everyday
    if profile == "regular":
        everyday = _RegularEveryday(w, planted)
        friends = everyday.friends
        state[0] = {"friend": friends[0]}
        schedule = [(int(fraction * count), 0, step) for fraction, step in _REGULAR_PLAN]
    else:
        friends = [w.address() for _ in range(40)]
        everyday = _Everyday(w, friends)
        groups = max(1, count // GROUP)
        size = count // groups
        schedule = sorted((g * size + int(fraction * size), g, step) for g in range(groups) for fraction, step in _PLAN)
    next_step = 0
    while w.index < count:
        if next_step < len(schedule) and schedule[next_step][0] <= w.index and not everyday.pending_swap:
            _, g, step = schedule[next_step]
            _plant(w, step, state.setdefault(g, {}), planted, friends)
            next_step += 1
        else:
            everyday.step()
    lines = w.lines[:count]
    for _ in range(bad_rows):  # lines a reader must skip and report, keeping everything else
        position = rng.randrange(len(lines))
        lines.insert(position, '{"hash": "0xdead", "from": ' if rng.random() < 0.5 else '{"from": "0x123"}')
    planted.bad_lines = [i + 1 for i, text in enumerate(lines) if text.startswith('{"hash": "0xdead"') or text == '{"from": "0x123"}']
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    manifest = out.with_name(out.name + ".planted.json")
    manifest.write_text(json.dumps(planted.__dict__, indent=1), encoding="utf-8")
    return planted


def _plant(w: _Writer, step: str, state: dict[str, str], planted: Planted, friends: list[str]) -> None:
    rng = w.rng
    if step == "pay_friend":
        state["friend"] = friend = rng.choice(friends)
        w.tx(USER, friend, 10**16)
    elif step == "unlimited_unknown":
        spender = w.address()
        planted.flagged.append(_approve(w, USDC, spender, MAX_UINT256))
        planted.risky_approvals.append(["erc20", USDC, spender])
    elif step == "unlimited_then_revoked":
        state["revoked"] = spender = w.address()
        planted.flagged.append(_approve(w, USDC, spender, MAX_UINT256))
        planted.closed_approvals.append(["erc20", USDC, spender])
    elif step == "revoke_unknown":
        _approve(w, USDC, state["revoked"], 0)
    elif step == "operator_all":
        operator = w.address()
        log = {"address": NFT_COLLECTION, "topics": [TOPIC_APPROVAL_FOR_ALL, "0x" + _word_address(USER),
                                                     "0x" + _word_address(operator)], "data": "0x" + _word(1)}
        planted.flagged.append(w.tx(USER, NFT_COLLECTION, 0, SEL_SET_APPROVAL_FOR_ALL + _word_address(operator)
                                    + _word(1), [log]))
        planted.risky_approvals.append(["nft_operator", NFT_COLLECTION, operator])
    elif step == "approve_permit2":
        _approve(w, USDC, PERMIT2, MAX_UINT256)  # unlimited to a well-known spender: everyday, not flagged
    elif step == "permit2_unknown":
        spender = w.address()
        expiration = START_TIME + 10 * 365 * 86_400
        log = {"address": PERMIT2, "topics": [TOPIC_PERMIT2_APPROVAL, "0x" + _word_address(USER),
                                              "0x" + _word_address(USDC), "0x" + _word_address(spender)],
               "data": "0x" + _word(MAX_UINT160) + _word(expiration)}
        data = SEL_PERMIT2_APPROVE + _word_address(USDC) + _word_address(spender) + _word(MAX_UINT160) + _word(expiration)
        planted.flagged.append(w.tx(USER, PERMIT2, 0, data, [log]))
        planted.risky_approvals.append(["permit2", USDC, spender])
    elif step == "poison_zero_transfer":
        friend = state["friend"]
        state["lookalike"] = lookalike = friend[:6] + format(rng.getrandbits(128), "032x")[:32] + friend[-4:]
        attacker = w.address()
        tx = w.tx(attacker, USDC, 0, SEL_TRANSFER_FROM + _word_address(USER) + _word_address(lookalike) + _word(0),
                  [_transfer_log(USDC, USER, lookalike, 0)])
        planted.poisoning.append(["dust", tx, lookalike])
    elif step == "poison_fake_token":
        lookalike, fake_token = state["lookalike"], w.address()
        tx = w.tx(lookalike, fake_token, 0, SEL_TRANSFER + _word_address(USER) + _word(25 * 10**6),
                  [_transfer_log(fake_token, lookalike, USER, 25 * 10**6)])
        planted.poisoning.append(["dust", tx, lookalike])
    elif step == "pay_lookalike":
        lookalike = state["lookalike"]
        tx = w.tx(USER, USDC, 0, SEL_TRANSFER + _word_address(lookalike) + _word(900 * 10**6),
                  [_transfer_log(USDC, USER, lookalike, 900 * 10**6)])
        planted.poisoning.append(["payment", tx, lookalike])
        planted.flagged.append(tx)  # the friend it imitates was paid earlier in the same history
    elif step == "drainer_claim":
        planted.flagged.append(w.tx(USER, w.address(), 5 * 10**16, SEL_CLAIM))


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Write a synthetic wallet history with planted problems.")
    parser.add_argument("--count", type=int, default=10_000, help="transactions to write (>= 100)")
    parser.add_argument("--out", type=Path, required=True, help="output JSONL file")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bad-rows", type=int, default=0, help="also insert this many malformed lines")
    parser.add_argument("--profile", choices=["groups", "regular"], default="groups",
                        help="groups: many friends, problems per 5,000 transactions; regular: one counterparty, "
                             "a handful of problems")
    args = parser.parse_args(argv)
    planted = generate(args.count, args.out, seed=args.seed, bad_rows=args.bad_rows, profile=args.profile)
    print(f"wrote {args.count} transactions to {args.out}; planted: {len(planted.risky_approvals)} risky approvals, "
          f"{len(planted.poisoning)} poisoning events, {len(planted.flagged)} risky transactions")


if __name__ == "__main__":
    main()
