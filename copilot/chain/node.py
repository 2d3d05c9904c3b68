"""The user's own node (--rpc): the only network peer txcopilot ever talks to.

web3 is imported on first use, so offline commands never pay for it. Every method talks to the one
URL given and returns plain Python values (ints, 0x hex strings, dicts); a node that cannot be
reached becomes one `EnvironmentProblem` line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

from copilot.errors import EnvironmentProblem, InputError
from copilot.eth.abitext import abi_text
from copilot.models import AccountKind, TokenMeta
from copilot.policy.addresses import to_checksum

if TYPE_CHECKING:
    from eth_typing import ChecksumAddress, HexStr
    from web3 import Web3

T = TypeVar("T")

DELEGATION_PREFIX = bytes.fromhex("ef0100")  # EIP-7702: an EOA's code is 0xef0100 ‖ delegate address
TIMEOUT_SECONDS = 10

# ERC-20 / ERC-721 view selectors (keccak of the signature, first 4 bytes).
_NAME, _SYMBOL, _DECIMALS = "0x06fdde03", "0x95d89b41", "0x313ce567"
_BALANCE_OF, _ALLOWANCE, _IS_APPROVED_FOR_ALL = "0x70a08231", "0xdd62ed3e", "0xe985e9c5"


def _checksum(address: str) -> ChecksumAddress:
    return cast("ChecksumAddress", to_checksum(address))


def _hex(tx_hash: str) -> HexStr:
    return cast("HexStr", tx_hash)


def _word(address: str) -> str:
    return address[2:].lower().rjust(64, "0")


def plain(value: Any) -> Any:
    """web3's AttributeDict/HexBytes results as JSON-ready dicts, lists, ints and 0x hex strings."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, dict) or hasattr(value, "items"):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


class NodeClient:
    """A JSON-RPC client for the user's node at `url` (http:// or https://)."""

    def __init__(self, url: str, timeout: float = TIMEOUT_SECONDS) -> None:
        if not url.startswith(("http://", "https://")):
            raise InputError(
                f"--rpc {url!r} is not an http(s) URL", "give your node's URL, e.g. http://127.0.0.1:8545"
            )
        self.url = url
        self.timeout = timeout
        self._w3: Web3 | None = None

    @property
    def w3(self) -> Web3:
        if self._w3 is None:
            from web3 import Web3

            # No retries: web3 by default repeats a timed-out call 5 times, so a hung node cost a
            # minute per call instead of one timeout; a node that does not answer is one line now.
            provider = Web3.HTTPProvider(
                self.url, request_kwargs={"timeout": self.timeout}, exception_retry_configuration=None
            )
            self._w3 = Web3(provider)
        return self._w3

    def _ask(self, call: Callable[[], T]) -> T:
        from web3.exceptions import ProviderConnectionError, Web3RPCError

        try:
            return call()
        except (OSError, ProviderConnectionError) as exc:
            raise EnvironmentProblem(
                f"cannot reach node at {self.url}: {_reason(exc)}", "check --rpc and that the node is running"
            ) from None
        except Web3RPCError as exc:
            raise EnvironmentProblem(
                f"node at {self.url} refused the request: {exc.message or exc}", "check the node's logs"
            ) from None

    # ------------------------------------------------------------------ chain and accounts

    def chain_id(self) -> int:
        return self._ask(lambda: int(self.w3.eth.chain_id))

    def block_number(self) -> int:
        return self._ask(lambda: int(self.w3.eth.block_number))

    def base_fee(self) -> int | None:
        """The latest block's base fee per gas; None on a pre-London chain."""
        block = self._ask(lambda: self.w3.eth.get_block("latest"))
        fee = block.get("baseFeePerGas")
        return int(fee) if fee is not None else None

    def block_timestamp(self, block: int | str = "latest") -> int:
        return self._ask(lambda: int(self.w3.eth.get_block(block)["timestamp"]))  # type: ignore[arg-type]

    def gas_price(self) -> int:
        return self._ask(lambda: int(self.w3.eth.gas_price))

    def max_priority_fee(self) -> int:
        return self._ask(lambda: int(self.w3.eth.max_priority_fee))

    def estimate_gas(self, tx: dict[str, Any]) -> int:
        """eth_estimateGas of a transaction dict (from/to as any-case hex, value as int, data as 0x hex).

        A transaction the node says would revert is an InputError naming the revert reason.
        """
        query = {key: value for key, value in tx.items() if value is not None}
        for key in ("from", "to"):
            if query.get(key):
                query[key] = to_checksum(query[key])
        from web3.exceptions import ContractLogicError

        try:
            return self._ask(lambda: int(self.w3.eth.estimate_gas(query)))  # type: ignore[arg-type]
        except ContractLogicError as exc:
            reason = exc.message or "execution reverted"
            raise InputError(
                f"the node says this transaction would fail ({reason})",
                "check its amounts, balances and allowances",
            ) from None

    def get_code(self, address: str) -> bytes:
        return bytes(self._ask(lambda: self.w3.eth.get_code(_checksum(address))))

    def account_kind(self, address: str) -> tuple[AccountKind, str | None]:
        """EOA, contract, or EIP-7702-delegated EOA (with its delegate)."""
        code = self.get_code(address)
        if not code:
            return AccountKind.EOA, None
        if len(code) == 23 and code.startswith(DELEGATION_PREFIX):
            return AccountKind.DELEGATED_EOA, to_checksum("0x" + code[3:].hex())
        return AccountKind.CONTRACT, None

    def balance(self, address: str) -> int:
        return self._ask(lambda: int(self.w3.eth.get_balance(_checksum(address))))

    def nonce(self, address: str, block: str = "pending") -> int:
        return self._ask(lambda: int(self.w3.eth.get_transaction_count(_checksum(address), block)))  # type: ignore[arg-type]

    # ------------------------------------------------------------------ token views

    def call(self, to: str, data: str) -> bytes:
        """eth_call; empty bytes when the call reverts (a view the contract does not implement)."""
        from web3.exceptions import ContractLogicError

        try:
            return bytes(self._ask(lambda: self.w3.eth.call({"to": to_checksum(to), "data": data})))  # type: ignore[typeddict-item]
        except ContractLogicError:
            return b""
        except EnvironmentProblem as exc:
            if "execution reverted" in exc.message or "revert" in exc.message.lower():
                return b""
            raise

    def _uint(self, to: str, data: str) -> int | None:
        result = self.call(to, data)
        return int.from_bytes(result[:32], "big") if len(result) >= 32 else None

    def erc20_metadata(self, token: str) -> TokenMeta | None:
        """symbol, decimals and name from the token itself; None when it does not answer like an ERC-20."""
        decimals = self._uint(token, _DECIMALS)
        symbol = abi_text(self.call(token, _SYMBOL))
        if decimals is None or decimals > 255 or symbol is None:
            return None
        name = abi_text(self.call(token, _NAME))
        return TokenMeta(
            address=to_checksum(token), symbol=symbol, decimals=decimals, name=name, source="rpc"
        )

    def erc20_balance(self, token: str, holder: str) -> int | None:
        return self._uint(token, _BALANCE_OF + _word(holder))

    def erc20_allowance(self, token: str, owner: str, spender: str) -> int | None:
        return self._uint(token, _ALLOWANCE + _word(owner) + _word(spender))

    def is_approved_for_all(self, collection: str, owner: str, operator: str) -> bool | None:
        value = self._uint(collection, _IS_APPROVED_FOR_ALL + _word(owner) + _word(operator))
        return None if value is None else value != 0

    # ------------------------------------------------------------------ transactions

    def send_raw_transaction(self, raw: bytes | str) -> str:
        payload = raw if isinstance(raw, bytes) else bytes.fromhex(raw.removeprefix("0x"))
        return "0x" + bytes(self._ask(lambda: self.w3.eth.send_raw_transaction(payload))).hex()

    def wait_for_receipt(self, tx_hash: str, timeout: float = 60) -> dict[str, Any]:
        from web3.exceptions import TimeExhausted

        try:
            receipt = self._ask(
                lambda: self.w3.eth.wait_for_transaction_receipt(
                    _hex(tx_hash), timeout=timeout, poll_latency=0.05
                )
            )
        except TimeExhausted:
            raise EnvironmentProblem(
                f"transaction {tx_hash} not mined within {timeout:.0f} s",
                "check the node; it may still be pending",
            ) from None
        result: dict[str, Any] = plain(receipt)
        return result

    def get_transaction(self, tx_hash: str) -> dict[str, Any]:
        result: dict[str, Any] = plain(self._ask(lambda: self.w3.eth.get_transaction(_hex(tx_hash))))
        return result

    def get_receipt(self, tx_hash: str) -> dict[str, Any]:
        result: dict[str, Any] = plain(self._ask(lambda: self.w3.eth.get_transaction_receipt(_hex(tx_hash))))
        return result

    def get_logs(
        self,
        from_block: int,
        to_block: int,
        *,
        address: str | list[str] | None = None,
        topics: list[str | list[str] | None] | None = None,
        chunk: int = 2000,
    ) -> Iterator[dict[str, Any]]:
        """eth_getLogs over [from_block, to_block] in chunks of `chunk` blocks (nodes cap the range)."""
        params: dict[str, Any] = {}
        if address is not None:
            params["address"] = (
                [to_checksum(a) for a in address] if isinstance(address, list) else to_checksum(address)
            )
        if topics is not None:
            params["topics"] = topics
        for start in range(from_block, to_block + 1, chunk):
            query = {**params, "fromBlock": start, "toBlock": min(start + chunk - 1, to_block)}
            for log in self._ask(lambda q=query: self.w3.eth.get_logs(q)):  # type: ignore[misc]
                yield plain(log)

    def block_hash(self, number: int) -> str | None:
        block = self._ask(lambda: self.w3.eth.get_block(number))
        value = block.get("hash") if block else None
        return "0x" + bytes(value).hex() if value is not None else None

    def trace_filter(self, from_block: int, to_block: int, *, from_address: str | None = None, to_address: str | None = None) -> list[dict[str, Any]] | None:
        """Parity-style `trace_filter` call traces (value moves at any depth); None when the node has
        no trace API (geth without it, many providers), which callers treat as "not known"."""
        from web3.exceptions import Web3RPCError

        query: dict[str, Any] = {"fromBlock": hex(from_block), "toBlock": hex(to_block)}
        if from_address:
            query["fromAddress"] = [to_checksum(from_address)]
        if to_address:
            query["toAddress"] = [to_checksum(to_address)]
        try:
            reply = self._ask(lambda: self.w3.provider.make_request("trace_filter", [query]))  # type: ignore[arg-type]
        except (EnvironmentProblem, Web3RPCError):
            return None
        result = reply.get("result") if isinstance(reply, dict) else None
        return [plain(t) for t in result] if isinstance(result, list) else None

    def transactions_of(self, address: str, from_block: int, to_block: int) -> Iterator[dict[str, Any]]:
        """Transactions sent by or to `address` in [from_block, to_block], found by scanning full blocks.

        Nodes have no index by address: this reads every block, fine for a local node or a short range.
        """
        target = address.lower()
        for number in range(from_block, to_block + 1):
            block = self._ask(lambda n=number: self.w3.eth.get_block(n, full_transactions=True))  # type: ignore[misc]
            for tx in cast("list[dict[str, Any]]", block.get("transactions", [])):
                sender = str(tx.get("from") or "").lower()
                recipient = str(tx.get("to") or "").lower()
                if target in (sender, recipient):
                    item: dict[str, Any] = plain(tx)
                    item.setdefault("timestamp", int(block["timestamp"]))
                    yield item


def _reason(exc: BaseException) -> str:
    text = str(exc)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return text.splitlines()[0][:120] if text else type(exc).__name__
