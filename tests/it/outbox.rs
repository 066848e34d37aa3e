//! Send once (issue 20), on loopback and bounded in time: several senders on
//! one database — two `serve`, `digest` and `outbox send` — deliver every
//! queued message exactly once; a second `serve` waits while the first runs
//! and takes over when it stops, at once after a kill -9, and stops on
//! SIGTERM while it waits.

use crate::daemon::{SlowSmtp, bin, daemon_config, pending, queue, receipts, sigterm, slow_smtp, wait_exit};
use psi_radar::jobs::lease::SERVE_LEASE;
use psi_radar::jobs::schedule::{Daemon, JobKind, RunOutcome, run_job};
use psi_radar::store::Store;
use psi_radar::store::outbox::OutboxStatus;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// Run the sender every second, and the jobs that queue mail (and start the
/// sender after them) every second or two, so that every path to the outbox
/// overlaps every other.
fn busy_schedule(cfg_path: &Path) {
    let far = "\"0 0 3 1 1 *\"";
    let text = std::fs::read_to_string(cfg_path)
        .unwrap()
        .replace(&format!("send = {far}"), "send = \"* * * * * *\"")
        .replace(&format!("replies = {far}"), "replies = \"* * * * * *\"")
        .replace(&format!("digest = {far}"), "digest = \"*/2 * * * * *\"");
    std::fs::write(cfg_path, text).unwrap();
}

/// `psi-radar ARGS --config CFG` in the background, stderr into `log`.
fn spawn_logged(cfg: &Path, args: &[&str], log: &Path) -> Child {
    let err = std::fs::File::create(log).unwrap();
    bin().args(args).arg("--config").arg(cfg).stdout(Stdio::piped()).stderr(err).spawn().unwrap()
}

/// The PID holding the serve lease, if any.
async fn lease_pid(store: &Store) -> Option<u32> {
    store.lease_holder(SERVE_LEASE).await.unwrap().map(|(h, _)| h.pid)
}

/// Wait up to `limit` for the serve lease to be held by `pid`; how long it took.
async fn wait_for_lease(store: &Store, pid: u32, limit: Duration) -> Duration {
    let started = Instant::now();
    while lease_pid(store).await != Some(pid) {
        assert!(started.elapsed() < limit, "process {pid} did not take the lease within {limit:?} (held by {:?})", lease_pid(store).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    started.elapsed()
}

/// The first number on the "Utskick: N skickade" line a sending command prints.
fn sent_count(stdout: &[u8]) -> usize {
    let text = String::from_utf8_lossy(stdout);
    let line = text.lines().find(|l| l.starts_with("Utskick:")).unwrap_or_else(|| panic!("no sending line: {text}"));
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_serves_a_digest_and_outbox_send_deliver_each_message_exactly_once() {
    const QUEUED: usize = 200;
    let SlowSmtp { sink, cfg_path, cfg, store, _tmp, .. } = slow_smtp(Duration::from_millis(20)).await;
    busy_schedule(&cfg_path);
    let mut ids = queue(&store, &cfg, "w49", QUEUED).await;
    let logs = _tmp.path();
    let started = Instant::now();

    let mut first = spawn_logged(&cfg_path, &["serve"], &logs.join("serve1.log"));
    wait_for_lease(&store, first.id(), Duration::from_secs(10)).await;
    let digest = spawn_logged(&cfg_path, &["digest"], &logs.join("digest.log"));
    let mut second = spawn_logged(&cfg_path, &["serve"], &logs.join("serve2.log"));
    let send = spawn_logged(&cfg_path, &["outbox", "send"], &logs.join("send.log"));

    // Stop the first daemon mid-way: the second takes over at once.
    while sink.message_ids().len() < QUEUED / 3 && started.elapsed() < Duration::from_secs(30) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(second.try_wait().unwrap().is_none(), "the second serve waits, it does not exit");
    assert_eq!(lease_pid(&store).await, Some(first.id()), "and does not run beside the first");
    sigterm(&first);
    let (status, _) = wait_exit(&mut first, Duration::from_secs(10));
    assert!(status.success(), "{status:?}: {}", std::fs::read_to_string(logs.join("serve1.log")).unwrap());
    let took_over = wait_for_lease(&store, second.id(), Duration::from_secs(5)).await;

    let digest = digest.wait_with_output().unwrap();
    let send = send.wait_with_output().unwrap();
    assert!(digest.status.success(), "{}", std::fs::read_to_string(logs.join("digest.log")).unwrap());
    assert!(send.status.success(), "{}", std::fs::read_to_string(logs.join("send.log")).unwrap());
    while pending(&store).await > 0 && started.elapsed() < Duration::from_secs(50) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigterm(&second);
    let (status, _) = wait_exit(&mut second, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");

    let rows = store.outbox_list(false).await.unwrap();
    assert!(
        rows.iter().all(|r| r.status == OutboxStatus::Sent),
        "{:?}",
        rows.iter().filter(|r| r.status != OutboxStatus::Sent).collect::<Vec<_>>()
    );
    ids.extend(rows.iter().filter(|r| r.kind == "digest").map(|r| r.message_id.clone()));
    assert_eq!(ids.len(), QUEUED + 1, "the 200 notifications and the week's one digest");
    let got = receipts(&sink);
    let missing = ids.iter().filter(|id| !got.contains_key(*id)).count();
    let duplicates: usize = got.values().map(|n| n - 1).sum();
    let by_cli = (sent_count(&digest.stdout), sent_count(&send.stdout));
    println!(
        "send once: {} queued, {} arrived, {missing} missing, {duplicates} duplicates; `digest` sent {}, `outbox send` {}, \
         the daemons the rest; second serve took over {:.2} s after the first stopped; {:.1} s in all",
        ids.len(),
        got.len(),
        by_cli.0,
        by_cli.1,
        took_over.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    assert_eq!((missing, duplicates), (0, 0), "every message exactly once: {got:?}");
    assert_eq!(got.len(), ids.len(), "nothing but what was queued");
    assert!(by_cli.0 + by_cli.1 > 0, "the commands sent beside the daemon, so the senders did overlap");
    // Scheduled runs start at their tick, never before, and no tick runs
    // twice: neither by the same daemon nor as the other's catch-up. (Only
    // the daemons run `replies`; `digest` also ran by hand.)
    let repeated: Vec<(String, i64)> =
        sqlx::query_as("SELECT started_at, COUNT(*) FROM job_runs WHERE job = 'replies' GROUP BY started_at HAVING COUNT(*) > 1")
            .fetch_all(&store.pool)
            .await
            .unwrap();
    assert!(repeated.is_empty(), "{repeated:?}");
    let waited = std::fs::read_to_string(logs.join("serve2.log")).unwrap();
    assert_eq!(waited.matches("använder redan databasen").count(), 1, "the waiting serve says so once: {waited}");
    assert!(waited.contains(&format!("PID {}", first.id())), "and names the holder: {waited}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_serve_stops_on_sigterm_and_a_restart_after_kill_9_starts_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = daemon_config(tmp.path(), None);
    let store = Store::open(&format!("sqlite://{}", tmp.path().join("psi.db").display())).await.unwrap();
    let mut holder = spawn_logged(&cfg_path, &["serve"], &tmp.path().join("a.log"));
    wait_for_lease(&store, holder.id(), Duration::from_secs(10)).await;

    let status = bin().arg("status").arg("--config").arg(&cfg_path).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains(&format!("Tjänsten (serve) körs på {} (PID {})", psi_radar::instance::this_host(), holder.id())), "{status}");

    let mut waiting = spawn_logged(&cfg_path, &["serve"], &tmp.path().join("b.log"));
    let started = Instant::now();
    while !std::fs::read_to_string(tmp.path().join("b.log")).unwrap().contains("använder redan databasen") {
        assert!(started.elapsed() < Duration::from_secs(10), "the second serve never said it waits");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sigterm(&waiting);
    let (status, took) = wait_exit(&mut waiting, Duration::from_secs(10));
    assert!(status.success(), "{status:?}");
    println!("SIGTERM while waiting for the lease: exit 0 after {:.2} s", took.as_secs_f64());
    assert_eq!(lease_pid(&store).await, Some(holder.id()), "the holder runs on");

    // kill -9: the lease (30 s) is not released, but its PID is gone.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let mut next = spawn_logged(&cfg_path, &["serve"], &tmp.path().join("c.log"));
    let took = wait_for_lease(&store, next.id(), Duration::from_secs(5)).await;
    println!("restart after kill -9 took the lease after {:.2} s", took.as_secs_f64());
    sigterm(&next);
    assert!(wait_exit(&mut next, Duration::from_secs(10)).0.success());
    assert_eq!(lease_pid(&store).await, None, "a clean stop lets go of the lease");
    let status = bin().arg("status").arg("--config").arg(&cfg_path).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("Tjänsten (serve) körs inte."));
}

#[tokio::test]
async fn a_job_that_queues_mail_leaves_the_sending_to_the_sender() {
    let tmp = tempfile::tempdir().unwrap();
    let ctx = crate::helpers::ctx(tmp.path()).await;
    let now = chrono::Utc::now();
    run_job(&ctx, JobKind::Digest, now).await.unwrap();
    let rows = ctx.store.outbox_list(false).await.unwrap();
    assert_eq!(rows.len(), 2, "one digest per AU address");
    assert!(rows.iter().all(|r| r.status == OutboxStatus::Pending), "the digest job only queues: {rows:?}");
    // The daemon starts the sender right after it, through the claims.
    let daemon = Daemon::new(ctx);
    assert!(matches!(daemon.run(JobKind::Digest, now).await, RunOutcome::Done));
    assert!(daemon.ctx.store.outbox_list(false).await.unwrap().iter().all(|r| r.status == OutboxStatus::Sent));
    let runs = daemon.ctx.store.last_job_runs().await.unwrap();
    assert!(runs.iter().any(|r| r.job == "send" && r.ok == Some(true)), "{runs:?}");
}

#[tokio::test]
async fn outbox_lists_as_before_and_outbox_send_sends_what_is_due() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg_path = daemon_config(tmp.path(), None);
    let cfg = psi_radar::config::Config::load(&cfg_path).unwrap();
    let store = Store::open(&cfg.database_url).await.unwrap();
    let ids = queue(&store, &cfg, "w50", 3).await;
    let run = |args: &[&str]| {
        let o = bin().args(args).arg("--config").arg(&cfg_path).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let listed: serde_json::Value = serde_json::from_str(&run(&["outbox", "--pending", "--json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    assert!(listed.iter().all(|r| r["status"] == "pending"), "{listed:?}");
    assert_eq!(listed.iter().map(|r| r["message_id"].as_str().unwrap()).collect::<Vec<_>>(), ids);
    assert!(run(&["outbox", "--pending"]).lines().all(|l| l.contains("pending")));
    assert!(run(&["outbox", "send"]).starts_with("Utskick: 3 skickade, 0 ej skickade"));
    assert_eq!(run(&["outbox", "--pending"]).trim(), "Utkorgen är tom.");
    assert_eq!(run(&["outbox"]).lines().filter(|l| l.contains(" sent ")).count(), 3);
    assert!(run(&["outbox", "send"]).starts_with("Utskick: 0 skickade"), "nothing twice");
    assert_eq!(std::fs::read_dir(tmp.path().join("out")).unwrap().count(), 6, "three .eml and three .html");
}
