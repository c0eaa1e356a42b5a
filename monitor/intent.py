"""What a comment wants from the owner: its intent, from a weighted lexicon learned offline.

Pure: no I/O beyond reading the lexicon that ships in the package (`intent_lexicon.json`), no
network, no model to download.

How a comment is read (`features`): lower case, straight apostrophes, without the lines it
quotes from someone else ("> ..."); links become ``zzurl`` (``zzimg`` for picture and code hosts,
plus ``zzshort`` for link shorteners), @mentions ``zzat``, code blocks ``zzcode``, numbers
``zznum``. Its features are then its words (with a light suffix-stripping, so "arrived" and
"arrive" are one word), its word pairs ("never arrive", "how much"), how it opens and ends
("^how", "?$"), its length, its VADER sentiment band, and a few explicit rules
(`RULES`: a question to the crowd, instructions aimed at a bot, a generic compliment beside a
link).

How it is decided (`classify`): every feature carries one weight per intent; an intent's score
is the sum of its weights over the comment's features, and the highest score wins. The weights
are a multinomial logistic regression trained by ``tools/train_intent.py`` on the labelled
comments of ``tests/data/intent/`` (several writers, every platform); that script also prints
how well it does on each writer's comments when trained on the others only, the honest
measure of how it handles someone else's writing. `explain` lists the features that decided a
comment, so a surprising intent can always be traced to the words that caused it.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, lru_cache
from importlib import resources
from itertools import pairwise
from typing import Any

__all__ = [
    "RULES",
    "RULE_GATES",
    "Intent",
    "Lexicon",
    "classify_features",
    "explain",
    "features",
    "lexicon",
    "normalise",
    "own_words",
]


class Intent(StrEnum):
    QUESTION = "question"
    PROBLEM = "problem"
    PRAISE = "praise"
    PURCHASE = "purchase"
    FEEDBACK = "feedback"
    SPAM = "spam"
    OTHER = "other"


LEXICON_FILE = "intent_lexicon.json"

# -- reading the text -------------------------------------------------------------------------

URL = re.compile(
    r"(?:https?://|www\.)\S+|\b[a-z0-9][a-z0-9-]*(?:\.[a-z0-9-]+)*\.(?:com|net|org|io|co|xyz|"
    r"shop|store|biz|info|me|ly|link|site|online|top|club|app|gg|ee|gd|be|us|uk|ai|dev)\b"
    r"(?:/\S*)?",
    re.IGNORECASE,
)
# Links to pictures and code are how customers show a problem, not how spammers advertise.
_HARMLESS_HOST = re.compile(
    r"^(?:https?://)?(?:[\w-]+\.)*(?:imgur\.com|redd\.it|reddit\.com|github\.com|gitlab\.com|"
    r"flickr\.com|wikipedia\.org|stackoverflow\.com|codeberg\.org|photos\.app\.goo\.gl|"
    r"youtube\.com|youtu\.be)\b",
    re.IGNORECASE,
)
# Shortened links hide where they lead.
_SHORTENER = re.compile(
    r"^(?:https?://)?(?:bit\.ly|tinyurl\.com|goo\.gl|cutt\.ly|linktr\.ee|wa\.me|t\.me|rb\.gy|"
    r"is\.gd|ow\.ly|shorturl\.at)\b",
    re.IGNORECASE,
)
MENTION = re.compile(r"(?<![\w@])@[\w.-]*\w(?:@[\w.-]*\w)?|(?<![\w/])/?u/\w+|<@[!&]?\d+>")
_QUOTED_LINE = re.compile(r"^\s*>.*$", re.MULTILINE)
_CODE_BLOCK = re.compile(r"```.*?(?:```|$)", re.DOTALL)
# Words, numbers, and the marks that carry intent on their own: "?", "!", "$", "%" and emoji.
_TOKEN = re.compile(r"[a-z]+|\d[\d.,:]*|[?!$%€£]|[\U0001F000-\U0001FAFF\u2600-\u27BF]")
_APOSTROPHES = str.maketrans({"\u2019": "", "\u2018": "", "'": ""})


def own_words(text: str) -> str:
    """`text` without the lines it quotes from someone else ("> ..."), unless that is all."""
    if ">" not in text:
        return text
    unquoted = _QUOTED_LINE.sub(" ", text)
    return unquoted if unquoted.strip() else text


def _link(match: re.Match[str]) -> str:
    link = match.group()
    if _HARMLESS_HOST.match(link):
        return " zzimg "
    return " zzurl zzshort " if _SHORTENER.match(link) else " zzurl "


def normalise(text: str) -> str:
    """The comment as the lexicon reads it.

    >>> normalise("> earlier\\nLOVE it @sam, see https://x.example.com/a!")
    'love it zzat , see zzurl'
    """
    lowered = own_words(text).lower().replace("\u2019", "'").replace("\u2018", "'")
    if "```" in lowered:
        lowered = _CODE_BLOCK.sub(" zzcode ", lowered)
    if "." in lowered:  # every link has a dot
        lowered = URL.sub(_link, lowered)
    if "@" in lowered or "u/" in lowered:
        lowered = MENTION.sub(" zzat ", lowered)
    return " ".join(lowered.split())


# "Ordered", "orders" and "ordering" are one word to the lexicon; short words stay as they are,
# since cutting "is" or "yes" would merge unrelated words.
_SUFFIXES = (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""))
_NO_STEM = frozenset({"this", "was", "has", "is", "does", "yes", "us", "bus", "less", "ness"})


def _stem(word: str) -> str:
    if len(word) <= 4 or word in _NO_STEM or word.endswith("ss"):
        return word
    for suffix, replacement in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)] + replacement
    return word


def tokens(norm: str) -> list[str]:
    """The normalised text's words (stemmed, apostrophes dropped: "don't" is "dont") and marks."""
    return [_token(token) for token in _TOKEN.findall(norm.translate(_APOSTROPHES))]


@lru_cache(maxsize=65536)
def _token(token: str) -> str:
    if token[0].isdigit():
        return "zznum"
    return _stem(token) if token[0].isalpha() else token


# -- explicit rules ---------------------------------------------------------------------------
# What a few examples cannot teach reliably: each rule is one feature, weighted by training.

_TO_THE_CROWD = re.compile(
    r"\b(?:anyone|anybody|who) else\b|\bam i the only one\b|\bwho(?:'s| is) (?:here|watching)"
    r"\b|\banyone here (?:from|for)\b|\bhow(?:'s| is) everyone\b|\bis it "
    r"(?:friday|the weekend|summer|lunch|\w+day) yet\b"
)
# Talking to a bot instead of to the owner.
INJECTION = re.compile(
    r"\b(?:(?:ignore|disregard|forget|override) (?:all |any |the |your |my )*(?:previous|prior|"
    r"above|earlier|preceding|system|original) (?:instructions|prompts?|rules|directions|"
    r"messages|context)|(?:ignore|disregard|forget) everything (?:above|before|else)|system prompt|"
    r"you are now|as an ai|ai (?:assistant|model)|language model|jailbreak|developer mode|"
    r"prompt injection|new instructions|pretend (?:you are|you're|to be)|act as (?:a|an|my|if)|"
    r"roleplay as)\b"
)
# A generic compliment next to a link is the classic comment-spam shape.
_GENERIC_COMPLIMENT = re.compile(
    r"\b(?:nice|great|good|awesome|informative|useful|interesting|helpful) (?:post|article|"
    r"blog|content|info|information|read|share|write-?up)\b|\bvery informative\b|\bthanks? "
    r"(?:you )?for (?:sharing|posting|the info)\b|\bkeep posting\b|\bwriting style\b"
)
_MONEY_SCHEME = re.compile(
    r"\b(?:crypto|bitcoin|btc|forex|nft|airdrop|passive income|dm me|whatsapp|telegram|"
    r"onlyfans|casino|betting|seo|backlinks?|followers|guest post|collab(?:oration)?)\b"
)

RULES: dict[str, re.Pattern[str]] = {
    "rule:to_the_crowd": _TO_THE_CROWD,
    "rule:bot_instructions": INJECTION,
    "rule:scheme_words": _MONEY_SCHEME,
}


# Every match of a rule contains one of its gate's strings: a comment with none of them skips
# the regex (most comments), which keeps classifying cheap. tests/test_intent.py checks this.
def _any_of(gates: str) -> tuple[str, ...]:
    return tuple(gates.split("|"))


RULE_GATES: dict[str, tuple[str, ...]] = {
    "rule:to_the_crowd": _any_of("else|only one|who|anyone here|how| yet"),
    "rule:bot_instructions": _any_of(
        "ignore|disregard|forget|override|system|you are now|as an ai|ai |language model|"
        "jailbreak|developer mode|injection|instructions|pretend|act as|roleplay"
    ),
    "rule:scheme_words": _any_of(
        "crypto|bitcoin|btc|forex|nft|airdrop|passive income|dm me|whatsapp|telegram|onlyfans|"
        "casino|betting|seo|backlink|followers|guest post|collab"
    ),
}

_SENTIMENT_BANDS = ((-0.5, "sent:neg"), (-0.05, "sent:low"), (0.05, "sent:none"), (0.5, "sent:pos"))


def _sentiment_band(compound: float) -> str:
    for upper, band in _SENTIMENT_BANDS:
        if compound <= upper:
            return band
    return "sent:high"


def _length_band(count: int) -> str:
    if count <= 3:
        return "len:1-3"
    if count <= 8:
        return "len:4-8"
    return "len:9-25" if count <= 25 else "len:26+"


def features(text: str, compound: float) -> set[str]:
    """The features of a comment: its words, word pairs, opening and ending, length, sentiment
    band and rules. Pure.

    >>> found = features("Where is my order?", 0.0)
    >>> sorted(f for f in found if " " in f)
    ['is my', 'my order', 'order ?', 'where is']
    >>> sorted(f for f in found if f[0] in "^$?" or f[-1] == "$")
    ['$bias', '?', '?$', '^where']
    """
    norm = normalise(text)
    words = tokens(norm)
    found = {"$bias", _sentiment_band(compound), _length_band(len(words))}
    found.update(words)
    found.update([a + " " + b for a, b in pairwise(words)])
    if words:
        found.add(f"^{words[0]}")
        found.add(f"{words[-1]}$")
    for name, rule in RULES.items():
        if any(gate in norm for gate in RULE_GATES[name]) and rule.search(norm):
            found.add(name)
    if "zzurl" in norm and _GENERIC_COMPLIMENT.search(norm):
        found.add("rule:compliment_link")
    return found


# -- the learned lexicon -----------------------------------------------------------------------


@dataclass(frozen=True)
class Lexicon:
    """One weight per intent for each feature: `weights[feature][i]` is for `intents[i]`."""

    intents: tuple[Intent, ...]
    weights: dict[str, tuple[float, ...]]
    about: dict[str, Any]

    def scores(self, found: Iterable[str]) -> list[float]:
        """Each intent's summed weight over `found`, in the order of `intents`."""
        rows = [row for row in map(self.weights.get, found) if row is not None]
        if not rows:
            return [0.0] * len(self.intents)
        return [sum(column) for column in zip(*rows, strict=True)]

    def to_json(self) -> dict[str, Any]:
        return {
            "about": self.about,
            "intents": [intent.value for intent in self.intents],
            "weights": {feature: list(row) for feature, row in sorted(self.weights.items())},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Lexicon:
        intents = tuple(Intent(name) for name in data["intents"])
        weights = {feature: tuple(row) for feature, row in data["weights"].items()}
        if any(len(row) != len(intents) for row in weights.values()):
            raise ValueError(f"{LEXICON_FILE}: every feature needs {len(intents)} weights")
        return cls(intents, weights, data.get("about", {}))


_LOADING = threading.Lock()


def lexicon() -> Lexicon:
    """The lexicon that ships with the package, read once, whichever thread asks first."""
    with _LOADING:  # `cache` alone lets threads that start together each read their own
        return _load_lexicon()


@cache
def _load_lexicon() -> Lexicon:
    text = resources.files("monitor").joinpath(LEXICON_FILE).read_text(encoding="utf-8")
    return Lexicon.from_json(json.loads(text))


def classify_features(found: Iterable[str], model: Lexicon | None = None) -> Intent:
    """The intent whose weights add up highest over `found` (see `features`)."""
    model = model or lexicon()
    totals = model.scores(found)
    return model.intents[max(range(len(totals)), key=totals.__getitem__)]


def explain(text: str, compound: float, *, top: int = 8) -> list[tuple[str, float]]:
    """The features that pushed `text` towards its intent most, with their net weight (the
    intent's weight minus the mean of the others'), strongest first."""
    model = lexicon()
    found = features(text, compound)
    chosen = model.intents.index(classify_features(found, model))
    pushes = []
    for feature in found:
        row = model.weights.get(feature)
        if row is None:
            continue
        others = (sum(row) - row[chosen]) / (len(row) - 1)
        pushes.append((feature, round(row[chosen] - others, 3)))
    return sorted(pushes, key=lambda push: -push[1])[:top]
