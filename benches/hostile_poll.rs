//! The daemon against hostile sources (issue 20), the release binary on
//! loopback only:
//!
//! 1. Peak resident memory of `psi-radar serve` while it polls 25 hostile
//!    HTML sources, each its own server on 127.0.0.1: pages at the size cap
//!    (10 MiB, the shipped `max_bytes`), deeply nested pages (200,000 down to
//!    25,000 unclosed `<div>`s), listings with many 1 MB detail pages, slow
//!    servers (a page of 19,500 elements and 3.9 MB, just within the page
//!    budget, dripped over ~12 s) and two that stall. Target: peak ≤ 50 MB.
//! 2. How long `serve` takes to exit on SIGTERM while it reads the page of
//!    200,000 nested `<div>`s. Target: ≤ 10 s.
//!
//! Linux only (reads /proc/PID/status). `cargo bench --bench hostile_poll`;
//! `PSI_RADAR_BIN=/path/to/psi-radar` measures another build of the binary
//! (an older one, for a before/after figure).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use psi_radar::store::Store;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const CAP: usize = 10 * 1024 * 1024;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Peak resident memory (VmHWM) of a process, in kB.
fn peak_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next()).and_then(|v| v.parse().ok())
}

fn item(i: usize, href: &str) -> String {
    format!(
        "<li class=\"call\"><h3><a href=\"{href}\">Utlysning {i}: sociala innovationer i Örebro län</a></h3>\
         <span class=\"deadline\">Sista ansökningsdag 15 mars 2026</span><p>Stöd till idéburna organisationer och kommuner.</p></li>\n"
    )
}

/// A listing of `n` calls linking to `/d/{i}`, padded with more calls to `size` bytes.
fn listing(n: usize, size: usize) -> Bytes {
    let mut s = String::from("<!doctype html><html><body><ul>\n");
    let mut i = 0;
    while i < n || s.len() + 400 < size {
        s.push_str(&item(i, &format!("/d/{i}")));
        i += 1;
    }
    s.push_str("</ul></body></html>");
    Bytes::from(s)
}

fn deep(n: usize) -> Bytes {
    let mut s = String::from("<!doctype html><html><body><ul>");
    s.push_str(&item(0, "/d/0"));
    s.push_str("</ul>");
    s.push_str(&"<div>".repeat(n));
    Bytes::from(s)
}

/// The largest page the budget admits: 3,900 calls (19,500 elements) and a
/// long text, 3.9 MB in all.
fn within_budget() -> Bytes {
    let mut s = String::from("<!doctype html><html><body><ul>\n");
    for i in 0..3_900 {
        s.push_str(&item(i, &format!("/d/{i}")));
    }
    s.push_str("</ul><p>");
    while s.len() < 3_900_000 {
        s.push_str("Lång text om villkoren för utlysningen. ");
    }
    s.push_str("</p></body></html>");
    Bytes::from(s)
}

/// A detail page of about 1 MB: many short paragraphs.
fn detail() -> Bytes {
    let mut s = String::from("<!doctype html><html><body><main>");
    while s.len() < 1_000_000 {
        s.push_str("<p>Den här utlysningen stödjer samverkan mellan offentlig sektor och civilsamhälle.</p>");
    }
    s.push_str("</main></body></html>");
    Bytes::from(s)
}

fn html(body: Bytes) -> axum::response::Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], body).into_response()
}

/// `page` in 64 KiB chunks, one every `every`.
fn drip(page: Bytes, every: Duration) -> axum::response::Response {
    let chunks: Vec<Bytes> = page.chunks(64 * 1024).map(Bytes::copy_from_slice).collect();
    let stream = futures_util::stream::unfold(chunks.into_iter(), move |mut it| async move {
        let next = it.next()?;
        tokio::time::sleep(every).await;
        Some((Ok::<_, std::io::Error>(next), it))
    });
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], Body::from_stream(stream)).into_response()
}

async fn serve_app(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}/")
}

/// The 25 hostile sources: (name, url, extra TOML keys).
async fn hostile() -> Vec<(String, String, &'static str)> {
    let huge = listing(0, CAP - 4096);
    let details = listing(300, 0);
    let one_mb = detail();
    let slow_page = within_budget();
    let mut out = Vec::new();
    for i in 0..6 {
        let page = huge.clone();
        let url = serve_app(Router::new().route("/", get(move || std::future::ready(html(page.clone()))))).await;
        out.push((format!("huge-{i}"), url, ""));
    }
    for (i, n) in [200_000, 100_000, 50_000, 25_000, 25_000].into_iter().enumerate() {
        let page = deep(n);
        let url = serve_app(Router::new().route("/", get(move || std::future::ready(html(page.clone()))))).await;
        out.push((format!("deep-{i}"), url, ""));
    }
    for i in 0..6 {
        let (page, d) = (details.clone(), one_mb.clone());
        let app = Router::new()
            .route("/", get(move || std::future::ready(html(page.clone()))))
            .route("/d/{n}", get(move || std::future::ready(html(d.clone()))));
        out.push((format!("details-{i}"), serve_app(app).await, "detail = \"main\"\n"));
    }
    for i in 0..6 {
        let page = slow_page.clone();
        // 60 chunks of 64 KiB, one every 200 ms: about 12 s.
        let url =
            serve_app(Router::new().route("/", get(move || std::future::ready(drip(page.clone(), Duration::from_millis(200)))))).await;
        out.push((format!("slow-{i}"), url, ""));
    }
    for i in 0..2 {
        // Headers at once, then nothing for two minutes.
        let url =
            serve_app(Router::new().route("/", get(|| std::future::ready(drip(Bytes::from(vec![b' '; 1024]), Duration::from_secs(120))))))
                .await;
        out.push((format!("stall-{i}"), url, ""));
    }
    out
}

fn write_config(dir: &Path, sources: &[(String, String, &str)]) -> PathBuf {
    let mut toml = String::new();
    for (name, url, extra) in sources {
        toml.push_str(&format!(
            "[[source]]\nname = \"{name}\"\nkind = \"html\"\nurl = \"{url}\"\nfunder = \"Fientlig finansiär\"\n\
             item = \"li.call\"\ntitle = \"h3\"\ndeadline = \".deadline\"\nsummary = \"p\"\n{extra}\n"
        ));
    }
    std::fs::write(dir.join("sources.toml"), toml).unwrap();
    std::fs::copy(repo("config/categories.toml"), dir.join("categories.toml")).unwrap();
    let far = "\"0 0 3 1 1 *\"";
    let cfg = format!(
        "[partnership]\nname = \"PSI\"\n[database]\nurl = \"sqlite://{}\"\n\
         [sources]\ncontact = \"psi@example.org\"\ntimeout_secs = 10\nmax_bytes = {CAP}\nper_host = 2\n\
         [schedule]\npoll = {far}\ndigest = {far}\nnotify = {far}\nreplies = {far}\nreminders = {far}\nsend = {far}\n\
         [mail]\nfrom = \"radar@example.org\"\nreply_to = \"svar@example.org\"\nau = [\"au@example.org\"]\noutbox_dir = \"out\"\n",
        dir.join("psi.db").display()
    );
    let p = dir.join("psi-radar.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn bin() -> Command {
    Command::new(std::env::var_os("PSI_RADAR_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_psi-radar").into()))
}

fn psi(cfg: &Path, args: &[&str]) {
    let o = bin().args(args).arg("--config").arg(cfg).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn serve(cfg: &Path) -> Child {
    bin().arg("serve").arg("--config").arg(cfg).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
}

/// SIGTERM, then the time until the process has exited (killed after `limit`).
fn terminate(mut child: Child, limit: Duration) -> Option<Duration> {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let t = Instant::now();
    while t.elapsed() < limit {
        if child.try_wait().unwrap().is_some() {
            return Some(t.elapsed());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// Poll the hostile sources with `serve` (a new installation polls at once);
/// returns (peak kB, poll time, the poll's summary, or why there is none).
fn hostile_poll(rt: &tokio::runtime::Runtime) -> (u64, Duration, String) {
    let sources = rt.block_on(hostile());
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &sources);
    psi(&cfg, &["init", "--members", repo("fixtures/members.csv").to_str().unwrap()]);
    let url = format!("sqlite://{}", dir.path().join("psi.db").display());
    let store = rt.block_on(Store::open(&url)).unwrap();
    let child = serve(&cfg);
    let started = Instant::now();
    let mut peak = 0;
    let mut last_check = Instant::now();
    let summary = loop {
        peak = peak.max(peak_kb(child.id()).unwrap_or(0));
        if last_check.elapsed() > Duration::from_millis(250) {
            last_check = Instant::now();
            let runs = rt.block_on(store.last_job_runs()).unwrap();
            if let Some(r) = runs.into_iter().find(|r| r.job == "poll" && r.finished_at.is_some()) {
                break r.summary;
            }
        }
        if started.elapsed() > Duration::from_secs(3600) {
            break "the poll had not finished after an hour".to_string();
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = started.elapsed();
    peak = peak.max(peak_kb(child.id()).unwrap_or(0));
    terminate(child, Duration::from_secs(300));
    (peak, took, summary)
}

/// SIGTERM one second after the server has sent the 200,000-div page.
fn sigterm_deep(rt: &tokio::runtime::Runtime) -> Option<Duration> {
    let sent = Arc::new(AtomicBool::new(false));
    let page = deep(200_000);
    let flag = sent.clone();
    let url = rt.block_on(serve_app(Router::new().route(
        "/",
        get(move || {
            flag.store(true, Ordering::SeqCst);
            std::future::ready(html(page.clone()))
        }),
    )));
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &[("deep".into(), url, "")]);
    psi(&cfg, &["init"]);
    let child = serve(&cfg);
    let started = Instant::now();
    while !sent.load(Ordering::SeqCst) && started.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_secs(1));
    terminate(child, Duration::from_secs(400))
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (peak, took, summary) = hostile_poll(&rt);
    let mb = peak as f64 / 1024.0;
    println!("hostile_poll: 25 hostile sources, peak resident {mb:.1} MB; the poll took {:.1} s: {summary}", took.as_secs_f64());
    println!("hostile_poll: target peak ≤ 50 MB: {}", if mb <= 50.0 { "met" } else { "MISSED" });
    match sigterm_deep(&rt) {
        Some(t) => println!(
            "hostile_poll: SIGTERM while reading the 200,000-div page: exited after {:.2} s ({})",
            t.as_secs_f64(),
            if t <= Duration::from_secs(10) { "met" } else { "MISSED" }
        ),
        None => println!("hostile_poll: SIGTERM while reading the 200,000-div page: still running after 400 s (MISSED)"),
    }
}
