//! The HTTP side of the client: JSON calls to `/api/v1`, with the API's error shape turned into
//! [`ClientError`]. `reqwest` is `fetch` on wasm32, so this works unchanged in the browser.
//!
//! Two ways to hold a session. The CLI keeps the bearer token `login/finish` returns and sends it
//! with every call ([`Api::new`]). The browser app ([`Api::browser`]) never sees a token: it marks
//! every call with `x-vaiti-client: web`, the server answers its login with an `HttpOnly` cookie
//! (out of reach of any script on the page) and counts that cookie only on calls so marked,
//! which a page of another site cannot make.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ClientError;

/// The header that marks the browser app's calls (as the server names it).
pub const WEB_CLIENT_HEADER: &str = "x-vaiti-client";
/// The value of [`WEB_CLIENT_HEADER`].
pub const WEB_CLIENT_VALUE: &str = "web";

/// A connection to one vaiti server.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
    /// A browser session: calls carry [`WEB_CLIENT_HEADER`] and never a bearer token.
    browser: bool,
}

impl Api {
    /// A client for the server at `url` (e.g. `https://vaiti.clinic.example`).
    pub fn new(url: &str) -> Result<Self, ClientError> {
        let base = url.trim_end_matches('/').to_string();
        if !(base.starts_with("https://") || base.starts_with("http://")) {
            return Err(ClientError::Usage(format!(
                "the server URL must start with https:// (got {url:?})"
            )));
        }
        Ok(Self {
            base,
            http: reqwest::Client::new(),
            token: None,
            browser: false,
        })
    }

    /// A client for the browser app, served by the server at `url` (the page's own origin): every
    /// call carries `x-vaiti-client: web`, the session lives in the server's `HttpOnly` cookie,
    /// which the browser keeps and sends, and no bearer token is ever held or sent.
    ///
    /// On wasm32 the browser's `fetch` keeps the cookie (same-origin credentials). Natively there
    /// is no cookie store unless one is given with [`with_http_client`](Self::with_http_client)
    /// (tests use `reqwest`'s `cookie_store`).
    pub fn browser(url: &str) -> Result<Self, ClientError> {
        let mut api = Self::new(url)?;
        api.browser = true;
        Ok(api)
    }

    /// Uses `http` for every call (its cookie store, timeouts, proxy).
    pub fn with_http_client(mut self, http: reqwest::Client) -> Self {
        self.http = http;
        self
    }

    /// Whether this is a browser session ([`Api::browser`]).
    pub fn is_browser(&self) -> bool {
        self.browser
    }

    /// Uses `token` as the bearer token of later calls. An empty token (what a browser login
    /// returns: the session is in a cookie) is none, and a browser session never takes one.
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token.filter(|t| !self.browser && !t.is_empty());
    }

    /// The bearer token in use, if any.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `GET /api/v1{path}`.
    pub async fn get<R: DeserializeOwned>(&self, path: &str) -> Result<R, ClientError> {
        self.send(self.http.get(format!("{}/api/v1{path}", self.base)))
            .await
    }

    /// `POST /api/v1{path}` with a JSON body and extra headers.
    pub async fn post<B: Serialize, R: DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
        headers: &[(&str, &str)],
    ) -> Result<R, ClientError> {
        let mut req = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .json(body);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req).await
    }

    /// `POST /api/v1{path}` with a JSON body, expecting no answer body.
    pub async fn post_no_content<B: Serialize>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<(), ClientError> {
        let req = self
            .http
            .post(format!("{}/api/v1{path}", self.base))
            .json(body);
        let resp = self.authorize(req).send().await?;
        if resp.status().is_success() {
            // Read the (empty) body to its end: a response dropped unread aborts the browser's
            // fetch, which Chromium reports as a failed request.
            let _ = resp.bytes().await;
            Ok(())
        } else {
            Err(api_error(resp).await)
        }
    }

    /// `POST /api/v1{path}` without a body, expecting no answer body.
    pub async fn post_empty(&self, path: &str) -> Result<(), ClientError> {
        let resp = self
            .authorize(self.http.post(format!("{}/api/v1{path}", self.base)))
            .send()
            .await?;
        if resp.status().is_success() {
            // Read the (empty) body to its end: a response dropped unread aborts the browser's
            // fetch, which Chromium reports as a failed request.
            let _ = resp.bytes().await;
            Ok(())
        } else {
            Err(api_error(resp).await)
        }
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if self.browser {
            let req = req.header(WEB_CLIENT_HEADER, WEB_CLIENT_VALUE);
            // The cookie goes to this origin only (fetch's default, stated so it stays so).
            #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
            let req = req.fetch_credentials_same_origin();
            return req;
        }
        match &self.token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    async fn send<R: DeserializeOwned>(
        &self,
        req: reqwest::RequestBuilder,
    ) -> Result<R, ClientError> {
        let resp = self.authorize(req).send().await?;
        if !resp.status().is_success() {
            return Err(api_error(resp).await);
        }
        resp.json::<R>()
            .await
            .map_err(|e| ClientError::Protocol(format!("unexpected answer from the server: {e}")))
    }
}

async fn api_error(resp: reqwest::Response) -> ClientError {
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("the server gave no explanation")
        .to_string();
    ClientError::Api {
        status,
        code,
        message,
    }
}

/// Fetches every page of a paged list. `path` ends in `?` or `&`; `position=…` is appended.
/// `take` keeps a page's items and returns the page's `next`, which must move forward.
pub(crate) async fn all_pages<P: serde::de::DeserializeOwned>(
    api: &Api,
    path: &str,
    mut take: impl FnMut(P) -> Option<u64>,
) -> Result<(), ClientError> {
    let mut position = 0;
    loop {
        let page: P = api.get(&format!("{path}position={position}")).await?;
        match next_page(position, take(page))? {
            Some(next) => position = next,
            None => return Ok(()),
        }
    }
}

/// Checks a page's `next` position before asking for it: it must move forward, or a server
/// could keep a client paging forever.
pub(crate) fn next_page(current: u64, next: Option<u64>) -> Result<Option<u64>, ClientError> {
    match next {
        Some(n) if n <= current => Err(ClientError::Protocol(
            "the server's list pages do not move forward".into(),
        )),
        other => Ok(other),
    }
}
