"""A built-in, deterministic corpus so the sample pipeline runs anywhere with no data.

Japanese and English prose, source code, exact and near duplicates (also across
work units) and junk pages (menus, spam, near-empty pages). Every document is a
pure function of ``(seed, k)``, so any unit can be generated on any worker.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Literal

import pyarrow as pa
from pydantic import Field

from corpusforge.errors import ErrorRecord
from corpusforge.io.batching import BatchConfig
from corpusforge.io.reader import register_reader
from corpusforge.io.units import WorkUnit
from corpusforge.models import Model, Seed
from corpusforge.schema import make_batch


class DemoInput(Model):
    """A built-in deterministic corpus: Japanese, English and code, with duplicates and junk."""

    type: Literal["demo"]
    docs: int = Field(2000, ge=1)
    units: int = Field(4, ge=1)
    seed: Seed = 0
    source: str | None = None


JA_TOPICS = ["図書館", "商店街", "駅前の公園", "市役所", "小学校", "美術館", "港町", "山あいの村", "温泉街", "大学の研究室"]
JA_PEOPLE = ["地元の人たち", "学生", "観光客", "研究者", "子どもたち", "職人", "店主", "ボランティア"]
JA_ACTIONS = [
    "新しい取り組みを始めました", "毎朝早くから準備をしています", "昔ながらの方法を大切にしています",
    "話し合いを重ねてきました", "季節ごとの催しを楽しみにしています", "道具の手入れを欠かしません",
    "小さな工夫を積み重ねています", "地域の歴史を調べています",
]
JA_TAILS = [
    "その結果、訪れる人の数は少しずつ増えているそうです。",
    "担当者は「これからも続けていきたい」と話しています。",
    "詳しい情報は来月の広報誌に掲載される予定です。",
    "天気の良い日には、遠くの山まで見渡すことができます。",
    "こうした活動は、ほかの町でも注目されています。",
    "一方で、人手不足という課題も残っています。",
]
EN_TOPICS = ["the library", "the harbour", "a small bakery", "the city council", "the old mill",
             "a research group", "the community garden", "the railway museum"]
EN_PEOPLE = ["local residents", "volunteers", "students", "the owners", "visitors", "engineers"]
EN_ACTIONS = ["have started a new project", "meet every Tuesday evening", "keep careful records of the work",
              "restored the building over two years", "are planning a festival for the spring",
              "share their tools with the neighbours"]
EN_TAILS = ["Most of them say the effort has been worth it.",
            "The results will be published later this year.",
            "Funding comes mainly from small donations.",
            "Some of the original equipment is still in use today.",
            "Similar groups have formed in nearby towns.",
            "The next public meeting is open to everyone."]
CODE_NAMES = ["parse_record", "load_config", "merge_counts", "render_table", "fetch_page", "normalize_path"]
JUNK = [
    "ログイン | 会員登録 | カートを見る | お問い合わせ\nログイン | 会員登録 | カートを見る | お問い合わせ",
    "Click here!!! Buy now!!! Best price!!! Click here!!! Buy now!!! Best price!!!",
    "lorem ipsum dolor sit amet lorem ipsum dolor sit amet",
    "Home\nAbout\nContact\nPrivacy Policy\nTerms of Use",
    "ok",
    "",
    "★★★激安★★★今すぐクリック★★★激安★★★今すぐクリック★★★",
]


KANA = "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワ"
LATIN_SYLLABLES = ["ka", "lo", "mi", "ren", "sa", "tor", "vel", "du", "ny", "shi", "bar", "quin", "el", "mor"]


def _name(rng: random.Random, parts: str | list[str], n: tuple[int, int]) -> str:
    """A made-up proper noun: every document has its own, so documents differ beyond templates."""
    return "".join(rng.choice(parts) for _ in range(rng.randint(*n)))


def _ja(rng: random.Random) -> str:
    town, person = _name(rng, KANA, (3, 5)), _name(rng, KANA, (2, 4))
    paras = []
    for _ in range(rng.randint(2, 5)):
        sents = [
            f"{town}の{rng.choice(JA_TOPICS)}では、{rng.choice(JA_PEOPLE)}が{rng.choice(JA_ACTIONS)}。"
            f"{person}さんによると、{rng.choice(JA_TAILS)}"
            for _ in range(rng.randint(2, 4))
        ]
        paras.append("".join(sents))
    return "\n".join(paras)


def _en(rng: random.Random) -> str:
    town = _name(rng, LATIN_SYLLABLES, (2, 3)).capitalize()
    person = _name(rng, LATIN_SYLLABLES, (2, 3)).capitalize()
    paras = []
    for _ in range(rng.randint(2, 5)):
        sents = [
            f"At {rng.choice(EN_TOPICS)} in {town}, {rng.choice(EN_PEOPLE)} {rng.choice(EN_ACTIONS)}. "
            f"According to {person}, {rng.choice(EN_TAILS)[0].lower()}{rng.choice(EN_TAILS)[1:]}"
            for _ in range(rng.randint(2, 4))
        ]
        paras.append(" ".join(sents))
    return "\n\n".join(paras)


def _code(rng: random.Random) -> str:
    name = f"{rng.choice(CODE_NAMES)}_{_name(rng, LATIN_SYLLABLES, (1, 2))}"
    arg = rng.choice(["path", "data", "rows", "items"])
    key = _name(rng, LATIN_SYLLABLES, (2, 3))
    check = rng.choice([f"value.get({key!r})", f"{key!r} in value", f"value.startswith({key!r})"])
    return (
        f"def {name}({arg}):\n"
        f'    """{name.replace("_", " ").capitalize()} from {arg}, keeping the {key} entries."""\n'
        f"    result = []\n"
        f"    for value in {arg}:\n"
        f"        if {check}:\n"
        f"            result.append(value)\n"
        f"    return result\n"
    )


def _mutate(text: str, rng: random.Random) -> str:
    """A near duplicate: a few characters changed near the end."""
    if len(text) < 20:
        return text + "!"
    cut = rng.randint(len(text) * 3 // 4, len(text) - 1)
    return text[:cut] + rng.choice(["。", " new", "ー", "."]) + text[cut + 1 :]


def document(seed: int, k: int) -> tuple[str, str]:
    """``(text, url)`` of document ``k``: deterministic, independent of the unit layout."""
    rng = random.Random(f"{seed}:{k}")
    roll = rng.random()
    if k > 10 and roll < 0.05:  # exact duplicate of an earlier document
        text, url = document(seed, rng.randrange(k))
        return text, url + f"?dup={k}"
    if k > 10 and roll < 0.10:  # near duplicate
        text, url = document(seed, rng.randrange(k))
        return _mutate(text, rng), url + f"?near={k}"
    if roll < 0.17:
        return rng.choice(JUNK), f"https://spam{k % 7}.example.com/{k}"
    if roll < 0.55:
        return _ja(rng), f"https://news{k % 5}.example.jp/article/{k}"
    if roll < 0.92:
        return _en(rng), f"https://blog{k % 5}.example.org/post/{k}"
    return _code(rng), f"https://code.example.net/repo{k % 3}/{k}.py"


def plan(cfg: DemoInput, input_index: int) -> list[WorkUnit]:
    per = -(-cfg.docs // cfg.units)
    return [
        WorkUnit(0, input_index, "", "demo", start, min(start + per, cfg.docs))
        for start in range(0, cfg.docs, per)
    ]


def read(unit: WorkUnit, cfg: DemoInput, source: str, batch: BatchConfig) -> Iterator[pa.Table | ErrorRecord]:
    ks = list(range(unit.start, unit.end))
    docs = [document(cfg.seed, k) for k in ks]
    yield make_batch(
        [f"{source}-{k:08d}" for k in ks], [t for t, _ in docs], source, unit.name, ks,
        [u for _, u in docs],
    )


register_reader("demo", DemoInput, plan, read)
