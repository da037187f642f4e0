//! The PROVISIONAL PMH block inside an オン資 result: `MedicalSubsidyResultList/MedicalSubsidyInfo`,
//! whose children are the PascalCase forms of the PMH contract's field names (`crate::pmh`).
//! Where PMH data really sits in the XML is not public; every element name of the block is in
//! this file, so the real one replaces it here.

use super::tree::Element;
use crate::pmh::{WireCaps, WireDetail, WireInstitution, WireMaxCopayment, WireSubsidy};

pub const LIST: &str = "MedicalSubsidyResultList";
pub const INFO: &str = "MedicalSubsidyInfo";

fn text(e: &Element, name: &str) -> Option<String> {
    e.text_of(name).map(str::to_owned)
}

fn flag(e: &Element, name: &str) -> bool {
    matches!(e.text_of(name), Some("1" | "true" | "TRUE" | "True"))
}

/// The contract paths of the per-month, per-day and per-visit caps of one setting.
type CapPaths = [&'static str; 3];
const OUTPATIENT: CapPaths = [
    "maxCopaymentAmount.outpatient.perMonth",
    "maxCopaymentAmount.outpatient.perDay",
    "maxCopaymentAmount.outpatient.perVisit",
];
const INPATIENT: CapPaths = [
    "maxCopaymentAmount.inpatient.perMonth",
    "maxCopaymentAmount.inpatient.perDay",
    "maxCopaymentAmount.inpatient.perVisit",
];

/// The caps of one setting; an amount present but not a whole number of yen is left out and its
/// contract path added to `unreadable`.
fn caps(
    e: Option<&Element>,
    paths: CapPaths,
    unreadable: &mut Vec<&'static str>,
) -> Option<WireCaps> {
    let e = e?;
    let mut yen = |name: &str, path: &'static str| {
        let text = e.text_of(name)?;
        let parsed = text.trim().parse::<u64>().ok();
        if parsed.is_none() {
            unreadable.push(path);
        }
        parsed
    };
    Some(WireCaps {
        per_month: yen("PerMonth", paths[0]),
        per_day: yen("PerDay", paths[1]),
        per_visit: yen("PerVisit", paths[2]),
    })
}

/// One `MedicalSubsidyInfo` as the contract's wire type, so that the same boundary parse
/// (`WireSubsidy::to_certificate`) applies to both sources. `None` without a payer number.
pub fn subsidy(e: &Element) -> WireSubsidy {
    let mut unreadable = Vec::new();
    let max = e.child("MaxCopaymentAmount").map(|m| WireMaxCopayment {
        outpatient: caps(m.child("Outpatient"), OUTPATIENT, &mut unreadable),
        inpatient: caps(m.child("Inpatient"), INPATIENT, &mut unreadable),
    });
    WireSubsidy {
        org_specific_certificate_type_id: text(e, "OrgSpecificCertificateTypeId"),
        certification_name: text(e, "CertificationName"),
        // Absent: kept with an empty payer number (a warning on the answer), never dropped.
        medical_subsidy_insurer_number: text(e, "MedicalSubsidyInsurerNumber").unwrap_or_default(),
        medical_subsidy_recipient_number: text(e, "MedicalSubsidyRecipientNumber"),
        segment: text(e, "Segment"),
        income_segment: text(e, "IncomeSegment"),
        additional_conditions: text(e, "AdditionalConditions"),
        designated_medical_institutions: e
            .child("DesignatedMedicalInstitutions")
            .map(|d| {
                d.children_named("DesignatedMedicalInstitution")
                    .filter_map(|i| {
                        Some(WireInstitution {
                            medical_institution_code: text(i, "MedicalInstitutionCode")?,
                            name: text(i, "Name"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        is_always_reimbursement: flag(e, "IsAlwaysReimbursement"),
        is_not_disclosed: flag(e, "IsNotDisclosed"),
        max_copayment_amount: max,
        valid_from: text(e, "ValidFrom"),
        valid_to: text(e, "ValidTo"),
        certification_detail: e
            .child("CertificationDetail")
            .map(|d| {
                d.children_named("CertificationDetailItem")
                    .filter_map(|i| {
                        Some(WireDetail {
                            item_name: text(i, "ItemName")?,
                            item_value: text(i, "ItemValue").unwrap_or_default(),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default(),
        unreadable,
    }
}

/// Writes the block (for the sandbox terminal and tests): the inverse of `subsidy`.
pub fn write(subsidies: &[WireSubsidy], out: &mut String) {
    use quick_xml::escape::escape;
    let el = |out: &mut String, name: &str, v: &Option<String>| {
        if let Some(v) = v {
            out.push_str(&format!("<{name}>{}</{name}>", escape(v.as_str())));
        }
    };
    out.push_str(&format!("<{LIST}>"));
    for s in subsidies {
        out.push_str(&format!("<{INFO}>"));
        el(
            out,
            "OrgSpecificCertificateTypeId",
            &s.org_specific_certificate_type_id,
        );
        el(out, "CertificationName", &s.certification_name);
        el(
            out,
            "MedicalSubsidyInsurerNumber",
            &Some(s.medical_subsidy_insurer_number.clone()),
        );
        el(
            out,
            "MedicalSubsidyRecipientNumber",
            &s.medical_subsidy_recipient_number,
        );
        el(out, "Segment", &s.segment);
        el(out, "IncomeSegment", &s.income_segment);
        el(out, "AdditionalConditions", &s.additional_conditions);
        if !s.designated_medical_institutions.is_empty() {
            out.push_str("<DesignatedMedicalInstitutions>");
            for i in &s.designated_medical_institutions {
                out.push_str("<DesignatedMedicalInstitution>");
                el(
                    out,
                    "MedicalInstitutionCode",
                    &Some(i.medical_institution_code.clone()),
                );
                el(out, "Name", &i.name);
                out.push_str("</DesignatedMedicalInstitution>");
            }
            out.push_str("</DesignatedMedicalInstitutions>");
        }
        el(
            out,
            "IsAlwaysReimbursement",
            &Some(u8::from(s.is_always_reimbursement).to_string()),
        );
        el(
            out,
            "IsNotDisclosed",
            &Some(u8::from(s.is_not_disclosed).to_string()),
        );
        if let Some(m) = s.max_copayment_amount {
            out.push_str("<MaxCopaymentAmount>");
            for (name, c) in [("Outpatient", m.outpatient), ("Inpatient", m.inpatient)] {
                if let Some(c) = c {
                    out.push_str(&format!("<{name}>"));
                    el(out, "PerMonth", &c.per_month.map(|v| v.to_string()));
                    el(out, "PerDay", &c.per_day.map(|v| v.to_string()));
                    el(out, "PerVisit", &c.per_visit.map(|v| v.to_string()));
                    out.push_str(&format!("</{name}>"));
                }
            }
            out.push_str("</MaxCopaymentAmount>");
        }
        el(out, "ValidFrom", &s.valid_from);
        el(out, "ValidTo", &s.valid_to);
        if !s.certification_detail.is_empty() {
            out.push_str("<CertificationDetail>");
            for d in &s.certification_detail {
                out.push_str("<CertificationDetailItem>");
                el(out, "ItemName", &Some(d.item_name.clone()));
                el(out, "ItemValue", &Some(d.item_value.clone()));
                out.push_str("</CertificationDetailItem>");
            }
            out.push_str("</CertificationDetail>");
        }
        out.push_str(&format!("</{INFO}>"));
    }
    out.push_str(&format!("</{LIST}>"));
}
