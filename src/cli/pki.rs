//! `pmh-gateway pki`: a local CA for clinics without a PKI — a server certificate for the REST
//! listener and client certificates for receipt computers. Keys are written owner-only.

use std::path::Path;

use pmh_gateway::files::{create_owner_only, owner_only_dir};
use pmh_pki::LocalCa;

const CA_CERT: &str = "ca.pem";
const CA_KEY: &str = "ca.key";

fn write(dir: &Path, name: &str, text: &str, secret: bool) -> Result<(), String> {
    let path = dir.join(name);
    if path.exists() {
        return Err(format!("{} exists: not overwritten", path.display()));
    }
    let result = if secret {
        create_owner_only(&path)
            .and_then(|mut f| std::io::Write::write_all(&mut f, text.as_bytes()))
    } else {
        std::fs::write(&path, text)
    };
    result.map_err(|e| format!("{}: {e}", path.display()))
}

/// A new CA and a server certificate for `names` in `dir`, plus client certificates.
pub fn init(dir: &Path, names: &[String], clients: &[String]) -> Result<String, String> {
    if names.is_empty() {
        return Err("give the server's names with --name (host names or addresses the receipt computers use)".into());
    }
    owner_only_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ca = LocalCa::create("pmh-gateway local CA").map_err(|e| e.to_string())?;
    let server = ca.server(names).map_err(|e| e.to_string())?;
    write(dir, CA_CERT, &ca.cert_pem, false)?;
    write(dir, CA_KEY, ca.key_pem(), true)?;
    write(dir, "server.pem", &server.cert_pem, false)?;
    write(dir, "server.key", &server.key_pem, true)?;
    let mut out = format!(
        "Wrote {d}/ca.pem, ca.key (owner-only: keep it safe, ideally off this machine), server.pem, server.key.\n\nIn the gateway's configuration:\n\n[server]\nlisten = \"0.0.0.0:8421\"\ntls_cert = \"{d}/server.pem\"\ntls_key = \"{d}/server.key\"\nclient_ca = \"{d}/ca.pem\"\nallowed_hosts = [{hosts}]\n",
        d = dir.display(),
        hosts = names
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for c in clients {
        out.push_str(&client_with(&ca, dir, c)?);
    }
    Ok(out)
}

/// Another client certificate from the CA in `dir`.
pub fn client(dir: &Path, name: &str) -> Result<String, String> {
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()))
    };
    let ca = LocalCa::load(&read(CA_CERT)?, &read(CA_KEY)?).map_err(|e| e.to_string())?;
    client_with(&ca, dir, name)
}

fn client_with(ca: &LocalCa, dir: &Path, name: &str) -> Result<String, String> {
    if !pmh_gateway::auth::valid_client_name(name) {
        return Err(format!("client name {name:?}: use A-Z a-z 0-9 . _ -"));
    }
    let issued = ca.client(name).map_err(|e| e.to_string())?;
    write(dir, &format!("{name}.pem"), &issued.cert_pem, false)?;
    write(dir, &format!("{name}.key"), &issued.key_pem, true)?;
    Ok(format!(
        "\nClient certificate {d}/{name}.pem and key {d}/{name}.key (give both to the client).\nIn the configuration:\n\n[[clients]]\nname = \"{name}\"\nscopes = [\"check\"]\ncertificate_name = \"{name}\"\n",
        d = dir.display()
    ))
}
