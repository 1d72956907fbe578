"""Provincial-level divisions of China for the demo shop generator.

All 34 provincial-level divisions (23 provinces incl. Taiwan, 5 autonomous regions,
4 municipalities, 2 special administrative regions), each with its population (2020
census, millions; Taiwan, Hong Kong and Macau from their own 2020 statistics), a few
real cities with the capital first, and the IANA timezone most residents use.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Province:
    name: str
    population_m: float
    cities: tuple[str, ...]
    timezone: str = "Asia/Shanghai"


PROVINCES: tuple[Province, ...] = (
    Province("广东省", 126.0, ("广州市", "深圳市", "东莞市", "佛山市", "珠海市")),
    Province("山东省", 101.5, ("济南市", "青岛市", "烟台市", "潍坊市")),
    Province("河南省", 99.4, ("郑州市", "洛阳市", "南阳市", "新乡市")),
    Province("江苏省", 84.7, ("南京市", "苏州市", "无锡市", "常州市")),
    Province("四川省", 83.7, ("成都市", "绵阳市", "宜宾市", "南充市")),
    Province("河北省", 74.6, ("石家庄市", "唐山市", "保定市", "邯郸市")),
    Province("湖南省", 66.4, ("长沙市", "株洲市", "衡阳市", "岳阳市")),
    Province("浙江省", 64.6, ("杭州市", "宁波市", "温州市", "金华市")),
    Province("安徽省", 61.0, ("合肥市", "芜湖市", "蚌埠市", "安庆市")),
    Province("湖北省", 57.8, ("武汉市", "宜昌市", "襄阳市", "荆州市")),
    Province("广西壮族自治区", 50.1, ("南宁市", "柳州市", "桂林市", "玉林市")),
    Province("云南省", 47.2, ("昆明市", "曲靖市", "玉溪市", "大理市")),
    Province("江西省", 45.2, ("南昌市", "赣州市", "九江市", "上饶市")),
    Province("辽宁省", 42.6, ("沈阳市", "大连市", "鞍山市", "锦州市")),
    Province("福建省", 41.5, ("福州市", "厦门市", "泉州市", "漳州市")),
    Province("陕西省", 39.5, ("西安市", "宝鸡市", "咸阳市", "榆林市")),
    Province("贵州省", 38.6, ("贵阳市", "遵义市", "六盘水市")),
    Province("山西省", 34.9, ("太原市", "大同市", "运城市", "长治市")),
    Province("重庆市", 32.1, ("重庆市",)),
    Province("黑龙江省", 31.9, ("哈尔滨市", "齐齐哈尔市", "大庆市", "牡丹江市")),
    Province("新疆维吾尔自治区", 25.9, ("乌鲁木齐市", "克拉玛依市", "哈密市")),
    Province("甘肃省", 25.0, ("兰州市", "天水市", "酒泉市")),
    Province("上海市", 24.9, ("上海市",)),
    Province("吉林省", 24.1, ("长春市", "吉林市", "四平市")),
    Province("内蒙古自治区", 24.0, ("呼和浩特市", "包头市", "鄂尔多斯市", "赤峰市")),
    Province("台湾省", 23.6, ("台北市", "新北市", "台中市", "高雄市"), "Asia/Taipei"),
    Province("北京市", 21.9, ("北京市",)),
    Province("天津市", 13.9, ("天津市",)),
    Province("海南省", 10.1, ("海口市", "三亚市", "儋州市")),
    Province("香港特别行政区", 7.5, ("香港",), "Asia/Hong_Kong"),
    Province("宁夏回族自治区", 7.2, ("银川市", "石嘴山市", "吴忠市")),
    Province("青海省", 5.9, ("西宁市", "海东市")),
    Province("西藏自治区", 3.6, ("拉萨市", "日喀则市", "林芝市")),
    Province("澳门特别行政区", 0.68, ("澳门",), "Asia/Macau"),
)

#: First-tier cities (一线城市).
TIER1_CITIES: frozenset[str] = frozenset({"北京市", "上海市", "广州市", "深圳市", "香港", "澳门"})

#: "New first-tier" cities (新一线城市) and Taiwan's large cities.
TIER2_CITIES: frozenset[str] = frozenset(
    {
        "成都市",
        "杭州市",
        "重庆市",
        "武汉市",
        "西安市",
        "苏州市",
        "天津市",
        "南京市",
        "长沙市",
        "郑州市",
        "东莞市",
        "青岛市",
        "沈阳市",
        "宁波市",
        "昆明市",
        "合肥市",
        "佛山市",
        "厦门市",
        "大连市",
        "台北市",
        "新北市",
        "台中市",
        "高雄市",
    }
)


def city_tier(city: str) -> int:
    """1 for first-tier cities, 2 for new first-tier cities, 3 otherwise."""
    if city in TIER1_CITIES:
        return 1
    if city in TIER2_CITIES:
        return 2
    return 3


assert len(PROVINCES) == 34
assert len({p.name for p in PROVINCES}) == 34
