"""Train the intent lexicon (monitor/intent_lexicon.json) from the labelled comments.

    python tools/train_intent.py [--data tests/data/intent] [--out monitor/intent_lexicon.json]
                                 [--check-only]

Reads every ``*.jsonl`` under --data (one comment a line: id, writer, platform, author, text,
intent, business) except the held-out files named in HOLDOUT, which are never trained on, and:

1. prints leave-one-writer-out accuracy: for each writer, a lexicon trained on the *other*
   writers' comments only, measured on that writer's. This is the honest figure for how the
   lexicon reads comments written by someone else, and the one the settings below were chosen by;
2. trains on every training writer and writes the lexicon (deterministic: same data, same file).

The model is a multinomial logistic regression over the binary features of
`monitor.intent.features`, fitted with AdaGrad and an L2 penalty; features seen in fewer than
MIN_COUNT comments are left out, and weights are rounded to 3 decimals, so the file stays small
and every weight can be read and explained.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from monitor.intent import LEXICON_FILE, Intent, Lexicon, features  # noqa: E402
from monitor.suggest import sentiment  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "intent"
DEFAULT_OUT = ROOT / "monitor" / LEXICON_FILE
# Written by writers whose comments must stay unseen: bench/suggest_eval.py measures on them.
HOLDOUT = frozenset({"holdout.jsonl"})

EPOCHS = 50
LEARNING_RATE = 0.05
L2 = 1e-4
MIN_COUNT = 1
# A feature whose weights all stay this close to zero decides nothing: left out of the file.
PRUNE = 0.05
SEED = 20261124
INTENTS = tuple(Intent)


def load(folder: Path, *, holdout: bool = False) -> list[dict]:
    rows: list[dict] = []
    for path in sorted(folder.glob("*.jsonl")):
        if (path.name in HOLDOUT) != holdout:
            continue
        with path.open(encoding="utf-8") as lines:
            rows.extend(json.loads(line) for line in lines if line.strip())
    return rows


def featurise(rows: list[dict]) -> list[tuple[frozenset[str], int]]:
    return [
        (frozenset(features(row["text"], sentiment(row["text"]))), INTENTS.index(row["intent"]))
        for row in rows
    ]


def fingerprint(rows: list[dict]) -> str:
    """A hash of the training comments and labels: the lexicon records the data it came from."""
    digest = hashlib.sha256()
    for row in sorted(rows, key=lambda row: row["id"]):
        digest.update(json.dumps([row["id"], row["text"], row["intent"]]).encode())
    return digest.hexdigest()


def train(examples: list[tuple[frozenset[str], int]]) -> Lexicon:
    """A lexicon fitted to `examples` (features, index of the intent)."""
    counts = Counter(feature for found, _ in examples for feature in found)
    kept = {feature for feature, count in counts.items() if count >= MIN_COUNT}
    data = [(sorted(found & kept), label) for found, label in examples]
    classes = len(INTENTS)
    weights: dict[str, list[float]] = defaultdict(lambda: [0.0] * classes)
    squares: dict[str, list[float]] = defaultdict(lambda: [1e-8] * classes)
    order = list(range(len(data)))
    shuffle = random.Random(SEED).shuffle
    for _ in range(EPOCHS):
        shuffle(order)
        for index in order:
            found, label = data[index]
            rows = [weights[feature] for feature in found]
            totals = [sum(row[c] for row in rows) for c in range(classes)]
            top = max(totals)
            exps = [math.exp(total - top) for total in totals]
            norm = sum(exps)
            errors = [exps[c] / norm - (c == label) for c in range(classes)]
            for feature, row in zip(found, rows, strict=True):
                square = squares[feature]
                for c in range(classes):
                    gradient = errors[c] + L2 * row[c]
                    square[c] += gradient * gradient
                    row[c] -= LEARNING_RATE * gradient / math.sqrt(square[c])
    rounded = {
        feature: tuple(round(weight, 3) for weight in row)
        for feature, row in weights.items()
        if feature == "$bias" or any(abs(weight) >= PRUNE for weight in row)
    }
    about = {
        "trained_on": len(examples),
        "features": len(rounded),
        "method": "multinomial logistic regression (AdaGrad, L2) by tools/train_intent.py",
    }
    return Lexicon(INTENTS, rounded, about)


def accuracy(model: Lexicon, examples: list[tuple[frozenset[str], int]]) -> float:
    from monitor.intent import classify_features

    right = sum(classify_features(found, model) is INTENTS[label] for found, label in examples)
    return right / len(examples) if examples else float("nan")


def dump(model: Lexicon) -> str:
    """The lexicon as JSON with one feature a line, so a retrain shows as a readable diff."""
    data = model.to_json()
    head = {key: value for key, value in data.items() if key != "weights"}
    lines = [
        f"{json.dumps(feature, ensure_ascii=False)}:{json.dumps(row, separators=(',', ':'))}"
        for feature, row in data["weights"].items()
    ]
    return (
        json.dumps(head, ensure_ascii=False)[:-1]
        + ', "weights": {\n'
        + ",\n".join(lines)
        + "\n}}\n"
    )


def cross_validate(examples: dict[str, list[tuple[frozenset[str], int]]]) -> float:
    """Leave-one-writer-out accuracy, printed per writer; returns the overall figure."""
    print("leave-one-writer-out accuracy (trained on the others, measured on this writer):")
    right = total = 0
    for writer in sorted(examples):
        others = [example for name, part in examples.items() if name != writer for example in part]
        score = accuracy(train(others), examples[writer])
        right += round(score * len(examples[writer]))
        total += len(examples[writer])
        print(f"  {writer:10} {score:6.1%}  ({len(examples[writer])} comments)")
    print(f"  {'all':10} {right / total:6.1%}")
    return right / total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--check-only", action="store_true", help="print the figures only")
    parser.add_argument("--skip-cv", action="store_true", help="write the lexicon only")
    args = parser.parse_args()

    rows = load(args.data)
    if not rows:
        print(f"no labelled comments under {args.data}", file=sys.stderr)
        return 2
    by_writer: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        by_writer[row["writer"]].append(row)
    examples = {writer: featurise(items) for writer, items in by_writer.items()}

    print(f"{len(rows)} comments by {len(by_writer)} writers")
    if not args.skip_cv:
        cross_validate(examples)
    if args.check_only:
        return 0
    model = train([example for part in examples.values() for example in part])
    model.about["data_sha256"] = fingerprint(rows)
    model.about["writers"] = sorted(by_writer)
    args.out.write_text(dump(model), "utf-8")
    print(f"wrote {args.out} ({model.about['features']} features)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
