#!/usr/bin/env python3
"""Checks the results of an Autobahn|Testsuite fuzzingclient run.

    check.py target/autobahn/report/index.json scripts/autobahn/allowed.json

Prints one row per section (cases, OK, NON-STRICT, INFORMATIONAL, failed),
then every case that is not OK, and exits 1 when a case is neither OK nor
listed in allowed.json with the very results it got, or when a section of
the run has no results at all.

A case has two results: `behavior` (what the server did with the frames)
and `behaviorClose` (how the connection was closed). A case counts as
failed if either is not OK, NON-STRICT or INFORMATIONAL; otherwise as
INFORMATIONAL if either is, then NON-STRICT, then OK.
"""

import json
import sys

SECTIONS = ["1", "2", "3", "4", "5", "6", "7", "9", "10"]
PASSING = ("OK", "NON-STRICT", "INFORMATIONAL")


def case_key(case):
    return tuple(int(n) for n in case.split("."))


def category(result):
    found = (result["behavior"], result["behaviorClose"])
    if any(r not in PASSING for r in found):
        return "failed"
    for level in ("INFORMATIONAL", "NON-STRICT"):
        if level in found:
            return level
    return "OK"


def main(index_path, allowed_path):
    with open(index_path) as f:
        index = json.load(f)
    with open(allowed_path) as f:
        allowed = json.load(f)
    if len(index) != 1:
        print("expected the results of one server, got %s" % sorted(index))
        return 1
    (agent, results), = index.items()

    columns = ["OK", "NON-STRICT", "INFORMATIONAL", "failed"]
    table = {s: dict.fromkeys(columns, 0) for s in SECTIONS}
    problems = []
    notes = []
    for case in sorted(results, key=case_key):
        result = results[case]
        section = case.split(".")[0]
        kind = category(result)
        table.setdefault(section, dict.fromkeys(columns, 0))[kind] += 1
        got = {"behavior": result["behavior"], "behaviorClose": result["behaviorClose"]}
        if kind == "OK":
            if case in allowed:
                notes.append("%s is OK now; allowed.json may drop it" % case)
            continue
        expected = allowed.get(case)
        line = "%-7s %-13s close %-13s code %s" % (
            case, got["behavior"], got["behaviorClose"], result.get("remoteCloseCode"))
        if expected and all(expected[k] == v for k, v in got.items()):
            notes.append("allowed  " + line + ": " + expected["reason"])
        else:
            problems.append("NOT OK   " + line)

    print("Autobahn|Testsuite results for %s" % agent)
    print()
    print("| section | cases | " + " | ".join(columns) + " |")
    print("|---|---|" + "---|" * len(columns))
    totals = dict.fromkeys(columns, 0)
    for section in sorted(table, key=int):
        counts = table[section]
        if sum(counts.values()) == 0:
            problems.append("section %s has no results" % section)
        for c in columns:
            totals[c] += counts[c]
        print("| %s | %d | %s |" % (
            section, sum(counts.values()), " | ".join(str(counts[c]) for c in columns)))
    print("| all | %d | %s |" % (
        sum(totals.values()), " | ".join(str(totals[c]) for c in columns)))
    print()
    for n in notes:
        print(n)
    for p in problems:
        print(p)
    if problems:
        print("\n%d case(s) neither OK nor allowed (scripts/autobahn/allowed.json)" % len(problems))
        return 1
    print("\nevery case OK or allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
