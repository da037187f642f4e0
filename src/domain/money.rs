//! Money.

use serde::Serialize;

/// An amount of money in yen.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Yen(pub u64);
