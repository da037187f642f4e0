//! `pmh-gateway clients add NAME --scope …`: a new client's token, shown once, and the
//! configuration lines that hold its hash.

use pmh_gateway::auth::{Scope, new_token, valid_client_name};

/// The text to print: the token and the `[[clients]]` block; with `certificate`, the block also
/// names the client's certificate (one client, two ways to prove who it is).
pub fn add(name: &str, scopes: &[String], certificate: bool) -> Result<String, String> {
    if !valid_client_name(name) {
        return Err("NAME must be 1-64 characters of A-Z a-z 0-9 . _ -".into());
    }
    if scopes.is_empty() {
        return Err(format!(
            "give at least one --scope ({})",
            Scope::vocabulary()
        ));
    }
    let scopes = scopes
        .iter()
        .flat_map(|s| s.split(','))
        .map(|s| {
            Scope::parse(s).ok_or_else(|| format!("{s:?} is not a scope ({})", Scope::vocabulary()))
        })
        .collect::<Result<std::collections::BTreeSet<_>, _>>()?;
    let (token, hash) = new_token().map_err(|_| "no random bytes".to_owned())?;
    let list = scopes
        .iter()
        .map(|s| format!("\"{}\"", s.as_str()))
        .collect::<Vec<_>>()
        .join(", ");
    let certificate = if certificate {
        format!("certificate_name = \"{name}\"\n")
    } else {
        String::new()
    };
    Ok(format!(
        "Token for {name} (shown once; give it to the client, keep it nowhere else):\n\n  {token}\n\nAdd to the gateway's configuration, then restart it:\n\n[[clients]]\nname = \"{name}\"\nscopes = [{list}]\ntoken_sha256 = \"{}\"\n{certificate}",
        hash.to_config()
    ))
}
