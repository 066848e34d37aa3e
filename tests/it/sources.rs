//! Sources: golden tests per adapter (fixture → `*.expected.json` beside it;
//! `UPDATE_GOLDEN=1` rewrites them), the fetch client against a local axum
//! server (200, 304, 429 + Retry-After, 500 then 200, timeout, oversize, 4xx
//! not retried), malformed input marking a source failing, and whole polls
//! over the fixture server.

use crate::helpers::{fixture, spec, store};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use psi_radar::domain::{CallStatus, RawCall};
use psi_radar::jobs::poll::poll_sources;
use psi_radar::sources::fetch::{FetchConfig, FetchError, FetchRequest, Fetched, Fetcher};
use psi_radar::sources::spec::{SourceKind, SourceSpec, load_demo_sources};
use psi_radar::sources::{eu_portal, feed, fixture_server, html, vinnova};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap()
}

fn golden(name: &str, calls: &[RawCall]) {
    let path = fixture(&format!("sources/{name}.expected.json"));
    let got = serde_json::to_string_pretty(calls).unwrap() + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&path).unwrap_or_else(|_| panic!("{} saknas: kör med UPDATE_GOLDEN=1", path.display()));
    assert!(got == want, "{} skiljer sig (UPDATE_GOLDEN=1 skriver om):\n{got}", path.display());
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

fn demo_specs(base: &str) -> Vec<SourceSpec> {
    load_demo_sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("config/demo-sources.toml"), base).unwrap()
}

fn html_selectors(name: &str) -> (String, html::HtmlSelectors) {
    let spec = demo_specs("https://fixtures.example").into_iter().find(|s| s.name == name).unwrap();
    match spec.kind {
        SourceKind::Html { selectors, .. } => (spec.url, selectors),
        _ => unreachable!(),
    }
}

#[test]
fn golden_eu_portal() {
    let p1 = eu_portal::parse_search(&read("sources/eu/search.json"), &[]).unwrap();
    assert!(p1.has_more());
    assert_eq!(p1.calls.len(), 5);
    golden("eu/search", &p1.calls);
    let p2 = eu_portal::parse_search(&read("sources/eu/search.page2.json"), &[]).unwrap();
    assert!(!p2.has_more());
    golden("eu/search.page2", &p2.calls);
    let real = eu_portal::parse_search(&read("sources/eu/real-sample-search.json"), &[]).unwrap();
    golden("eu/real-sample-search", &real.calls);
    let only_cl2 = eu_portal::parse_search(&read("sources/eu/search.json"), &["HORIZON-CL2-".to_string()]).unwrap();
    assert_eq!(only_cl2.calls.len(), 2);
    // two cut-offs, both 17:00 Brussels
    let two = p1.calls.iter().find(|c| c.source_key == "HORIZON-CL2-2026-01-TRANSFO-03").unwrap();
    let at: Vec<String> = two.deadlines.iter().map(|d| d.at.to_rfc3339()).collect();
    assert_eq!(at, ["2026-02-12T16:00:00+00:00", "2026-09-17T15:00:00+00:00"]);
}

#[test]
fn golden_vinnova() {
    let calls = vinnova::parse(
        &read("sources/vinnova/utlysningar.json"),
        Some(&read("sources/vinnova/ansokningsomgangar.json")),
        vinnova::DEFAULT_ITEM_URL,
    )
    .unwrap();
    assert_eq!(calls.len(), 5, "Publik = 0 skipped");
    assert!(calls.iter().all(|c| c.source_key != "2025-04999"));
    golden("vinnova/vinnova", &calls);
}

#[test]
fn golden_feeds() {
    let rss = feed::parse(&read("sources/feed/vinnova-rss.xml"), chrono_tz::Europe::Stockholm).unwrap();
    assert_eq!(rss.len(), 3);
    assert_eq!(rss[2].status, Some(CallStatus::Rolling));
    golden("feed/vinnova-rss", &rss);
    let atom = feed::parse(&read("sources/feed/forte.atom"), chrono_tz::Europe::Stockholm).unwrap();
    assert_eq!(atom.len(), 2);
    assert_eq!(atom[0].deadlines[0].at.to_rfc3339(), "2026-02-25T13:00:00+00:00");
    golden("feed/forte", &atom);
}

#[test]
fn golden_html() {
    let tz = chrono_tz::Europe::Stockholm;
    let (url, sel) = html_selectors("esf");
    let p1 = html::parse_listing(&read("sources/html/esf-utlysningar.html"), &url, &sel, tz).unwrap();
    assert_eq!(p1.next_page.as_deref(), Some("https://fixtures.example/html/esf-utlysningar-sida2.html"));
    let p2 = html::parse_listing(&read("sources/html/esf-utlysningar-sida2.html"), &url, &sel, tz).unwrap();
    let all: Vec<RawCall> = p1.calls.into_iter().chain(p2.calls).collect();
    let statuses: Vec<Option<CallStatus>> = all.iter().map(|c| c.status).collect();
    assert_eq!(statuses, [None, None, Some(CallStatus::Closed), Some(CallStatus::Forthcoming), Some(CallStatus::Rolling)]);
    golden("html/esf-utlysningar", &all);
    let (url, sel) = html_selectors("tillvaxtverket");
    let tvv = html::parse_listing(&read("sources/html/tillvaxtverket.html"), &url, &sel, tz).unwrap();
    golden("html/tillvaxtverket", &tvv.calls);
    let detail = html::parse_detail(&read("sources/html/tvv/hallbar-landsbygd.html"), sel.detail.as_deref().unwrap()).unwrap().unwrap();
    assert!(detail.starts_with("Den här utlysningen (hallbar-landsbygd)") && detail.contains('\n'));
}

// ───────────────────────── fetch against a local server ─────────────────────────

#[derive(Default)]
struct Counters {
    flaky: AtomicUsize,
    limited: AtomicUsize,
    missing: AtomicUsize,
}

async fn test_server() -> (String, Arc<Counters>) {
    let counters = Arc::new(Counters::default());
    let app = Router::new()
        .route(
            "/ok",
            get(|headers: HeaderMap| async move {
                if headers.get(header::IF_NONE_MATCH).is_some_and(|v| v == "\"v1\"") {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                assert!(headers.get(header::USER_AGENT).unwrap().to_str().unwrap().contains("au@psi.example"));
                ([(header::ETAG, "\"v1\""), (header::LAST_MODIFIED, "Wed, 14 Jan 2026 10:00:00 GMT")], "hej").into_response()
            }),
        )
        .route(
            "/limited",
            get(|State(c): State<Arc<Counters>>| async move {
                if c.limited.fetch_add(1, Ordering::SeqCst) == 0 {
                    (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")], "lugna ner dig").into_response()
                } else {
                    "nu går det".into_response()
                }
            }),
        )
        .route(
            "/flaky",
            get(|State(c): State<Arc<Counters>>| async move {
                if c.flaky.fetch_add(1, Ordering::SeqCst) == 0 {
                    StatusCode::INTERNAL_SERVER_ERROR.into_response()
                } else {
                    "återhämtad".into_response()
                }
            }),
        )
        .route(
            "/missing",
            get(|State(c): State<Arc<Counters>>| async move {
                c.missing.fetch_add(1, Ordering::SeqCst);
                StatusCode::NOT_FOUND
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "för sent"
            }),
        )
        .route("/big", get(|| async { vec![b'a'; 300_000] }))
        .route(
            "/latin1",
            get(|| async {
                Response::new(axum::body::Body::from(b"<ul><li class='c'><h3>Utlysning f\xf6r \xe5r 2026</h3></li></ul>".to_vec()))
            }),
        )
        .route(
            "/truncated.xml",
            get(|| async { "<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>Avbrutet</title><item><title>Utlys" }),
        )
        .with_state(counters.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), counters)
}

fn fetcher() -> Fetcher {
    let mut cfg = FetchConfig::new("au@psi.example");
    cfg.total_timeout = Duration::from_millis(500);
    cfg.connect_timeout = Duration::from_millis(500);
    cfg.max_bytes = 100_000;
    cfg.max_retries = 2;
    cfg.backoff_base = Duration::from_millis(50);
    cfg.max_backoff = Duration::from_secs(2);
    Fetcher::new(cfg).unwrap()
}

#[tokio::test]
async fn fetch_200_then_304() {
    let (base, _) = test_server().await;
    let f = fetcher();
    let Fetched::Body(b) = f.fetch(&FetchRequest::get(format!("{base}/ok"))).await.unwrap() else { panic!("väntade 200") };
    assert_eq!((b.status, b.bytes.as_slice(), b.etag.as_deref()), (200, &b"hej"[..], Some("\"v1\"")));
    let again = f.fetch(&FetchRequest::get(format!("{base}/ok")).conditional(b.etag, b.last_modified)).await.unwrap();
    assert_eq!(again, Fetched::NotModified);
}

#[tokio::test]
async fn fetch_honours_retry_after_and_retries_500() {
    let (base, c) = test_server().await;
    let f = fetcher();
    let t = Instant::now();
    let Fetched::Body(b) = f.fetch(&FetchRequest::get(format!("{base}/limited"))).await.unwrap() else { panic!() };
    assert_eq!(b.bytes, b"nu g\xc3\xa5r det");
    assert!(t.elapsed() >= Duration::from_millis(950), "Retry-After: 1 ska följas, tog {:?}", t.elapsed());
    assert_eq!(c.limited.load(Ordering::SeqCst), 2);
    let Fetched::Body(b) = f.fetch(&FetchRequest::get(format!("{base}/flaky"))).await.unwrap() else { panic!() };
    assert_eq!(b.bytes, "återhämtad".as_bytes());
    assert_eq!(c.flaky.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn fetch_never_retries_4xx() {
    let (base, c) = test_server().await;
    let e = fetcher().fetch(&FetchRequest::get(format!("{base}/missing"))).await.unwrap_err();
    assert!(matches!(e, FetchError::Status { status: 404, .. }) && !e.is_transient());
    assert_eq!(c.missing.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fetch_timeout_and_oversize() {
    let (base, _) = test_server().await;
    let f = fetcher();
    let t = Instant::now();
    let e = f.fetch(&FetchRequest::get(format!("{base}/slow"))).await.unwrap_err();
    assert!(matches!(e, FetchError::Timeout { .. }), "{e:?}");
    assert!(t.elapsed() < Duration::from_secs(4), "3 försök à 0,5 s plus backoff");
    let e = f.fetch(&FetchRequest::get(format!("{base}/big"))).await.unwrap_err();
    assert!(matches!(e, FetchError::TooLarge { limit: 100_000, .. }), "{e:?}");
    let e = f.fetch(&FetchRequest::get("http://127.0.0.1:1/stängd")).await.unwrap_err();
    assert!(e.is_transient(), "{e:?}");
}

#[tokio::test]
async fn malformed_input_marks_the_source_failing() {
    let (base, _) = test_server().await;
    let (fx, _h) = fixture_server::serve_fixtures(fixture("sources")).await.unwrap();
    let (_, esf) = html_selectors("esf");
    let sel = html::HtmlSelectors {
        item: "li.c".into(),
        title: "h3".into(),
        link: None,
        deadline: None,
        summary: None,
        next_page: None,
        detail: None,
    };
    let specs = vec![
        spec("latin1", format!("{base}/latin1"), SourceKind::Html { selectors: sel, max_pages: 1, max_details: 0 }),
        spec("truncated", format!("{base}/truncated.xml"), SourceKind::Feed),
        spec(
            "new-layout",
            format!("http://{fx}/html/esf-new-layout.html"),
            SourceKind::Html { selectors: esf, max_pages: 1, max_details: 0 },
        ),
        spec("forte", format!("http://{fx}/feed/forte.atom"), SourceKind::Feed),
    ];
    let store = store().await;
    let report = poll_sources(&store, &fetcher(), &specs, None, now()).await;
    let err = |n: &str| report.sources.iter().find(|s| s.name == n).unwrap().error.clone().unwrap_or_default();
    // A Latin-1 page is decoded, not refused.
    assert_eq!(err("latin1"), "");
    assert!(err("truncated").contains("RSS/Atom"), "{}", err("truncated"));
    assert!(
        err("new-layout").contains("sidans layout har ändrats") && err("new-layout").contains("article.call-item"),
        "{}",
        err("new-layout")
    );
    assert_eq!(err("forte"), "");
    assert_eq!(report.new.len(), 3);
    let titles: Vec<String> = store.list_calls(&Default::default()).await.unwrap().into_iter().map(|c| c.call.title).collect();
    assert!(titles.contains(&"Utlysning för år 2026".to_string()), "{titles:?}");
    let st = store.source_state("new-layout").await.unwrap().unwrap();
    assert_eq!(st.consecutive_failures, 1);
    assert!(st.last_error.unwrap().contains("matchar ingenting"));
    assert!(st.next_check_at.is_some_and(|t| t > now()));
}

// ───────────────────────── whole polls ─────────────────────────

async fn demo() -> (psi_radar::store::Store, Fetcher, Vec<SourceSpec>, tokio::task::JoinHandle<()>) {
    let (addr, handle) = fixture_server::serve_fixtures(fixture("sources")).await.unwrap();
    let mut specs = demo_specs(&format!("http://{addr}"));
    specs.push(spec("trasig", format!("http://{addr}/finns-inte.xml"), SourceKind::Feed));
    (store().await, fetcher(), specs, handle)
}

#[tokio::test]
async fn poll_stores_calls_deduplicates_and_survives_a_failing_source() {
    let (store, f, specs, _h) = demo().await;
    let r1 = poll_sources(&store, &f, &specs, None, now()).await;
    let by = |r: &psi_radar::jobs::poll::PollReport, n: &str| r.sources.iter().find(|s| s.name == n).cloned().unwrap();
    assert!(by(&r1, "trasig").error.unwrap().contains("404"));
    let counts: Vec<(String, u32, u32)> = r1.sources.iter().map(|s| (s.name.clone(), s.new, s.unchanged)).collect();
    assert_eq!(
        counts,
        [
            ("eu-portal".into(), 9, 0),
            ("vinnova".into(), 5, 0),
            ("vinnova-rss".into(), 1, 2),
            ("forte".into(), 2, 0),
            ("esf".into(), 4, 1),
            ("tillvaxtverket".into(), 3, 0),
            ("arvsfonden".into(), 1, 0),
            ("trasig".into(), 0, 0),
        ]
    );
    assert_eq!(r1.new.len(), 25);
    let calls = store.list_calls(&Default::default()).await.unwrap();
    // the ESF+ call is one call listed by the EU portal and esf.se
    let easi = calls.iter().find(|c| c.call.title.starts_with("Social innovation and social economy")).unwrap();
    assert_eq!(easi.sources, ["esf", "eu-portal"]);
    // the Vinnova call reached by API (Swedish) and feed (English)
    let inkl = calls.iter().find(|c| c.call.title == "Social innovation för inkludering 2026").unwrap();
    assert_eq!(inkl.sources, ["vinnova", "vinnova-rss"]);
    // closed whatever the portal's status says
    let child = calls.iter().find(|c| c.call.title.starts_with("Rights of the child")).unwrap();
    assert_eq!(child.call.status, CallStatus::Closed);
    let arv = calls.iter().find(|c| c.call.funder == "Allmänna arvsfonden").unwrap();
    assert_eq!((arv.call.status, arv.call.decision_dates.len()), (CallStatus::Rolling, 6));
    let tvv = calls.iter().find(|c| c.call.title.starts_with("Hållbar landsbygdsutveckling")).unwrap();
    assert!(tvv.call.text.contains("samverkan mellan offentlig sektor"), "detail page read");

    // second poll: nothing new, conditional GET saves the feeds and pages
    let r2 = poll_sources(&store, &f, &specs, None, now() + chrono::Duration::minutes(1)).await;
    assert!(r2.new.is_empty() && r2.changed.is_empty(), "{r2}");
    assert_eq!(by(&r2, "esf").bytes, 0);
    assert_eq!(by(&r2, "esf").unchanged, 5);
    assert_eq!(by(&r2, "eu-portal").unchanged, 9);
    assert_eq!(by(&r2, "vinnova").unchanged, 5);
    // the broken source is backing off now, the rest is fine
    assert!(by(&r2, "trasig").error.unwrap().starts_with("väntar till"));
    assert_eq!(r2.failed().count(), 1);
    let st = store.source_state("vinnova").await.unwrap().unwrap();
    assert_eq!(st.cursor.as_deref(), Some("2026-01-13"), "since the last success minus two days");

    // only one source, even one backing off
    let r3 = poll_sources(&store, &f, &specs, Some("trasig"), now()).await;
    assert_eq!(r3.sources.len(), 1);
    assert_eq!(store.source_state("trasig").await.unwrap().unwrap().consecutive_failures, 2);
    let r4 = poll_sources(&store, &f, &specs, Some("okänd"), now()).await;
    assert!(r4.sources[0].error.as_deref().unwrap().contains("okänd källa"));
}

#[tokio::test]
async fn eu_paging_stops_at_the_cap() {
    let (addr, _h) = fixture_server::serve_fixtures(fixture("sources")).await.unwrap();
    let mut specs: Vec<SourceSpec> = demo_specs(&format!("http://{addr}")).into_iter().filter(|s| s.name == "eu-portal").collect();
    if let SourceKind::EuPortal { max_pages, .. } = &mut specs[0].kind {
        *max_pages = 1;
    }
    let store = store().await;
    let r = poll_sources(&store, &fetcher(), &specs, None, now()).await;
    assert_eq!((r.sources[0].new, r.sources[0].error.as_deref()), (5, None));
}

// ───────────────────────── what a source owns ─────────────────────────

/// A server that counts its requests and the most it had in flight at once.
#[derive(Default)]
struct Seen {
    hits: std::sync::Mutex<Vec<String>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl Seen {
    fn hits(&self, path: &str) -> usize {
        self.hits.lock().unwrap().iter().filter(|p| *p == path).count()
    }
}

async fn serve_counted(app: Router<()>, seen: Arc<Seen>) -> String {
    let app = app.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        let seen = seen.clone();
        async move {
            seen.hits.lock().unwrap().push(req.uri().path().to_string());
            let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            seen.max_in_flight.fetch_max(now, Ordering::SeqCst);
            let resp = next.run(req).await;
            seen.in_flight.fetch_sub(1, Ordering::SeqCst);
            resp
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

/// Another service on this machine that no source owns.
async fn secret_server() -> (String, Arc<Seen>) {
    let seen = Arc::new(Seen::default());
    let app = Router::new().fallback(|| async { axum::response::Html("<main>INTERNAL-SECRET: db-password=hunter2</main>") });
    (serve_counted(app, seen.clone()).await, seen)
}

fn redirect(to: String) -> Response {
    (StatusCode::FOUND, [(header::LOCATION, to)]).into_response()
}

fn listing_page(links: &[&str], next: Option<&str>) -> String {
    const TITLES: [&str; 4] =
        ["Stöd till idéburna föreningar", "Bidrag för kommunal samverkan", "Medel för forskning om välfärd", "Pengar till landsbygden"];
    let items: String = links
        .iter()
        .zip(TITLES.iter().cycle())
        .map(|(href, title)| format!("<li class='c'><h3><a href='{href}'>{title}</a></h3></li>"))
        .collect();
    let next = next.map(|n| format!("<a class='next' href='{n}'>Nästa</a>")).unwrap_or_default();
    format!("<html><body><ul>{items}</ul>{next}</body></html>")
}

fn html_source(name: &str, url: String, allow_hosts: &[&str]) -> SourceSpec {
    let toml = format!(
        "[[source]]\nname = \"{name}\"\nkind = \"html\"\nurl = \"{url}\"\nfunder = \"Testfinansiär\"\nitem = \"li.c\"\ntitle = \"h3\"\n\
         detail = \"main\"\nnext_page = \"a.next\"\nallow_hosts = {allow_hosts:?}\n"
    );
    psi_radar::sources::spec::load_sources_str(&toml, Path::new("sources.toml")).unwrap().remove(0)
}

async fn stored_texts(store: &psi_radar::store::Store) -> Vec<String> {
    store.list_calls(&Default::default()).await.unwrap().into_iter().map(|c| c.call.text).collect()
}

#[tokio::test]
async fn links_to_another_loopback_port_are_not_followed_and_are_named() {
    let (secret, secret_seen) = secret_server().await;
    let (detail, page2) = (format!("{secret}/secret"), format!("{secret}/page2"));
    let listing = listing_page(&["/d/1", &detail], Some(&page2));
    let app = Router::new()
        .route("/list", get(move || std::future::ready(axum::response::Html(listing.clone()))))
        .route("/d/1", get(|| async { axum::response::Html("<main>Stöd till civilsamhället.</main>") }));
    let base = serve_counted(app, Arc::new(Seen::default())).await;
    let store = store().await;
    let report = poll_sources(&store, &fetcher(), &[html_source("lista", format!("{base}/list"), &[])], None, now()).await;
    let rep = &report.sources[0];
    assert_eq!(rep.error, None, "the listing itself is read");
    assert_eq!(rep.new, 2, "both calls are kept, with their links");
    assert_eq!(secret_seen.hits.lock().unwrap().len(), 0, "no request reached the other port");
    let texts = stored_texts(&store).await;
    assert!(texts.iter().any(|t| t.contains("Stöd till civilsamhället")), "the own detail page is read: {texts:?}");
    assert!(texts.iter().all(|t| !t.contains("INTERNAL-SECRET")), "{texts:?}");
    // Each link not followed is named, with the reason.
    assert_eq!(rep.warnings.len(), 2, "{:?}", rep.warnings);
    assert!(rep.warnings.iter().any(|w| w.contains(&detail) && w.contains("utanför källans webbplats")), "{:?}", rep.warnings);
    assert!(rep.warnings.iter().any(|w| w.contains(&page2)), "{:?}", rep.warnings);
    assert!(report.to_string().contains(&format!("varning: detaljsidan hämtades inte: hämtar inte {detail}")), "{report}");
}

#[tokio::test]
async fn redirects_to_another_loopback_port_are_refused_and_the_error_names_the_chain() {
    let (secret, secret_seen) = secret_server().await;
    let target = format!("{secret}/secret");
    let (t1, t2) = (target.clone(), target.clone());
    let app = Router::new()
        .route("/start", get(|| async { redirect("/hop".into()) }))
        .route("/hop", get(move || std::future::ready(redirect(t1.clone()))))
        .route("/list", get(|| async { axum::response::Html(listing_page(&["/d/away"], None)) }))
        .route("/d/away", get(move || std::future::ready(redirect(t2.clone()))));
    let base = serve_counted(app, Arc::new(Seen::default())).await;
    let store = store().await;
    let specs = [html_source("omdirigerad", format!("{base}/start"), &[]), html_source("detalj", format!("{base}/list"), &[])];
    let report = poll_sources(&store, &fetcher(), &specs, None, now()).await;
    assert_eq!(secret_seen.hits.lock().unwrap().len(), 0, "no request reached the other port");
    // The source that redirects away fails; its error names the URL refused and the redirects before it.
    let err = report.sources[0].error.clone().unwrap();
    assert!(err.contains(&format!("hämtar inte {target}")), "{err}");
    assert!(err.contains(&format!("{base}/start → {base}/hop")), "{err}");
    let row = store.source_state("omdirigerad").await.unwrap().unwrap();
    assert_eq!(row.last_error.as_deref(), Some(err.as_str()), "on the source's row");
    // A detail page that redirects away is left unread and named.
    let rep = &report.sources[1];
    assert_eq!((rep.error.as_deref(), rep.new), (None, 1));
    assert!(rep.warnings.iter().any(|w| w.contains(&target) && w.contains(&format!("{base}/d/away"))), "{:?}", rep.warnings);
}

#[tokio::test]
async fn a_redirect_to_the_metadata_address_is_refused_without_a_connection() {
    let seen = Arc::new(Seen::default());
    let app = Router::new()
        .route("/meta", get(|| async { redirect("http://169.254.169.254/latest/meta-data/iam/".into()) }))
        .route("/meta6", get(|| async { redirect("http://[fd00:ec2::254]/latest/".into()) }));
    let base = serve_counted(app, seen.clone()).await;
    let f = fetcher();
    for path in ["/meta", "/meta6"] {
        let e = f.fetch(&FetchRequest::get(format!("{base}{path}"))).await.unwrap_err();
        assert!(e.is_refusal() && !e.is_transient(), "{e:?}");
        assert!(matches!(e.root(), FetchError::Refused { reason: psi_radar::sources::guard::Refusal::Forbidden(_), .. }), "{e:?}");
        assert!(e.to_string().contains("metadataadress") && e.to_string().contains(&format!("omdirigerad från {base}{path}")), "{e}");
        assert_eq!(seen.hits(path), 1, "refused at once, never retried");
    }
}

#[tokio::test]
async fn a_name_that_resolves_to_a_refused_address_is_refused_by_the_resolver() {
    // A source on a public name may list a host; a name that resolves to a
    // loopback address is still refused, before any connection.
    let seen = Arc::new(Seen::default());
    let base = serve_counted(Router::new().fallback(|| async { "hemligt" }), seen.clone()).await;
    let port = base.rsplit(':').next().unwrap();
    let allowed = vec![psi_radar::sources::guard::AllowedHost::parse(&format!("localhost:{port}")).unwrap()];
    let scope = Arc::new(psi_radar::sources::guard::Scope::new(&reqwest::Url::parse("https://funder.example/").unwrap(), allowed));
    let e = fetcher().fetch(&FetchRequest::get(format!("http://localhost:{port}/x")).within(&scope)).await.unwrap_err();
    assert!(matches!(e.root(), FetchError::Refused { reason: psi_radar::sources::guard::Refusal::Local(_), .. }), "{e:?}");
    assert_eq!(seen.hits.lock().unwrap().len(), 0);
}

#[tokio::test]
async fn allow_hosts_lets_a_source_reach_a_listed_host() {
    let (other, other_seen) = secret_server().await;
    let port = other.rsplit(':').next().unwrap().to_string();
    let detail = format!("http://localhost:{port}/d");
    let listing = listing_page(&[&detail], None);
    let base = serve_counted(
        Router::new().route("/list", get(move || std::future::ready(axum::response::Html(listing.clone())))),
        Arc::new(Seen::default()),
    )
    .await;
    let store = store().await;
    let spec = html_source("med-allow", format!("{base}/list"), &[&format!("localhost:{port}")]);
    let report = poll_sources(&store, &fetcher(), &[spec], None, now()).await;
    assert_eq!((report.sources[0].error.as_deref(), report.sources[0].warnings.len()), (None, 0), "{report}");
    assert_eq!(other_seen.hits("/d"), 1);
    assert!(stored_texts(&store).await.iter().any(|t| t.contains("INTERNAL-SECRET")), "the listed host's page was read");
}

// ───────────────────────── never frozen ─────────────────────────

fn deep_page(n: usize) -> String {
    format!("<html><body><ul><li class='c'><h3><a href='/d'>Djup</a></h3></li></ul>{}", "<div>".repeat(n))
}

#[tokio::test]
async fn the_page_of_200000_nested_divs_is_refused_before_parsing() {
    let page = deep_page(200_000);
    assert!(page.len() > 1_000_000);
    let app = Router::new()
        .route("/deep", get(move || std::future::ready(axum::response::Html(page.clone()))))
        .route("/huge", get(|| async { axum::response::Html("<p>stor</p>".repeat(500_000)) }));
    let base = serve_counted(app, Arc::new(Seen::default())).await;
    let mut cfg = FetchConfig::new("au@psi.example");
    cfg.max_bytes = 20 * 1024 * 1024;
    let f = Fetcher::new(cfg).unwrap();
    let store = store().await;
    let specs = [html_source("djup", format!("{base}/deep"), &[]), html_source("stor", format!("{base}/huge"), &[])];
    let report = tokio::time::timeout(Duration::from_secs(60), poll_sources(&store, &f, &specs, None, now())).await.expect("bounded");
    let err = |i: usize| report.sources[i].error.clone().unwrap_or_default();
    assert!(err(0).contains("nästlad djupare än 512 nivåer"), "{}", err(0));
    assert!(err(1).contains("är större än 4194304 byte"), "refused by its length, not read: {}", err(1));
    let row = store.source_state("djup").await.unwrap().unwrap();
    assert!(row.last_error.unwrap().contains("djupare"), "on the source's row");
}

#[tokio::test]
async fn detail_pages_are_read_concurrently_within_the_per_host_limit_and_tried_once() {
    for per_host in [2, 3] {
        let seen = Arc::new(Seen::default());
        let app = Router::new()
            .route("/list", get(|| async { axum::response::Html(listing_page(&["/slow/1", "/slow/2", "/slow/3", "/hang"], None)) }))
            .route(
                "/slow/{n}",
                get(|axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    tokio::time::sleep(Duration::from_millis(600)).await;
                    axum::response::Html(format!("<main>Utförlig text {n}</main>"))
                }),
            )
            .route(
                "/hang",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(10)).await;
                    axum::response::Html("<main>för sent</main>")
                }),
            );
        let base = serve_counted(app, seen.clone()).await;
        let mut cfg = FetchConfig::new("au@psi.example");
        cfg.total_timeout = Duration::from_secs(2);
        cfg.per_host = per_host;
        cfg.backoff_base = Duration::from_millis(50);
        let store = store().await;
        let report =
            poll_sources(&store, &Fetcher::new(cfg).unwrap(), &[html_source("lista", format!("{base}/list"), &[])], None, now()).await;
        assert_eq!(
            (report.sources[0].error.as_deref(), report.sources[0].new),
            (None, 4),
            "a detail page that fails leaves its call as listed"
        );
        // The slow pages overlap at the server, never more than per_host at a time.
        assert_eq!(seen.max_in_flight.load(Ordering::SeqCst), per_host);
        let texts = stored_texts(&store).await;
        assert!((1..=3).all(|n| texts.iter().any(|t| t.contains(&format!("Utförlig text {n}")))), "{texts:?}");
        // A page that times out is tried once: the next poll tries again.
        assert_eq!(seen.hits("/hang"), 1);
    }
}

#[tokio::test]
async fn a_poll_that_outlasts_its_budget_names_the_sources_still_being_read() {
    let app = Router::new()
        .route(
            "/fast.atom",
            get(|| async {
                ([(header::CONTENT_TYPE, "application/atom+xml")], std::fs::read(fixture("sources/feed/forte.atom")).unwrap())
            }),
        )
        .route(
            "/slow.atom",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "för sent"
            }),
        );
    let base = serve_counted(app, Arc::new(Seen::default())).await;
    let mut cfg = FetchConfig::new("au@psi.example");
    cfg.total_timeout = Duration::from_secs(60);
    cfg.poll_budget = Duration::from_secs(1);
    let store = store().await;
    let specs = [spec("snabb", format!("{base}/fast.atom"), SourceKind::Feed), spec("seg", format!("{base}/slow.atom"), SourceKind::Feed)];
    let report = tokio::time::timeout(Duration::from_secs(20), poll_sources(&store, &Fetcher::new(cfg).unwrap(), &specs, None, now()))
        .await
        .expect("the budget ends the poll");
    assert_eq!((report.sources[0].error.as_deref(), report.sources[0].new), (None, 2));
    let err = report.sources[1].error.clone().unwrap();
    assert!(err.contains("tidsbudget på 1 s") && err.contains("poll_budget_secs"), "{err}");
    assert_eq!(store.source_state("seg").await.unwrap().unwrap().consecutive_failures, 1);
}

#[tokio::test]
async fn large_bodies_wait_for_memory_and_the_wait_is_not_a_timeout() {
    let seen = Arc::new(Seen::default());
    let big = "x".repeat(psi_radar::sources::fetch::SMALL_BODY + 1);
    let app = Router::new().fallback(move || std::future::ready(big.clone()));
    let base = serve_counted(app, seen.clone()).await;
    let mut cfg = FetchConfig::new("au@psi.example");
    cfg.large_body_budget = psi_radar::sources::fetch::SMALL_BODY + 100 * 1024;
    cfg.total_timeout = Duration::from_millis(500);
    cfg.per_host = 4;
    let f = Fetcher::new(cfg).unwrap();
    let Fetched::Body(first) = f.fetch(&FetchRequest::get(format!("{base}/a"))).await.unwrap() else { panic!() };
    // While the first large body holds most of the budget, a second one waits (past the 500 ms timeout) …
    let second = tokio::spawn({
        let f = f.clone();
        async move { f.fetch(&FetchRequest::get(format!("{base}/b"))).await }
    });
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(!second.is_finished(), "no memory for a second large body");
    assert_eq!(seen.hits("/b"), 1, "its request was made, its answer dropped (no connection waits with a full buffer)");
    // … and is made again and read once the first is dropped.
    drop(first);
    let Fetched::Body(b) = tokio::time::timeout(Duration::from_secs(5), second).await.unwrap().unwrap().unwrap() else { panic!() };
    assert_eq!(b.bytes.len(), psi_radar::sources::fetch::SMALL_BODY + 1);
    assert_eq!(seen.hits("/b"), 2);
}
