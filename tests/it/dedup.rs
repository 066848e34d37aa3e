//! De-duplication under hostile volume, through a whole poll over loopback:
//! a feed of 10,000 items with distinct GUIDs and near-identical titles, and
//! 2,000 EU topics with different identifiers and identical titles, keep
//! every call. The time each poll took is printed (`--nocapture`); speed is
//! measured, never asserted.

use crate::helpers::{spec, store};
use axum::Router;
use axum::http::header;
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use psi_radar::jobs::poll::poll_sources;
use psi_radar::sources::fetch::{FetchConfig, Fetcher};
use psi_radar::sources::spec::SourceKind;
use std::time::Instant;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 15, 8, 0, 0).unwrap()
}

fn fetcher() -> Fetcher {
    Fetcher::new(FetchConfig::new("test@psi.example")).unwrap()
}

/// Serve `body` at `path` (GET and POST) on 127.0.0.1; the URL.
async fn serve(path: &'static str, content_type: &'static str, body: String) -> String {
    let handler = move || {
        let body = body.clone();
        async move { ([(header::CONTENT_TYPE, content_type)], body) }
    };
    let app = Router::new().route(path, get(handler.clone()).post(handler));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}{path}")
}

/// Titles one word or number apart, as one funder words a family of calls.
fn near_identical_title(i: usize) -> String {
    const GROUPS: [&str; 6] = ["unga", "äldre", "barn", "kvinnor", "män", "nyanlända"];
    match i % 4 {
        0 => format!("Mötesplatser för {} i glesbygd", GROUPS[(i / 4) % GROUPS.len()]),
        1 => format!("Lokala insatser mot utanförskap – omgång {}", i / 4 + 1),
        2 => ["Social innovation for inclusive labour markets", "Social innovation for inclusive housing markets"][(i / 4) % 2].to_string(),
        _ => "Stöd till lokala föreningar 2026".to_string(),
    }
}

fn big_feed(n: usize) -> String {
    let items: String = (0..n)
        .map(|i| {
            // half the items link to the funder's one listing page, half to a page of their own
            let link = if i % 2 == 0 { "https://funder.example/utlysningar".to_string() } else { format!("https://funder.example/u/{i}") };
            format!(
                "<item><title>{}</title><link>{link}</link><guid isPermaLink=\"false\">item-{i}</guid>\
                 <description>Sista ansökningsdag: 17 mars 2026</description></item>",
                near_identical_title(i)
            )
        })
        .collect();
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss version=\"2.0\"><channel><title>Finansiär</title><language>sv</language>{items}</channel></rss>"
    )
}

fn eu_topics(n: usize) -> String {
    let results: Vec<serde_json::Value> = (0..n)
        .map(|i| {
            serde_json::json!({
                "metadata": {
                    "identifier": [format!("HORIZON-CL2-2026-01-TRANSFO-{i:04}")],
                    "title": ["Social innovation for inclusive labour markets in the green and digital transition"],
                    "status": ["31094502"],
                    "deadlineDate": ["2026-09-17T00:00:00.000+0200"],
                }
            })
        })
        .collect();
    serde_json::json!({"totalResults": n, "pageNumber": 1, "pageSize": n, "results": results}).to_string()
}

#[tokio::test]
async fn a_feed_of_ten_thousand_near_duplicates_keeps_every_call() {
    const N: usize = 10_000;
    let url = serve("/rss.xml", "application/rss+xml", big_feed(N)).await;
    let store = store().await;
    let specs = [spec("stor-feed", url, SourceKind::Feed)];
    let t = Instant::now();
    let r = poll_sources(&store, &fetcher(), &specs, None, now()).await;
    eprintln!("poll of a {N}-item feed: {:.2?}", t.elapsed());
    assert_eq!(r.sources[0].error, None);
    assert_eq!(r.new.len(), N, "every item is a call of its own");
    assert_eq!(store.list_calls(&Default::default()).await.unwrap().len(), N);
    // the next poll finds every item again as itself
    let t = Instant::now();
    let r2 = poll_sources(&store, &fetcher(), &specs, None, now() + chrono::Duration::minutes(5)).await;
    eprintln!("second poll of the {N}-item feed: {:.2?}", t.elapsed());
    assert_eq!((r2.new.len(), r2.sources[0].unchanged as usize), (0, N));
}

#[tokio::test]
async fn two_thousand_eu_topics_with_one_title_stay_two_thousand_calls() {
    const N: usize = 2_000;
    let url = serve("/search", "application/json", eu_topics(N)).await;
    let store = store().await;
    let kind = SourceKind::EuPortal { query: String::new(), identifier_prefixes: Vec::new(), page_size: N as u64, max_pages: 1 };
    let specs = [spec("eu", url, kind)];
    let t = Instant::now();
    let r = poll_sources(&store, &fetcher(), &specs, None, now()).await;
    eprintln!("poll of {N} EU topics: {:.2?}", t.elapsed());
    assert_eq!(r.sources[0].error, None);
    assert_eq!(r.new.len(), N);
    assert_eq!(store.list_calls(&Default::default()).await.unwrap().len(), N);
}
