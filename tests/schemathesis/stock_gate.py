"""Reads a stock schemathesis run's JUnit report (tests/schemathesis/stock) and fails unless
every finding is a schema-valid request refused with 422 for a rule no JSON Schema can state.

Prints each operation's findings by problem type and reason (the numbers and the reasons vary
with schemathesis's random seed; the kinds of finding may not).
"""

import collections
import json
import re
import sys
import xml.etree.ElementTree as ET

# The problem types a schema-valid request may be refused with: 422, rules the document states
# in words only (README, "Errors").
STATABLE_ONLY_IN_WORDS = {
    "/problems/inconsistent-request",
    "/problems/cannot-compute",
    "/problems/unreadable-result",
    "/problems/unreadable-file",
}

CASE = re.compile(r"^\d+\. Test Case ID: \S+", re.M)
CHECK = re.compile(r"^- (ST\d+) (.*)$", re.M)
STATUS = re.compile(r"^\[(\d{3})\] ", re.M)
BODY = re.compile(r"^\s*`(\{.*\})`\s*$", re.M)
TYPE = re.compile(r'"type":"(/problems/[a-z-]+)"')
REASON = re.compile(r'"reason":"((?:[^"\\]|\\.)*)"')


def main(paths):
    tolerated = collections.defaultdict(collections.Counter)
    wrong = []
    cases = 0
    for path in paths:
        root = ET.parse(path).getroot()
        for tc in root.iter("testcase"):
            cases += 1
            for f in tc:
                if f.tag == "error":
                    wrong.append(f"{tc.get('name')}: error: {(f.text or f.get('message') or '')[:500]}")
                    continue
                if f.tag != "failure":
                    continue
                text = f.text or f.get("message") or ""
                blocks = CASE.split(text)[1:] or [text]
                for block in blocks:
                    checks = CHECK.findall(block)
                    status = STATUS.search(block)
                    body = BODY.search(block)
                    problem = {}
                    if body:
                        try:
                            problem = json.loads(body.group(1))
                        except ValueError:
                            pass
                    if not problem:
                        # A long answer is cut short in the report: its type and first reason.
                        kind = TYPE.search(block)
                        reason = REASON.search(block)
                        if kind:
                            problem = {"type": kind.group(1), "errors": [{"reason": reason.group(1) if reason else "(cut short)"}]}
                    ok = (
                        checks
                        and all(code == "ST202" for code, _ in checks)
                        and status is not None
                        and status.group(1) == "422"
                        and problem.get("type") in STATABLE_ONLY_IN_WORDS
                    )
                    if ok:
                        reasons = sorted({e.get("reason", "") for e in problem.get("errors", [])}) or [problem.get("detail", "")]
                        for r in reasons:
                            # The reason without the numbers schemathesis drew.
                            key = re.sub(r"\d{3,}", "N", r)
                            tolerated[tc.get("name")][f"{problem['type']}: {key}"] += 1
                    else:
                        wrong.append(f"{tc.get('name')}:\n{block.strip()[:1500]}")
    print(f"== stock schemathesis: {cases} operations in the report")
    for op in sorted(tolerated):
        for reason, n in sorted(tolerated[op].items()):
            print(f"   422 (a rule the document states in words) {op}: {reason}  ×{n}")
    if wrong:
        print(f"== {len(wrong)} finding(s) outside what the document leaves to words:")
        for w in wrong:
            print(w)
            print("--")
        return 1
    print("== nothing else: no 400 to a request the document allows, no 5xx, every answer as documented")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
