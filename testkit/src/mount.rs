//! A directory written the way the Secrets Store CSI driver and Kubernetes secret volumes write
//! it (Kubernetes' atomic writer): each generation of files in a timestamped directory
//! `..2026_11_26_10_00_00.000000001`, the link `..data` naming it, and one link per file
//! through `..data`. A rotation writes a new generation, creates `..data_tmp` and renames it
//! over `..data` (atomic), then removes the old generation.

use std::fs;
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

static DIRS: AtomicU64 = AtomicU64::new(0);

/// A mount directory in the system's temporary directory, removed when dropped.
#[derive(Debug)]
pub struct DriverDir {
    root: PathBuf,
    generations: u64,
}

impl DriverDir {
    /// A new mount holding `files` (name, contents) as its first generation.
    ///
    /// # Errors
    /// Any file system error.
    pub fn new(files: &[(&str, &[u8])]) -> io::Result<Self> {
        let unique = DIRS.fetch_add(1, Ordering::Relaxed);
        let root = std::env::temp_dir().join(format!(
            "asm-mount-{}-{unique}-{}",
            std::process::id(),
            now().as_nanos()
        ));
        fs::create_dir_all(&root)?;
        let mut dir = Self {
            root,
            generations: 0,
        };
        dir.rotate(files)?;
        Ok(dir)
    }

    /// The mount directory (the volume's `mountPath`).
    pub fn path(&self) -> &Path {
        &self.root
    }

    /// The name of the generation `..data` names now.
    ///
    /// # Errors
    /// Any file system error.
    pub fn generation(&self) -> io::Result<String> {
        Ok(fs::read_link(self.root.join("..data"))?
            .to_string_lossy()
            .into_owned())
    }

    /// Writes `files` as a new generation and swaps `..data` to it, as the driver does.
    ///
    /// # Errors
    /// Any file system error.
    pub fn rotate(&mut self, files: &[(&str, &[u8])]) -> io::Result<()> {
        self.generations += 1;
        let name = format!("{}.{:09}", timestamp(), self.generations);
        let generation = self.root.join(&name);
        fs::create_dir(&generation)?;
        for (file, contents) in files {
            fs::write(generation.join(file), contents)?;
        }
        let old = fs::read_link(self.root.join("..data")).ok();
        let tmp = self.root.join("..data_tmp");
        symlink(&name, &tmp)?;
        fs::rename(&tmp, self.root.join("..data"))?;
        for (file, _) in files {
            let link = self.root.join(file);
            if fs::symlink_metadata(&link).is_err() {
                symlink(Path::new("..data").join(file), link)?;
            }
        }
        if let Some(old) = old {
            fs::remove_dir_all(self.root.join(old))?;
        }
        Ok(())
    }

    /// Creates the link `name` to `target` in the current generation (and its per-file link).
    ///
    /// # Errors
    /// Any file system error.
    pub fn plant_link(&self, name: &str, target: &Path) -> io::Result<()> {
        symlink(target, self.root.join(self.generation()?).join(name))?;
        symlink(Path::new("..data").join(name), self.root.join(name))
    }
}

impl Drop for DriverDir {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.root);
    }
}

fn now() -> std::time::Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

/// `..YYYY_MM_DD_HH_MM_SS` in UTC, as the atomic writer names a generation.
fn timestamp() -> String {
    let secs = now().as_secs();
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    format!(
        "..{year:04}_{month:02}_{day:02}_{:02}_{:02}_{:02}",
        rest / 3_600,
        rest % 3_600 / 60,
        rest % 60
    )
}
