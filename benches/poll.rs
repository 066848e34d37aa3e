//! Benchmark for the poll: 30 local sources (each its own server on
//! 127.0.0.1, each answering after 1 s) must take about as long as the
//! slowest, not the sum; a second, unchanged poll must fetch (almost) no
//! bytes thanks to conditional GET. Then the whole poll job (fetch, store,
//! rules, classify, match) over one local feed of 2,000 new calls, and
//! again when every one of them changed. Plain `Instant`, no framework:
//! `cargo bench --bench poll`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use chrono::Utc;
use psi_radar::jobs::poll::poll_sources;
use psi_radar::sources::fetch::{FetchConfig, Fetcher};
use psi_radar::sources::spec::{SourceKind, SourceSpec};
use std::time::{Duration, Instant};

const SOURCES: usize = 30;
const DELAY: Duration = Duration::from_secs(1);

fn feed(i: usize) -> String {
    let items: String = (0..3)
        .map(|j| {
            format!(
                "<item><title>Utlysning {i}-{j}: sociala innovationer i Örebro län</title><link>https://funder{i}.example/utlysning/{j}</link>\
                 <guid>f{i}-{j}</guid><description>Sista ansökningsdag: {} mars 2027</description></item>",
                j + 10
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Finansiär {i}</title><language>sv</language>{items}</channel></rss>"
    )
}

async fn server(i: usize) -> String {
    let body = feed(i);
    let etag = format!("\"feed-{i}\"");
    let app = Router::new().route(
        "/rss.xml",
        get(move |headers: HeaderMap| {
            let (body, etag) = (body.clone(), etag.clone());
            async move {
                tokio::time::sleep(DELAY).await;
                if headers.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()) == Some(etag.as_str()) {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                ([(header::ETAG, etag), (header::CONTENT_TYPE, "application/rss+xml".to_string())], body).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/rss.xml")
}

const JOB_ITEMS: usize = 2000;

/// A feed of `JOB_ITEMS` calls, every title and text varying with `round`.
fn job_feed(round: usize) -> String {
    let items: String = (0..JOB_ITEMS)
        .map(|i| {
            format!(
                "<item><title>Utlysning {i} ({round}): sociala innovationer för äldre i glesbygd</title>\
                 <link>https://funder.example/utlysning/{i}</link><guid>job-{i}</guid>\
                 <description>Stöd till idéburna organisationer och kommuner som utvecklar välfärd, omgång {round}. \
                 Sista ansökningsdag: {} mars 2027</description></item>",
                i % 28 + 1
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>J</title><language>sv</language>{items}</channel></rss>"
    )
}

/// The poll job over a feed of 2,000 new calls, then over the same calls all changed.
async fn job_poll() {
    use std::sync::{Arc, Mutex};
    let round = Arc::new(Mutex::new(0usize));
    let r = round.clone();
    let app = Router::new().route(
        "/rss.xml",
        get(move || {
            let body = job_feed(*r.lock().unwrap());
            async move { ([(header::CONTENT_TYPE, "application/rss+xml")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/rss.xml", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let src = format!(
        "[partnership]\nname = \"PSI\"\n[database]\nurl = \"sqlite::memory:\"\n[sources]\ncontact = \"psi@example.org\"\n\
         [mail]\nfrom = \"radar@psi.example.org\"\nreply_to = \"svar@psi.example.org\"\nau = [\"au@example.org\"]\n\
         transport = \"file\"\noutbox_dir = \"{}\"\n",
        dir.path().display()
    );
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config/bench.toml");
    let cfg = psi_radar::config::Config::from_str(&src, &root).unwrap();
    let spec = SourceSpec {
        name: "jobb".into(),
        url,
        funder: "Finansiären".into(),
        language: None,
        enabled: true,
        programme: None,
        tz: chrono_tz::Europe::Stockholm,
        allow_hosts: Vec::new(),
        kind: SourceKind::Feed,
    };
    let store = psi_radar::store::Store::memory().await.unwrap();
    let ctx = psi_radar::jobs::Ctx::with_sources(cfg, store, vec![spec]).unwrap();
    let themes = psi_radar::jobs::theme_ids(&ctx.model);
    let members_file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/members.csv");
    let members = psi_radar::members::read_members_file(&members_file, &themes).unwrap();
    ctx.store.upsert_members(&members, Utc::now()).await.unwrap();

    let t = Instant::now();
    let first = psi_radar::jobs::poll::run_poll(&ctx, None, Utc::now()).await.unwrap();
    let t1 = t.elapsed();
    *round.lock().unwrap() = 1;
    let t = Instant::now();
    let second = psi_radar::jobs::poll::run_poll(&ctx, None, Utc::now()).await.unwrap();
    let t2 = t.elapsed();
    assert_eq!((first.poll.new.len(), first.classified), (JOB_ITEMS, JOB_ITEMS));
    assert_eq!((second.poll.changed.len(), second.classified), (JOB_ITEMS, JOB_ITEMS));
    println!("poll-jobbet, {JOB_ITEMS} utlysningar från en källa: nya {t1:.2?} ({} medlemsträffar), alla ändrade {t2:.2?}", first.matches);
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(job_poll());
    rt.block_on(async {
        let mut specs = Vec::new();
        for i in 0..SOURCES {
            specs.push(SourceSpec {
                name: format!("kalla-{i:02}"),
                url: server(i).await,
                funder: format!("Finansiär {i}"),
                language: None,
                enabled: true,
                programme: None,
                tz: chrono_tz::Europe::Stockholm,
                allow_hosts: Vec::new(),
                kind: SourceKind::Feed,
            });
        }
        let store = psi_radar::store::Store::memory().await.unwrap();
        let fetcher = Fetcher::new(FetchConfig::new("bench@psi.example")).unwrap();

        let t = Instant::now();
        let first = poll_sources(&store, &fetcher, &specs, None, Utc::now()).await;
        let t1 = t.elapsed();
        let t = Instant::now();
        let second = poll_sources(&store, &fetcher, &specs, None, Utc::now()).await;
        let t2 = t.elapsed();

        assert_eq!(first.failed().count(), 0, "{first}");
        assert_eq!(first.new.len(), SOURCES * 3);
        assert!(second.new.is_empty() && second.changed.is_empty());
        let serial = DELAY * SOURCES as u32;
        println!("poll/30 källor à {DELAY:?}: första {t1:.2?} ({} byte, {} nya), andra {t2:.2?} ({} byte, {} oförändrade); i följd skulle det ta {serial:?}",
            first.bytes(), first.new.len(), second.bytes(), second.sources.iter().map(|s| s.unchanged).sum::<u32>());
        let ok = t1 < DELAY * 3 && t2 < DELAY * 3 && second.bytes() == 0;
        println!("{}", if ok { "OK: tiden följer den långsammaste källan, inte summan" } else { "FEL: för långsamt eller hämtade om" });
        if !ok {
            std::process::exit(1);
        }
    });
}
