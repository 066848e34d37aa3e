//! Benchmark for the poll: 30 local sources (each its own server on
//! 127.0.0.1, each answering after 1 s) must take about as long as the
//! slowest, not the sum; a second, unchanged poll must fetch (almost) no
//! bytes thanks to conditional GET. Plain `Instant`, no framework:
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
                 <guid>f{i}-{j}</guid><description>Sista ansökningsdag: {} mars 2026</description></item>",
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

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
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
