//! Checks of single values that every section's resolution shares.

use std::path::Path;

use super::ConfigError;

/// `value` of `field` must lie in `min..=max`.
pub(super) fn in_range(
    field: &'static str,
    value: u64,
    min: u64,
    max: u64,
) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            field,
            reason: format!("{value} is out of range: must be between {min} and {max}"),
        })
    }
}

/// The PEM file at `path` (for `field`), which must hold a block naming `label`.
pub(super) fn read_pem(
    field: &'static str,
    path: &Path,
    label: &str,
) -> Result<Vec<u8>, ConfigError> {
    let bytes = std::fs::read(path).map_err(|e| ConfigError::Certificate {
        field,
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let text = String::from_utf8_lossy(&bytes);
    if !text.contains("-----BEGIN ") || !text.contains(label) {
        return Err(ConfigError::Certificate {
            field,
            path: path.to_path_buf(),
            reason: format!("no PEM block containing \"{label}\" found"),
        });
    }
    Ok(bytes)
}
