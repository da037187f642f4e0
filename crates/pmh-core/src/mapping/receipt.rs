//! レセプト種別: the 4-digit receipt type on the RE record (レセプト電算処理システム 記録条件仕様).
//!
//! digit 1: 1 医科, 4 調剤; digit 2: 1 医保, 2 公費のみ, 3 後期高齢者; digit 3: with insurance
//! 1 alone and 2–5 = insurance + 1–4 subsidies, 公費のみ 1 単独 and 2–4 = 2–4 subsidies; digit 4:
//! odd 入院, even 入院外 — 1/2 本人, 3/4 未就学者, 5/6 家族, 7/8 高齢受給者 一般・低所得,
//! 9/0 高齢受給者 7割; 後期 uses 7/8/9/0 only, 公費のみ 1/2, 調剤 even digits only.

use super::{Care, Claim, Warning, WarningCode};
use crate::domain::{Beneficiary, InsuranceKind, LawCode, Redacted};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReceiptTypeError {
    #[error("a receipt carries at most 4 subsidies, {0} are active")]
    TooManySubsidies(usize),
    #[error("a 公費のみ receipt needs at least one active subsidy")]
    NoSubsidyWithoutInsurance,
    #[error("後期高齢者 receipts are for 高齢受給者 一般 or 7割 only")]
    LateElderlyBeneficiary,
}

pub fn receipt_type(
    claim: Claim,
    insurance: InsuranceKind,
    beneficiary: Beneficiary,
    care: Care,
    active_subsidies: usize,
) -> Result<String, ReceiptTypeError> {
    if active_subsidies > 4 {
        return Err(ReceiptTypeError::TooManySubsidies(active_subsidies));
    }
    let d1 = match claim {
        Claim::Medical => 1,
        Claim::Pharmacy => 4,
    };
    let d2 = match insurance {
        InsuranceKind::HealthInsurance => 1,
        InsuranceKind::None => 2,
        InsuranceKind::LateElderly => 3,
    };
    let d3 = match insurance {
        InsuranceKind::None if active_subsidies == 0 => {
            return Err(ReceiptTypeError::NoSubsidyWithoutInsurance);
        }
        InsuranceKind::None => active_subsidies,
        _ => active_subsidies + 1,
    };
    // 調剤 has no 入院: always the 入院外 (even) digit.
    let inpatient = care == Care::Inpatient && claim == Claim::Medical;
    let pair = match (insurance, beneficiary) {
        (InsuranceKind::None, _) => (1, 2),
        (InsuranceKind::LateElderly, Beneficiary::ElderlyGeneral) => (7, 8),
        (InsuranceKind::LateElderly, Beneficiary::ElderlyHigh) => (9, 0),
        (InsuranceKind::LateElderly, _) => return Err(ReceiptTypeError::LateElderlyBeneficiary),
        (_, Beneficiary::Insured) => (1, 2),
        (_, Beneficiary::Preschool) => (3, 4),
        (_, Beneficiary::Family) => (5, 6),
        (_, Beneficiary::ElderlyGeneral) => (7, 8),
        (_, Beneficiary::ElderlyHigh) => (9, 0),
    };
    let d4 = if inpatient { pair.0 } else { pair.1 };
    Ok(format!("{d1}{d2}{d3}{d4}"))
}

/// One field of a receipt record, in record order. `Debug` leaves out the value (a recipient
/// number).
#[derive(Clone, PartialEq, Eq, serde::Serialize)]
pub struct RecordField {
    /// The field's name in the recording specification (記録条件仕様).
    pub name: &'static str,
    /// What to record; empty = leave blank.
    pub value: String,
    /// Maximum length in characters.
    pub max_len: u8,
    /// Whether the field is fixed-length (固定).
    pub fixed: bool,
}

/// The names of the KO identity fields this module writes.
const KO_FIELD_NAMES: [&str; 3] = ["負担者番号", "受給者番号", "任意給付区分"];

/// A stored field read back, its name as the module's own `&'static str`.
impl<'de> serde::Deserialize<'de> for RecordField {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Stored {
            name: String,
            value: String,
            max_len: u8,
            fixed: bool,
        }
        let s = Stored::deserialize(d)?;
        let name = KO_FIELD_NAMES
            .into_iter()
            .find(|n| *n == s.name)
            .ok_or_else(|| serde::de::Error::custom("not a KO field name"))?;
        Ok(Self {
            name,
            value: s.value,
            max_len: s.max_len,
            fixed: s.fixed,
        })
    }
}

impl std::fmt::Debug for RecordField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordField")
            .field("name", &self.name)
            .field("value", &Redacted::Present)
            .field("max_len", &self.max_len)
            .field("fixed", &self.fixed)
            .finish()
    }
}

/// The identity fields of a KO (公費) record: 負担者番号, 受給者番号, 任意給付区分 — in that
/// order after the record id `KO`, in both the 医科 and the 調剤 layouts (記録条件仕様, 医科 and 調剤). The
/// amounts that follow (日数・回数, 点数, 負担金額) belong to the receipt computer.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KoRecord {
    /// 医科 or 調剤 layout.
    pub layout: Claim,
    pub fields: Vec<RecordField>,
}

/// The KO identity fields of one subsidy. 法別 30 has no recipient number; a local recipient
/// number longer than 7 characters or not all digits does not fit and is warned about (it is
/// passed on as registered, never cut).
pub fn ko_record(
    claim: Claim,
    payer: &str,
    recipient: Option<&str>,
    law: Option<LawCode>,
    warnings: &mut Vec<Warning>,
) -> KoRecord {
    let recipient = if law.is_some_and(|l| l.value() == 30) {
        String::new()
    } else {
        recipient.unwrap_or_default().to_owned()
    };
    if recipient.chars().count() > 7 || !recipient.bytes().all(|b| b.is_ascii_digit()) {
        warnings.push(Warning::new(
            WarningCode::RecipientNumberNotReceiptable,
            format!(
                "the recipient number ({} characters) does not fit the KO record's 7 digits",
                recipient.chars().count()
            ),
        ));
    }
    KoRecord {
        layout: claim,
        fields: vec![
            RecordField {
                name: KO_FIELD_NAMES[0],
                value: payer.to_owned(),
                max_len: 8,
                fixed: true,
            },
            RecordField {
                name: KO_FIELD_NAMES[1],
                value: recipient,
                max_len: 7,
                fixed: false,
            },
            RecordField {
                name: KO_FIELD_NAMES[2],
                value: String::new(),
                max_len: 1,
                fixed: false,
            },
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Beneficiary::*;
    use InsuranceKind::*;

    #[test]
    fn golden_examples_from_the_domain_reference() {
        // 1112 医科 医保単独 本人 外来
        assert_eq!(
            receipt_type(
                Claim::Medical,
                HealthInsurance,
                Insured,
                Care::Outpatient,
                0
            )
            .unwrap(),
            "1112"
        );
        // 1122 医科 医保+1公費 本人 外来
        assert_eq!(
            receipt_type(
                Claim::Medical,
                HealthInsurance,
                Insured,
                Care::Outpatient,
                1
            )
            .unwrap(),
            "1122"
        );
        // 1212 医科 公費単独 外来
        assert_eq!(
            receipt_type(Claim::Medical, None, Insured, Care::Outpatient, 1).unwrap(),
            "1212"
        );
        // 1318 医科 後期単独 一般 外来
        assert_eq!(
            receipt_type(
                Claim::Medical,
                LateElderly,
                ElderlyGeneral,
                Care::Outpatient,
                0
            )
            .unwrap(),
            "1318"
        );
        // 4122 調剤 医保+1公費 本人
        assert_eq!(
            receipt_type(
                Claim::Pharmacy,
                HealthInsurance,
                Insured,
                Care::Outpatient,
                1
            )
            .unwrap(),
            "4122"
        );
    }

    #[test]
    fn the_other_digits() {
        assert_eq!(
            receipt_type(Claim::Medical, HealthInsurance, Family, Care::Inpatient, 2).unwrap(),
            "1135"
        );
        assert_eq!(
            receipt_type(
                Claim::Medical,
                HealthInsurance,
                Preschool,
                Care::Outpatient,
                4
            )
            .unwrap(),
            "1154"
        );
        assert_eq!(
            receipt_type(Claim::Medical, LateElderly, ElderlyHigh, Care::Inpatient, 1).unwrap(),
            "1329"
        );
        assert_eq!(
            receipt_type(Claim::Medical, None, Family, Care::Outpatient, 3).unwrap(),
            "1232"
        );
        assert_eq!(
            receipt_type(Claim::Pharmacy, HealthInsurance, Family, Care::Inpatient, 0).unwrap(),
            "4116",
            "調剤 is never 入院"
        );
        assert_eq!(
            receipt_type(Claim::Medical, None, Insured, Care::Outpatient, 0),
            Err(ReceiptTypeError::NoSubsidyWithoutInsurance)
        );
        assert_eq!(
            receipt_type(
                Claim::Medical,
                HealthInsurance,
                Insured,
                Care::Outpatient,
                5
            ),
            Err(ReceiptTypeError::TooManySubsidies(5))
        );
        assert_eq!(
            receipt_type(Claim::Medical, LateElderly, Insured, Care::Outpatient, 0),
            Err(ReceiptTypeError::LateElderlyBeneficiary)
        );
    }
}
