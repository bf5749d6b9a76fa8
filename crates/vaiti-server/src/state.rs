//! What every handler can reach: the store, the OPAQUE server setup, the clock, and limits.

use std::sync::Arc;

use vaiti_opaque::opaque_ke::ServerSetup;
use vaiti_opaque::{OsRng, VaitiOpaqueSuite};
use vaiti_store::Store;

use crate::limiter::LoginLimiter;

/// The name of the OPAQUE server setup among the store's server secrets.
const OPAQUE_SETUP: &str = "opaque-setup";

/// Where the current time comes from (seconds since the Unix epoch); tests substitute their own.
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The system clock.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
    })
}

/// Shared state of the API.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<dyn Store>,
    /// The OPAQUE server setup (OPRF seed and server key pair), one per server installation.
    pub(crate) opaque: Arc<ServerSetup<VaitiOpaqueSuite>>,
    /// SHA-256 of the operator's clinic-creation token; `None` disables clinic creation.
    pub(crate) clinic_creation_token_hash: Option<[u8; 32]>,
    pub(crate) clock: Clock,
    pub(crate) login_limiter: Arc<LoginLimiter>,
    /// Decoys, alert windows and the webhook (`crate::alerts`; set with `with_detection`).
    pub(crate) detection: Arc<crate::alerts::Detection>,
    /// The web app release served at `/` (`crate::web`; set with `with_web`).
    pub(crate) web: Option<Arc<crate::web::WebApp>>,
    /// Whether browsers reach this server over TLS (its own or a proxy's): session cookies are
    /// then `Secure` and responses carry HSTS. `serve` sets it from the transport.
    pub(crate) secure_transport: bool,
    /// Whether the server runs behind a TLS proxy, whose right-most `X-Forwarded-For` entry is
    /// then the client's address for the login limiter. `serve` sets it from the transport.
    pub(crate) behind_proxy: bool,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] vaiti_store::StoreError),
    /// The stored OPAQUE setup is unreadable (a corrupted or foreign database).
    #[error("the stored OPAQUE server setup is corrupted")]
    CorruptOpaqueSetup,
    /// The detection configuration is unusable (an unreadable decoy list, a bad webhook URL).
    #[error("detection: {0}")]
    Detection(String),
    /// A start-up leaf (the web app release) could not be appended to a clinic's access log.
    #[error("the access log of clinic {clinic}: {reason}")]
    AccessLog {
        /// The clinic.
        clinic: vaiti_core::ClinicId,
        /// What failed (for the operator).
        reason: String,
    },
}

impl AppState {
    /// Builds the state over `store`, creating the OPAQUE server setup on the first start (every
    /// later start, and every other app server on the same database, reads the same one).
    pub async fn new(
        store: Arc<dyn Store>,
        clinic_creation_token_hash: Option<[u8; 32]>,
        clock: Clock,
    ) -> Result<Self, StartError> {
        let fresh = ServerSetup::<VaitiOpaqueSuite>::new(&mut OsRng)
            .serialize()
            .to_vec();
        let stored = store.init_server_secret(OPAQUE_SETUP, &fresh).await?;
        let opaque = ServerSetup::<VaitiOpaqueSuite>::deserialize(&stored)
            .map_err(|_| StartError::CorruptOpaqueSetup)?;
        Ok(Self {
            store,
            opaque: Arc::new(opaque),
            clinic_creation_token_hash,
            clock,
            login_limiter: Arc::new(LoginLimiter::default()),
            detection: Arc::default(),
            web: None,
            secure_transport: false,
            behind_proxy: false,
        })
    }

    /// Tells the state whether browsers reach it over TLS (see [`crate::Transport::is_secure`]):
    /// then session cookies are `Secure` and every response carries
    /// `Strict-Transport-Security`. [`crate::serve`] sets this from its transport; tests and
    /// other embedders of [`crate::router`] set it themselves.
    pub fn with_secure_transport(mut self, secure: bool) -> Self {
        self.secure_transport = secure;
        self
    }

    /// Tells the state whether it runs behind a TLS proxy ([`crate::Transport::BehindTlsProxy`]):
    /// then the right-most `X-Forwarded-For` entry, which the proxy appended, is the client's
    /// address; otherwise the header is the client's own words and is ignored. [`crate::serve`]
    /// sets this from its transport.
    pub fn with_proxy(mut self, behind_proxy: bool) -> Self {
        self.behind_proxy = behind_proxy;
        self
    }

    pub(crate) fn now(&self) -> i64 {
        (self.clock)()
    }
}
