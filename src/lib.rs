pub mod domain;
pub mod mapping;
pub mod masters;
pub mod metrics;
pub mod service;
pub mod upstream;
pub mod sandbox;
pub mod tls;
