//! The OpenAPI document, generated from the handlers and DTOs.

use utoipa::OpenApi;

use super::dto::*;
use super::params::{AuditFormatParam, CheckAnswerJson, FormatParam, OperationParam, OrcaJson};
use super::problem::{FieldError, Problem};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "pmh-gateway",
        description = "Clinic-side gateway for public-expense medical subsidies held in PMH. Receipt computers ask which subsidies apply to a patient on a service date.",
    ),
    paths(
        super::checks::create_subsidy_check,
        super::checks::subsidy_check_by_reference,
        super::lookups::by_reference,
        super::checks::earlier_check,
        super::charges::quote,
        super::charges::commit,
        super::charges::void,
        super::charges::add_entry,
        super::charges::void_entry,
        super::charges::ledger,
        super::lookups::ledger,
        super::audit::search,
        super::lookups::audit,
        super::masters,
        super::reload_masters,
        super::healthz,
        super::readyz,
        super::metrics,
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
        FormatParam,
        AuditFormatParam,
        OperationParam,
        OrcaJson,
        CheckAnswerJson,
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
                    "No or unknown credential (`/problems/unauthenticated`)".to_owned(),
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
                (
                    "429",
                    "This wrong credential failed too often from this address (`/problems/too-many-failures`); `Retry-After` says when to try again. A valid credential is never refused"
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
                if code == "429" {
                    response = response.header(
                        "Retry-After",
                        HeaderBuilder::new()
                            .schema(
                                ObjectBuilder::new()
                                    .schema_type(Type::Integer)
                                    .minimum(Some(1)),
                            )
                            .description(Some(
                                "Seconds to wait before trying this credential again",
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
    doc
}
