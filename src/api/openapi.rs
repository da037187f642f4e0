//! The OpenAPI document, generated from the handlers and DTOs.

use utoipa::OpenApi;

use super::dto::*;
use super::params::{AuditFormatParam, FhirBundle, FhirOperationOutcome, OperationParam, OrcaJson};
use super::problem::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pmh-gateway",
        description = "Clinic-side gateway for public-expense medical subsidies held in PMH. Receipt computers ask which subsidies apply to a patient on a service date, what the patient pays at the window, and keep the month's shared caps.\n\nEvery timestamp the API writes is RFC 3339 in JST with its offset (`+09:00`); dates are `YYYY-MM-DD` in JST. Problems are RFC 9457 `application/problem+json`; each `type` resolves to a page on this gateway. Compatibility of `/v1`: see the gateway's README.",
        license(name = "MIT OR Apache-2.0", identifier = "MIT OR Apache-2.0"),
    ),
    servers((url = "/", description = "This gateway: the address the document was read from (loopback by default; TLS beyond it)")),
    tags(
        (name = "subsidy-checks", description = "Which subsidies apply to a patient on a service date: asked by insurance identity (JSON) or with an オン資 result (XML); an earlier answer again by its check id."),
        (name = "check-ins", description = "Answers prefetched when a patient's card was read at the オン資 terminal, by the terminal's 照会番号."),
        (name = "charges", description = "What the patient pays at the window for a visit: quoted, committed against the month's caps (idempotent by visit id), voided."),
        (name = "ledger", description = "The month's shared caps per certificate: this institution's committed visits and the amounts from the paper 自己負担上限額管理票."),
        (name = "receipt-checks", description = "The month-end pre-check: a month's UKE claim file checked before it is sent — each receipt from itself and the masters, its patient's 公費 against PMH for the claim month, its KOs against the 管理票 ledger."),
        (name = "audit", description = "Who asked about whom, when and with what outcome (admin)."),
        (name = "operations", description = "Masters, liveness and readiness, metrics, and the problem types' pages."),
    ),
    paths(
        super::checks::create_subsidy_check,
        super::checks::subsidy_check_by_reference,
        super::lookups::by_reference,
        super::checks::earlier_check,
        super::renderings::create_orca,
        super::renderings::create_orca_xml,
        super::renderings::create_fhir,
        super::renderings::reference_orca,
        super::renderings::reference_orca_xml,
        super::renderings::reference_fhir,
        super::renderings::earlier_orca,
        super::renderings::earlier_orca_xml,
        super::renderings::earlier_fhir,
        super::charges::quote,
        super::charges::commit,
        super::charges::void,
        super::charges::add_entry,
        super::charges::void_entry,
        super::charges::ledger,
        super::lookups::ledger,
        super::receipt_checks::create,
        super::receipt_checks::read,
        super::receipt_checks::keep,
        super::audit::search,
        super::lookups::audit,
        super::masters,
        super::reload_masters,
        super::healthz,
        super::readyz,
        super::metrics,
        super::problem_type,
    ),
    components(schemas(
        SubsidyCheckRequest,
        InsuredDto,
        SettingDto,
        ClaimDto,
        CareDto,
        InsuranceDto,
        InsuranceKindDto,
        BeneficiaryDto,
        SubsidyCheckResponse,
        SubsidyDto,
        CopayDto,
        CapsDto,
        WarningDto,
        UpstreamProblemDto,
        OriginDto,
        CheckInDto,
        DesignatedInstitutionDto,
        DetailDto,
        Problem,
        FieldError,
        AuditFormatParam,
        OperationParam,
        OrcaJson,
        FhirBundle,
        FhirOperationOutcome,
        ChargeQuoteRequest,
        InlineSubsidyDto,
        ChargeInsuranceDto,
        SpecificDiseaseDto,
        ChargeVisitDto,
        ChargePartDto,
        MealDayDto,
        MealClassDto,
        ChargeQuoteResponse,
        CommittedDto,
        ReceiptAmountsDto,
        ReceiptMealsDto,
        KoAmountsDto,
        ChargeSubsidyDto,
        MonthToDateDto,
        LedgerEntryRequest,
        LedgerDto,
        LedgerEntryDto,
        VoidDto,
        ReceiptCheckDto,
        PmhTallyDto,
        LineProblemDto,
        ReviewReceiptDto,
        ReceiptFindingDto,
        super::audit::AuditRecordDto,
        super::lookups::AuditPatient,
        super::lookups::ReferenceLookup,
        super::lookups::LedgerLookup,
        super::lookups::AuditSearch
    ))
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    use utoipa::openapi::header::HeaderBuilder;
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::security::{
        HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
    };
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.components
        .get_or_insert_with(Default::default)
        .add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A client's token (`pmh-gateway clients add`), or a client certificate on a TLS listener with a client CA",
                    ))
                    .build(),
            ),
        );
    // Who may call what comes from the route table the router is built from.
    for r in super::ROUTES {
        let Some(item) = doc.paths.paths.get_mut(r.path) else {
            continue;
        };
        let op = match r.method {
            "GET" => item.get.as_mut(),
            "POST" => item.post.as_mut(),
            "DELETE" => item.delete.as_mut(),
            _ => None,
        };
        let Some(op) = op else { continue };
        let guarded = matches!(
            r.required,
            super::access::Required::Authenticated | super::access::Required::Scope(_)
        );
        if guarded {
            op.security = Some(vec![SecurityRequirement::new(
                "bearer",
                Vec::<String>::new(),
            )]);
            let refusals = [
                (
                    "401",
                    "No or unknown credential (`/problems/unauthenticated`); a wrong token that failed too often from this address is refused at once (`/problems/too-many-failures`, with `Retry-After`). A valid credential is never refused".to_owned(),
                ),
                (
                    "403",
                    format!(
                        "The client lacks the scope (`/problems/forbidden`); needs {}",
                        r.required.describe()
                    ),
                ),
                (
                    "421",
                    "The Host is not one this gateway answers to (`/problems/host-not-allowed`)"
                        .to_owned(),
                ),
            ];
            for (code, description) in refusals {
                let mut response = ResponseBuilder::new().description(description).content(
                    "application/problem+json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("Problem")))
                        .build(),
                );
                if code == "401" {
                    response = response
                        .header(
                            "WWW-Authenticate",
                            HeaderBuilder::new()
                                .schema(ObjectBuilder::new().schema_type(Type::String))
                                .description(Some(
                                    "`Bearer realm=\"pmh-gateway\"`, with `error=\"invalid_token\"` when a token was sent",
                                ))
                                .build(),
                        )
                        .header(
                            "Retry-After",
                            HeaderBuilder::new()
                                .schema(
                                    ObjectBuilder::new()
                                        .schema_type(Type::Integer)
                                        .minimum(Some(1)),
                                )
                                .description(Some(
                                    "With `/problems/too-many-failures`: seconds before this token is looked up again from this address",
                                ))
                                .build(),
                        );
                }
                op.responses
                    .responses
                    .entry(code.into())
                    .or_insert(RefOr::T(response.build()));
            }
        }
    }
    commit_schemas(&mut doc);
    answer_headers(&mut doc);
    answer_examples(&mut doc);
    // Named examples of the charge requests, one per kind of input a receipt computer sends.
    for path in ["/v1/charge-quotes", "/v1/charges"] {
        let Some(body) = doc
            .paths
            .paths
            .get_mut(path)
            .and_then(|item| item.post.as_mut())
            .and_then(|op| op.request_body.as_mut())
        else {
            continue;
        };
        if let Some(content) = body.content.get_mut("application/json") {
            for (name, summary, value) in charge_examples() {
                content.examples.insert(
                    name.into(),
                    RefOr::T(
                        utoipa::openapi::example::ExampleBuilder::new()
                            .summary(summary)
                            .value(Some(value))
                            .build(),
                    ),
                );
            }
        }
    }
    doc
}

/// The charge requests' two forms from the one body the server reads (`ChargeQuoteRequest`):
/// a visit id is required of the visit committed (`ChargeCommitRequest`) and of every earlier
/// visit (`ChargeVisitWithId`), and `correction` belongs to the commit only. The server refuses
/// exactly these (400, or 422 for `correction` on a quote).
fn commit_schemas(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::schema::{ArrayItems, Schema, SchemaType, Type};
    use utoipa::openapi::{Ref, RefOr};

    let schemas = &mut doc
        .components
        .as_mut()
        .expect("the document has components")
        .schemas;
    let object = |name: &str| match schemas.get(name) {
        Some(RefOr::T(Schema::Object(o))) => o.clone(),
        _ => panic!("{name} is an object schema of the document"),
    };
    let mut with_id = object("ChargeVisitDto");
    with_id.required.push("visit_id".into());
    match with_id.properties.get_mut("visit_id") {
        Some(RefOr::T(Schema::Object(id))) => {
            id.schema_type = SchemaType::new(Type::String);
        }
        _ => panic!("ChargeVisitDto.visit_id is a string"),
    }
    with_id.description = Some(
        "A visit with its `visit_id`: the visit committed (`POST /v1/charges`), or an earlier visit of the month".into(),
    );
    // A part's 公費 by place: 1 (第1公費) to 4.
    let mut part = object("ChargePartDto");
    match part.properties.get_mut("subsidies") {
        Some(RefOr::T(Schema::Array(a))) => {
            a.items = ArrayItems::RefOrSchema(Box::new(RefOr::T(Schema::Object(
                utoipa::openapi::schema::ObjectBuilder::new()
                    .schema_type(Type::Integer)
                    .minimum(Some(1))
                    .maximum(Some(4))
                    .build(),
            ))));
        }
        _ => panic!("ChargePartDto.subsidies is an array"),
    }
    let mut quote = object("ChargeQuoteRequest");
    match quote.properties.get_mut("earlier_visits") {
        Some(RefOr::T(Schema::Array(a))) => {
            a.items = ArrayItems::RefOrSchema(Box::new(RefOr::Ref(Ref::from_schema_name(
                "ChargeVisitWithId",
            ))));
        }
        _ => panic!("ChargeQuoteRequest.earlier_visits is an array"),
    }
    let mut commit = quote.clone();
    quote.properties.remove("correction");
    commit.properties.insert(
        "visit".into(),
        RefOr::Ref(Ref::from_schema_name("ChargeVisitWithId")),
    );
    commit.description = Some("Commit a visit (`POST /v1/charges`): a quote's body, with `visit.visit_id`, and `correction` to replace a committed visit whose request differs.".into());
    quote.description =
        Some("What would this visit cost at the window (`POST /v1/charge-quotes`).".into());
    schemas.insert("ChargePartDto".into(), RefOr::T(Schema::Object(part)));
    schemas.insert(
        "ChargeVisitWithId".into(),
        RefOr::T(Schema::Object(with_id)),
    );
    schemas.insert("ChargeQuoteRequest".into(), RefOr::T(Schema::Object(quote)));
    schemas.insert(
        "ChargeCommitRequest".into(),
        RefOr::T(Schema::Object(commit)),
    );
    let body = doc
        .paths
        .paths
        .get_mut("/v1/charges")
        .and_then(|item| item.post.as_mut())
        .and_then(|op| op.request_body.as_mut())
        .and_then(|b| b.content.get_mut("application/json"))
        .expect("POST /v1/charges takes JSON");
    body.schema = Some(RefOr::Ref(Ref::from_schema_name("ChargeCommitRequest")));
}

/// The headers answers carry, on every response that carries them: `Content-Location` (a check
/// answer is also kept under its check id, in its rendering), `Location` (a commit, a 管理票
/// entry), `Retry-After` (every 503); and on every guarded operation the 503 problems any
/// request can meet (the audit cannot record the access, the connection limit, the request
/// deadline) beside a 503 answer.
fn answer_headers(doc: &mut utoipa::openapi::OpenApi) {
    use utoipa::openapi::header::{Header, HeaderBuilder};
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    use utoipa::openapi::{ContentBuilder, Ref, RefOr, ResponseBuilder};

    let header = |t: Type, description: &str| -> Header {
        HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(t))
            .description(Some(description))
            .build()
    };
    let problem = || {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("Problem")))
            .build()
    };
    const BUSY: &str = "`/problems/audit-unavailable` (the access could not be recorded, so nothing is answered), `/problems/too-many-connections`, `/problems/request-timeout`: try again after `Retry-After`";
    for (path, item) in doc.paths.paths.iter_mut() {
        for op in [item.get.as_mut(), item.post.as_mut(), item.delete.as_mut()]
            .into_iter()
            .flatten()
        {
            let guarded = op.security.is_some();
            if guarded {
                let busy = op
                    .responses
                    .responses
                    .entry("503".into())
                    .or_insert_with(|| {
                        RefOr::T(
                            ResponseBuilder::new()
                                .description(format!("Busy or unable to record: {BUSY}"))
                                .build(),
                        )
                    });
                if let RefOr::T(r) = busy
                    && !r.content.contains_key("application/problem+json")
                {
                    r.content
                        .insert("application/problem+json".into(), problem());
                    if !r.description.contains("audit-unavailable") {
                        r.description = format!("{} — or, as a problem: {BUSY}", r.description);
                    }
                }
            }
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(r) = response else { continue };
                if status == "503" {
                    r.headers.insert(
                        "Retry-After".into(),
                        header(Type::Integer, "Seconds before trying again"),
                    );
                }
                let check_answer = path.starts_with("/v1/subsidy-checks")
                    && (status == "200" || status == "503")
                    && r.content.keys().any(|m| m != "application/problem+json");
                if check_answer {
                    r.headers.insert(
                        "Content-Location".into(),
                        header(Type::String, "Where this answer is kept, in this rendering: `/v1/subsidy-checks/{check_id}` (or `…/orca`, `…/orca-xml`, `…/fhir`), for `audit.answer_retention_hours`"),
                    );
                }
                if status == "201" && path == "/v1/charges" {
                    r.headers.insert(
                        "Location".into(),
                        header(
                            Type::String,
                            "The committed visit: `/v1/charges/{visit_id}` (void it with DELETE)",
                        ),
                    );
                }
                if status == "201" && path == "/v1/ledger-entries" {
                    r.headers.insert(
                        "Location".into(),
                        header(
                            Type::String,
                            "The entry added: `/v1/ledger-entries/{id}` (void it with DELETE)",
                        ),
                    );
                }
            }
        }
    }
}

/// The answers' examples: real answers (`src/api/examples/`, kept equal to what the gateway
/// answers by `tests/it/examples.rs`), on each schema an answer is written in, and on the
/// media types whose answers differ by status (`unavailable`, a commit, ORCA's XML).
fn answer_examples(doc: &mut utoipa::openapi::OpenApi) {
    use serde_json::Value;
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::Schema;

    fn load(text: &str) -> Value {
        serde_json::from_str(text).expect("an example file is JSON")
    }
    let confirmed = load(include_str!("examples/subsidy_check_confirmed.json"));
    let none_found = load(include_str!("examples/subsidy_check_none_found.json"));
    let unavailable = load(include_str!("examples/subsidy_check_unavailable.json"));
    let fhir_unavailable = load(include_str!("examples/fhir_outcome_unavailable.json"));
    let committed = load(include_str!("examples/charge_committed.json"));
    let audit_record = load(include_str!("examples/audit_record.json"));
    let receipt_check = load(include_str!("examples/receipt_check.json"));
    let receipt_check_running = load(include_str!("examples/receipt_check_running.json"));
    let orca_xml = Value::String(include_str!("examples/orca.xml").to_owned());
    let orca_xml_unavailable =
        Value::String(include_str!("examples/orca_unavailable.xml").to_owned());
    let schemas = &mut doc
        .components
        .as_mut()
        .expect("the document has components")
        .schemas;
    for (name, example) in [
        ("SubsidyCheckResponse", confirmed.clone()),
        ("OrcaJson", load(include_str!("examples/orca.json"))),
        (
            "FhirBundle",
            load(include_str!("examples/fhir_bundle.json")),
        ),
        ("FhirOperationOutcome", fhir_unavailable),
        (
            "ChargeQuoteResponse",
            load(include_str!("examples/charge_quote.json")),
        ),
        ("LedgerDto", load(include_str!("examples/ledger.json"))),
        ("VoidDto", load(include_str!("examples/void.json"))),
        ("Problem", load(include_str!("examples/problem.json"))),
        ("AuditRecordDto", audit_record.clone()),
        ("ReceiptCheckDto", receipt_check.clone()),
    ] {
        match schemas.get_mut(name) {
            Some(RefOr::T(Schema::Object(o))) => o.example = Some(example),
            _ => panic!("{name} is an object schema of the document"),
        }
    }
    let named = |summary: &str, value: &Value| {
        RefOr::T(
            utoipa::openapi::example::ExampleBuilder::new()
                .summary(summary)
                .value(Some(value.clone()))
                .build(),
        )
    };
    let onshi_result = Value::String(include_str!("examples/onshi_result.xml").to_owned());
    for (path, item) in doc.paths.paths.iter_mut() {
        if let Some(xml) = item
            .post
            .as_mut()
            .and_then(|op| op.request_body.as_mut())
            .and_then(|b| b.content.get_mut("application/xml"))
        {
            xml.example = Some(onshi_result.clone());
        }
        if let Some(uke) = item
            .post
            .as_mut()
            .and_then(|op| op.request_body.as_mut())
            .and_then(|b| b.content.get_mut("application/octet-stream"))
        {
            // A UKE file's text (sent as Shift_JIS bytes).
            uke.example = Some(Value::String(UKE_EXAMPLE.to_owned()));
        }
        for op in [item.get.as_mut(), item.post.as_mut(), item.delete.as_mut()]
            .into_iter()
            .flatten()
        {
            for (status, response) in op.responses.responses.iter_mut() {
                let RefOr::T(response) = response else {
                    continue;
                };
                for (media, content) in response.content.iter_mut() {
                    let answer = matches!(&content.schema, Some(RefOr::Ref(r)) if r.ref_location.ends_with("/SubsidyCheckResponse"));
                    match (status.as_str(), media.as_str()) {
                        ("200", "application/json") if answer => {
                            content.examples.insert(
                                "confirmed".into(),
                                named("Three subsidies confirmed, 第1公費 first", &confirmed),
                            );
                            content.examples.insert(
                                "none_found".into(),
                                named(
                                    "PMH returned nothing: unknown, ask for the paper certificate",
                                    &none_found,
                                ),
                            );
                        }
                        ("503", "application/json") if answer => {
                            content.example = Some(unavailable.clone());
                        }
                        ("201", "application/json") if path == "/v1/charges" => {
                            content.example = Some(committed.clone());
                        }
                        (_, "application/xml") if status.starts_with('2') => {
                            content.example = Some(orca_xml.clone());
                        }
                        ("503", "application/xml") => {
                            content.example = Some(orca_xml_unavailable.clone());
                        }
                        ("200", "text/html") if path == "/problems/{kind}" => {
                            content.example = Some(Value::String(super::problem_page(
                                super::problem::ProblemKind::Unauthenticated,
                            )));
                        }
                        ("200", "application/json") if path.starts_with("/v1/audit") => {
                            content.example = Some(Value::Array(vec![audit_record.clone()]));
                        }
                        ("200", "application/jsonl") => {
                            content.example = Some(Value::String(
                                include_str!("examples/audit.jsonl").to_owned(),
                            ));
                        }
                        ("200", "text/csv") if path.starts_with("/v1/receipt-checks") => {
                            content.example = Some(Value::String(
                                include_str!("examples/receipt_check.csv").to_owned(),
                            ));
                        }
                        ("200", "text/csv") => {
                            content.example =
                                Some(Value::String(include_str!("examples/audit.csv").to_owned()));
                        }
                        ("202", "application/json") if path == "/v1/receipt-checks" => {
                            content.example = Some(receipt_check_running.clone());
                        }
                        ("200", "application/json") if path.starts_with("/v1/receipt-checks") => {
                            content.example = Some(receipt_check.clone());
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// A month's UKE file as the receipt computer writes it (its text; the body is its Shift_JIS
/// bytes): the institution, then each receipt's RE, HO, KO and SN records.
const UKE_EXAMPLE: &str = "IR,1,13,1,1111111,,さくら医院,202611,00,0312345678\r\nRE,1,1122,202610,山田　太郎,1,19800401,70,,,,,,,,,,,,,,,,,,,,,,,,,,,,,ﾔﾏﾀﾞ ﾀﾛｳ\r\nHO,06132013,12,345,3,1520,,,,,,2500\r\nKO,54136015,7654320,,3,1520,2500,,,,,\r\nSN,1,01,06132013,12,345,01,,\r\n\u{1a}";

/// Example charge requests: from an earlier check; typed from paper in the caller's order with
/// a birthdate; a hospital stay with meals; a local programme's visit counted.
fn charge_examples() -> Vec<(&'static str, &'static str, serde_json::Value)> {
    use serde_json::json;
    vec![
        (
            "from_a_check",
            "The subsidies of an earlier check; parts name them by the answer's order",
            json!({
                "check_id": "c2f6a1d0-2b1e-4c53-9a57-1e2f0d6b9a10",
                "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
                "visit": {"visit_id": "R2026-0412-0007", "date": "2026-04-12",
                          "parts": [{"points": 1520, "subsidies": [1, 2]}, {"points": 300}]},
                "earlier_visits": [{"visit_id": "R2026-0403-0002", "date": "2026-04-03",
                                    "parts": [{"points": 980, "subsidies": [1, 2]}]}]
            }),
        ),
        (
            "typed_in_the_callers_order",
            "Paper certificates typed in; parts name them by position; the age from the birthdate",
            json!({
                "subsidies": [
                    {"payer_number": "12136016", "recipient_number": "1234566", "own_payment": 0},
                    {"payer_number": "54136015", "recipient_number": "1234566", "income_class": "低所得Ⅰ"}
                ],
                "insurance": {"kind": "health_insurance", "high_cost_class": "27", "birthdate": "1980-05-14"},
                "visit": {"visit_id": "R2026-0410-0001", "date": "2026-04-10",
                          "parts": [{"points": 1000, "subsidies": [1]}, {"points": 2000, "subsidies": [2]}]}
            }),
        ),
        (
            "a_stay_with_meals",
            "An inpatient visit with its meals by day (their own line)",
            json!({
                "subsidies": [],
                "insurance": {"kind": "health_insurance", "share_percent": 30, "high_cost_class": "A03"},
                "visit": {"visit_id": "W2026-0510", "date": "2026-05-10", "care": "inpatient",
                          "parts": [{"yen": 100000}],
                          "meals": [{"date": "2026-05-10", "count": 2}, {"date": "2026-05-11", "count": 3}]}
            }),
        ),
        (
            "a_local_visit_limit",
            "A local programme charged per day up to twice a month; a department joining a visit",
            json!({
                "subsidies": [{"payer_number": "88271010", "recipient_number": "7654321"}],
                "insurance": {"kind": "health_insurance", "share_percent": 20},
                "visit": {"visit_id": "K2026-0408-2", "date": "2026-04-08", "joins_visit": true,
                          "parts": [{"points": 300, "subsidies": [1]}]},
                "earlier_visits": [{"visit_id": "K2026-0408-1", "date": "2026-04-08", "first_visit": true,
                                    "parts": [{"points": 500, "subsidies": [1]}]}]
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use serde_json::Value;

    use super::super::dto::RequestBody;

    /// The property names whose values may be arrays, in `schema` and below it.
    fn arrays(
        doc: &Value,
        schema: &Value,
        seen: &mut BTreeSet<String>,
        out: &mut BTreeSet<String>,
    ) {
        if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
            let name = r.rsplit('/').next().unwrap().to_owned();
            if seen.insert(name.clone()) {
                arrays(doc, &doc["components"]["schemas"][&name], seen, out);
            }
            return;
        }
        let is_array = |v: &Value| match &v["type"] {
            Value::String(t) => t == "array",
            Value::Array(ts) => ts.iter().any(|t| t == "array"),
            _ => false,
        };
        for k in ["oneOf", "anyOf", "allOf"] {
            for x in schema[k].as_array().into_iter().flatten() {
                arrays(doc, x, seen, out);
            }
        }
        for (name, p) in schema["properties"].as_object().into_iter().flatten() {
            let alternatives = ["oneOf", "anyOf"]
                .iter()
                .flat_map(|k| p[*k].as_array().into_iter().flatten());
            if is_array(p) || alternatives.clone().any(is_array) {
                out.insert(name.clone());
            }
            arrays(doc, p, seen, out);
        }
        if let Some(items) = schema.get("items") {
            arrays(doc, items, seen, out);
        }
    }

    fn check<T: RequestBody>(name: &str) {
        let doc = serde_json::to_value(super::document()).unwrap();
        let mut out = BTreeSet::new();
        arrays(
            &doc,
            &serde_json::json!({"$ref": format!("#/components/schemas/{name}")}),
            &mut BTreeSet::new(),
            &mut out,
        );
        let declared: BTreeSet<String> = T::ARRAYS.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(declared, out, "{name}: ARRAYS against the document");
    }

    /// Whether a media type of the document carries an example (its own, or its schema's).
    fn exemplified(doc: &Value, media: &Value) -> bool {
        if media.get("example").is_some() || media.get("examples").is_some() {
            return true;
        }
        let schema = &media["schema"];
        let schema = match schema.get("$ref").and_then(Value::as_str) {
            Some(r) => &doc["components"]["schemas"][r.rsplit('/').next().unwrap()],
            None => schema,
        };
        schema.get("example").is_some() || schema.get("examples").is_some()
    }

    #[test]
    fn every_request_body_and_every_answer_has_an_example() {
        let doc = serde_json::to_value(super::document()).unwrap();
        let mut missing = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let mut contents: Vec<(String, &Value)> = Vec::new();
                for (media, c) in op["requestBody"]["content"]
                    .as_object()
                    .into_iter()
                    .flatten()
                {
                    contents.push((format!("request {media}"), c));
                }
                for (status, r) in op["responses"].as_object().into_iter().flatten() {
                    for (media, c) in r["content"].as_object().into_iter().flatten() {
                        contents.push((format!("{status} {media}"), c));
                    }
                }
                for (what, c) in contents {
                    if !exemplified(&doc, c) {
                        missing.push(format!("{method} {path} {what}"));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "without an example: {missing:#?}");
    }

    /// Every `recipient_number` the document takes (bodies and query) has the one pattern
    /// `request::recipient_number` accepts.
    #[test]
    fn every_recipient_number_has_the_validators_pattern() {
        fn walk(v: &Value, found: &mut Vec<String>) {
            match v {
                Value::Object(o) => {
                    if let Some(p) = o.get("properties").and_then(|p| p.get("recipient_number")) {
                        found.push(p["pattern"].as_str().unwrap_or("(none)").to_owned());
                    }
                    if o.get("name").and_then(Value::as_str) == Some("recipient_number") {
                        found.push(
                            o["schema"]["pattern"]
                                .as_str()
                                .unwrap_or("(none)")
                                .to_owned(),
                        );
                    }
                    o.values().for_each(|x| walk(x, found));
                }
                Value::Array(a) => a.iter().for_each(|x| walk(x, found)),
                _ => {}
            }
        }
        let doc = serde_json::to_value(super::document()).unwrap();
        let mut found = Vec::new();
        walk(&doc["paths"], &mut found);
        for (name, schema) in doc["components"]["schemas"].as_object().unwrap() {
            // Answers name the certificate's number as PMH gave it; requests take the pattern.
            if name.ends_with("Request") || name.ends_with("Lookup") || name.starts_with("Inline") {
                walk(schema, &mut found);
            }
        }
        assert!(found.len() >= 4, "{found:?}");
        for p in found {
            assert_eq!(p, super::super::request::RECIPIENT_PATTERN);
        }
    }

    #[test]
    fn each_request_bodys_lists_are_the_documents() {
        check::<super::SubsidyCheckRequest>("SubsidyCheckRequest");
        check::<super::ChargeQuoteRequest>("ChargeQuoteRequest");
        check::<super::ChargeQuoteRequest>("ChargeCommitRequest");
        check::<super::LedgerEntryRequest>("LedgerEntryRequest");
        check::<super::super::lookups::ReferenceLookup>("ReferenceLookup");
        check::<super::super::lookups::LedgerLookup>("LedgerLookup");
        check::<super::super::lookups::AuditSearch>("AuditSearch");
    }
}
