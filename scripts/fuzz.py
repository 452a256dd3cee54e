#!/usr/bin/env python3
"""`make fuzz`: runs libFuzzer on every parser target of `shard-fuzz` for a set time each (after `make fuzz` built
it with `--sanitize=fuzzer`), growing a working corpus in .build-fuzz/corpus/TARGET from the committed seeds in
Tests/Fuzz/Corpus/TARGET. A crash, a hang past 10 s or a broken round trip stops the run; its reproducer is written
to Tests/Fuzz/Findings/TARGET/ (commit it: FuzzRegressionTests replays every finding). Prints the figures as a
Markdown table and, with --write-doc, puts them into docs/reliability.md."""
import argparse
import os
import re
import subprocess
import sys

from reliability_doc import replace_section

TARGETS = ["request", "request-head", "peer-frame", "gguf", "vocabulary"]
BINARY = ".build-fuzz/release/shard-fuzz"


def run(target, seconds):
    corpus = os.path.join(".build-fuzz", "corpus", target)
    findings = os.path.join("Tests", "Fuzz", "Findings", target)
    os.makedirs(corpus, exist_ok=True)
    os.makedirs(findings, exist_ok=True)
    seeds = os.path.join("Tests", "Fuzz", "Corpus", target)
    if target == "gguf":  # a model file: made here, not committed
        seeds = os.path.join(".build-fuzz", "seeds", "gguf")
        subprocess.run([sys.executable, "scripts/make-fuzz-seeds.py", "--gguf-dir", seeds], check=True)
    command = [BINARY, f"-max_total_time={seconds}", "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1",
               f"-artifact_prefix={findings}/", corpus, seeds]
    result = subprocess.run(command, env=dict(os.environ, SHARD_FUZZ_TARGET=target,
                                                           SWIFT_BACKTRACE="enable=no"), capture_output=True, text=True)
    log = result.stderr
    stat = lambda name: (re.findall(rf"stat::{name}:\s+(\d+)", log) or ["?"])[-1]
    coverage = (re.findall(r"cov: (\d+)", log) or ["?"])[-1]
    return {"target": target, "ok": result.returncode == 0, "runs": stat("number_of_executed_units"),
            "per_second": stat("average_exec_per_sec"), "coverage": coverage, "rss": stat("peak_rss_mb"),
            "corpus": len(os.listdir(corpus)), "log": log}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--write-doc", action="store_true")
    arguments = parser.parse_args()
    results = [run(target, arguments.seconds) for target in TARGETS]
    lines = ["| target | time | inputs run | per second | coverage (edges) | corpus | peak RSS | result |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r['target']} | {arguments.seconds} s | {r['runs']} | {r['per_second']} | {r['coverage']} | "
                     f"{r['corpus']} | {r['rss']} MB | {'clean' if r['ok'] else 'FINDING'} |")
    table = "\n".join(lines)
    print(table)
    if arguments.write_doc:
        replace_section("fuzz", table)
    failed = [r for r in results if not r["ok"]]
    for r in failed:
        print(f"\n--- {r['target']} ---\n" + r["log"][-4000:], file=sys.stderr)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
