#!/usr/bin/env python3
"""The drift corpus of issue #14: article pages, each with noise variants and edit variants.

    benches/drift.py DIR [N]      # N articles (default 200) into DIR/a<NNN>/

Each article directory holds `base.html`, `noise-1.html` … `noise-5.html` and `edit-change.html`,
`edit-add.html`, `edit-remove.html`. A noise variant is what a site serves the same article as on
another day: a new script nonce and CSRF token, a new "updated" time and page-generation footer, a
different ad from a rotation, the "related" links in another order, and (every other variant)
its markup re-indented. An edit variant carries fresh noise too, plus one real change to the
article's text: a paragraph of at least 30 words rewritten, added or removed. `cargo bench --bench
drift -- DIR` reads the pairs (base, variant) and counts how linkkeep classifies them; the target
is at least 99 % of noise pairs `cosmetic` and at least 95 % of edit pairs `changed`.

Deterministic: the same N gives the same bytes. Prose comes from gen.py's Zipf vocabulary.
"""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import _sentence, _words  # noqa: E402

MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
ADS = [
    "Sponsored: Save 40% on cloud backup plans this week only. Sign up today and get a free month.",
    "Advertisement: The conference for policy makers returns to Geneva. Early-bird tickets on sale.",
    "Sponsored: Learn data science online. Enrol in our certificate programme before the deadline.",
    "Advertisement: Fast, secure hosting for your organisation. Try it free for thirty days.",
    "Sponsored: New report on broadband in developing countries. Download the executive summary.",
    "Advertisement: Subscribe to our newsletter for the week's most important stories in your inbox.",
]


def paragraph(rng, min_words=40):
    out = []
    while sum(len(s.split()) for s in out) < min_words or len(out) < 2:
        out.append(_sentence(rng))
    return " ".join(out)


def article(i):
    """The article's fixed parts: title, author, paragraphs, related links, nav."""
    rng = random.Random(7919 * i + 14)
    return {
        "title": " ".join(_words(rng, rng.randint(4, 9))).capitalize(),
        "author": " ".join(_words(rng, 2)).title(),
        "paragraphs": [paragraph(rng, rng.randint(40, 120)) for _ in range(rng.randint(6, 16))],
        "related": [(" ".join(_words(rng, rng.randint(3, 7))).capitalize(), rng.randint(1000, 99999))
                    for _ in range(rng.randint(4, 8))],
        "nav": [" ".join(_words(rng, rng.randint(1, 2))).title() for _ in range(rng.randint(6, 12))],
    }


def render(a, noise_seed):
    """The page as served once: A's text with the noise of NOISE_SEED."""
    rng = random.Random(noise_seed)
    nonce = "%032x" % rng.getrandbits(128)
    token = "%064x" % rng.getrandbits(256)
    day, month, year = rng.randint(1, 28), rng.choice(MONTHS), rng.choice([2025, 2026])
    hh, mm = rng.randint(0, 23), rng.randint(0, 59)
    related = list(a["related"])
    rng.shuffle(related)
    ad = rng.choice(ADS)
    nl, ind = ("\n", "  ") if noise_seed % 2 else ("\n\n", "\t")
    p = [f'<!DOCTYPE html>{nl}<html lang="en">{nl}<head>{nl}<meta charset="utf-8">{nl}',
         f'<title>{a["title"]}</title>{nl}<meta name="csrf-token" content="{token}">{nl}',
         f'<script nonce="{nonce}">window.__STATE__={{"rid":"{nonce[:16]}","t":{rng.getrandbits(40)}}};</script>{nl}',
         f'<link rel="stylesheet" href="/static/site.css?v={rng.randint(1, 999)}">{nl}</head>{nl}<body>{nl}',
         f'<header>{nl}<nav class="site-nav"><ul>{nl}']
    p += [f'{ind}<li><a href="/{n.lower().replace(" ", "-")}/">{n}</a></li>{nl}' for n in a["nav"]]
    p.append(f'</ul></nav>{nl}</header>{nl}<div class="ad ad-banner" id="ad-{rng.randint(1, 9999)}">'
             f'<a href="https://ads.example.net/c?{nonce[:8]}">{ad}</a></div>{nl}')
    p.append(f'<main>{nl}<article>{nl}<h1>{a["title"]}</h1>{nl}'
             f'<p class="byline">By {a["author"]} &middot; Updated {day} {month} {year}, {hh:02d}:{mm:02d} UTC</p>{nl}')
    p += [f'{ind}<p>{text}</p>{nl}' for text in a["paragraphs"]]
    p.append(f'</article>{nl}<aside class="related" aria-label="Related articles"><h3>Related</h3><ul>{nl}')
    p += [f'{ind}<li><a href="/story/{n}/">{t}</a></li>{nl}' for t, n in related]
    p.append(f'</ul></aside>{nl}<form class="comment" method="post" action="/comment">'
             f'<input type="hidden" name="csrf" value="{token}"><textarea name="body"></textarea>'
             f'<button>Post a comment</button></form>{nl}</main>{nl}'
             f'<footer>{nl}<p>Page generated in {rng.randint(5, 900)} ms, request {nonce[16:]}.</p>{nl}'
             f'<p><a href="/about/">About</a> <a href="/privacy/">Privacy</a></p>{nl}</footer>{nl}</body>{nl}</html>{nl}')
    return "".join(p).encode()


def edits(a, i):
    """The three edited versions of article A: one paragraph rewritten, one added, one removed."""
    rng = random.Random(104729 * i + 3)
    ps = a["paragraphs"]
    k = rng.randrange(len(ps))
    changed = dict(a, paragraphs=ps[:k] + [paragraph(rng, 30)] + ps[k + 1:])
    added = dict(a, paragraphs=ps[:k] + [paragraph(rng, 30)] + ps[k:])
    # A paragraph of at least 30 words goes (every paragraph has at least 40).
    removed = dict(a, paragraphs=ps[:k] + ps[k + 1:])
    return {"change": changed, "add": added, "remove": removed}


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    out, n = argv[1], int(argv[2]) if len(argv) > 2 else 200
    for i in range(n):
        d = os.path.join(out, f"a{i:03d}")
        os.makedirs(d, exist_ok=True)
        a = article(i)
        files = {"base.html": render(a, 10 * i)}
        for k in range(1, 6):
            files[f"noise-{k}.html"] = render(a, 10 * i + k)
        for k, (name, edited) in enumerate(edits(a, i).items()):
            files[f"edit-{name}.html"] = render(edited, 10 * i + 6 + k)
        for name, body in files.items():
            with open(os.path.join(d, name), "wb") as f:
                f.write(body)


if __name__ == "__main__":
    main(sys.argv)
