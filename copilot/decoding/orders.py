"""Off-chain orders read into one model (`OrderInfo`): what the maker gives, what they get, who gets
it, until when.

A format is recognised by the EIP-712 type its contract verifies: the order struct's fields (names
and types, in order, with the structs it references), whatever the struct is called. A message that
merely looks like an order but would hash to another type is no order any exchange accepts.
Type strings are the contracts' own (ORDER_TYPEHASH and friends):
- 1inch Limit Order Protocol v4 (Aggregation Router V6) and v3 (Aggregation Router V5) `Order`;
- 0x Exchange Proxy v4 `LimitOrder`, `RfqOrder`, `OtcOrder`;
- UniswapX orders (Dutch, exclusive Dutch, V2 Dutch, priority, limit): Permit2
  `PermitWitnessTransferFrom` whose witness carries the reactor's `OrderInfo`;
- any other Permit2 witness transfer: what it gives is known, what it gets is not (`complete` False);
- Seaport `OrderComponents` and `BulkOrder`, Blur `Order`, LooksRare v1 `MakerOrder` and v2 `Maker`,
  CoW Protocol (GPv2) `Order`.

Amounts are the worst the order allows for its maker: the most it may give, the least it may get
(Dutch auctions decay between a start and an end amount).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from copilot.decoding.tokens import format_amount, format_native, lookup_token
from copilot.decoding.typed_data import Types, encode_type
from copilot.errors import InputError
from copilot.inputs.values import parse_hex, parse_quantity
from copilot.models import OrderAsset, OrderInfo

ZERO = "0x" + "00" * 20
_NATIVE_PLACEHOLDER = "0x" + "ee" * 20  # CoW and 1inch write native ETH as 0xEeee…EEeE
UINT40 = 2**40 - 1

ONEINCH_V6 = (
    "(uint256 salt,address maker,address receiver,address makerAsset,address takerAsset,uint256 makingAmount,"
    "uint256 takingAmount,uint256 makerTraits)"
)
ONEINCH_V5 = (
    "(uint256 salt,address makerAsset,address takerAsset,address maker,address receiver,address allowedSender,"
    "uint256 makingAmount,uint256 takingAmount,uint256 offsets,bytes interactions)"
)
ZEROX_LIMIT = (
    "(address makerToken,address takerToken,uint128 makerAmount,uint128 takerAmount,uint128 takerTokenFeeAmount,"
    "address maker,address taker,address sender,address feeRecipient,bytes32 pool,uint64 expiry,uint256 salt)"
)
ZEROX_RFQ = (
    "(address makerToken,address takerToken,uint128 makerAmount,uint128 takerAmount,address maker,address taker,"
    "address txOrigin,bytes32 pool,uint64 expiry,uint256 salt)"
)
ZEROX_OTC = (
    "(address makerToken,address takerToken,uint128 makerAmount,uint128 takerAmount,address maker,address taker,"
    "address txOrigin,uint256 expiryAndNonce)"
)
COW = (
    "(address sellToken,address buyToken,address receiver,uint256 sellAmount,uint256 buyAmount,uint32 validTo,"
    "bytes32 appData,uint256 feeAmount,string kind,bool partiallyFillable,string sellTokenBalance,"
    "string buyTokenBalance)"
)
BLUR = (
    "(address trader,uint8 side,address matchingPolicy,address collection,uint256 tokenId,uint256 amount,"
    "address paymentToken,uint256 price,uint256 listingTime,uint256 expirationTime,Fee[] fees,uint256 salt,"
    "bytes extraParams,uint256 nonce)Fee(uint16 rate,address recipient)"
)
LOOKSRARE_V1 = (
    "(bool isOrderAsk,address signer,address collection,uint256 price,uint256 tokenId,uint256 amount,"
    "address strategy,address currency,uint256 nonce,uint256 startTime,uint256 endTime,uint256 minPercentageToAsk,"
    "bytes params)"
)
LOOKSRARE_V2 = (
    "(uint8 quoteType,uint256 globalNonce,uint256 subsetNonce,uint256 orderNonce,uint256 strategyId,"
    "uint8 collectionType,address collection,address currency,address signer,uint256 startTime,uint256 endTime,"
    "uint256 price,uint256[] itemIds,uint256[] amounts,bytes additionalParameters)"
)
SEAPORT = (
    "(address offerer,address zone,OfferItem[] offer,ConsiderationItem[] consideration,uint8 orderType,"
    "uint256 startTime,uint256 endTime,bytes32 zoneHash,uint256 salt,bytes32 conduitKey,uint256 counter)"
    "ConsiderationItem(uint8 itemType,address token,uint256 identifierOrCriteria,uint256 startAmount,"
    "uint256 endAmount,address recipient)"
    "OfferItem(uint8 itemType,address token,uint256 identifierOrCriteria,uint256 startAmount,uint256 endAmount)"
)
UNISWAPX_INFO = (
    "(address reactor,address swapper,uint256 nonce,uint256 deadline,address additionalValidationContract,"
    "bytes additionalValidationData)"
)
PERMIT2_WITNESS_FIELDS = {  # Permit2's own fields, before the witness the caller names
    "PermitWitnessTransferFrom": "(TokenPermissions permitted,address spender,uint256 nonce,uint256 deadline,",
    "PermitBatchWitnessTransferFrom": "(TokenPermissions[] permitted,address spender,uint256 nonce,uint256 deadline,",
}
PERMIT2_TOKEN_PERMISSIONS = "(address token,uint256 amount)"

SEAPORT_NFT_ITEMS = {2, 3}  # ERC721, ERC1155
SEAPORT_CRITERIA_ITEMS = {4, 5}  # ERC721 / ERC1155 with criteria: any item of a collection, or of a list
SEAPORT_NATIVE_ITEM = 0
BLUR_SELL = 1
LOOKSRARE_V2_ASK = 1
BPS = 10_000
# 1inch v4 MakerTraits: uint40 expiration at bit 80 (0: never expires).
ONEINCH_V6_EXPIRY_SHIFT = 80
ONEINCH_V6_HAS_EXTENSION = 249  # MakerTraits flag bit
# 1inch v3 (router V5) keeps the expiry in its predicate: timestampBelow(uint256 time) or
# timestampBelowAndNonceEquals(uint256 timeNonceAccount) with the time in the top 48 bits.
ONEINCH_V5_TIMESTAMP_BELOW = bytes.fromhex("63592c2b")
ONEINCH_V5_TIMESTAMP_NONCE = bytes.fromhex("2cc2878d")
ONEINCH_V5_PREDICATE_INDEX = 4  # makerAssetData, takerAssetData, getMakingAmount, getTakingAmount, predicate, ...
ZEROX_OTC_EXPIRY_SHIFT = 192


def decode_orders(
    types: Types, primary: str, message: dict[str, Any], chain_id: int | None, signer: str | None
) -> list[OrderInfo]:
    """Every order this (already validated, declared-fields-only) message signs; [] for anything else.
    `signer` is the account asked to sign, when the request names it: formats that do not name their
    maker (CoW, Permit2 witnesses) mean that account."""
    reader = _Reader(chain_id, signer)
    if _is_permit2_witness(types, primary):
        return [reader.permit2_witness(types, primary, message)]
    if primary == "BulkOrder" and _is_seaport_bulk(types):
        return [reader.seaport(order, f"typed_data.message.tree{path}") for path, order in _bulk_leaves(message.get("tree"), "")]
    parse = _FORMATS.get(_signature(types, primary))
    if parse is None:
        return []
    return [parse(reader, message)]


def _is_permit2_witness(types: Types, primary: str) -> bool:
    fields = PERMIT2_WITNESS_FIELDS.get(primary)
    return (
        fields is not None
        and _signature(types, primary).startswith(fields)
        and _signature(types, "TokenPermissions") == PERMIT2_TOKEN_PERMISSIONS
    )


def _signature(types: Types, name: str) -> str:
    """encodeType without the struct's own name: "(uint256 salt,…)Dep(…)"."""
    if name not in types:
        return ""
    return encode_type(types, name).removeprefix(name)


def _is_seaport_bulk(types: Types) -> bool:
    fields = types.get("BulkOrder", [])
    return (
        len(fields) == 1
        and fields[0][1].startswith("OrderComponents[")
        and _signature(types, "OrderComponents") == SEAPORT
    )


def _bulk_leaves(tree: Any, path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(tree, dict):
        yield path, tree
    elif isinstance(tree, list):
        for index, node in enumerate(tree):
            yield from _bulk_leaves(node, f"{path}[{index}]")


def _int(value: Any) -> int:
    """A number the typed-data validation already accepted (JSON number, decimal or 0x hex string)."""
    return parse_quantity(value, "order field")


def _address(value: Any) -> str:
    from copilot.decoding._crypto import checksum_hex

    return checksum_hex(str(value).lower())


class _Reader:
    def __init__(self, chain_id: int | None, signer: str | None) -> None:
        self.chain_id = chain_id
        self.signer = _address(signer) if signer else None

    # -- items

    def fungible(self, token: Any, amount: int, recipient: str | None = None) -> OrderAsset:
        address = _address(token)
        if address.lower() in (ZERO, _NATIVE_PLACEHOLDER):
            return OrderAsset(
                kind="native", amount=amount, recipient=recipient, display=format_native(amount, self.chain_id)
            )
        shown = format_amount(amount, lookup_token(address, self.chain_id))
        return OrderAsset(kind="token", token=address, amount=amount, recipient=recipient, display=shown)

    def nft(self, collection: Any, token_id: Any, amount: int = 1, recipient: str | None = None) -> OrderAsset:
        address = _address(collection)
        count = f"{amount} × " if amount != 1 else ""
        return OrderAsset(
            kind="nft", token=address, amount=amount, token_id=str(_int(token_id)), recipient=recipient,
            display=f"{count}NFT #{_int(token_id)} of {self.collection(address)}",
        )

    def any_nft(self, collection: Any, amount: int = 1, recipient: str | None = None) -> OrderAsset:
        address = _address(collection)
        count = f"{amount} × " if amount != 1 else ""
        return OrderAsset(
            kind="nft", token=address, amount=amount, recipient=recipient,
            display=f"{count}any NFT of {self.collection(address)}",
        )

    def collection(self, address: str) -> str:
        from copilot.decoding.registry import known_contract

        known = known_contract(address, self.chain_id)
        return f"{known.label} ({address})" if known else address

    @staticmethod
    def receiver(value: Any, maker: str | None) -> str | None:
        """The format's "receiver 0x0 means the maker" convention, resolved."""
        address = _address(value)
        return maker if address.lower() == ZERO else address

    # -- 1inch

    def oneinch_v6(self, m: dict[str, Any]) -> OrderInfo:
        traits = _int(m["makerTraits"])
        notes = []
        if traits >> ONEINCH_V6_HAS_EXTENSION & 1:
            notes.append("has an extension: its amounts may follow a formula the extension holds")
        return self.oneinch(m, "1inch v6", traits >> ONEINCH_V6_EXPIRY_SHIFT & UINT40, notes)

    def oneinch_v5(self, m: dict[str, Any]) -> OrderInfo:
        expiry, notes = _oneinch_v5_expiry(_int(m["offsets"]), parse_hex(m["interactions"], "interactions"))
        return self.oneinch(m, "1inch v5", expiry, notes)

    def oneinch(self, m: dict[str, Any], protocol: str, expiry: int | None, notes: list[str]) -> OrderInfo:
        maker = _address(m["maker"])
        return OrderInfo(
            protocol=protocol,
            maker=maker,
            give=[self.fungible(m["makerAsset"], _int(m["makingAmount"]))],
            take=[self.fungible(m["takerAsset"], _int(m["takingAmount"]))],
            receiver=self.receiver(m["receiver"], maker),
            expiry=expiry,
            notes=notes,
        )

    # -- 0x v4: the taker pays the maker; `taker`/`txOrigin` only say who may fill

    def zerox(self, m: dict[str, Any], kind: str, expiry: int) -> OrderInfo:
        maker = _address(m["maker"])
        taker = _address(m["taker"])
        notes = [] if taker.lower() == ZERO else [f"only {taker} may fill it"]
        return OrderInfo(
            protocol=f"0x v4 {kind}",
            maker=maker,
            give=[self.fungible(m["makerToken"], _int(m["makerAmount"]))],
            take=[self.fungible(m["takerToken"], _int(m["takerAmount"]))],
            receiver=maker,
            expiry=expiry,
            notes=notes,
        )

    def zerox_limit(self, m: dict[str, Any]) -> OrderInfo:
        return self.zerox(m, "LimitOrder", _int(m["expiry"]))

    def zerox_rfq(self, m: dict[str, Any]) -> OrderInfo:
        return self.zerox(m, "RfqOrder", _int(m["expiry"]))

    def zerox_otc(self, m: dict[str, Any]) -> OrderInfo:
        return self.zerox(m, "OtcOrder", _int(m["expiryAndNonce"]) >> ZEROX_OTC_EXPIRY_SHIFT)

    # -- CoW Protocol: the signer sells; `receiver` 0x0 is the signer

    def cow(self, m: dict[str, Any]) -> OrderInfo:
        give = _int(m["sellAmount"]) + _int(m["feeAmount"])
        return OrderInfo(
            protocol="CoW Protocol",
            maker=self.signer,
            give=[self.fungible(m["sellToken"], give)],
            take=[self.fungible(m["buyToken"], _int(m["buyAmount"]))],
            receiver=self.receiver(m["receiver"], self.signer),
            expiry=_int(m["validTo"]),
        )

    # -- NFT marketplaces

    def seaport(self, m: dict[str, Any], path: str = "typed_data.message") -> OrderInfo:
        offerer = _address(m["offerer"])
        give = [self.seaport_item(item, worst=max) for item in m["offer"]]
        take: list[OrderAsset] = []
        fees: list[OrderAsset] = []
        for item in m["consideration"]:
            recipient = _address(item["recipient"])
            asset = self.seaport_item(item, worst=min, recipient=recipient)
            (take if recipient == offerer else fees).append(asset)
        return OrderInfo(
            protocol="Seaport", maker=offerer, give=give, take=take, receiver=offerer, fees=fees,
            expiry=_int(m["endTime"]), path=path,
        )

    def seaport_item(self, item: dict[str, Any], worst: Callable[[int, int], int], recipient: str | None = None) -> OrderAsset:
        item_type = _int(item["itemType"])
        amount = worst(_int(item["startAmount"]), _int(item["endAmount"]))
        if item_type in SEAPORT_CRITERIA_ITEMS:  # any item of the collection (or of a list the criteria root commits to)
            return self.any_nft(item["token"], amount, recipient)
        if item_type in SEAPORT_NFT_ITEMS:
            return self.nft(item["token"], item["identifierOrCriteria"], amount, recipient)
        token = ZERO if item_type == SEAPORT_NATIVE_ITEM else item["token"]
        return self.fungible(token, amount, recipient)

    def blur(self, m: dict[str, Any]) -> OrderInfo:
        trader = _address(m["trader"])
        price = _int(m["price"])
        nft = self.nft(m["collection"], m["tokenId"], _int(m["amount"]))
        if _int(m["side"]) != BLUR_SELL:
            return OrderInfo(
                protocol="Blur", maker=trader, give=[self.fungible(m["paymentToken"], price)], take=[nft],
                receiver=trader, expiry=_int(m["expirationTime"]),
            )
        fees = [
            self.fungible(m["paymentToken"], price * _int(fee["rate"]) // BPS, _address(fee["recipient"]))
            for fee in m["fees"]
        ]
        net = max(0, price - sum(fee.amount for fee in fees))
        return OrderInfo(
            protocol="Blur", maker=trader, give=[nft], take=[self.fungible(m["paymentToken"], net)],
            receiver=trader, fees=fees, expiry=_int(m["expirationTime"]),
        )

    def looksrare_v1(self, m: dict[str, Any]) -> OrderInfo:
        signer = _address(m["signer"])
        price = _int(m["price"])
        nft = self.nft(m["collection"], m["tokenId"], _int(m["amount"]))
        if m["isOrderAsk"] in (True, "true", 1):
            least = price * _int(m["minPercentageToAsk"]) // BPS  # the floor the seller accepts after fees
            give, take = [nft], [self.fungible(m["currency"], least)]
        else:
            give, take = [self.fungible(m["currency"], price)], [nft]
        return OrderInfo(
            protocol="LooksRare v1", maker=signer, give=give, take=take, receiver=signer, expiry=_int(m["endTime"])
        )

    def looksrare_v2(self, m: dict[str, Any]) -> OrderInfo:
        signer = _address(m["signer"])
        amounts = [_int(a) for a in m["amounts"]]
        nfts = [
            self.nft(m["collection"], item, amounts[i] if i < len(amounts) else 1) for i, item in enumerate(m["itemIds"])
        ] or [self.any_nft(m["collection"])]
        price = self.fungible(m["currency"], _int(m["price"]))
        ask = _int(m["quoteType"]) == LOOKSRARE_V2_ASK
        return OrderInfo(
            protocol="LooksRare v2", maker=signer, give=nfts if ask else [price], take=[price] if ask else nfts,
            receiver=signer, expiry=_int(m["endTime"]),
        )

    # -- Permit2 witness transfers (UniswapX and others)

    def permit2_witness(self, types: Types, primary: str, m: dict[str, Any]) -> OrderInfo:
        permitted = m["permitted"] if isinstance(m["permitted"], list) else [m["permitted"]]
        give = [self.fungible(p["token"], _int(p["amount"])) for p in permitted]
        witness_type = dict(types[primary]).get("witness", "")
        witness = m.get("witness")
        if (
            primary == "PermitWitnessTransferFrom"
            and isinstance(witness, dict)
            and dict(types.get(witness_type, [])).get("info") == "OrderInfo"
            and _signature(types, "OrderInfo") == UNISWAPX_INFO
        ):
            try:
                order = self.uniswapx(witness, witness_type)
            except (KeyError, TypeError, ValueError, InputError):
                order = None  # it borrows the reactor's OrderInfo, not the rest of its shape
            if order is not None:
                return order
        return OrderInfo(
            protocol=f"Permit2 witness transfer ({witness_type or 'no witness'})",
            maker=self.signer,
            give=give,
            expiry=_int(m["deadline"]),
            complete=False,
            notes=[f"what you get in return is in the {witness_type} witness, a format not read here"],
        )

    def uniswapx(self, w: dict[str, Any], kind: str) -> OrderInfo | None:
        swapper = _address(w["info"]["swapper"])
        if "inputToken" in w and "inputStartAmount" in w:  # DutchOrder, ExclusiveDutchOrder
            given = self.fungible(w["inputToken"], max(_int(w["inputStartAmount"]), _int(w["inputEndAmount"])))
        elif "baseInputToken" in w:  # V2DutchOrder (a cosigner may only improve the base amounts)
            given = self.fungible(w["baseInputToken"], max(_int(w["baseInputStartAmount"]), _int(w["baseInputEndAmount"])))
        elif "inputToken" in w and "inputAmount" in w:  # LimitOrder
            given = self.fungible(w["inputToken"], _int(w["inputAmount"]))
        elif isinstance(w.get("input"), dict):  # PriorityOrder
            given = self.fungible(w["input"]["token"], _int(w["input"]["amount"]))
        else:
            return None
        outputs = w.get("outputs", w.get("baseOutputs"))
        if not isinstance(outputs, list) or not all(_is_output(out) for out in outputs):
            return None  # a witness that only borrows OrderInfo: read as an unknown witness
        received = [
            self.fungible(
                out["token"],
                min(_int(out["startAmount"]), _int(out["endAmount"])) if "startAmount" in out else _int(out["amount"]),
                _address(out["recipient"]),
            )
            for out in outputs
        ]
        mine = [asset for asset in received if asset.recipient == swapper]
        others = [asset for asset in received if asset.recipient != swapper]
        # Interface fees are outputs to others; when nothing comes back to the swapper, the outputs
        # are the take and their recipient is the receiver.
        receiver = swapper if mine or not others else others[0].recipient
        return OrderInfo(
            protocol=f"UniswapX {kind}",
            maker=swapper,
            give=[given],
            take=mine or others,
            receiver=receiver,
            fees=others if mine else [],
            expiry=_int(w["info"]["deadline"]),
        )


def _is_output(out: Any) -> bool:
    """A UniswapX output: {token, recipient} with startAmount/endAmount (Dutch) or amount."""
    return (
        isinstance(out, dict)
        and {"token", "recipient"} <= out.keys()
        and ({"startAmount", "endAmount"} <= out.keys() or "amount" in out)
    )


def _oneinch_v5_expiry(offsets: int, interactions: bytes) -> tuple[int | None, list[str]]:
    """The expiry the v3 protocol's predicate states: 0 when there is no predicate (never expires);
    None when it holds no timestampBelow the decoder can read."""
    ends = [offsets >> (32 * i) & 0xFFFFFFFF for i in range(8)]
    start = ends[ONEINCH_V5_PREDICATE_INDEX - 1]
    predicate = interactions[start : ends[ONEINCH_V5_PREDICATE_INDEX]]
    if not predicate:
        return 0, []
    times = []
    for selector, shift in ((ONEINCH_V5_TIMESTAMP_BELOW, 0), (ONEINCH_V5_TIMESTAMP_NONCE, 208)):
        at = predicate.find(selector)
        while at != -1 and at + 36 <= len(predicate):
            times.append(int.from_bytes(predicate[at + 4 : at + 36], "big") >> shift)
            at = predicate.find(selector, at + 4)
    if times:
        return min(times), []
    return None, ["its predicate holds no expiry the decoder can read"]


_FORMATS: dict[str, Callable[[_Reader, dict[str, Any]], OrderInfo]] = {
    ONEINCH_V6: _Reader.oneinch_v6,
    ONEINCH_V5: _Reader.oneinch_v5,
    ZEROX_LIMIT: _Reader.zerox_limit,
    ZEROX_RFQ: _Reader.zerox_rfq,
    ZEROX_OTC: _Reader.zerox_otc,
    COW: _Reader.cow,
    SEAPORT: _Reader.seaport,
    BLUR: _Reader.blur,
    LOOKSRARE_V1: _Reader.looksrare_v1,
    LOOKSRARE_V2: _Reader.looksrare_v2,
}
