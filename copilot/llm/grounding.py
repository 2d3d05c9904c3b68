"""The grounding check: a sentence of the model's that names an address, amount, token or protocol
not in the facts it was given is dropped and counted. Small models invent numbers and copy the
wrong address; a dropped sentence costs less than a confident wrong one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from copilot.llm.schema import Grounding

_HEX = re.compile(r"0x[0-9a-fA-F]{4,}")
_SHORT_ADDRESS = re.compile(r"0x([0-9a-fA-F]{2,})(?:…|\.\.\.)([0-9a-fA-F]{2,})")
_NUMBER = re.compile(r"(?<![\w.])\d[\d,]*(?:\.\d+)?(?![\w])")
# USDC, WETH, DAI; stETH, wstETH, cbETH
_SYMBOL = re.compile(r"\b(?:[A-Z][A-Z0-9]{1,9}|[a-z]{1,3}[A-Z]{2,}[A-Za-z0-9]*)\b")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")

# Upper-case words that are vocabulary, not tokens.
_GENERIC_CAPS = {
    "AI",
    "API",
    "DAPP",
    "DEX",
    "EIP",
    "ENS",
    "EOA",
    "ERC",
    "ID",
    "IDS",
    "JSON",
    "NFT",
    "NFTS",
    "OK",
    "RPC",
    "SIWE",
    "URL",
    "USD",
    "DAO",
    "DEFI",
    "TX",
    "UTC",
    "NOT",
    "NO",
    "DO",
    "IS",
    "IT",
    "IF",
    "OR",
    "AND",
    "THE",
    "YOU",
    "YOUR",
    "ALL",
    "ANY",
    "NEW",
    "HIGH",
    "LOW",
    "MEDIUM",
    "CRITICAL",
    "DELEGATECALL",
    "CALL",
    "EIP712",
    "WARNING",
    "NOTE",
    "ASK",
}
# Protocol and brand names a model may drop in; grounded only if the facts name them too.
PROTOCOL_NAMES = (
    "1inch",
    "Aave",
    "Across",
    "Arbitrum",
    "Balancer",
    "Binance",
    "Blur",
    "Chainlink",
    "Coinbase",
    "Compound",
    "Convex",
    "CoW Swap",
    "CowSwap",
    "Curve",
    "dYdX",
    "EigenLayer",
    "Ethena",
    "Frax",
    "Gnosis",
    "GMX",
    "Kyber",
    "Lido",
    "LooksRare",
    "Maker",
    "MakerDAO",
    "MetaMask",
    "Morpho",
    "OpenSea",
    "Optimism",
    "ParaSwap",
    "Pendle",
    "Permit2",
    "Polygon",
    "Rarible",
    "Rocket Pool",
    "Seaport",
    "Stargate",
    "SushiSwap",
    "Synthetix",
    "Tether",
    "Tornado",
    "Uniswap",
    "Wormhole",
    "Yearn",
    "Zora",
)
_PROTOCOL = re.compile(r"\b(" + "|".join(re.escape(name) for name in PROTOCOL_NAMES) + r")\b", re.IGNORECASE)


@dataclass
class FactIndex:
    """What the facts mention, normalised for lookup."""

    text: str
    lowered: str = ""
    numbers: set[str] = field(default_factory=set)
    hexes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.lowered = self.text.lower()
        self.hexes = [h.lower() for h in _HEX.findall(self.text)]
        without_hex = _HEX.sub(" ", self.text)
        self.numbers = {_normal_number(n) for n in _NUMBER.findall(without_hex)}


def _normal_number(text: str) -> str:
    text = text.replace(",", "")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.lstrip("0") or "0"


def ungrounded_terms(sentence: str, facts: FactIndex) -> list[str]:
    """The addresses, numbers, symbols and protocol names in `sentence` that the facts lack."""
    missing: list[str] = []
    for short in _SHORT_ADDRESS.finditer(sentence):
        head, tail = short.group(1).lower(), short.group(2).lower()
        if not any(h.startswith("0x" + head) and h.endswith(tail) for h in facts.hexes):
            missing.append(short.group(0))
    rest = _SHORT_ADDRESS.sub(" ", sentence)
    for hexed in _HEX.findall(rest):
        if hexed.lower() not in facts.lowered:
            missing.append(hexed)
    rest = _HEX.sub(" ", rest)
    for number in _NUMBER.findall(rest):
        if _normal_number(number) not in facts.numbers:
            missing.append(number)
    for symbol in _SYMBOL.findall(rest):
        if symbol.upper() not in _GENERIC_CAPS and not re.search(
            rf"\b{re.escape(symbol.lower())}\b", facts.lowered
        ):
            missing.append(symbol)
    for name in _PROTOCOL.findall(rest):
        if name.lower() not in facts.lowered:
            missing.append(name)
    return missing


def split_sentences(text: str) -> list[str]:
    return [part.strip() for part in _SENTENCE_END.split(text.strip()) if part.strip()]


class GroundingCheck:
    """Checks units of text (sentences, steps) one by one and keeps the tally."""

    def __init__(self, facts_text: str) -> None:
        self.facts = FactIndex(facts_text)
        self.result = Grounding()

    def keep(self, sentence: str) -> bool:
        self.result.checked += 1
        missing = ungrounded_terms(sentence, self.facts)
        if missing:
            self.result.dropped += 1
            self.result.dropped_sentences.append(f"{sentence} [not in the facts: {', '.join(missing[:4])}]")
            return False
        return True

    def filter_text(self, text: str) -> str:
        """The sentences of `text` that pass, joined again."""
        return " ".join(s for s in split_sentences(text) if self.keep(s))
