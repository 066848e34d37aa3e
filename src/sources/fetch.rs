//! Sources → fetch: the one HTTP client every source goes through. Polite by
//! construction: a User-Agent with a contact address, connect and total
//! timeouts, a response size cap, gzip, conditional GET (ETag /
//! Last-Modified; 304 = nothing to do), at most N requests in flight per
//! host, and retries with exponential backoff and jitter on 429/5xx/timeouts
//! only (Retry-After honoured, capped). A 4xx is never retried.
//!
//! Contained as well: every request carries its source's [`Scope`]; each hop
//! of a redirect is checked against it before it is made (redirects are
//! followed here, not by reqwest, so that the scope and the chain are known),
//! and the client's resolver refuses addresses the scope may not reach (see
//! `guard`). An error names the URL that failed and the redirects before it.

use super::guard::{AddressRefused, GuardedResolver, Refusal, Scope};
use reqwest::Url;
use reqwest::header::{self, HeaderMap, HeaderValue};
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Redirects followed for one request.
const MAX_REDIRECTS: usize = 5;

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
    /// A whole poll's time: sources not done by then fail with a clear error.
    pub poll_budget: Duration,
    /// Memory for bodies larger than [`SMALL_BODY`], all requests together.
    /// A large body reserves its size (its cap when no length is announced,
    /// given back down to what it holds once read) before it is read on,
    /// waits while the memory is taken, and gives it back when dropped. With
    /// the page budget this bounds what a poll holds, however many hostile
    /// sources send large pages at once.
    pub large_body_budget: usize,
}

/// A body up to this size reserves nothing (most answers are far smaller).
pub const SMALL_BODY: usize = 128 * 1024;

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
            poll_budget: Duration::from_secs(600),
            large_body_budget: 4 * 1024 * 1024,
        }
    }
}

/// One request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FetchRequest {
    pub url: String,
    /// POST with (content type, body) when set; GET otherwise.
    pub post: Option<(String, Vec<u8>)>,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    /// Where the request and its redirects may go; default: the request's own URL's scope.
    pub scope: Option<Arc<Scope>>,
    /// A tighter size cap than the client's (a page that will be parsed).
    pub max_bytes: Option<usize>,
    /// Retries instead of the client's (a detail page is worth one try).
    pub retries: Option<u32>,
}

impl FetchRequest {
    pub fn get(url: impl Into<String>) -> FetchRequest {
        FetchRequest { url: url.into(), ..FetchRequest::default() }
    }

    pub fn post(url: impl Into<String>, content_type: String, body: Vec<u8>) -> FetchRequest {
        FetchRequest { url: url.into(), post: Some((content_type, body)), ..FetchRequest::default() }
    }

    /// Keep the request (and its redirects) within a source's scope.
    pub fn within(mut self, scope: &Arc<Scope>) -> FetchRequest {
        self.scope = Some(scope.clone());
        self
    }

    /// Refuse a body larger than `bytes` (or the client's cap, if smaller).
    pub fn at_most(mut self, bytes: usize) -> FetchRequest {
        self.max_bytes = Some(bytes);
        self
    }

    /// Retry transient failures `n` times instead of the client's default.
    pub fn retries(mut self, n: u32) -> FetchRequest {
        self.retries = Some(n);
        self
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
    /// A large body's memory, given back when the body is dropped: read a
    /// body and drop it before fetching the next (a task that holds one
    /// while it waits for another waits for memory only others give back).
    reserved: Reserved,
}

/// Memory reserved for a large body (see [`FetchConfig::large_body_budget`]).
#[derive(Clone, Default)]
struct Reserved(Option<Arc<OwnedSemaphorePermit>>);

impl fmt::Debug for Reserved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Reserved({} KiB)", self.0.as_ref().map_or(0, |p| p.num_permits()))
    }
}

/// Two bodies are equal by their content; the memory they reserve does not matter.
impl PartialEq for Reserved {
    fn eq(&self, _: &Reserved) -> bool {
        true
    }
}

impl Eq for Reserved {}

/// Whole KiB for `bytes`, the unit of the large-body budget.
fn kib(bytes: usize) -> usize {
    bytes.div_ceil(1024)
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
    #[error("hämtar inte {url}: {reason}")]
    Refused { url: String, reason: Refusal },
    #[error("fler än {MAX_REDIRECTS} omdirigeringar, den sista till {url}")]
    TooManyRedirects { url: String },
    /// What went wrong after redirects: `chain` holds the URLs before the one that failed.
    #[error("{error} (omdirigerad från {})", chain.join(" → "))]
    Redirected { chain: Vec<String>, error: Box<FetchError> },
    #[error("HTTP-klienten: {0}")]
    Client(String),
}

impl FetchError {
    /// Worth retrying: timeouts, connection failures, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Timeout { .. } | FetchError::Connect { .. } | FetchError::Body { .. } => true,
            FetchError::Status { status, .. } => *status == 429 || *status >= 500,
            FetchError::Redirected { error, .. } => error.is_transient(),
            FetchError::BadUrl { .. }
            | FetchError::TooLarge { .. }
            | FetchError::Refused { .. }
            | FetchError::TooManyRedirects { .. }
            | FetchError::Client(_) => false,
        }
    }

    /// The error itself, past any redirects.
    pub fn root(&self) -> &FetchError {
        match self {
            FetchError::Redirected { error, .. } => error.root(),
            other => other,
        }
    }

    /// A request the scope refused (no connection was made).
    pub fn is_refusal(&self) -> bool {
        matches!(self.root(), FetchError::Refused { .. })
    }

    fn after(self, chain: &[Url]) -> FetchError {
        if chain.is_empty() {
            return self;
        }
        FetchError::Redirected { chain: chain.iter().map(Url::to_string).collect(), error: Box::new(self) }
    }
}

/// One hop of a request.
enum Hop {
    Done(Fetched),
    /// To this URL; `keep_method`: 307/308 repeat a POST, 301/302/303 turn it into a GET.
    Redirect {
        to: Url,
        keep_method: bool,
    },
}

/// The shared client. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// For sources on public addresses: the resolver refuses every local one.
    public: reqwest::Client,
    /// For sources configured on a loopback or private address (built when first needed).
    local: OnceLock<Result<reqwest::Client, FetchError>>,
    cfg: FetchConfig,
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// The large-body budget in KiB (see [`FetchConfig::large_body_budget`]).
    large: Arc<Semaphore>,
    seed: AtomicU64,
    /// Set when the daemon is stopping: a poll gives up on what is still in flight.
    cancelled: Arc<AtomicBool>,
}

impl Fetcher {
    pub fn new(cfg: FetchConfig) -> Result<Fetcher, FetchError> {
        Fetcher::cancelled_by(cfg, Arc::new(AtomicBool::new(false)))
    }

    /// A client whose polls give up on what is in flight once `flag` is set
    /// (the daemon's "stopping": SIGTERM must not wait for a slow source).
    pub fn cancelled_by(cfg: FetchConfig, flag: Arc<AtomicBool>) -> Result<Fetcher, FetchError> {
        let public = build_client(&cfg, false)?;
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0x9e37_79b9);
        let inner = Inner {
            public,
            local: OnceLock::new(),
            large: Arc::new(Semaphore::new(kib(cfg.large_body_budget).max(1))),
            cfg,
            hosts: Mutex::new(HashMap::new()),
            seed: AtomicU64::new(seed | 1),
            cancelled: flag,
        };
        Ok(Fetcher { inner: Arc::new(inner) })
    }

    /// Whether the work in hand should be given up (the daemon is stopping).
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::SeqCst)
    }

    pub fn config(&self) -> &FetchConfig {
        &self.inner.cfg
    }

    /// Fetch with retries on transient failures.
    pub async fn fetch(&self, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let url = Url::parse(&req.url).map_err(|e| FetchError::BadUrl { url: req.url.clone(), reason: e.to_string() })?;
        let own_scope;
        let scope = match &req.scope {
            Some(s) => s.as_ref(),
            None => {
                own_scope = Scope::new(&url, Vec::new());
                &own_scope
            }
        };
        let client = self.client(scope.local_ok())?;
        let host = format!("{}://{}:{}", url.scheme(), url.host_str().unwrap_or(""), url.port_or_known_default().unwrap_or(0));
        let sem = self.host_semaphore(&host);
        let cfg = &self.inner.cfg;
        let max_retries = req.retries.unwrap_or(cfg.max_retries);
        let mut attempt = 0u32;
        loop {
            let result = {
                let _permit = sem.acquire().await.map_err(|e| FetchError::Client(e.to_string()))?;
                self.follow(&client, scope, &url, req).await
            };
            match result {
                Err(e) if e.is_transient() && attempt < max_retries => {
                    let wait = match e.root() {
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

    fn client(&self, local_ok: bool) -> Result<reqwest::Client, FetchError> {
        if !local_ok {
            return Ok(self.inner.public.clone());
        }
        self.inner.local.get_or_init(|| build_client(&self.inner.cfg, true)).clone()
    }

    /// One attempt: the request and its redirects, each hop checked against `scope`.
    async fn follow(&self, client: &reqwest::Client, scope: &Scope, start: &Url, req: &FetchRequest) -> Result<Fetched, FetchError> {
        let mut url = start.clone();
        let mut post = req.post.as_ref();
        let mut chain: Vec<Url> = Vec::new();
        loop {
            let hop = match scope.check(&url) {
                Err(reason) => Err(FetchError::Refused { url: url.to_string(), reason }),
                Ok(()) => self.hop(client, &url, post, req).await,
            };
            match hop {
                Ok(Hop::Done(fetched)) => return Ok(fetched),
                Ok(Hop::Redirect { to, keep_method }) => {
                    chain.push(url);
                    if chain.len() > MAX_REDIRECTS {
                        return Err(FetchError::TooManyRedirects { url: to.to_string() }.after(&chain));
                    }
                    url = to;
                    post = post.filter(|_| keep_method);
                }
                Err(e) => return Err(e.after(&chain)),
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

    /// One hop. A body that needs memory from the large-body budget while
    /// it is taken is not left waiting on an open connection (whose buffers
    /// would fill): the response is dropped, the memory awaited, and the
    /// request made again with it in hand.
    async fn hop(
        &self,
        client: &reqwest::Client,
        url: &Url,
        post: Option<&(String, Vec<u8>)>,
        req: &FetchRequest,
    ) -> Result<Hop, FetchError> {
        // The total time is kept here, not by reqwest: a wait for memory
        // does not count against the request.
        let mut deadline = tokio::time::Instant::now() + self.inner.cfg.total_timeout;
        let mut reserved = None;
        loop {
            match self.exchange(client, url, post, req, &mut deadline, reserved.take()).await? {
                Exchange::Hop(hop) => return Ok(hop),
                Exchange::NeedsMemory(bytes) => reserved = Some(self.reserve(bytes, &mut deadline).await?),
            }
        }
    }

    async fn exchange(
        &self,
        client: &reqwest::Client,
        url: &Url,
        post: Option<&(String, Vec<u8>)>,
        req: &FetchRequest,
        deadline: &mut tokio::time::Instant,
        reserved: Option<OwnedSemaphorePermit>,
    ) -> Result<Exchange, FetchError> {
        let at = url.as_str();
        let mut rb = match post {
            Some((ct, body)) => client.post(url.clone()).header(header::CONTENT_TYPE, ct.as_str()).body(body.clone()),
            None => client.get(url.clone()),
        };
        if let Some(etag) = &req.etag {
            rb = rb.header(header::IF_NONE_MATCH, etag.as_str());
        }
        if let Some(lm) = &req.last_modified {
            rb = rb.header(header::IF_MODIFIED_SINCE, lm.as_str());
        }
        let timed_out = || FetchError::Timeout { url: at.to_string() };
        let resp = tokio::time::timeout_at(*deadline, rb.send()).await.map_err(|_| timed_out())?.map_err(|e| classify(at, e))?;
        let status = resp.status();
        if status.is_redirection()
            && let Some(location) = resp.headers().get(header::LOCATION)
        {
            let to = location
                .to_str()
                .ok()
                .and_then(|l| url.join(l.trim()).ok())
                .ok_or_else(|| FetchError::BadUrl { url: at.to_string(), reason: format!("ogiltig omdirigering {location:?}") })?;
            let keep_method = matches!(status.as_u16(), 307 | 308);
            return Ok(Exchange::Hop(Hop::Redirect { to, keep_method }));
        }
        if status == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(Exchange::Hop(Hop::Done(Fetched::NotModified)));
        }
        if !status.is_success() {
            let retry_after = resp.headers().get(header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(parse_retry_after);
            return Err(FetchError::Status { url: at.to_string(), status: status.as_u16(), retry_after });
        }
        let text_header = |h: header::HeaderName| resp.headers().get(h).and_then(|v| v.to_str().ok()).map(str::to_string);
        let (etag, last_modified, content_type) =
            (text_header(header::ETAG), text_header(header::LAST_MODIFIED), text_header(header::CONTENT_TYPE));
        let limit = req.max_bytes.map_or(self.inner.cfg.max_bytes, |m| m.min(self.inner.cfg.max_bytes));
        let (bytes, reserved) = match self.read_body(resp, at, limit, *deadline, reserved).await? {
            BodyRead::Done(bytes, reserved) => (bytes, reserved),
            BodyRead::NeedsMemory(n) => return Ok(Exchange::NeedsMemory(n)),
        };
        let body = FetchedBody { status: status.as_u16(), bytes, etag, last_modified, content_type, url: url.to_string(), reserved };
        Ok(Exchange::Hop(Hop::Done(Fetched::Body(body))))
    }

    /// The body, up to `limit` bytes, by `deadline`. Past [`SMALL_BODY`] it
    /// needs memory from the large-body budget: `reserved` if that covers
    /// it, else taken now if free, else `NeedsMemory` (nothing is held).
    async fn read_body(
        &self,
        mut resp: reqwest::Response,
        at: &str,
        limit: usize,
        deadline: tokio::time::Instant,
        mut reserved: Option<OwnedSemaphorePermit>,
    ) -> Result<BodyRead, FetchError> {
        let too_large = || FetchError::TooLarge { url: at.to_string(), limit };
        let announced = resp.content_length().map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX));
        if announced > limit {
            return Err(too_large());
        }
        if announced > SMALL_BODY && announced > self.covered(reserved.as_ref()) {
            drop(reserved.take());
            match self.try_reserve(announced) {
                Some(permit) => reserved = Some(permit),
                None => return Ok(BodyRead::NeedsMemory(announced)),
            }
        }
        let mut bytes = Vec::with_capacity(announced);
        loop {
            let next = tokio::time::timeout_at(deadline, resp.chunk()).await.map_err(|_| FetchError::Timeout { url: at.to_string() })?;
            let Some(chunk) = next.map_err(|e| classify(at, e))? else { break };
            let held = bytes.len() + chunk.len();
            if held > limit {
                return Err(too_large());
            }
            if held > SMALL_BODY && held > self.covered(reserved.as_ref()) {
                // No length announced: the cap, until the body is read.
                drop(reserved.take());
                match self.try_reserve(limit) {
                    Some(permit) => reserved = Some(permit),
                    None => return Ok(BodyRead::NeedsMemory(limit)),
                }
            }
            bytes.extend_from_slice(&chunk);
        }
        if let Some(permit) = reserved.as_mut() {
            let surplus = permit.num_permits().saturating_sub(kib(bytes.capacity()));
            drop(permit.split(surplus));
        }
        Ok(BodyRead::Done(bytes, Reserved(reserved.map(Arc::new))))
    }

    /// Whole KiB of the budget wanted for `bytes` (all of it, for a body larger than the budget).
    fn wanted(&self, bytes: usize) -> u32 {
        let budget = kib(self.inner.cfg.large_body_budget).max(1);
        u32::try_from(kib(bytes).clamp(1, budget)).unwrap_or(u32::MAX)
    }

    /// Bytes a reservation lets a body hold (unbounded when it is the whole budget).
    fn covered(&self, permit: Option<&OwnedSemaphorePermit>) -> usize {
        match permit {
            None => 0,
            Some(p) if p.num_permits() >= kib(self.inner.cfg.large_body_budget).max(1) => usize::MAX,
            Some(p) => p.num_permits() * 1024,
        }
    }

    fn try_reserve(&self, bytes: usize) -> Option<OwnedSemaphorePermit> {
        self.inner.large.clone().try_acquire_many_owned(self.wanted(bytes)).ok()
    }

    /// Wait for `bytes` of the large-body budget; the deadline moves by the wait.
    async fn reserve(&self, bytes: usize, deadline: &mut tokio::time::Instant) -> Result<OwnedSemaphorePermit, FetchError> {
        let asked = tokio::time::Instant::now();
        let permit =
            self.inner.large.clone().acquire_many_owned(self.wanted(bytes)).await.map_err(|e| FetchError::Client(e.to_string()))?;
        *deadline += asked.elapsed();
        Ok(permit)
    }
}

/// How one exchange of a hop ended.
enum Exchange {
    Hop(Hop),
    /// The body needs this much of the large-body budget, taken just now.
    NeedsMemory(usize),
}

/// How reading a body ended.
enum BodyRead {
    Done(Vec<u8>, Reserved),
    NeedsMemory(usize),
}

/// A client for one side of the address rule. Redirects are not followed by
/// reqwest (see [`Fetcher::follow`]), and no proxy is used: through a proxy
/// the addresses would be resolved where this guard cannot see them.
fn build_client(cfg: &FetchConfig, local_ok: bool) -> Result<reqwest::Client, FetchError> {
    let ua = format!("psi-radar/{} (+{})", env!("CARGO_PKG_VERSION"), cfg.contact.trim());
    let mut headers = HeaderMap::new();
    headers.insert(header::ACCEPT, HeaderValue::from_static("application/json, application/xml, text/html;q=0.9, */*;q=0.5"));
    reqwest::Client::builder()
        .user_agent(ua)
        .default_headers(headers)
        .connect_timeout(cfg.connect_timeout)
        .gzip(true)
        .redirect(reqwest::redirect::Policy::none())
        // An idle connection keeps its read buffer (up to some 400 KB): a
        // source's next request comes within seconds or not at all.
        .pool_idle_timeout(Duration::from_secs(5))
        .no_proxy()
        .dns_resolver(GuardedResolver { local_ok })
        .build()
        .map_err(|e| FetchError::Client(e.to_string()))
}

fn classify(url: &str, e: reqwest::Error) -> FetchError {
    if let Some(refused) = find_cause::<AddressRefused>(&e) {
        return FetchError::Refused { url: url.to_string(), reason: refused.refusal.clone() };
    }
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

/// The first error of type `T` in `e`'s chain of causes.
fn find_cause<'a, T: std::error::Error + 'static>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a T> {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(t) = err.downcast_ref::<T>() {
            return Some(t);
        }
        cur = err.source();
    }
    None
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
