"""Render one ERC-7730 display format over decoded data: paths, field specs and value formats.

The data to render is a tree of `Node`s (ABI- or EIP-712-typed values), so every format knows the
type it is formatting. Paths follow the spec's limited JSON path: `#.` the data, `@.` the container
(transaction or message), `$.` the descriptor itself; names, `[i]` (negative from the end),
`[a:b]` slices (of arrays, bytes or a 32-byte integer) and `[]` (every element).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from copilot.decoding._crypto import checksum_hex
from copilot.decoding.tokens import format_amount, format_native, native_token, scale
from copilot.inputs.values import is_address
from copilot.models import DisplayField, TokenMeta

MAX_CALLDATA_DEPTH = 3
SIGNER = "the signing account"  # `@.from` when the request does not name its signer
_SI_PREFIXES = {-12: "p", -9: "n", -6: "µ", -3: "m", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}


class RenderError(ValueError):
    """The descriptor does not apply to this data (a path or a value does not fit)."""


@dataclass
class Node:
    """A typed value: `type` is an ABI type ("uint256", "address", "(…)[]") or an EIP-712 struct name;
    `value` is a dict for structs, a list for arrays, else int / bool / str / bytes."""

    type: str
    value: Any

    @property
    def is_array(self) -> bool:
        return isinstance(self.value, list)


# --------------------------------------------------------------------------- rendering context


@dataclass
class Container:
    """The `@.` values: the enclosing transaction, or for EIP-712 the verifying contract as `to`."""

    chain_id: int | None
    to: str | None
    value: int = 0
    sender: str | None = None


@dataclass
class Services:
    """What the renderer looks up outside the descriptor (token metadata, names, nested calls)."""

    token: Callable[[int | None, str], TokenMeta | None]
    name: Callable[[int | None, str], str | None]
    nested_call: Callable[[int | None, str, bytes, int, str | None, int], Any] | None = None


@dataclass
class Renderer:
    descriptor: dict[str, Any]
    data: Node
    container: Container
    services: Services
    depth: int = 0
    fields: list[DisplayField] = field(default_factory=list)
    shown: set[str] = field(default_factory=set)  # data paths (as written) that a field displays

    # ------------------------------------------------------------------ fields

    def render(self, format_spec: dict[str, Any]) -> list[DisplayField]:
        self._fields(format_spec.get("fields") or [], [])
        self._required(format_spec.get("required") or [])
        return self.fields

    def _required(self, paths: list[str]) -> None:
        """The spec's `required`: what a wallet SHOULD show. One that no shown field covers (not
        formatted, or hidden by `visible`) is shown raw rather than left out."""
        for path in paths:
            root, tokens = parse_path(path)
            if root not in ("", "#") or _join_path(tokens) in self.shown:
                continue
            self._show({"path": path, "label": tokens[-1] if tokens else path}, tokens, tokens, [])

    def _fields(self, specs: list[Any], prefix: list[str]) -> None:
        run: list[tuple[dict[str, Any], list[str]]] = []  # consecutive fields over one array
        for raw_spec in specs:
            spec = self._expand_ref(raw_spec)
            path = spec.get("path")
            root, tokens = parse_path(path) if path is not None else ("", [])
            if root == "":
                tokens = prefix + tokens
            is_data_field = path is not None and root in ("", "#") and not {"fields", "value"} & spec.keys()
            if run and not (is_data_field and _array_prefix(tokens) == _array_prefix(run[0][1])):
                self._data_fields(run, prefix)
                run = []
            if is_data_field:
                if spec.get("visible") != "never":
                    run.append((spec, tokens))
                continue
            if "fields" in spec:
                self._fields(spec["fields"], tokens)
            elif spec.get("visible") == "never":
                continue
            elif "value" in spec:
                self._literal(spec, prefix)
            elif root == "@":
                self._emit(spec, [], self._container_node(tokens), prefix)
            elif root == "$":
                self._emit(spec, [], self._constant_node(path), prefix)
        if run:
            self._data_fields(run, prefix)

    def _literal(self, spec: dict[str, Any], prefix: list[str]) -> None:
        try:
            node = self._constant_node(spec["value"])
        except RenderError:
            # an ERC-wide template (ercs/) names constants only the descriptors including it define
            return
        self._emit(spec, [], node, prefix)

    def _data_fields(self, run: list[tuple[dict[str, Any], list[str]]], prefix: list[str]) -> None:
        """Show fields of the data. Consecutive fields over the same array (`creators.[].account`,
        `creators.[].value`) are shown element by element, so each value sits next to its peers."""
        for _, tokens in run:
            self.shown.add(_join_path(tokens))
        head = _array_prefix(run[0][1])
        if head is None or len(run) == 1:
            for spec, tokens in run:
                self._show(spec, tokens, tokens, prefix)
            return
        for index in self._array_indices(head):
            for spec, tokens in run:
                self._show(spec, [*head, index, *tokens[len(head) + 1 :]], tokens, prefix)

    def _show(self, spec: dict[str, Any], selected: list[str], pattern: list[str], prefix: list[str]) -> None:
        for concrete, node in resolve(self.data, selected):
            for element_path, element in _leaves(concrete, node):
                self._emit(spec, element_path, element, prefix, pattern)

    def _array_indices(self, head: list[str]) -> list[str]:
        arrays = list(resolve(self.data, head))
        if len(arrays) != 1 or not arrays[0][1].is_array:
            raise RenderError(f"{_join_path(head)} is not one array")
        return [f"[{i}]" for i in range(len(arrays[0][1].value))]

    def _expand_ref(self, spec: dict[str, Any]) -> dict[str, Any]:
        ref = spec.get("$ref")
        if not ref:
            return spec
        from copilot.decoding.erc7730_descriptor import merge

        definition = self._descriptor_value(ref)
        if not isinstance(definition, dict):
            raise RenderError(f"{ref} is not a field definition")
        local = {k: v for k, v in spec.items() if k != "$ref"}
        return dict(merge(definition, local))

    def _emit(
        self,
        spec: dict[str, Any],
        concrete: list[str],
        node: Node,
        prefix: list[str],
        pattern: list[str] | None = None,
    ) -> None:
        if not self._visible(spec.get("visible"), node):
            return
        # constants may stand for any parameter value; `...Path` and enum `$ref` are paths themselves
        params = {
            k: v if k.endswith("Path") or k == "$ref" else self._constant(v)
            for k, v in (spec.get("params") or {}).items()
        }
        scope = _Scope(pattern or [], concrete, prefix)
        format_name = spec.get("format") or "raw"
        label = spec.get("label") or (spec.get("path") or "value").rsplit(".", 1)[-1]
        shown_path = _join_path(concrete) if concrete else spec.get("path")
        if format_name == "calldata":
            self._calldata(label, node, params, scope, shown_path)
            return
        formatter = _FORMATTERS.get(format_name, Renderer._raw)
        value = formatter(self, node, params, scope)
        self.fields.append(DisplayField(label=label, value=value, format=format_name, path=shown_path))

    def _visible(self, rule: Any, node: Node) -> bool:
        if rule is None or rule in ("always", "optional"):
            return True
        if rule == "never":
            return False
        if isinstance(rule, dict):
            shown = comparable(node.value)
            if "ifNotIn" in rule:
                return shown not in {comparable(v) for v in rule["ifNotIn"]}
            if "mustBe" in rule:
                if shown not in {comparable(v) for v in rule["mustBe"]}:
                    raise RenderError(f"value {node.value!r} is not one the descriptor allows")
                return False
        return True

    # ------------------------------------------------------------------ value lookups

    def _descriptor_value(self, ref: str) -> Any:
        root, tokens = parse_path(ref)
        if root != "$":
            raise RenderError(f"{ref} is not a descriptor path")
        value: Any = self.descriptor
        for token in tokens:
            if not isinstance(value, dict) or token not in value:
                raise RenderError(f"{ref} is not in the descriptor")
            value = value[token]
        return value

    def _constant(self, value: Any) -> Any:
        """A parameter that is either a literal or a `$.` reference into the descriptor."""
        if isinstance(value, str) and value.startswith("$."):
            return self._descriptor_value(value)
        return value

    def _constant_node(self, value: Any) -> Node:
        value = self._constant(value)
        if isinstance(value, bool):
            return Node("bool", value)
        if isinstance(value, int):
            return Node("uint256", value)
        if isinstance(value, str) and is_address(value):
            return Node("address", checksum_hex(value))
        return Node("string", value)

    def _container_node(self, tokens: list[str]) -> Node:
        name = tokens[0] if tokens else ""
        if name == "to" and self.container.to:
            return Node("address", checksum_hex(self.container.to))
        if name == "from":
            # an unsigned request does not say who signs it: show the role rather than guess
            return Node("address", checksum_hex(self.container.sender) if self.container.sender else SIGNER)
        if name == "value":
            return Node("uint256", self.container.value)
        if name == "chainId" and self.container.chain_id is not None:
            return Node("uint256", self.container.chain_id)
        raise RenderError(f"@.{name} is not known for this request")

    def _param_node(self, params: dict[str, Any], name: str, scope: _Scope) -> Node | None:
        """The node for `<name>Path` (a data path) or `<name>` (a constant), if the spec gives one."""
        if f"{name}Path" in params:
            path = params[f"{name}Path"]
            root, tokens = parse_path(path)
            if root == "@":
                return self._container_node(tokens)
            if root == "$":
                return self._constant_node(path)
            return scope.resolve_one(self.data, tokens if root == "#" else scope.prefix + tokens)
        if name in params:
            return self._constant_node(params[name])
        return None

    def _address_param(self, params: dict[str, Any], name: str, scope: _Scope) -> str | None:
        node = self._param_node(params, name, scope)
        if node is None:
            return None
        return _as_address(node)

    # ------------------------------------------------------------------ formats

    def _raw(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        return format_raw(node)

    def _amount(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        return format_native(_as_int(node), self.container.chain_id, grouped=False)

    def _token_amount(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        amount = _as_int(node)
        try:
            token = self._address_param(params, "token", scope)
        except RenderError:  # e.g. the "0x0" placeholder of ERC-wide vault descriptors
            token = None
        chain_id = self._chain_param(params, scope)
        natives = self._constant(params.get("nativeCurrencyAddress") or [])
        natives = [natives] if isinstance(natives, str) else natives
        meta: TokenMeta | None
        if token is not None and token.lower() in {str(self._constant(n)).lower() for n in natives}:
            meta = native_token(chain_id)
        else:
            meta = self.services.token(chain_id, token) if token else None
        threshold = params.get("threshold")
        return format_amount(
            amount,
            meta,
            grouped=False,  # clear-signing screens show amounts ungrouped
            threshold=None if threshold is None else to_int(self._constant(threshold)),
            unlimited=params.get("message") or "Unlimited",
        )

    def _chain_param(self, params: dict[str, Any], scope: _Scope) -> int | None:
        node = self._param_node(params, "chainId", scope)
        return _as_int(node) if node is not None else self.container.chain_id

    def _address_name(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        if node.value == SIGNER:
            return SIGNER
        address = _as_address(node)
        senders = self._constant(params.get("senderAddress") or [])
        senders = [senders] if isinstance(senders, str) else senders
        if address.lower() in {str(self._constant(s)).lower() for s in senders}:
            return "Sender"
        name = self.services.name(self.container.chain_id, address)
        # the trusted name, and the address it stands for, so that both can be checked
        return f"{name} ({address})" if name else address

    def _date(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        value = _as_int(node)
        if params.get("encoding") == "blockheight":
            return f"block {value}"
        try:
            moment = datetime.fromtimestamp(value, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return str(value)
        return moment.strftime("%Y-%m-%d %I:%M:%S %p UTC")

    def _duration(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        seconds = _as_int(node)
        hours, rest = divmod(seconds, 3600)
        return f"{hours:02d}:{rest // 60:02d}:{rest % 60:02d}"

    def _unit(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        decimals = int(params.get("decimals") or 0)
        base = str(params.get("base") or "")
        amount = _as_int(node)
        prefix = ""
        if params.get("prefix") and amount != 0:
            exponent = ((len(str(abs(amount))) - 1 - decimals) // 3) * 3  # of the leading digit
            if exponent in _SI_PREFIXES:
                prefix = _SI_PREFIXES[exponent]
                decimals += exponent
        return f"{scale(amount, decimals, grouped=False)} {prefix}{base}".rstrip()

    def _enum(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        values = self._descriptor_value(params["$ref"]) if "$ref" in params else {}
        if isinstance(values, dict):
            for key in (str(comparable(node.value)), str(_as_int(node)) if node.type != "string" else ""):
                if key in values:
                    return str(values[key])
        return format_raw(node)

    def _nft_name(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        collection = self._address_param(params, "collection", scope)
        token_id = format_raw(node)
        if collection is None:
            return f"#{token_id}"
        name = self.services.name(self.container.chain_id, collection) or collection
        return f"{name} #{token_id}"

    def _token_ticker(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        address = _as_address(node)
        meta = self.services.token(self._chain_param(params, scope), address)
        return meta.symbol if meta else address

    def _chain_name(self, node: Node, params: dict[str, Any], scope: _Scope) -> str:
        return f"chain {_as_int(node)}"

    def _calldata(
        self, label: str, node: Node, params: dict[str, Any], scope: _Scope, path: str | None
    ) -> None:
        data = (
            node.value if isinstance(node.value, bytes) else bytes.fromhex(str(node.value).removeprefix("0x"))
        )
        callee = self._address_param(params, "callee", scope) or self.container.to
        selector_node = self._param_node(params, "selector", scope)
        if selector_node is not None:
            selector = selector_node.value
            data = (selector if isinstance(selector, bytes) else bytes.fromhex(str(selector)[2:])) + data
        amount_node = self._param_node(params, "amount", scope)
        amount = _as_int(amount_node) if amount_node is not None else 0
        spender = self._address_param(params, "spender", scope) or self.container.to
        chain_id = self._chain_param(params, scope)
        inner = None
        if self.services.nested_call is not None and callee and self.depth < MAX_CALLDATA_DEPTH:
            inner = self.services.nested_call(chain_id, callee, data, amount, spender, self.depth + 1)
        if inner is None:
            summary = (
                f"call to {callee} with {len(data)} bytes of data" if callee else f"{len(data)} bytes of data"
            )
            if self.depth >= MAX_CALLDATA_DEPTH:
                summary += " (nested too deep to decode)"
            self.fields.append(DisplayField(label=label, value=summary, format="calldata", path=path))
            return
        self.fields.append(
            DisplayField(label=label, value=inner.intent or "call", format="calldata", path=path)
        )
        for inner_field in inner.fields:
            inner_path = f"{path}.{inner_field.path}" if path and inner_field.path else inner_field.path
            self.fields.append(inner_field.model_copy(update={"path": inner_path}))


_FORMATTERS: dict[str, Callable[[Renderer, Node, dict[str, Any], Any], str]] = {
    "raw": Renderer._raw,
    "amount": Renderer._amount,
    "tokenAmount": Renderer._token_amount,
    "addressName": Renderer._address_name,
    "interoperableAddressName": Renderer._address_name,
    "date": Renderer._date,
    "duration": Renderer._duration,
    "unit": Renderer._unit,
    "enum": Renderer._enum,
    "nftName": Renderer._nft_name,
    "tokenTicker": Renderer._token_ticker,
    "chainId": Renderer._chain_name,
}


# --------------------------------------------------------------------------- paths


def parse_path(path: str) -> tuple[str, list[str]]:
    """Split a path into its root ("#", "$", "@", or "" when relative) and its tokens."""
    root, tokens = _parse_path(path)
    return root, list(tokens)


@lru_cache(maxsize=4096)  # descriptors name the same few hundred paths on every call
def _parse_path(path: str) -> tuple[str, tuple[str, ...]]:
    path = path.strip()
    root = ""
    if path[:1] in ("#", "$", "@"):
        root, path = path[0], path[1:].lstrip(".")
    tokens: list[str] = []
    for part in path.split(".") if path else []:
        # "name[0]" is accepted as well as the spec's "name.[0]"
        while "[" in part and not part.startswith("["):
            at = part.index("[")
            tokens.append(part[:at])
            part = part[at:]
        if part:
            tokens.append(part.replace(" ", ""))
    return root, tuple(tokens)


def resolve(node: Node, tokens: list[str], done: list[str] | None = None) -> Iterator[tuple[list[str], Node]]:
    """Every (concrete path, node) the tokens select; `[]` and array slices select several."""
    done = done or []
    if not tokens:
        yield done, node
        return
    token, rest = tokens[0], tokens[1:]
    if not token.startswith("["):
        if not isinstance(node.value, dict) or token not in node.value:
            raise RenderError(f"no field {token!r} at {_join_path(done) or 'the top level'}")
        yield from resolve(node.value[token], rest, [*done, token])
        return
    selector = token[1:-1]
    if isinstance(node.value, list):
        for index in _indices(selector, len(node.value)):
            yield from resolve(_element(node, index), rest, [*done, f"[{index}]"])
        return
    if ":" in selector and not rest:
        yield [*done, token], _slice_scalar(node, selector)
        return
    raise RenderError(f"{token} applied to a {node.type} at {_join_path(done)}")


def _indices(selector: str, length: int) -> range | list[int]:
    if selector == "":
        return range(length)
    if ":" in selector:
        start, _, end = selector.partition(":")
        return range(length)[slice(int(start) if start else None, int(end) if end else None)]
    index = int(selector)
    if not -length <= index < length:
        raise RenderError(f"index {index} is out of range for {length} elements")
    return [index % length]


def _element(node: Node, index: int) -> Node:
    child = node.value[index]
    return child if isinstance(child, Node) else Node(node.type.rsplit("[", 1)[0], child)


def _slice_scalar(node: Node, selector: str) -> Node:
    raw: bytes
    if isinstance(node.value, bytes):
        raw = node.value
    elif isinstance(node.value, bool):
        raw = bytes([int(node.value)]).rjust(32, b"\0")
    elif isinstance(node.value, int):
        raw = (node.value % (1 << 256)).to_bytes(32, "big")
    elif node.type == "address":
        raw = bytes.fromhex(node.value[2:])
    else:
        text = str(node.value)
        start, _, end = selector.partition(":")
        return Node("string", text[slice(int(start) if start else None, int(end) if end else None)])
    start, _, end = selector.partition(":")
    return Node("bytes", raw[slice(int(start) if start else None, int(end) if end else None)])


def _leaves(concrete: list[str], node: Node) -> Iterator[tuple[list[str], Node]]:
    """A field whose path ends on an array shows each element."""
    if node.is_array:
        for index in range(len(node.value)):
            yield from _leaves([*concrete, f"[{index}]"], _element(node, index))
    else:
        yield concrete, node


def _array_prefix(tokens: list[str]) -> list[str] | None:
    """The path up to the first `[]` (the array a field iterates over), if any."""
    return tokens[: tokens.index("[]")] if "[]" in tokens else None


def _join_path(tokens: list[str]) -> str:
    return ".".join(tokens)


@dataclass
class _Scope:
    """Where a field sits, so that a parameter path inside the same array element (e.g. a
    `tokenPath` next to an amount in `details.[]`) picks the same element as the field."""

    pattern: list[str]
    concrete: list[str]
    prefix: list[str]

    def resolve_one(self, data: Node, tokens: list[str]) -> Node:
        bound = list(tokens)
        for i, token in enumerate(tokens):
            if i >= len(self.pattern) or i >= len(self.concrete) or self.pattern[i] != token:
                break
            bound[i] = self.concrete[i]
        for _, node in resolve(data, bound):
            return node
        raise RenderError(f"{_join_path(tokens)} selects nothing")


# --------------------------------------------------------------------------- value helpers


def format_raw(node: Node) -> str:
    value = node.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, bytes):
        if node.type == "address" or (len(value) == 20 and node.type == "bytes"):
            return checksum_hex("0x" + value.hex())
        return "0x" + value.hex()
    if isinstance(value, list):
        return ", ".join(format_raw(_element(node, i)) for i in range(len(value)))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_raw(v)}" for k, v in value.items())
    return str(value)


def _as_int(node: Node) -> int:
    value = node.value
    if isinstance(value, bytes):
        return int.from_bytes(value, "big")
    return to_int(value)


def to_int(value: Any) -> int:
    """An int from a decoded value or a descriptor constant: int, bool, decimal or 0x-hex string."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        return int(text, 16) if text.lower().startswith("0x") else int(text)
    raise RenderError(f"{value!r} is not a number")


def _as_address(node: Node) -> str:
    value = node.value
    if isinstance(value, bytes):
        if len(value) > 32:
            raise RenderError(f"{len(value)} bytes is not an address")
        return checksum_hex("0x" + value[-20:].rjust(20, b"\0").hex())
    if isinstance(value, int):
        return checksum_hex("0x" + (value % (1 << 160)).to_bytes(20, "big").hex())
    if isinstance(value, str) and is_address(value):
        return checksum_hex(value)
    raise RenderError(f"{value!r} is not an address")


def comparable(value: Any) -> Any:
    """A value in the form descriptors write it: ints and addresses compare case-insensitively."""
    if isinstance(value, Node):
        value = value.value
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        text = value.strip()
        if is_address(text):
            return text.lower()
        try:
            return to_int(text)
        except ValueError:
            return text
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return value
