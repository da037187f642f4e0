pub mod domain;
pub mod mapping;
pub mod masters;
