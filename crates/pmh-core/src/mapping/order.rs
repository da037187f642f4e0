//! The order in which subsidies apply (第1公費 first): national programmes by the master's
//! priority rank, then local programmes by their master priority, then unknown programmes; ties
//! broken by payer number, then recipient number, so the order is total and deterministic.

use super::{MappedSubsidy, ProgrammeKind};

/// Where a programme goes in the order: national by rank, then local by priority, then
/// unknown (the receipt's KO records follow the same order).
pub fn order_class(kind: ProgrammeKind, rank: Option<u16>) -> (u8, u16) {
    let class = match kind {
        ProgrammeKind::National => 0,
        ProgrammeKind::Local => 1,
        ProgrammeKind::Unknown => 2,
    };
    (class, rank.unwrap_or(u16::MAX))
}

/// Where the programme of `payer` goes in the order, by the masters: national by its 法別's
/// rank, else local by the payer number's programme; `None` when the masters know neither (a
/// KO of such a programme is ordered last, `order_class(Unknown, None)`).
pub fn programme_order(
    payer: &crate::domain::PayerNumber,
    masters: &crate::masters::MasterSnapshot,
) -> Option<(u8, u16)> {
    if let Some(n) = masters.national(payer.law_code()) {
        return Some(order_class(ProgrammeKind::National, Some(n.priority_rank)));
    }
    masters
        .local(payer)
        .map(|l| order_class(ProgrammeKind::Local, Some(l.priority)))
}

fn key(s: &MappedSubsidy) -> (u8, u16, &str, &str) {
    let (class, rank) = order_class(s.programme.kind, s.programme.rank);
    (
        class,
        rank,
        s.payer_number.as_str(),
        s.recipient_number.as_deref().unwrap_or(""),
    )
}

pub(super) fn sort(subsidies: &mut [MappedSubsidy]) {
    subsidies.sort_by(|a, b| key(a).cmp(&key(b)));
}
