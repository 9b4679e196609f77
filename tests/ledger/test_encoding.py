"""Canonical JSON: one byte form for every hashed or signed value."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reliefledger.ledger import limits
from reliefledger.ledger.encoding import (
    check_canonical_value,
    decode_canonical,
    decode_json,
    encode_canonical,
)
from reliefledger.ledger.errors import EncodingError, LedgerInputError


def nest(levels: int, innermost=0):
    """``levels`` nested lists around ``innermost``."""
    value = innermost
    for _ in range(levels):
        value = [value]
    return value


def reference_encoding(value) -> bytes:
    """The same form written with the standard library, as an independent reference."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def test_keys_sorted_and_no_whitespace():
    value = {"b": 1, "a": [1, 2, {"d": None, "c": True}], "aa": "x y"}
    assert encode_canonical(value) == b'{"a":[1,2,{"c":true,"d":null}],"aa":"x y","b":1}'


def test_keys_sorted_by_code_point_not_utf16():
    # U+FFFF sorts before U+1F600 by code point; UTF-16 order (JCS) would put the emoji first.
    value = {"\U0001f600": 2, "\uffff": 1, "a": 3, "B": 4, "é": 5}
    encoded = encode_canonical(value)
    assert encoded == '{"B":4,"a":3,"é":5,"\uffff":1,"\U0001f600":2}'.encode("utf-8")


def test_chinese_text_is_raw_utf8_not_escaped():
    value = {"名称": "民政局", "说明": "社会救助"}
    encoded = encode_canonical(value)
    assert "民政局".encode("utf-8") in encoded
    assert b"\\u" not in encoded
    assert encoded == reference_encoding(value)
    assert decode_canonical(encoded) == value


def test_control_characters_and_quotes_are_escaped():
    value = ["a\"b", "back\\slash", "line\nbreak", "\x00"]
    encoded = encode_canonical(value)
    assert json.loads(encoded) == value
    assert b"\n" not in encoded


def test_scalars():
    assert encode_canonical(True) == b"true"
    assert encode_canonical(False) == b"false"
    assert encode_canonical(None) == b"null"
    assert encode_canonical(0) == b"0"
    assert encode_canonical(-5) == b"-5"
    assert encode_canonical("") == b'""'
    assert encode_canonical([]) == b"[]"
    assert encode_canonical({}) == b"{}"


@pytest.mark.parametrize(
    "value",
    [1.0, 0.5, float("nan"), float("inf"), [1, 2.5], {"amount": 10.0}, {"a": [{"b": [0.1]}]}],
    ids=["one", "half", "nan", "inf", "in-list", "in-object", "nested"],
)
def test_floats_rejected(value):
    with pytest.raises(EncodingError) as raised:
        encode_canonical(value)
    assert raised.value.code == "invalid_encoding"
    assert isinstance(raised.value, LedgerInputError)


@pytest.mark.parametrize(
    "value",
    [{1: "a"}, {"a": {2: "b"}}, [{None: 1}], {("t",): 1}, {True: 1}],
    ids=["int", "nested-int", "none-in-list", "tuple", "bool"],
)
def test_non_string_keys_rejected(value):
    with pytest.raises(EncodingError):
        encode_canonical(value)


@pytest.mark.parametrize("value", [(1, 2), {1, 2}, b"bytes", object()], ids=["tuple", "set", "bytes", "object"])
def test_values_without_json_form_rejected(value):
    with pytest.raises(EncodingError):
        encode_canonical({"x": value})


def test_integers_at_signed_64_bit_bounds():
    assert encode_canonical(limits.INTEGER_ABSOLUTE_MAX) == b"9223372036854775807"
    assert encode_canonical(-limits.INTEGER_ABSOLUTE_MAX) == b"-9223372036854775807"


@pytest.mark.parametrize("number", [2**63, -(2**63) - 1, 2**64, 10**30, -(10**30)])
def test_integers_beyond_signed_64_bits_rejected(number):
    with pytest.raises(EncodingError):
        encode_canonical(number)
    with pytest.raises(EncodingError):
        encode_canonical({"nested": [number]})


def test_nesting_at_limit_accepted_and_beyond_rejected():
    assert encode_canonical(nest(limits.ARGS_DEPTH_MAX)) == b"[" * 8 + b"0" + b"]" * 8
    for levels in (limits.ARGS_DEPTH_MAX + 1, limits.ARGS_DEPTH_MAX + 5, 200):
        with pytest.raises(EncodingError):
            encode_canonical(nest(levels))
    deep_object = 0
    for _ in range(limits.ARGS_DEPTH_MAX + 2):
        deep_object = {"k": deep_object}
    with pytest.raises(EncodingError):
        encode_canonical(deep_object)


def test_string_of_limit_bytes_accepted_and_longer_rejected():
    assert len(encode_canonical("a" * limits.STRING_BYTES_MAX)) == limits.STRING_BYTES_MAX + 2
    with pytest.raises(EncodingError):
        encode_canonical("a" * (limits.STRING_BYTES_MAX + 1))


def test_string_limit_counts_utf8_bytes_not_characters():
    text = "救" * 2000  # 2,000 characters, 6,000 UTF-8 bytes
    assert len(text.encode("utf-8")) > limits.STRING_BYTES_MAX
    with pytest.raises(EncodingError):
        check_canonical_value({"name": text})


def test_lone_surrogate_rejected_as_encoding_error():
    with pytest.raises(EncodingError):
        encode_canonical({"nonce": "\ud800"})


@pytest.mark.parametrize(
    "text",
    [
        b'{"b":1,"a":2}',  # unsorted keys
        b'{"a": 1}',  # whitespace after colon
        b'{"a":1} ',  # trailing whitespace
        b' {"a":1}',  # leading whitespace
        b"[1, 2]",
        b'{\n"a":1}',
        b'"\\u6c11"',  # escaped Chinese instead of raw UTF-8
        b'"\\/"',  # needless escape
        b'{"a":1,"a":1}',  # duplicate key
        b"1.0",  # float
        b"1e2",  # exponent form
        b"-0",
        b"01",
    ],
)
def test_decode_canonical_rejects_non_canonical_text(text):
    with pytest.raises(EncodingError):
        decode_canonical(text)


@pytest.mark.parametrize("text", [b"", b"{", b"nul", b"\xff\xfe", b"{'a':1}", b"[1,]"])
def test_malformed_json_is_encoding_error(text):
    with pytest.raises(EncodingError) as raised:
        decode_json(text)
    assert raised.value.code == "invalid_encoding"
    with pytest.raises(EncodingError):
        decode_canonical(text)


def test_decode_canonical_accepts_canonical_text():
    text = '{"a":[1,-2,true,null],"z":"社会救助"}'.encode()
    assert decode_canonical(text) == {"a": [1, -2, True, None], "z": "社会救助"}


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-limits.INTEGER_ABSOLUTE_MAX, max_value=limits.INTEGER_ABSOLUTE_MAX),
    TEXT,
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(TEXT, children, max_size=5),
    ),
    max_leaves=25,
)


def depth(value) -> int:
    if isinstance(value, list):
        return 1 + max((depth(item) for item in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(item) for item in value.values()), default=0)
    return 0


@settings(max_examples=150, deadline=None)
@given(JSON_VALUES.filter(lambda value: depth(value) <= limits.ARGS_DEPTH_MAX))
def test_encode_decode_encode_is_stable(value):
    encoded = encode_canonical(value)
    assert decode_canonical(encoded) == value
    assert encode_canonical(decode_canonical(encoded)) == encoded
    assert encoded == reference_encoding(value)


def reference_check(value, depth=0):
    """The rules written the plain recursive way: the fast checker must agree with it on every value."""
    if depth > limits.ARGS_DEPTH_MAX:
        raise EncodingError("deep")
    if isinstance(value, bool) or value is None:
        return
    if type(value) is int:
        if abs(value) > limits.INTEGER_ABSOLUTE_MAX:
            raise EncodingError("range")
    elif type(value) is str:
        try:
            if len(value.encode("utf-8")) > limits.STRING_BYTES_MAX:
                raise EncodingError("long")
        except UnicodeEncodeError:
            raise EncodingError("surrogate") from None
    elif type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise EncodingError("key")
            reference_check(item, depth + 1)
    elif type(value) is list:
        for item in value:
            reference_check(item, depth + 1)
    else:
        raise EncodingError("type")


ANY_LEAF = st.one_of(st.none(), st.booleans(), st.integers(min_value=-2**64, max_value=2**64), st.floats(allow_nan=False),
                     st.text(max_size=5), st.text(min_size=4090, max_size=4100, alphabet="a"), st.text(min_size=1366, max_size=1370, alphabet="中"),
                     st.just("\ud800"), st.binary(max_size=3))
ANY_VALUE = st.recursive(ANY_LEAF, lambda children: st.lists(children, max_size=3) | st.dictionaries(st.one_of(st.text(max_size=3), st.integers()), children, max_size=3),
                         max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(ANY_VALUE, st.integers(min_value=0, max_value=10))
def test_the_fast_checker_agrees_with_the_plain_rules(value, extra_levels):
    value = nest(extra_levels, value)
    try:
        reference_check(value)
        expected = None
    except EncodingError:
        expected = EncodingError
    if expected is None:
        check_canonical_value(value)
    else:
        with pytest.raises(EncodingError):
            check_canonical_value(value)
