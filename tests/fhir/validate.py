"""Every sandbox persona's answer in FHIR, validated as HL7 FHIR R4B by fhir.resources.

    python3 tests/fhir/validate.py GATEWAY_URL ADMIN_URL TOKEN

Asks the gateway (format=fhir) for each persona the sandbox's admin API lists, as an outpatient
and an inpatient visit, and validates each body: a Bundle (confirmed, none_found, stale) or an
OperationOutcome (unavailable, HTTP 503). Also checks what FHIR JSON forbids and a parser may
let through: no empty arrays, objects or strings. Prints a summary; exits 1 on any failure.
"""

import json
import sys
import urllib.error
import urllib.request
from collections import Counter

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.operationoutcome import OperationOutcome


def empties(v, path="$"):
    if isinstance(v, dict):
        if not v:
            yield path
        for k, x in v.items():
            yield from empties(x, f"{path}.{k}")
    elif isinstance(v, list):
        if not v:
            yield path
        for i, x in enumerate(v):
            yield from empties(x, f"{path}[{i}]")
    elif isinstance(v, str) and not v.strip():
        yield path


def ask(gateway, token, insured, care):
    body = json.dumps({"insured": insured, "setting": {"care": care}}).encode()
    req = urllib.request.Request(
        f"{gateway}/v1/subsidy-checks?format=fhir",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def main():
    gateway, admin, token = sys.argv[1:4]
    with urllib.request.urlopen(f"{admin}/admin/personas", timeout=30) as r:
        personas = json.load(r)["personas"]
    failures = []
    kinds = Counter()
    for p in personas:
        for care in ("outpatient", "inpatient"):
            status, v = ask(gateway, token, p["insured"], care)
            where = f"{p['id']} {care} (HTTP {status})"
            try:
                if v.get("resourceType") == "Bundle":
                    Bundle.model_validate(v)
                    kinds["Bundle " + ",".join(sorted({e["resource"]["resourceType"] for e in v.get("entry", [])})) ] += 1
                elif v.get("resourceType") == "OperationOutcome" and status == 503:
                    OperationOutcome.model_validate(v)
                    kinds["OperationOutcome (503)"] += 1
                else:
                    raise ValueError(f"not a FHIR answer: {str(v)[:200]}")
                bad = list(empties(v))
                if bad:
                    raise ValueError(f"empty values at {bad}")
            except Exception as e:  # noqa: BLE001 - every failure is reported
                failures.append(f"{where}: {e}")
    # PMH failing: a persona answered before comes back stale (a Bundle with a warning), one
    # never asked is unavailable (an OperationOutcome, HTTP 503).
    faults = urllib.request.Request(
        f"{admin}/admin/faults", data=b'{"mode": "error"}', method="PUT",
        headers={"Content-Type": "application/json"},
    )
    urllib.request.urlopen(faults, timeout=30).close()
    never_asked = {"insurer_number": "06139999", "number": "8642097531", "birthdate": "1999-09-09"}
    for where, insured, care in (
        ("stale P0001", personas[0]["insured"], "outpatient"),
        ("unavailable", never_asked, "outpatient"),
    ):
        status, v = ask(gateway, token, insured, care)
        try:
            kind = v.get("resourceType")
            (Bundle if kind == "Bundle" else OperationOutcome).model_validate(v)
            bad = list(empties(v))
            if bad:
                raise ValueError(f"empty values at {bad}")
            kinds[f"{kind} ({where}, HTTP {status})"] += 1
        except Exception as e:  # noqa: BLE001
            failures.append(f"{where} (HTTP {status}): {e}")
    print(f"FHIR R4B: {sum(kinds.values())} answers ({len(personas)} personas) validated")
    for k, n in sorted(kinds.items()):
        print(f"  {n:5d}  {k}")
    for f in failures[:20]:
        print("FAIL", f)
    if failures:
        print(f"{len(failures)} answers failed")
        sys.exit(1)


if __name__ == "__main__":
    main()
