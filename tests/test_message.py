"""personal_sign (EIP-191), Sign-In with Ethereum (EIP-4361) and eth_sign hashes."""

from __future__ import annotations

from eth_account.messages import _hash_eip191_message, encode_defunct
from eth_utils import keccak

from copilot.decoding import decode
from copilot.decoding.message import parse_siwe, personal_message_info
from copilot.inputs import parse_request

SIWE = (
    "example.com wants you to sign in with your Ethereum account:\n"
    "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2\n"
    "\n"
    "I accept the ExampleOrg Terms of Service: https://example.com/tos\n"
    "\n"
    "URI: https://example.com/login\n"
    "Version: 1\n"
    "Chain ID: 1\n"
    "Nonce: 32891756\n"
    "Issued At: 2021-09-30T16:25:24Z\n"
    "Expiration Time: 2021-10-01T16:25:24Z\n"
    "Resources:\n"
    "- ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
    "- https://example.com/my-web2-claim.json"
)


def test_eip191_hash_matches_eth_account() -> None:
    for message in (b"Hello", b"", bytes(range(256)), SIWE.encode()):
        expected = "0x" + _hash_eip191_message(encode_defunct(primitive=message)).hex()
        assert personal_message_info(message).signing_hash == expected


def test_text_is_shown_only_when_printable() -> None:
    assert personal_message_info("Héllo\nworld\t!".encode()).text == "Héllo\nworld\t!"
    assert personal_message_info(b"\x00\x01binary").text is None
    assert personal_message_info(b"\xff\xfe").text is None


def test_siwe_fields_are_parsed() -> None:
    fields = parse_siwe(SIWE)
    assert fields == {
        "domain": "example.com",
        "address": "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2",
        "statement": "I accept the ExampleOrg Terms of Service: https://example.com/tos",
        "uri": "https://example.com/login",
        "version": "1",
        "chain_id": "1",
        "nonce": "32891756",
        "issued_at": "2021-09-30T16:25:24Z",
        "expiration_time": "2021-10-01T16:25:24Z",
        "resources": "ipfs://bafybeiemxf5abjwjbikoz4mc3a3dla6ual3jsgpdr4cjr3oz3evfyavhwq/\n"
        "https://example.com/my-web2-claim.json",
    }


def test_siwe_with_scheme_and_missing_fields_is_flagged() -> None:
    fields = parse_siwe(
        "https://evil.example wants you to sign in with your Ethereum account:\n0xabc\n\nURI: x"
    )
    assert fields is not None
    assert fields["scheme"] == "https" and fields["domain"] == "evil.example"
    assert fields["missing"] == "version, chain_id, nonce, issued_at"
    assert parse_siwe("Hello there") is None


def test_decode_personal_sign_and_eth_sign() -> None:
    decoded = decode(
        parse_request(
            f'{{"method":"personal_sign","params":["0x{SIWE.encode().hex()}","0x' + "ab" * 20 + '"]}'
        )
    )
    assert decoded.message is not None and decoded.message.siwe is not None
    assert decoded.payload_hash == decoded.message.signing_hash
    digest = "0x" + "cd" * 32
    hashed = decode(parse_request(digest))
    assert hashed.message is not None
    assert hashed.message.signing_hash == digest  # what would be signed is the hash itself
    # What is stored is a labelled digest of it: the 32 bytes may be a pasted private key.
    assert hashed.payload_hash == "0x" + keccak(b"txcopilot eth_sign payload\x00" + bytes.fromhex("cd" * 32)).hex()
