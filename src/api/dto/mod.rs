//! The REST JSON of API v1: the request body (`request`), the answer (`answer`) and one subsidy in
//! it (`subsidy`); the charge and ledger routes (`charges`). Only this module knows their shape; the OpenAPI document is derived from it.

mod answer;
mod charges;
mod receipts;
mod request;
mod subsidy;

pub use answer::{CheckInDto, OriginDto, SubsidyCheckResponse, UpstreamProblemDto};
pub use charges::{
    ChargeInsuranceDto, ChargePartDto, ChargeQuoteRequest, ChargeQuoteResponse, ChargeSubsidyDto,
    ChargeVisitDto, CommittedDto, InlineSubsidyDto, KoAmountsDto, LedgerDto, LedgerEntryDto,
    LedgerEntryRequest, MealClassDto, MealDayDto, MonthToDateDto, MonthTotalsDto,
    ReceiptAmountsDto, ReceiptMealsDto, SpecificDiseaseDto, VoidDto,
};
pub use receipts::{
    LineProblemDto, PmhTallyDto, ReceiptCheckDto, ReceiptFindingDto, ReviewReceiptDto,
    to_csv as receipt_check_csv,
};
pub use request::{
    BeneficiaryDto, CareDto, ClaimDto, InsuranceDto, InsuranceKindDto, InsuredDto, SettingDto,
    SubsidyCheckRequest,
};
pub use subsidy::{
    BurdenCodeDto, CalcModuleDto, CapsDto, CertificateCapsDto, CopayDto, DesignatedInstitutionDto,
    DetailDto, KoRecordDto, RecordFieldDto, SubsidyDto, WarningDto,
};

/// A request body type: its JSON and the keys at which it holds lists. serde reads a struct from
/// a JSON array as readily as from an object (`"setting": [null, null]` would be a setting), so
/// a body is first walked for an array anywhere else (a test keeps `ARRAYS` equal to the
/// document's array-typed properties).
pub trait RequestBody: serde::de::DeserializeOwned {
    /// The property names whose values are arrays, at any depth.
    const ARRAYS: &'static [&'static str];
}
