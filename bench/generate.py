"""Generate a large synthetic shop as Parquet files, for import benchmarks.

    python bench/generate.py --out /tmp/shop [--customers 1000000] [--orders 10000000]
        [--events 50000000] [--seed 1] [--chunk-rows 1000000] [--jobs N]

Writes customers.parquet, orders.parquet, order_items.parquet, events.parquet and spend.parquet
in the columns of docs/import-formats.md. Everything is vectorised numpy / pyarrow compute and
written chunk by chunk (one row group per chunk; a quarter chunk for customers), so memory
stays bounded whatever the sizes.

Determinism: the same --seed, sizes and --chunk-rows give byte-identical files (with the same
pyarrow version), whatever --jobs is: chunks are generated in worker threads but written in
order. Customer attributes are a hash of (seed, customer index), so identify traits in
events.parquet agree with customers.parquet; orders and events are drawn from one numpy
generator per chunk, seeded with (seed, file, first row of the chunk).

Consistency guarantees (what an importer may rely on):
- customer ids are numbered in signup order; every order and every identified event belongs to a
  customer who signed up at or before its timestamp; referrers signed up before the referred;
- phone and email are unique per customer; message_id is unique; (order_id, sku) and
  (date, channel) are unique;
- amount_fen = sum(quantity * price_fen) of the order's items - discount_fen, both >= 0;
- every timestamp lies in 2025 (UTC), and paid_at >= created_at, received_at >= timestamp.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

START_US = 1_735_689_600_000_000  # 2025-01-01T00:00:00Z
END_US = 1_767_225_600_000_000  # 2026-01-01T00:00:00Z, exclusive
HOUR_US = 3_600_000_000
YEAR_HOURS = 365 * 24
SHOP_UTC_OFFSET_H = 8  # Asia/Shanghai

TS = pa.timestamp("us", tz="UTC")
U64 = np.uint64

# Salts for the per-customer attribute hashes (any distinct numbers).
(
    S_SIGNUP,
    S_GENDER,
    S_SURNAME,
    S_GIVEN1,
    S_GIVEN2,
    S_HAS2,
    S_BIRTH1,
    S_BIRTH2,
    S_PLACE,
    S_OCCUPATION,
    S_INDUSTRY,
    S_INCOME,
    S_NINTEREST,
    S_INTEREST0,
    S_CHANNEL,
    S_REFERRER,
    S_TZ,
    S_EMAIL,
    S_DOMAIN,
    S_WECHAT,
    S_UNION,
    S_PUSH,
    S_WEIBO,
    S_WEIBO_ID,
    S_CONSENT,
    S_DEVICE,
    S_MESSAGE,
    S_SKU,
) = range(1, 29)

# --------------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------------

SURNAMES = [
    *"王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于",
    *"蒋蔡余杜叶程苏魏吕丁任沈",
    "欧阳",
    "司马",
    "诸葛",
]
MALE_CHARS = [
    *"伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅",
    *"旭宁龙林阳峰建国志文博翔晨昊然",
]
FEMALE_CHARS = [
    *"芳娜敏静丽艳娟霞秀燕玲桂丹萍红玉兰婷雪琳倩颖佳欣怡",
    *"悦思雨梦诗涵萱璐瑶琪晶月慧洁莉",
]
PLACES: list[tuple[str, str, float]] = [
    ("广东省", "广州市", 5),
    ("广东省", "深圳市", 6),
    ("广东省", "东莞市", 2),
    ("广东省", "佛山市", 2),
    ("北京市", "北京市", 6),
    ("上海市", "上海市", 6),
    ("浙江省", "杭州市", 4),
    ("浙江省", "宁波市", 2),
    ("浙江省", "温州市", 1.5),
    ("江苏省", "南京市", 3),
    ("江苏省", "苏州市", 3),
    ("江苏省", "无锡市", 1.5),
    ("四川省", "成都市", 4),
    ("重庆市", "重庆市", 3),
    ("湖北省", "武汉市", 3),
    ("湖南省", "长沙市", 2.5),
    ("陕西省", "西安市", 2.5),
    ("福建省", "福州市", 1.5),
    ("福建省", "厦门市", 1.5),
    ("山东省", "济南市", 1.5),
    ("山东省", "青岛市", 2),
    ("河南省", "郑州市", 2),
    ("天津市", "天津市", 2),
    ("安徽省", "合肥市", 1.5),
    ("辽宁省", "沈阳市", 1.2),
    ("辽宁省", "大连市", 1.2),
    ("云南省", "昆明市", 1.2),
    ("广西壮族自治区", "南宁市", 1),
    ("江西省", "南昌市", 1),
    ("河北省", "石家庄市", 1),
    ("黑龙江省", "哈尔滨市", 1),
    ("吉林省", "长春市", 0.8),
    ("山西省", "太原市", 0.8),
    ("贵州省", "贵阳市", 0.8),
    ("海南省", "海口市", 0.5),
    ("新疆维吾尔自治区", "乌鲁木齐市", 0.5),
    ("内蒙古自治区", "呼和浩特市", 0.4),
    ("甘肃省", "兰州市", 0.5),
]
OCCUPATIONS = [
    "工程师",
    "教师",
    "医生",
    "护士",
    "销售",
    "设计师",
    "学生",
    "公务员",
    "会计",
    "自由职业",
    "个体经营",
    "产品经理",
    "运营",
    "律师",
    "厨师",
    "司机",
    "退休",
]
INDUSTRIES = [
    "互联网",
    "教育",
    "医疗",
    "金融",
    "制造业",
    "零售",
    "政府机关",
    "房地产",
    "物流",
    "餐饮",
    "文化传媒",
    "其他",
]
INCOME_BANDS = [
    ("<5k", 0.2),
    ("5k-10k", 0.35),
    ("10k-20k", 0.28),
    ("20k-50k", 0.12),
    ("50k+", 0.05),
]
INTERESTS = [
    "美妆",
    "护肤",
    "穿搭",
    "运动",
    "健身",
    "旅行",
    "美食",
    "数码",
    "游戏",
    "阅读",
    "母婴",
    "宠物",
    "摄影",
    "音乐",
    "电影",
    "家居",
    "户外",
    "汽车",
]
SIGNUP_CHANNELS = [
    ("app_store", 0.2),
    ("search", 0.16),
    ("douyin", 0.2),
    ("wechat", 0.14),
    ("xiaohongshu", 0.1),
    ("weibo", 0.04),
    ("referral", 0.08),
    ("organic", 0.08),
]
# Paid acquisition channels: cost per signup (yuan), cost per 1000 impressions (yuan), CTR.
SPEND_CHANNELS = [
    ("app_store", 45.0, 30.0, 0.02),
    ("search", 35.0, 25.0, 0.03),
    ("douyin", 28.0, 20.0, 0.012),
    ("wechat", 30.0, 35.0, 0.008),
    ("xiaohongshu", 40.0, 40.0, 0.015),
    ("weibo", 50.0, 15.0, 0.006),
]
TIMEZONES = [
    ("Asia/Shanghai", 0.965),
    ("Asia/Hong_Kong", 0.01),
    ("Asia/Taipei", 0.005),
    ("Asia/Singapore", 0.005),
    ("America/Los_Angeles", 0.005),
    ("Europe/London", 0.005),
    ("Australia/Sydney", 0.005),
]
EMAIL_DOMAINS = [
    ("qq.com", 0.45),
    ("163.com", 0.25),
    ("126.com", 0.08),
    ("gmail.com", 0.1),
    ("outlook.com", 0.07),
    ("sina.com", 0.05),
]
CONSENTS = ["granted", "withdrawn", None]
ORDER_STATUSES = [("paid", 0.86), ("refunded", 0.05), ("cancelled", 0.09)]
ORDER_CHANNELS = [("app", 0.45), ("mini_program", 0.35), ("web", 0.12), ("offline", 0.08)]
COUPONS = [
    ("NEW10", 1000),
    ("WELCOME20", 2000),
    ("FULL200-20", 2000),
    ("FULL300-40", 4000),
    ("VIP50", 5000),
    ("618SALE", 3000),
    ("DOUBLE11", 5000),
    ("DOUBLE12", 3000),
    ("FREESHIP", 800),
    ("BDAY30", 3000),
    ("COMEBACK15", 1500),
    ("LIVE10", 1000),
]
CATEGORIES: list[tuple[str, list[str]]] = [
    ("服装", ["连衣裙", "T恤", "衬衫", "牛仔裤", "羽绒服", "卫衣"]),
    ("美妆", ["口红", "粉底液", "眼影盘", "香水", "睫毛膏"]),
    ("个护", ["洗发水", "沐浴露", "牙膏", "面膜", "身体乳"]),
    ("食品", ["坚果礼盒", "咖啡豆", "茶叶", "牛奶", "零食大礼包"]),
    ("母婴", ["纸尿裤", "奶粉", "婴儿推车", "儿童绘本"]),
    ("数码", ["蓝牙耳机", "充电宝", "手机壳", "智能手表", "数据线"]),
    ("家居", ["四件套", "收纳箱", "香薰", "保温杯", "拖鞋"]),
    ("运动", ["跑步鞋", "瑜伽垫", "运动服", "哑铃", "登山包"]),
    ("宠物", ["猫粮", "狗粮", "猫砂", "宠物玩具"]),
    ("图书", ["小说", "绘本", "教辅", "漫画"]),
]
BRANDS = [
    "云朵",
    "小米粒",
    "花间",
    "山野",
    "星河",
    "木子",
    "橙光",
    "青柠",
    "北岸",
    "初见",
    "拾光",
    "暖阳",
    "素白",
    "果然",
    "极客",
    "森林",
]
N_SKUS = 20_000
# Track events: name, share of track events, properties template group.
G_PRODUCT, G_SEARCH, G_ORDER, G_COUPON, G_EMPTY, G_PAGE, G_TRAITS = range(7)
TRACK_EVENTS = [
    ("Product Viewed", 0.42, G_PRODUCT),
    ("Product Added", 0.14, G_PRODUCT),
    ("Products Searched", 0.14, G_SEARCH),
    ("Checkout Started", 0.08, G_ORDER),
    ("Order Completed", 0.06, G_ORDER),
    ("Coupon Applied", 0.04, G_COUPON),
    ("App Opened", 0.12, G_EMPTY),
]
EVENT_TYPES = [("track", 0.85), ("page", 0.12), ("identify", 0.03)]
SEARCH_QUERIES = [
    "连衣裙",
    "口红",
    "蓝牙耳机",
    "跑步鞋",
    "猫粮",
    "咖啡",
    "面膜",
    "羽绒服",
    "防晒",
    "纸尿裤",
    "保温杯",
    "香水",
    "手机壳",
    "零食",
    "T恤",
    "牛仔裤",
    "洗发水",
    "瑜伽垫",
]
LIBRARIES = [
    ("analytics-ios", "4.1.8", 0.35),
    ("analytics-android", "4.11.3", 0.35),
    ("analytics.js", "5.2.0", 0.15),
    ("analytics-miniprogram", "1.3.0", 0.15),
]

# --------------------------------------------------------------------------------------------
# Schemas (docs/import-formats.md)
# --------------------------------------------------------------------------------------------

CUSTOMERS_SCHEMA = pa.schema(
    [
        ("customer_id", pa.string()),
        ("name", pa.string()),
        ("gender", pa.string()),
        ("birthday", pa.date32()),
        ("province", pa.string()),
        ("city", pa.string()),
        ("occupation", pa.string()),
        ("industry", pa.string()),
        ("income_band", pa.string()),
        ("interests", pa.list_(pa.string())),
        ("signup_at", TS),
        ("signup_channel", pa.string()),
        ("referrer_id", pa.string()),
        ("timezone", pa.string()),
        ("phone", pa.string()),
        ("email", pa.string()),
        ("wechat_openid", pa.string()),
        ("wechat_unionid", pa.string()),
        ("push_token", pa.string()),
        ("weibo_id", pa.string()),
        ("consent_sms", pa.string()),
        ("consent_email", pa.string()),
        ("consent_wechat", pa.string()),
        ("consent_push", pa.string()),
        ("consent_weibo", pa.string()),
    ]
)
ORDERS_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("customer_id", pa.string()),
        ("created_at", TS),
        ("paid_at", TS),
        ("status", pa.string()),
        ("amount_fen", pa.int64()),
        ("discount_fen", pa.int64()),
        ("coupon_codes", pa.list_(pa.string())),
        ("channel", pa.string()),
    ]
)
ORDER_ITEMS_SCHEMA = pa.schema(
    [
        ("order_id", pa.string()),
        ("sku", pa.string()),
        ("product_name", pa.string()),
        ("category", pa.string()),
        ("quantity", pa.int64()),
        ("price_fen", pa.int64()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        ("message_id", pa.string()),
        ("type", pa.string()),
        ("event", pa.string()),
        ("user_id", pa.string()),
        ("anonymous_id", pa.string()),
        ("timestamp", TS),
        ("received_at", TS),
        ("properties", pa.string()),
        ("context", pa.string()),
        ("traits", pa.string()),
    ]
)
SPEND_SCHEMA = pa.schema(
    [
        ("date", pa.date32()),
        ("channel", pa.string()),
        ("spend_fen", pa.int64()),
        ("impressions", pa.int64()),
        ("clicks", pa.int64()),
    ]
)

# Columns worth dictionary encoding (low cardinality); the others are written plain.
DICT_COLUMNS: dict[str, list[str]] = {
    "customers": [
        "gender",
        "province",
        "city",
        "occupation",
        "industry",
        "income_band",
        "interests",
        "signup_channel",
        "timezone",
        "consent_sms",
        "consent_email",
        "consent_wechat",
        "consent_push",
        "consent_weibo",
    ],
    "orders": ["status", "coupon_codes", "channel"],
    "order_items": ["sku", "product_name", "category"],
    "events": ["type", "event"],
    "spend": ["channel"],
}


@dataclass(frozen=True)
class Params:
    seed: int
    customers: int
    orders: int
    events: int
    chunk_rows: int
    compression: str = "zstd"


# --------------------------------------------------------------------------------------------
# Vectorised building blocks
# --------------------------------------------------------------------------------------------

_M1 = U64(0xBF58476D1CE4E5B9)
_M2 = U64(0x94D049BB133111EB)
_GOLDEN = 0x9E3779B97F4A7C15
_MASK64 = (1 << 64) - 1


def mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: a bijection of uint64 (distinct inputs give distinct outputs)."""
    z = x.astype(U64, copy=True)
    z ^= z >> U64(30)
    z *= _M1
    z ^= z >> U64(27)
    z *= _M2
    z ^= z >> U64(31)
    return z


def hash64(idx: np.ndarray, seed: int, salt: int) -> np.ndarray:
    """A well-mixed 64-bit hash of (seed, salt, idx); a bijection of idx for fixed seed/salt."""
    key = U64(((seed * 0x2545F4914F6CDD1D) ^ (salt * _GOLDEN)) & _MASK64)
    return mix64(idx.astype(U64) + key)


def unit(h: np.ndarray) -> np.ndarray:
    """Map uint64 hashes to floats in [0, 1)."""
    return (h >> U64(11)).astype(np.float64) * (1.0 / (1 << 53))


def pick(u: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Weighted choice: index into weights for each uniform u in [0, 1)."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    cum /= cum[-1]
    return np.minimum(np.searchsorted(cum, u, side="right"), len(cum) - 1)


def strings_from_matrix(mat: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    """A string array from an (n, width) uint8 matrix of ASCII codes (zero copy of the rows)."""
    n, width = mat.shape
    if n * width >= 2**31:
        raise ValueError("chunk too large for 32-bit string offsets; lower --chunk-rows")
    offsets = np.arange(n + 1, dtype=np.int32) * np.int32(width)
    data = np.ascontiguousarray(mat, dtype=np.uint8)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(data), bitmap)


def digit_matrix(x: np.ndarray, width: int) -> np.ndarray:
    """Zero-padded decimal digits of non-negative integers, as an (n, width) uint8 matrix."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (x.astype(np.int64)[:, None] // powers % 10 + 48).astype(np.uint8)


_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
_B64 = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)


def hex_matrix(h: np.ndarray, width: int = 16) -> np.ndarray:
    """The low 4*width bits of uint64 values as lower-case hex, an (n, width) uint8 matrix."""
    shifts = (4 * np.arange(width - 1, -1, -1)).astype(U64)
    return _HEX[(h.astype(U64)[:, None] >> shifts) & U64(15)]


def prefixed(prefix: str, mat: np.ndarray) -> np.ndarray:
    head = np.frombuffer(prefix.encode(), dtype=np.uint8)
    return np.hstack([np.broadcast_to(head, (mat.shape[0], head.size)), mat])


def ids(prefix: str, idx: np.ndarray, width: int, valid: np.ndarray | None = None) -> pa.Array:
    """prefix + zero-padded (idx + 1), e.g. c0000001 for index 0."""
    return strings_from_matrix(prefixed(prefix, digit_matrix(idx + 1, width)), valid)


def timestamps(us: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
    bitmap = None if valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
    data = pa.py_buffer(np.ascontiguousarray(us, dtype=np.int64))
    return pa.Array.from_buffers(TS, len(us), [bitmap, data])


def dates(days: np.ndarray) -> pa.Array:
    data = pa.py_buffer(np.ascontiguousarray(days, dtype=np.int32))
    return pa.Array.from_buffers(pa.date32(), len(days), [None, data])


def labels(values: Sequence[str | None], idx: np.ndarray) -> pa.Array:
    return pa.array(values, pa.string()).take(pa.array(idx))


def join(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def null_where(arr: pa.Array, valid: np.ndarray) -> pa.Array:
    return pc.if_else(pa.array(valid), arr, pa.scalar(None, pa.string()))


def list_array(lengths: np.ndarray, values: pa.Array) -> pa.Array:
    offsets = np.zeros(len(lengths) + 1, dtype=np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def by_group(
    group: np.ndarray,
    builders: dict[int, Callable[[np.ndarray], pa.Array]],
) -> pa.Array:
    """Build one string per row with the builder of the row's group (each builder receives the
    row positions of its group and returns their strings), then restore the row order."""
    if sorted(builders) != list(range(len(builders))):
        raise ValueError("builders must cover groups 0..n-1")
    order = np.argsort(group, kind="stable")
    bounds = np.searchsorted(group[order], np.arange(max(builders) + 2))
    parts = [builders[g](order[bounds[g] : bounds[g + 1]]) for g in sorted(builders)]
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays(parts).take(pa.array(inverse))


def scatter(n: int, rows: np.ndarray, values: pa.Array) -> pa.Array:
    """A length-n array holding values at rows and nulls elsewhere."""
    combined = pa.concat_arrays([values, pa.nulls(1, values.type)])
    idx = np.full(n, len(values), dtype=np.int64)
    idx[rows] = np.arange(len(rows))
    return combined.take(pa.array(idx))


# --------------------------------------------------------------------------------------------
# Time distributions over 2025: hourly weights with trend, weekends, campaigns, daily rhythm
# --------------------------------------------------------------------------------------------


def _yday(month: int, day: int) -> int:
    return (dt.date(2025, month, day) - dt.date(2025, 1, 1)).days


_LOCAL_HOUR_WEIGHTS = np.array(
    [
        0.5,
        0.3,
        0.2,
        0.1,
        0.1,
        0.1,
        0.2,
        0.4,
        0.7,
        0.9,
        1.0,
        1.0,
        1.1,
        1.0,
        0.9,
        0.9,
        1.0,
        1.0,
        1.1,
        1.3,
        1.5,
        1.6,
        1.4,
        0.9,
    ]
)


@cache
def hour_cdf(kind: str) -> np.ndarray:
    """Cumulative distribution over the 8760 UTC hours of 2025 (length 8761, from 0 to 1).

    Signups: a launch week (about 13% of the year's signups), slow growth, weekends, campaigns.
    Orders and events: proportional to the customers signed up so far (so that a customer's
    activity rate does not depend on when they signed up), times weekends and campaigns (orders
    fully, events dampened), all with the shop's daily rhythm.
    """
    local = np.arange(YEAR_HOURS) + SHOP_UTC_OFFSET_H
    day = np.minimum(local // 24, 364)
    hour = local % 24
    w = np.where((day + 2) % 7 >= 5, 1.15, 1.0) * _LOCAL_HOUR_WEIGHTS[hour]  # 01-01 is a Wed
    campaign = np.ones(YEAR_HOURS)
    campaign[(day >= _yday(1, 25)) & (day <= _yday(2, 4))] = 0.6  # Spring Festival
    campaign[(day >= _yday(6, 1)) & (day < _yday(6, 18))] = 1.6  # 618
    campaign[day == _yday(6, 18)] = 4.0
    campaign[(day >= _yday(10, 20)) & (day < _yday(11, 11))] = 1.5  # Double 11
    campaign[day == _yday(11, 11)] = 8.0
    campaign[(day == _yday(11, 11)) & (hour == 0)] = 40.0
    campaign[day == _yday(12, 12)] = 3.0
    if kind == "signups":
        w = w * (1.0 + 0.4 * day / 365) * np.where(day < 7, 8.0, 1.0) * campaign**0.5
    else:
        signed_up = hour_cdf("signups")
        base = (signed_up[:-1] + signed_up[1:]) / 2 + 0.001
        w = w * base * campaign ** {"orders": 1.0, "events": 0.7}[kind]
    cdf = np.zeros(YEAR_HOURS + 1)
    np.cumsum(w, out=cdf[1:])
    return cdf / cdf[-1]


def times_at(q: np.ndarray, kind: str) -> np.ndarray:
    """Inverse CDF: quantiles q in [0, 1) to microseconds since the epoch, increasing in q."""
    edges = START_US + np.arange(YEAR_HOURS + 1, dtype=np.float64) * HOUR_US
    t = np.interp(q, hour_cdf(kind), edges).astype(np.int64)
    return np.minimum(t, END_US - 1)


def sorted_times(
    rng: np.random.Generator, start: int, count: int, total: int, kind: str
) -> np.ndarray:
    """Times of rows [start, start+count) of `total` rows sorted by time: chunk k draws from its
    own slice of quantiles, so the whole file is in time order."""
    q = (start + np.sort(rng.random(count)) * count) / total
    return times_at(q, kind)


# --------------------------------------------------------------------------------------------
# Customers: every attribute is a function of (seed, customer index)
# --------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def signup_times(seed: int, n: int) -> np.ndarray:
    """Signup time of every customer, non-decreasing in the index; customer 0 at 2025-01-01."""
    i = np.arange(n, dtype=np.int64)
    jitter = unit(hash64(i, seed, S_SIGNUP))
    jitter[0] = 0.0
    return times_at((i + jitter) / n, "signups")


def id_width(n: int, minimum: int) -> int:
    return max(minimum, len(str(n)))


class Customers:
    """Attributes of customers by index, shared by the customers, orders and events files."""

    def __init__(self, seed: int, n: int) -> None:
        self.seed = seed
        self.n = n
        self.width = id_width(n, 7)

    def u(self, idx: np.ndarray, salt: int) -> np.ndarray:
        return unit(hash64(idx, self.seed, salt))

    def ids(self, idx: np.ndarray, valid: np.ndarray | None = None) -> pa.Array:
        return ids("c", idx, self.width, valid)

    def female(self, idx: np.ndarray) -> np.ndarray:
        return self.u(idx, S_GENDER) < 0.52

    def gender(self, idx: np.ndarray) -> pa.Array:
        return labels(["male", "female"], self.female(idx).astype(np.int8))

    def name(self, idx: np.ndarray) -> pa.Array:
        female = self.female(idx)
        surname_w = 1.0 / (np.arange(len(SURNAMES)) + 3.0)
        surname = labels(SURNAMES, pick(self.u(idx, S_SURNAME), surname_w))
        chars = MALE_CHARS + FEMALE_CHARS + [""]
        nm, nf = len(MALE_CHARS), len(FEMALE_CHARS)

        def given(salt: int) -> np.ndarray:
            u = self.u(idx, salt)
            return np.where(female, nm + (u * nf).astype(np.int64), (u * nm).astype(np.int64))

        second = np.where(self.u(idx, S_HAS2) < 0.7, given(S_GIVEN2), len(chars) - 1)
        return join(surname, labels(chars, given(S_GIVEN1)), labels(chars, second))

    def place(self, idx: np.ndarray) -> np.ndarray:
        return pick(self.u(idx, S_PLACE), [w for _, _, w in PLACES])

    def city(self, idx: np.ndarray) -> pa.Array:
        return labels([c for _, c, _ in PLACES], self.place(idx))

    def channel(self, idx: np.ndarray) -> np.ndarray:
        return pick(self.u(idx, S_CHANNEL), [w for _, w in SIGNUP_CHANNELS])

    def table(self, start: int, count: int) -> pa.Table:
        idx = np.arange(start, start + count, dtype=np.int64)
        rng = np.random.default_rng([self.seed, 1, start])
        u = self.u
        place = self.place(idx)
        # Birthdays 1965-01-01 .. 2007-06-30, triangular around 1986.
        lo, hi = (
            (dt.date(1965, 1, 1) - dt.date(1970, 1, 1)).days,
            (dt.date(2007, 6, 30) - dt.date(1970, 1, 1)).days,
        )
        birth = lo + ((u(idx, S_BIRTH1) + u(idx, S_BIRTH2)) / 2 * (hi - lo)).astype(np.int32)
        # Interests: 0-4 distinct ones, consecutive in the vocabulary from a random start.
        n_int = pick(u(idx, S_NINTEREST), [0.15, 0.3, 0.3, 0.15, 0.1])
        first = (u(idx, S_INTEREST0) * len(INTERESTS)).astype(np.int64)
        pos = np.arange(n_int.sum()) - np.repeat(np.cumsum(n_int) - n_int, n_int)
        interests = list_array(
            n_int, labels(INTERESTS, (np.repeat(first, n_int) + pos) % len(INTERESTS))
        )
        channel = self.channel(idx)
        referral = (channel == [c for c, _ in SIGNUP_CHANNELS].index("referral")) & (idx > 0)
        referrer = (u(idx, S_REFERRER) * idx).astype(np.int64)  # signed up earlier
        # Phone: 1[3-9]xxxxxxxxx, an affine bijection of the index (unique for n < 7e9).
        phone = 13_000_000_000 + (idx * 2_654_435_761 + 1_234_567) % 7_000_000_000
        # Email: unique local part (affine bijection mod 1e9), 55% of customers.
        has_email = u(idx, S_EMAIL) < 0.55
        local = (idx * 387_420_489 + 12_345) % 1_000_000_000
        email = join(
            strings_from_matrix(prefixed("u", digit_matrix(local, 9))),
            labels(
                ["@" + d for d, _ in EMAIL_DOMAINS],
                pick(u(idx, S_DOMAIN), [w for _, w in EMAIL_DOMAINS]),
            ),
        )
        has_wechat = u(idx, S_WECHAT) < 0.75
        has_union = has_wechat & (u(idx, S_UNION) < 0.6)
        has_push = u(idx, S_PUSH) < 0.4
        has_weibo = u(idx, S_WEIBO) < 0.15

        def random_text(alphabet: np.ndarray, width: int) -> np.ndarray:
            return alphabet[rng.integers(0, len(alphabet), (count, width), np.uint8)]

        openid = strings_from_matrix(prefixed("o", random_text(_B64, 27)), has_wechat)
        unionid = strings_from_matrix(prefixed("o", random_text(_B64, 27)), has_union)
        push = strings_from_matrix(random_text(_HEX, 64), has_push)
        weibo = strings_from_matrix(
            digit_matrix(1_000_000_000 + hash64(idx, self.seed, S_WEIBO_ID) % U64(9e9), 10),
            has_weibo,
        )

        def consent(has: np.ndarray, salt: int, granted: float, withdrawn: float) -> pa.Array:
            c = pick(u(idx, S_CONSENT * 100 + salt), [granted, withdrawn, 1 - granted - withdrawn])
            return labels(CONSENTS, np.where(has, c, 2))

        columns: dict[str, pa.Array] = {
            "customer_id": self.ids(idx),
            "name": self.name(idx),
            "gender": self.gender(idx),
            "birthday": dates(birth),
            "province": labels([p for p, _, _ in PLACES], place),
            "city": labels([c for _, c, _ in PLACES], place),
            "occupation": labels(
                OCCUPATIONS, (u(idx, S_OCCUPATION) * len(OCCUPATIONS)).astype(np.int64)
            ),
            "industry": labels(INDUSTRIES, (u(idx, S_INDUSTRY) * len(INDUSTRIES)).astype(np.int64)),
            "income_band": labels(
                [b for b, _ in INCOME_BANDS], pick(u(idx, S_INCOME), [w for _, w in INCOME_BANDS])
            ),
            "interests": interests,
            "signup_at": timestamps(signup_times(self.seed, self.n)[start : start + count]),
            "signup_channel": labels([c for c, _ in SIGNUP_CHANNELS], channel),
            "referrer_id": self.ids(referrer, referral),
            "timezone": labels(
                [z for z, _ in TIMEZONES], pick(u(idx, S_TZ), [w for _, w in TIMEZONES])
            ),
            "phone": strings_from_matrix(digit_matrix(phone, 11)),
            "email": null_where(email, has_email),
            "wechat_openid": openid,
            "wechat_unionid": unionid,
            "push_token": push,
            "weibo_id": weibo,
            "consent_sms": consent(np.ones(count, bool), 1, 0.6, 0.1),
            "consent_email": consent(has_email, 2, 0.5, 0.1),
            "consent_wechat": consent(has_wechat, 3, 0.7, 0.05),
            "consent_push": consent(has_push, 4, 0.65, 0.15),
            "consent_weibo": consent(has_weibo, 5, 0.4, 0.1),
        }
        return pa.table(columns, schema=CUSTOMERS_SCHEMA)


def pick_customers(rng: np.random.Generator, t: np.ndarray, signup: np.ndarray) -> np.ndarray:
    """A customer who had signed up by time t: 70% of the time any of them, 30% of the time one
    of the 5% 'regulars' (index % 20 == 7), who therefore buy and browse about 7x as often."""
    cnt = np.searchsorted(signup, t, side="right")  # >= 1: customer 0 signs up at START_US
    r = rng.random(len(t))
    regulars = np.maximum(cnt - 7 + 19, 0) // 20
    use_regular = (rng.random(len(t)) < 0.3) & (regulars > 0)
    return np.where(
        use_regular, 7 + 20 * (r * regulars).astype(np.int64), (r * cnt).astype(np.int64)
    )


# --------------------------------------------------------------------------------------------
# Products
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catalog:
    sku: pa.Array
    name: pa.Array
    category: pa.Array
    price: np.ndarray
    price_text: pa.Array


@lru_cache(maxsize=4)
def catalog(seed: int) -> Catalog:
    idx = np.arange(N_SKUS, dtype=np.int64)
    h = hash64(idx, seed, S_SKU)
    cat = (h % U64(len(CATEGORIES))).astype(np.int64)
    noun = ((h >> U64(8)) % U64(1000)).astype(np.int64)
    brand = ((h >> U64(20)) % U64(len(BRANDS))).astype(np.int64)
    model = ((h >> U64(32)) % U64(900)).astype(np.int64) + 100
    names = [
        f"{BRANDS[b]}{CATEGORIES[c][1][k % len(CATEGORIES[c][1])]} {m}"
        for b, c, k, m in zip(
            brand.tolist(), cat.tolist(), noun.tolist(), model.tolist(), strict=True
        )
    ]
    # Prices: log-normal around 99 yuan, ending in .90 yuan.
    z = np.sqrt(-2 * np.log(1 - unit(mix64(h)))) * np.cos(2 * np.pi * unit(mix64(h + U64(1))))
    price = np.maximum(np.rint(np.exp(np.log(99.0) + 0.8 * z)), 1).astype(np.int64) * 100 - 10
    categories = labels([c for c, _ in CATEGORIES], cat)
    return Catalog(
        sku=strings_from_matrix(prefixed("SKU", digit_matrix(idx + 1, 6))),
        name=pa.array(names, pa.string()),
        category=categories,
        price=price,
        price_text=pc.cast(pa.array(price), pa.string()),
    )


# --------------------------------------------------------------------------------------------
# Orders and order items
# --------------------------------------------------------------------------------------------


def orders_tables(p: Params, start: int, count: int) -> tuple[pa.Table, pa.Table]:
    rng = np.random.default_rng([p.seed, 2, start])
    people = Customers(p.seed, p.customers)
    cat = catalog(p.seed)
    created = sorted_times(rng, start, count, p.orders, "orders")
    customer = pick_customers(rng, created, signup_times(p.seed, p.customers))
    status = pick(rng.random(count), [w for _, w in ORDER_STATUSES])
    paid = status != 2
    lag = np.minimum(rng.lognormal(np.log(60.0), 1.2, count), 86_400.0) * 1e6
    paid_at = np.minimum(created + lag.astype(np.int64), END_US - 1)
    # Items: 1-4 distinct skus per order (mean ~1.5).
    n_items = 1 + pick(rng.random(count), [0.62, 0.28, 0.07, 0.03])
    total = int(n_items.sum())
    row = np.repeat(np.arange(count), n_items)
    pos = np.arange(total) - np.repeat(np.cumsum(n_items) - n_items, n_items)
    first = (rng.random(count) ** 2.5 * N_SKUS).astype(np.int64)  # popular skus first
    step = rng.integers(1, 1000, count)  # pos * step < 4000 < N_SKUS: distinct within an order
    sku = (first[row] + pos * step[row]) % N_SKUS
    quantity = 1 + pick(rng.random(total), [0.86, 0.09, 0.03, 0.015, 0.005])
    price = cat.price[sku]
    gross = np.bincount(row, weights=quantity * price, minlength=count).astype(np.int64)
    # Coupons: 0-2 distinct codes; discount = their value, at most half the gross amount.
    n_coupons = pick(rng.random(count), [0.78, 0.18, 0.04])
    c_row = np.repeat(np.arange(count), n_coupons)
    c_pos = np.arange(len(c_row)) - np.repeat(np.cumsum(n_coupons) - n_coupons, n_coupons)
    code = (rng.integers(0, len(COUPONS), count)[c_row] + c_pos) % len(COUPONS)
    values = np.array([v for _, v in COUPONS], dtype=np.int64)
    coupon_sum = np.bincount(c_row, weights=values[code], minlength=count).astype(np.int64)
    discount = np.minimum(coupon_sum, gross // 2)
    order_idx = np.arange(start, start + count, dtype=np.int64)
    order_ids = ids("o", order_idx, id_width(p.orders, 9))
    orders = pa.table(
        {
            "order_id": order_ids,
            "customer_id": people.ids(customer),
            "created_at": timestamps(created),
            "paid_at": timestamps(paid_at, paid),
            "status": labels([s for s, _ in ORDER_STATUSES], status),
            "amount_fen": pa.array(gross - discount),
            "discount_fen": pa.array(discount),
            "coupon_codes": list_array(n_coupons, labels([c for c, _ in COUPONS], code)),
            "channel": labels(
                [c for c, _ in ORDER_CHANNELS],
                pick(rng.random(count), [w for _, w in ORDER_CHANNELS]),
            ),
        },
        schema=ORDERS_SCHEMA,
    )
    sku_idx = pa.array(sku)
    items = pa.table(
        {
            "order_id": order_ids.take(pa.array(row)),
            "sku": cat.sku.take(sku_idx),
            "product_name": cat.name.take(sku_idx),
            "category": cat.category.take(sku_idx),
            "quantity": pa.array(quantity.astype(np.int64)),
            "price_fen": pa.array(price),
        },
        schema=ORDER_ITEMS_SCHEMA,
    )
    return orders, items


# --------------------------------------------------------------------------------------------
# Events (Segment messages)
# --------------------------------------------------------------------------------------------

_OCTETS = pa.array([str(i) for i in range(256)], pa.string())


def events_table(p: Params, start: int, count: int) -> pa.Table:
    rng = np.random.default_rng([p.seed, 3, start])
    people = Customers(p.seed, p.customers)
    cat = catalog(p.seed)
    t = sorted_times(rng, start, count, p.events, "events")
    etype = pick(rng.random(count), [w for _, w in EVENT_TYPES])
    track_ev = pick(rng.random(count), [w for _, w, _ in TRACK_EVENTS])
    is_track, is_identify = etype == 0, etype == 2
    identified = is_identify | (rng.random(count) < 0.55)
    has_anon = ~identified | (rng.random(count) < 0.6)
    customer = pick_customers(rng, t, signup_times(p.seed, p.customers))
    # Devices: customers have 2 each; anonymous-only traffic comes from 3n other devices.
    device = np.where(
        identified,
        2 * customer + (rng.random(count) < 0.3),
        2 * p.customers + (rng.random(count) * 3 * p.customers).astype(np.int64),
    )
    lag = np.where(
        rng.random(count) < 0.98, rng.exponential(0.4, count), rng.exponential(3600.0, count)
    )
    received = np.minimum(t + (lag * 1e6).astype(np.int64), END_US - 1)

    track_group = np.array([g for _, _, g in TRACK_EVENTS])[track_ev]
    group = np.where(is_track, track_group, np.where(is_identify, G_TRAITS, G_PAGE))
    sku = (rng.random(count) ** 2.5 * N_SKUS).astype(np.int64)
    amount = rng.lognormal(np.log(15_000.0), 0.8, count).astype(np.int64)
    some_order = rng.integers(0, max(p.orders, 1), count)
    query = rng.integers(0, len(SEARCH_QUERIES), count)
    coupon = rng.integers(0, len(COUPONS), count)

    def product(rows: np.ndarray) -> pa.Array:
        s = pa.array(sku[rows])
        return join(
            '{"sku":"',
            cat.sku.take(s),
            '","category":"',
            cat.category.take(s),
            '","price_fen":',
            cat.price_text.take(s),
            "}",
        )

    def search(rows: np.ndarray) -> pa.Array:
        return join('{"query":"', labels(SEARCH_QUERIES, query[rows]), '"}')

    def order(rows: np.ndarray) -> pa.Array:
        return join(
            '{"order_id":"',
            ids("o", some_order[rows], id_width(p.orders, 9)),
            '","revenue_fen":',
            pc.cast(pa.array(amount[rows]), pa.string()),
            ',"currency":"CNY"}',
        )

    def coupon_props(rows: np.ndarray) -> pa.Array:
        return join('{"coupon":"', labels([c for c, _ in COUPONS], coupon[rows]), '"}')

    def empty(rows: np.ndarray) -> pa.Array:
        return pa.repeat(pa.scalar("{}", pa.string()), len(rows))

    def page(rows: np.ndarray) -> pa.Array:
        return join('{"path":"/p/', cat.sku.take(pa.array(sku[rows])), '"}')

    properties = by_group(
        group,
        {
            G_PRODUCT: product,
            G_SEARCH: search,
            G_ORDER: order,
            G_COUPON: coupon_props,
            G_EMPTY: empty,
            G_PAGE: page,
            G_TRAITS: empty,
        },
    )
    # Context: stable per device (ip, library).
    hd = hash64(device, p.seed, S_DEVICE)
    octet = [((hd >> U64(8 * k)) & U64(255)).astype(np.int64) for k in range(4)]
    octet[0] = 36 + octet[0] % 180
    ip = pc.binary_join_element_wise(*[_OCTETS.take(pa.array(o)) for o in octet], ".")
    lib_tail = [
        f'","library":{{"name":"{n}","version":"{v}"}},"locale":"zh-CN"}}' for n, v, _ in LIBRARIES
    ]
    lib = pick(unit(mix64(hd)), [w for _, _, w in LIBRARIES])
    context = join('{"ip":"', ip, labels(lib_tail, lib))
    # Traits for identify messages, consistent with customers.parquet.
    who = np.flatnonzero(is_identify)
    c = customer[who]
    traits = scatter(
        count,
        who,
        join(
            '{"name":"',
            people.name(c),
            '","gender":"',
            people.gender(c),
            '","city":"',
            people.city(c),
            '"}',
        ),
    )
    event_names = [n for n, _, _ in TRACK_EVENTS] + [None]
    msg = hash64(np.arange(start, start + count, dtype=np.int64), p.seed, S_MESSAGE)
    return pa.table(
        {
            "message_id": strings_from_matrix(prefixed("m", hex_matrix(msg))),
            "type": labels([e for e, _ in EVENT_TYPES], etype),
            "event": labels(event_names, np.where(is_track, track_ev, len(event_names) - 1)),
            "user_id": people.ids(customer, identified),
            "anonymous_id": strings_from_matrix(
                prefixed("a", hex_matrix(hash64(device, p.seed, S_DEVICE + 100))), has_anon
            ),
            "timestamp": timestamps(t),
            "received_at": timestamps(received),
            "properties": properties,
            "context": context,
            "traits": traits,
        },
        schema=EVENTS_SCHEMA,
    )


# --------------------------------------------------------------------------------------------
# Spend: one row per day and paid channel, driven by the signups of that day and channel
# --------------------------------------------------------------------------------------------


def spend_table(p: Params) -> pa.Table:
    rng = np.random.default_rng([p.seed, 4, 0])
    signup_day = (signup_times(p.seed, p.customers) - START_US) // (86_400 * 1_000_000)
    channel_names = [c for c, _ in SIGNUP_CHANNELS]
    channel = Customers(p.seed, p.customers).channel(np.arange(p.customers, dtype=np.int64))
    n_days = 365
    days, chans, spend, impressions, clicks = [], [], [], [], []
    for name, cac, cpm, ctr in SPEND_CHANNELS:
        signups = np.bincount(signup_day[channel == channel_names.index(name)], minlength=n_days)[
            :n_days
        ]
        yuan = (signups + 1) * cac * rng.lognormal(0.0, 0.25, n_days)
        fen = np.rint(yuan * 100).astype(np.int64)
        imp = np.rint(yuan / cpm * 1000 * rng.lognormal(0.0, 0.1, n_days)).astype(np.int64)
        days.append(np.arange(n_days, dtype=np.int32))
        chans.append(np.full(n_days, name, dtype=object))
        spend.append(fen)
        impressions.append(imp)
        clicks.append(rng.binomial(imp, ctr).astype(np.int64))
    epoch_day = (dt.date(2025, 1, 1) - dt.date(1970, 1, 1)).days
    day = np.concatenate(days)
    order = np.lexsort((np.concatenate([np.full(n_days, i) for i in range(len(chans))]), day))
    return pa.table(
        {
            "date": dates((epoch_day + day[order]).astype(np.int32)),
            "channel": pa.array(np.concatenate(chans)[order], pa.string()),
            "spend_fen": pa.array(np.concatenate(spend)[order]),
            "impressions": pa.array(np.concatenate(impressions)[order]),
            "clicks": pa.array(np.concatenate(clicks)[order]),
        },
        schema=SPEND_SCHEMA,
    )


# --------------------------------------------------------------------------------------------
# Driver: chunks are generated by worker threads (numpy and Arrow release the GIL), written in
# order by the main thread
# --------------------------------------------------------------------------------------------


def _customers_chunk(p: Params, start: int, count: int) -> tuple[pa.Table, ...]:
    return (Customers(p.seed, p.customers).table(start, count),)


def _orders_chunk(p: Params, start: int, count: int) -> tuple[pa.Table, ...]:
    return orders_tables(p, start, count)


def _events_chunk(p: Params, start: int, count: int) -> tuple[pa.Table, ...]:
    return (events_table(p, start, count),)


ChunkFn = Callable[[Params, int, int], tuple[pa.Table, ...]]


def chunk_results(
    fn: ChunkFn,
    p: Params,
    total: int,
    chunk_rows: int,
    jobs: int,
) -> Iterator[tuple[pa.Table, ...]]:
    """Results of fn over consecutive chunks, in order, with at most jobs + 1 chunks in flight."""
    starts: Iterable[int] = range(0, total, chunk_rows)
    if jobs <= 1:
        for s in starts:
            yield fn(p, s, min(chunk_rows, total - s))
        return
    with ThreadPoolExecutor(jobs) as pool:
        pending: deque[Future[tuple[pa.Table, ...]]] = deque()
        for s in starts:
            pending.append(pool.submit(fn, p, s, min(chunk_rows, total - s)))
            if len(pending) > jobs:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def writer(path: Path, schema: pa.Schema, kind: str, compression: str) -> pq.ParquetWriter:
    return pq.ParquetWriter(
        path, schema, compression=compression, use_dictionary=DICT_COLUMNS[kind]
    )


def write_chunks(
    out: Path,
    kinds: Sequence[tuple[str, pa.Schema]],
    fn: ChunkFn,
    p: Params,
    total: int,
    chunk_rows: int,
    jobs: int,
) -> list[int]:
    writers = [
        writer(out / f"{kind}.parquet", schema, kind, p.compression) for kind, schema in kinds
    ]
    rows = [0] * len(kinds)
    try:
        for tables in chunk_results(fn, p, total, chunk_rows, jobs):
            for i, table in enumerate(tables):
                writers[i].write_table(table, row_group_size=max(len(table), 1))
                rows[i] += len(table)
    finally:
        for w in writers:
            w.close()
    return rows


def human_size(n: int) -> str:
    size = float(n)
    for unit_name in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit_name == "GiB":
            return f"{size:.1f} {unit_name}" if unit_name != "B" else f"{n} B"
        size /= 1024
    return f"{n} B"


def report(out: Path, name: str, rows: int, seconds: float, note: str = "") -> None:
    size = (out / name).stat().st_size
    print(f"{name:<22} {rows:>12,} rows {seconds:>8.1f} s {human_size(size):>11}{note}", flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="output directory")
    ap.add_argument("--customers", type=int, default=1_000_000, help="(default 1000000)")
    ap.add_argument(
        "--orders",
        type=int,
        default=10_000_000,
        help="(default 10000000; order items are about 1.5 per order)",
    )
    ap.add_argument("--events", type=int, default=50_000_000, help="(default 50000000)")
    ap.add_argument("--seed", type=int, default=1, help="(default 1)")
    ap.add_argument(
        "--chunk-rows",
        type=int,
        default=1_000_000,
        help="rows per chunk and Parquet row group (default 1000000)",
    )
    ap.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="generator threads (default: CPU count; 1 = all in the main thread)",
    )
    ap.add_argument(
        "--compression",
        default="zstd",
        choices=["zstd", "snappy", "lz4", "gzip", "none"],
        help="Parquet compression (default zstd)",
    )
    ap.add_argument(
        "--only",
        default="customers,orders,events,spend",
        help="comma-separated subset of customers,orders,events,spend",
    )
    args = ap.parse_args(argv)
    if args.customers < 1 or args.orders < 0 or args.events < 0 or args.seed < 0:
        ap.error("--customers must be >= 1; --orders, --events, --seed >= 0")
    if not 1 <= args.chunk_rows <= 10_000_000:
        ap.error("--chunk-rows must be between 1 and 10000000")
    unknown = set(args.only.split(",")) - {"customers", "orders", "events", "spend"}
    if unknown:
        ap.error(f"--only: unknown {', '.join(sorted(unknown))}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    p = Params(
        seed=args.seed,
        customers=args.customers,
        orders=args.orders,
        events=args.events,
        chunk_rows=args.chunk_rows,
        compression=args.compression,
    )
    only = set(args.only.split(","))
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    jobs: int = args.jobs
    print(
        f"seed={p.seed} customers={p.customers:,} orders={p.orders:,} events={p.events:,} "
        f"chunk_rows={p.chunk_rows:,} compression={p.compression} jobs={jobs} -> {out}",
        flush=True,
    )
    t_all = time.perf_counter()
    if "customers" in only:
        # Smaller chunks: customers are few but wide, and this keeps both threads busy.
        t0 = time.perf_counter()
        (n,) = write_chunks(
            out,
            [("customers", CUSTOMERS_SCHEMA)],
            _customers_chunk,
            p,
            p.customers,
            max(1, p.chunk_rows // 4),
            jobs,
        )
        report(out, "customers.parquet", n, time.perf_counter() - t0)
    if "orders" in only:
        t0 = time.perf_counter()
        n_orders, n_items = write_chunks(
            out,
            [("orders", ORDERS_SCHEMA), ("order_items", ORDER_ITEMS_SCHEMA)],
            _orders_chunk,
            p,
            p.orders,
            p.chunk_rows,
            jobs,
        )
        took = time.perf_counter() - t0
        report(out, "orders.parquet", n_orders, took, "  (one pass writes both")
        report(out, "order_items.parquet", n_items, took, "  orders and order_items)")
    if "events" in only:
        t0 = time.perf_counter()
        (n,) = write_chunks(
            out, [("events", EVENTS_SCHEMA)], _events_chunk, p, p.events, p.chunk_rows, jobs
        )
        report(out, "events.parquet", n, time.perf_counter() - t0)
    if "spend" in only:
        t0 = time.perf_counter()
        table = spend_table(p)
        pq.write_table(table, out / "spend.parquet", compression=p.compression)
        report(out, "spend.parquet", len(table), time.perf_counter() - t0)
    print(f"{'total':<22} {'':>17} {time.perf_counter() - t_all:>8.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
