//! Persona recipes: the showcase personas (the same at the head of every population) and the
//! random mix behind them.

use super::OTHER_INSTITUTION;
use super::certificates::*;
use pmh_formats::pmh::{WireInstitution, WireSubsidy};

/// A persona template: tags, age range, certificates.
pub(super) type Recipe = fn(&mut Gen<'_>) -> (Vec<&'static str>, (i64, i64), Vec<WireSubsidy>);

/// The showcase personas, in this order, at the head of every population (P0001…).
pub(super) const SHOWCASE: &[Recipe] = &[
    |g| {
        (
            vec!["multi", "nanbyou", "local"],
            (30, 70),
            vec![
                g.tokyo_local("maru_sho", Validity::Active),
                g.nanbyou(Validity::Active),
            ],
        )
    },
    |_| (vec!["none"], (20, 80), vec![]),
    |g| {
        (
            vec!["expired"],
            (30, 70),
            vec![g.nanbyou(Validity::Expired)],
        )
    },
    |g| {
        (
            vec!["multi", "triple", "local"],
            (20, 60),
            vec![
                g.tokyo_local("maru_sho", Validity::Active),
                g.nanbyou(Validity::Active),
                g.jiritsu("21", Validity::Active),
            ],
        )
    },
    |g| {
        (
            vec!["multi", "seiho"],
            (20, 60),
            vec![g.seiho(Validity::Active), g.jiritsu("21", Validity::Active)],
        )
    },
    |g| (vec!["future"], (1, 14), vec![g.shoman(Validity::Future)]),
    |g| {
        (
            vec!["not_disclosed"],
            (30, 70),
            vec![{
                let mut s = g.nanbyou(Validity::Active);
                s.is_not_disclosed = true;
                s
            }],
        )
    },
    |g| {
        (
            vec!["reimbursement_only", "local"],
            (6, 14),
            vec![{
                let mut s = g.tokyo_local("maru_ko", Validity::Active);
                s.is_always_reimbursement = true;
                s
            }],
        )
    },
    |g| {
        (
            vec!["designated_mismatch"],
            (30, 70),
            vec![{
                let mut s = g.nanbyou(Validity::Active);
                s.designated_medical_institutions = vec![WireInstitution {
                    medical_institution_code: OTHER_INSTITUTION.into(),
                    name: Some("別の病院".into()),
                }];
                s
            }],
        )
    },
    |g| {
        (
            vec!["broken_check_digit"],
            (30, 70),
            vec![{
                let mut s = g.nanbyou(Validity::Active);
                break_last_digit(&mut s.medical_subsidy_insurer_number);
                s
            }],
        )
    },
    |g| {
        (
            vec!["broken_check_digit"],
            (20, 60),
            vec![{
                let mut s = g.jiritsu("21", Validity::Active);
                if let Some(r) = s.medical_subsidy_recipient_number.as_mut() {
                    break_last_digit(r)
                };
                s
            }],
        )
    },
    |g| {
        (
            vec!["multi", "shoman", "local"],
            (0, 5),
            vec![
                g.tokyo_local("maru_nyu", Validity::Active),
                g.shoman(Validity::Active),
            ],
        )
    },
    |g| {
        (
            vec!["expired", "multi"],
            (30, 70),
            vec![
                g.nanbyou(Validity::Expired),
                g.jiritsu("15", Validity::Active),
            ],
        )
    },
    |g| (vec!["kekkaku"], (20, 90), vec![g.kekkaku(Validity::Active)]),
    |g| {
        (
            vec!["local", "maru_oya"],
            (20, 50),
            vec![g.tokyo_local("maru_oya", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["ikusei"],
            (0, 17),
            vec![g.jiritsu("16", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["local", "maru_ko"],
            (7, 13),
            vec![g.tokyo_local("maru_ko", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["local", "chiba"],
            (3, 12),
            vec![g.other_local("tateyama", Validity::Active)],
        )
    },
    |g| {
        (
            vec!["local", "osaka"],
            (3, 12),
            vec![g.other_local("osaka", Validity::Active)],
        )
    },
];

pub(super) fn random_recipe(g: &mut Gen<'_>) -> (Vec<&'static str>, (i64, i64), Vec<WireSubsidy>) {
    let v = match g.rng.below(20) {
        0 => Validity::Expired,
        1 => Validity::Future,
        _ => Validity::Active,
    };
    let tag_v = match v {
        Validity::Active => None,
        Validity::Expired => Some("expired"),
        Validity::Future => Some("future"),
    };
    let (mut tags, ages, certs): (Vec<&'static str>, _, _) = match g.rng.below(100) {
        0..=24 => (vec!["none"], (0, 90), vec![]),
        25..=39 => (vec!["nanbyou"], (18, 90), vec![g.nanbyou(v)]),
        40..=47 => (vec!["shoman"], (0, 17), vec![g.shoman(v)]),
        48..=57 => (vec!["jiritsu"], (18, 80), {
            let law = *g.rng.pick(&["15", "21", "21"]);
            vec![g.jiritsu(law, v)]
        }),
        58..=59 => (vec!["ikusei"], (0, 17), vec![g.jiritsu("16", v)]),
        60..=62 => (vec!["kekkaku"], (18, 90), vec![g.kekkaku(v)]),
        63..=67 => (vec!["seiho"], (18, 90), vec![g.seiho(v)]),
        68..=72 => (vec!["local"], (0, 5), vec![g.tokyo_local("maru_nyu", v)]),
        73..=78 => (vec!["local"], (6, 14), vec![g.tokyo_local("maru_ko", v)]),
        79..=82 => (vec!["local"], (18, 80), vec![g.tokyo_local("maru_sho", v)]),
        83..=85 => (vec!["local"], (20, 55), vec![g.tokyo_local("maru_oya", v)]),
        86..=90 => (
            vec!["multi", "local"],
            (18, 80),
            vec![g.nanbyou(v), g.tokyo_local("maru_sho", Validity::Active)],
        ),
        91..=93 => (
            vec!["multi"],
            (18, 70),
            vec![g.jiritsu("21", v), g.seiho(Validity::Active)],
        ),
        94..=96 => (
            vec!["multi", "local"],
            (1, 14),
            vec![g.shoman(v), g.tokyo_local("maru_ko", Validity::Active)],
        ),
        _ => (
            vec!["multi", "triple", "local"],
            (18, 70),
            vec![
                g.nanbyou(v),
                g.jiritsu("15", Validity::Active),
                g.tokyo_local("maru_sho", Validity::Active),
            ],
        ),
    };
    if !certs.is_empty() {
        tags.extend(tag_v);
    }
    (tags, ages, certs)
}
