"""Regions: GB/T 2260 codes, their hierarchy from the digits, and checked region tables."""

import copy

import pytest

from reliefledger.ledger.errors import LedgerInputError
from reliefledger.ledger.regions import (
    NATIONAL_CODE,
    RegionError,
    get_ancestors,
    get_level,
    get_parent,
    is_region_code,
    is_within,
    parse_region_table,
)
from reliefledger.policy_files import read_region_table

BEIJING_DISTRICTS = {
    "110101": "东城区", "110102": "西城区", "110105": "朝阳区", "110106": "丰台区",
    "110107": "石景山区", "110108": "海淀区", "110109": "门头沟区", "110111": "房山区",
    "110112": "通州区", "110113": "顺义区", "110114": "昌平区", "110115": "大兴区",
    "110116": "怀柔区", "110117": "平谷区", "110118": "密云区", "110119": "延庆区",
}


@pytest.mark.parametrize("code", ["000000", "110000", "110100", "110101", "110105001", "441900003", "469001"])
def test_well_formed_codes(code):
    assert is_region_code(code)


@pytest.mark.parametrize(
    "code",
    [
        "001234",      # only the root may have province 00
        "110005",      # a county needs a city
        "11010",       # too short
        "1101010",     # seven digits
        "110101000",   # township 000
        "110000001",   # a township directly under a province
        "abcdef",
        " 110000",
        110000,
        None,
    ],
)
def test_malformed_codes(code):
    assert not is_region_code(code)


def test_levels():
    assert get_level("000000") == "national"
    assert get_level("110000") == "province"
    assert get_level("110100") == "city"
    assert get_level("110108") == "county"
    assert get_level("110108001") == "township"
    assert get_level("441900003") == "township"  # Dongguan: streets directly under a city


def test_parents_follow_the_digits():
    assert get_parent("110105001") == "110105"
    assert get_parent("110105") == "110100"  # Beijing's districts sit under 市辖区
    assert get_parent("110100") == "110000"
    assert get_parent("110000") == NATIONAL_CODE
    assert get_parent(NATIONAL_CODE) is None
    assert get_parent("441900003") == "441900"


def test_ancestors_nearest_first():
    assert get_ancestors("110105001") == ["110105", "110100", "110000", "000000"]
    assert get_ancestors("110000") == ["000000"]
    assert get_ancestors("000000") == []


def test_within():
    assert is_within("110108", "110108")  # a code is within itself
    assert is_within("110108001", "110108")
    assert is_within("110108001", "110100")
    assert is_within("110108001", "110000")
    assert all(is_within(code, "000000") for code in ("000000", "110000", "110105001", "310101"))
    assert not is_within("110108001", "110105")  # a sibling district
    assert not is_within("110108", "110108001")  # a district is not within its township
    assert not is_within("310101", "110000")
    assert not is_within("110000", "110100")


def test_within_is_a_predicate_that_never_raises():
    assert not is_within("001234", "000000")
    assert not is_within("110108", "110005")
    assert not is_within("001234", "001234")


@pytest.mark.parametrize("reader", [get_level, get_parent, get_ancestors])
def test_malformed_codes_raise_a_typed_input_error(reader):
    with pytest.raises(RegionError, match="not a GB/T 2260 region code") as caught:
        reader("110005")
    assert caught.value.code == "invalid_region"
    assert isinstance(caught.value, LedgerInputError)


# The shipped Beijing table --------------------------------------------------------------------


def test_shipped_beijing_table_has_exactly_sixteen_districts():
    table = read_region_table()
    assert table.get_children("110000") == ("110100",)
    assert table.get_children("000000") == ("110000",)
    districts = table.get_children("110100")
    assert len(districts) == 16
    assert {code: table.get_region(code).name_zh for code in districts} == BEIJING_DISTRICTS
    assert table.get_region("110000").name_zh == "北京市"
    assert table.get_region("110100").name_zh == "市辖区"
    assert table.get_region("000000").name_en == "National"
    assert table.get_region("110101").name_en == "Dongcheng District"
    assert table.get_region("110102").name_en == "Xicheng District"


def test_shipped_townships_are_marked_illustrative():
    table = read_region_table()
    townships = [region for region in table.regions.values() if get_level(region.code) == "township"]
    assert {region.code for region in townships} == {
        "110105001", "110105002", "110105003", "110108001", "110108002", "110108003"
    }
    assert all(region.note and "illustrative" in region.note.lower() for region in townships)
    assert all(region.note is None for region in table.regions.values() if len(region.code) == 6)
    assert table.about and "GB/T 2260" in table.about


def test_every_shipped_region_chains_to_the_root():
    table = read_region_table()
    for code, region in table.regions.items():
        assert region.parent == get_parent(code)
        assert all(ancestor in table for ancestor in get_ancestors(code))


def test_unknown_region_in_a_table():
    with pytest.raises(RegionError, match="not in the table"):
        read_region_table().get_region("310000")


# Table validation -------------------------------------------------------------------------------


def minimal_table() -> dict:
    return {
        "about": "test",
        "regions": [
            {"code": "000000", "name_zh": "全国", "name_en": "National", "parent": None},
            {"code": "110000", "name_zh": "北京市", "name_en": "Beijing", "parent": "000000"},
            {"code": "110100", "name_zh": "市辖区", "name_en": "Districts", "parent": "110000"},
            {"code": "110108", "name_zh": "海淀区", "name_en": "Haidian District", "parent": "110100"},
        ],
    }


def test_minimal_table_parses():
    table = parse_region_table(minimal_table())
    assert table.get_children("110100") == ("110108",)
    assert "110108" in table and "110105" not in table


def broken(change) -> dict:
    document = copy.deepcopy(minimal_table())
    change(document)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (broken(lambda d: d["regions"].pop(2)), r"regions\[2\]\.parent: 110100 is not in the table"),
        (broken(lambda d: d["regions"][3].update(parent="110000")), r"regions\[3\]\.parent: 110108 must have parent '110100'"),
        (broken(lambda d: d["regions"].append(dict(d["regions"][3]))), r"regions\[4\]\.code: 110108 is listed twice"),
        (broken(lambda d: d["regions"][3].update(code="110005")), r"regions\[3\]\.code: '110005' is not a GB/T 2260"),
        (broken(lambda d: d["regions"].pop(0)), "the root 000000 is missing"),
        (broken(lambda d: d["regions"][0].update(parent="110000")), r"regions\[0\]\.parent: 000000 must have parent None"),
        (broken(lambda d: d["regions"][1].pop("name_zh")), r"regions\[1\]: missing name_zh"),
        (broken(lambda d: d["regions"][1].update(name_en="")), r"regions\[1\]\.name_en: must be a non-empty string"),
        (broken(lambda d: d["regions"][1].update(population=21_000_000)), r"regions\[1\]: unknown field 'population'"),
        (broken(lambda d: d.update(version=1)), "unknown field 'version'"),
        (broken(lambda d: d.pop("about")), "about: must be a non-empty string"),
        (broken(lambda d: d.update(regions=[])), "regions: must be a list"),
        (broken(lambda d: d["regions"][1].update(area_km2=16410.5)), "floats are not allowed"),
        ([], "must be a JSON object"),
    ],
)
def test_table_validation_names_the_problem(document, message):
    with pytest.raises(LedgerInputError, match=message) as caught:
        parse_region_table(document)
    assert caught.value.code == "invalid_region_table"
