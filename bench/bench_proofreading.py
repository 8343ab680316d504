"""Benchmark the redline and the automated pre-checks on long Chinese texts.

    .venv/bin/python bench/bench_proofreading.py [--characters 20000] [--edits 50] [--terms 10000] [--runs 20]

Builds a text of N characters, changes it in scattered places (replacements, insertions and deletions), and times
review.redline.diff (diff-match-patch with a semantic clean-up); then, in a throwaway SQLite database holding
--terms sensitive terms, times every pre-check over the text (review.prechecks.check), and the terms alone.
Median and worst of several runs.
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COMMON = (
    "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本"
    "去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总"
    "次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权"
    "收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连"
    "断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严"
)


def setup_django(database: str) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def texts(characters: int, edits: int, seed: int = 2026) -> tuple[str, str]:
    generator = random.Random(seed)
    sentences, length = [], 0
    while length < characters:
        sentence = "".join(generator.choice(COMMON) for _ in range(generator.randint(12, 30))) + "。"
        sentences.append(sentence)
        length += len(sentence)
    old = "".join(sentences)[:characters]
    new = list(old)
    for position in sorted(generator.sample(range(len(new)), edits), reverse=True):
        kind = generator.choice(("replace", "insert", "delete"))
        if kind == "replace":
            new[position] = generator.choice(COMMON)
        elif kind == "insert":
            new.insert(position, "新增内容")
        else:
            del new[position : position + 3]
    return old, "".join(new)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--characters", type=int, default=20_000)
    parser.add_argument("--edits", type=int, default=50)
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    directory = tempfile.TemporaryDirectory(prefix="imprimatur-bench-")
    setup_django(f"{directory.name}/bench.sqlite3")
    from django.core.management import call_command

    from review import prechecks
    from review.models import SensitiveTerm
    from review.redline import diff

    old, new = texts(args.characters, args.edits)
    times, operations = [], []
    for _run in range(args.runs):
        started = time.perf_counter()
        operations = diff(old, new)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"redline of {len(old):,} characters with {args.edits} scattered edits: "
        f"median {statistics.median(times):.1f} ms, worst {max(times):.1f} ms over {args.runs} runs "
        f"({len(operations)} operations)"
    )

    call_command("migrate", verbosity=0)
    generator = random.Random(7)
    terms = {"".join(generator.choice(COMMON) for _ in range(generator.randint(2, 5))) for _ in range(args.terms)}
    SensitiveTerm.objects.bulk_create(SensitiveTerm(term=term, category="测试") for term in terms)
    body = "".join(f"<p>{old[start : start + 200]}</p>" for start in range(0, len(old), 200))
    for label, run in (
        ("every pre-check", lambda: prechecks.check(title="标题", body=body, channels=["wechat", "weibo"])),
        (f"{len(terms):,} terms alone", lambda: prechecks.terms(old)),
    ):
        run()  # the first run builds the automaton, once for as long as the terms do not change
        times, found = [], []
        for _run in range(args.runs):
            started = time.perf_counter()
            found = run()
            times.append((time.perf_counter() - started) * 1000)
        print(
            f"{label} over {len(old):,} characters: median {statistics.median(times):.1f} ms, "
            f"worst {max(times):.1f} ms ({len(found)} findings)"
        )
    directory.cleanup()


if __name__ == "__main__":
    main()
