//! Sources → fetch: the one HTTP client every source goes through. Polite by
//! construction: a User-Agent with a contact address, connect and total
//! timeouts, a response size cap, gzip, conditional GET (ETag /
//! Last-Modified; 304 = nothing to do), at most N requests in flight per
//! host, and retries with exponential backoff and jitter on 429/5xx/timeouts
//! only (Retry-After honoured, capped). A 4xx is never retried.

use reqwest::header::{self, HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

/// How the client behaves.
#[derive(Debug, Clone)]
pub struct FetchConfig {
    /// Contact address put in the User-Agent (an e-mail or URL).
    pub contact: String,
    pub connect_timeout: Duration,
    pub total_timeout: Duration,
    /// Largest response body accepted (after decompression).
    pub max_bytes: usize,
    /// Requests in flight per host (scheme, host and port).
    pub per_host: usize,
    /// Retries after the first attempt, for transient failures only.
    pub max_retries: u32,
    pub backoff_base: Duration,
    /// Longest wait honoured from a Retry-After header (and backoff cap).
    pub max_backoff: Duration,
}

impl FetchConfig {
    pub fn new(contact: &str) -> FetchConfig {
        FetchConfig {
            contact: contact.to_string(),
            connect_timeout: Duration::from_secs(10),
            total_timeout: Duration::from_secs(60),
            max_bytes: 20 * 1024 * 1024,
            per_host: 2,
            max_retries: 3,
            backoff_base: Duration::from_millis(500),
            max_backoff: Duration::from_secs(60),
        }
    }
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchRequest {
    pub url: String,
    /// POST with (content type, body) when set; GET otherwise.
    pub post: Option<(String, Vec<u8>)>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl FetchRequest {
    pub fn get(url: impl Into<String>) -> FetchRequest {
        FetchRequest { url: url.into(), post: None, etag: None, last_modified: None }
    }

    pub fn post(url: impl Into<String>, content_type: String, body: Vec<u8>) -> FetchRequest {
        FetchRequest { url: url.into(), post: Some((content_type, body)), etag: None, last_modified: None }
    }

    /// Ask only for a newer version than the one with these validators.
    pub fn conditional(mut self, etag: Option<String>, last_modified: Option<String>) -> FetchRequest {
        self.etag = etag;
        self.last_modified = last_modified;
        self
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// 304: the resource has not changed since the validators we sent.
    NotModified,
    Body(FetchedBody),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchedBody {
    pub status: u16,
    pub bytes: Vec<u8>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub content_type: Option<String>,
    /// The URL after redirects.
    pub url: String,
}

/// Why a fetch failed (after retries, for transient failures).
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum FetchError {
    #[error("ogiltig adress «{url}»: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("tidsgränsen överskreds för {url}")]
    Timeout { url: String },
    #[error("kunde inte ansluta till {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("{url} svarade {status}")]
    Status { url: String, status: u16, retry_after: Option<Duration> },
    #[error("svaret från {url} är större än {limit} byte")]
    TooLarge { url: String, limit: usize },
    #[error("svaret från {url} avbröts: {reason}")]
    Body { url: String, reason: String },
    #[error("HTTP-klienten: {0}")]
    Client(String),
}

impl FetchError {
    /// Worth retrying: timeouts, connection failures, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Connect { .. } | FetchError::Body { .. } => true,
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            FetchError::BadUrl { .. } | FetchError::TooLarge { .. } | FetchError::Client(_) => false,
        }
    }
}

/// The shared client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    client: reqwest::Client,
    cfg: FetchConfig,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    seed: AtomicU64,
}

impl Fetcher {
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, FetchError> {
        let ua = format!("psi-radar/{} (+{})", env!("CARGO_PKG_VERSION"), cfg.contact.trim());
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT, HeaderValue::from_static("application/json, application/xml, text/html;q=0.9, */*;q=0.5"));
        let client = reqwest::Client::builder()
            .user_agent(ua)
            .default_headers(headers)
            .connect_timeout(cfg.connect_timeout)
            .timeout(cfg.total_timeout)
            .gzip(true)
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|e| FetchError::Client(e.to_string()))?;
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0x9e37_79b9);
        Ok(Fetcher { inner: Arc::new(Inner { client, cfg, hosts: Mutex::new(HashMap::new()), seed: AtomicU64::new(seed | 1) }) })
    }

    pub fn config(&self) -> &FetchConfig {
        &self.inner.cfg
    }

    /// Fetch with retries on transient failures.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let url = reqwest::Url::parse(&req.url).map_err(|e| FetchError::BadUrl { url: req.url.clone(), reason: e.to_string() })?;
        let host = format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
        let sem = self.host_semaphore(&host);
        let cfg = &self.inner.cfg;
        let mut attempt = 0u32;
        loop {
            let result = {
                let _permit = sem.acquire().await.map_err(|e| FetchError::Client(e.to_string()))?;
                self.once(&url, req).await
            };
            match result {
                Err(e) if e.is_transient() && attempt < cfg.max_retries => {
                    let wait = match &e {
                        FetchError::Status { retry_after: Some(ra), .. } => (*ra).min(cfg.max_backoff),
                        _ => self.backoff(attempt),
                    };
                    tracing::debug!(url = %req.url, attempt, ?wait, error = %e, "försöker igen");
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// base · 2^attempt, plus up to one base of jitter, capped.
    fn backoff(&self, attempt: u32) -> Duration {
        let cfg = &self.inner.cfg;
        let exp = cfg.backoff_base.saturating_mul(1u32 << attempt.min(16));
        let base_ms = cfg.backoff_base.as_millis().max(1) as u64;
        let jitter = Duration::from_millis(self.random() % base_ms);
        (exp + jitter).min(cfg.max_backoff)
    }

    fn random(&self) -> u64 {
        // xorshift64: jitter only, no need for a crate
        let mut x = self.inner.seed.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.inner.seed.store(x, Ordering::Relaxed);
        x
    }

    fn host_semaphore(&self, host: &str) -> Arc<Semaphore> {
        let mut hosts = match self.inner.hosts.lock() {
            Ok(h) => h,
            Err(poisoned) => poisoned.into_inner(),
        };
        hosts.entry(host.to_string()).or_insert_with(|| Arc::new(Semaphore::new(self.inner.cfg.per_host.max(1)))).clone()
    }

    async fn once(&self, url: &reqwest::Url, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let cfg = &self.inner.cfg;
        let mut rb = match &req.post {
            Some((ct, body)) => self.inner.client.post(url.clone()).header(header::CONTENT_TYPE, ct.as_str()).body(body.clone()),
            None => self.inner.client.get(url.clone()),
        };
        if let Some(etag) = &req.etag {
            rb = rb.header(header::IF_NONE_MATCH, etag.as_str());
        }
        if let Some(lm) = &req.last_modified {
            rb = rb.header(header::IF_MODIFIED_SINCE, lm.as_str());
        }
        let mut resp = rb.send().await.map_err(|e| classify(&req.url, e))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Fetched::NotModified);
        }
        if !status.is_success() {
            let retry_after = resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
            return Err(FetchError::Status { url: req.url.clone(), status: status.as_u16(), retry_after });
        }
        let text_header = |h: header::HeaderName| resp.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
        let etag = text_header(header::ETAG);
        let last_modified = text_header(header::LAST_MODIFIED);
        let content_type = text_header(header::CONTENT_TYPE);
        let final_url = resp.url().to_string();
        if resp.content_length().is_some_and(|n| n > cfg.max_bytes as u64) {
            return Err(FetchError::TooLarge { url: req.url.clone(), limit: cfg.max_bytes });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| classify(&req.url, e))? {
            if bytes.len() + chunk.len() > cfg.max_bytes {
                return Err(FetchError::TooLarge { url: req.url.clone(), limit: cfg.max_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Fetched::Body(FetchedBody { status: status.as_u16(), bytes, etag, last_modified, content_type, url: final_url }))
    }
}

fn classify(url: &str, e: reqwest::Error) -> FetchError {
    if e.is_timeout() {
        FetchError::Timeout { url: url.to_string() }
    } else if e.is_connect() {
        FetchError::Connect { url: url.to_string(), reason: root_cause(&e) }
    } else if e.is_body() || e.is_decode() || e.is_request() {
        FetchError::Body { url: url.to_string(), reason: root_cause(&e) }
    } else {
        FetchError::Client(root_cause(&e))
    }
}

fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut cur = e;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
}

/// `Retry-After`: seconds, or an HTTP date.
pub fn parse_retry_after(v: &str) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let secs = (when.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds().max(0);
    Some(Duration::from_secs(secs as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_errors() {
        let s = |status| FetchError::Status { url: "u".into(), status, retry_after: None };
        assert!(s(429).is_transient());
        assert!(s(503).is_transient());
        assert!(!s(404).is_transient());
        assert!(!s(403).is_transient());
        assert!(FetchError::Timeout { url: "u".into() }.is_transient());
        assert!(!FetchError::TooLarge { url: "u".into(), limit: 1 }.is_transient());
    }

    #[test]
    fn retry_after_forms() {
        assert_eq!(parse_retry_after("2"), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon"), None);
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let mut cfg = FetchConfig::new("test@example.org");
        cfg.backoff_base = Duration::from_millis(100);
        cfg.max_backoff = Duration::from_secs(1);
        let f = Fetcher::new(cfg).unwrap();
        let b0 = f.backoff(0);
        assert!(b0 >= Duration::from_millis(100) && b0 < Duration::from_millis(200));
        assert!(f.backoff(2) >= Duration::from_millis(400));
        assert_eq!(f.backoff(10), Duration::from_secs(1));
    }
}
