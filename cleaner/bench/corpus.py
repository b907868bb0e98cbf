"""Generate a deterministic, realistic article dump for benchmarks, with labelled noise.

    python benchmarks/make_corpus.py --size 200MB --out benchmarks/data/corpus.txt

Documents are a headline and paragraphs of news-like prose (one paragraph per line), separated
by one blank line. About 3% of lines are publisher noise in many publishers' wording, about 0.5%
of paragraphs carry noise glued to their start or end; some text is non-ASCII (curly quotes,
non-breaking spaces, accented names, a few CJK lines) and some documents use CRLF.

Next to the corpus it writes `<out>.labels.jsonl`: one record per document with its first
line number in the file and the 1-based line numbers (within the document) of injected noise
lines and of lines with glued noise, so `compare.py` can score recall and precision.
All prose and noise wording here is written for this generator.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path
from typing import Iterator

PEOPLE = ["Maria Okafor", "José Álvarez", "Zoë Hartmann", "Li Wei", "Amara Nwosu", "Jonas Müller",
          "Priya Raman", "Tomasz Nowak", "Élodie Martin", "Kwame Mensah", "Sofia Rossi", "Omar Haddad",
          "Hannah Kim", "Diego Fernández", "Ingrid Solberg", "Rafael Costa", "Aoife Byrne", "Yusuf Demir"]
ROLES = ["the council leader", "a spokesperson for the ministry", "the chief executive", "a local shopkeeper",
         "the union's general secretary", "an economist at the central bank", "the head teacher",
         "the police commander", "a senior diplomat", "the opposition leader", "a hospital consultant",
         "the club's manager", "a climate scientist", "the mayor", "a defence lawyer"]
PLACES = ["Port Alder", "Kingsbridge", "the northern provinces", "Lagos", "São Paulo", "Kraków", "Osaka",
          "the capital", "Marseille", "the coastal town of Wexbury", "Nairobi", "Brisbane", "Hamburg",
          "the river valley", "Vancouver", "Mumbai"]
SUBJECTS = ["The council", "The government", "Investors", "Residents", "The company", "Prosecutors",
            "The committee", "Researchers", "Union members", "The regulator", "Officials", "Voters",
            "The hospital trust", "Farmers", "The central bank", "Emergency crews", "The club"]
VERBS = ["approved", "rejected", "delayed", "announced", "questioned", "welcomed", "criticised",
         "postponed", "expanded", "reviewed", "funded", "cancelled", "defended", "proposed"]
OBJECTS = ["a plan to rebuild the sea wall", "new rules on short-term lets", "the budget for next year",
           "a merger with its largest rival", "the closure of two rural schools", "a pay offer of 4%",
           "plans for a new tram line", "an inquiry into the flooding", "a ban on single-use plastics",
           "the sale of the stadium", "emergency funding for hospitals", "a tax on sugary drinks",
           "changes to the exam timetable", "the expansion of the airport", "a ceasefire proposal"]
TAILS = ["after months of argument", "despite strong opposition", "on Tuesday night", "late on Friday",
         "by a narrow margin", "following a public consultation", "in a statement released on Monday",
         "ahead of the election", "amid rising costs", "for the second time this year"]
NUMBERS = ["£14m", "$2.3bn", "€480,000", "400", "12%", "three", "1.2 million", "27", "2,500", "6.4%"]
QUOTES = ["We asked residents to comment on three designs, and the tallest one won",
          "This is the most serious crisis we have faced in a generation",
          "Nobody should have to choose between heating and eating",
          "We will share the cost with our neighbours until the work is finished",
          "The advertisement campaign was never the problem; the product was",
          "Subscribers to the scheme will see no change this year",
          "Our readers told us they wanted more local news, not less",
          "Cookies and cakes were handed out to the volunteers",
          "Related questions will be answered at the next hearing",
          "We support the plan, but the details matter"]
CJK = ["東京で新しい防潮堤の計画が発表された。", "市议会周二晚上批准了重建海堤的计划。", "서울 시의회는 새 예산안을 승인했다."]

NOISE_LINES = [
    "Advertisement", "ADVERTISEMENT", "Story continues below advertisement", "Skip Advertisement",
    "Share this article", "Share on Facebook", "Share on Twitter", "Click to share on WhatsApp (Opens in new window)",
    "Like this:", "Sign up for our daily newsletter", "Sign up to our newsletters",
    "Get breaking news alerts delivered to your inbox", "Thank you for signing up!",
    "You've read {n} of {m} free articles. Subscribe to continue.", "Subscribe to continue reading",
    "Already a subscriber? Log in", "Unlimited digital access ${p}/month.", "Get unlimited {pub} journalism.",
    "Read more: {headline}", "READ MORE: {headline}", "Most popular", "You may also like", "Recommended for you",
    "Join the conversation", "{n} comments", "Leave a comment", "Comments",
    "Your email address will not be published. Required fields are marked *",
    "This website uses cookies to improve your experience.", "We use cookies to personalise content and ads.",
    "Please enable JavaScript to view the comments powered by Disqus.",
    "Download the {pub} app", "Install the {pub} app for the latest news",
    "Copyright {year} The Associated Press. All rights reserved.", "© {year} Reuters",
    "Our Standards: The Thomson Reuters Trust Principles.", "Reuse this content", "Suggest a correction",
    "Photograph: {person}/Reuters", "(Photo: {person}, AP)", "Image copyright Getty Images Image caption",
    "Hide Caption {n} of {m} Photos:", "Follow us on Google News",
    "Support independent journalism. Donate today.", "Thank you for supporting our journalism.",
    "Your support helps us to tell the story", "Sponsored content from around the web",
    "Promoted by Taboola",
]
GLUED_HEAD = ["Your support makes all the difference.", "Advertisement", "Listen to this article"]
GLUED_TAIL = ["Click here to read more.", "Sign up for our daily newsletter.", "Share this article"]
PUBLISHERS = ["Monitor", "Herald", "Gazette", "Chronicle", "Sky News", "Daily Courier", "Observer"]


class Generator:
    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def pick(self, items):
        return self.random.choice(items)

    def sentence(self) -> str:
        r = self.random.random()
        if r < 0.25:
            quote = self.pick(QUOTES)
            open_, close = ("\u201c", "\u201d") if self.random.random() < 0.6 else ('"', '"')
            return f"{open_}{quote},{close} said {self.pick(PEOPLE)}, {self.pick(ROLES)}."
        if r < 0.45:
            return (f"{self.pick(SUBJECTS)} in {self.pick(PLACES)} {self.pick(VERBS)} {self.pick(OBJECTS)} "
                    f"{self.pick(TAILS)}, a decision worth {self.pick(NUMBERS)}.")
        if r < 0.6:
            return (f"According to {self.pick(PEOPLE)}, {self.pick(ROLES)}, the figure rose to "
                    f"{self.pick(NUMBERS)} {self.pick(TAILS)}.")
        dash = "\u2014" if self.random.random() < 0.3 else "-"
        space = "\u00a0" if self.random.random() < 0.05 else " "
        return (f"{self.pick(SUBJECTS)} {self.pick(VERBS)} {self.pick(OBJECTS)} {dash} the{space}second "
                f"such move {self.pick(TAILS)}.")

    def paragraph(self) -> str:
        if self.random.random() < 0.004:
            return self.pick(CJK)
        return " ".join(self.sentence() for _ in range(self.random.randint(1, 5)))

    def headline(self) -> str:
        return f"{self.pick(SUBJECTS)} {self.pick(VERBS)} {self.pick(OBJECTS)}"

    def noise(self) -> str:
        template = self.pick(NOISE_LINES)
        return template.format(
            n=self.random.randint(1, 30), m=self.random.randint(31, 60), p=self.random.choice([1, 4, 11, 19]),
            pub=self.pick(PUBLISHERS), headline=self.headline(), year=self.random.randint(2005, 2026),
            person=self.pick(PEOPLE),
        )

    def document(self) -> tuple[list[str], list[int], list[int]]:
        """Lines of one document, with the 1-based numbers of noise lines and glued lines."""
        lines, noise, glued = [self.headline()], [], []
        for _ in range(self.random.randint(4, 14)):
            if self.random.random() < 0.035:
                lines.append(self.noise())
                noise.append(len(lines))
            text = self.paragraph()
            roll = self.random.random()
            if roll < 0.003:
                text = self.pick(GLUED_HEAD) + text
                glued.append(len(lines) + 1)
            elif roll < 0.006:
                text = text + " " + self.pick(GLUED_TAIL)
                glued.append(len(lines) + 1)
            lines.append(text)
        return lines, noise, glued


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([KMG]?)B?", text.strip().upper())
    if not match:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    return int(float(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)])


def encoded_documents(seed: int) -> Iterator[tuple[bytes, list[str], list[int], list[int], str]]:
    """Documents as the corpus holds them (blank-line-terminated, 10% with CRLF): the bytes, the
    lines, the noise and glued line numbers, and the line ending."""
    generator = Generator(seed)
    while True:
        lines, noise, glued = generator.document()
        ending = "\r\n" if generator.random.random() < 0.1 else "\n"
        yield (ending.join(lines) + ending + ending).encode("utf-8"), lines, noise, glued, ending


def sample(size: int, seed: int = 7) -> bytes:
    """At least `size` bytes of corpus, in memory: for tests and hot-path benchmarks."""
    parts, total = [], 0
    for data, *_ in encoded_documents(seed):
        if total >= size:
            break
        parts.append(data)
        total += len(data)
    return b"".join(parts)


def generate(out: Path, size: int, seed: int = 7) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    line_number = 1
    documents = encoded_documents(seed)
    with open(out, "wb") as corpus, open(str(out) + ".labels.jsonl", "w", encoding="utf-8") as labels:
        while written < size:
            data, lines, noise, glued, ending = next(documents)
            corpus.write(data)
            labels.write(json.dumps({"first_line": line_number, "lines": len(lines), "noise": noise,
                                     "glued": glued, "crlf": ending == "\r\n"}) + "\n")
            written += len(data)
            line_number += len(lines) + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=parse_size, default=parse_size("200MB"))
    parser.add_argument("--out", type=Path, default=Path("benchmarks/data/corpus.txt"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    generate(args.out, args.size, args.seed)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB) and {args.out}.labels.jsonl")


if __name__ == "__main__":
    main()
