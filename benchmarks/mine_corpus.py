"""A deterministic corpus for `cleaner mine`: 20 fictitious publishers, each with its own noise.

    python benchmarks/mine_corpus.py --per-publisher 500 --run         # generate, mine in-process, score
    python benchmarks/mine_corpus.py --per-publisher 4369 --out /tmp/big.txt    # 221 MB + its truth
    /usr/bin/time -v cleaner mine /tmp/big.txt --doc-sep '\f' -o /tmp/big.toml --report
    python benchmarks/mine_corpus.py --out /tmp/big.txt --score /tmp/big.toml    # score the mined file

Every publisher injects boilerplate of its own (whole lines at the head and between paragraphs,
a run of footer lines at the end, a sentence glued to the start of the first paragraph and one
glued to the end of the last), each with its own probability; numbers in some of it vary. None of
it is in the shipped rule library (`check_corpus` asserts that). Around it:

- article prose from templates and word lists (one paragraph per line), varied enough that
  sentences and headlines do not repeat by chance (every template has well over 10^5 fillings
  once numbers are folded);
- noise the shipped library already removes ("Advertisement", ...): mining must not propose it;
- articles syndicated to several publishers (the same paragraphs in 3-6 documents): not noise;
- a long official statement quoted in many different articles: a very long line, not noise.

`generate()` returns the documents with the truth (injected phrases per document and the
expected clean text); `evaluate()` scores a mining result against it: recall of injected
phrases, share of candidates that are real content, and the round trip (cleaning with the
mined rules gives back the expected clean documents). The file form separates documents with a
form-feed line (`--doc-sep '\\f'`) and writes the truth as JSON beside it.

All prose and noise wording here is invented for this generator.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# --- prose ---------------------------------------------------------------------------------

FIRST_NAMES = ["Adaeze", "Bram", "Catrin", "Dmitri", "Elspeth", "Farid", "Greta", "Hamish", "Ilse", "Jarrah",
               "Keziah", "Lorcan", "Mireille", "Nikhil", "Oona", "Pieter", "Quilla", "Rosalind", "Soren",
               "Tamsin", "Ulrich", "Verity", "Wendell", "Xanthe", "Yorick", "Zinnia", "Anselm", "Beatrix",
               "Cosmo", "Delphine", "Ewan", "Fenella", "Gideon", "Honor", "Ivo", "Juno", "Kit", "Leopold",
               "Marisol", "Niamh"]
SURNAMES = ["Ashdown", "Birtwistle", "Carraway", "Dunmore", "Elphick", "Fairbairn", "Gorringe", "Hollis",
            "Inchbald", "Jellicoe", "Kettering", "Lasenby", "Mottram", "Nettleship", "Orchard", "Pennycook",
            "Quennell", "Rudge", "Sowerby", "Treharne", "Underhill", "Vokins", "Wetherall", "Yeoman",
            "Abernethy", "Blaxland", "Cheverton", "Dimmock", "Easterby", "Fothergill", "Gammage",
            "Hebblethwaite", "Illingworth", "Jolliffe", "Kitching", "Loveridge", "Maidment", "Nuttall"]
TOWN_HEADS = ["Ash", "Bram", "Cold", "Dun", "Elm", "Fern", "Glen", "Hart", "Ivy", "Kings", "Long", "Marl",
              "Nor", "Oak", "Pen", "Red", "Salt", "Thorn", "Wick", "Wool", "Yar", "Brack", "Chal", "Hol"]
TOWN_TAILS = ["bury", "ford", "ley", "mouth", "stead", "wick", "combe", "thorpe", "well", "field", "hurst",
              "minster", "by", "den", "ham", "ton", "water", "bridge"]
ROLES = ["a parish councillor", "the county treasurer", "a retired engineer", "the harbour master",
         "a primary school head", "the chair of the residents' group", "a local pharmacist",
         "the planning officer", "a bus driver", "the district auditor", "a farm manager",
         "the library volunteer coordinator", "a dairy owner", "the fire station manager",
         "a youth football coach", "the cathedral architect", "a ferry operator", "the court clerk",
         "a hospital porter", "the allotment society secretary", "a carpenter", "the town crier",
         "a market trader", "the museum curator", "a care home manager", "the lifeboat coxswain",
         "a postwoman", "the quarry foreman", "a beekeeper", "the sixth-form principal"]
ORG_TYPES = ["Water Board", "Rail Partnership", "Housing Trust", "Health Authority", "Harbour Commission",
             "Parish Council", "Chamber of Commerce", "Flood Partnership", "Transport Forum", "Schools Trust",
             "Farmers' Union", "Heritage Society", "Planning Committee", "Energy Cooperative",
             "Police Authority", "Tenants' Federation", "Cycling Alliance", "Canal Society",
             "Library Service", "Fire and Rescue Service"]
TOPICS = ["the bypass extension", "the flood barrier", "the school merger", "the new bus depot",
          "the harbour dredging", "the swimming pool refurbishment", "the wind farm", "the market hall lease",
          "the parking charges", "the reservoir upgrade", "the care home closure", "the cycle lane",
          "the hospital car park", "the village green dispute", "the quarry expansion", "the ferry timetable",
          "the library opening hours", "the housing estate plans", "the pier repairs", "the tram proposal",
          "the sewage outfall", "the bridge weight limit", "the festival licence", "the allotment rents",
          "the fire station move", "the river cleanup", "the broadband rollout", "the museum extension",
          "the coastal path", "the road resurfacing", "the bin collection changes", "the solar scheme",
          "the railway footbridge", "the skate park", "the orchard replanting", "the canal towpath"]
ADJECTIVES = ["ambitious", "controversial", "long-delayed", "modest", "costly", "revised", "scaled-back",
              "temporary", "permanent", "experimental", "unpopular", "widely welcomed", "much-debated",
              "underfunded", "cross-party", "three-year", "overdue", "detailed", "provisional", "phased",
              "community-led", "emergency", "draft", "final", "independent", "joint", "regional", "interim"]
VERBED = ["approved", "delayed", "rejected", "reviewed", "paused", "amended", "endorsed", "challenged",
          "shelved", "fast-tracked", "extended", "reconsidered", "scrutinised", "backed", "questioned",
          "postponed", "costed", "redesigned", "suspended", "ratified"]
REASONS = ["after months of delays", "despite objections from residents", "following a public inquiry",
           "amid rising material costs", "after a consultation drew record responses",
           "because of a shortfall in grant funding", "after engineers raised safety concerns",
           "following pressure from local businesses", "despite a petition signed by hundreds",
           "after a late change to the budget", "as the winter deadline approached",
           "after the contractor went into administration", "following heavy flooding in the spring",
           "amid questions over the tender process", "after a tied vote in committee",
           "because the land survey was incomplete", "following complaints about noise",
           "after an independent review", "despite warnings from the auditor", "amid a staffing shortage"]
VENUES = ["town hall", "community centre", "school gymnasium", "Methodist hall", "leisure centre",
          "cricket pavilion", "library annex", "fire station yard", "village hall", "corn exchange"]
DESCRIPTIONS = ["a lifeline for older residents", "a waste of public money", "long overdue",
                "the biggest change in a generation", "a sensible compromise", "rushed and poorly explained",
                "good news for young families", "a risk to the local economy", "a welcome surprise",
                "a step in the right direction", "too little, too late", "an opportunity to start again",
                "a burden on small traders", "vital for the high street", "a blow to commuters"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
          "October", "November", "December"]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]

SENTENCES = [
    "{name}, {role} in {town}, said the {adj} plan for {topic} was {verbed} on {weekday}.",
    "The {town} {org} {verbed} {topic} {reason}.",
    "Officials in {town} expect {topic} to cost about {n} million pounds, {name} said.",
    "More than {n} people attended a {adj} meeting at the {town} {venue} to discuss {topic}.",
    "{name} said the {org} had {verbed} {topic} {reason}.",
    "According to the {town} {org}, {topic} will be {verbed} by {month}.",
    "Critics of {topic} argue that {town} cannot afford {adj} spending {reason}.",
    "The {adj} proposal would affect {n} households across {town} and {town2}.",
    "{name}, who has lived in {town} for {n} years, described {topic} as {description}.",
    "Work on {topic} in {town} began in {month} under {name} and is expected to last {n} weeks.",
    "Residents of {town} have until {weekday} to respond to the {adj} consultation on {topic}.",
    "In {month}, the {town} {org} published a {adj} report on {topic}.",
    "{name} noted that {topic} had been {verbed} twice before {reason}.",
    "The vote on {topic} in {town} passed by {n} to {n2}, with {name} abstaining.",
    "Traders in {town} said {topic} would bring {adj} changes to the high street.",
    "The {town} {org} said it would set out {adj} figures on {topic} in {month}.",
    "{name} told the {venue} meeting that {topic} was {description}.",
    "A {adj} study commissioned by the {town} {org} found that {topic} was {description}.",
    "Supporters of {topic} gathered outside the {town} {venue} on {weekday} evening.",
    "The cost of {topic} has risen by {n} per cent since {month}, {name} said.",
]
TITLES = [
    "{town} {org} {verbed_title} {topic_title}",
    "{adj_title} plan for {topic} {verbed} in {town}",
    "{town} residents split over {topic} as the {org} meets on {weekday}",
    "Questions remain over {topic} as {town} {org} meets",
    "{name_title} on why {topic} matters to {town}",
]
STATEMENT = (
    "In a statement issued to every newsroom in the region, the Joint Coastal Resilience Board said: "
    "\"We recognise that the works planned for the coming years will cause real disruption to residents, "
    "to businesses and to visitors, and we are grateful for the patience shown so far. Every decision has been "
    "taken on the basis of the best engineering advice available to us, and we will continue to publish our "
    "surveys, our costs and our timetable in full so that anyone can check our progress against our promises.\""
)

# --- noise ---------------------------------------------------------------------------------

PUBLISHER_PLACES = ["Quillmarsh", "Brackenfield", "Otterwick", "Saltcombe", "Hollowmere", "Tarnbury",
                    "Wyvernhead", "Larkhaven", "Cinderford", "Mossgate", "Fallowmead", "Ravensholt",
                    "Kestrelby", "Emberton", "Gullhaven", "Thistlecombe", "Bramblewick", "Copperdale",
                    "Harrowstead", "Foxley Vale"]
PUBLISHER_KINDS = ["Ledger", "Courier", "Sentinel", "Gazette", "Tribune", "Herald", "Chronicle", "Dispatch",
                   "Observer", "Beacon", "Packet", "Record", "Examiner", "Lantern", "Clarion", "Register",
                   "Bugle", "Almanac", "Signal", "Standard"]
DESKS = ["county", "harbour", "valley", "civic", "rural", "coastal", "city", "moorland", "estuary", "hill"]
TAGLINES = ["Independent reporting for {place} and the villages", "Honest news from the {desk} since {year}",
            "{place}'s paper of record", "Reporting the {desk} without fear or favour",
            "Local journalism owned by its readers", "News, weather and tides for {place}"]

HEAD_LINES = [
    "{brand} | {tagline}",
    "Listen to this {short} story: {n} min",
    "Filed by the {brand} {desk} desk",
    "{short} Daily Brief, edition {n}",
    "Reading time {n} minutes on {short} Plus",
    "{brand} / {desk_title} bureau",
]
MIDDLE_LINES = [
    "{short} Insider: our reporters answer reader questions every {weekday}.",
    "{short} Allotment Corner: the seed swap moves to plot {n} this week.",
    "The {short} {desk} team has more on this story further down.",
    "The {brand} is funded by {n} members across {place}. Thank you.",
    "{short} Tides & Weather: tap here for today's {desk} forecast.",
    "Tonight on {short} Radio: the {desk} hour at {n} pm.",
]
TAIL_RUNS = [
    ["About the {brand}", "The {brand} is an independent newsroom serving {place} since {year}.",
     "The {brand} lighthouse fund stands at {n4} pounds this season."],
    ["{brand} {desk_title} Office", "{n} {street} Street, {place}"],
    ["Corrections and clarifications: {domain}/fixes", "The {brand} follows the {place} Press Code.",
     "Editor: {editor}", "Printed in {place} on recycled paper."],
    ["{short} Members' Club", "Members keep the {brand} independent. Join from {n} pounds a month at {domain}/club."],
    ["Produced by the {brand} {desk} team", "{short} weather station reading: {n4} millibars", "{domain}"],
    ["The {brand} Trust", "Registered charity number {n7}", "Chair of trustees: {editor}"],
]
GLUED_HEAD = [
    "{short} Morning Edition.",
    "From the {brand} {desk} desk.",
    "{place} ({short} Wire) \u2014 Exclusive to our readers.",
    "Today in the {brand}.",
    "{short} Briefing, {desk} pages.",
]
GLUED_TAIL = [
    "Find more {place} reporting at {domain}.",
    "The {short} almanac note: tide tables sit on the back page.",
    "The {short} {desk} desk will update this report.",
    "Reporting for the {brand} by the {desk} team.",
    "{short} readers can reach the newsroom at {domain}/contact.",
]
# What the shipped library already removes (mining must not propose it).
SHIPPED_NOISE = ["Advertisement", "Story continues below advertisement", "Skip Advertisement"]


@dataclass
class Phrase:
    """One injected piece of boilerplate: a line, a footer run, or a glued sentence."""

    id: str
    publisher: str
    kind: str  # head | middle | tail | glued_head | glued_tail
    templates: list[str]  # one per line (a run has several); {n} etc. vary per document
    probability: float
    count: int = 0  # documents it was injected into

    def render(self, rnd: random.Random) -> list[str]:
        return [_numbers(template, rnd) for template in self.templates]


@dataclass
class Publisher:
    name: str
    short: str
    blank_lines: bool  # paragraphs separated by blank lines
    glue_space: bool  # glued sentences separated by a space (else glued tight)
    phrases: list[Phrase] = field(default_factory=list)


@dataclass
class Corpus:
    documents: list[str]
    expected: list[str]  # each document as it should be after cleaning (content only)
    injected: list[list[tuple[str, str]]]  # per document: (phrase id, injected text)
    publishers: list[Publisher]
    syndicated: list[list[str]]  # paragraphs of the syndicated articles
    statement: str = STATEMENT

    @property
    def phrases(self) -> list[Phrase]:
        return [p for publisher in self.publishers for p in publisher.phrases]


def _numbers(template: str, rnd: random.Random) -> str:
    return (
        template.replace("{n4}", str(rnd.randint(1000, 9999)))
        .replace("{n7}", str(rnd.randint(1000000, 9999999)))
        .replace("{n}", str(rnd.randint(2, 99)))
    )


def make_publishers(rnd: random.Random, count: int = 20) -> list[Publisher]:
    publishers = []
    for i in range(count):
        place = PUBLISHER_PLACES[i % len(PUBLISHER_PLACES)]
        kind = PUBLISHER_KINDS[i % len(PUBLISHER_KINDS)]
        brand = f"{place} {kind}"
        short = place.split()[0]
        desk = DESKS[i % len(DESKS)]
        values = {
            "brand": brand, "short": short, "place": place, "desk": desk, "desk_title": desk.title(),
            "domain": f"{place.lower().replace(' ', '')}{kind.lower()}.example", "year": str(1840 + 7 * i),
            "street": rnd.choice(["Mill", "Quay", "Chapel", "Bridge", "Market", "Castle", "Tanner", "Rope"]),
            "editor": f"{rnd.choice(FIRST_NAMES)} {rnd.choice(SURNAMES)}", "weekday": WEEKDAYS[i % 7],
        }
        values["tagline"] = _fill(TAGLINES[i % len(TAGLINES)], values)
        publisher = Publisher(brand, short, blank_lines=i % 3 != 0, glue_space=i % 4 != 1)

        def add(kind_name: str, templates: list[str], probability: float) -> None:
            number = len(publisher.phrases) + 1
            phrase = Phrase(f"P{i + 1:02d}-{number}", brand, kind_name, [_fill(t, values) for t in templates], probability)
            publisher.phrases.append(phrase)

        add("head", [HEAD_LINES[i % len(HEAD_LINES)]], 0.85)
        add("middle", [MIDDLE_LINES[i % len(MIDDLE_LINES)]], 0.6)
        if i % 2 == 0:
            add("middle", [MIDDLE_LINES[(i + 3) % len(MIDDLE_LINES)]], 0.45)
        add("tail", TAIL_RUNS[i % len(TAIL_RUNS)], 0.8)
        add("glued_head", [GLUED_HEAD[i % len(GLUED_HEAD)]], 0.5)
        add("glued_tail", [GLUED_TAIL[(i + 2) % len(GLUED_TAIL)]], 0.5)
        publishers.append(publisher)
    return publishers


def _fill(template: str, values: dict[str, str]) -> str:
    """Fill the publisher's fixed values; leave {n}, {n4}, {n7} for each document."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), template)


class Prose:
    """Article text from templates and word lists."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd

    def town(self) -> str:
        return self.rnd.choice(TOWN_HEADS) + self.rnd.choice(TOWN_TAILS)

    def values(self) -> dict[str, str]:
        r = self.rnd
        return {
            "name": f"{r.choice(FIRST_NAMES)} {r.choice(SURNAMES)}", "role": r.choice(ROLES), "town": self.town(),
            "town2": self.town(), "org": r.choice(ORG_TYPES), "topic": r.choice(TOPICS), "adj": r.choice(ADJECTIVES),
            "verbed": r.choice(VERBED), "reason": r.choice(REASONS), "venue": r.choice(VENUES),
            "description": r.choice(DESCRIPTIONS), "month": r.choice(MONTHS), "weekday": r.choice(WEEKDAYS),
            "n": str(r.randint(2, 950)), "n2": str(r.randint(2, 40)),
        }

    def sentence(self) -> str:
        text = self.rnd.choice(SENTENCES).format(**self.values())
        return text[0].upper() + text[1:]

    def paragraph(self) -> str:
        return " ".join(self.sentence() for _ in range(self.rnd.randint(2, 5)))

    def title(self) -> str:
        v = self.values()
        v.update(verbed_title=v["verbed"], topic_title=v["topic"].removeprefix("the "),
                 adj_title=v["adj"].capitalize(), name_title=v["name"])
        text = self.rnd.choice(TITLES).format(**v)
        return text[0].upper() + text[1:]

    def article(self) -> list[str]:
        return [self.title()] + [self.paragraph() for _ in range(self.rnd.randint(3, 9))]


def generate(per_publisher: int = 40, seed: int = 7, publishers: int = 20) -> Corpus:
    """The corpus in memory (use `write_corpus` for big ones)."""
    corpus = Corpus([], [], [], make_publishers(random.Random(seed), publishers), [])
    for document, expected, injected in iter_corpus(corpus, per_publisher, seed):
        corpus.documents.append(document)
        corpus.expected.append(expected)
        corpus.injected.append(injected)
    return corpus


def iter_corpus(corpus: Corpus, per_publisher: int, seed: int):
    """(document, expected clean document, injected [(phrase id, text)]) for every document."""
    rnd = random.Random(seed + 1)
    prose = Prose(rnd)
    total = per_publisher * len(corpus.publishers)
    # A few articles syndicated to several publishers: 1 per 80 documents, each in 3-6 documents.
    syndicated: dict[int, list[str]] = {}
    for _ in range(max(2, total // 80)):
        article = prose.article()
        corpus.syndicated.append(article)
        for slot in rnd.sample(range(total), rnd.randint(3, 6)):
            syndicated[slot] = article
    order = [p for p in corpus.publishers for _ in range(per_publisher)]
    rnd.shuffle(order)
    for slot, publisher in enumerate(order):
        article = list(syndicated.get(slot) or prose.article())
        if rnd.random() < 0.04:  # the long statement, quoted in many different articles
            article.insert(rnd.randint(2, len(article)), corpus.statement)
        yield _document(publisher, article, rnd)


def _document(publisher: Publisher, article: list[str], rnd: random.Random):
    injected: list[tuple[str, str]] = []
    title, paragraphs = article[0], list(article[1:])
    head, tail, middles = [], [], []
    for phrase in publisher.phrases:
        if rnd.random() >= phrase.probability:
            continue
        phrase.count += 1
        lines = phrase.render(rnd)
        for line in lines:
            injected.append((phrase.id, line))
        if phrase.kind == "head":
            head.extend(lines)
        elif phrase.kind == "middle":
            middles.extend(lines)
        elif phrase.kind == "tail":
            tail.extend(lines)
        elif phrase.kind == "glued_head":
            glue = " " if publisher.glue_space else ""
            paragraphs[0] = lines[0] + glue + paragraphs[0]
        else:
            glue = " " if publisher.glue_space else ""
            paragraphs[-1] = paragraphs[-1] + glue + lines[0]
    body = list(paragraphs)
    for line in middles:
        body.insert(rnd.randint(1, max(1, len(body) - 1)), line)
    if rnd.random() < 0.15:
        body.insert(rnd.randint(1, len(body)), rnd.choice(SHIPPED_NOISE))
    gap = "\n\n" if publisher.blank_lines else "\n"
    document = "\n".join(head + [title]) + "\n\n" + gap.join(body) + "\n"
    if tail:
        document += ("\n" if publisher.blank_lines else "") + "\n".join(tail) + "\n"
    expected = title + "\n\n" + gap.join(article[1:]) + "\n"
    return document, expected, injected


# --- checks and scores -----------------------------------------------------------------------


def _folded(text: str) -> str:
    from cleaner.mine import fold
    from cleaner.normalize import normalize

    return fold(normalize(text))


def check_corpus(corpus: Corpus) -> list[str]:
    """Problems with the corpus itself: injected noise the shipped library already touches,
    or content it changes (either would make the scores meaningless)."""
    from cleaner import Cleaner

    shipped = Cleaner()
    problems = []
    for phrase in corpus.phrases:
        sample = phrase.render(random.Random(0))
        for line in sample:
            if shipped.clean_text(line + "\n") != line + "\n":
                problems.append(f"{phrase.id}: the shipped library touches {line!r}")
    for document, expected in zip(corpus.documents[:300], corpus.expected[:300]):
        if shipped.clean_text(expected) != expected:
            problems.append(f"the shipped library changes content: {expected[:80]!r}")
    return problems


def removed_texts(table: dict) -> set[str]:
    """The folded texts a rule table's examples say it removes (what a reviewer would read)."""
    texts = set()
    for example in table["examples"]:
        if isinstance(example, str):
            texts.update(_folded(line) for line in example.split("\n") if line.strip())
            continue
        text, clean = example["text"], example.get("clean", "")
        if table["kind"] == "span":
            if text.endswith(clean):
                part = text[: len(text) - len(clean)]
            elif text.startswith(clean):
                part = text[len(clean):]
            else:
                part = text
            texts.add(_folded(part))
        else:
            kept = set(clean.split("\n"))
            texts.update(_folded(line) for line in text.split("\n") if line.strip() and line not in kept)
    return texts


def evaluate(corpus: Corpus, result=None, *, tables: list[dict] | None = None, min_docs: int | None = None,
             rule_file: Path | None = None, round_trip: bool = True) -> dict:
    """Recall of injected phrases, share of content candidates, and the round trip, for a
    mining result (or the rule tables of a mined file, with the min_docs used)."""
    if tables is None:
        tables = [c.table for c in result.candidates]
    if min_docs is None:
        min_docs = result.settings.min_docs
    noise: dict[str, str] = {}  # folded text -> phrase id
    for phrase in corpus.phrases:
        for variant in (phrase.render(random.Random(s)) for s in range(3)):
            for line in variant:
                noise[_folded(line)] = phrase.id
    shipped_noise = {_folded(t) for t in SHIPPED_NOISE}
    covered = [removed_texts(table) for table in tables]
    found: set[str] = set()
    for texts in covered:
        found |= texts
    phrases = [p for p in corpus.phrases if p.count >= min_docs]  # what mining can see at all
    recovered = [p for p in phrases if all(_folded(line) in found for line in p.render(random.Random(0)))]

    def is_noise(text: str) -> bool:  # an injected line, or a part of one (a glued sentence)
        return text in noise or any(text in line for line in noise)

    content = [t for t, texts in zip(tables, covered) if not all(map(is_noise, texts))]
    proposed_shipped = [t for t, texts in zip(tables, covered) if texts & shipped_noise]
    scores = {
        "documents": len(corpus.documents),
        "phrases_injected": sum(1 for p in corpus.phrases if p.count),
        "phrases": len(phrases),
        "recovered": len(recovered),
        "recall": len(recovered) / max(1, len(phrases)),
        "candidates": len(tables),
        "content_candidates": len(content),
        "content_rate": len(content) / max(1, len(tables)),
        "shipped_noise_proposed": len(proposed_shipped),
        "missed": [p.id + ": " + " / ".join(p.templates) for p in phrases if p not in recovered],
        "content": [t["description"] for t in content],
    }
    if round_trip:
        scores.update(round_trip_scores(corpus, result, rule_file))
    return scores


def round_trip_scores(corpus: Corpus, result=None, rule_file: Path | None = None, documents=None) -> dict:
    """Clean the corpus with the shipped library plus the mined rules (`--rules FILE`).
    `documents`: (document, expected, injected) triples, if the corpus is not in memory."""
    import tempfile

    from cleaner import Cleaner

    with tempfile.TemporaryDirectory() as directory:
        path = rule_file
        if path is None:
            path = Path(directory) / "mined.toml"
            path.write_text(result.toml(), encoding="utf-8")
        cleaner = Cleaner(rule_files=[path])
    if documents is None:
        documents = zip(corpus.documents, corpus.expected, corpus.injected)
    count = exact = left = lost = total_noise = total_content = 0
    for document, expected, injected in documents:
        count += 1
        cleaned = cleaner.clean_text(document)
        got = [line for line in cleaned.split("\n") if line.strip()]
        want = [line for line in expected.split("\n") if line.strip()]
        exact += got == want
        total_content += len(want)
        lost += sum(1 for line in want if line not in cleaned)  # removed or cut into
        total_noise += len(injected)
        left += sum(1 for _, text in injected if text in cleaned)
    return {
        "round_trip_exact_documents": exact / max(1, count),
        "noise_left": left / max(1, total_noise),
        "content_lines_lost": lost / max(1, total_content),
    }


# --- files and the command line ----------------------------------------------------------------


def write_corpus(path: Path, per_publisher: int, seed: int = 7, separator: str = "\f") -> Corpus:
    """Stream a corpus to `path` (documents separated by a `separator` line) with `<path>.truth.json`."""
    corpus = Corpus([], [], [], make_publishers(random.Random(seed)), [])
    with open(path, "w", encoding="utf-8") as out:
        for document, _, _ in iter_corpus(corpus, per_publisher, seed):
            out.write(document)
            out.write(separator + "\n")
    truth = {
        "phrases": [{"id": p.id, "publisher": p.publisher, "kind": p.kind, "lines": p.templates, "documents": p.count}
                    for p in corpus.phrases],
        "shipped_noise": SHIPPED_NOISE,
        "syndicated_articles": len(corpus.syndicated),
        "per_publisher": per_publisher,
        "seed": seed,
        "documents": per_publisher * len(corpus.publishers),
    }
    Path(str(path) + ".truth.json").write_text(json.dumps(truth, indent=1), encoding="utf-8")
    return corpus


def score_file(corpus_path: Path, rule_path: Path, min_docs: int = 5) -> dict:
    """Score a mined rule file against a corpus written by `write_corpus` (regenerated from its
    seed, streaming, so that the truth need not be held in memory)."""
    import tomllib

    truth = json.loads(Path(str(corpus_path) + ".truth.json").read_text(encoding="utf-8"))
    corpus = Corpus([], [], [], make_publishers(random.Random(truth["seed"])), [])
    documents = iter_corpus(corpus, truth["per_publisher"], truth["seed"])
    round_trip = round_trip_scores(corpus, rule_file=rule_path, documents=documents)  # also counts the phrases
    tables = tomllib.loads(rule_path.read_text(encoding="utf-8")).get("rule", [])
    scores = evaluate(corpus, tables=tables, min_docs=min_docs, round_trip=False)
    scores.update(round_trip, documents=truth["documents"])
    return scores


def _size(text: str) -> int:
    match = re.fullmatch(r"(\d+)\s*([KMG]?)B?", text.strip(), re.I)
    if not match:
        raise argparse.ArgumentTypeError(f"bad size {text!r}")
    return int(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2).upper()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-publisher", type=int, default=500, help="documents per publisher (20 publishers)")
    parser.add_argument("--size", type=_size, help="instead: about this many bytes (e.g. 300MB)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, help="write the corpus here (and <out>.truth.json)")
    parser.add_argument("--run", action="store_true", help="mine the corpus in-process and print the scores")
    parser.add_argument("--min-docs", type=int, default=5)
    parser.add_argument("--top", type=int, default=200)
    parser.add_argument("--memory", type=int, default=256, help="mining memory budget (MB)")
    parser.add_argument("--score", type=Path, metavar="RULES.toml",
                        help="score a rule file mined (by `cleaner mine`) from the corpus written with --out")
    args = parser.parse_args(argv)
    if args.score:
        if not args.out:
            parser.error("--score needs --out (the corpus the rules were mined from)")
        return print_scores(score_file(args.out, args.score, args.min_docs), args.min_docs)
    per_publisher = args.per_publisher
    if args.size:
        per_publisher = max(1, args.size // (20 * 2530))  # documents average about 2.5 kB
    if args.out and not args.score:
        started = time.perf_counter()
        write_corpus(args.out, per_publisher, args.seed)
        size = args.out.stat().st_size
        print(f"wrote {args.out} ({size / 1e6:.1f} MB, {per_publisher * 20} documents) "
              f"in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if not args.run:
        return 0
    from cleaner.mine import MineSettings, mine

    corpus = generate(per_publisher, args.seed)
    problems = check_corpus(corpus)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    size = sum(len(d.encode()) for d in corpus.documents)
    started = time.perf_counter()
    result = mine(corpus.documents, settings=MineSettings(min_docs=args.min_docs, top=args.top, memory_mb=args.memory))
    seconds = time.perf_counter() - started
    scores = evaluate(corpus, result)
    print(f"documents {scores['documents']}, {size / 1e6:.1f} MB, mined in {seconds:.1f} s "
          f"({size / 1e6 / seconds:.2f} MB/s), peak RSS of this process "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return print_scores(scores, args.min_docs)


def print_scores(scores: dict, min_docs: int) -> int:
    print(f"recall {scores['recovered']}/{scores['phrases']} = {scores['recall']:.1%} of the phrases injected "
          f"in at least {min_docs} documents ({scores['phrases_injected']} injected in all); "
          f"content candidates {scores['content_candidates']}/{scores['candidates']} = {scores['content_rate']:.1%}; "
          f"shipped noise proposed {scores['shipped_noise_proposed']}")
    print(f"round trip: documents exactly clean {scores['round_trip_exact_documents']:.1%}, "
          f"injected noise left {scores['noise_left']:.2%}, content lines lost {scores['content_lines_lost']:.2%}")
    for line in scores["missed"]:
        print("  missed:", line)
    for line in scores["content"]:
        print("  content:", line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
