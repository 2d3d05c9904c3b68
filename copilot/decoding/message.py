"""personal_sign messages (EIP-191), Sign-In with Ethereum (EIP-4361) and eth_sign hashes."""

from __future__ import annotations

import re

from copilot.decoding._crypto import hex0x, keccak256
from copilot.models import MessageInfo

_SIWE_HEADER = re.compile(
    r"^(?:(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*)://)?(?P<domain>\S+) wants you to sign in with your Ethereum account:$"
)
_SIWE_FIELDS = {
    "URI": "uri",
    "Version": "version",
    "Chain ID": "chain_id",
    "Nonce": "nonce",
    "Issued At": "issued_at",
    "Expiration Time": "expiration_time",
    "Not Before": "not_before",
    "Request ID": "request_id",
}
SIWE_REQUIRED = ("uri", "version", "chain_id", "nonce", "issued_at")


def eip191_hash(message: bytes) -> bytes:
    """keccak("\\x19Ethereum Signed Message:\\n" ‖ len(message) ‖ message): what personal_sign signs."""
    return keccak256(b"\x19Ethereum Signed Message:\n" + str(len(message)).encode() + message)


def printable_text(message: bytes) -> str | None:
    """The message as text when it is valid UTF-8 made of printable characters and ordinary whitespace."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if all(char.isprintable() or char in "\n\r\t" for char in text):
        return text
    return None


def personal_message_info(message: bytes) -> MessageInfo:
    text = printable_text(message)
    return MessageInfo(
        hex=hex0x(message),
        text=text,
        signing_hash=hex0x(eip191_hash(message)),
        siwe=parse_siwe(text) if text else None,
    )


def hash_info(digest: bytes) -> MessageInfo:
    """eth_sign of a raw 32-byte hash: what is signed is the hash itself, with no prefix."""
    return MessageInfo(hex=hex0x(digest), signing_hash=hex0x(digest))


ETH_SIGN_PAYLOAD_LABEL = b"txcopilot eth_sign payload\x00"


def eth_sign_payload_hash(digest: bytes) -> str:
    """The payload hash of an eth_sign review: keccak256 of a label and the 32 bytes, never the bytes.

    Payload hashes go to the audit log, and the 32 bytes pasted as a "hash" may be a private key; the
    label keeps the digest from ever equalling a hash someone could be asked to sign. The signer
    still binds to the bytes through `signing_hash` (the hash itself), which is never stored.
    """
    return hex0x(keccak256(ETH_SIGN_PAYLOAD_LABEL + digest))


def parse_siwe(text: str) -> dict[str, str] | None:
    """EIP-4361 fields (snake_case keys; resources newline-separated), or None when not a SIWE message.

    A message with the SIWE header but without a mandatory field still parses; `missing` lists what is
    absent, since a malformed sign-in request is itself worth flagging.
    """
    lines = text.replace("\r\n", "\n").split("\n")
    header = _SIWE_HEADER.match(lines[0].strip())
    if not header or len(lines) < 2:
        return None
    fields: dict[str, str] = {"domain": header.group("domain"), "address": lines[1].strip()}
    if header.group("scheme"):
        fields["scheme"] = header.group("scheme")
    statement: list[str] = []
    resources: list[str] = []
    in_resources = False
    for line in lines[2:]:
        key, sep, value = line.partition(": ")
        if in_resources and line.startswith("- "):
            resources.append(line[2:].strip())
        elif line.strip() == "Resources:":
            in_resources = True
        elif sep and key in _SIWE_FIELDS:
            fields[_SIWE_FIELDS[key]] = value.strip()
        elif line.strip() and "uri" not in fields:
            statement.append(line.strip())
    if statement:
        fields["statement"] = " ".join(statement)
    if resources:
        fields["resources"] = "\n".join(resources)
    missing = [name for name in SIWE_REQUIRED if name not in fields]
    if missing:
        fields["missing"] = ", ".join(missing)
    return fields
