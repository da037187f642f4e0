//! Pure domain types, parsed once at the boundary (DOMAIN.md §2, §7).
//!
//! Invariant: nothing here does I/O or reads the clock; constructors reject bad values with a
//! specific, non-personal message.

pub mod certificate;
pub mod check_digit;
pub mod date;
pub mod insured;
pub mod numbers;
pub mod visit;

pub use certificate::{
    Certificate, CertificateDetail, CopayCaps, DesignatedInstitution, MaxCopayment,
};
pub use date::{ServiceDate, Validity, ValidityStatus, Yen};
pub use insured::{InsuredError, InsuredIdentity};
pub use numbers::{
    InsurerNumber, LawCode, MedicalInstitutionCode, NumberError, PayerNumber, RecipientNumber,
};
pub use visit::{Care, Claim, InsuranceKind, fiscal_year_age};
