//! The decoy list, kept outside the database: a small JSON file in the server's data directory
//! (`decoys.json` by default), read at start and rewritten atomically (a temporary file in the
//! same directory, synced, then renamed over the old one) on every registration.
//!
//! Someone holding only the database cannot tell a decoy from a patient: nothing in the store
//! names one. The file also holds a random salt: a registration's access-log leaf carries
//! SHA-256 over the salt and the chart id, which proves later (to someone holding the file) which
//! registration made which decoy, and tells a database thief nothing.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::RwLock;

use serde::{Deserialize, Serialize};
use vaiti_core::{ChartId, ClinicId};

/// The file's format version.
const VERSION: u32 = 1;

/// The file as stored.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecoyFile {
    /// Always [`VERSION`].
    version: u32,
    /// 32 random bytes, lowercase hex.
    salt: String,
    /// Every decoy, by clinic.
    decoys: Vec<DecoyEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DecoyEntry {
    clinic: ClinicId,
    chart: ChartId,
}

/// What is known in memory.
#[derive(Debug, Clone)]
struct Known {
    salt: [u8; 32],
    decoys: BTreeSet<(ClinicId, ChartId)>,
}

/// The decoy list of one server process.
#[derive(Debug)]
pub(crate) struct Decoys {
    /// Where the list is kept; `None`: this server keeps no decoys (registration is refused).
    path: Option<PathBuf>,
    known: RwLock<Known>,
    /// Serialises registrations (file writes), never readers.
    writer: tokio::sync::Mutex<()>,
}

/// Why the decoy list could not be read or written. The messages name the file, never a chart.
#[derive(Debug, thiserror::Error)]
pub(crate) enum DecoyError {
    #[error("this server keeps no decoy list (start it with a data directory or --decoys FILE)")]
    NoFile,
    #[error("the decoy list {0} is unreadable: {1}")]
    Unreadable(PathBuf, String),
    #[error("cannot write the decoy list {0}: {1}")]
    Write(PathBuf, String),
    #[error("the OS random number generator failed")]
    Random,
}

fn salt_hex(salt: &[u8; 32]) -> String {
    salt.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_salt(text: &str) -> Option<[u8; 32]> {
    let bytes = text.as_bytes();
    if bytes.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (o, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        let s = std::str::from_utf8(pair).ok()?;
        *o = u8::from_str_radix(s, 16).ok()?;
    }
    Some(out)
}

impl Decoys {
    /// No decoy list: nothing is a decoy, and registering one is refused.
    pub(crate) fn none() -> Self {
        Self {
            path: None,
            known: RwLock::new(Known {
                salt: [0; 32],
                decoys: BTreeSet::new(),
            }),
            writer: tokio::sync::Mutex::new(()),
        }
    }

    /// Reads the list at `path`, or starts an empty one (with a fresh salt) if there is no file
    /// yet. A file that exists but does not parse is an error: a server must not start having
    /// silently forgotten its decoys.
    pub(crate) fn load(path: PathBuf) -> Result<Self, DecoyError> {
        let known = match std::fs::read(&path) {
            Ok(bytes) => {
                let bad = |why: &str| DecoyError::Unreadable(path.clone(), why.to_owned());
                let file: DecoyFile =
                    serde_json::from_slice(&bytes).map_err(|e| bad(&e.to_string()))?;
                if file.version != VERSION {
                    return Err(bad("unknown version"));
                }
                let salt = parse_salt(&file.salt).ok_or_else(|| bad("malformed salt"))?;
                Known {
                    salt,
                    decoys: file.decoys.iter().map(|d| (d.clinic, d.chart)).collect(),
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut salt = [0u8; 32];
                getrandom::fill(&mut salt).map_err(|_| DecoyError::Random)?;
                Known {
                    salt,
                    decoys: BTreeSet::new(),
                }
            }
            Err(e) => return Err(DecoyError::Unreadable(path, e.to_string())),
        };
        Ok(Self {
            path: Some(path),
            known: RwLock::new(known),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    /// Whether `chart` is one of `clinic`'s decoys.
    pub(crate) fn contains(&self, clinic: ClinicId, chart: ChartId) -> bool {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        known.decoys.contains(&(clinic, chart))
    }

    /// The salt of the registration leaves' detail hash.
    pub(crate) fn salt(&self) -> [u8; 32] {
        self.known.read().unwrap_or_else(|p| p.into_inner()).salt
    }

    /// Whether this server keeps a decoy list at all.
    pub(crate) fn enabled(&self) -> bool {
        self.path.is_some()
    }

    /// Adds a decoy: the file is rewritten first (atomically), then the in-memory list, so a
    /// failed write changes nothing. `before_write` runs under the writer lock once the chart is
    /// known to be new (the caller appends its access-log leaf there); if it fails, nothing is
    /// written. Returns false if the chart already was a decoy.
    pub(crate) async fn add<E: From<DecoyError>>(
        &self,
        clinic: ClinicId,
        chart: ChartId,
        before_write: impl std::future::Future<Output = Result<(), E>>,
    ) -> Result<bool, E> {
        let path = self.path.clone().ok_or(DecoyError::NoFile)?;
        let _writing = self.writer.lock().await;
        let mut next = self.known.read().unwrap_or_else(|p| p.into_inner()).clone();
        if !next.decoys.insert((clinic, chart)) {
            return Ok(false);
        }
        before_write.await?;
        let file = DecoyFile {
            version: VERSION,
            salt: salt_hex(&next.salt),
            decoys: next
                .decoys
                .iter()
                .map(|&(clinic, chart)| DecoyEntry { clinic, chart })
                .collect(),
        };
        let bytes = serde_json::to_vec_pretty(&file)
            .map_err(|e| DecoyError::Write(path.clone(), e.to_string()))?;
        let target = path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&target, &bytes))
            .await
            .map_err(|e| DecoyError::Write(path.clone(), e.to_string()))?
            .map_err(|e| DecoyError::Write(path.clone(), e.to_string()))?;
        *self.known.write().unwrap_or_else(|p| p.into_inner()) = next;
        Ok(true)
    }
}

/// Writes `bytes` to `path` so that a crash leaves either the old file or the new one: a
/// temporary file beside it (owner-only), synced, renamed over `path`, and the directory synced.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir)?;
    let mut random = [0u8; 8];
    getrandom::fill(&mut random).map_err(|e| std::io::Error::other(e.to_string()))?;
    let name = path
        .file_name()
        .map_or_else(|| "decoys".into(), |n| n.to_string_lossy().into_owned());
    let tmp = dir.join(format!(
        ".{name}.tmp-{}",
        random
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = (|| {
        let mut f = options.open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
        return written;
    }
    // The rename is durable once the directory is synced (not possible on every platform).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn temp_dir() -> PathBuf {
        let mut r = [0u8; 8];
        getrandom::fill(&mut r).unwrap();
        std::env::temp_dir().join(format!("vaiti-decoys-{}", u64::from_le_bytes(r)))
    }

    #[tokio::test]
    async fn a_registration_survives_a_restart_and_nothing_else_is_a_decoy() {
        let dir = temp_dir();
        let path = dir.join("decoys.json");
        let (clinic, chart) = (ClinicId::generate().unwrap(), ChartId::generate().unwrap());
        let decoys = Decoys::load(path.clone()).unwrap();
        assert!(!decoys.contains(clinic, chart));
        let salt = decoys.salt();
        let added = decoys
            .add::<DecoyError>(clinic, chart, async { Ok(()) })
            .await
            .unwrap();
        assert!(added);
        assert!(decoys.contains(clinic, chart));
        assert!(
            !decoys
                .add::<DecoyError>(clinic, chart, async { panic!("not run for a known decoy") })
                .await
                .unwrap()
        );
        let reloaded = Decoys::load(path.clone()).unwrap();
        assert!(reloaded.contains(clinic, chart));
        assert_eq!(reloaded.salt(), salt, "the salt is kept");
        assert!(!reloaded.contains(ClinicId::generate().unwrap(), chart));
        assert!(!reloaded.contains(clinic, ChartId::generate().unwrap()));
        // No temporary file is left behind.
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
        assert_eq!(names.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "owner-only");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_failed_hook_or_a_missing_file_registers_nothing() {
        let dir = temp_dir();
        let path = dir.join("decoys.json");
        let (clinic, chart) = (ClinicId::generate().unwrap(), ChartId::generate().unwrap());
        let decoys = Decoys::load(path.clone()).unwrap();
        let failed = decoys
            .add(clinic, chart, async { Err(DecoyError::Random) })
            .await;
        assert!(failed.is_err());
        assert!(!decoys.contains(clinic, chart));
        assert!(!path.exists());
        let none = Decoys::none();
        assert!(matches!(
            none.add::<DecoyError>(clinic, chart, async { Ok(()) })
                .await,
            Err(DecoyError::NoFile)
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_an_empty_list() {
        let dir = temp_dir();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("decoys.json");
        for bad in [
            "",
            "{}",
            r#"{"version":2,"salt":"00","decoys":[]}"#,
            r#"{"version":1,"salt":"zz","decoys":[]}"#,
        ] {
            std::fs::write(&path, bad).unwrap();
            assert!(
                matches!(Decoys::load(path.clone()), Err(DecoyError::Unreadable(..))),
                "{bad:?}"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
