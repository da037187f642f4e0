//! A throw-away PostgreSQL cluster for tests: its own data folder under the temporary folder,
//! its own port on loopback, trust authentication for the user `gateway`, removed when dropped.
//! PostgreSQL refuses to run as root, so under root the cluster runs as `postgres` (Debian's
//! package creates it) or `nobody`.
//!
//! The binaries are found on `PATH` or under Debian's `/usr/lib/postgresql/<version>/bin`.
//! `dump` and `restore` run `pg_dump` / `pg_restore` as README's backup does.
//! Without them, [`Cluster::start_or_skip`] skips (says so) unless `PMH_GATEWAY_REQUIRE_POSTGRES`
//! is set — as `.ci/run` sets it, so that CI cannot pass without the PostgreSQL tests.

use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Set (to anything) to make a missing PostgreSQL a failure instead of a skip.
pub const REQUIRE_ENV: &str = "PMH_GATEWAY_REQUIRE_POSTGRES";

/// A running throw-away cluster.
pub struct Cluster {
    root: PathBuf,
    bin: PathBuf,
    port: u16,
    user: Option<(u32, u32)>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("root", &self.root)
            .field("port", &self.port)
            .finish()
    }
}

/// The folder holding `initdb` and `pg_ctl`, if PostgreSQL is installed.
pub fn binaries() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .unwrap_or_default();
    let mut debian: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    // The newest version first.
    debian.sort_by_key(|p| {
        std::cmp::Reverse(
            p.parent()
                .and_then(|v| v.file_name())
                .and_then(|v| v.to_str())
                .and_then(|v| v.parse::<u32>().ok())
                .unwrap_or(0),
        )
    });
    on_path
        .into_iter()
        .chain(debian)
        .find(|d| d.join("initdb").is_file() && d.join("pg_ctl").is_file())
        // A link on the path (`/usr/local/bin/initdb`) stands for the installation's folder,
        // which has the other tools (`pg_dump`, `pg_restore`) too.
        .map(|d| {
            std::fs::canonicalize(d.join("initdb"))
                .ok()
                .and_then(|p| p.parent().map(Path::to_path_buf))
                .unwrap_or(d)
        })
}

/// The user the cluster runs as: none (this one) unless this is root.
fn cluster_user() -> Result<Option<(u32, u32)>, String> {
    let me = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    if me != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(|e| e.to_string())?;
    for name in ["postgres", "nobody"] {
        for line in passwd.lines() {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() > 3
                && f[0] == name
                && let (Ok(uid), Ok(gid)) = (f[2].parse(), f[3].parse())
            {
                return Ok(Some((uid, gid)));
            }
        }
    }
    Err("running as root, and neither `postgres` nor `nobody` exists to run PostgreSQL".into())
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

impl Cluster {
    /// Starts a cluster, or `None` (with a note on stderr) when PostgreSQL is not installed and
    /// not required. Panics when it is required, or installed and failing.
    #[allow(clippy::print_stderr, clippy::panic)]
    pub fn start_or_skip(test: &str) -> Option<Self> {
        if binaries().is_none() && std::env::var_os(REQUIRE_ENV).is_none() {
            eprintln!(
                "{test}: skipped: PostgreSQL is not installed (apt-get install postgresql; {REQUIRE_ENV}=1 makes this a failure)"
            );
            return None;
        }
        match Self::start() {
            Ok(c) => Some(c),
            Err(e) => panic!("{test}: cannot start a PostgreSQL cluster: {e}"),
        }
    }

    /// Initialises and starts a cluster.
    pub fn start() -> Result<Self, String> {
        let bin = binaries().ok_or("PostgreSQL's initdb and pg_ctl were not found")?;
        let user = cluster_user()?;
        let root = std::env::temp_dir().join(format!("pmhg-pg-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir(&root).map_err(|e| format!("{}: {e}", root.display()))?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&root, Some(uid), Some(gid))
                .map_err(|e| format!("{}: {e}", root.display()))?;
        }
        let mut cluster = Self {
            root,
            bin,
            port: 0,
            user,
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                "data",
                "-U",
                "gateway",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-sync",
            ],
        )?;
        let mut last = String::new();
        for _ in 0..3 {
            cluster.port = free_port()?;
            let opts = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=200",
                cluster.port,
                cluster.root.display()
            );
            match cluster.run(
                "pg_ctl",
                &[
                    "start", "-w", "-t", "60", "-D", "data", "-l", "log", "-o", &opts,
                ],
            ) {
                Ok(()) => return Ok(cluster),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let mut cmd = Command::new(self.bin.join(program));
        cmd.args(args).current_dir(&self.root);
        if let Some((uid, gid)) = self.user {
            cmd.uid(uid).gid(gid);
        }
        let out = cmd.output().map_err(|e| format!("{program}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            let log = std::fs::read_to_string(self.root.join("log")).unwrap_or_default();
            Err(format!(
                "{program} failed ({}): {}{}\n{log}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The connection string of database `db` (over TCP on loopback).
    pub fn url(&self, db: &str) -> String {
        format!(
            "postgres://gateway@127.0.0.1:{}/{db}?connect_timeout=5",
            self.port
        )
    }

    /// Creates a fresh database and returns its connection string.
    pub async fn database(&self) -> Result<String, String> {
        let name = format!("t{}", uuid::Uuid::new_v4().simple());
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .map_err(|e| e.to_string())?;
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .map_err(|e| e.to_string())?;
        drop(client);
        let _ = task.await;
        Ok(self.url(&name))
    }

    /// `pg_dump -Fc` of database `db` into `name` in the cluster's folder (a backup as README
    /// describes it); returns its path.
    pub fn dump(&self, db: &str, name: &str) -> Result<PathBuf, String> {
        let port = self.port.to_string();
        self.run(
            "pg_dump",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "gateway",
                "-Fc",
                "-f",
                name,
                db,
            ],
        )?;
        Ok(self.root.join(name))
    }

    /// `pg_restore` of the dump `name` (in the cluster's folder) into the empty database `db`.
    pub fn restore(&self, name: &str, db: &str) -> Result<(), String> {
        let port = self.port.to_string();
        self.run(
            "pg_restore",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "gateway",
                "--exit-on-error",
                "-d",
                db,
                name,
            ],
        )
    }

    /// The data folder's parent (the cluster's log is `log` in it).
    pub fn root(&self) -> &Path {
        &self.root
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.run("pg_ctl", &["stop", "-m", "immediate", "-D", "data"]);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}
