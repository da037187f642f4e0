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

/// The id of the group `name` (a name in `/etc/group`, or a number).
fn group_id(name: &str) -> Result<u32, String> {
    if let Ok(gid) = name.parse() {
        return Ok(gid);
    }
    let groups = std::fs::read_to_string("/etc/group").map_err(|e| format!("/etc/group: {e}"))?;
    groups
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            Some((f.next()?, f.nth(1)?))
        })
        .find(|(n, _)| *n == name)
        .and_then(|(_, gid)| gid.parse().ok())
        .ok_or_else(|| format!("no group {name:?} (/etc/group)"))
}

/// What the service reads, given to its group: the folder (0750), the server's certificate
/// and the CA's (0644) and the server's key (0640), all group `group`. The CA's key and clients'
/// keys stay owner-only.
#[cfg(unix)]
fn share_with_group(dir: &Path, gid: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    for (path, mode) in [
        (dir.to_path_buf(), 0o750),
        (dir.join("server.key"), 0o640),
        (dir.join("server.pem"), 0o644),
        (dir.join(CA_CERT), 0o644),
    ] {
        std::os::unix::fs::chown(&path, None, Some(gid))
            .and_then(|()| std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn share_with_group(_: &Path, _: u32) -> Result<(), String> {
    Err("--group needs a Unix system".into())
}

/// A new CA and a server certificate for `names` in `dir`, plus client certificates; with
/// `group`, what the service reads is given to that group (see [`share_with_group`]).
pub fn init(
    dir: &Path,
    names: &[String],
    clients: &[String],
    group: Option<&str>,
) -> Result<String, String> {
    if names.is_empty() {
        return Err("give the server's names with --name (host names or addresses the receipt computers use)".into());
    }
    // Before anything is written: an unknown group leaves no half-made folder.
    let gid = group.map(group_id).transpose()?;
    owner_only_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let ca = LocalCa::create("pmh-gateway local CA").map_err(|e| e.to_string())?;
    // `localhost` too: `pmh-gateway healthcheck` (and an admin on the machine) reach the
    // listener by that name.
    let mut with_localhost = names.to_vec();
    if !with_localhost.iter().any(|n| n == "localhost") {
        with_localhost.push("localhost".into());
    }
    let server = ca.server(&with_localhost).map_err(|e| e.to_string())?;
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
        client_with(&ca, dir, c)?;
        out.push_str(&issued_note(dir, c));
    }
    if let (Some(g), Some(gid)) = (group, gid) {
        share_with_group(dir, gid)?;
        out.push_str(&format!(
            "\nGroup {g} may read {d}, server.pem, server.key and ca.pem (ca.key and clients' keys stay owner-only).\n",
            d = dir.display()
        ));
    }
    Ok(out)
}

/// What to do with an issued certificate: give it to the client, and register the client once,
/// with its scopes and a token beside the certificate, by `clients add`.
fn issued_note(dir: &Path, name: &str) -> String {
    format!(
        "\nClient certificate {d}/{name}.pem and key {d}/{name}.key (give both to the client).\nRegister the client once, with its scopes (and a token beside the certificate):\n\n  pmh-gateway clients add {name} --scope check --certificate-dir {d}\n",
        d = dir.display()
    )
}

/// Another client certificate from the CA in `dir`.
pub fn client(dir: &Path, name: &str) -> Result<String, String> {
    issue(dir, name)?;
    Ok(issued_note(dir, name))
}

/// `name`'s client certificate from the CA in `dir`: issued now, or the one issued before
/// (`{name}.pem` already there). For `clients add --certificate-dir`.
pub fn issue_or_reuse(dir: &Path, name: &str) -> Result<(), String> {
    if dir.join(format!("{name}.pem")).is_file() {
        return Ok(());
    }
    issue(dir, name)
}

fn issue(dir: &Path, name: &str) -> Result<(), String> {
    let read = |f: &str| {
        std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{}: {e}", dir.join(f).display()))
    };
    let ca = LocalCa::load(&read(CA_CERT)?, &read(CA_KEY)?).map_err(|e| e.to_string())?;
    client_with(&ca, dir, name)
}

fn client_with(ca: &LocalCa, dir: &Path, name: &str) -> Result<(), String> {
    if !pmh_gateway::auth::valid_client_name(name) {
        return Err(format!("client name {name:?}: use A-Z a-z 0-9 . _ -"));
    }
    let issued = ca.client(name).map_err(|e| e.to_string())?;
    write(dir, &format!("{name}.pem"), &issued.cert_pem, false)?;
    write(dir, &format!("{name}.key"), &issued.key_pem, true)
}
