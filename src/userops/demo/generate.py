"""Deterministic synthetic e-commerce shop (a Chinese online shop) for demos and tests.

``generate_shop()`` returns five Arrow tables in the importer's file formats
(``docs/import-formats.md``): customers, orders, order items, events (Segment-style messages)
and daily marketing spend. ``write_shop()`` writes them as Parquet files. Everything is
vectorised NumPy; the same arguments (including ``end``) give byte-identical tables.

The shop runs over the ``days`` calendar days (shop timezone) ending the day before ``end``;
no timestamp reaches ``end``.

Generative model
----------------
* Signups: a growing daily volume times the seasonal day weight; 10 acquisition channels
  (``CHANNELS``) with different volumes, cost per acquisition (``spend`` table) and quality.
* Purchases follow BG/NBD ("buy till you die"). A channel-dependent share of customers makes
  a first purchase (40% in the signup session, otherwise ~Exp(10 days) later). From then on
  each buyer has a purchase rate ``lambda ~ Gamma(r=0.9, alpha=120 days)`` (times the channel
  quality) and a dropout probability ``p ~ Beta(a, b)`` (channel specific); after each repeat
  purchase the buyer becomes inactive with probability ``p`` (as in BG/NBD, the first purchase
  does not end a lifetime). Repeat purchases are an inhomogeneous Poisson process (rate
  ``lambda`` times the seasonal day weight and the hour-of-day weight), drawn by thinning.
  A BG/NBD fit on the paid and refunded orders of the default shop gives r ~ 0.9 and a mean
  rate within ~5% of the generating one. Order values come from a per-customer spend level
  ``nu ~ Gamma(4, 1/4)`` (times income and channel factors) applied to category-specific
  log-normal prices (Gamma-Gamma-like).
* Browsing: a signup session, an early "honeymoon" phase (~Exp(4 days); ~Exp(20 days) for the
  engaged, see below), and sessions between orders while a buyer is alive (plus a few days
  after dropping out). Each order comes with a same-day session that views and carts its
  SKUs before ``created_at``; ``paid_at`` follows minutes later.
* Seasonality: peaks at 618 (June 18), 双11 (November 11, with a pre-sale and a midnight
  rush) and 双12 (December 12); a dip of about +-7 days around the Spring Festival
  (2025-01-29, 2026-02-17, ...).
* Referrals: ``referral`` customers have a ``referrer_id`` pointing at an earlier customer;
  about 0.5% of customers are heavy (KOL-like) referrers with at least 3 referees; referrers
  emit ``share`` events before each referee signs up.
* Cancelled orders are checkouts abandoned shortly before a (paid) purchase; they are not
  purchases of the BG/NBD process. Refunds happen 1-15 days after payment.

Planted effect (the "aha moment")
---------------------------------
Customers who send at least ``PLANTED_FAVORITE_THRESHOLD`` (3) ``favorite`` track events
within their first ``PLANTED_WINDOW_DAYS`` (7) days after ``signup_at`` are markedly better
retained. About 18% of customers (more from xiaohongshu / kol / search, fewer from douyin /
ad_network) are "engaged": 90% of them favourite 3+ products in extra first-week sessions;
they browse five times longer after signup, buy more often (rate x1.6, more first purchases)
and drop out less (BG/NBD ``p`` x0.35). Others favourite rarely (~2% reach 3 by chance).
Measured as "retained at day 30" = at least one event with the customer's ``user_id`` in
``[signup_at + 30 days, signup_at + 60 days)``, among customers who signed up at least 60 days
before the end: ~50% of the 3+ favourites group versus ~13% of the others (default shop).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from faker import Faker

from userops.core.clock import utcnow
from userops.demo.geo import PROVINCES, city_tier

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "CUSTOMERS_SCHEMA",
    "EVENTS_SCHEMA",
    "ORDERS_SCHEMA",
    "ORDER_ITEMS_SCHEMA",
    "PAID_CHANNELS",
    "PLANTED_FAVORITE_THRESHOLD",
    "PLANTED_WINDOW_DAYS",
    "SPEND_SCHEMA",
    "DemoShop",
    "generate_shop",
    "write_shop",
]

PLANTED_FAVORITE_THRESHOLD = 3
PLANTED_WINDOW_DAYS = 7

US_PER_SEC = 1_000_000
US_PER_MIN = 60 * US_PER_SEC
US_PER_HOUR = 60 * US_PER_MIN
US_PER_DAY = 24 * US_PER_HOUR

_TS = pa.timestamp("us", tz="UTC")
_STR_LIST = pa.list_(pa.string())

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
        ("interests", _STR_LIST),
        ("signup_at", _TS),
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
        ("created_at", _TS),
        ("paid_at", _TS),
        ("status", pa.string()),
        ("amount_fen", pa.int64()),
        ("discount_fen", pa.int64()),
        ("coupon_codes", _STR_LIST),
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
        ("timestamp", _TS),
        ("received_at", _TS),
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


PRODUCTS_SCHEMA = pa.schema(
    [
        ("sku", pa.string()),
        ("name", pa.string()),
        ("category", pa.string()),
        ("category_en", pa.string()),
        ("brand", pa.string()),
        ("price_fen", pa.int64()),
        ("list_price_fen", pa.int64()),
        ("image_url", pa.string()),
        ("stock", pa.int64()),
        ("status", pa.string()),
        ("tags", pa.list_(pa.string())),
    ]
)


@dataclass(frozen=True)
class DemoShop:
    customers: pa.Table
    orders: pa.Table
    order_items: pa.Table
    events: pa.Table
    spend: pa.Table
    products: pa.Table


# --------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Channel:
    name: str
    share: float  # share of signups (before the trend)
    trend: float  # relative change of the share from the first to the last day
    cac_yuan: float | None  # target cost per acquisition; None = no spend
    cpm_yuan: float  # cost per 1000 impressions
    ctr: float  # clicks / impressions
    buy_prob: float  # probability to ever make a first purchase
    lam_mult: float  # purchase-rate multiplier
    p_a: float  # Beta(a, b) dropout
    p_b: float
    spend_mult: float  # order-value multiplier
    engaged_prob: float  # share of customers who reach the planted "aha moment"
    medium: str  # utm medium of the first event
    platforms: tuple[float, float, float]  # app, mini_program, web


_CHANNELS: tuple[_Channel, ...] = (
    _Channel(
        "app_store",
        0.12,
        0.0,
        45,
        35,
        0.020,
        0.45,
        1.10,
        1.4,
        2.6,
        1.00,
        0.19,
        "cpi",
        (1.0, 0.0, 0.0),
    ),
    _Channel(
        "search", 0.13, 0.0, 85, 60, 0.035, 0.55, 1.25, 1.2, 3.0, 1.15, 0.22, "cpc", (0.3, 0.2, 0.5)
    ),
    _Channel(
        "ad_network",
        0.10,
        -0.4,
        22,
        12,
        0.006,
        0.25,
        0.75,
        2.0,
        2.0,
        0.85,
        0.09,
        "display",
        (0.6, 0.2, 0.2),
    ),
    _Channel(
        "social_ads",
        0.10,
        0.0,
        32,
        28,
        0.012,
        0.38,
        0.95,
        1.6,
        2.4,
        0.95,
        0.15,
        "paid_social",
        (0.3, 0.5, 0.2),
    ),
    _Channel(
        "douyin",
        0.16,
        0.8,
        14,
        18,
        0.015,
        0.28,
        0.65,
        2.2,
        1.8,
        0.80,
        0.09,
        "short_video",
        (0.4, 0.5, 0.1),
    ),
    _Channel(
        "xiaohongshu",
        0.07,
        0.3,
        55,
        45,
        0.020,
        0.50,
        1.15,
        1.3,
        2.7,
        1.25,
        0.30,
        "notes",
        (0.5, 0.3, 0.2),
    ),
    _Channel(
        "offline",
        0.04,
        0.0,
        60,
        30,
        0.050,
        0.70,
        1.30,
        1.0,
        3.0,
        1.10,
        0.20,
        "qr_code",
        (0.3, 0.7, 0.0),
    ),
    _Channel(
        "kol",
        0.05,
        0.2,
        50,
        40,
        0.018,
        0.45,
        1.00,
        1.5,
        2.5,
        1.05,
        0.28,
        "influencer",
        (0.4, 0.5, 0.1),
    ),
    _Channel(
        "referral",
        0.06,
        0.0,
        None,
        0,
        0.0,
        0.60,
        1.20,
        1.1,
        2.9,
        1.00,
        0.22,
        "invite",
        (0.3, 0.7, 0.0),
    ),
    _Channel(
        "organic",
        0.17,
        0.0,
        None,
        0,
        0.0,
        0.50,
        1.10,
        1.3,
        2.7,
        1.00,
        0.19,
        "none",
        (0.4, 0.3, 0.3),
    ),
)
CHANNELS: tuple[str, ...] = tuple(c.name for c in _CHANNELS)
PAID_CHANNELS: tuple[str, ...] = tuple(c.name for c in _CHANNELS if c.cac_yuan is not None)
_CH = {c.name: i for i, c in enumerate(_CHANNELS)}
_PLATFORMS = ("app", "mini_program", "web")

# --------------------------------------------------------------------------------------
# Product catalogue: 8 categories, nouns ordered from cheap to expensive
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Category:
    name: str
    code: str
    median_yuan: float
    sigma: float
    popularity: float
    extra_qty: float  # mean of (quantity - 1)
    brands: tuple[str, ...]
    nouns: tuple[str, ...]
    queries: tuple[str, ...]


_CATEGORIES: tuple[_Category, ...] = (
    _Category(
        "美妆",
        "BEA",
        129,
        0.60,
        1.3,
        0.15,
        ("花漾", "植萃坊", "雪颜", "初见", "青柠"),
        (
            "化妆棉",
            "卸妆湿巾",
            "润唇膏",
            "氨基酸洗面奶",
            "补水面膜",
            "丝绒口红",
            "防晒霜",
            "粉底液",
            "修护精华液",
            "护肤礼盒",
        ),
        ("口红", "面膜", "防晒", "精华", "粉底液", "敏感肌"),
    ),
    _Category(
        "数码",
        "DIG",
        399,
        1.05,
        1.0,
        0.10,
        ("极客", "星途", "小橙", "锐影", "云帆"),
        (
            "数据线",
            "手机壳",
            "快充充电器",
            "蓝牙耳机",
            "移动电源",
            "智能手环",
            "机械键盘",
            "降噪耳机",
            "平板电脑",
            "轻薄笔记本电脑",
        ),
        ("耳机", "充电宝", "笔记本", "键盘", "手环", "平板"),
    ),
    _Category(
        "母婴",
        "BAB",
        119,
        0.70,
        0.8,
        0.45,
        ("贝乐", "萌芽", "小象", "暖暖", "童趣"),
        (
            "婴儿湿巾",
            "口水巾",
            "宝宝奶瓶",
            "纸尿裤",
            "婴儿洗护套装",
            "学步鞋",
            "婴儿配方奶粉",
            "儿童安全座椅",
            "婴儿推车",
        ),
        ("纸尿裤", "奶粉", "湿巾", "推车", "宝宝辅食"),
    ),
    _Category(
        "运动",
        "SPO",
        199,
        0.70,
        0.8,
        0.15,
        ("飞跃", "劲跑", "猎豹", "轻行", "迅驰"),
        (
            "运动袜",
            "跳绳",
            "瑜伽垫",
            "运动水壶",
            "速干T恤",
            "运动短裤",
            "跑步鞋",
            "羽毛球拍",
            "登山包",
        ),
        ("跑鞋", "瑜伽垫", "健身", "羽毛球", "速干衣"),
    ),
    _Category(
        "家居",
        "HOM",
        89,
        0.80,
        1.0,
        0.30,
        ("木语", "宜居", "暖巢", "简屋", "悦家"),
        (
            "抽纸",
            "收纳盒",
            "纯棉毛巾",
            "香薰蜡烛",
            "保温杯",
            "床上四件套",
            "乳胶枕",
            "空气炸锅",
            "懒人沙发",
        ),
        ("收纳", "四件套", "保温杯", "香薰", "空气炸锅"),
    ),
    _Category(
        "食品",
        "FOD",
        49,
        0.60,
        1.2,
        0.80,
        ("味小馋", "山野集", "老街坊", "甜蜜工坊", "鲜果园"),
        (
            "辣条",
            "牛肉干",
            "螺蛳粉",
            "挂耳咖啡",
            "坚果礼包",
            "自热火锅",
            "红茶礼盒",
            "车厘子",
            "月饼礼盒",
        ),
        ("零食", "螺蛳粉", "咖啡", "坚果", "车厘子", "自热火锅"),
    ),
    _Category(
        "服饰",
        "APP",
        169,
        0.70,
        1.2,
        0.15,
        ("素衣", "森屿", "城市旅人", "暖冬", "简约派"),
        (
            "棉袜",
            "纯棉T恤",
            "连帽卫衣",
            "直筒牛仔裤",
            "碎花连衣裙",
            "针织开衫",
            "休闲鞋",
            "轻薄羽绒服",
            "羊绒大衣",
        ),
        ("连衣裙", "卫衣", "羽绒服", "牛仔裤", "T恤"),
    ),
    _Category(
        "图书",
        "BOK",
        45,
        0.45,
        0.6,
        0.30,
        ("博文", "书香", "新知", "青藤", "墨韵"),
        (
            "儿童绘本",
            "漫画",
            "长篇小说",
            "散文集",
            "考研真题",
            "编程入门",
            "中国通史",
            "精装典藏套装",
        ),
        ("小说", "绘本", "考研", "编程", "历史"),
    ),
)
CATEGORIES: tuple[str, ...] = tuple(c.name for c in _CATEGORIES)
CATEGORY_EN = {
    "美妆": "Beauty",
    "数码": "Electronics",
    "母婴": "Mother & baby",
    "运动": "Sports",
    "家居": "Home",
    "食品": "Food",
    "服饰": "Apparel",
    "图书": "Books",
}
"""English display names of the top-level categories (the catalogue's ``category_en``)."""
SUBCATEGORIES: dict[str, tuple[str, str]] = {
    # noun of a product name → (second level, its English name); the catalogue's paths are
    # "<category> › <second level>" ("美妆 › 面膜").
    "化妆棉": ("美妆工具", "Beauty tools"),
    "卸妆湿巾": ("卸妆", "Makeup removers"),
    "润唇膏": ("唇部护理", "Lip care"),
    "氨基酸洗面奶": ("洁面", "Cleansers"),
    "补水面膜": ("面膜", "Face masks"),
    "丝绒口红": ("彩妆", "Makeup"),
    "防晒霜": ("防晒", "Sun care"),
    "粉底液": ("彩妆", "Makeup"),
    "修护精华液": ("精华", "Serums"),
    "护肤礼盒": ("礼盒", "Gift sets"),
    "数据线": ("手机配件", "Phone accessories"),
    "手机壳": ("手机配件", "Phone accessories"),
    "快充充电器": ("手机配件", "Phone accessories"),
    "蓝牙耳机": ("耳机", "Headphones"),
    "移动电源": ("手机配件", "Phone accessories"),
    "智能手环": ("智能穿戴", "Wearables"),
    "机械键盘": ("电脑外设", "Computer peripherals"),
    "降噪耳机": ("耳机", "Headphones"),
    "平板电脑": ("电脑", "Computers"),
    "轻薄笔记本电脑": ("电脑", "Computers"),
    "婴儿湿巾": ("洗护", "Baby care"),
    "口水巾": ("服饰", "Baby clothing"),
    "宝宝奶瓶": ("喂养", "Feeding"),
    "纸尿裤": ("纸尿裤", "Diapers"),
    "婴儿洗护套装": ("洗护", "Baby care"),
    "学步鞋": ("服饰", "Baby clothing"),
    "婴儿配方奶粉": ("奶粉", "Formula"),
    "儿童安全座椅": ("出行", "Travel gear"),
    "婴儿推车": ("出行", "Travel gear"),
    "运动袜": ("运动服饰", "Sportswear"),
    "跳绳": ("健身器材", "Fitness equipment"),
    "瑜伽垫": ("健身器材", "Fitness equipment"),
    "运动水壶": ("户外", "Outdoor"),
    "速干T恤": ("运动服饰", "Sportswear"),
    "运动短裤": ("运动服饰", "Sportswear"),
    "跑步鞋": ("运动鞋", "Sports shoes"),
    "羽毛球拍": ("球类", "Ball sports"),
    "登山包": ("户外", "Outdoor"),
    "抽纸": ("日用", "Household"),
    "收纳盒": ("收纳", "Storage"),
    "纯棉毛巾": ("家纺", "Home textiles"),
    "香薰蜡烛": ("家饰", "Home decor"),
    "保温杯": ("厨具", "Kitchen"),
    "床上四件套": ("家纺", "Home textiles"),
    "乳胶枕": ("家纺", "Home textiles"),
    "空气炸锅": ("厨房电器", "Kitchen appliances"),
    "懒人沙发": ("家具", "Furniture"),
    "辣条": ("零食", "Snacks"),
    "牛肉干": ("零食", "Snacks"),
    "螺蛳粉": ("速食", "Instant food"),
    "挂耳咖啡": ("咖啡茶饮", "Coffee & tea"),
    "坚果礼包": ("零食", "Snacks"),
    "自热火锅": ("速食", "Instant food"),
    "红茶礼盒": ("咖啡茶饮", "Coffee & tea"),
    "车厘子": ("生鲜水果", "Fresh fruit"),
    "月饼礼盒": ("礼盒", "Gift boxes"),
    "棉袜": ("内衣袜子", "Underwear & socks"),
    "纯棉T恤": ("上衣", "Tops"),
    "连帽卫衣": ("上衣", "Tops"),
    "直筒牛仔裤": ("裤装", "Trousers"),
    "碎花连衣裙": ("裙装", "Dresses"),
    "针织开衫": ("上衣", "Tops"),
    "休闲鞋": ("鞋靴", "Shoes"),
    "轻薄羽绒服": ("外套", "Outerwear"),
    "羊绒大衣": ("外套", "Outerwear"),
    "儿童绘本": ("童书", "Children's books"),
    "漫画": ("动漫", "Comics"),
    "长篇小说": ("文学", "Literature"),
    "散文集": ("文学", "Literature"),
    "考研真题": ("教辅", "Study guides"),
    "编程入门": ("科技", "Technology"),
    "中国通史": ("历史", "History"),
    "精装典藏套装": ("套装", "Box sets"),
}
_VARIANTS = ("", "", "经典款", "升级版", "套装", "限定款", "Pro")
_GENERIC_QUERIES = ("优惠券", "新品", "爆款", "包邮", "礼物")

# --------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------

# (occupation, industries, income score, weight for age <24, 24-54, >=55)
_OCCUPATIONS: tuple[tuple[str, tuple[str, ...], float, tuple[float, float, float]], ...] = (
    ("学生", ("教育",), -1.5, (6.0, 0.3, 0.0)),
    ("软件工程师", ("互联网", "金融", "制造业"), 1.4, (0.6, 1.4, 0.1)),
    ("产品经理", ("互联网", "金融"), 1.3, (0.2, 0.8, 0.05)),
    ("设计师", ("互联网", "广告传媒", "制造业"), 0.6, (0.6, 0.9, 0.1)),
    ("教师", ("教育",), 0.3, (0.3, 1.2, 0.4)),
    ("医生", ("医疗",), 1.2, (0.05, 0.6, 0.3)),
    ("护士", ("医疗",), 0.0, (0.4, 0.9, 0.1)),
    ("销售", ("零售", "房地产", "制造业", "金融"), 0.3, (0.8, 1.6, 0.3)),
    ("会计", ("金融", "制造业", "服务业"), 0.4, (0.3, 1.0, 0.3)),
    ("公务员", ("政府机构",), 0.6, (0.2, 1.0, 0.4)),
    ("市场营销", ("互联网", "广告传媒", "零售"), 0.6, (0.5, 1.1, 0.1)),
    ("行政", ("服务业", "制造业", "政府机构"), -0.2, (0.5, 1.0, 0.2)),
    ("工人", ("制造业", "建筑"), -0.6, (0.6, 1.4, 0.6)),
    ("个体经营", ("零售", "餐饮"), 0.3, (0.3, 1.2, 0.8)),
    ("自由职业", ("广告传媒", "互联网", "服务业"), 0.2, (0.6, 0.8, 0.3)),
    ("律师", ("法律服务",), 1.3, (0.05, 0.4, 0.1)),
    ("厨师", ("餐饮",), -0.3, (0.3, 0.6, 0.2)),
    ("快递员", ("物流",), -0.5, (0.5, 0.8, 0.1)),
    ("全职妈妈", ("家庭",), -0.8, (0.1, 0.9, 0.2)),
    ("退休", ("其他",), -0.8, (0.0, 0.0, 5.0)),
)
_INCOME_BANDS = ("<5k", "5k-10k", "10k-20k", "20k+")
_INCOME_SPEND = np.array([0.75, 0.95, 1.15, 1.45])
_MOBILE_PREFIXES = (
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "147",
    "150",
    "151",
    "152",
    "153",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "176",
    "177",
    "178",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "191",
    "195",
    "198",
    "199",
)
_EMAIL_DOMAINS = (
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "foxmail.com",
    "outlook.com",
    "gmail.com",
)
_EMAIL_DOMAIN_P = (0.48, 0.2, 0.1, 0.05, 0.07, 0.05, 0.05)
_OVERSEAS_TZ = (
    "Asia/Tokyo",
    "Asia/Singapore",
    "America/Los_Angeles",
    "Europe/London",
    "Australia/Sydney",
    "America/New_York",
    "Asia/Seoul",
)
_ID_ALPHABET = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
)
_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)

# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------

_TYPES = ("track", "identify", "page")
_T_TRACK, _T_IDENTIFY, _T_PAGE = 0, 1, 2
_EVENT_NAMES = (
    "signup",
    "page_view",
    "product_view",
    "search",
    "add_to_cart",
    "favorite",
    "follow",
    "share",
    "checkin",
    "order_paid",
    "refund",
)
(
    _E_SIGNUP,
    _E_PAGE_VIEW,
    _E_PRODUCT_VIEW,
    _E_SEARCH,
    _E_ADD_TO_CART,
    _E_FAVORITE,
    _E_FOLLOW,
    _E_SHARE,
    _E_CHECKIN,
    _E_ORDER_PAID,
    _E_REFUND,
) = range(len(_EVENT_NAMES))
_PAGES = (
    ("/", "首页"),
    ("/category", "分类"),
    ("/promo", "活动会场"),
    ("/cart", "购物车"),
    ("/me", "我的"),
    ("/coupons", "领券中心"),
    ("/live", "直播间"),
)
_LANDING_PAGES = (("/landing", "新人专享"), ("/", "首页"), ("/promo", "活动会场"))
# behaviour knobs (rates per day); (others, engaged) pairs
_LAMBDA_SHAPE = 0.9  # BG/NBD r
_LAMBDA_RATE = 120.0  # BG/NBD alpha (days)
_ENGAGED_LAMBDA_MULT = 1.6
_ENGAGED_DROPOUT_MULT = 0.35
_DROPOUT_A_MULT = 2.0
_HONEYMOON_DAYS = (4.0, 20.0)  # mean length of the early browsing phase
_HONEYMOON_SESSIONS = (1.0, 0.7)  # sessions per day in the early phase
_SESSIONS_PER_PURCHASE = (1.0, 4.0)  # browsing sessions per expected purchase while alive
_VIEWS_PER_SESSION = 3.5
_FAVORITE_PER_VIEW = (0.015, 0.05)
_SPRING_FESTIVALS = (
    dt.date(2024, 2, 10),
    dt.date(2025, 1, 29),
    dt.date(2026, 2, 17),
    dt.date(2027, 2, 6),
    dt.date(2028, 1, 26),
)
_HOUR_WEIGHTS = np.array(
    [
        2.0,
        1.2,
        0.6,
        0.3,
        0.2,
        0.3,
        0.6,
        1.3,
        2.2,
        2.7,
        3.0,
        3.2,
        3.8,
        3.4,
        2.8,
        2.8,
        3.0,
        3.2,
        3.6,
        4.4,
        5.6,
        6.2,
        5.4,
        3.6,
    ]
)


def _json(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


# --------------------------------------------------------------------------------------
# Calendar: local time is float days (or int microseconds) since the first local midnight
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    start: dt.date
    days: int
    epoch_local_us: int  # first local midnight, read as if it were UTC
    offsets_us: np.ndarray  # (days + 1,) UTC offset of each local day
    weight: np.ndarray  # (days,) seasonal day weight, mean 1
    hours: np.ndarray  # (days, 24) hour-of-day weights, row mean 1
    month: np.ndarray  # (days,)
    dom: np.ndarray  # (days,)

    def to_utc(self, local_us: np.ndarray) -> np.ndarray:
        day = np.clip(local_us // US_PER_DAY, 0, self.days)
        return self.epoch_local_us + local_us - self.offsets_us[day]

    @property
    def end_local_us(self) -> int:
        return self.days * US_PER_DAY

    def intensity(self, season_power: float) -> np.ndarray:
        w = self.weight**season_power
        w = w / w.mean()
        return w[:, None] * self.hours


def _bump(ordinal: np.ndarray, centre: dt.date, sd: float, amp: float) -> np.ndarray:
    x = (ordinal - centre.toordinal()) / sd
    return amp * np.exp(-0.5 * x * x)


def _calendar(start: dt.date, days: int, timezone: str) -> _Calendar:
    tz = ZoneInfo(timezone)
    dates = [start + dt.timedelta(days=i) for i in range(days + 1)]
    offsets = np.array(
        [
            int(tz.utcoffset(dt.datetime.combine(d, dt.time(12))).total_seconds()) * US_PER_SEC
            for d in dates
        ],
        dtype=np.int64,
    )
    dates = dates[:days]
    ordinal = np.array([d.toordinal() for d in dates], dtype=np.float64)
    weekday = np.array([d.weekday() for d in dates])
    month = np.array([d.month for d in dates])
    dom = np.array([d.day for d in dates])

    w = np.array([0.96, 0.96, 0.97, 0.98, 1.0, 1.08, 1.12])[weekday]
    extra = np.zeros(days)
    for year in range(start.year - 1, dates[-1].year + 2):
        extra += _bump(ordinal, dt.date(year, 6, 14), 5.0, 0.7)  # 618 pre-sale
        extra += _bump(ordinal, dt.date(year, 6, 18), 0.5, 2.8)  # 618
        extra += _bump(ordinal, dt.date(year, 11, 4), 6.0, 0.6)  # 双11 pre-sale
        extra += _bump(ordinal, dt.date(year, 11, 11), 0.5, 6.5)  # 双11
        extra += _bump(ordinal, dt.date(year, 12, 12), 0.5, 2.2)  # 双12
        extra += _bump(ordinal, dt.date(year, 12, 12), 3.0, 0.3)
    w = w * (1.0 + extra)
    for festival in _SPRING_FESTIVALS:
        dist = np.abs(ordinal - festival.toordinal())
        w = np.where(dist <= 7, w * (0.3 + 0.6 * (dist / 7.0) ** 2), w)
    w = w / w.mean()

    hours = np.tile(_HOUR_WEIGHTS, (days, 1))
    rush = (month == 11) & (dom == 11) | (month == 6) & (dom == 18)
    hours[rush, 0] *= 6.0
    hours[rush, 1] *= 2.5
    hours = hours / hours.mean(axis=1, keepdims=True)

    epoch_local_us = (start - dt.date(1970, 1, 1)).days * US_PER_DAY
    return _Calendar(start, days, epoch_local_us, offsets, w, hours, month, dom)


def _thinned_times(
    rng: np.random.Generator,
    intensity: np.ndarray,
    t_from: np.ndarray,
    t_to: np.ndarray,
    rate: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Inhomogeneous Poisson process per owner on [t_from, t_to) (float days).

    The intensity is ``rate * intensity[day, hour]``; drawn by thinning a homogeneous
    process of rate ``rate * intensity.max()``. Returns (owner index, time), unsorted.
    """
    days = intensity.shape[0]
    top = float(intensity.max())
    dur = np.clip(t_to - t_from, 0.0, None)
    n = rng.poisson(rate * top * dur)
    owner = np.repeat(np.arange(dur.size), n)
    t = t_from[owner] + rng.random(owner.size) * dur[owner]
    day = np.clip(t.astype(np.int64), 0, days - 1)
    hour = np.clip(((t - day) * 24).astype(np.int64), 0, 23)
    keep = rng.random(t.size) * top < intensity[day, hour]
    return owner[keep], t[keep]


def _time_of_day(rng: np.random.Generator, cal: _Calendar, day: np.ndarray) -> np.ndarray:
    """A time of day (fraction of a day) drawn from each day's hour-of-day weights."""
    cum = np.cumsum(cal.hours, axis=1)
    cum = cum / cum[:, -1:]
    u = rng.random(day.size)
    hour = np.minimum((cum[day] < u[:, None]).sum(axis=1), 23)
    return (hour + rng.random(day.size)) / 24.0


def _choice_rows(rng: np.random.Generator, probs: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each entry of ``rows``, a column index drawn from ``probs[row]`` (rows sum to 1)."""
    cum = np.cumsum(probs, axis=1)
    u = rng.random(rows.size) * cum[rows, -1]
    return np.minimum((cum[rows] <= u[:, None]).sum(axis=1), probs.shape[1] - 1)


def _group_rank(sorted_keys: np.ndarray) -> np.ndarray:
    """0-based position of each element within its run of equal keys (keys sorted)."""
    n = sorted_keys.size
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]])
    lengths = np.diff(np.r_[starts, n])
    return np.arange(n) - np.repeat(starts, lengths)


def _random_ids(rng: np.random.Generator, n: int, length: int, prefix: str) -> list[str]:
    codes = _ID_ALPHABET[rng.integers(0, _ID_ALPHABET.size, size=(n, length))]
    raw = codes.tobytes()
    return [prefix + raw[i * length : (i + 1) * length].decode() for i in range(n)]


def _uuid4(rng: np.random.Generator, n: int) -> pa.Array:
    """n random (version 4 layout) UUID strings built from the generator's bytes."""
    b = np.frombuffer(rng.bytes(16 * n), dtype=np.uint8).reshape(n, 16).copy()
    b[:, 6] = (b[:, 6] & 0x0F) | 0x40
    b[:, 8] = (b[:, 8] & 0x3F) | 0x80
    hexed = np.empty((n, 32), dtype=np.uint8)
    hexed[:, 0::2] = _HEX[b >> 4]
    hexed[:, 1::2] = _HEX[b & 0x0F]
    out = np.full((n, 36), ord("-"), dtype=np.uint8)
    out[:, 0:8] = hexed[:, 0:8]
    out[:, 9:13] = hexed[:, 8:12]
    out[:, 14:18] = hexed[:, 12:16]
    out[:, 19:23] = hexed[:, 16:20]
    out[:, 24:36] = hexed[:, 20:32]
    data = pa.py_buffer(out.tobytes())
    offsets = pa.py_buffer(np.arange(0, 36 * (n + 1), 36, dtype=np.int32).tobytes())
    return pa.Array.from_buffers(pa.string(), n, [None, offsets, data])


def _take(
    pool: list[str | None] | pa.Array, idx: np.ndarray, mask: np.ndarray | None = None
) -> pa.Array:
    arr = pool if isinstance(pool, pa.Array) else pa.array(pool, type=pa.string())
    indices = pa.array(np.asarray(idx, dtype=np.int64), mask=mask)
    return arr.take(indices)


def _ts(cal: _Calendar, local_us: np.ndarray, mask: np.ndarray | None = None) -> pa.Array:
    return pa.array(cal.to_utc(local_us).astype(np.int64), type=_TS, mask=mask)


def _list_array(offsets: np.ndarray, values: pa.Array) -> pa.Array:
    return pa.ListArray.from_arrays(pa.array(offsets.astype(np.int32)), values)


# --------------------------------------------------------------------------------------
# Catalogue
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Catalogue:
    sku: list[str]
    name: list[str]
    brand: list[str]
    noun: list[str]
    category: np.ndarray  # category index per sku
    price_fen: np.ndarray
    log_price_key: np.ndarray  # category * 100 + log(price); sorted (skus are ordered so)
    popularity_cum: np.ndarray  # category + cumulative popularity within category
    cat_start: np.ndarray  # first sku index per category
    cat_end: np.ndarray


def _catalogue(rng: np.random.Generator, n_skus: int = 300) -> _Catalogue:
    n_cat = len(_CATEGORIES)
    counts = np.full(n_cat, n_skus // n_cat)
    counts[: n_skus % n_cat] += 1
    skus: list[str] = []
    names: list[str] = []
    brands: list[str] = []
    nouns: list[str] = []
    cats: list[np.ndarray] = []
    prices: list[np.ndarray] = []
    pops: list[np.ndarray] = []
    for ci, (cat, n) in enumerate(zip(_CATEGORIES, counts, strict=True)):
        z = np.sort(rng.standard_normal(n))
        yuan = np.exp(np.log(cat.median_yuan) + cat.sigma * z)
        # shop prices: x9 yuan above 20 yuan, x.9 below
        fen = np.where(
            yuan >= 20,
            (np.floor(yuan / 10) * 10 + 9) * 100,
            np.maximum(np.round(yuan) * 100 - 10, 190),
        ).astype(np.int64)
        quantile = np.argsort(np.argsort(z)) / n  # nouns ordered cheap -> expensive
        noun_idx = np.minimum((quantile * len(cat.nouns)).astype(int), len(cat.nouns) - 1)
        brand_idx = rng.integers(0, len(cat.brands), n)
        variant_idx = rng.integers(0, len(_VARIANTS), n)
        for j in range(n):
            variant = _VARIANTS[variant_idx[j]]
            names.append(
                f"{cat.brands[brand_idx[j]]} {cat.nouns[noun_idx[j]]}"
                + (f" {variant}" if variant else "")
            )
            skus.append(f"{cat.code}-{j + 1:04d}")
            brands.append(cat.brands[brand_idx[j]])
            nouns.append(cat.nouns[noun_idx[j]])
        cats.append(np.full(n, ci))
        prices.append(fen)
        pop = rng.permutation(1.0 / np.arange(1, n + 1) ** 0.9)  # Zipf-like popularity
        pops.append(ci + np.cumsum(pop) / pop.sum())
    category = np.concatenate(cats)
    price = np.concatenate(prices)
    cat_start = np.r_[0, np.cumsum(counts)[:-1]]
    return _Catalogue(
        sku=skus,
        name=names,
        brand=brands,
        noun=nouns,
        category=category,
        price_fen=price,
        log_price_key=category * 100.0 + np.log(price),
        popularity_cum=np.concatenate(pops),
        cat_start=cat_start,
        cat_end=cat_start + counts,
    )


def _products(cat: _Catalogue) -> pa.Table:
    """The catalogue as the products import reads it: every SKU of the orders and events, at
    the price its order items carry; "<category> › <second level>" paths with English names.
    No image URLs (the demo has no image host; the console shows a placeholder). Stock, list
    prices, statuses and tags follow the SKU's number, so no random draw is spent here."""
    top = [CATEGORIES[c] for c in cat.category]
    sub = [SUBCATEGORIES[n] for n in cat.noun]
    number = [int(s.rsplit("-", 1)[1]) for s in cat.sku]
    price = cat.price_fen.astype(np.int64)
    # every third product "on sale": its list price about 25% higher, ending in 9 yuan
    higher = ((np.ceil(price * 1.25 / 1000) * 10 - 1) * 100).astype(np.int64)
    list_price = np.where(np.array(number) % 3 == 0, np.maximum(higher, price), price)
    status = [
        "off_shelf" if n % 37 == 0 else "sold_out" if n % 23 == 0 else "on_sale" for n in number
    ]
    tags = [["新品"] if n % 10 == 1 else ["热卖"] if n % 7 == 0 else [] for n in number]
    return pa.Table.from_arrays(
        [
            pa.array(cat.sku, type=pa.string()),
            pa.array(cat.name, type=pa.string()),
            pa.array([f"{t} › {z}" for t, (z, _) in zip(top, sub, strict=True)]),
            pa.array([f"{CATEGORY_EN[t]} › {e}" for t, (_, e) in zip(top, sub, strict=True)]),
            pa.array(cat.brand, type=pa.string()),
            pa.array(price, type=pa.int64()),
            pa.array(list_price, type=pa.int64()),
            pa.nulls(len(cat.sku), type=pa.string()),
            pa.array(
                [
                    0 if st == "sold_out" else (n * 37) % 500 + 20
                    for n, st in zip(number, status, strict=True)
                ],
                type=pa.int64(),
            ),
            pa.array(status, type=pa.string()),
            pa.array(tags, type=pa.list_(pa.string())),
        ],
        schema=PRODUCTS_SCHEMA,
    )


# --------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------


@dataclass
class _People:
    n: int
    signup_t: np.ndarray  # float days, sorted ascending
    signup_us: np.ndarray
    channel: np.ndarray
    platform: np.ndarray  # 0 app, 1 mini_program, 2 web
    engaged: np.ndarray  # bool: reaches the planted "aha moment"
    heavy_referrer: np.ndarray
    referrer: np.ndarray  # index or -1
    interests: np.ndarray  # (n, 3) category indices, first n_interests valid
    n_interests: np.ndarray
    spend_level: np.ndarray
    lam: np.ndarray  # purchase rate per day
    p_drop: np.ndarray
    buyer: np.ndarray
    honeymoon: np.ndarray  # days of early browsing
    ids: list[str]
    anon: pa.Array
    table: pa.Table


def _assign_referrers(
    rng: np.random.Generator,
    signup_t: np.ndarray,
    channel: np.ndarray,
    engaged: np.ndarray,
    days: int,
) -> tuple[np.ndarray, np.ndarray]:
    n = signup_t.size
    referral = channel == _CH["referral"]
    referrer = np.full(n, -1, dtype=np.int64)
    heavy = np.zeros(n, dtype=bool)
    candidates = np.flatnonzero(~referral & (signup_t < 0.6 * days))
    n_heavy = min(max(1, round(0.005 * n)), candidates.size)
    if n_heavy:
        weight = 1.0 + 3.0 * engaged[candidates] + 4.0 * (channel[candidates] == _CH["kol"])
        chosen = np.sort(
            rng.choice(candidates, size=n_heavy, replace=False, p=weight / weight.sum())
        )
        heavy[chosen] = True
        pool = np.flatnonzero(referral)
        for h in chosen:  # a loop over ~0.5% of customers
            free = pool[(referrer[pool] < 0) & (signup_t[pool] > signup_t[h] + 1 / 24)]
            want = min(3 + int(rng.poisson(4.0)), free.size)
            if want:
                referrer[rng.choice(free, size=want, replace=False)] = h
    rest = np.flatnonzero(referral & (referrer < 0) & (np.arange(n) > 0))
    if rest.size:
        weight = 1.0 + 2.0 * engaged + 2.0 * (channel == _CH["kol"])
        cum = np.cumsum(weight)
        x = rng.random(rest.size) * cum[rest - 1]
        referrer[rest] = np.minimum(np.searchsorted(cum, x, side="right"), rest - 1)
    return referrer, heavy


def _people(rng: np.random.Generator, fake: Faker, cal: _Calendar, n: int, end: dt.date) -> _People:
    days = cal.days
    n_ch = len(_CHANNELS)
    # --- signup times: growth trend x seasonality (slightly damped) x hour of day
    frac = np.arange(days) / max(days - 1, 1)
    day_p = cal.weight**0.8 * (0.7 + 0.6 * frac)
    day = np.sort(rng.choice(days, size=n, p=day_p / day_p.sum()))
    signup_t = np.sort(day + _time_of_day(rng, cal, day))
    day = signup_t.astype(np.int64)
    signup_us = np.round(signup_t * US_PER_DAY).astype(np.int64)
    # --- channel, conditional on the day (channel shares drift over the year)
    share = np.array([c.share for c in _CHANNELS])
    trend = np.array([c.trend for c in _CHANNELS])
    ch_p = share[None, :] * (1.0 + trend[None, :] * (frac[:, None] - 0.5))
    ch_p = ch_p / ch_p.sum(axis=1, keepdims=True)
    channel = _choice_rows(rng, ch_p, day)
    if channel[0] == _CH["referral"]:
        channel[0] = _CH["organic"]
    platform = _choice_rows(rng, np.array([c.platforms for c in _CHANNELS]), channel)
    engaged = rng.random(n) < np.array([c.engaged_prob for c in _CHANNELS])[channel]
    referrer, heavy = _assign_referrers(rng, signup_t, channel, engaged, days)
    engaged |= heavy

    # --- demographics
    female_p = np.full(n_ch, 0.58)
    female_p[_CH["xiaohongshu"]] = 0.85
    female_p[_CH["kol"]] = 0.7
    female = rng.random(n) < female_p[channel]
    age = np.clip(18 + rng.gamma(3.0, 4.5, n), 18, 75).astype(np.int64)
    birth_year = (end.year - age - 1970).astype("datetime64[Y]")
    birthday = birth_year.astype("datetime64[D]").astype(np.int64) + rng.integers(0, 365, n)
    age_group = np.where(age < 24, 0, np.where(age < 55, 1, 2))

    prov_p = np.array([p.population_m for p in PROVINCES])
    province = rng.choice(len(PROVINCES), size=n, p=prov_p / prov_p.sum())
    if n >= len(PROVINCES):  # every provincial-level division appears at least once
        province[rng.choice(n, size=len(PROVINCES), replace=False)] = np.arange(len(PROVINCES))
    city_names: list[str] = []
    city_base = []
    for p in PROVINCES:
        city_base.append(len(city_names))
        city_names.extend(p.cities)
    n_cities = np.array([len(p.cities) for p in PROVINCES])
    u = rng.random(n)
    # the capital gets ~45%, the other cities share the rest
    local = np.where(
        (u < 0.45) | (n_cities[province] == 1),
        0,
        1 + (rng.random(n) * (n_cities[province] - 1)).astype(np.int64),
    )
    city = np.array(city_base)[province] + np.minimum(local, n_cities[province] - 1)
    tier = np.array([city_tier(c) for c in city_names])[city]

    occ_w = np.array([o[3] for o in _OCCUPATIONS]).T  # (3 age groups, n_occ)
    occupation = _choice_rows(rng, occ_w / occ_w.sum(axis=1, keepdims=True), age_group)
    occ_names = [o[0] for o in _OCCUPATIONS]
    is_mum = occupation == occ_names.index("全职妈妈")
    occupation = np.where(is_mum & ~female, occ_names.index("自由职业"), occupation)
    ind_names: list[str] = []
    ind_base = []
    for o in _OCCUPATIONS:
        ind_base.append(len(ind_names))
        ind_names.extend(o[1])
    n_ind = np.array([len(o[1]) for o in _OCCUPATIONS])
    industry = np.array(ind_base)[occupation] + (rng.random(n) * n_ind[occupation]).astype(np.int64)
    score = (
        np.array([o[2] for o in _OCCUPATIONS])[occupation]
        + np.array([0.0, 0.9, 0.4, -0.1])[tier]
        + np.where((age >= 28) & (age < 50), 0.4, 0.0)
        + rng.normal(0.0, 0.8, n)
    )
    income = np.digitize(score, [-0.6, 0.6, 1.6])

    # interests: 1-3 categories, gender and channel dependent (Gumbel top-k)
    cat_w = np.tile(np.array([c.popularity for c in _CATEGORIES]), (n, 1))
    fem_boost = np.array([2.5, 0.5, 1.6, 0.7, 1.2, 1.0, 1.8, 1.0])
    cat_w = np.where(female[:, None], cat_w * fem_boost, cat_w / np.sqrt(fem_boost))
    cat_w[channel == _CH["xiaohongshu"], 0] *= 2.5
    cat_w[channel == _CH["douyin"], 5] *= 2.0
    cat_w[age_group == 2, 7] *= 2.0
    cat_w[(age >= 25) & (age < 40) & female, 2] *= 1.8
    keys = np.log(cat_w) + rng.gumbel(size=cat_w.shape)
    interests = np.argsort(-keys, axis=1)[:, :3]
    n_interests = rng.choice([1, 2, 3], size=n, p=[0.3, 0.45, 0.25])

    # --- behaviour (BG/NBD + Gamma-Gamma-like spend), channel quality
    lam_mult = np.array([c.lam_mult for c in _CHANNELS])[channel]
    lam = rng.gamma(_LAMBDA_SHAPE, 1.0 / _LAMBDA_RATE, n) * lam_mult
    lam = lam * np.where(engaged, _ENGAGED_LAMBDA_MULT, 1.0)
    p_a = np.array([c.p_a for c in _CHANNELS])[channel] * _DROPOUT_A_MULT
    p_b = np.array([c.p_b for c in _CHANNELS])[channel]
    p_drop = rng.beta(p_a, p_b) * np.where(engaged, _ENGAGED_DROPOUT_MULT, 1.0)
    p_drop = np.where(heavy, p_drop * 0.5, p_drop)
    p_drop = np.clip(p_drop, 1e-3, 0.999)
    buy_p = np.array([c.buy_prob for c in _CHANNELS])[channel] * np.where(engaged, 1.35, 1.0)
    buyer = (rng.random(n) < np.minimum(buy_p, 0.95)) | heavy
    spend_level = (
        rng.gamma(4.0, 0.25, n)
        * _INCOME_SPEND[income]
        * np.array([c.spend_mult for c in _CHANNELS])[channel]
    )
    honeymoon = rng.exponential(1.0, n) * np.where(engaged, _HONEYMOON_DAYS[1], _HONEYMOON_DAYS[0])

    # --- contact points
    ids = [f"c{i + 1:0{max(6, len(str(n)))}d}" for i in range(n)]
    names = [
        fake.last_name() + (fake.first_name_female() if f else fake.first_name_male())
        for f in female.tolist()
    ]
    prefix = rng.integers(0, len(_MOBILE_PREFIXES), n)
    suffix = rng.choice(100_000_000, size=n, replace=False)
    phone = [f"{_MOBILE_PREFIXES[a]}{b:08d}" for a, b in zip(prefix, suffix, strict=True)]
    has_email = rng.random(n) < 0.4
    domain = rng.choice(len(_EMAIL_DOMAINS), size=n, p=_EMAIL_DOMAIN_P)
    qq = 10_000_000 + rng.choice(2_990_000_000, size=n, replace=False)
    handles = _random_ids(rng, n, 7, "")
    email = [
        (
            f"{q}@qq.com"
            if d == 0
            else f"{h.lower().replace('-', '').replace('_', '')}{i}@{_EMAIL_DOMAINS[d]}"
        )
        if e
        else None
        for i, (e, d, q, h) in enumerate(zip(has_email, domain, qq, handles, strict=True))
    ]
    has_openid = rng.random(n) < np.array([0.55, 1.0, 0.5])[platform]
    openid = _random_ids(rng, n, 27, "o")
    has_unionid = has_openid & (rng.random(n) < 0.7)
    unionid = _random_ids(rng, n, 27, "o")
    has_push = (platform == 0) & (rng.random(n) < 0.85)
    push_token = rng.bytes(32 * n).hex()
    push_token = [push_token[i * 64 : (i + 1) * 64] for i in range(n)]
    has_weibo = rng.random(n) < np.where(female, 0.18, 0.12)
    weibo = rng.integers(1_000_000_000, 7_999_999_999, n)

    def consent(has: np.ndarray, granted_p: float) -> pa.Array:
        granted = rng.random(n) < granted_p
        return _take(["granted", "withdrawn"], np.where(granted, 0, 1), mask=~has)

    tz_names = sorted({p.timezone for p in PROVINCES} | {"Asia/Urumqi", *_OVERSEAS_TZ})
    tz_idx = np.array([tz_names.index(p.timezone) for p in PROVINCES])[province]
    xj = province == [p.name for p in PROVINCES].index("新疆维吾尔自治区")
    tz_idx = np.where(xj & (rng.random(n) < 0.3), tz_names.index("Asia/Urumqi"), tz_idx)
    abroad = rng.random(n) < 0.006
    tz_idx = np.where(
        abroad,
        np.array([tz_names.index(t) for t in _OVERSEAS_TZ])[rng.integers(0, len(_OVERSEAS_TZ), n)],
        tz_idx,
    )

    cat_names = pa.array(CATEGORIES)
    flat = interests[np.arange(3)[None, :] < n_interests[:, None]]
    offsets = np.r_[0, np.cumsum(n_interests)]
    table = pa.Table.from_arrays(
        [
            pa.array(ids, type=pa.string()),
            pa.array(names, type=pa.string()),
            _take(["male", "female"], female.astype(np.int64)),
            pa.array(birthday.astype(np.int32), type=pa.date32()),
            _take([p.name for p in PROVINCES], province),
            _take(city_names, city),
            _take([o[0] for o in _OCCUPATIONS], occupation),
            _take(ind_names, industry),
            _take(list(_INCOME_BANDS), income),
            _list_array(offsets, cat_names.take(pa.array(flat.astype(np.int64)))),
            _ts(cal, signup_us),
            _take(list(CHANNELS), channel),
            _take(ids, np.maximum(referrer, 0), mask=referrer < 0),
            _take(tz_names, tz_idx),
            pa.array(phone, type=pa.string()),
            pa.array(email, type=pa.string()),
            pa.array(openid, type=pa.string(), mask=~has_openid),
            pa.array(unionid, type=pa.string(), mask=~has_unionid),
            pa.array(push_token, type=pa.string(), mask=~has_push),
            pa.array([str(w) for w in weibo], type=pa.string(), mask=~has_weibo),
            consent(np.ones(n, dtype=bool), 0.78),
            consent(has_email, 0.7),
            consent(has_openid, 0.85),
            consent(has_push, 0.8),
            consent(has_weibo, 0.75),
        ],
        schema=CUSTOMERS_SCHEMA,
    )
    return _People(
        n=n,
        signup_t=signup_t,
        signup_us=signup_us,
        channel=channel,
        platform=platform,
        engaged=engaged,
        heavy_referrer=heavy,
        referrer=referrer,
        interests=interests,
        n_interests=n_interests,
        spend_level=spend_level,
        lam=lam,
        p_drop=p_drop,
        buyer=buyer,
        honeymoon=honeymoon,
        ids=ids,
        anon=_uuid4(rng, n),
        table=table,
    )


# --------------------------------------------------------------------------------------
# Purchases (BG/NBD) and orders
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Purchases:
    cust: np.ndarray  # per purchase occasion
    t: np.ndarray  # float days
    first: np.ndarray  # the customer's first purchase
    first_t: np.ndarray  # per customer, inf without a purchase in range
    alive_until: np.ndarray  # per customer, end of the "alive" browsing phase (-inf: none)


def _purchases(rng: np.random.Generator, cal: _Calendar, people: _People) -> _Purchases:
    days = float(cal.days)
    b = np.flatnonzero(people.buyer)
    s = people.signup_t[b]
    # first purchase: 40% in the signup session, otherwise ~Exp(10 days) later
    quick = s + rng.uniform(3.0, 90.0, b.size) / 1440.0
    later = s + rng.exponential(10.0, b.size)
    later_day = later.astype(np.int64)
    later = later_day + _time_of_day(rng, cal, np.clip(later_day, 0, cal.days - 1))
    t1 = np.where((rng.random(b.size) < 0.4) | (later <= s + 3.0 / 1440.0), quick, later)
    ok = t1 < days
    b, t1 = b[ok], t1[ok]
    # repeat purchases: thinned Poisson(lambda x season x hour); dropout after each purchase
    own, t = _thinned_times(rng, cal.intensity(1.0), t1, np.full(b.size, days), people.lam[b])
    order = np.lexsort((t, own))
    own, t = own[order], t[order]
    # BG/NBD: the customer drops out after the k-th repeat purchase, k ~ Geometric(p)
    allowed = rng.geometric(people.p_drop[b])
    keep = _group_rank(own) < allowed[own]
    own, t = own[keep], t[keep]
    n_rep = np.bincount(own, minlength=b.size)
    last = t1.copy()
    has_rep = n_rep > 0
    last[has_rep] = t[np.cumsum(n_rep)[has_rep] - 1]
    dropped = n_rep >= allowed
    first_t = np.full(people.n, np.inf)
    first_t[b] = t1
    alive_until = np.full(people.n, -np.inf)
    alive_until[b] = np.where(dropped, last + rng.exponential(7.0, b.size), days)
    return _Purchases(
        cust=np.r_[b, b[own]],
        t=np.r_[t1, t],
        first=np.r_[np.ones(b.size, dtype=bool), np.zeros(own.size, dtype=bool)],
        first_t=first_t,
        alive_until=alive_until,
    )


@dataclass(frozen=True)
class _Orders:
    cust: np.ndarray
    created_us: np.ndarray
    paid_us: np.ndarray  # -1 for cancelled
    refund_us: np.ndarray  # -1 unless refunded
    status: np.ndarray  # 0 paid, 1 refunded, 2 cancelled
    amount_fen: np.ndarray
    item_order: np.ndarray  # per item row
    item_sku: np.ndarray
    prop_json: list[str]
    orders: pa.Table
    items: pa.Table


_STATUSES = ("paid", "refunded", "cancelled")
_ORDER_CHANNELS = ("app", "mini_program", "web", "offline")
_COUPONS = ("NEW10", "618MJ", "1111MJ", "1212MJ", "VIP5")


def _pick_categories(rng: np.random.Generator, people: _People, cust: np.ndarray) -> np.ndarray:
    j = (rng.random(cust.size) * people.n_interests[cust]).astype(np.int64)
    own = people.interests[cust, j]
    pop = np.array([c.popularity for c in _CATEGORIES])
    anyc = rng.choice(len(_CATEGORIES), size=cust.size, p=pop / pop.sum())
    return np.where(rng.random(cust.size) < 0.75, own, anyc)


def _pick_popular_skus(
    rng: np.random.Generator, cat: _Catalogue, category: np.ndarray
) -> np.ndarray:
    idx = np.searchsorted(cat.popularity_cum, category + rng.random(category.size), "right")
    return np.clip(idx, cat.cat_start[category], cat.cat_end[category] - 1)


def _orders(
    rng: np.random.Generator,
    cal: _Calendar,
    people: _People,
    cat: _Catalogue,
    purchases: _Purchases,
) -> _Orders:
    end = cal.end_local_us
    cust = purchases.cust
    created = np.round(purchases.t * US_PER_DAY).astype(np.int64)
    pay_delay = np.exp(rng.normal(np.log(90.0), 0.9, cust.size)) * US_PER_SEC
    paid = created + np.clip(pay_delay, 10 * US_PER_SEC, 45 * US_PER_MIN).astype(np.int64)
    ok = paid < end  # orders paid after the end do not exist yet
    cust, created, paid, first = cust[ok], created[ok], paid[ok], purchases.first[ok]
    refund = paid + (rng.uniform(1.0, 15.0, cust.size) * US_PER_DAY).astype(np.int64)
    refunded = (rng.random(cust.size) < 0.046) & (refund < end)
    refund = np.where(refunded, refund, -1)
    status = np.where(refunded, 1, 0)
    # cancelled orders: a checkout abandoned 5-120 minutes before a purchase (same day)
    floor_us = np.maximum(created // US_PER_DAY * US_PER_DAY, people.signup_us[cust])
    gap = created - floor_us
    cancel = (gap > 15 * US_PER_MIN) & (rng.random(cust.size) < 0.068)
    back = 5 * US_PER_MIN + rng.random(cust.size) * (
        np.minimum(120 * US_PER_MIN, gap - 10 * US_PER_MIN) - 5 * US_PER_MIN
    )
    c_created = (created - back.astype(np.int64))[cancel]
    all_cust = np.r_[cust, cust[cancel]]
    all_created = np.r_[created, c_created]
    all_paid = np.r_[paid, np.full(c_created.size, -1)]
    all_refund = np.r_[refund, np.full(c_created.size, -1)]
    all_status = np.r_[status, np.full(c_created.size, 2)]
    all_first = np.r_[first, np.zeros(c_created.size, dtype=bool)]
    order = np.argsort(all_created, kind="stable")
    o_cust, o_created, o_paid = all_cust[order], all_created[order], all_paid[order]
    o_refund, o_status, o_first = all_refund[order], all_status[order], all_first[order]
    n_orders = o_cust.size
    width = max(7, len(str(n_orders)))
    order_ids = [f"o{i + 1:0{width}d}" for i in range(n_orders)]

    # baskets: categories from interests; price level from the customer's spend level
    n_items = 1 + np.minimum(rng.poisson(0.45, n_orders), 4)
    row_order = np.repeat(np.arange(n_orders), n_items)
    row_cust = o_cust[row_order]
    row_cat = _pick_categories(rng, people, row_cust)
    mu = np.log(np.array([c.median_yuan for c in _CATEGORIES]) * 100.0)[row_cat]
    sigma = np.array([c.sigma for c in _CATEGORIES])[row_cat]
    target = (
        row_cat * 100.0
        + mu
        + sigma * rng.standard_normal(row_cat.size)
        + np.log(people.spend_level[row_cust])
    )
    hi = np.clip(
        np.searchsorted(cat.log_price_key, target), cat.cat_start[row_cat], cat.cat_end[row_cat] - 1
    )
    lo = np.maximum(hi - 1, cat.cat_start[row_cat])
    closer_lo = np.abs(cat.log_price_key[lo] - target) < np.abs(cat.log_price_key[hi] - target)
    row_sku = np.where(closer_lo, lo, hi)
    extra_qty = np.array([c.extra_qty for c in _CATEGORIES])[row_cat]
    row_qty = 1 + np.minimum(rng.poisson(extra_qty), 5)
    # (order_id, sku) unique: merge duplicates
    n_skus = len(cat.sku)
    key, inverse = np.unique(row_order * n_skus + row_sku, return_inverse=True)
    qty = np.bincount(inverse, weights=row_qty).astype(np.int64)
    item_order = key // n_skus
    item_sku = key % n_skus
    price = cat.price_fen[item_sku]
    starts = np.searchsorted(item_order, np.arange(n_orders))
    subtotal = np.add.reduceat(qty * price, starts)

    # coupons and discounts
    day = np.clip(o_created // US_PER_DAY, 0, cal.days - 1)
    month, dom = cal.month[day], cal.dom[day]
    not_cancelled = o_status != 2
    new10 = o_first & (subtotal >= 3000) & (rng.random(n_orders) < 0.75)
    c618 = (month == 6) & (dom <= 18) & (subtotal >= 30000) & (rng.random(n_orders) < 0.85)
    c1111 = (
        (((month == 10) & (dom == 31)) | ((month == 11) & (dom <= 11)))
        & (subtotal >= 30000)
        & (rng.random(n_orders) < 0.85)
    )
    c1212 = (
        (month == 12)
        & (dom >= 10)
        & (dom <= 12)
        & (subtotal >= 20000)
        & (rng.random(n_orders) < 0.8)
    )
    discount = (
        new10 * 1000
        + c618 * np.minimum(subtotal // 30000, 5) * 4000
        + c1111 * np.minimum(subtotal // 30000, 5) * 5000
        + c1212 * np.minimum(subtotal // 20000, 5) * 2000
    )
    vip = (rng.random(n_orders) < 0.05) & not_cancelled
    discount = discount + vip * ((subtotal - discount) * 5 // 100)
    discount = np.minimum(discount, subtotal - 100).astype(np.int64)
    amount = (subtotal - discount).astype(np.int64)
    flags = np.stack([new10, c618, c1111, c1212, vip], axis=1)
    coupon_offsets = np.r_[0, np.cumsum(flags.sum(axis=1))]
    coupon_values = pa.array(
        np.tile(np.array(_COUPONS), n_orders)[flags.ravel()].tolist(), type=pa.string()
    )

    # sales channel from the customer's platform
    ch_p = np.array(
        [
            [0.86, 0.04, 0.08, 0.02],
            [0.05, 0.88, 0.04, 0.03],
            [0.15, 0.05, 0.78, 0.02],
            [0.15, 0.40, 0.00, 0.45],
        ]
    )
    row = np.where(people.channel[o_cust] == _CH["offline"], 3, people.platform[o_cust])
    sales_channel = _choice_rows(rng, ch_p, row)

    ids = pa.array(order_ids, type=pa.string())
    orders = pa.Table.from_arrays(
        [
            ids,
            _take(people.ids, o_cust),
            _ts(cal, o_created),
            _ts(cal, np.maximum(o_paid, 0), mask=o_paid < 0),
            _take(list(_STATUSES), o_status),
            pa.array(amount, type=pa.int64()),
            pa.array(discount, type=pa.int64()),
            _list_array(coupon_offsets, coupon_values),
            _take(list(_ORDER_CHANNELS), sales_channel),
        ],
        schema=ORDERS_SCHEMA,
    )
    items = pa.Table.from_arrays(
        [
            ids.take(pa.array(item_order)),
            _take(cat.sku, item_sku),
            _take(cat.name, item_sku),
            _take(list(CATEGORIES), cat.category[item_sku]),
            pa.array(qty, type=pa.int64()),
            pa.array(price, type=pa.int64()),
        ],
        schema=ORDER_ITEMS_SCHEMA,
    )
    prop_json = [
        f'{{"order_id":"{oid}","amount_fen":{a}}}'
        for oid, a in zip(order_ids, amount.tolist(), strict=True)
    ]
    return _Orders(
        cust=o_cust,
        created_us=o_created,
        paid_us=o_paid,
        refund_us=o_refund,
        status=o_status,
        amount_fen=amount,
        item_order=item_order,
        item_sku=item_sku,
        prop_json=prop_json,
        orders=orders,
        items=items,
    )


# --------------------------------------------------------------------------------------
# Events
# --------------------------------------------------------------------------------------


class _Pool:
    """Interned JSON strings; events refer to them by index."""

    def __init__(self) -> None:
        self.values: list[str] = []

    def block(self, values: list[str]) -> int:
        base = len(self.values)
        self.values.extend(values)
        return base


class _EventBuffer:
    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, ...]] = []

    def add(
        self,
        cust: np.ndarray,
        t_us: np.ndarray,
        event: int,
        prop: np.ndarray | int,
        *,
        etype: int = _T_TRACK,
        identified: bool = True,
        traits: np.ndarray | None = None,
    ) -> None:
        n = cust.size
        self.parts.append(
            (
                cust.astype(np.int64),
                np.asarray(t_us, dtype=np.int64),
                np.full(n, etype, dtype=np.int8),
                np.full(n, event, dtype=np.int8),
                np.broadcast_to(np.asarray(prop, dtype=np.int64), (n,)),
                np.full(n, identified, dtype=bool),
                np.full(n, -1, dtype=np.int64) if traits is None else traits.astype(np.int64),
            )
        )

    def concat(self) -> tuple[np.ndarray, ...]:
        return tuple(np.concatenate([p[i] for p in self.parts]) for i in range(7))


def _uniform_us(rng: np.random.Generator, lo_us: float, hi_us: float, n: int) -> np.ndarray:
    return rng.uniform(lo_us, hi_us, n).astype(np.int64)


def _sessions(
    rng: np.random.Generator,
    ev: _EventBuffer,
    people: _People,
    cat: _Catalogue,
    base: dict[str, int],
    cust: np.ndarray,
    start: np.ndarray,
    fav_p: np.ndarray,
) -> None:
    """Browsing sessions: page views, product views (-> cart / favorite / share), search,
    check-in."""
    n = cust.size
    dur = np.clip(np.exp(rng.normal(np.log(6.0), 0.7, n)), 1.0, 60.0) * US_PER_MIN
    # page views, the first at the session start
    k = 1 + rng.poisson(0.7, n)
    o = np.repeat(np.arange(n), k)
    first = _group_rank(o) == 0
    page = np.where(first, 0, rng.integers(0, len(_PAGES), o.size))
    off = np.where(first, 0, (rng.random(o.size) * dur[o]).astype(np.int64))
    ev.add(cust[o], start[o] + off, _E_PAGE_VIEW, base["page"] + page)
    # product views and what follows from them
    k = rng.poisson(_VIEWS_PER_SESSION, n)
    o = np.repeat(np.arange(n), k)
    vc = cust[o]
    sku = _pick_popular_skus(rng, cat, _pick_categories(rng, people, vc))
    tv = start[o] + (rng.random(o.size) * dur[o]).astype(np.int64)
    ev.add(vc, tv, _E_PRODUCT_VIEW, base["sku"] + sku)
    m = rng.random(o.size) < 0.10
    ev.add(
        vc[m],
        tv[m] + _uniform_us(rng, 5e6, 120e6, int(m.sum())),
        _E_ADD_TO_CART,
        base["sku"] + sku[m],
    )
    m = rng.random(o.size) < fav_p[vc]
    ev.add(
        vc[m], tv[m] + _uniform_us(rng, 3e6, 60e6, int(m.sum())), _E_FAVORITE, base["sku"] + sku[m]
    )
    m = rng.random(o.size) < 0.01
    ev.add(
        vc[m],
        tv[m] + _uniform_us(rng, 5e6, 90e6, int(m.sum())),
        _E_SHARE,
        base["share_sku"] + sku[m],
    )
    # searches
    k = rng.poisson(0.35, n)
    o = np.repeat(np.arange(n), k)
    sc = cust[o]
    ev.add(
        sc,
        start[o] + (rng.random(o.size) * dur[o] * 0.3).astype(np.int64),
        _E_SEARCH,
        _search_props(rng, people, base, sc),
    )
    # daily check-in in the app / mini program
    m = (people.platform[cust] != 2) & (rng.random(n) < np.where(people.engaged[cust], 0.5, 0.3))
    ev.add(
        cust[m],
        start[m] + 2 * US_PER_SEC,
        _E_CHECKIN,
        base["checkin"] + (rng.random(int(m.sum())) < 0.2),
    )


def _search_props(
    rng: np.random.Generator, people: _People, base: dict[str, int], cust: np.ndarray
) -> np.ndarray:
    category = _pick_categories(rng, people, cust)
    q_count = np.array([len(c.queries) for c in _CATEGORIES])
    q_base = base["query"] + np.r_[0, np.cumsum(q_count)[:-1]]
    idx = q_base[category] + (rng.random(cust.size) * q_count[category]).astype(np.int64)
    generic = base["query_generic"] + rng.integers(0, len(_GENERIC_QUERIES), cust.size)
    return np.where(rng.random(cust.size) < 0.15, generic, idx)


def _pick_session(
    rng: np.random.Generator, sess_cust_sorted: np.ndarray, cust: np.ndarray
) -> np.ndarray:
    """Index of a random session of each customer (sessions sorted by customer)."""
    lo = np.searchsorted(sess_cust_sorted, cust, "left")
    hi = np.searchsorted(sess_cust_sorted, cust, "right")
    return lo + (rng.random(cust.size) * (hi - lo)).astype(np.int64)


def _events(
    rng: np.random.Generator,
    cal: _Calendar,
    people: _People,
    cat: _Catalogue,
    purchases: _Purchases,
    orders: _Orders,
) -> pa.Table:
    n = people.n
    days = float(cal.days)
    end = cal.end_local_us
    s_t, s_us = people.signup_t, people.signup_us
    all_c = np.arange(n)
    engaged = people.engaged

    pool = _Pool()
    base = {
        "empty": pool.block(["{}"]),
        "page": pool.block([_json({"path": p, "title": t}) for p, t in _PAGES]),
        "landing": pool.block([_json({"path": p, "title": t}) for p, t in _LANDING_PAGES]),
        "sku": pool.block(
            [
                _json({"sku": s, "category": CATEGORIES[c], "price_fen": int(p)})
                for s, c, p in zip(cat.sku, cat.category, cat.price_fen, strict=True)
            ]
        ),
        "share_sku": pool.block(
            [_json({"channel": "wechat", "content": "product", "sku": s}) for s in cat.sku]
        ),
        "query": pool.block([_json({"query": q}) for c in _CATEGORIES for q in c.queries]),
        "query_generic": pool.block([_json({"query": q}) for q in _GENERIC_QUERIES]),
        "signup": pool.block([_json({"channel": c}) for c in CHANNELS]),
        "checkin": pool.block([_json({"points": 5}), _json({"points": 10})]),
        "follow": pool.block([_json({"target": "official_account"}), _json({"target": "store"})]),
        "invite": pool.block([_json({"channel": "wechat", "content": "invite"})]),
        "order": pool.block(orders.prop_json),
    }
    ev = _EventBuffer()

    # --- before signup: anonymous page views (type page), then signup + identify
    k = np.where(people.channel == _CH["offline"], 0, rng.poisson(1.0, n))
    o = np.repeat(all_c, k)
    before = np.where(
        rng.random(o.size) < 0.6,
        rng.uniform(1.0, 30.0, o.size) * US_PER_MIN,
        rng.uniform(0.05, 3.0, o.size) * US_PER_DAY,
    ).astype(np.int64)
    ev.add(
        o,
        s_us[o] - before,
        -1,
        base["landing"] + rng.integers(0, len(_LANDING_PAGES), o.size),
        etype=_T_PAGE,
        identified=False,
    )
    ev.add(all_c, s_us, _E_SIGNUP, base["signup"] + people.channel)
    ev.add(all_c, s_us, -1, base["empty"], etype=_T_IDENTIFY, traits=all_c)

    # --- browsing sessions
    sess_c = [all_c]
    sess_t = [s_t + rng.uniform(5.0, 40.0, n) / 86400.0]  # the signup session
    browse = cal.intensity(0.5)
    # honeymoon phase after signup
    mu_h = np.where(engaged, _HONEYMOON_SESSIONS[1], _HONEYMOON_SESSIONS[0])
    mu_h = mu_h * np.exp(rng.normal(0.0, 0.4, n))
    c, t = _thinned_times(rng, browse, s_t, np.minimum(s_t + people.honeymoon, days), mu_h)
    sess_c.append(c)
    sess_t.append(t)
    # alive phase of buyers: browsing between orders until some days after the dropout
    mu_a = people.lam * np.where(engaged, _SESSIONS_PER_PURCHASE[1], _SESSIONS_PER_PURCHASE[0])
    c, t = _thinned_times(
        rng,
        browse,
        np.minimum(purchases.first_t, days),
        np.minimum(purchases.alive_until, days),
        mu_a,
    )
    sess_c.append(c)
    sess_t.append(t)
    # extra early sessions of engaged customers (first week)
    eng = np.flatnonzero(engaged)
    ec = np.repeat(eng, 1 + rng.poisson(1.0, eng.size))
    et = s_t[ec] + rng.uniform(0.1, PLANTED_WINDOW_DAYS - 0.2, ec.size)
    eday = et.astype(np.int64)
    et2 = eday + _time_of_day(rng, cal, np.clip(eday, 0, cal.days - 1))
    ok = (et2 > s_t[ec] + 0.05) & (et2 < s_t[ec] + PLANTED_WINDOW_DAYS - 0.05)
    et = np.where(ok, et2, et)
    sess_c.append(ec)
    sess_t.append(et)
    sc = np.concatenate(sess_c)
    st_us = np.round(np.concatenate(sess_t) * US_PER_DAY).astype(np.int64)
    fav_p = np.where(engaged, _FAVORITE_PER_VIEW[1], _FAVORITE_PER_VIEW[0])
    _sessions(rng, ev, people, cat, base, sc, st_us, fav_p)

    # --- the planted effect: favourites in the first week (signup + early sessions)
    early_c = np.r_[sc[:n], ec]
    early_us = np.r_[st_us[:n], st_us[sc.size - ec.size :]]
    order = np.lexsort((early_us, early_c))
    early_c, early_us = early_c[order], early_us[order]
    n_fav = np.where(
        engaged,
        np.where(rng.random(n) < 0.9, 3 + rng.poisson(1.2, n), 1 + rng.poisson(0.5, n)),
        rng.poisson(0.35, n),
    )
    fc = np.repeat(all_c, n_fav)
    fs = _pick_session(rng, early_c, fc)
    sku = _pick_popular_skus(rng, cat, _pick_categories(rng, people, fc))
    tv = early_us[fs] + _uniform_us(rng, 0, 5 * US_PER_MIN, fc.size)
    ev.add(fc, tv, _E_PRODUCT_VIEW, base["sku"] + sku)
    ev.add(fc, tv + _uniform_us(rng, 3e6, 60e6, fc.size), _E_FAVORITE, base["sku"] + sku)

    # --- follow the official account / store (once, in one of the customer's sessions)
    order = np.lexsort((st_us, sc))
    sc_sorted, st_sorted = sc[order], st_us[order]
    fol = np.flatnonzero(rng.random(n) < np.where(engaged, 0.35, 0.15))
    fs = _pick_session(rng, sc_sorted, fol)
    ev.add(
        fol,
        st_sorted[fs] + _uniform_us(rng, 1e6, 3 * US_PER_MIN, fol.size),
        _E_FOLLOW,
        base["follow"] + (rng.random(fol.size) < 0.3),
    )

    # --- referral invitations: the referrer shares before the referee signs up
    ref = np.flatnonzero(people.referrer >= 0)
    r = people.referrer[ref]
    t = s_us[ref] - _uniform_us(rng, 0.02 * US_PER_DAY, 2 * US_PER_DAY, ref.size)
    t = np.maximum(t, s_us[r] + 2 * US_PER_MIN)
    t = np.where(t < s_us[ref], t, (s_us[r] + s_us[ref]) // 2)
    ev.add(r, t, _E_SHARE, base["invite"])
    heavy = np.flatnonzero(people.heavy_referrer)
    hc = np.repeat(heavy, rng.poisson(10.0, heavy.size))
    ht = s_t[hc] + rng.random(hc.size) * (days - s_t[hc])
    ev.add(hc, np.round(ht * US_PER_DAY).astype(np.int64), _E_SHARE, base["invite"])

    # --- orders: a same-day session viewing and carting the order's skus, then payment
    oc = orders.cust
    created = orders.created_us
    day_start = created // US_PER_DAY * US_PER_DAY
    start = np.maximum.reduce(
        [
            created - _uniform_us(rng, 3 * US_PER_MIN, 30 * US_PER_MIN, oc.size),
            day_start,
            s_us[oc] + 10 * US_PER_SEC,
        ]
    )
    start = np.minimum(start, created - 1)
    ev.add(oc, start, _E_PAGE_VIEW, base["page"])
    m = rng.random(oc.size) < 0.4
    ev.add(
        oc[m],
        start[m] + ((created[m] - start[m]) * rng.random(int(m.sum())) * 0.2).astype(np.int64),
        _E_SEARCH,
        _search_props(rng, people, base, oc[m]),
    )
    io = orders.item_order
    span = created[io] - start[io]
    tv = start[io] + (span * rng.random(io.size) * 0.8).astype(np.int64)
    ev.add(oc[io], tv, _E_PRODUCT_VIEW, base["sku"] + orders.item_sku)
    tc = tv + ((created[io] - tv) * rng.random(io.size)).astype(np.int64)
    ev.add(oc[io], tc, _E_ADD_TO_CART, base["sku"] + orders.item_sku)
    xo = np.repeat(np.arange(oc.size), rng.poisson(1.0, oc.size))
    xsku = _pick_popular_skus(rng, cat, _pick_categories(rng, people, oc[xo]))
    ev.add(
        oc[xo],
        start[xo] + ((created[xo] - start[xo]) * rng.random(xo.size)).astype(np.int64),
        _E_PRODUCT_VIEW,
        base["sku"] + xsku,
    )
    paid = np.flatnonzero(orders.status != 2)
    ev.add(oc[paid], orders.paid_us[paid], _E_ORDER_PAID, base["order"] + paid)
    refd = np.flatnonzero(orders.status == 1)
    ev.add(oc[refd], orders.refund_us[refd], _E_REFUND, base["order"] + refd)

    # --- assemble, drop what falls outside the shop's time range, sort by time
    cust, t_us, etype, event, prop, identified, traits = ev.concat()
    keep = (t_us >= 0) & (t_us < end)
    cust, t_us, etype, event = cust[keep], t_us[keep], etype[keep], event[keep]
    prop, identified, traits = prop[keep], identified[keep], traits[keep]
    order = np.argsort(t_us, kind="stable")
    cust, t_us, etype, event = cust[order], t_us[order], etype[order], event[order]
    prop, identified, traits = prop[order], identified[order], traits[order]
    n_ev = cust.size

    # context: utm campaign on each customer's first event, otherwise app / mini program info
    ctx_pool = _Pool()
    n_versions = cal.days // 45 + 1
    ctx_app = ctx_pool.block([_json({"app": {"version": f"5.{v}.0"}}) for v in range(n_versions)])
    ctx_mini = ctx_pool.block([_json({"app": {"name": "mini_program"}})])
    ctx_web = ctx_pool.block(["{}"])
    months = [
        (cal.start + dt.timedelta(days=int(d))).strftime("%Y%m")
        for d in np.clip(s_t.astype(np.int64), 0, cal.days - 1)
    ]
    campaigns = []
    for i in range(n):  # one JSON document per customer
        ch = _CHANNELS[people.channel[i]]
        camp = {
            "source": ch.name,
            "medium": ch.medium,
            "name": "friend_invite" if ch.name == "referral" else f"{ch.name}_{months[i]}",
        }
        if people.referrer[i] >= 0:
            camp["content"] = people.ids[people.referrer[i]]
        campaigns.append(_json({"campaign": camp}))
    ctx_campaign = ctx_pool.block(campaigns)
    platform = people.platform[cust]
    ctx = np.where(
        platform == 0,
        ctx_app + np.minimum(t_us // (45 * US_PER_DAY), n_versions - 1),
        np.where(platform == 1, ctx_mini, ctx_web),
    )
    _, first_idx = np.unique(cust, return_index=True)
    ctx[first_idx] = ctx_campaign + cust[first_idx]

    names = people.table.column("name").to_pylist()
    genders = people.table.column("gender").to_pylist()
    cities = people.table.column("city").to_pylist()
    traits_pool = [
        _json({"name": a, "gender": g, "city": c})
        for a, g, c in zip(names, genders, cities, strict=True)
    ]

    delay = np.exp(rng.normal(np.log(0.25), 0.9, n_ev)) * US_PER_SEC
    late = rng.random(n_ev) < 0.03
    delay = delay + late * rng.uniform(1 * US_PER_MIN, 6 * US_PER_HOUR, n_ev)
    received = t_us + delay.astype(np.int64)
    late = received >= end  # still in flight at the end: arrives before it
    received[late] = t_us[late] + ((end - 1 - t_us[late]) * rng.random(int(late.sum()))).astype(
        np.int64
    )

    return pa.Table.from_arrays(
        [
            _uuid4(rng, n_ev),
            _take(list(_TYPES), etype),
            _take(list(_EVENT_NAMES), np.maximum(event, 0), mask=event < 0),
            _take(people.ids, cust, mask=~identified),
            people.anon.take(pa.array(cust)),
            _ts(cal, t_us),
            _ts(cal, received),
            _take(pool.values, prop),
            _take(ctx_pool.values, ctx),
            _take(traits_pool, np.maximum(traits, 0), mask=traits < 0),
        ],
        schema=EVENTS_SCHEMA,
    )


# --------------------------------------------------------------------------------------
# Marketing spend
# --------------------------------------------------------------------------------------


def _spend(rng: np.random.Generator, cal: _Calendar, people: _People) -> pa.Table:
    days = cal.days
    frac = np.arange(days) / max(days - 1, 1)
    day_p = cal.weight**0.8 * (0.7 + 0.6 * frac)
    day_p = day_p / day_p.sum()
    share = np.array([c.share for c in _CHANNELS])
    trend = np.array([c.trend for c in _CHANNELS])
    ch_p = share[None, :] * (1.0 + trend[None, :] * (frac[:, None] - 0.5))
    ch_p = ch_p / ch_p.sum(axis=1, keepdims=True)
    paid = [i for i, c in enumerate(_CHANNELS) if c.cac_yuan is not None]
    expected = people.n * day_p[:, None] * ch_p[:, paid]  # (days, paid channels)
    cac = np.array([_CHANNELS[i].cac_yuan or 0.0 for i in paid])
    cpm = np.array([_CHANNELS[i].cpm_yuan for i in paid])
    ctr = np.array([_CHANNELS[i].ctr for i in paid])
    pressure = (cal.weight**0.15)[:, None]  # auctions get pricier on shopping festivals
    spend_yuan = cac * expected * pressure * np.exp(rng.normal(0.0, 0.15, expected.shape))
    impressions = np.round(
        spend_yuan / cpm * 1000.0 * np.exp(rng.normal(0.0, 0.1, expected.shape))
    ).astype(np.int64)
    clicks = rng.binomial(
        impressions, np.clip(ctr * np.exp(rng.normal(0.0, 0.1, expected.shape)), 0, 1)
    )
    d0 = (cal.start - dt.date(1970, 1, 1)).days
    dates = np.repeat(np.arange(d0, d0 + days, dtype=np.int32), len(paid))
    return pa.Table.from_arrays(
        [
            pa.array(dates, type=pa.date32()),
            _take([CHANNELS[i] for i in paid], np.tile(np.arange(len(paid)), days)),
            pa.array(np.round(spend_yuan * 100).astype(np.int64).ravel(), type=pa.int64()),
            pa.array(impressions.ravel(), type=pa.int64()),
            pa.array(clicks.astype(np.int64).ravel(), type=pa.int64()),
        ],
        schema=SPEND_SCHEMA,
    )


# --------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------


def generate_shop(
    *,
    customers: int = 20_000,
    days: int = 365,
    seed: int = 7,
    end: dt.date | None = None,
    timezone: str = "Asia/Shanghai",
) -> DemoShop:
    """Generate a synthetic shop over the ``days`` days before ``end`` (shop timezone).

    ``end`` defaults to today in ``timezone``; the data contains no timestamp at or after
    ``end`` 00:00 local time. Same arguments (and the same ``end``) give identical tables.
    """
    if customers < 1:
        raise ValueError("customers must be at least 1")
    if days < 1:
        raise ValueError("days must be at least 1")
    if end is None:
        end = utcnow().astimezone(ZoneInfo(timezone)).date()
    start = end - dt.timedelta(days=days)
    cal = _calendar(start, days, timezone)
    r_cat, r_people, r_buy, r_orders, r_events, r_spend = np.random.default_rng(seed).spawn(6)
    fake = Faker("zh_CN")
    fake.seed_instance(seed)
    cat = _catalogue(r_cat)
    people = _people(r_people, fake, cal, customers, end)
    purchases = _purchases(r_buy, cal, people)
    orders = _orders(r_orders, cal, people, cat, purchases)
    events = _events(r_events, cal, people, cat, purchases, orders)
    spend = _spend(r_spend, cal, people)
    return DemoShop(
        customers=people.table,
        orders=orders.orders,
        order_items=orders.items,
        events=events,
        spend=spend,
        products=_products(cat),
    )


_FILES = {
    "customers": "customers.parquet",
    "orders": "orders.parquet",
    "order-items": "order_items.parquet",
    "events": "events.parquet",
    "spend": "spend.parquet",
    "products": "products.parquet",
}


def write_shop(shop: DemoShop, directory: Path) -> dict[str, Path]:
    """Write the shop's tables as Parquet files; returns entity name -> path."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tables = {
        "customers": shop.customers,
        "orders": shop.orders,
        "order-items": shop.order_items,
        "events": shop.events,
        "spend": shop.spend,
        "products": shop.products,
    }
    paths: dict[str, Path] = {}
    for entity, table in tables.items():
        path = directory / _FILES[entity]
        pq.write_table(table, path)
        paths[entity] = path
    return paths
