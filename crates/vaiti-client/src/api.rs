//! The HTTP side of the client: JSON calls to `/api/v1`, with the API's error shape turned into
//! [`ClientError`]. `reqwest` is `fetch` on wasm32, so this works unchanged in the browser.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ClientError;

/// A connection to one vaiti server.
#[derive(Debug, Clone)]
pub struct Api {
    base: String,
    http: reqwest::Client,
    token: Option<String>,
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
        })
    }

    /// Uses `token` as the bearer token of later calls.
    pub fn set_token(&mut self, token: Option<String>) {
        self.token = token;
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
            Ok(())
        } else {
            Err(api_error(resp).await)
        }
    }

    fn authorize(&self, req: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
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
