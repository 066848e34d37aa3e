//! Memory of the daemon: resident set size of `psi-radar serve` (the release
//! binary) idle after start, and idle after it has polled the demo sources
//! (served from the bundled fixtures on 127.0.0.1), plus the peak. Target:
//! ≤ 25 MB idle. Linux only (reads /proc/PID/status).
//!
//! `cargo bench --bench serve_rss`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use psi_radar::store::Store;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// Resident memory of a process, in kB.
struct Mem {
    rss: u64,
    peak: u64,
    anon: u64,
    file: u64,
}

impl std::fmt::Display for Mem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mb = |kb: u64| kb as f64 / 1024.0;
        write!(
            f,
            "VmRSS {:.1} MB (heap and stacks {:.1}, code and embedded data {:.1}; peak {:.1})",
            mb(self.rss),
            mb(self.anon),
            mb(self.file),
            mb(self.peak)
        )
    }
}

fn memory(pid: u32) -> Mem {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/PID/status (Linux)");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Mem { rss: field("VmRSS:"), peak: field("VmHWM:"), anon: field("RssAnon:"), file: field("RssFile:") }
}

fn write_config(dir: &Path, fixtures: &str, poll: &str) -> PathBuf {
    let sources = std::fs::read_to_string(repo("config/demo-sources.toml")).unwrap().replace("{fixtures}", fixtures);
    std::fs::write(dir.join("sources.toml"), sources).unwrap();
    std::fs::copy(repo("config/categories.toml"), dir.join("categories.toml")).unwrap();
    let far = "\"0 0 3 1 1 *\"";
    let cfg = format!(
        "[partnership]\nname = \"PSI\"\n[database]\nurl = \"sqlite://{}\"\n[sources]\ncontact = \"psi@example.org\"\n\
         [schedule]\npoll = {poll}\ndigest = {far}\nnotify = {far}\nreplies = {far}\nreminders = {far}\nsend = {far}\n\
         [mail]\nfrom = \"radar@example.org\"\nreply_to = \"svar@example.org\"\nau = [\"au@example.org\"]\noutbox_dir = \"out\"\n",
        dir.join("psi.db").display()
    );
    let p = dir.join("psi-radar.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

fn psi(cfg: &Path, args: &[&str]) {
    let o = Command::new(env!("CARGO_BIN_EXE_psi-radar")).args(args).arg("--config").arg(cfg).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
}

fn serve(cfg: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_psi-radar"))
        .arg("serve")
        .arg("--config")
        .arg(cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn stop(mut child: Child) {
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let _ = child.wait();
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let (addr, _server) = rt.block_on(psi_radar::sources::fixture_server::serve_fixtures(repo("fixtures/sources"))).unwrap();
    let fixtures = format!("http://{addr}");
    let mb = |kb: u64| kb as f64 / 1024.0;

    // 1. Idle after start: the sources were polled by the CLI just before, so
    //    serve has nothing to catch up on.
    let a = tempfile::tempdir().unwrap();
    let cfg = write_config(a.path(), &fixtures, "\"0 0 3 1 1 *\"");
    psi(&cfg, &["init", "--members", repo("fixtures/members.csv").to_str().unwrap()]);
    psi(&cfg, &["poll"]);
    let child = serve(&cfg);
    std::thread::sleep(Duration::from_secs(3));
    let idle = memory(child.id());
    stop(child);

    // 2. After a poll: a new database, so serve's catch-up polls the demo
    //    sources at start; measured once the poll is recorded and 2 s idle.
    let b = tempfile::tempdir().unwrap();
    let cfg = write_config(b.path(), &fixtures, "\"0 0 3 1 1 *\"");
    psi(&cfg, &["init", "--members", repo("fixtures/members.csv").to_str().unwrap()]);
    let url = format!("sqlite://{}", b.path().join("psi.db").display());
    let child = serve(&cfg);
    let started = Instant::now();
    let mut polled = None;
    while started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(100));
        let runs = rt.block_on(async { Store::open(&url).await.unwrap().last_job_runs().await.unwrap() });
        if let Some(r) = runs.into_iter().find(|r| r.job == "poll" && r.finished_at.is_some()) {
            polled = Some((started.elapsed(), r.summary));
            break;
        }
    }
    let (took, summary) = polled.expect("serve polled the demo sources within 60 s");
    std::thread::sleep(Duration::from_secs(2));
    let after_poll = memory(child.id());
    stop(child);

    println!("serve_rss: idle after start  {idle}");
    println!("serve_rss: idle after a poll {after_poll}; the poll took {:.2} s: {summary}", took.as_secs_f64());
    let worst = mb(idle.rss.max(after_poll.rss));
    println!("serve_rss: target ≤ 25 MB idle: {}", if worst <= 25.0 { "met" } else { "MISSED" });
}
