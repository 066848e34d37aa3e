//! The command line as a user runs it: demo, init, config errors and exit codes.

use std::path::Path;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_psi-radar"))
}

fn repo(rel: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

/// A config directory with the real sources and categories files and a
/// database in `dir`.
fn write_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    std::fs::copy(repo("config/sources.toml"), dir.join("sources.toml")).unwrap();
    std::fs::copy(repo("config/categories.toml"), dir.join("categories.toml")).unwrap();
    let cfg = format!(
        "[partnership]\nname = \"PSI\"\n[database]\nurl = \"sqlite://{}\"\n[sources]\ncontact = \"psi@example.org\"\n\
         [mail]\nfrom = \"radar@example.org\"\nreply_to = \"svar@example.org\"\nau = [\"au@example.org\"]\noutbox_dir = \"out\"\n{extra}",
        dir.join("psi.db").display()
    );
    let p = dir.join("psi-radar.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

#[test]
fn demo_writes_a_digest_naming_real_calls() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo-out");
    let o = bin().args(["demo", "--out"]).arg(&out).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("veckobrev: PSI veckobrev vecka 3"), "{stdout}");
    let files: Vec<_> = std::fs::read_dir(&out).unwrap().flatten().map(|e| e.path()).collect();
    let digest_eml =
        files.iter().find(|p| p.to_string_lossy().contains("digest") && p.extension().unwrap() == "eml").expect("a digest .eml");
    let digest_html =
        files.iter().find(|p| p.to_string_lossy().contains("digest") && p.extension().unwrap() == "html").expect("a digest .html");
    assert!(files.iter().any(|p| p.to_string_lossy().contains("notify")), "member notifications written");
    let html = std::fs::read_to_string(digest_html).unwrap();
    // A real call from the fixtures, its challenge and a matched member.
    assert!(html.contains("Folkhälsa och jämlik hälsa"), "call title in the digest");
    assert!(html.contains("SC1 Hälsa, demografiska förändringar och välbefinnande"));
    assert!(html.contains("Örebro universitet"));
    assert!(html.contains("PSI-00"));
    let eml = std::fs::read_to_string(digest_eml).unwrap();
    assert!(eml.contains("multipart/alternative"));
}

#[test]
fn init_creates_the_database_and_is_idempotent() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let o = bin().arg("init").arg("--config").arg(&cfg).arg("--members").arg(repo("fixtures/members.csv")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(tmp.path().join("psi.db").exists());
    let first = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(first.contains("40"), "{first}");
    // The global option also works after the subcommand, and a second run changes nothing.
    let o = bin().arg("init").arg("--members").arg(repo("fixtures/members.csv")).arg("--config").arg(&cfg).output().unwrap();
    assert!(o.status.success());
    let second = String::from_utf8_lossy(&o.stdout);
    assert!(second.contains("0 nya"), "{second}");
    let o = bin().args(["members", "list", "--json", "--config"]).arg(&cfg).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 40);
}

#[test]
fn config_typo_and_bad_cron_exit_2_naming_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "[goal]\napplications_per_yaer = 5\n");
    let o = bin().arg("init").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("applications_per_yaer") && err.contains("psi-radar.toml:"), "{err}");

    let cfg = write_config(tmp.path(), "[schedule]\ndigest = \"0 7 * * Mon\"\n");
    let o = bin().arg("init").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("schedule.digest"), "{err}");

    let o = bin().args(["init", "--config", "/nonexistent/psi.toml"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn unknown_call_reference_is_bad_input() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let o = bin().args(["calls", "dismiss", "PSI-9999", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin().args(["calls", "watch", "nonsense", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn serve_starts_schedules_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    // The send job every second, so that it runs while the test watches.
    let cfg = write_config(tmp.path(), "[schedule]\nsend = \"* * * * * *\"\n");
    let mut child = bin().arg("serve").arg("--config").arg(&cfg).stderr(std::process::Stdio::piped()).spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(3500));
    assert!(child.try_wait().unwrap().is_none(), "serve keeps running");
    let ok = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("schemalagd"), "jobs were scheduled: {err}");
    let status = bin().arg("status").arg("--config").arg(&cfg).output().unwrap();
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.lines().any(|l| l.trim_start().starts_with("send") && l.contains("ok")), "the scheduler ran the send job: {status}");
}

#[test]
fn json_logs_carry_no_secret() {
    let tmp = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let smtp = format!(
        "transport = \"smtp\"\n[mail.smtp]\nhost = \"127.0.0.1\"\nport = {port}\ntls = \"none\"\nusername = \"radar\"\n\
         password_env = \"PSI_TEST_SMTP_PASSWORD\"\n[schedule]\nsend = \"* * * * * *\"\n"
    );
    let cfg = write_config(tmp.path(), &smtp).to_string_lossy().to_string();
    // The file outbox line of write_config does not apply to SMTP.
    let text = std::fs::read_to_string(&cfg).unwrap().replace("outbox_dir = \"out\"\n", "");
    std::fs::write(&cfg, text).unwrap();
    let child = bin()
        .args(["--log-format", "json", "serve", "--config", &cfg])
        .env("PSI_TEST_SMTP_PASSWORD", "hemligt-l\u{f6}senord-4711")
        .env("RUST_LOG", "debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2500));
    assert!(Command::new("kill").arg("-TERM").arg(child.id().to_string()).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let err = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<serde_json::Value> =
        err.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    assert!(lines.iter().any(|v| v["message"] == "schemalagd" && v["job"] == "send"), "{err}");
    assert!(lines.iter().all(|v| v["level"].is_string() && v["timestamp"].is_string()));
    assert!(!err.contains("hemligt"), "the password never reaches the log");
}

#[test]
fn language_en_makes_the_cli_speak_english() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let text = std::fs::read_to_string(&cfg).unwrap().replace("[partnership]\n", "[partnership]\nlanguage = \"en\"\n");
    std::fs::write(&cfg, text).unwrap();
    let run = |args: &[&str]| {
        let o = bin().args(args).arg("--config").arg(&cfg).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).to_string()
    };
    let init = run(&["init", "--members", repo("fixtures/members.csv").to_str().unwrap()]);
    assert!(init.contains("is valid") && init.contains("40 new"), "{init}");
    let list = run(&["members", "list"]);
    assert!(list.contains("40 members") && list.contains("municipality"), "{list}");
    assert!(!list.contains("medlemmar"), "{list}");
    let calls = run(&["calls"]);
    assert!(calls.contains("No calls."), "{calls}");
    let status = run(&["status"]);
    assert!(status.contains("Jobs (last run, next run):") && status.contains("Open calls:"), "{status}");
    // An error the user made, in English too.
    let o = bin().args(["match", "nonsense", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("error: ") && err.contains("is not a call reference"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn poll_reports_per_source_with_progress_lines() {
    let (addr, _server) = psi_radar::sources::fixture_server::serve_fixtures(repo("fixtures/sources")).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let demo = std::fs::read_to_string(repo("config/demo-sources.toml")).unwrap().replace("{fixtures}", &format!("http://{addr}"));
    std::fs::write(tmp.path().join("sources.toml"), demo).unwrap();
    let o = tokio::task::spawn_blocking(move || bin().arg("poll").arg("--config").arg(&cfg).output().unwrap()).await.unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stdout.contains("totalt: 25 nya"), "{stdout}");
    assert!(stderr.contains("hämtat 1/"), "plain progress lines when not on a terminal: {stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_show_says_why_listings_merged_and_split_takes_one_out() {
    let (addr, _server) = psi_radar::sources::fixture_server::serve_fixtures(repo("fixtures/sources")).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let demo = std::fs::read_to_string(repo("config/demo-sources.toml")).unwrap().replace("{fixtures}", &format!("http://{addr}"));
    std::fs::write(tmp.path().join("sources.toml"), demo).unwrap();
    let run = |args: &[&str]| {
        let (args, cfg): (Vec<String>, _) = (args.iter().map(|s| s.to_string()).collect(), cfg.clone());
        async move { tokio::task::spawn_blocking(move || bin().args(&args).arg("--config").arg(&cfg).output().unwrap()).await.unwrap() }
    };
    let calls = |o: std::process::Output| -> Vec<serde_json::Value> { serde_json::from_slice::<Vec<_>>(&o.stdout).unwrap() };
    assert!(run(&["poll"]).await.status.success());
    let before = calls(run(&["calls", "--json"]).await);
    let merged = before.iter().find(|c| c["title"] == "Social innovation för inkludering 2026").expect("the sv/en call");
    assert_eq!(merged["sources"], serde_json::json!(["vinnova", "vinnova-rss"]));
    let r = merged["ref"].as_str().unwrap().to_string();

    let o = run(&["calls", "show", &r]).await;
    let shown = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(shown.contains("Källposter (2):") && shown.contains("vinnova:2025-04101\n    grundade utlysningen"), "{shown}");
    assert!(shown.contains("vinnova-rss:vinnova-call-2025-04101-en\n    sammanslagen"), "{shown}");
    assert!(shown.contains("samma diarienummer 2025-04101 (som vinnova:2025-04101)"), "{shown}");

    let o = run(&["calls", "split", &r, "--listing", "vinnova-rss:vinnova-call-2025-04101-en"]).await;
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let after = calls(run(&["calls", "--json"]).await);
    assert_eq!(after.len(), before.len() + 1);
    let new =
        after.iter().find(|c| c["sources"] == serde_json::json!(["vinnova-rss"]) && c["title"] == "Social innovation for inclusion 2026");
    let new = new.expect("the English listing is a call of its own")["ref"].as_str().unwrap().to_string();
    assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("är nu en egen utlysning, {new}")));
    let shown = String::from_utf8_lossy(&run(&["calls", "show", &r]).await.stdout).to_string();
    assert!(
        shown.contains("Källposter (1):")
            && shown.contains(&format!("Utbrutna källposter:\n  vinnova-rss:vinnova-call-2025-04101-en → {new}")),
        "{shown}"
    );
    let shown = String::from_utf8_lossy(&run(&["calls", "show", &new]).await.stdout).to_string();
    assert!(shown.contains(&format!("utbruten ur {r}")), "{shown}");

    // a later poll keeps them apart
    assert!(run(&["poll"]).await.status.success());
    assert_eq!(calls(run(&["calls", "--json"]).await).len(), after.len());
    // what cannot be split is the user's mistake: exit 2, saying why
    for (listing, says) in [("vinnova-rss:vinnova-call-2025-04101-en", "har ingen källpost"), ("utan-kolon", "KÄLLA:NYCKEL")] {
        let o = run(&["calls", "split", &r, "--listing", listing]).await;
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{err}");
        assert!(err.contains(says), "{err}");
    }
}
