"""Sign exactly what was reviewed, within the limits, and record it before anyone sees the signature.

Order of a signature (every step after the reservation either marks it signed or aborts it):
1. the ledger reserves the spend (limit check and pending row in one transaction);
2. the payload is derived again from the request about to be signed; its hash must equal the
   reviewed `payload_hash`, and the hash eth-account will sign must equal the reviewed signing hash;
3. the key is decrypted, used, and wiped;
4. the signed output is decoded again: its signer must be the account and its fields the reviewed ones;
5. the audit log records the signature (every byte written and fsynced, or the reservation is aborted
   and nothing released), then the ledger marks the reservation signed;
6. only then is the signature returned to the caller (printed, broadcast).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, Field

from copilot.errors import CopilotError, InputError, Refused
from copilot.models import BigInt, DecodedRequest, RequestKind, Review, SigningRequest, TransactionInfo
from copilot.policy.extract import request_chain_id
from copilot.signing.auditlog import AuditLog, LogWriteFailed
from copilot.signing.hygiene import scrub
from copilot.signing.keystore import unlocked
from copilot.signing.ledger import SpendCheck, SpendLedger

SUPPORTED_TX_TYPES = (0, 1, 2, 4)


@dataclass
class SignJob:
    """One reviewed request on its way to a signature. `request` is what gets signed."""

    review: Review
    request: SigningRequest
    key_name: str
    address: str
    reviewed_payload_hash: str
    reviewed_signing_hash: str | None
    amounts: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_review(cls, review: Review, key_name: str, address: str, amounts: dict[str, int]) -> SignJob:
        return cls(
            review=review,
            request=review.decoded.request.model_copy(deep=True),
            key_name=key_name,
            address=address,
            reviewed_payload_hash=review.decoded.payload_hash,
            reviewed_signing_hash=signing_hash_of(review.decoded),
            amounts=dict(amounts),
        )


def _no_checkpoint(stage: str, job: SignJob) -> None:
    """Stages: "reserved", "before-sign", "logged", "recorded". Tests replace CHECKPOINT to interfere at each."""


CHECKPOINT: Callable[[str, SignJob], None] = _no_checkpoint


class SignedAuthorization(BaseModel):
    chain_id: BigInt
    address: str
    nonce: BigInt
    y_parity: int
    r: BigInt
    s: BigInt


class Signed(BaseModel):
    """What `sign` outputs. Contains signatures only: never key material."""

    account: str
    address: str
    kind: str
    chain_id: BigInt | None = None
    payload_hash: str  # the reviewed payload this signature is bound to
    signing_hash: str  # the digest that was signed
    raw_transaction: str | None = None
    transaction_hash: str | None = None
    signature: str | None = None
    authorizations: list[SignedAuthorization] = Field(default_factory=list)
    reservation: int
    broadcast: dict[str, Any] | None = None


def signing_hash_of(decoded: DecodedRequest) -> str | None:
    if decoded.transaction:
        return decoded.transaction.signing_hash
    if decoded.typed_data:
        return decoded.typed_data.signing_hash
    if decoded.message:
        return decoded.message.signing_hash
    return None


def check_signable(decoded: DecodedRequest, address: str) -> None:
    """Refuse what this signer never signs, before anything is reserved or decrypted."""
    request = decoded.request
    if request.kind == RequestKind.HASH:
        raise Refused(
            "eth_sign of a raw hash is refused: a hash can be anything, including a transaction",
            "ask the dApp for personal_sign or EIP-712 typed data, which can be reviewed",
        )
    if request.kind == RequestKind.CALL_BATCH:
        raise Refused("wallet_sendCalls batches are not signed by a local key", "send the calls as separate transactions")
    tx = decoded.transaction
    if request.kind in (RequestKind.TRANSACTION, RequestKind.RAW_TRANSACTION):
        if tx is None:
            raise InputError("the request has no transaction to sign")
        if tx.signed:
            raise InputError("this transaction is already signed", "broadcast it as it is, e.g. `cast publish`")
        if tx.type not in SUPPORTED_TX_TYPES:
            raise Refused(f"transaction type {tx.type} is not supported", "the signer signs types 0, 1, 2 and 4")
        missing = [name for name in ("chain_id", "nonce", "gas") if getattr(tx, name) is None]
        fee_fields = ("gas_price",) if tx.type in (0, 1) else ("max_fee_per_gas", "max_priority_fee_per_gas")
        missing += [name for name in fee_fields if getattr(tx, name) is None]
        if missing:
            raise InputError(
                f"the transaction has no {', '.join(missing)}",
                "pass --rpc URL so they are filled from your node before the review, or set them in the request",
            )
        if tx.type == 4 and tx.to is None:
            raise InputError("a type 4 transaction needs a recipient")
    sender = request.sender
    if sender and sender.lower() != address.lower():
        raise Refused(f"the request is from {sender} but the key is for {address}", "pick the matching --account")


def unsigned_authorizations(tx: TransactionInfo | None) -> list[int]:
    """Indexes of EIP-7702 authorizations left for this key to sign (r and s still zero)."""
    if tx is None:
        return []
    return [i for i, auth in enumerate(tx.authorization_list) if auth.r == 0 and auth.s == 0]


class Signer:
    def __init__(self, ledger: SpendLedger, log: AuditLog) -> None:
        self.ledger = ledger
        self.log = log

    def sign(self, job: SignJob, password: bytes, check: SpendCheck) -> Signed:
        decoded = job.review.decoded
        reservation = self.ledger.reserve(
            account=job.address,
            chain_id=request_chain_id(decoded),
            kind=decoded.request.kind.value,
            payload_hash=job.reviewed_payload_hash,
            amounts=job.amounts,
            check=check,
        )
        try:
            CHECKPOINT("reserved", job)
            CHECKPOINT("before-sign", job)
            signed = self._sign_checked(job, password, reservation)
        except BaseException as exc:
            reason = exc.one_line() if isinstance(exc, CopilotError) else type(exc).__name__
            self.ledger.mark_aborted(reservation, reason)
            raise
        # Log first, then the ledger: a crash in between leaves a logged signature whose reservation is
        # still pending, which keeps counting against the limits. The signature is released after both.
        try:
            self.log.append("signature", _audit_record(signed, job.amounts))
        except LogWriteFailed as exc:
            if not exc.recorded:  # the line was cut back off the log: this signature never existed
                self.ledger.mark_aborted(reservation, exc.one_line())
            raise
        CHECKPOINT("logged", job)
        self.ledger.mark_signed(reservation, signed.transaction_hash or signed.signing_hash)
        CHECKPOINT("recorded", job)
        return signed

    def _sign_checked(self, job: SignJob, password: bytes, reservation: int) -> Signed:
        from copilot.decoding import decode

        # What you see is what you sign: derive the payload again from the request to be signed.
        fresh = decode(job.request.model_copy(deep=True))
        if fresh.payload_hash != job.reviewed_payload_hash:
            raise Refused(
                "the request changed between review and signing; nothing was signed",
                "run `txcopilot sign` again to review what is there now",
            )
        if job.reviewed_signing_hash is None or signing_hash_of(fresh) != job.reviewed_signing_hash:
            raise Refused("the reviewed request has no signing hash that matches the payload; nothing was signed")
        base = {
            "account": job.key_name,
            "address": job.address,
            "kind": fresh.request.kind.value,
            "chain_id": request_chain_id(fresh),
            "payload_hash": job.reviewed_payload_hash,
            "reservation": reservation,
        }
        if fresh.transaction is not None:
            return self._sign_transaction(job, fresh.transaction, password, base)
        if fresh.typed_data is not None and fresh.request.typed_data is not None:
            try:
                signable = typed_data_signable(fresh.request.typed_data)
            except Exception:  # a spelling the review reads and eth-account does not ("0X1"): fail closed
                raise Refused(
                    "eth-account cannot encode this typed data as it was reviewed; nothing was signed",
                    "ask the dApp for values in the usual spelling (0x-prefixed lower-case hex, decimal numbers)",
                ) from None
            return self._sign_message(job, signable, fresh.typed_data.signing_hash, password, base)
        if fresh.message is not None:
            from eth_account.messages import encode_defunct

            signable = encode_defunct(primitive=bytes.fromhex(fresh.message.hex.removeprefix("0x")))
            return self._sign_message(job, signable, fresh.message.signing_hash, password, base)
        raise Refused("nothing in this request can be signed")

    def _sign_message(self, job: SignJob, signable: Any, reviewed_hash: str, password: bytes, base: dict[str, Any]) -> Signed:
        from eth_account import Account
        from eth_account.messages import _hash_eip191_message

        digest = "0x" + _hash_eip191_message(signable).hex()
        if digest != reviewed_hash.lower():
            raise Refused("the message to sign does not hash to the reviewed signing hash; nothing was signed")
        with unlocked(job.key_name, password) as (key, address):
            _check_address(address, job.address)
            signature = _with_key(key, lambda k: Account.sign_message(signable, k).signature)
        if Account.recover_message(signable, signature=signature).lower() != job.address.lower():
            raise Refused("the signature does not recover to the account; nothing was released")
        return Signed(**base, signing_hash=digest, signature="0x" + bytes(signature).hex())

    def _sign_transaction(self, job: SignJob, tx: TransactionInfo, password: bytes, base: dict[str, Any]) -> Signed:
        from eth_account import Account
        from eth_account._utils.legacy_transactions import serializable_unsigned_transaction_from_dict

        to_sign = unsigned_authorizations(tx)
        tx_dict = _eth_account_dict(tx)
        if not to_sign:
            digest = "0x" + serializable_unsigned_transaction_from_dict(tx_dict).hash().hex()
            if digest != job.reviewed_signing_hash:
                raise Refused("the transaction to sign does not hash to the reviewed signing hash; nothing was signed")
        authorizations: list[SignedAuthorization] = []
        with unlocked(job.key_name, password) as (key, address):
            _check_address(address, job.address)
            for index in to_sign:
                tuple_ = tx_dict["authorizationList"][index]
                unsigned = {"chainId": tuple_["chainId"], "address": tuple_["address"], "nonce": tuple_["nonce"]}
                signed_auth = _with_key(key, lambda k, u=unsigned: Account.sign_authorization(u, k))  # type: ignore[misc]
                tuple_.update(yParity=signed_auth.y_parity, r=signed_auth.r, s=signed_auth.s)
                authorizations.append(
                    SignedAuthorization(
                        chain_id=signed_auth.chain_id,
                        address=tuple_["address"],
                        nonce=signed_auth.nonce,
                        y_parity=signed_auth.y_parity,
                        r=signed_auth.r,
                        s=signed_auth.s,
                    )
                )
            signed_tx = _with_key(key, lambda k: Account.sign_transaction(tx_dict, k))
        raw = bytes(signed_tx.raw_transaction)
        _check_signed_transaction(raw, tx, job, exact_hash=not to_sign)
        return Signed(
            **base,
            signing_hash="0x" + serializable_unsigned_transaction_from_dict(tx_dict).hash().hex(),
            raw_transaction="0x" + raw.hex(),
            transaction_hash="0x" + bytes(signed_tx.hash).hex(),
            authorizations=authorizations,
        )


def typed_data_signable(typed: dict[str, Any]) -> Any:
    """The EIP-712 SignableMessage, hashed by eth-account over the fields the types declare, in the order
    they declare them: as MetaMask (eth-sig-util) signs and as the review hashed. Not
    eth_account.messages.encode_typed_data: it hashes EIP712Domain in the canonical field order whatever
    the types say, and refuses undeclared domain fields, so it would sign (or refuse) something other
    than what was reviewed. The caller still checks the digest against the reviewed signing hash."""
    from eth_account._utils.encode_typed_data.encoding_and_hashing import hash_domain, hash_struct
    from eth_account.messages import SignableMessage
    from hexbytes import HexBytes

    types = typed["types"]
    domain = hash_struct("EIP712Domain", types, typed["domain"]) if "EIP712Domain" in types else hash_domain(typed["domain"])
    message = hash_struct(typed["primaryType"], types, typed["message"])
    return SignableMessage(HexBytes(b"\x01"), HexBytes(domain), HexBytes(message))


def _with_key(key: bytearray, use: Callable[[Any], Any]) -> Any:
    """Run `use` with an eth-keys PrivateKey built from the buffer, then wipe the copy it holds."""
    from eth_keys.datatypes import PrivateKey

    raw = bytes(key)
    try:
        return use(PrivateKey(raw))
    except Exception:
        # Library errors can quote their inputs: never let one near a message or log.
        raise Refused("signing failed inside eth-account; nothing was signed") from None
    finally:
        scrub(raw)


def _check_address(address: str, expected: str) -> None:
    if address.lower() != expected.lower():
        raise Refused(f"the key decrypts to {address}, not the reviewed account {expected}")


def _check_signed_transaction(raw: bytes, reviewed: TransactionInfo, job: SignJob, *, exact_hash: bool) -> None:
    """Decode the signed bytes with the reviewer's own decoder: same fields, signed by the account."""
    from copilot.decoding.transaction import decode_raw_transaction

    signed = decode_raw_transaction(raw)
    if (signed.sender or "").lower() != job.address.lower():
        raise Refused("the signed transaction does not recover to the account; nothing was released")
    compared = ("type", "chain_id", "nonce", "gas", "gas_price", "max_fee_per_gas", "max_priority_fee_per_gas", "to", "value", "data")
    changed = [name for name in compared if getattr(signed, name) != getattr(reviewed, name)]
    if [(a.chain_id, a.address, a.nonce) for a in signed.authorization_list] != [
        (a.chain_id, a.address, a.nonce) for a in reviewed.authorization_list
    ]:
        changed.append("authorization_list")
    if exact_hash and signed.signing_hash != job.reviewed_signing_hash:
        changed.append("signing_hash")
    if changed:
        raise Refused(f"the signed transaction differs from the reviewed one ({', '.join(changed)}); nothing was released")


def _eth_account_dict(tx: TransactionInfo) -> dict[str, Any]:
    out: dict[str, Any] = {
        "chainId": tx.chain_id,
        "nonce": tx.nonce,
        "gas": tx.gas,
        "value": tx.value,
        "data": tx.data,
    }
    if tx.to is not None:
        out["to"] = tx.to
    if tx.type in (0, 1):
        out["gasPrice"] = tx.gas_price
    else:
        out["maxFeePerGas"] = tx.max_fee_per_gas
        out["maxPriorityFeePerGas"] = tx.max_priority_fee_per_gas
    if tx.type != 0:
        out["type"] = tx.type
        out["accessList"] = [
            {"address": entry["address"], "storageKeys": list(entry.get("storageKeys", entry.get("storage_keys", [])))}
            for entry in tx.access_list
        ]
    if tx.type == 4:
        out["authorizationList"] = [
            {"chainId": a.chain_id, "address": a.address, "nonce": a.nonce, "yParity": a.y_parity, "r": a.r, "s": a.s}
            for a in tx.authorization_list
        ]
    return out


def _audit_record(signed: Signed, amounts: dict[str, int]) -> dict[str, Any]:
    """The signature, and what it spends (asset -> base units, as decimal strings): enough for
    `txcopilot log rebuild-ledger` to count it again."""
    return {**signed.model_dump(mode="json", exclude={"broadcast"}), "amounts": {asset: str(amount) for asset, amount in amounts.items()}}
