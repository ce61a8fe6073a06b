#!/usr/bin/env python3
"""Deterministic generator of synthetic news clippings in the seed format.

    python benchmarks/gen_corpus.py OUT_DIR --count 100000 [--seed 1]

Each file has the YAML front matter of ``seeds/*.txt``: category, title, excerpt,
publishedDateTime, originalUrl/webUrl (sometimes sourceUrl/ampUrl/cdnAmpUrl or
ampWebUrl), type, quality, heat, published, provider{name,domain}, topics, images,
related (0-5 nested articles with title/excerpt/publishedDateTime/webUrl/provider/
quality, about a quarter of them drawn from a shared pool so the same article appears
in several files) and a ``secured`` blob.

Text is drawn from a Zipf vocabulary (real news words at the head, made-up words in
the tail) mixed with a per-topic vocabulary, so multi-word queries co-occur the way
they do in real clippings; ~38-word excerpts; dates spread over 2012-2024; some
curly apostrophes, dashes and accents so the non-ASCII path (ftfy) is exercised.

The same ``--seed`` and ``--count`` always give byte-identical files. The vocabulary
does not depend on the seed, so the benchmark queries (``QUERY_WORDS``) always exist.
Standard library only; files are written directly from string templates.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import json
import os
import random
import sys
import time
from typing import Any

# ---------------------------------------------------------------- vocabulary

# Rank order matters (Zipf): stop words first, then common news words, a few
# non-ASCII tokens at moderate ranks.
HEAD_WORDS = """
the of to and a in for is on that with said was as by at from it be has
have are its will his an new but not this after they who more were been
year about up he their over than also two one people first had out government
would can — state last years which could president week time other new into
when may us some what we million says company police city told per first
country’s all no report public three health court new officials market she
people’s there national under against world how former now just between
since workers percent news business support plan data group home law don’t
security year’s billion use technology program federal during before service
school care children high early according first where while policy team
four most election could part system local help many department those month
""".split()

# Topic -> its own words (drawn with a second Zipf law inside the topic).
TOPICS: dict[str, list[str]] = {
    "AI": "artificial intelligence machine learning model algorithm chatbot neural "
          "automation openai training data researchers deepfake".split(),
    "Computer Vision": "facial recognition camera biometric surveillance image "
                       "identification border airport scan privacy travelers".split(),
    "Natural Language Processing": "language translation speech text chatbot voice "
                                   "assistant transcription sentiment".split(),
    "Politics": "senate congress parliament vote bill lawmakers democrats republicans "
                "campaign governor minister opposition coalition".split(),
    "Elections": "election ballot voters polling turnout candidate primary campaign "
                 "recount electoral".split(),
    "Climate": "climate change emissions carbon warming renewable solar wind flood "
               "drought wildfire heatwave".split(),
    "Health": "vaccine pandemic covid virus hospital patients doctors booster "
              "outbreak infection medicine".split(),
    "Economy": "inflation interest rates recession jobs unemployment growth prices "
               "central bank stocks investors".split(),
    "Markets": "stocks shares investors trading index earnings dividend bonds "
               "futures rally".split(),
    "Crime": "arrested charged suspect shooting murder investigation prosecutors "
             "trial sentenced jury".split(),
    "Sports": "championship match season coach players league tournament goal "
              "victory injury final".split(),
    "Science": "researchers study scientists discovery space nasa telescope "
               "species experiment physics".split(),
    "Education": "students teachers university school tuition campus exams "
                 "curriculum classroom".split(),
    "Energy": "oil gas pipeline electricity grid nuclear prices opec "
              "refinery battery".split(),
    "Transport": "airline flights rail trains airport traffic electric vehicles "
                 "cars tesla strike".split(),
    "Housing": "housing rent mortgage homes prices construction tenants "
               "landlords affordable".split(),
    "Cybersecurity": "hackers ransomware breach cyberattack malware passwords "
                     "encryption vulnerability".split(),
    "World": "ukraine russia china war sanctions refugees troops ceasefire "
             "diplomats summit".split(),
    "Immigration": "immigration migrants asylum border customs deportation visa "
                   "refugees".split(),
    "Entertainment": "film movie music album festival actor singer streaming "
                     "netflix series".split(),
}
TOPIC_NAMES = list(TOPICS)

NON_ASCII_EXTRAS = ["café", "Zürich", "São", "Paulo", "naïve", "résumé", "Müller",
                    "Gómez", "“breakthrough”", "it’s", "won’t"]

PROVIDERS_REAL = [
    ("Reuters", "reuters.com"), ("The Associated Press", "apnews.com"),
    ("GCN", "gcn.com"), ("Biometric Companies", "biometricupdate.com"),
    ("Wall Street Journal", "wsj.com"), ("The Financial Times", "ft.com"),
    ("ABC", "go.com"), ("Seattle Times", "seattletimes.com"),
    ("The New Zealand Herald", "nzherald.co.nz"), ("BorderReport", "borderreport.com"),
    ("HuffPost", "huffpost.com"), ("The Guardian", "theguardian.com"),
    ("BBC News", "bbc.co.uk"), ("CNN", "cnn.com"), ("Bloomberg", "bloomberg.com"),
    ("The Verge", "theverge.com"), ("Wired", "wired.com"), ("Politico", "politico.com"),
    ("Le Monde", "lemonde.fr"), ("Süddeutsche Zeitung", "sueddeutsche.de"),
]
N_PROVIDERS = 400
VOCAB_SIZE = 50_000
VOCAB_SEED = 20240501  # fixed: the vocabulary never depends on --seed
DATE_FROM = 1325376000  # 2012-01-01
DATE_TO = 1735689599  # 2024-12-31

# Words the benchmark queries use, by how common they are.
QUERY_WORDS = {
    "common": "election",
    "pair": ("climate", "change"),
    "triple": ("facial", "recognition", "border"),
    "or_pair": ("vaccine", "pandemic"),
    "or_triple": ("senate", "congress", "parliament"),
    "provider": "Reuters",
}


def _syllable_words(rng: random.Random, n: int, taken: set[str]) -> list[str]:
    onsets = ["b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "r", "s", "t",
              "v", "w", "z", "br", "ch", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "st",
              "th", "tr"]
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
    codas = ["", "", "", "n", "r", "s", "l", "m", "t", "nd", "st", "x"]
    out: list[str] = []
    while len(out) < n:
        k = rng.choice((2, 2, 3, 3, 3, 4))
        w = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(k))
        w += rng.choice(codas)
        if w not in taken:
            taken.add(w)
            out.append(w)
    return out


def vocabulary() -> list[str]:
    """The Zipf-ranked vocabulary (same for every seed)."""
    rng = random.Random(VOCAB_SEED)
    head: list[str] = []
    seen: set[str] = set()
    for w in HEAD_WORDS:
        if w not in seen:
            seen.add(w)
            head.append(w)
    topical = sorted({w for ws in TOPICS.values() for w in ws} - seen)
    rng.shuffle(topical)
    # topical words also appear in general text, at mid ranks
    words = head + topical
    seen.update(topical)
    for extra in NON_ASCII_EXTRAS:
        if extra not in seen:
            seen.add(extra)
            words.insert(min(len(words), 150 + 37 * len(extra)), extra)
    words += _syllable_words(rng, VOCAB_SIZE - len(words), seen)
    return words


def rare_word(rank: int = 5_000) -> str:
    """A made-up word at a given Zipf rank (queries for rare terms)."""
    return vocabulary()[rank]


def _cum_weights(n: int, s: float = 1.0, q: float = 2.7) -> list[float]:
    return list(itertools.accumulate(1.0 / (r + q) ** s for r in range(1, n + 1)))


# ---------------------------------------------------------------- rendering

_json = json.JSONEncoder(ensure_ascii=False).encode


def _q(s: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    if '"' in s or "\\" in s or not s.isprintable():
        return _json(s)
    return f'"{s}"'  # the common case, without the encoder's overhead


_SLUG = str.maketrans("", "", "“”,.’")


def _date(t: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


class Generator:
    """Draws clippings one by one; all randomness comes from one seeded stream.

    Speed: words come from a pre-drawn Zipf token stream (two random slices per
    text, plus topical words at random places), and every other choice is
    ``int(random() * n)`` rather than ``randint``/``choice``/``shuffle``, so a
    clipping costs a few dozen microseconds.
    """

    STREAM = 1 << 21  # tokens drawn up front

    def __init__(self, seed: int, count: int) -> None:
        self.seed = seed
        self.rng = random.Random(seed)
        self.r = self.rng.random
        self.count = count
        self.vocab = vocabulary()
        self.stream = self.rng.choices(self.vocab, cum_weights=_cum_weights(len(self.vocab)),
                                       k=self.STREAM)
        self.topic_streams = {
            t: self.rng.choices(ws, cum_weights=_cum_weights(len(ws), 0.8, 2.0), k=4096)
            for t, ws in TOPICS.items()}
        self.topic_pick_cw = _cum_weights(len(TOPIC_NAMES), 0.6, 1.0)
        rng = random.Random(VOCAB_SEED + 1)
        provs = list(PROVIDERS_REAL)
        taken = {d for _, d in provs}
        kinds = ["Times", "Post", "Daily", "Herald", "News", "Review", "Tribune", "Journal",
                 "Wire", "Observer"]
        for w in _syllable_words(rng, N_PROVIDERS - len(provs), set(self.vocab)):
            name = f"The {w.capitalize()} {rng.choice(kinds)}"
            dom = (f"{w}{rng.choice(['news', 'times', 'post', ''])}."
                   f"{rng.choice(['com', 'com', 'com', 'org', 'net', 'co.uk', 'de', 'com.au'])}")
            if dom not in taken:
                taken.add(dom)
                provs.append((name, dom))
        self.providers = provs
        self.prov_stream = self.rng.choices(provs, cum_weights=_cum_weights(len(provs), 1.1, 1.0),
                                            k=8192)
        self.pool_size = max(50, count // 8)
        self.pool: dict[int, str] = {}
        self.pool_seed = seed * 7919 + 17

    def _int(self, lo: int, hi: int) -> int:
        """Uniform integer in [lo, hi] (both ends)."""
        return lo + int(self.r() * (hi - lo + 1))

    def _pick(self, seq: Any) -> Any:
        return seq[int(self.r() * len(seq))]

    # -- text
    def words(self, n: int, topic: str) -> list[str]:
        r, stream, size = self.r, self.stream, self.STREAM
        a = n // 2
        o1 = int(r() * (size - n))
        o2 = int(r() * (size - n))
        ws = stream[o1:o1 + a] + stream[o2:o2 + n - a]
        ts = self.topic_streams[topic]
        for _ in range(n // 6 + 1):  # ~15% topical words
            ws[int(r() * n)] = ts[int(r() * 4096)]
        return ws

    def sentence(self, n: int, topic: str, title: bool = False) -> str:
        ws = self.words(n, topic)
        ws[0] = ws[0][:1].upper() + ws[0][1:]
        if title:
            return " ".join(ws)
        i = 6 + int(self.r() * 6)
        while i < n - 3:  # a comma now and then, full stop at the end
            ws[i] += ","
            i += 8 + int(self.r() * 7)
        return " ".join(ws) + "."

    def provider(self) -> tuple[str, str]:
        return self.prov_stream[int(self.r() * 8192)]  # type: ignore[no-any-return]

    @staticmethod
    def url(domain: str, t: int, title: str, n: int) -> str:
        slug = "-".join(title.lower().translate(_SLUG).split()[:7])
        ymd = time.strftime("%Y/%m/%d", time.gmtime(t))
        return f"https://www.{domain}/{ymd}/{slug}-{n:x}/"

    # -- related articles
    def related_block(self, t0: int, topic: str, n: int, ident: str) -> str:
        r = self.r
        title = self.sentence(self._int(6, 13), topic, title=True)
        excerpt = self.sentence(self._int(25, 40), topic)
        if len(excerpt) > 200 and r() < 0.5:  # feeds cut related excerpts
            excerpt = excerpt[:200].rsplit(" ", 1)[0]
        t = max(DATE_FROM, t0 - int(r() * 14 * 86400))
        name, dom = self.provider()
        url = self.url(dom, t, title, n)
        amp = f"\n    ampWebUrl: {_q(url + 'amp/')}" if r() < 0.3 else ""
        img = ""
        if r() < 0.6:
            img = (f"\n    images:\n      - url: \"https://cdn.{dom}/img/{ident}/{n:x}.jpg\""
                   f"\n        width: {self._pick((640, 800, 1200, 2048))}"
                   f"\n        height: {self._pick((360, 450, 675, 1151))}"
                   "\n        isCached: true")
        return (f"  - title: {_q(title)}\n    excerpt: {_q(excerpt)}\n"
                f"    publishedDateTime: {_date(t)}\n    webUrl: {_q(url)}{amp}\n"
                f"    type: article\n    provider:\n      name: {_q(name)}\n"
                f"      domain: {dom}\n    quality: {self._int(10, 90)}{img}")

    def pooled(self, k: int) -> str:
        """Related article ``k`` of the shared pool: identical wherever it appears."""
        block = self.pool.get(k)
        if block is None:
            saved = self.r
            self.r = random.Random(self.pool_seed + k).random
            try:
                t0 = self._int(DATE_FROM, DATE_TO)
                topic = self._pick(TOPIC_NAMES)
                block = self.related_block(t0, topic, 0x100000 + k, f"pool{k}")
            finally:
                self.r = saved
            self.pool[k] = block
        return block

    # -- one clipping
    def clipping(self, i: int) -> tuple[str, str]:
        # Each file has its own random stream, so files can be made in any order and
        # in several processes with the same result.
        self.rng = random.Random(self.seed * 1_000_003 + i)
        self.r = self.rng.random
        r, pick = self.r, self._pick
        topic = self.rng.choices(TOPIC_NAMES, cum_weights=self.topic_pick_cw, k=1)[0]
        topics = [topic]
        for _ in range(pick((0, 1, 1, 2))):
            other = pick(TOPIC_NAMES)
            if other not in topics:
                topics.append(other)
        title = self.sentence(self._int(6, 14), topic, title=True)
        excerpt = self.sentence(max(10, min(80, int(self.rng.gauss(38, 9)))), topic)
        t = self._int(DATE_FROM, DATE_TO)
        name, dom = self.provider()
        url = self.url(dom, t, title, i)
        ident = f"{self.rng.getrandbits(64):016x}"
        u = r()
        if u < 0.8:
            urls = f"originalUrl: {_q(url)}\nwebUrl: {_q(url)}"
        elif u < 0.95:
            amp = url.replace(f"https://www.{dom}/", f"https://www.{dom}/amp/", 1)
            urls = (f"sourceUrl: {url}\nampUrl: {amp}\n"
                    f"cdnAmpUrl: https://{dom.replace('.', '-')}.cdn.ampproject.org/c/s/"
                    f"{amp[len('https://'):]}")
        else:
            urls = f"webUrl: {_q(url)}\nampWebUrl: {_q(url + 'amp/')}"
        heat = pick((-1, -1, -1, 0, self._int(1, 500)))
        parts = [
            f"---\ncategory: news\ntitle: {_q(title)}\nexcerpt: {_q(excerpt)}\n"
            f"publishedDateTime: {_date(t)}\n{urls}\ntype: article\n"
            f"quality: {self._int(5, 95)}\nheat: {heat}\n"
            f"published: {'true' if r() < 0.2 else 'false'}\n\n"
            f"provider:\n  name: {_q(name)}\n  domain: {dom}\n\ntopics:\n"
            + "".join(f"  - {t_}\n" for t_ in topics)
        ]
        if r() < 0.85:
            parts.append(
                f"\nimages:\n  - url: \"https://cdn.{dom}/media/{ident}.jpg\"\n"
                f"    width: {pick((700, 760, 980, 1600))}\n"
                f"    height: {pick((368, 393, 551, 1035))}\n    isCached: true\n")
        u = r()
        n_rel = 0 if u < 0.15 else 1 if u < 0.35 else 2 if u < 0.6 else 3 if u < 0.8 \
            else 4 if u < 0.92 else 5
        if n_rel:
            parts.append("\nrelated:\n")
            for j in range(n_rel):
                if r() < 0.25:
                    parts.append(self.pooled(int(r() * self.pool_size)))
                else:
                    parts.append(self.related_block(t, topic, i * 8 + j, ident))
                parts.append("\n")
        blob = base64.b64encode(self.rng.randbytes(self._int(300, 560))).decode("ascii")
        parts.append(f"\nsecured: \"{blob}\"\n---\n")
        return f"{i:07d}_{ident}.txt", "".join(parts)


def _write_range(out_dir: str, count: int, seed: int, start: int, stop: int,
                 progress: bool = False) -> int:
    gen = Generator(seed, count)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0)
    step = max(1, (stop - start) // 20)
    for i in range(start, stop):
        name, text = gen.clipping(i)
        fd = os.open(os.path.join(out_dir, name), flags, 0o644)
        try:
            os.write(fd, text.encode("utf-8"))
        finally:
            os.close(fd)
        if progress and (i + 1 - start) % step == 0:
            sys.stderr.write(f"\r{i + 1 - start}/{stop - start}")
    if progress:
        sys.stderr.write("\n")
    return stop - start


def generate(out_dir: str, count: int, seed: int = 1, progress: bool = False,
             jobs: int | None = None) -> float:
    """Write ``count`` clippings into ``out_dir``; return the seconds it took.

    ``jobs`` processes share the work (default: one per CPU, one for small counts);
    the files are the same whatever the number of jobs.
    """
    started = time.perf_counter()
    os.makedirs(out_dir, exist_ok=True)
    if jobs is None:
        jobs = 1
    jobs = max(1, min(jobs, count))
    if jobs == 1:
        _write_range(out_dir, count, seed, 0, count, progress)
    else:
        import multiprocessing as mp

        bounds = [count * k // jobs for k in range(jobs + 1)]
        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp
        with ctx.Pool(jobs) as pool:
            pool.starmap(_write_range, [(out_dir, count, seed, bounds[k], bounds[k + 1],
                                         progress and k == 0) for k in range(jobs)])
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("out_dir", help="folder to write the clippings into (created)")
    ap.add_argument("--count", "-n", type=int, default=1000, help="number of clippings")
    ap.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    ap.add_argument("--jobs", "-j", type=int, default=None,
                    help="processes (default 1; the output is the same for any number)")
    ap.add_argument("--progress", action="store_true", help="progress on stderr")
    args = ap.parse_args(argv)
    if args.count < 1:
        ap.error("--count must be at least 1")
    if os.path.isdir(args.out_dir) and any(os.scandir(args.out_dir)):
        ap.error(f"{args.out_dir} is not empty")
    seconds = generate(args.out_dir, args.count, args.seed, progress=args.progress,
                       jobs=args.jobs)
    print(f"wrote {args.count} clippings to {args.out_dir} in {seconds:.1f} s "
          f"({args.count / seconds:,.0f} files/s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
