//! Sources → tests and the offline demo: a tiny HTTP server (axum, on
//! 127.0.0.1 and a free port) that answers GET and POST from files in a
//! directory, so every source can be polled without the internet.
//!
//! How a request path `/a/b` maps to a file under `dir` (query strings are
//! ignored, except `pageNumber`):
//! 1. `pageNumber=N` with N ≥ 2: `a/b.pageN.json` (EU search paging; page 1
//!    is the plain file). A page with no file is 404.
//! 2. `a/b` itself (a directory: `a/b/index.html`);
//! 3. `a/b.json`, `a/b.xml`, `a/b.html`;
//! 4. when the last segment is a date (`YYYY-MM-DD`), the parent as a file:
//!    `/vinnova/utlysningar/2026-01-01` → `vinnova/utlysningar.json`.
//!
//! Each answer carries an ETag (a hash of the file); a matching
//! If-None-Match gets 304. Paths with `..` are refused.

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::Response;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

/// Serve `dir` on 127.0.0.1 (a free port). Abort the handle to stop.
pub async fn serve_fixtures(dir: PathBuf) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = Router::new().fallback(answer).with_state(Arc::new(dir));
    let handle = tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!("fixturservern: {e}");
        }
    });
    Ok((addr, handle))
}

async fn answer(State(dir): State<Arc<PathBuf>>, uri: Uri, headers: HeaderMap) -> Response {
    let Some(file) = resolve(&dir, uri.path(), uri.query()) else { return plain(StatusCode::NOT_FOUND, "hittades inte") };
    let Ok(bytes) = tokio::fs::read(&file).await else { return plain(StatusCode::NOT_FOUND, "hittades inte") };
    let etag = format!("\"{:016x}\"", fnv(&bytes));
    let not_modified =
        headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let mut resp = Response::builder().header(header::ETAG, &etag).header(header::CONTENT_TYPE, content_type(&file));
    if not_modified {
        resp = resp.status(StatusCode::NOT_MODIFIED);
        return resp.body(Body::empty()).unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "fel"));
    }
    resp.body(Body::from(bytes)).unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "fel"))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut r = Response::new(Body::from(text));
    *r.status_mut() = status;
    r
}

/// The file a request path maps to (see the module docs).
pub fn resolve(dir: &Path, path: &str, query: Option<&str>) -> Option<PathBuf> {
    let rel = path.trim_start_matches('/');
    if Path::new(rel).components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let base = dir.join(rel);
    let page = query
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == "pageNumber")
        .and_then(|(_, v)| v.parse::<u32>().ok())
        .unwrap_or(1);
    if page > 1 {
        let p = PathBuf::from(format!("{}.page{page}.json", base.display()));
        return p.is_file().then_some(p);
    }
    let mut candidates = vec![base.clone(), base.join("index.html")];
    for ext in ["json", "xml", "html"] {
        candidates.push(PathBuf::from(format!("{}.{ext}", base.display())));
    }
    let last = rel.rsplit('/').next().unwrap_or("");
    if let (true, Some(parent)) = (chrono::NaiveDate::parse_from_str(last, "%Y-%m-%d").is_ok(), base.parent()) {
        candidates.push(PathBuf::from(format!("{}.json", parent.display())));
    }
    candidates.into_iter().find(|p| p.is_file())
}

fn content_type(p: &Path) -> &'static str {
    match p.extension().and_then(|e| e.to_str()) {
        Some("json") => "application/json; charset=utf-8",
        Some("xml") | Some("rss") => "application/rss+xml; charset=utf-8",
        Some("atom") => "application/atom+xml; charset=utf-8",
        Some("html") | Some("htm") => "text/html; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn fnv(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_mapping() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sources");
        let r = |p: &str, q: Option<&str>| resolve(&dir, p, q).map(|f| f.strip_prefix(&dir).unwrap().display().to_string());
        assert_eq!(r("/vinnova/utlysningar/2026-01-13", None).as_deref(), Some("vinnova/utlysningar.json"));
        assert_eq!(r("/eu/search", Some("apiKey=SEDIA&pageSize=5&pageNumber=1")).as_deref(), Some("eu/search.json"));
        assert_eq!(r("/eu/search", Some("pageSize=5&pageNumber=2")).as_deref(), Some("eu/search.page2.json"));
        assert_eq!(r("/eu/search", Some("pageNumber=3")), None);
        assert_eq!(r("/arvsfonden/", None).as_deref(), Some("arvsfonden/index.html"));
        assert_eq!(r("/../Cargo.toml", None), None);
    }
}
