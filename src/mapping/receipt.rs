//! レセプト種別: the 4-digit receipt type on the RE record (DOMAIN.md §4).
//!
//! digit 1: 1 医科, 4 調剤; digit 2: 1 医保, 2 公費のみ, 3 後期高齢者; digit 3: with insurance
//! 1 alone and 2–5 = insurance + 1–4 subsidies, 公費のみ 1 単独 and 2–4 = 2–4 subsidies; digit 4:
//! odd 入院, even 入院外 — 1/2 本人, 3/4 未就学者, 5/6 家族, 7/8 高齢受給者 一般・低所得,
//! 9/0 高齢受給者 7割; 後期 uses 7/8/9/0 only, 公費のみ 1/2, 調剤 even digits only.

use super::{Care, Claim};

pub use crate::domain::InsuranceKind;

/// Who the patient is on the insurance side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Beneficiary {
    /// 本人.
    Insured,
    /// 家族.
    Family,
    /// 未就学者.
    Preschool,
    /// 高齢受給者 一般・低所得 (後期: 一般).
    ElderlyGeneral,
    /// 高齢受給者 7割 (現役並み).
    ElderlyHigh,
}

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
