"""What a new item wants, how it feels, whether it needs an answer, and a draft of that answer.

Pure: no I/O, no network, no model to download. The parts:

* **Intent** (`classify`) comes from `monitor.intent`: a lexicon of words, word pairs and a few
  explicit rules, each with one weight per intent, learned from 3,156 labelled comments by
  fourteen writers (``tests/data/intent``, trained by ``tools/train_intent.py``) and shipped in the
  package, so it works offline and every decision can be traced to its words
  (`monitor.intent.explain`). The text is read lower-cased, without the lines it quotes from
  someone else ("> ..."); links, @mentions, code and numbers become tokens, and pictures and
  code hosts do not count as advertising. What the labels teach it: a problem asked as a
  question ("why hasn't my order arrived?") is a problem, "love it! is it vegan?" is a
  question, "how much is the large one?" is a purchase, praise followed by a plug is spam, a
  question to the other readers ("anyone else...?") is chatter, and instructions aimed at a
  bot are spam when they ask for something of value and chatter when they do not.
* **Sentiment** is VADER's compound score (-1..1); VADER ships its lexicon, so it works offline.
  The analyser is built once, on first use. Only the first 2,000 characters are scored.
* **Needs a reply**: not for spam, and not for idle chatter (an *other* item of a few words, a
  laugh, or friends tagging each other). Such an item is suggested for dismissal (`hint`), never
  hidden: the owner decides.
* **Drafts** are Jinja2 templates, one per intent, each replaceable from the config
  (``suggest.templates``). They follow good follow-up practice: thank the person in the terms of
  what they wrote (`topic`); a problem gets an acknowledgement, an apology and a private channel
  to fix it, never a pitch or a referral request; praise is thanked, and only clearly positive
  praise (compound >= 0.5) invites a recommendation; a question says who will answer, or answers
  from a matching ``suggest.faq`` entry; purchase interest gets a next step without pressure.
  Spam gets no draft. `Suggestion.late_draft` is the same reply opening with an apology for the
  slow answer, for an item already past its deadline; it never claims to be on time.
* **Untrusted text**: the comment, the author's name and the topic are only ever *values* passed
  to a template, never template source, and the environment is sandboxed; ``{{ 7*7 }}`` in a
  comment is echoed as written. A template may use only the names in `TEMPLATE_VARIABLES`, which
  are checked (and test-rendered) when a `Suggester` is built.
* **Length**: a draft fits `PLATFORM_LIMITS` for its platform: first the signature is dropped,
  then whole sentences from the end, and only a single sentence longer than the limit is cut at
  a word, with an ellipsis.

Template variables (`TEMPLATE_VARIABLES`):

``author``          the author as shown, without ``@`` or ``u/`` (so a draft never pings anyone);
                    "there" when there is no usable name ("", "[deleted]").
``first_name``      the name to greet: "Maria" for "Maria Lopez", "Dr. Smith" for "Dr. Jane
                    Smith"; "there" for handles ("@danashop", "u/ben_builds", "priya_k") and for
                    missing names, so "Hi {{ first_name }}," always reads well.
``greeting``        the opening: "Hi Maria," or, for a late draft, "Sorry for the slow reply,
                    Maria —" ("Sorry for the slow reply —" without a name).
``late``            True while rendering `Suggestion.late_draft`.
``platform``        the connector type, lower case: "x", "reddit", "feed"…
``platform_name``   the platform for people: "X", "Reddit", "the blog"…
``private_channel`` how to reach the owner privately there: "send us a DM" on X, "send us a
                    private message" on Reddit, "email us" on a blog.
``limit``           the platform's reply length limit, in characters.
``owner``           the owner's name.
``signature``       the sign-off: "— {owner}" by default, "" when the owner set none, or when it
                    was dropped to fit the length limit.
``topic``           a few words from the comment, in the author's terms ("our oat-milk cold
                    brew", "your order"), with "my" turned into "your" and "your" into "our";
                    no links, no @mentions; "" when nothing suitable was found.
``quote``           the comment itself on one line, without links and @mentions, cut to 100
                    characters: data, echoed as written ("{{ 7*7 }}" stays "{{ 7*7 }}").
``faq_keyword``     the ``suggest.faq`` keyword found in the comment, or "".
``faq_answer``      its answer, or "".
``invite``          True when the item is praise with clearly positive sentiment: the only case
                    in which a draft may ask for a recommendation.
``intent``          the intent's name: "question", "problem"…
``sentiment``       the VADER compound score, -1..1.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, meta
from jinja2.sandbox import SandboxedEnvironment

from monitor.intent import (
    MENTION,
    RULES,
    URL,
    Intent,
    classify_features,
    features,
    normalise,
)
from monitor.intent import own_words as _own_words
from monitor.views import printable

__all__ = [
    "DEFAULT_LIMIT",
    "DEFAULT_TEMPLATES",
    "PLATFORM_LIMITS",
    "TEMPLATE_VARIABLES",
    "Intent",
    "Suggester",
    "Suggestion",
    "classify",
    "first_name",
    "late_version",
    "sentiment",
    "topic",
]

log = logging.getLogger(__name__)


def _word_set(text: str) -> frozenset[str]:
    """The whitespace-separated words of `text`: lexicons written as prose blocks."""
    return frozenset(text.split())


@dataclass(frozen=True, slots=True)
class Suggestion:
    intent: Intent
    sentiment: float  # VADER compound, -1..1
    needs_reply: bool  # False for spam and idle chatter: suggest dismissal
    draft: str | None  # None when no reply is needed
    late_draft: str | None  # the same reply opening with an honest apology for answering late
    hint: str | None  # a short note for the owner


DEFAULT_LIMIT = 5000
PLATFORM_LIMITS: dict[str, int] = {
    "x": 280,
    "mastodon": 500,
    "discord": 2000,
    "reddit": 10000,
    "feed": DEFAULT_LIMIT,
    "wordpress": DEFAULT_LIMIT,
    "discourse": DEFAULT_LIMIT,
    "hackernews": DEFAULT_LIMIT,
    "demo": DEFAULT_LIMIT,
}

TEMPLATE_VARIABLES: frozenset[str] = frozenset(
    {
        "author",
        "first_name",
        "greeting",
        "late",
        "platform",
        "platform_name",
        "private_channel",
        "limit",
        "owner",
        "signature",
        "topic",
        "quote",
        "faq_keyword",
        "faq_answer",
        "invite",
        "intent",
        "sentiment",
    }
)

_PLATFORM_NAMES = {
    "x": "X",
    "mastodon": "Mastodon",
    "discord": "Discord",
    "reddit": "Reddit",
    "hackernews": "Hacker News",
    "discourse": "the forum",
    "feed": "the blog",
    "wordpress": "the blog",
}
_PRIVATE_CHANNELS = {
    "x": "send us a DM",
    "mastodon": "send us a direct message",
    "discord": "send us a DM",
    "reddit": "send us a private message",
    "discourse": "send us a private message",
}
_DEFAULT_PRIVATE_CHANNEL = "email us"

# Praise earns a referral invitation only above this compound score.
INVITE_THRESHOLD = 0.5

_SENTIMENT_CHARS = 2000


_BUILDING = threading.Lock()


def _analyzer() -> Any:
    # One analyser for all threads: `cache` alone lets 16 poll threads that start together
    # each build their own (~10 MB and 0.1 s each; seen as the daemon's memory after its
    # first round).
    with _BUILDING:
        return _build_analyzer()


@cache
def _build_analyzer() -> Any:
    # Imported here: building the analyser reads VADER's lexicon file, which only the first
    # suggestion should pay for.
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def sentiment(text: str) -> float:
    """VADER's compound score of `text`, -1 (hostile) .. 1 (delighted).

    >>> sentiment("I love it!") > 0.5
    True
    """
    return float(_analyzer().polarity_scores(text[:_SENTIMENT_CHARS])["compound"])


def classify(text: str) -> tuple[Intent, float]:
    """The intent of a comment and its VADER compound sentiment. Pure.

    >>> classify("Why hasn't my order arrived yet?")[0]
    <Intent.PROBLEM: 'problem'>
    >>> classify("Love the new cold brew! Is it vegan?")[0]
    <Intent.QUESTION: 'question'>
    """
    compound = sentiment(text)
    return classify_features(features(text, compound)), compound


# -- idle chatter ----------------------------------------------------------------------------

_WORD = re.compile(r"[^\W\d_][\w'’-]*")
_CHATTER = re.compile(
    r"^(?:(?:lol|lmao|lmfao|rofl|haha\w*|hehe\w*|omg|wow|same|this|first|bump|\+1|ok|okay|k|"
    r"yes|yep|yeah|nope|no|nice|cool|following|me too|mood|facts|true|so true|real|this is "
    r"me|tag|tagging|zzat|and)\b[\s!.?,]*)+$"
)
# Talking to the other readers, or to a bot: nothing for the owner to answer.
_NOT_FOR_THE_OWNER = ("rule:to_the_crowd", "rule:bot_instructions")


def _is_chatter(text: str) -> bool:
    """An *other* item with nothing to answer: a laugh, "following", a question to the crowd,
    a prank aimed at a bot, a few words, or friends tagging each other."""
    norm = normalise(text)
    if _CHATTER.match(norm):
        return True
    if any(rule.search(norm) for name, rule in RULES.items() if name in _NOT_FOR_THE_OWNER):
        return True
    stripped = norm.replace("zzurl", " ").replace("zzat", " ").replace("zzimg", " ")
    if len(_WORD.findall(stripped)) <= 4:
        return True
    return norm.count("zzat") * 3 >= len(norm.split())


# -- names -----------------------------------------------------------------------------------

_NAME_WORD = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*$")
_TITLES = {"dr", "mr", "mrs", "ms", "mx", "miss", "prof", "sir", "dame", "rev", "fr"}
_NOT_NAMES = {
    "deleted",
    "removed",
    "anonymous",
    "anon",
    "unknown",
    "guest",
    "admin",
    "administrator",
    "user",
    "customer",
    "moderator",
    "mod",
    "bot",
    "none",
    "null",
    "someone",
    "somebody",
    "visitor",
    "reader",
    "team",
    "support",
    "official",
    "the",
    "a",
    "an",
    "my",
    "our",
    "your",
    "hi",
    "hello",
    "hey",
    "there",
    "shop",
    "store",
    "cafe",
    "bakery",
    "company",
    "inc",
    "ltd",
    "llc",
    "news",
    "info",
    "sales",
    "service",
    "services",
}


@lru_cache(maxsize=4096)
def first_name(author: str) -> str:
    """The name to greet an author by, or "" when the author shown is a handle or no name.

    >>> first_name("Maria Lopez"), first_name("@danashop"), first_name("priya_k")
    ('Maria', '', '')
    >>> first_name("Dr. Jane Smith"), first_name("JOSÉ GARCÍA"), first_name("[deleted]")
    ('Dr. Smith', 'José', '')
    """
    shown = printable(author).strip()
    if not shown or shown[0] in "@[(<#" or re.search(r"[_@/\\\[\]{}<>|#:\d]", shown):
        return ""
    words = shown.split()
    if len(words) > 1 and words[0].lower().rstrip(".") in _TITLES:
        last = words[-1]
        if _looks_like_name(last, single=False):
            return f"{words[0].rstrip('.').capitalize()}. {_cased(last)}"
        return ""
    first = words[0].rstrip(",")
    if not _looks_like_name(first, single=len(words) == 1):
        return ""
    return _cased(first)


def _looks_like_name(word: str, *, single: bool) -> bool:
    if not 2 <= len(word) <= 20 or not _NAME_WORD.match(word):
        return False
    if word.lower() in _NOT_NAMES or word.lower().endswith(("'s", "’s")):
        return False
    if not (word[0].isupper() or not word[0].islower()):  # lower case: a handle, unless uncased
        return False
    if single:
        # One word alone: a name only if written like one ("Maria", not "DANASHOP" or "DanaShop").
        return not (word.isupper() and len(word) > 1) and not any(c.isupper() for c in word[1:])
    return True


def _cased(word: str) -> str:
    return word.capitalize() if word.isupper() else word


def _author_shown(author: str) -> str:
    shown = printable(author).strip()
    shown = re.sub(r"^/?u/", "", shown)
    shown = re.sub(r"[@{}<>\[\]]", "", shown).strip()
    if not shown or shown.lower() in _NOT_NAMES or not re.search(r"[^\W_]", shown):
        return "there"
    return shown[:40].rstrip()


# -- topic -----------------------------------------------------------------------------------

_TOPIC_TOKEN = re.compile(r"[^\W_][\w'’&-]*|[^\w\s]")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")
# Determiners that open a topic, and how the reply says them: "my order" → "your order",
# "your cold brew" → "our cold brew".
_DETERMINERS = {
    "the": "the",
    "this": "the",
    "that": "the",
    "these": "the",
    "those": "the",
    "your": "our",
    "ur": "our",
    "my": "your",
    "our": "your",
    "a": "a",
    "an": "an",
    "any": "",
    "some": "",
}
_STOP = _word_set(
    """
    a an the this that these those my your our their his her its it it's i i'm i've i'd you you're
    we we're they he she me us them him is are was were be been being am has have had do does did
    done will would can could should shall may might must not no never n't and or but so because
    if when while since until though although as than like to for of in on at by with from about
    into over after before via without within per up down out off again just still also even ever
    always already only very really too quite pretty so much many more most less least all any
    some every each both either neither there here where when what which who whom whose why how
    today yesterday tomorrow tonight now then soon later ago last next
    actually honestly literally totally absolutely definitely probably usually basically
    arrived came come comes got get gets getting go goes going went look looks looked looking
    taste tastes tasted smell smells feel feels felt seem seems seemed sound sounds work works
    worked working broke break breaks make makes made take takes took give gives gave keep keeps
    kept used using try tried trying want wants wanted need needs needed love loved loves like
    likes liked hate hated say says said think thought know knew see saw buy bought ordered
    ordering shipped shipping delivered received receive sent send opened closed yet please
    thanks thank thx hi hello hey guys folks everyone lol omg wow ok okay yes
    sits sit tells tell reads read means mean runs run shows show lets let helps help costs cost
    lasts last holds hold fits fit hits calls sounds stays stay starts start stops stop leaves
    knows thinks sync syncs support supports compare compares cover covers carry carries handle
    handles apply applies include includes allow allows accept accepts offer offers ship ships
    deliver delivers phone phones turned turn turns became become gone
    outside inside near around across behind beside between under above below through during
    including except instead afterwards beforehand anyway either
    zzurl zzat
    """
)
# Words that never make a topic on their own ("thanks for asking about the one").
_GENERIC = _word_set(
    """
    one ones thing things stuff lot lots bit way kind sort type point end rest same other others
    guys money time times life mind feed timeline day days week weeks month months year years
    morning evening night weekend kid kids people person everyone everything something anything
    """
)
# "-ly" words are adverbs ("silently", "honestly") and end a phrase, except these.
_LY_NOUNS = _word_set(
    "weekly daily monthly yearly quarterly hourly nightly early family jelly belly lily supply "
    "reply assembly curly holy rally ally italy july"
)
_ORDINAL = re.compile(r"^\d+(?:st|nd|rd|th|am|pm)?$|^\d[\d.,:/%-]*$")
_TRAILING_QUALIFIER = ("-free", "-friendly", "-safe", "-proof", "-only")
_TOPIC_MAX_WORDS = 4
_TOPIC_MAX_CHARS = 40
_STRONG_VALENCE = 2.0  # a word this charged ends a phrase: "the coffee" of "the coffee amazing"
# Which of the reply determiners an intent prefers, best first. Praise and problems are about a
# definite thing ("our cold brew", "your order"), never "a kid".
# Among equals the earliest mention wins.
_DEFINITE = {"the": 0, "your": 0, "our": 0}
_PREFER: dict[Intent, dict[str, int]] = {
    Intent.PROBLEM: _DEFINITE,
    Intent.PRAISE: _DEFINITE,
    Intent.FEEDBACK: _DEFINITE,
    Intent.OTHER: _DEFINITE,
    Intent.QUESTION: {**_DEFINITE, "": 0, "a": 1, "an": 1},
    Intent.PURCHASE: {**_DEFINITE, "": 0, "a": 1, "an": 1},
}


def topic(text: str, intent: Intent = Intent.OTHER) -> str:
    """A few words of `text` naming what it is about, safe to echo in a reply; "" if none.

    Determiners are turned round for the reply ("my order" → "your order", "your cold brew"
    → "our cold brew"). For a question only the sentences that ask (and the one before
    each) are searched. Links,
    @mentions, dates, quoted lines and strongly charged words are left out.

    >>> topic("I love your oat-milk cold brew!", Intent.PRAISE)
    'our oat-milk cold brew'
    >>> topic("Do you have any vegan options?", Intent.QUESTION)
    'vegan options'
    >>> topic("What temperature do you proof at? My kitchen is cold.", Intent.QUESTION)
    ''
    """
    flat = printable(_own_words(text))
    if "." in flat:
        flat = URL.sub(" . ", flat)
    if "@" in flat or "u/" in flat:
        flat = MENTION.sub(" . ", flat)
    sentences = _SENTENCE.findall(flat)
    if intent in (Intent.QUESTION, Intent.PURCHASE):
        # The sentence that asks, or the one just before it ("Love the cold brew! Is it vegan?").
        asking = [i for i, s in enumerate(sentences) if s.rstrip().endswith("?")]
        if asking:
            near = sorted({j for i in asking for j in (i - 1, i) if j >= 0})
            sentences = [sentences[j] for j in near]
    preferred = _PREFER.get(intent, _PREFER[Intent.OTHER])
    lexicon = _valence()
    best: tuple[int, str] | None = None  # (rank of the determiner, topic)
    for sentence in sentences:
        tokens = _TOPIC_TOKEN.findall(sentence)
        lowers = [token.lower().replace("’", "'") for token in tokens]
        for i, lower in enumerate(lowers):
            if lower in _DETERMINERS:
                said = _DETERMINERS[lower]
            elif lower == "about" and i + 1 < len(tokens):
                said = ""
            else:
                continue
            if said not in preferred:
                continue
            phrase = _phrase_after(tokens, lowers, i + 1, lexicon)
            rank = preferred[said]
            if phrase and (best is None or rank < best[0]):
                best = (rank, f"{said} {phrase}".strip())
    return best[1] if best else ""


def _phrase_after(
    tokens: list[str], lowers: list[str], start: int, lexicon: Mapping[str, float]
) -> str:
    words: list[str] = []
    for token, lower in zip(tokens[start : start + 8], lowers[start : start + 8], strict=True):
        if not token[0].isalnum() or lower in _STOP or lower in _DETERMINERS:
            break
        if lower.endswith("ly") and len(lower) > 4 and lower not in _LY_NOUNS:
            break
        valence = lexicon.get(lower)
        if valence is not None and not words:
            continue  # a leading "amazing", "broken": the thing itself follows
        if words and (
            (valence is not None and abs(valence) > _STRONG_VALENCE)
            or (lower.endswith(("ed", "ing")) and len(lower) > 5)
            or lower.endswith(_TRAILING_QUALIFIER)
        ):
            break
        words.append(token)
        if len(words) == _TOPIC_MAX_WORDS:
            break
    while words and words[-1].lower().endswith(("'s", "’s")):
        words.pop()  # "your mum's" without what of hers
    if not words or all(w.lower() in _GENERIC or _ORDINAL.match(w.lower()) for w in words):
        return ""
    phrase = " ".join(words)
    if phrase.isupper() and len(phrase) > 3:
        phrase = phrase.lower()
    while len(phrase) > _TOPIC_MAX_CHARS and " " in phrase:
        phrase = phrase.rsplit(" ", 1)[0]
    return phrase if len(phrase) <= _TOPIC_MAX_CHARS else ""


@cache
def _valence() -> Mapping[str, float]:
    return _analyzer().lexicon  # type: ignore[no-any-return]


# -- drafts ----------------------------------------------------------------------------------

# Essential content comes first in every template: trimming to a platform's limit drops whole
# sentences from the end, so the pleasantries go before the answer or the next step does.
DEFAULT_TEMPLATES: dict[Intent, str] = {
    Intent.QUESTION: (
        "{{ greeting }} thanks for asking{% if topic %} about {{ topic }}{% endif %}. "
        "{% if faq_answer %}{{ faq_answer }}"
        "{% else %}{{ owner }} here: I'm checking and will get back to you with a proper answer "
        "{% if late %}as soon as I can{% else %}later today{% endif %}.{% endif %}"
        "\n{{ signature }}"
    ),
    Intent.PROBLEM: (
        "{{ greeting }} {% if late %}and {% endif %}I'm sorry "
        "{% if topic %}about {{ topic }}{% else %}about this{% endif %}. "
        "Please {{ private_channel }} with the details (and your order number if there is one) "
        "and I'll put it right personally. Thank you for telling us, and for your patience."
        "\n{{ signature }}"
    ),
    Intent.PRAISE: (
        "{{ greeting }} thank you so much{% if topic %} for the kind words about "
        "{{ topic }}{% endif %}! It really made our day."
        "{% if invite %} If you know someone who'd enjoy it too, we'd be grateful if you "
        "recommended us.{% endif %}"
        "\n{{ signature }}"
    ),
    Intent.PURCHASE: (
        "{{ greeting }} thanks for your interest{% if topic %} in {{ topic }}{% endif %}! "
        "{% if faq_answer %}{{ faq_answer }} {% endif %}"
        "The easiest next step is to {{ private_channel }} and I'll help you with the details, "
        "no rush at all."
        "\n{{ signature }}"
    ),
    Intent.FEEDBACK: (
        "{{ greeting }} thank you for the feedback{% if topic %} on {{ topic }}{% endif %}. "
        "I've noted it and we'll see what we can do; it's genuinely useful."
        "\n{{ signature }}"
    ),
    Intent.OTHER: (
        "{{ greeting }} thanks for the comment{% if topic %} about {{ topic }}{% endif %}!"
        "\n{{ signature }}"
    ),
}

# What a custom template is test-rendered with when it is compiled: a full set and an empty one,
# so that a template failing on a missing topic or answer fails at start-up, not on an item.
_SAMPLES: tuple[dict[str, Any], ...] = (
    {
        "author": "Maria Lopez",
        "first_name": "Maria",
        "greeting": "Hi Maria,",
        "late": False,
        "platform": "x",
        "platform_name": "X",
        "private_channel": "send us a DM",
        "limit": 280,
        "owner": "Dana",
        "signature": "— Dana",
        "topic": "our cold brew",
        "quote": "I love your cold brew!",
        "faq_keyword": "hours",
        "faq_answer": "We're open 8-6 every day.",
        "invite": True,
        "intent": "praise",
        "sentiment": 0.8,
    },
    {
        "author": "there",
        "first_name": "there",
        "greeting": "Sorry for the slow reply —",
        "late": True,
        "platform": "feed",
        "platform_name": "the blog",
        "private_channel": "email us",
        "limit": DEFAULT_LIMIT,
        "owner": "Dana",
        "signature": "",
        "topic": "",
        "quote": "",
        "faq_keyword": "",
        "faq_answer": "",
        "invite": False,
        "intent": "other",
        "sentiment": 0.0,
    },
)

_APOLOGY = "Sorry for the slow reply."
_CHATTER_HINT = "Idle chatter, nothing to answer: dismiss it (or reply if you like)."
_APOLOGISES = re.compile(r"\b(?:sorry|apologi[sz]e|apologies)\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+|\n+")
_BLANKS = re.compile(r"[ \t]+")
_SPACE_BEFORE_PUNCT = re.compile(r" +([,.!?;:])")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_QUOTE_CHARS = 100


class Suggester:
    """Intent, sentiment and reply drafts for one owner's items.

    >>> s = Suggester(owner_name="Dana", faq={"opening hours": "We're open 8-6 every day."})
    >>> reply = s.suggest(text="What are your opening hours?", author="Maria Lopez",
    ...                   platform="x")
    >>> print(reply.draft)
    Hi Maria, thanks for asking about our opening hours. We're open 8-6 every day.
    — Dana
    >>> reply.hint
    "Matched FAQ 'opening hours'."
    """

    def __init__(
        self,
        *,
        owner_name: str,
        signature: str | None = None,
        templates: Mapping[str, str] | None = None,
        faq: Mapping[str, str] | None = None,
    ) -> None:
        owner = printable(owner_name).strip()
        if not owner:
            raise ValueError("owner_name is empty: drafts are signed with the owner's name")
        self._owner = owner
        self._signature = f"— {owner}" if signature is None else signature.strip()
        # Plain text out (no autoescape); a missing name is an error, not an empty string; no
        # globals, so a template can reach nothing but TEMPLATE_VARIABLES and the filters.
        self._env = SandboxedEnvironment(autoescape=False, undefined=StrictUndefined)
        self._env.globals.clear()
        self._defaults = {i: self._env.from_string(s) for i, s in DEFAULT_TEMPLATES.items()}
        self._templates = dict(self._defaults)
        self._quoting: set[Intent] = set()  # intents whose template uses `quote`
        for key, source in (templates or {}).items():
            intent = _template_intent(key)
            self._templates[intent] = self._compile(intent, source)
            if "quote" in source:
                self._quoting.add(intent)
        self._faq: dict[str, tuple[str, str]] = {}  # lower-case keyword -> (keyword, answer)
        for keyword, answer in (faq or {}).items():
            if keyword.strip() and printable(answer).strip():
                self._faq[keyword.strip().lower()] = (keyword.strip(), printable(answer).strip())
        self._faq_pattern = _faq_pattern(list(self._faq))

    def _compile(self, intent: Intent, source: str) -> Any:
        where = f"suggest.templates.{intent}"
        try:
            names = meta.find_undeclared_variables(self._env.parse(source))
        except TemplateError as error:
            raise ValueError(
                f"{where}: the template does not compile: {_jinja_error(error)}"
            ) from None
        if unknown := names - TEMPLATE_VARIABLES:
            raise ValueError(
                f"{where}: unknown variable(s) {', '.join(sorted(unknown))}; a template may use "
                f"{', '.join(sorted(TEMPLATE_VARIABLES))}"
            )
        compiled = self._env.from_string(source)
        for sample in _SAMPLES:
            try:
                compiled.render(sample)
            except Exception as error:  # any failure at all: the owner must hear of it now
                raise ValueError(
                    f"{where}: the template fails when rendered: {_jinja_error(error)}"
                ) from None
        return compiled

    def suggest(self, *, text: str, author: str, platform: str) -> Suggestion:
        """The intent, sentiment, whether to reply, and drafts for one item."""
        compound = sentiment(text)
        intent = classify_features(features(text, compound))
        if intent is Intent.SPAM:
            return Suggestion(intent, compound, False, None, None, "Looks like spam: dismiss it.")
        if intent is Intent.OTHER and _is_chatter(text):
            return Suggestion(intent, compound, False, None, None, _CHATTER_HINT)

        platform = platform.strip().lower()
        limit = PLATFORM_LIMITS.get(platform, DEFAULT_LIMIT)
        name = first_name(author)
        faq_keyword, faq_answer = "", ""
        if intent in (Intent.QUESTION, Intent.PURCHASE):
            faq_keyword, faq_answer = self._faq_match(text)
        values: dict[str, Any] = {
            "author": _author_shown(author),
            "first_name": name or "there",
            "greeting": f"Hi {name or 'there'},",
            "late": False,
            "platform": platform,
            "platform_name": _PLATFORM_NAMES.get(platform, platform or "the site"),
            "private_channel": _PRIVATE_CHANNELS.get(platform, _DEFAULT_PRIVATE_CHANNEL),
            "limit": limit,
            "owner": self._owner,
            "signature": self._signature,
            "topic": _safe_topic(topic(text, intent), intent),
            "quote": _quote(text) if intent in self._quoting else "",
            "faq_keyword": faq_keyword,
            "faq_answer": faq_answer,
            "invite": intent is Intent.PRAISE and compound >= INVITE_THRESHOLD,
            "intent": intent.value,
            "sentiment": compound,
        }
        draft, failed = self._render(intent, values, limit)
        late_greeting = (
            f"Sorry for the slow reply, {name} —" if name else "Sorry for the slow reply —"
        )
        late_draft, _ = self._render(
            intent, {**values, "late": True, "greeting": late_greeting}, limit
        )
        # A custom template that ignores `late`: the apology still comes first.
        late_draft = late_version(late_draft, limit)
        hint = _hint(intent, faq_keyword, failed)
        return Suggestion(intent, compound, True, draft, late_draft, hint)

    def _faq_match(self, text: str) -> tuple[str, str]:
        """The longest configured keyword found in `text` (plurals included), and its answer."""
        if self._faq_pattern is None:
            return "", ""
        found = [m.group(1) for m in self._faq_pattern.finditer(text.lower())]
        return self._faq[max(found, key=len)] if found else ("", "")

    def _render(self, intent: Intent, values: Mapping[str, Any], limit: int) -> tuple[str, bool]:
        """The fitted draft, and whether the owner's template failed and the default stood in."""
        try:
            return _render_fitted(self._templates[intent], values, limit), False
        except Exception:  # checked at start-up, but a template can still fail on one item
            log.warning(
                "suggest.templates.%s failed; using the default draft", intent, exc_info=True
            )
            return _render_fitted(self._defaults[intent], values, limit), True


def late_version(draft: str, limit: int) -> str:
    """`draft` as it must read once the deadline has passed: opening with an apology.

    A draft that already opens with one is kept as it is; any other (an LLM's, a custom
    template's) gets "Sorry for the slow reply." in front, shortened to fit `limit` if need be.

    >>> late_version("Hi Maria, thanks!", 280)
    'Sorry for the slow reply. Hi Maria, thanks!'
    """
    if _APOLOGISES.search(draft.split("\n", 1)[0][:80]):
        return draft
    return _fit(f"{_APOLOGY} {draft}", limit)


def _template_intent(key: str) -> Intent:
    try:
        intent = Intent(key.strip().lower())
    except ValueError:
        known = ", ".join(DEFAULT_TEMPLATES)
        raise ValueError(
            f"suggest.templates.{key}: unknown intent {key!r}; templates exist for {known}"
        ) from None
    if intent is Intent.SPAM:
        raise ValueError("suggest.templates.spam: spam never gets a draft, so it takes no template")
    return intent


def _jinja_error(error: Exception) -> str:
    line = getattr(error, "lineno", None)
    return f"{error} (line {line})" if line else str(error) or type(error).__name__


def _hint(intent: Intent, faq_keyword: str, failed: bool) -> str | None:
    notes = []
    if faq_keyword:
        notes.append(f"Matched FAQ '{faq_keyword}'.")
    elif intent is Intent.QUESTION:
        notes.append("A question: add the answer before sending (or a suggest.faq entry).")
    if intent is Intent.PROBLEM:
        notes.append("An unhappy customer: take it to a private channel quickly.")
    elif intent is Intent.OTHER:
        notes.append("Nothing specific to answer: a short thanks, or dismiss it.")
    if failed:
        notes.append(f"Your suggest.templates.{intent} failed on this item; this is the default.")
    return " ".join(notes) or None


# A reply to anyone but a delighted customer never talks sales or referrals, not even when
# echoing their words ("sorry about the discount code" reads like a pitch): such a topic goes.
_SALES_WORDS = re.compile(
    r"\b(?:discount|sale|sales|promo|coupon|offer|deal|deals|voucher|recommend\w*|referr?al|"
    r"friends?|upgrade|cheap|price|prices|pricing)\b",
    re.IGNORECASE,
)


def _safe_topic(found: str, intent: Intent) -> str:
    if intent is not Intent.PRAISE and intent is not Intent.PURCHASE and _SALES_WORDS.search(found):
        return ""
    return found


def _quote(text: str) -> str:
    """The comment on one line, without links and @mentions, cut at a word: data, never code."""
    flat = " ".join(MENTION.sub(" ", URL.sub(" ", printable(text))).split())
    if len(flat) <= _QUOTE_CHARS:
        return flat
    return flat[: _QUOTE_CHARS - 1].rsplit(" ", 1)[0] + "…"


def _faq_pattern(keywords: list[str]) -> re.Pattern[str] | None:
    if not keywords:
        return None
    alternatives = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?<!\w)({alternatives})(?:s|es)?(?!\w)")


def _render_fitted(template: Any, values: Mapping[str, Any], limit: int) -> str:
    """The rendered draft within `limit`: without the signature first, then shortened."""
    text = _tidy(template.render(values))
    if len(text) <= limit:
        return text
    if values["signature"]:
        text = _tidy(template.render({**values, "signature": ""}))
    return _fit(text, limit)


def _tidy(text: str) -> str:
    """Single spaces, no space before punctuation, no blank runs: templates with optional
    parts leave such gaps."""
    if "  " in text or " \n" in text or "\n " in text or "\n\n\n" in text or "\t" in text:
        lines = [_BLANKS.sub(" ", line).strip() for line in text.split("\n")]
        text = _MANY_NEWLINES.sub("\n\n", "\n".join(lines))
    if " ," in text or " ." in text or " !" in text or " ?" in text or " ;" in text or " :" in text:
        text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return text.strip()


def _fit(text: str, limit: int) -> str:
    """`text` within `limit` characters: whole sentences from the start, else cut at a word.

    >>> _fit("One. Two is longer. Three.", 20)
    'One. Two is longer.'
    >>> _fit("A single sentence that is far too long", 20)
    'A single sentence…'
    """
    if len(text) <= limit:
        return text
    kept = ""
    for end in [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)]:
        if end > limit:
            break
        kept = text[:end]
    if kept.strip():
        return kept.strip()
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:—-") + "…"
