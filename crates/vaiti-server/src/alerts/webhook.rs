//! The alert webhook: each alert is POSTed as a small JSON object (kind, clinic, alert id, actor
//! id, counts, time — never plaintext, never a chart id) to the operator's URL, from a spawned
//! task, so a slow or dead receiver never delays a request.
//!
//! The client is hyper's HTTP/1.1 over rustls (ring provider, the system's root certificates),
//! one connection per delivery: alerts are rare, and this keeps the server's TLS stack the one it
//! already uses to serve. Plain `http://` is accepted only for a loopback host, as for serving.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::Request;
use hyper::header::{CONTENT_TYPE, HOST, USER_AGENT};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls;
use vaiti_core::Alert;

/// How long one delivery attempt may take, connection included.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Delivery attempts before giving up (the alert stays in the store either way).
const ATTEMPTS: u32 = 4;
/// The wait before the second attempt; it doubles before each later one (1 s, 2 s, 4 s).
const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// A webhook URL the server refuses.
#[derive(Debug, thiserror::Error)]
pub(crate) enum WebhookError {
    #[error("the alert webhook {0:?} is not a URL")]
    NotAUrl(String),
    #[error(
        "the alert webhook must use https:// (plain http:// only to a loopback address such as 127.0.0.1)"
    )]
    PlainHttpOnNetwork,
    #[error("no root certificates found in the system's store for the https alert webhook")]
    NoRoots,
}

/// Where alerts are POSTed.
#[derive(Clone)]
pub(crate) struct Webhook {
    /// Host name or address (IPv6 without brackets), for connecting and TLS.
    host: String,
    port: u16,
    /// The `Host` header.
    authority: String,
    /// Path and query.
    path: String,
    tls: Option<TlsConnector>,
}

impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The path may carry a receiver's secret token: never print it.
        f.debug_struct("Webhook")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("tls", &self.tls.is_some())
            .finish_non_exhaustive()
    }
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

impl Webhook {
    /// Parses and checks `url`; for https, loads the system's root certificates.
    pub(crate) fn new(url: &str) -> Result<Self, WebhookError> {
        let bad = || WebhookError::NotAUrl(url.to_owned());
        let uri: hyper::Uri = url.parse().map_err(|_| bad())?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => return Err(bad()),
        };
        let authority = uri.authority().ok_or_else(bad)?;
        if authority.as_str().contains('@') {
            return Err(bad());
        }
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        if host.is_empty() {
            return Err(bad());
        }
        if !https && !is_loopback(&host) {
            return Err(WebhookError::PlainHttpOnNetwork);
        }
        let port = authority.port_u16().unwrap_or(if https { 443 } else { 80 });
        let path = uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |p| p.as_str().to_owned());
        let tls = if https {
            let mut roots = rustls::RootCertStore::empty();
            let found = rustls_native_certs::load_native_certs();
            let (added, _) = roots.add_parsable_certificates(found.certs);
            if added == 0 {
                return Err(WebhookError::NoRoots);
            }
            let config = rustls::ClientConfig::builder_with_provider(Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .map_err(|_| WebhookError::NoRoots)?
            .with_root_certificates(roots)
            .with_no_client_auth();
            Some(TlsConnector::from(Arc::new(config)))
        } else {
            None
        };
        Ok(Self {
            host,
            port,
            authority: authority.as_str().to_owned(),
            path,
            tls,
        })
    }

    /// Delivers `alert` from a spawned task: a few attempts with backoff, each with a timeout.
    /// Failures are logged (ids only); the alert is in the store regardless.
    pub(crate) fn spawn_delivery(&self, alert: &Alert) {
        let body = Bytes::from(payload(alert).to_string());
        let hook = self.clone();
        let (kind, id) = (alert.kind, alert.id);
        tokio::spawn(async move {
            let mut backoff = FIRST_BACKOFF;
            for attempt in 1..=ATTEMPTS {
                match tokio::time::timeout(ATTEMPT_TIMEOUT, hook.post(body.clone())).await {
                    Ok(Ok(status)) if status.is_success() => {
                        tracing::debug!(alert = %id, %kind, attempt, "alert delivered to the webhook");
                        return;
                    }
                    Ok(Ok(status)) => {
                        tracing::warn!(alert = %id, %kind, attempt, %status, "the alert webhook refused an alert");
                    }
                    Ok(Err(e)) => {
                        tracing::warn!(alert = %id, %kind, attempt, error = %e, "alert webhook delivery failed");
                    }
                    Err(_) => {
                        tracing::warn!(alert = %id, %kind, attempt, "alert webhook delivery timed out");
                    }
                }
                if attempt < ATTEMPTS {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
            tracing::error!(alert = %id, %kind, "gave up delivering an alert to the webhook; it is in the store");
        });
    }

    async fn post(&self, body: Bytes) -> Result<hyper::StatusCode, String> {
        let request = Request::post(self.path.as_str())
            .header(HOST, self.authority.as_str())
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, concat!("vaiti/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
            .await
            .map_err(|e| format!("connecting: {e}"))?;
        match &self.tls {
            None => exchange(tcp, request).await,
            Some(tls) => {
                let name = rustls::pki_types::ServerName::try_from(self.host.clone())
                    .map_err(|e| format!("server name: {e}"))?;
                let stream = tls
                    .connect(name, tcp)
                    .await
                    .map_err(|e| format!("TLS: {e}"))?;
                exchange(stream, request).await
            }
        }
    }
}

/// One HTTP/1.1 request on a fresh connection; returns the response status.
async fn exchange<S>(io: S, request: Request<Full<Bytes>>) -> Result<hyper::StatusCode, String>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| format!("HTTP handshake: {e}"))?;
    let driver = tokio::spawn(connection);
    let response = sender.send_request(request).await;
    drop(sender);
    driver.abort();
    response
        .map(|r| r.status())
        .map_err(|e| format!("HTTP: {e}"))
}

/// The JSON the webhook receives.
pub(crate) fn payload(alert: &Alert) -> serde_json::Value {
    serde_json::json!({
        "kind": alert.kind.as_str(),
        "clinic": alert.clinic,
        "alert": alert.id,
        "actor": alert.actor,
        "count": alert.count,
        "window_s": alert.window_s,
        "time": alert.created_at,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn plain_http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:9/hook",
            "http://localhost/x?token=1",
            "http://[::1]:8080/",
        ] {
            let hook = Webhook::new(ok).unwrap();
            assert!(hook.tls.is_none(), "{ok}");
        }
        assert_eq!(Webhook::new("http://[::1]:8080/").unwrap().host, "::1");
        assert_eq!(
            Webhook::new("http://127.0.0.1:9/hook?t=1").unwrap().path,
            "/hook?t=1"
        );
        for bad in ["http://192.0.2.1/hook", "http://alerts.example/hook"] {
            assert!(
                matches!(Webhook::new(bad), Err(WebhookError::PlainHttpOnNetwork)),
                "{bad}"
            );
        }
        for bad in [
            "",
            "alerts.example/hook",
            "ftp://alerts.example/",
            "http://user:pw@127.0.0.1/",
        ] {
            assert!(
                matches!(Webhook::new(bad), Err(WebhookError::NotAUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_does_not_print_the_path() {
        let hook = Webhook::new("http://127.0.0.1:9/hook/SECRET-TOKEN").unwrap();
        assert!(!format!("{hook:?}").contains("SECRET"));
    }
}
