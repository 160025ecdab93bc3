//! A throw-away PostgreSQL cluster on a free loopback port: `initdb` and `pg_ctl` in a temporary
//! directory, removed when the [`Postgres`] is dropped.
//!
//! `initdb` refuses to run as root (CI runs as root): there, the cluster's commands run as the
//! unprivileged `postgres` user that Debian's `postgresql` package creates (or `nobody`), and
//! the directory is handed to that user. Nothing here skips: a missing binary, a missing user
//! or a server that does not start is a panic that says what to do.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::free_port;

/// The cluster's superuser (its password is [`Postgres::superuser_password`]).
pub const SUPERUSER: &str = "postgres";

/// A running PostgreSQL server on `127.0.0.1`, stopped and deleted when dropped.
///
/// Logins over TCP need a password (`scram-sha-256`), as on a managed database: a rotated-out
/// password is refused.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
    run_as: Option<(u32, u32)>,
    password: String,
}

impl std::fmt::Debug for Postgres {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Postgres")
            .field("dir", &self.dir)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl Postgres {
    /// Creates a cluster in a new temporary directory and starts it on a free port.
    ///
    /// # Panics
    /// When PostgreSQL is not installed (`apt-get install postgresql`; `scripts/test.sh` does
    /// it), when running as root without an unprivileged user to run it as, or when the server
    /// does not start (the panic carries its log).
    pub fn start() -> Self {
        let bin = bin_dir();
        let dir = std::env::temp_dir().join(unique_name());
        fs::create_dir(&dir).unwrap_or_else(|e| panic!("cannot create {}: {e}", dir.display()));
        let run_as = unprivileged_user();
        let password = crate::random_token(32);
        let pwfile = dir.join("pw");
        fs::write(&pwfile, &password)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", pwfile.display()));
        if let Some((uid, gid)) = run_as {
            for path in [&dir, &pwfile] {
                std::os::unix::fs::chown(path, Some(uid), Some(gid))
                    .unwrap_or_else(|e| panic!("cannot chown {}: {e}", path.display()));
            }
        }
        let mut pg = Self {
            bin,
            dir,
            port: free_port(),
            run_as,
            password,
        };
        let data = pg.data();
        let mut initdb = pg.command("initdb");
        initdb
            .arg("-D")
            .arg(&data)
            .args(["-U", SUPERUSER, "--pwfile"])
            .arg(&pwfile)
            .args([
                "--auth-host=scram-sha-256",
                "--auth-local=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ]);
        let out = output(initdb, "initdb");
        let _ = fs::remove_file(&pwfile);
        assert!(
            out.status.success(),
            "initdb failed ({}): {}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        let settings = format!(
            "-p {} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} -c fsync=off \
             -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
            pg.port,
            pg.dir.display()
        );
        let log = pg.dir.join("server.log");
        let mut start = pg.command("pg_ctl");
        start
            .args(["start", "-w", "-t", "60", "-D"])
            .arg(&data)
            .arg("-l")
            .arg(&log)
            .args(["-o", &settings]);
        let out = output(start, "pg_ctl start");
        if !out.status.success() {
            let server_log = fs::read_to_string(&log).unwrap_or_default();
            pg.port = 0; // nothing to stop
            panic!(
                "PostgreSQL did not start ({}): {}\n{server_log}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        pg
    }

    /// The loopback port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `127.0.0.1`.
    pub fn host(&self) -> &'static str {
        "127.0.0.1"
    }

    /// The superuser's password (random, per cluster).
    pub fn superuser_password(&self) -> &str {
        &self.password
    }

    fn data(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// A command for the cluster's binary `name`, run as the unprivileged user when root.
    fn command(&self, name: &str) -> Command {
        let mut command = Command::new(self.bin.join(name));
        command
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .env_remove("PGPASSWORD")
            .env_remove("PGDATA");
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid).gid(gid);
        }
        command
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if self.port != 0 {
            let data = self.data();
            let mut stop = self.command("pg_ctl");
            stop.args(["stop", "-m", "immediate", "-w", "-D"])
                .arg(&data)
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let _ = stop.status();
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn output(mut command: Command, name: &str) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {name} ({e}): is PostgreSQL installed?"))
}

/// Where `initdb` and `pg_ctl` are: `$PG_BIN`, else the newest `/usr/lib/postgresql/*/bin`
/// (Debian keeps them off `PATH`), else `PATH`.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BIN").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let newest = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .max();
    if let Some((_, bin)) = newest {
        return bin;
    }
    let on_path = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .find(|dir| dir.join("initdb").is_file());
    on_path.unwrap_or_else(|| {
        panic!(
            "PostgreSQL's initdb was found neither in /usr/lib/postgresql/*/bin nor on PATH: \
             install it (`apt-get install postgresql`; scripts/test.sh does it) or set PG_BIN"
        )
    })
}

/// The (uid, gid) to run the cluster as when this process is root; `None` otherwise.
fn unprivileged_user() -> Option<(u32, u32)> {
    let euid = fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or_else(|e| panic!("cannot read /proc/self: {e}"));
    if euid != 0 {
        return None;
    }
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    let user = ["postgres", "nobody"].iter().find_map(|name| {
        passwd.lines().find_map(|line| {
            let mut fields = line.split(':');
            (fields.next()? == *name).then_some(())?;
            let uid = fields.nth(1)?.parse().ok()?;
            let gid = fields.next()?.parse().ok()?;
            Some((uid, gid))
        })
    });
    Some(user.unwrap_or_else(|| {
        panic!(
            "initdb refuses to run as root and there is no `postgres` or `nobody` user to run it \
             as: create one (`useradd --system postgres`)"
        )
    }))
}

fn unique_name() -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "asm-pg-{}-{}-{nanos}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}
