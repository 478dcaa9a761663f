"""Deterministic renderer of synthetic text-line crops, used to calibrate the INT8 models.

The lines imitate what the recognizer sees in production: Chinese, English and mixed text from receipts,
addresses, waybills, signs, UI strings, dates, prices and codes, drawn with the Debian CJK and Latin fonts on
plain, gradient, textured or photo-like backgrounds, then slightly rotated or warped, blurred, noised,
JPEG-compressed and cut out tightly with the small margins a DB detector leaves around a box.

The text comes from vocabulary written for this file and from the GB2312 level-1 character block (the 3 755
most common hanzi); nothing is taken from any evaluation set.

Every line ``i`` is drawn from its own generator seeded with ``(seed, i)``, so the first *n* lines of a larger
set are the same as a set of *n*: the output depends only on ``seed``, the index and the installed fonts and
library versions (pin Pillow, OpenCV and NumPy to rebuild byte-identical artifacts).

Run ``python model/synth.py --out DIR -n 40`` to write a sample as PNG files for inspection.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

DEFAULT_SEED = 20240611


@dataclass(frozen=True)
class FontFace:
    """One face of a font file shipped by a Debian package."""

    package: str
    path: str
    index: int
    cjk: bool


_NOTO = "/usr/share/fonts/opentype/noto"
_DEJAVU = "/usr/share/fonts/truetype/dejavu"
_LIB2 = "/usr/share/fonts/truetype/liberation2"

#: Faces used for rendering. ``cjk`` faces cover GB2312 and Latin; the others cover Latin only.
FONTS: tuple[FontFace, ...] = (
    FontFace("fonts-noto-cjk", f"{_NOTO}/NotoSansCJK-Regular.ttc", 2, True),
    FontFace("fonts-noto-cjk", f"{_NOTO}/NotoSansCJK-Bold.ttc", 2, True),
    FontFace("fonts-noto-cjk", f"{_NOTO}/NotoSansCJK-Regular.ttc", 7, True),
    FontFace("fonts-noto-cjk", f"{_NOTO}/NotoSerifCJK-Regular.ttc", 3, True),
    FontFace("fonts-noto-cjk", f"{_NOTO}/NotoSerifCJK-Bold.ttc", 3, True),
    FontFace("fonts-wqy-microhei", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", 0, True),
    FontFace("fonts-wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, True),
    FontFace("fonts-wqy-zenhei", "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 2, True),
    FontFace("fonts-arphic-uming", "/usr/share/fonts/truetype/arphic/uming.ttc", 0, True),
    FontFace("fonts-arphic-ukai", "/usr/share/fonts/truetype/arphic/ukai.ttc", 0, True),
    FontFace("fonts-dejavu-core", f"{_DEJAVU}/DejaVuSans.ttf", 0, False),
    FontFace("fonts-dejavu-core", f"{_DEJAVU}/DejaVuSans-Bold.ttf", 0, False),
    FontFace("fonts-dejavu-core", f"{_DEJAVU}/DejaVuSansMono.ttf", 0, False),
    FontFace("fonts-dejavu-core", f"{_DEJAVU}/DejaVuSerif.ttf", 0, False),
    FontFace("fonts-dejavu-extra", f"{_DEJAVU}/DejaVuSansCondensed.ttf", 0, False),
    FontFace("fonts-dejavu-extra", f"{_DEJAVU}/DejaVuSerif-Italic.ttf", 0, False),
    FontFace("fonts-liberation2", f"{_LIB2}/LiberationSans-Regular.ttf", 0, False),
    FontFace("fonts-liberation2", f"{_LIB2}/LiberationSans-Bold.ttf", 0, False),
    FontFace("fonts-liberation2", f"{_LIB2}/LiberationSerif-Regular.ttf", 0, False),
    FontFace("fonts-liberation2", f"{_LIB2}/LiberationMono-Regular.ttf", 0, False),
)


class MissingFontError(RuntimeError):
    """A font file the renderer needs is not installed."""


def check_fonts(fonts: tuple[FontFace, ...] = FONTS) -> None:
    """Raise :class:`MissingFontError` naming the Debian packages of any missing font file."""
    missing = sorted({f.package for f in fonts if not Path(f.path).is_file()})
    if missing:
        paths = ", ".join(sorted({f.path for f in fonts if not Path(f.path).is_file()}))
        raise MissingFontError(
            f"missing font files ({paths}); install the Debian package(s): "
            f"apt-get install {' '.join(missing)}"
        )


# ----------------------------------------------------------------------------------------------------------
# Text sources (vocabulary written for this module)
# ----------------------------------------------------------------------------------------------------------
def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_GOODS = _words(
    "矿泉水 可乐 雪碧 绿茶 红茶 咖啡 拿铁 美式 奶茶 豆浆 牛奶 酸奶 面包 蛋糕 饼干 薯片 方便面 火腿肠 "
    "鸡蛋 大米 面粉 食用油 酱油 香醋 白糖 食盐 味精 鸡精 苹果 香蕉 橙子 葡萄 西瓜 草莓 猕猴桃 土豆 "
    "番茄 黄瓜 白菜 青椒 洋葱 胡萝卜 猪肉 牛肉 鸡腿 鸡翅 排骨 鱼片 虾仁 豆腐 米饭 炒饭 水饺 包子 馒头 "
    "油条 拉面 米线 宫保鸡丁 鱼香肉丝 麻婆豆腐 红烧肉 回锅肉 糖醋里脊 酸辣土豆丝 西红柿炒蛋 牙膏 牙刷 "
    "洗发水 沐浴露 洗衣液 纸巾 湿巾 垃圾袋 电池 数据线 充电器 耳机 鼠标 键盘 笔记本 圆珠笔 文件夹 "
    "雨伞 口罩 保温杯"
)
_SHOPS = _words(
    "便利店 超市 百货 餐厅 小吃店 面馆 咖啡馆 药房 书店 水果店 五金店 快递驿站 洗衣店 理发店 眼镜店 "
    "花店 烘焙坊 火锅店 烧烤 茶饮 文具店 电器城 大药房 菜市场"
)
_BRANDS = _words(
    "华联 永辉 联华 家乐 百佳 美宜佳 好又多 万家 乐购 新华 金拱门 大润 佳佳 惠民 福满 鑫源 顺达 恒通"
)
_PROVINCES = _words(
    "北京 上海 天津 重庆 广东 浙江 江苏 山东 河南 四川 湖北 湖南 福建 安徽 河北 陕西 辽宁 云南"
)
_CITIES = _words(
    "广州 深圳 杭州 南京 苏州 成都 武汉 长沙 厦门 合肥 石家庄 西安 沈阳 昆明 青岛 宁波 无锡 佛山 东莞"
)
_DISTRICTS = _words(
    "朝阳区 海淀区 浦东新区 徐汇区 天河区 南山区 西湖区 鼓楼区 武侯区 江汉区 岳麓区 思明区 高新区"
)
_ROADS = _words(
    "中山路 人民路 解放路 建设路 和平路 长江路 黄河路 新华街 文化路 科技园路 滨江大道 世纪大道 东风路"
)
_SURNAMES = _words(
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 高 郑 梁 谢 宋 唐 许 韩 冯 邓 曹"
)
_GIVEN = _words(
    "伟 芳 娜 敏 静 丽 强 磊 军 洋 勇 艳 杰 娟 涛 明 超 秀英 霞 平 刚 桂英 文 华 建国 晓 婷 宇 浩 欣"
)
_SIGNS = _words(
    "禁止吸烟 安全出口 小心地滑 请勿触摸 非工作人员禁止入内 停车场 收费站 卫生间 电梯 楼梯 服务台 "
    "售票处 候车室 地铁站 出租车 公交车站 请排队 营业中 暂停营业 欢迎光临 谢谢惠顾 请出示健康码 "
    "当心触电 注意安全 施工重地 禁止停车 限速 前方学校 减速慢行 紧急出口 消防通道 请保持安静 男 女 "
    "入口 出口 问询处 行李寄存"
)
_UI_ZH = _words(
    "设置 登录 注册 退出 确定 取消 保存 删除 编辑 分享 搜索 返回 下一步 上一步 完成 提交 更多 首页 "
    "我的 消息 通知 联系人 相册 相机 文件 下载 上传 刷新 已发送 已读 未读 草稿 收藏 复制 粘贴 撤销 "
    "帮助 关于 版本 更新 网络连接失败 请稍后重试 正在加载 暂无数据 密码错误 验证码 忘记密码 用户名 "
    "手机号 个人中心 账户余额 订单详情 支付成功 付款方式 微信支付 支付宝 银行卡 优惠券 购物车 "
    "立即购买 加入购物车 查看物流 确认收货"
)
_WAYBILL = _words(
    "运单号 订单号 快递单号 收件人 寄件人 联系电话 收件地址 寄件地址 重量 件数 体积 运费 保价 到付 "
    "寄付 签收 派送中 已揽收 运输中 已签收 中转站 始发地 目的地 备注 易碎品 轻拿轻放 代收货款"
)
_RECEIPT = _words(
    "合计 小计 实收 找零 应付 优惠 折扣 数量 单价 金额 收银员 收银台 流水号 交易时间 会员卡号 积分 "
    "发票 税额 现金 找补 打包费 配送费 餐具 桌号 人数 服务费"
)
_EN_WORDS = _words(
    "the of and to in for on with at by from open close total price receipt order number date time "
    "customer service address street road avenue city state zip phone email name account balance "
    "payment card cash change tax subtotal discount item quantity amount store market coffee tea milk "
    "bread water chicken rice noodles salad sandwich exit entrance parking no smoking caution wet "
    "floor push pull emergency staff only welcome thank you please wait loading settings sign in out "
    "log password username search download upload cancel confirm delete save edit share help about "
    "version update network error try again later message inbox sent draft shipping tracking "
    "delivered package weight from to via express standard priority return label warehouse station "
    "platform gate floor room level building north south east west left right next previous home "
    "profile cart checkout"
)
_EN_TITLE = _words(
    "Total Subtotal Tax Cash Change Receipt Invoice Order Date Time Table Server Thank You Welcome "
    "Settings Login Logout Register Search Download Cancel OK Confirm Delete Save Edit Share Help "
    "EXIT ENTRANCE PARKING NO SMOKING CAUTION PUSH PULL OPEN CLOSED SALE FREE WIFI STAFF ONLY Express "
    "Tracking Shipper Consignee Weight Pieces Origin Destination COD Fragile Road Street Ave"
)
_UNITS = _words("kg g ml L 个 件 盒 瓶 包 袋 斤 份 杯 箱")
_PUNCT_ZH = "，。、；：？！（）《》“”【】…—·"
_PUNCT_EN = ",.;:?!()[]-/&@#%*+=\"'"


def _gb2312_level1() -> str:
    """Return the 3 755 GB2312 level-1 hanzi (the most frequent characters, in pinyin order)."""
    chars = []
    for row in range(0xB0, 0xD8):
        for col in range(0xA1, 0xFF):
            if row == 0xD7 and col > 0xF9:
                break
            chars.append(bytes((row, col)).decode("gb2312"))
    return "".join(chars)


_COMMON_HANZI = _gb2312_level1()


def _pick(rng: np.random.Generator, items: tuple[str, ...] | list[str] | str) -> str:
    return items[int(rng.integers(len(items)))]


def _digits(rng: np.random.Generator, n: int) -> str:
    return "".join(str(int(d)) for d in rng.integers(0, 10, n))


def _price(rng: np.random.Generator) -> str:
    value = float(rng.choice([rng.uniform(0.5, 30), rng.uniform(30, 500), rng.uniform(500, 20000)]))
    return f"{value:.2f}" if rng.random() < 0.8 else f"{value:,.2f}"


def _date(rng: np.random.Generator) -> str:
    y, m, d = int(rng.integers(2015, 2031)), int(rng.integers(1, 13)), int(rng.integers(1, 29))
    hh, mm, ss = int(rng.integers(0, 24)), int(rng.integers(0, 60)), int(rng.integers(0, 60))
    forms = (
        f"{y}-{m:02d}-{d:02d}",
        f"{y}/{m:02d}/{d:02d} {hh:02d}:{mm:02d}",
        f"{y}年{m}月{d}日",
        f"{y}-{m:02d}-{d:02d} {hh:02d}:{mm:02d}:{ss:02d}",
        f"{m:02d}/{d:02d}/{y}",
        f"{d:02d}.{m:02d}.{y}",
        f"{hh:02d}:{mm:02d}",
    )
    return _pick(rng, forms)


def _phone(rng: np.random.Generator) -> str:
    mobile = "1" + _pick(rng, "3456789") + _digits(rng, 9)
    forms = (
        mobile,
        mobile[:3] + "****" + mobile[7:],
        f"0{_digits(rng, 2)}-{_digits(rng, 8)}",
        f"+86 {mobile}",
    )
    return _pick(rng, forms)


def _name(rng: np.random.Generator) -> str:
    return _pick(rng, _SURNAMES) + _pick(rng, _GIVEN) + ("" if rng.random() < 0.6 else _pick(rng, _GIVEN))


def _address(rng: np.random.Generator) -> str:
    parts = [
        _pick(rng, _PROVINCES) + ("省" if rng.random() < 0.5 else ""),
        _pick(rng, _CITIES) + "市",
        _pick(rng, _DISTRICTS),
        _pick(rng, _ROADS) + f"{int(rng.integers(1, 999))}号",
    ]
    if rng.random() < 0.6:
        parts.append(f"{int(rng.integers(1, 30))}栋{int(rng.integers(1, 30))}0{int(rng.integers(1, 9))}室")
    start = int(rng.integers(0, 3))
    return "".join(parts[start:])


def _hanzi_run(rng: np.random.Generator, lo: int, hi: int) -> str:
    # Uniform over GB2312 level 1: every character there is common, and calibration needs coverage more than
    # exact frequencies.
    return "".join(_pick(rng, _COMMON_HANZI) for _ in range(int(rng.integers(lo, hi + 1))))


def _en_phrase(rng: np.random.Generator, lo: int, hi: int) -> str:
    words = [_pick(rng, _EN_WORDS) for _ in range(int(rng.integers(lo, hi + 1)))]
    style = rng.random()
    if style < 0.3:
        return " ".join(words).capitalize()
    if style < 0.5:
        return " ".join(w.capitalize() for w in words)
    if style < 0.65:
        return " ".join(words).upper()
    return " ".join(words)


def _text_receipt(rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.35:
        qty = int(rng.integers(1, 6))
        return f"{_pick(rng, _GOODS)} {qty}{_pick(rng, _UNITS)} {_pick(rng, '¥￥')}{_price(rng)}"
    if kind < 0.6:
        return (
            f"{_pick(rng, _RECEIPT)}{_pick(rng, ['：', ':', ' '])}{_pick(rng, ['¥', '￥', ''])}{_price(rng)}"
        )
    if kind < 0.75:
        return f"{_pick(rng, _BRANDS)}{_pick(rng, _SHOPS)}（{_pick(rng, _ROADS)}店）"
    if kind < 0.9:
        return f"{_pick(rng, ['交易时间', '日期', '时间', 'Date'])}：{_date(rng)}"
    return f"{_pick(rng, ['流水号', '单号', 'NO.', '订单号'])}：{_digits(rng, int(rng.integers(8, 20)))}"


def _text_waybill(rng: np.random.Generator) -> str:
    kind = rng.random()
    carrier = _pick(rng, ["SF", "YT", "ZTO", "JD", "EMS", "YD", "ST", "JT"])
    if kind < 0.3:
        return f"{_pick(rng, _WAYBILL[:3])}：{carrier}{_digits(rng, int(rng.integers(10, 15)))}"
    if kind < 0.55:
        return f"{_pick(rng, ['收件人', '寄件人', '收', '寄'])}：{_name(rng)} {_phone(rng)}"
    if kind < 0.8:
        return _address(rng)
    if kind < 0.9:
        return f"{_pick(rng, _WAYBILL)} {rng.uniform(0.1, 30):.1f}kg"
    return f"{_pick(rng, _WAYBILL[12:])} {_date(rng)}"


def _text_sign(rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.45:
        return _pick(rng, _SIGNS)
    if kind < 0.7:
        return f"{_pick(rng, _SIGNS)} {_pick(rng, _EN_TITLE)}"
    if kind < 0.85:
        return (
            f"营业时间 {int(rng.integers(6, 11))}:00-{int(rng.integers(17, 24))}:{_pick(rng, ['00', '30'])}"
        )
    return f"{_pick(rng, _BRANDS)}{_pick(rng, _SHOPS)}"


def _text_ui(rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.35:
        return _pick(rng, _UI_ZH)
    if kind < 0.55:
        return f"{_pick(rng, _UI_ZH)}{_pick(rng, _PUNCT_ZH[:8])}{_pick(rng, _UI_ZH)}"
    if kind < 0.7:
        return f"{int(rng.integers(1, 60))}{_pick(rng, ['分钟前', '小时前', '天前', ' min ago', 's'])}"
    if kind < 0.85:
        return _pick(rng, _EN_TITLE) + (" " + _pick(rng, _EN_TITLE) if rng.random() < 0.5 else "")
    return f"{_pick(rng, ['余额', 'Balance', '¥', '$'])} {_price(rng)}  {int(rng.integers(0, 100))}%"


def _text_english(rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.45:
        text = _en_phrase(rng, 2, 9)
        return text + (_pick(rng, _PUNCT_EN[:6]) if rng.random() < 0.3 else "")
    if kind < 0.6:
        number, street = int(rng.integers(1, 9999)), _pick(rng, _EN_WORDS).capitalize()
        return f"{number} {street} {_pick(rng, ['St', 'Rd', 'Ave'])}"
    if kind < 0.75:
        return f"{_pick(rng, _EN_TITLE)}: ${_price(rng)}"
    if kind < 0.88:
        return f"{_pick(rng, ['Tel', 'Phone', 'Fax', 'No.', 'ID'])}: {_phone(rng)}"
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    return "".join(_pick(rng, letters) for _ in range(int(rng.integers(2, 5)))) + _digits(rng, 8)


def _text_chinese(rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.5:
        text = _hanzi_run(rng, 2, 14)
    elif kind < 0.75:
        text = _hanzi_run(rng, 2, 6) + _pick(rng, _PUNCT_ZH) + _hanzi_run(rng, 2, 8)
    else:
        text = _pick(rng, _GOODS) + _pick(rng, _SIGNS) + _hanzi_run(rng, 0, 4)
    return text


def _text_mixed(rng: np.random.Generator) -> str:
    kind = rng.random()
    if kind < 0.3:
        return f"{_hanzi_run(rng, 2, 6)}{_pick(rng, _EN_TITLE)}{_hanzi_run(rng, 0, 4)}"
    if kind < 0.55:
        return f"{_pick(rng, _GOODS)}{int(rng.integers(1, 1000))}{_pick(rng, _UNITS)}"
    if kind < 0.8:
        return f"{_pick(rng, ['电话', '热线', '客服', 'WiFi密码', '会员号'])}：{_phone(rng)}"
    prefix, count = _pick(rng, ["第", "共"]), int(rng.integers(1, 99))
    return f"{prefix}{count}{_pick(rng, ['页', '件', '条', '次'])} {_date(rng)}"


_GENERATORS = (
    (_text_receipt, 0.18, "mixed"),
    (_text_waybill, 0.12, "mixed"),
    (_text_sign, 0.1, "mixed"),
    (_text_ui, 0.12, "mixed"),
    (_text_english, 0.22, "en"),
    (_text_chinese, 0.14, "zh"),
    (_text_mixed, 0.12, "mixed"),
)


def random_text(rng: np.random.Generator) -> tuple[str, bool]:
    """Return one line of text and whether it contains non-Latin characters."""
    weights = np.array([w for _, w, _ in _GENERATORS])
    fn, _, _ = _GENERATORS[int(rng.choice(len(_GENERATORS), p=weights / weights.sum()))]
    text = fn(rng).strip()
    return text, any(ord(c) > 0x2FF for c in text)


# ----------------------------------------------------------------------------------------------------------
# Rendering
# ----------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Line:
    """One rendered line crop (BGR uint8) and the text drawn on it."""

    image: np.ndarray
    text: str


def _color(rng: np.random.Generator, dark: bool) -> np.ndarray:
    base = rng.uniform(0, 90) if dark else rng.uniform(170, 255)
    tint = rng.normal(0, 25 if rng.random() < 0.4 else 6, 3)
    return np.clip(base + tint, 0, 255)


def _background(rng: np.random.Generator, h: int, w: int, light: bool) -> np.ndarray:
    """Return a float32 H×W×3 background: flat, gradient, noisy texture or blotchy 'photo' look."""
    base = _color(rng, dark=not light)
    bg = np.empty((h, w, 3), np.float32)
    bg[:] = base
    style = rng.random()
    if style < 0.3:
        other = np.clip(base + rng.normal(0, 40, 3), 0, 255)
        angle = rng.uniform(0, math.pi)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        t = xx * math.cos(angle) + yy * math.sin(angle)
        t = (t - t.min()) / max(float(t.max() - t.min()), 1.0)
        bg = bg * (1 - t[..., None]) + other * t[..., None]
    elif style < 0.55:
        small = rng.normal(0, rng.uniform(5, 30), (max(2, h // 8), max(2, w // 8), 3)).astype(np.float32)
        bg += cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    elif style < 0.7:
        for _ in range(int(rng.integers(1, 4))):
            x0 = int(rng.integers(0, w))
            bw = int(rng.integers(w // 8 + 1, w // 2 + 2))
            bg[:, x0 : x0 + bw] = np.clip(base + rng.normal(0, 35, 3), 0, 255)
        bg = cv2.GaussianBlur(bg, (0, 0), 2.0)
    bg += rng.normal(0, rng.uniform(0, 6), bg.shape).astype(np.float32)
    return bg


def _render_text_mask(
    text: str, font: ImageFont.FreeTypeFont, stroke: int, spacing: float
) -> tuple[np.ndarray, int]:
    """Draw *text* white on black; returns the float mask (0..1) and the font's line height in pixels."""
    ascent, descent = font.getmetrics()
    line_h = ascent + descent
    advances = [font.getlength(c) for c in text]
    extra = spacing * line_h
    width = int(sum(advances) + extra * max(len(text) - 1, 0) + 2 * stroke + line_h)
    canvas = Image.new("L", (max(width, 8), line_h + 2 * stroke + line_h // 2), 0)
    draw = ImageDraw.Draw(canvas)
    x = float(stroke + line_h // 4)
    y = stroke + line_h // 4
    if spacing == 0.0:
        draw.text((x, y), text, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    else:
        for c, adv in zip(text, advances, strict=True):
            draw.text((x, y), c, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
            x += adv + extra
    return np.asarray(canvas, np.float32) / 255.0, line_h


def _warp(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    """Slight rotation, shear and perspective applied to the text mask (the canvas grows to fit)."""
    h, w = mask.shape
    jitter = rng.uniform(0, 0.04) * h
    angle = rng.normal(0, 1.2) if rng.random() < 0.6 else 0.0
    shear = rng.normal(0, 0.08) if rng.random() < 0.2 else 0.0
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    dst = src + rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32)
    dst[:, 0] += shear * (dst[:, 1] - h / 2)
    center = np.float32([w / 2, h / 2])
    rot = math.radians(angle)
    rmat = np.float32([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]])
    dst = (dst - center) @ rmat.T + center
    dst -= dst.min(axis=0)
    size = (math.ceil(dst[:, 0].max()) + 1, math.ceil(dst[:, 1].max()) + 1)
    matrix = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(mask, matrix, size, flags=cv2.INTER_LINEAR, borderValue=0)


def _degrade(rng: np.random.Generator, img: np.ndarray) -> np.ndarray:
    """Blur, resolution loss, sensor noise and JPEG artefacts on a float image."""
    if rng.random() < 0.5:
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.3, 1.3))
    if rng.random() < 0.1:
        k = int(rng.integers(3, 6))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1.0 / k
        img = cv2.filter2D(img, -1, kernel)
    if rng.random() < 0.3:
        h, w = img.shape[:2]
        f = rng.uniform(0.35, 0.8)
        small = cv2.resize(img, (max(1, int(w * f)), max(1, int(h * f))), interpolation=cv2.INTER_AREA)
        img = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    if rng.random() < 0.5:
        img = img + rng.normal(0, rng.uniform(2, 12), img.shape).astype(np.float32)
    out = np.clip(img, 0, 255).astype(np.uint8)
    if rng.random() < 0.6:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(25, 95))])
        if ok:
            out = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    return out


def _crop(rng: np.random.Generator, img: np.ndarray, mask: np.ndarray, line_h: int) -> np.ndarray:
    """Cut the text out like a detector box: tight around the ink, small uneven margins."""
    ys, xs = np.nonzero(mask > 0.25)
    if ys.size == 0:
        return img
    y0, y1, x0, x1 = int(ys.min()), int(ys.max()) + 1, int(xs.min()), int(xs.max()) + 1
    text_h = max(y1 - y0, line_h // 2)
    margins = rng.uniform(0.02, 0.3, 4) * text_h
    h, w = mask.shape
    top = max(0, int(y0 - margins[0]))
    bottom = min(h, math.ceil(y1 + margins[1]))
    left = max(0, int(x0 - margins[2]))
    right = min(w, math.ceil(x1 + margins[3]))
    return img[top:bottom, left:right]


def _text_mask(
    rng: np.random.Generator, fonts: dict[tuple[str, int, int], ImageFont.FreeTypeFont], size: int
) -> tuple[str, np.ndarray, int]:
    """Pick a text and a face that covers it, draw it at *size* px and warp it slightly."""
    text, needs_cjk = random_text(rng)
    faces = [f for f in FONTS if f.cjk or not needs_cjk]
    face = faces[int(rng.integers(len(faces)))]
    key = (face.path, face.index, size)
    if key not in fonts:
        fonts[key] = ImageFont.truetype(
            face.path, size, index=face.index, layout_engine=ImageFont.Layout.BASIC
        )
    stroke = 1 if rng.random() < 0.12 and size >= 20 else 0
    spacing = float(rng.uniform(0.02, 0.25)) if rng.random() < 0.15 else 0.0
    mask, line_h = _render_text_mask(text, fonts[key], stroke, spacing)
    return text, _warp(rng, mask), line_h


def _ink(rng: np.random.Generator, bg: np.ndarray, light_bg: bool) -> np.ndarray:
    """Return a text colour for background *bg*, sometimes with reduced contrast."""
    fg = _color(rng, dark=light_bg)
    contrast = rng.uniform(0.35, 1.0) if rng.random() < 0.3 else 1.0
    return (bg.reshape(-1, 3).mean(axis=0) * (1 - contrast) + fg * contrast).astype(np.float32)


def render_line(rng: np.random.Generator, fonts: dict[tuple[str, int, int], ImageFont.FreeTypeFont]) -> Line:
    """Render one random line with *rng*; *fonts* caches loaded font objects between calls."""
    size = int(
        rng.choice([rng.integers(14, 24), rng.integers(24, 40), rng.integers(40, 64)], p=[0.35, 0.45, 0.2])
    )
    text, mask, line_h = _text_mask(rng, fonts, size)
    light_bg = rng.random() < 0.78
    h, w = mask.shape
    bg = _background(rng, h, w, light_bg)
    alpha = mask[..., None] * rng.uniform(0.75, 1.0)
    img = bg * (1 - alpha) + _ink(rng, bg, light_bg) * alpha
    crop = _crop(rng, img, mask, line_h)
    return Line(image=_degrade(rng, crop), text=text)


def render_lines(n: int, seed: int = DEFAULT_SEED) -> list[Line]:
    """Render *n* lines deterministically: line *i* depends only on ``(seed, i)``."""
    check_fonts()
    fonts: dict[tuple[str, int, int], ImageFont.FreeTypeFont] = {}
    return [render_line(np.random.default_rng([seed, i]), fonts) for i in range(n)]


def render_page(
    rng: np.random.Generator,
    fonts: dict[tuple[str, int, int], ImageFont.FreeTypeFont],
    height: int = 736,
    width: int = 960,
) -> np.ndarray:
    """Render a page-like BGR image (document, receipt, label or sign board) with many text lines."""
    light_bg = rng.random() < 0.8
    page = _background(rng, height, width, light_bg)
    y = int(rng.integers(4, 40))
    while y < height - 16:
        size = int(
            rng.choice(
                [rng.integers(12, 22), rng.integers(22, 36), rng.integers(36, 72)], p=[0.45, 0.4, 0.15]
            )
        )
        x = int(rng.integers(4, max(5, width // 3)))
        row_h = size
        while x < width - 3 * size:
            _, mask, _ = _text_mask(rng, fonts, size)
            h, w = mask.shape
            w = min(w, width - x)
            if y + h > height:
                break
            region = page[y : y + h, x : x + w]
            alpha = mask[:, :w, None] * rng.uniform(0.8, 1.0)
            page[y : y + h, x : x + w] = region * (1 - alpha) + _ink(rng, region, light_bg) * alpha
            row_h = max(row_h, h)
            x += w + int(rng.integers(size, 8 * size))
        y += int(row_h * rng.uniform(0.9, 1.8))
    return _degrade(rng, page)


def render_pages(n: int, seed: int = DEFAULT_SEED, height: int = 736, width: int = 960) -> list[np.ndarray]:
    """Render *n* pages deterministically: page *i* depends only on ``(seed, i)``."""
    check_fonts()
    fonts: dict[tuple[str, int, int], ImageFont.FreeTypeFont] = {}
    return [render_page(np.random.default_rng([seed, 1_000_000 + i]), fonts, height, width) for i in range(n)]


def main() -> None:
    """Write a sample of rendered lines as PNG files plus a ``labels.tsv``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="directory for the PNG files")
    parser.add_argument("-n", type=int, default=40, help="number of lines")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, line in enumerate(render_lines(args.n, args.seed)):
        name = f"{i:05d}.png"
        cv2.imwrite(str(args.out / name), line.image)
        rows.append(f"{name}\t{line.text}\n")
    (args.out / "labels.tsv").write_text("".join(rows), encoding="utf-8")


if __name__ == "__main__":
    main()
