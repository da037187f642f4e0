//! Pure domain types, parsed once at the boundary: the numbers of the receipt-writing rules
//! (公費負担者番号, 公費受給者番号, 保険者番号, 医療機関コード), service dates in JST, money, the
//! certificate as PMH holds it, the insured identity and the setting of a visit.
//!
//! Invariant: nothing here does I/O or reads the clock; constructors reject bad values with a
//! specific, non-personal message. Each type has one path: the submodules that hold types are
//! private and re-exported here; `check_digit`, `date` and `text` (functions) are public and
//! not re-exported.

mod certificate;
pub mod check_digit;
pub mod date;
mod days;
mod hex;
mod high_cost;
mod insured;
mod money;
mod numbers;
mod person;
mod redact;
pub mod text;
mod visit;

pub use certificate::{
    Certificate, CertificateDetail, CopayCaps, DesignatedInstitution, MaxCopayment,
};
pub use days::{ServiceDate, Validity, ValidityStatus};
pub use hex::{hex, unhex};
pub use high_cost::{AgeGroup, HighCostClass, HighCostClassError};
pub use insured::{InsuredError, InsuredIdentity, SEPARATOR as IDENTITY_SEPARATOR};
pub use money::{Rounding, Yen};
pub use numbers::{
    InsurerNumber, LawCode, MedicalInstitutionCode, NumberError, PayerNumber, RecipientNumber,
};
pub use person::{PatientDetails, Sex};
pub use redact::Redacted;
pub use visit::{
    AgeFacts, Beneficiary, Care, Claim, InsuranceContext, InsuranceKind, fiscal_year_age,
};
