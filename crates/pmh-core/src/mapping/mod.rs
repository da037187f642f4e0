//! Mapping: raw PMH certificates + masters + visit context → the validated, ordered subsidies
//! a receipt computer needs.
//!
//! Invariants: pure (no I/O, no clock: the service date comes in the context); never panics on
//! upstream data; every certificate received comes out, either active (ordered, 第1公費 first) or
//! inactive with its reason, and every doubt is a warning on the subsidy it concerns.

mod order;
pub use order::{order_class, programme_order};
mod receipt;
mod rules;

use crate::domain::{
    Care, Certificate, CertificateDetail, Claim, DesignatedInstitution, InsuranceContext,
    InsuranceKind, LawCode, MedicalInstitutionCode, RecipientNumber, Redacted, ServiceDate,
    Validity, ValidityStatus,
};
use crate::masters::{BurdenCode, CalcCodes, MasterSnapshot, Payers};
pub use receipt::KoRecord;
pub use rules::{CapsSource, CopayRule};

/// What the mapping needs to know about the visit.
#[derive(Debug, Clone)]
pub struct VisitContext {
    pub service_date: ServiceDate,
    pub claim: Claim,
    pub care: Care,
    /// This clinic's 医療機関コード, for designated-institution checks.
    pub institution: Option<MedicalInstitutionCode>,
    /// The insurance side of the visit (from the オン資 result), for the レセプト種別.
    pub insurance: Option<InsuranceContext>,
    /// The patient's birthdate, for the age ranges of local programmes.
    pub birthdate: Option<chrono::NaiveDate>,
}

impl VisitContext {
    /// A 医科 外来 visit on `day` with nothing else known.
    pub fn on(day: ServiceDate) -> Self {
        Self {
            service_date: day,
            claim: Claim::Medical,
            care: Care::Outpatient,
            institution: None,
            insurance: None,
            birthdate: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ProgrammeKind {
    National,
    Local,
    Unknown,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Programme {
    pub kind: ProgrammeKind,
    pub law_code: Option<LawCode>,
    pub name: Option<String>,
    pub short_name: Option<String>,
    /// National priority rank, or the local priority for local programmes.
    pub rank: Option<u16>,
    pub single_only: bool,
    /// The programme's key in the masters: the 法別 of a national programme, the payer-number
    /// key (exact or `prefix*`) of a local one.
    pub master_key: Option<String>,
    /// ORCA's 公費の種類 for a local programme, where the master knows it.
    pub orca_class: Option<String>,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Flag {
    /// 常に償還払い: the clinic charges the patient in full; the patient claims from the payer.
    ReimbursementOnly,
    /// 不開示: certificate-face items were withheld from this answer.
    NotDisclosed,
    /// The certificate names designated institutions (指定医療機関).
    DesignatedInstitutionLimited,
    /// This clinic is not among the designated institutions.
    DesignatedInstitutionMismatch,
    /// A programme that must be billed alone (13, 14, 18, 29, 30).
    SingleOnly,
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum WarningCode {
    PayerNumberCheckDigit,
    PayerNumberMalformed,
    /// The certificate came without a payer number (公費負担者番号): kept, never dropped.
    PayerNumberMissing,
    RecipientNumberCheckDigit,
    RecipientNumberMalformed,
    RecipientNumberMissing,
    RecipientNumberUnexpected,
    UnknownProgramme,
    InvalidValidity,
    DesignatedInstitutionMismatch,
    SingleOnlyCombined,
    TooManySubsidies,
    DuplicateCertificate,
    ReceiptTypeUnavailable,
    /// The programme does not cover this 外来/入院 or 医科/調剤 setting.
    SettingNotCovered,
    /// The certificate's income class (with its conditions) is not in the master.
    IncomeClassUnknown,
    /// Neither the certificate nor the master gives the cap.
    CapUnknown,
    /// The certificate's cap differs from the master's; the certificate wins.
    CapConflict,
    AgeOutsideProgramme,
    InsuranceKindNotCovered,
    /// The local programme itself is not in force on the service date (master validity).
    ProgrammeNotInForce,
    /// No calculation-module code row matches.
    CalcCodeMissing,
    /// The recipient number does not fit the KO record's 7 digits.
    RecipientNumberNotReceiptable,
    /// No 負担区分 code for a combination of payers.
    BurdenCodeMissing,
    /// A field of the certificate (a cap) was present but could not be read: its value is
    /// unknown, not absent.
    CertificateFieldUnreadable,
}

impl WarningCode {
    /// What it means for the clerk, in Japanese: one sentence per code (the instance's details
    /// are the warning's `message`).
    pub const fn text_ja(self) -> &'static str {
        match self {
            Self::PayerNumberCheckDigit => {
                "公費負担者番号の検証番号が合いません。受給者証の番号を確認してください。"
            }
            Self::PayerNumberMalformed => {
                "公費負担者番号の形式が正しくありません（8桁の数字）。受給者証を確認してください。"
            }
            Self::PayerNumberMissing => {
                "公費負担者番号がありません。紙の受給者証を確認してください。"
            }
            Self::RecipientNumberCheckDigit => {
                "受給者番号の検証番号が合いません。受給者証の番号を確認してください。"
            }
            Self::RecipientNumberMalformed => {
                "受給者番号の形式が正しくありません。受給者証を確認してください。"
            }
            Self::RecipientNumberMissing => {
                "この公費には受給者番号が必要ですが、登録されていません。受給者証を確認してください。"
            }
            Self::RecipientNumberUnexpected => {
                "この公費には受給者番号がありませんが、登録されています。受給者証を確認してください。"
            }
            Self::UnknownProgramme => {
                "マスタにない公費です。負担の決まりが分からないため、受給者証を確認してください。"
            }
            Self::InvalidValidity => {
                "有効期間が読み取れないため、この受給者証を適用していません。紙の受給者証を確認してください。"
            }
            Self::DesignatedInstitutionMismatch => {
                "当院は受給者証の指定医療機関に含まれていません。この公費は使えません。"
            }
            Self::SingleOnlyCombined => {
                "単独で請求する公費が、他の公費と同じ日に有効です。受給者証を確認してください。"
            }
            Self::TooManySubsidies => {
                "有効な公費が多すぎます。1枚のレセプトに載せられるのは4つまでです。"
            }
            Self::DuplicateCertificate => {
                "同じ公費負担者番号・受給者番号の受給者証が重複しています。"
            }
            Self::ReceiptTypeUnavailable => {
                "レセプト種別を決められません（保険の情報が足りません）。"
            }
            Self::SettingNotCovered => {
                "この公費はこの受診区分（外来・入院、医科・調剤）を対象としていません。"
            }
            Self::IncomeClassUnknown => {
                "所得区分がマスタにないため、上限額が分かりません。受給者証を確認してください。"
            }
            Self::CapUnknown => "上限額が分かりません。受給者証を確認してください。",
            Self::CapConflict => {
                "受給者証とマスタで上限額が異なります。受給者証の額を使っています。"
            }
            Self::AgeOutsideProgramme => {
                "年齢がこの公費の対象年齢の外です。受給者証を確認してください。"
            }
            Self::InsuranceKindNotCovered => "この公費は患者さんの保険の種類を対象としていません。",
            Self::ProgrammeNotInForce => "この公費（地方単独）は受診日に実施されていません。",
            Self::CalcCodeMissing => {
                "計算用のコードがマスタにありません。レセコンで公費を確認してください。"
            }
            Self::RecipientNumberNotReceiptable => {
                "受給者番号がレセプトの7桁に収まりません。請求の前に確認してください。"
            }
            Self::BurdenCodeMissing => "この公費の組み合わせの負担区分コードがマスタにありません。",
            Self::CertificateFieldUnreadable => {
                "受給者証の項目（上限額など）が読み取れません。値は「不明」で、「なし」ではありません。受給者証を確認してください。"
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Warning {
    pub code: WarningCode,
    /// Human text; never contains a recipient or insured number.
    pub message: String,
}

impl MappedSubsidy {
    /// The copay rule for 外来 or 入院.
    pub fn copay_for(&self, care: Care) -> &CopayRule {
        if self.copay.care == care {
            &self.copay
        } else {
            &self.copay_other_care
        }
    }
}

impl Warning {
    fn new(code: WarningCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SubsidyStatus {
    Active,
    Expired,
    NotYetValid,
    /// The certificate's validity dates could not be read: not applied, reported.
    ValidityUnknown,
}

/// One subsidy as mapped. `Debug` leaves out the recipient number and the face items.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
pub struct MappedSubsidy {
    /// 1 = 第1公費; `None` for inactive subsidies.
    pub order: Option<u8>,
    pub status: SubsidyStatus,
    pub payer_number: String,
    pub recipient_number: Option<String>,
    pub programme: Programme,
    pub validity: Option<Validity>,
    pub certificate_type_id: Option<String>,
    /// 受給者証名; withheld when not disclosed.
    pub certification_name: Option<String>,
    pub details: Vec<CertificateDetail>,
    pub segment: Option<String>,
    pub income_segment: Option<String>,
    pub additional_conditions: Vec<String>,
    pub designated_institutions: Vec<DesignatedInstitution>,
    pub copay: CopayRule,
    /// The rule of the other setting (入院 when the visit is 外来 and vice versa), for
    /// renderings that register both (ORCA); its doubts are not repeated as warnings.
    pub copay_other_care: CopayRule,
    /// PROVISIONAL calculation-module codes; `None` when no row matches.
    pub calc_codes: Option<CalcCodes>,
    /// The KO record identity fields for this visit's claim layout.
    pub ko: KoRecord,
    pub flags: Vec<Flag>,
    pub warnings: Vec<Warning>,
}

impl std::fmt::Debug for MappedSubsidy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedSubsidy")
            .field("order", &self.order)
            .field("status", &self.status)
            .field("payer_number", &self.payer_number)
            .field("recipient_number", &Redacted::opt(&self.recipient_number))
            .field("programme", &self.programme)
            .field("validity", &self.validity)
            .field("certification_name", &self.certification_name)
            .field("income_segment", &self.income_segment)
            .field("copay", &self.copay)
            .field("calc_codes", &self.calc_codes)
            .field("ko", &self.ko)
            .field("flags", &self.flags)
            .field("warnings", &self.warnings)
            .field("details", &Redacted::list(&self.details))
            .finish_non_exhaustive()
    }
}

/// The 負担区分 code of one combination of payers.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct BurdenEntry {
    pub payers: Payers,
    pub code: Option<BurdenCode>,
}

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Mapped {
    /// Valid on the service date, 第1公費 first.
    pub active: Vec<MappedSubsidy>,
    /// Expired, not yet valid, or unreadable validity.
    pub inactive: Vec<MappedSubsidy>,
    /// Warnings about the combination rather than one subsidy.
    pub warnings: Vec<Warning>,
    /// レセプト種別, when the insurance context was given and the combination allows one.
    pub receipt_type: Option<String>,
    /// 負担区分 for every combination of the visit's payers (insurance unless 公費のみ, and the
    /// active subsidies by order); empty when more than four subsidies are active.
    pub burden_codes: Vec<BurdenEntry>,
    /// The version of the calculation-module code table the codes come from.
    pub calc_codes_version: String,
}

/// The most subsidies a receipt carries (第1〜第4公費).
pub const MAX_SUBSIDIES: usize = 4;

pub fn map(certs: &[Certificate], masters: &MasterSnapshot, ctx: &VisitContext) -> Mapped {
    let mut active = Vec::new();
    let mut inactive = Vec::new();
    for c in certs {
        let m = map_one(c, masters, ctx);
        if m.status == SubsidyStatus::Active {
            active.push(m);
        } else {
            inactive.push(m);
        }
    }
    order::sort(&mut active);
    order::sort(&mut inactive);
    let mut warnings = Vec::new();
    mark_duplicates(&mut active, &mut warnings);
    if active.len() > 1 && active.iter().any(|s| s.programme.single_only) {
        for s in active.iter_mut().filter(|s| s.programme.single_only) {
            s.warnings.push(Warning::new(
                WarningCode::SingleOnlyCombined,
                format!(
                    "法別 {} must be billed alone, but other subsidies are active on the same date",
                    s.programme
                        .law_code
                        .map(|l| l.to_string())
                        .unwrap_or_default()
                ),
            ));
        }
        warnings.push(Warning::new(
            WarningCode::SingleOnlyCombined,
            "a single-only programme is combined with other subsidies: check the certificates",
        ));
    }
    if active.len() > MAX_SUBSIDIES {
        warnings.push(Warning::new(
            WarningCode::TooManySubsidies,
            format!(
                "{} subsidies are active but a receipt carries at most {MAX_SUBSIDIES}",
                active.len()
            ),
        ));
    }
    for (i, s) in active.iter_mut().enumerate() {
        s.order = Some(u8::try_from(i + 1).unwrap_or(u8::MAX));
    }
    let receipt_type = ctx.insurance.and_then(|ins| {
        receipt::receipt_type(ctx.claim, ins.kind, ins.beneficiary, ctx.care, active.len())
            .map_err(|e| {
                warnings.push(Warning::new(
                    WarningCode::ReceiptTypeUnavailable,
                    format!("no レセプト種別: {e}"),
                ))
            })
            .ok()
    });
    let burden_codes = burden_codes(&active, masters, ctx, &mut warnings);
    Mapped {
        active,
        inactive,
        warnings,
        receipt_type,
        burden_codes,
        calc_codes_version: masters
            .file_version(crate::masters::CALC_CODES_FILE)
            .unwrap_or_default()
            .to_owned(),
    }
}

fn burden_codes(
    active: &[MappedSubsidy],
    masters: &MasterSnapshot,
    ctx: &VisitContext,
    warnings: &mut Vec<Warning>,
) -> Vec<BurdenEntry> {
    if active.len() > MAX_SUBSIDIES {
        return Vec::new();
    }
    let insurance = ctx.insurance.is_none_or(|i| i.kind != InsuranceKind::None);
    let out: Vec<BurdenEntry> = Payers::all_for(insurance, active.len())
        .into_iter()
        .map(|payers| BurdenEntry {
            payers,
            code: masters.burden_code(payers).cloned(),
        })
        .collect();
    let missing: Vec<String> = out
        .iter()
        .filter(|e| e.code.is_none())
        .map(|e| e.payers.label())
        .collect();
    if !missing.is_empty() {
        warnings.push(Warning::new(
            WarningCode::BurdenCodeMissing,
            format!("no 負担区分 code in the master for {}", missing.join(", ")),
        ));
    }
    out
}

fn mark_duplicates(active: &mut [MappedSubsidy], warnings: &mut Vec<Warning>) {
    let mut seen = std::collections::HashSet::new();
    let mut dup = false;
    for s in active.iter_mut() {
        if !seen.insert((s.payer_number.clone(), s.recipient_number.clone())) {
            dup = true;
            s.warnings.push(Warning::new(
                WarningCode::DuplicateCertificate,
                "the same payer and recipient number appear on another active certificate",
            ));
        }
    }
    if dup {
        warnings.push(Warning::new(
            WarningCode::DuplicateCertificate,
            "duplicate certificates are active on the service date",
        ));
    }
}

fn programme_of(
    c: &Certificate,
    masters: &MasterSnapshot,
    warnings: &mut Vec<Warning>,
) -> Programme {
    let unknown = |law_code| Programme {
        kind: ProgrammeKind::Unknown,
        law_code,
        name: None,
        short_name: None,
        rank: None,
        single_only: false,
        master_key: None,
        orca_class: None,
    };
    let payer = match &c.payer_number {
        Ok(p) => p.clone(),
        Err(e) => {
            use crate::domain::NumberError::PublicCheckDigit;
            if c.payer_number_raw.trim().is_empty() {
                warnings.push(Warning::new(
                    WarningCode::PayerNumberMissing,
                    "the certificate has no payer number (公費負担者番号): ask for the paper certificate",
                ));
            } else {
                let code = if matches!(e, PublicCheckDigit { .. }) {
                    WarningCode::PayerNumberCheckDigit
                } else {
                    WarningCode::PayerNumberMalformed
                };
                warnings.push(Warning::new(code, format!("payer number {e}")));
            }
            // Still place it by its 法別 when the shape allows: dropping it would hide it.
            let law = c
                .payer_number_raw
                .get(..2)
                .and_then(|l| LawCode::parse(l).ok())
                .filter(|_| c.payer_number_raw.len() == 8);
            return match law.and_then(|l| masters.national(l)) {
                Some(n) => national(n),
                None => unknown(law),
            };
        }
    };
    if let Some(n) = masters.national(payer.law_code()) {
        return national(n);
    }
    if let Some(l) = masters.local(&payer) {
        return Programme {
            kind: ProgrammeKind::Local,
            law_code: Some(l.law_code),
            name: Some(l.name.clone()),
            short_name: Some(l.short_name.clone()),
            rank: Some(l.priority),
            single_only: false,
            master_key: Some(l.payer_match.clone()),
            orca_class: l.orca_class.clone(),
        };
    }
    warnings.push(Warning::new(
        WarningCode::UnknownProgramme,
        format!(
            "payer number {payer} (法別 {}) is in no master table: treated as a local programme of unknown rules",
            payer.law_code()
        ),
    ));
    unknown(Some(payer.law_code()))
}

fn national(n: &crate::masters::NationalProgramme) -> Programme {
    Programme {
        kind: ProgrammeKind::National,
        law_code: Some(n.law_code),
        name: Some(n.name.clone()),
        short_name: Some(n.short_name.clone()),
        rank: Some(n.priority_rank),
        single_only: n.single_only,
        master_key: Some(n.law_code.to_string()),
        orca_class: Some(format!("0{}", n.law_code)),
    }
}

fn recipient_checks(
    c: &Certificate,
    programme: &Programme,
    masters: &MasterSnapshot,
    warnings: &mut Vec<Warning>,
) {
    let raw = c.recipient_number_raw.as_deref().filter(|r| !r.is_empty());
    let nat = programme
        .law_code
        .filter(|_| programme.kind == ProgrammeKind::National)
        .and_then(|l| masters.national(l));
    match (raw, nat) {
        (Some(_), Some(n)) if !n.recipient_number_required => warnings.push(Warning::new(
            WarningCode::RecipientNumberUnexpected,
            format!(
                "法別 {} has no recipient number, but one was registered",
                n.law_code
            ),
        )),
        (Some(r), Some(_)) => match RecipientNumber::parse_national(r) {
            Ok(_) => {}
            Err(e @ crate::domain::NumberError::CheckDigit { .. }) => warnings.push(Warning::new(
                WarningCode::RecipientNumberCheckDigit,
                format!("recipient number {e}"),
            )),
            Err(e) => warnings.push(Warning::new(
                WarningCode::RecipientNumberMalformed,
                format!("recipient number of a national programme {e}"),
            )),
        },
        (Some(r), None) => {
            if let Err(e) = RecipientNumber::parse_local(r) {
                warnings.push(Warning::new(
                    WarningCode::RecipientNumberMalformed,
                    format!("recipient number {e}"),
                ));
            }
        }
        (None, Some(n)) if n.recipient_number_required => warnings.push(Warning::new(
            WarningCode::RecipientNumberMissing,
            format!(
                "法別 {} requires a recipient number, but none was registered",
                n.law_code
            ),
        )),
        (None, _) => {}
    }
}

fn map_one(c: &Certificate, masters: &MasterSnapshot, ctx: &VisitContext) -> MappedSubsidy {
    let mut warnings = Vec::new();
    let programme = programme_of(c, masters, &mut warnings);
    recipient_checks(c, &programme, masters, &mut warnings);

    let (validity, status) = match &c.validity {
        Ok(v) => (
            Some(*v),
            match v.status_on(ctx.service_date) {
                ValidityStatus::Valid => SubsidyStatus::Active,
                ValidityStatus::Expired => SubsidyStatus::Expired,
                ValidityStatus::NotYetValid => SubsidyStatus::NotYetValid,
            },
        ),
        Err(e) => {
            warnings.push(Warning::new(
                WarningCode::InvalidValidity,
                format!("validity dates unreadable ({e}): not applied"),
            ));
            (None, SubsidyStatus::ValidityUnknown)
        }
    };

    if !c.unreadable.is_empty() {
        warnings.push(Warning::new(
            WarningCode::CertificateFieldUnreadable,
            format!(
                "{} could not be read: that cap is unknown (not absent); check the certificate",
                c.unreadable.join(", ")
            ),
        ));
    }

    let mut flags = Vec::new();
    if c.always_reimbursement {
        flags.push(Flag::ReimbursementOnly);
    }
    if programme.single_only {
        flags.push(Flag::SingleOnly);
    }
    if !c.designated_institutions.is_empty() {
        flags.push(Flag::DesignatedInstitutionLimited);
        if let Some(me) = &ctx.institution
            && !c
                .designated_institutions
                .iter()
                .any(|d| d.code == me.as_str())
        {
            flags.push(Flag::DesignatedInstitutionMismatch);
            warnings.push(Warning::new(
                WarningCode::DesignatedInstitutionMismatch,
                "this institution is not among the certificate's designated institutions (指定医療機関)",
            ));
        }
    }
    let (certification_name, details) = if c.not_disclosed {
        flags.push(Flag::NotDisclosed);
        (None, Vec::new())
    } else {
        (c.certification_name.clone(), c.details.clone())
    };
    flags.sort();

    let copay = rules::resolve(c, &programme, masters, ctx, &mut warnings);
    let other_ctx = VisitContext {
        care: match ctx.care {
            Care::Outpatient => Care::Inpatient,
            Care::Inpatient => Care::Outpatient,
        },
        ..ctx.clone()
    };
    let copay_other_care = rules::resolve(c, &programme, masters, &other_ctx, &mut Vec::new());
    let calc_codes = programme.master_key.as_deref().and_then(|key| {
        let found =
            masters
                .calc_codes()
                .lookup(key, c.income_segment.as_deref(), &c.additional_conditions);
        if found.is_none() {
            warnings.push(Warning::new(
                WarningCode::CalcCodeMissing,
                "no calculation-module code row matches this programme and income class",
            ));
        }
        found.cloned()
    });
    let ko = receipt::ko_record(
        ctx.claim,
        &c.payer_number_raw,
        c.recipient_number_raw.as_deref(),
        programme.law_code,
        &mut warnings,
    );

    MappedSubsidy {
        order: None,
        status,
        payer_number: c.payer_number_raw.clone(),
        recipient_number: c.recipient_number_raw.clone().filter(|r| !r.is_empty()),
        programme,
        validity,
        certificate_type_id: c.certificate_type_id.clone(),
        certification_name,
        details,
        segment: c.segment.clone(),
        income_segment: c.income_segment.clone(),
        additional_conditions: c.additional_conditions.clone(),
        designated_institutions: c.designated_institutions.clone(),
        copay,
        copay_other_care,
        calc_codes,
        ko,
        flags,
        warnings,
    }
}

#[cfg(test)]
mod tests;
