//! The OpenAPI document, generated from the handlers and DTOs.

use utoipa::OpenApi;

use super::dto::*;
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
        FieldError
    ))
)]
struct ApiDoc;

pub fn document() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc
}
