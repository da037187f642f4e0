// A receipt computer's first integration with pmh-gateway, in TypeScript: the types generated
// from the gateway's own OpenAPI document (openapi-typescript, `npm run generate`), the calls
// through openapi-fetch. A vendor's starting point: check a patient, read the subsidies in
// 第1公費 order with their numbers and caps, quote the visit's window charge, commit it, retry
// the commit (idempotent by visit id), read the certificate's month from the ledger, and handle
// `stale` and `unavailable` answers.
//
//   node dist/example.js GATEWAY_URL TOKEN INSURER_NUMBER SYMBOL NUMBER BRANCH BIRTHDATE
//
// Against the demo, tests/clients/run passes a persona with three subsidies and, with
// PMH_SANDBOX_ADMIN set, makes the sandbox fail to show the last step.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Answer = components["schemas"]["SubsidyCheckResponse"];
type Insured = components["schemas"]["InsuredDto"];

const yen = (v: number | null | undefined) => (v == null ? "—" : `${v.toLocaleString("en")}円`);

function fail(message: string): never {
  throw new Error(message);
}

function show(a: Answer) {
  console.log(`status ${a.status}, source ${a.source ?? "—"}`);
  switch (a.status) {
    case "unavailable":
      // Never "no subsidy": unknown. The clerk asks for the paper certificate.
      console.log(`  unavailable (${a.upstream_problem?.kind}): ${a.advice}`);
      return;
    case "none_found":
      console.log(`  none found — unknown, not 'no subsidy': ${a.advice}`);
      break;
    case "confirmed":
      break;
  }
  if (a.source === "stale") console.log(`  stale (PMH failing; ${a.age_seconds} s old): ${a.advice}`);
  for (const s of a.subsidies) {
    const c = s.copay.caps;
    console.log(
      `  第${s.order}公費 ${s.programme_short_name ?? s.programme_name}: payer ${s.payer_number}, ` +
        `recipient ${s.recipient_number ?? "—"}, method ${s.copay.method ?? "unknown"}, ` +
        `caps visit ${yen(c.per_visit)} / day ${yen(c.per_day)} / month ${yen(c.per_month)}` +
        (s.copay.monthly_cap_shared ? " (shared: 管理票)" : ""),
    );
  }
}

async function main() {
  const [base, token, insurer, symbol, number, branch, birthdate] = process.argv.slice(2);
  if (!base || !token || !insurer || !number || !birthdate) fail("usage: GATEWAY_URL TOKEN INSURER SYMBOL NUMBER BRANCH BIRTHDATE");
  const api = createClient<paths>({ baseUrl: base, headers: { Authorization: `Bearer ${token}` } });
  const insured: Insured = { insurer_number: insurer, number, birthdate, symbol: symbol || null, branch: branch || null };

  // A check answers 200 (confirmed, none_found) or 503 (unavailable): both are answers.
  const check = async (who: Insured, service_date?: string): Promise<[number, Answer]> => {
    const { data, error, response } = await api.POST("/v1/subsidy-checks", { body: { insured: who, service_date } });
    const answer = data ?? (error && "status" in error && typeof error.status === "string" ? (error as Answer) : undefined);
    return [response.status, answer ?? fail(`refused: HTTP ${response.status} ${JSON.stringify(error)}`)];
  };

  console.log("== 1. check the patient");
  const [status, answer] = await check(insured);
  show(answer);
  if (status !== 200 || answer.status !== "confirmed" || answer.subsidies.length === 0) fail("expected subsidies");

  console.log("== 2. quote the visit's window charge (parts name subsidies by the answer's order)");
  const today = answer.service_date;
  // A commit's body (its visit id required: ChargeVisitWithId) is also a quote's.
  const body: components["schemas"]["ChargeCommitRequest"] = {
    check_id: answer.check_id,
    insurance: { kind: "health_insurance", share_percent: 30 },
    visit: {
      visit_id: `EXAMPLE-TS-${today.replaceAll("-", "")}-${process.pid}`,
      date: today,
      parts: [{ points: 1520, subsidies: answer.subsidies.map((s) => s.order ?? fail("no order")) }],
    },
  };
  const quote = (await api.POST("/v1/charge-quotes", { body })).data ?? fail("quote refused");
  console.log(`  window ${yen(quote.window_charge)} (before rounding ${yen(quote.charge_before_rounding)})`);
  for (const s of quote.subsidies) console.log(`  ${s.short_name}: this visit ${yen(s.this_visit)}`);

  console.log("== 3. commit, then retry the commit (a lost answer): the same visit, once");
  const first = await api.POST("/v1/charges", { body });
  const again = await api.POST("/v1/charges", { body });
  const c1 = first.data?.committed ?? fail("commit refused");
  const c2 = again.data?.committed ?? fail("retry refused");
  console.log(`  first HTTP ${first.response.status}, version ${c1.version}`);
  console.log(`  retry HTTP ${again.response.status}, repeated ${c2.repeated}`);
  if (!c2.repeated || again.data?.window_charge !== first.data?.window_charge) fail("the retry was not the same visit");

  console.log("== 4. read the month of each shared cap from the ledger");
  for (const s of answer.subsidies.filter((s) => s.copay.monthly_cap_shared)) {
    const { data: m } = await api.POST("/v1/ledgers/search", {
      body: { payer_number: s.payer_number, recipient_number: s.recipient_number ?? "", month: today.slice(0, 7) },
    });
    if (!m) fail("ledger refused");
    console.log(`  ${s.programme_short_name}: total ${yen(m.total)} (own ${yen(m.own)}, others ${yen(m.others)}), remaining ${yen(m.remaining)}`);
    if (m.own < 1) fail("the commit is not in the ledger");
  }

  const admin = process.env.PMH_SANDBOX_ADMIN;
  if (admin) {
    console.log("== 5. PMH fails: the same patient on another day is stale, a new one unavailable");
    const faults = (mode: string) =>
      fetch(`${admin}/admin/faults`, { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify({ mode }) });
    await faults("error");
    try {
      const tomorrow = new Date(Date.parse(`${today}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10);
      const [s1, stale] = await check(insured, tomorrow);
      show(stale);
      if (s1 !== 200 || stale.source !== "stale") fail("expected a stale answer");
      const [s2, unknown] = await check({ insurer_number: "06139999", number: "8642097531", birthdate: "1999-09-09" });
      show(unknown);
      if (s2 !== 503 || unknown.status !== "unavailable") fail("expected unavailable");
    } finally {
      await faults("ok");
    }
  }
  console.log("example done");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
