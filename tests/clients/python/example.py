"""A receipt computer's first integration with pmh-gateway, through the Python client generated
from the gateway's own OpenAPI document (openapi-python-client). A vendor's starting point:
check a patient, read the subsidies in 第1公費 order with their numbers and caps, quote the
visit's window charge, commit it, retry the commit (it is idempotent by visit id), read the
certificate's month from the ledger, and handle `stale` and `unavailable` answers.

    python example.py GATEWAY_URL TOKEN INSURER_NUMBER SYMBOL NUMBER BRANCH BIRTHDATE

Against the demo, tests/clients/run passes a persona with three subsidies and, with
PMH_SANDBOX_ADMIN set, makes the sandbox fail to show the last step.
"""

import datetime
import json
import os
import sys
import urllib.request

from pmh_gateway_client import AuthenticatedClient
from pmh_gateway_client.api.charges import commit_charge, quote_charge
from pmh_gateway_client.api.ledger import find_ledger_month
from pmh_gateway_client.api.subsidy_checks import create_subsidy_check
from pmh_gateway_client.models import (
    AnswerSource,
    AnswerStatus,
    ChargeCommitRequest,
    ChargeInsuranceDto,
    ChargePartDto,
    ChargeQuoteRequest,
    ChargeQuoteResponse,
    ChargeVisitDto,
    ChargeVisitWithId,
    InsuranceKindDto,
    InsuredDto,
    LedgerDto,
    LedgerLookup,
    Problem,
    SubsidyCheckRequest,
    SubsidyCheckResponse,
)
from pmh_gateway_client.types import UNSET


def yen(v):
    return "—" if v in (None, UNSET) else f"{v:,}円"


def check(client, insured, service_date=UNSET):
    """One check; the answer for any status the API gives (200 and 503 are both answers)."""
    r = create_subsidy_check.sync_detailed(
        client=client, body=SubsidyCheckRequest(insured=insured, service_date=service_date)
    )
    if isinstance(r.parsed, Problem):
        raise SystemExit(f"refused: {r.parsed.type_} {r.parsed.detail}")
    assert isinstance(r.parsed, SubsidyCheckResponse), r.status_code
    return r.status_code, r.parsed


def show(answer):
    print(f"status {answer.status.value}, source {answer.source.value if answer.source else '—'}")
    if answer.status == AnswerStatus.UNAVAILABLE:
        # Never "no subsidy": unknown. The clerk asks for the paper certificate.
        print(f"  unavailable ({answer.upstream_problem.kind.value}): {answer.advice}")
        return
    if answer.status == AnswerStatus.NONE_FOUND:
        print(f"  none found — unknown, not 'no subsidy': {answer.advice}")
    if answer.source == AnswerSource.STALE:
        print(f"  stale (PMH failing; {answer.age_seconds} s old): {answer.advice}")
    for s in answer.subsidies:
        caps = s.copay.caps
        print(
            f"  第{s.order}公費 {s.programme_short_name or s.programme_name}: "
            f"payer {s.payer_number}, recipient {s.recipient_number or '—'}, "
            f"method {s.copay.method.value if s.copay.method else 'unknown'}, "
            f"caps visit {yen(caps.per_visit)} / day {yen(caps.per_day)} / month {yen(caps.per_month)}"
            + (" (shared: 管理票)" if s.copay.monthly_cap_shared else "")
        )


def main():
    base, token, insurer, symbol, number, branch, birthdate = sys.argv[1:8]
    client = AuthenticatedClient(base_url=base, token=token, raise_on_unexpected_status=True)
    insured = InsuredDto(
        insurer_number=insurer,
        symbol=symbol or UNSET,
        number=number,
        branch=branch or UNSET,
        birthdate=datetime.date.fromisoformat(birthdate),
    )

    print("== 1. check the patient")
    status, answer = check(client, insured)
    show(answer)
    assert status == 200 and answer.status == AnswerStatus.CONFIRMED and answer.subsidies

    print("== 2. quote the visit's window charge (parts name subsidies by the answer's order)")
    today = answer.service_date
    visit_id = f"EXAMPLE-{today:%Y%m%d}-{os.getpid()}"
    insurance = ChargeInsuranceDto(kind=InsuranceKindDto.HEALTH_INSURANCE, share_percent=30)
    parts = [ChargePartDto(points=1520, subsidies=[s.order for s in answer.subsidies])]
    quoted = ChargeQuoteRequest(
        check_id=answer.check_id,
        insurance=insurance,
        visit=ChargeVisitDto(visit_id=visit_id, date=today, parts=parts),
    )
    # A commit is the same body, its visit id required (ChargeVisitWithId).
    body = ChargeCommitRequest(
        check_id=answer.check_id,
        insurance=insurance,
        visit=ChargeVisitWithId(visit_id=visit_id, date=today, parts=parts),
    )
    q = quote_charge.sync_detailed(client=client, body=quoted).parsed
    assert isinstance(q, ChargeQuoteResponse), q
    print(f"  window {yen(q.window_charge)} (before rounding {yen(q.charge_before_rounding)})")
    for s in q.subsidies:
        print(f"  {s.short_name}: this visit {yen(s.this_visit)}")

    print("== 3. commit, then retry the commit (a lost answer): the same visit, once")
    first = commit_charge.sync_detailed(client=client, body=body)
    again = commit_charge.sync_detailed(client=client, body=body)
    assert isinstance(first.parsed, ChargeQuoteResponse) and isinstance(again.parsed, ChargeQuoteResponse)
    print(f"  first HTTP {first.status_code}, version {first.parsed.committed.version}")
    print(f"  retry HTTP {again.status_code}, repeated {again.parsed.committed.repeated}")
    assert again.parsed.committed.repeated and again.parsed.window_charge == first.parsed.window_charge

    print("== 4. read the month of each shared cap from the ledger")
    for s in answer.subsidies:
        if not s.copay.monthly_cap_shared:
            continue
        m = find_ledger_month.sync_detailed(
            client=client,
            body=LedgerLookup(
                payer_number=s.payer_number,
                recipient_number=s.recipient_number,
                month=f"{today:%Y-%m}",
            ),
        ).parsed
        assert isinstance(m, LedgerDto), m
        print(f"  {s.programme_short_name}: total {yen(m.total)} (own {yen(m.own)}, others {yen(m.others)}), remaining {yen(m.remaining)}")
        assert m.own >= 1

    admin = os.environ.get("PMH_SANDBOX_ADMIN")
    if admin:
        print("== 5. PMH fails: the same patient on another day is stale, a new one unavailable")
        faults = lambda mode: urllib.request.urlopen(  # noqa: E731 - the demo's sandbox only
            urllib.request.Request(
                f"{admin}/admin/faults",
                data=json.dumps({"mode": mode}).encode(),
                method="PUT",
                headers={"Content-Type": "application/json"},
            )
        ).close()
        faults("error")
        try:
            # Another day is not in the cache: PMH is asked, fails, and the last confirmed
            # answer stands in, marked stale.
            status, stale = check(client, insured, today + datetime.timedelta(days=1))
            show(stale)
            assert status == 200 and stale.source == AnswerSource.STALE
            stranger = InsuredDto(insurer_number="06139999", number="8642097531", birthdate=datetime.date(1999, 9, 9))
            status, unknown = check(client, stranger)
            show(unknown)
            assert status == 503 and unknown.status == AnswerStatus.UNAVAILABLE
        finally:
            faults("ok")
    print("example done")


if __name__ == "__main__":
    main()
