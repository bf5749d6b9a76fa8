//! How the server listens: plain HTTP on loopback, TLS with rustls, or plain HTTP behind a TLS
//! proxy. Plain HTTP on any other address is refused: session tokens must not cross a network in
//! the clear.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a client has to send a request's headers, counted from when the server starts
/// waiting for them: on a new connection, and on a kept-alive connection after each answer. A
/// connection that sends nothing in that time is closed, so idle or slow clients cannot hold
/// connections (and their tasks) open indefinitely.
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// How connections are secured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// Plain HTTP: allowed only on a loopback address.
    Plain,
    /// TLS terminated here with rustls, from PEM files.
    Tls {
        /// Certificate chain (PEM).
        cert: PathBuf,
        /// Private key (PEM).
        key: PathBuf,
    },
    /// Plain HTTP on any address, because a TLS proxy in front terminates TLS.
    BehindTlsProxy,
}

impl Transport {
    /// Whether browsers reach the server over TLS: its own, or a proxy's in front of it.
    pub fn is_secure(&self) -> bool {
        matches!(self, Transport::Tls { .. } | Transport::BehindTlsProxy)
    }
}

/// Where and how to listen.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The address to bind (port 0 picks a free port).
    pub listen: SocketAddr,
    /// How connections are secured.
    pub transport: Transport,
    /// How long a connection may go without sending a complete request head, on a fresh
    /// connection and between kept-alive requests ([`DEFAULT_HEADER_READ_TIMEOUT`]).
    pub header_read_timeout: Duration,
}

/// A configuration the server refuses, or a failure to start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Plain HTTP on a non-loopback address without `--behind-tls-proxy`.
    #[error(
        "refusing plain HTTP on {0}: it is not a loopback address. Use --tls-cert and --tls-key, \
         or --behind-tls-proxy if a TLS proxy in front of vaiti terminates TLS"
    )]
    PlainHttpOnNetwork(SocketAddr),
    /// The TLS certificate or key could not be loaded.
    #[error("cannot load TLS certificate or key: {0}")]
    Tls(String),
    /// The address could not be bound.
    #[error("cannot listen on {0}: {1}")]
    Bind(SocketAddr, String),
    /// The server failed while running.
    #[error("server error: {0}")]
    Serve(String),
}

impl ServerConfig {
    /// A configuration with the default timeouts.
    pub fn new(listen: SocketAddr, transport: Transport) -> Self {
        Self {
            listen,
            transport,
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
        }
    }

    /// Checks the transport policy.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.transport == Transport::Plain && !self.listen.ip().is_loopback() {
            return Err(ConfigError::PlainHttpOnNetwork(self.listen));
        }
        Ok(())
    }
}

/// Loads a rustls server configuration (ring provider, TLS 1.2 and 1.3) from PEM files.
pub(crate) async fn rustls_config(
    cert: &Path,
    key: &Path,
) -> Result<axum_server::tls_rustls::RustlsConfig, ConfigError> {
    // Installing the process-wide provider fails harmlessly if one is already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
        .await
        .map_err(|e| ConfigError::Tls(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(addr: &str, transport: Transport) -> ServerConfig {
        ServerConfig::new(addr.parse().unwrap(), transport)
    }

    #[test]
    fn plain_http_only_on_loopback_unless_behind_a_proxy() {
        assert!(config("127.0.0.1:8080", Transport::Plain).check().is_ok());
        assert!(config("[::1]:8080", Transport::Plain).check().is_ok());
        for addr in ["0.0.0.0:8080", "192.0.2.10:8080", "[::]:8080"] {
            assert!(
                matches!(
                    config(addr, Transport::Plain).check(),
                    Err(ConfigError::PlainHttpOnNetwork(_))
                ),
                "{addr}"
            );
            assert!(config(addr, Transport::BehindTlsProxy).check().is_ok());
            let tls = Transport::Tls {
                cert: "c.pem".into(),
                key: "k.pem".into(),
            };
            assert!(config(addr, tls).check().is_ok());
        }
    }
}
