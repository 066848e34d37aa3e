//! The command line as a user runs it: demo, init, config errors and exit codes.

use crate::helpers::init_db;
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
    init_db(&cfg);
    let o = bin().args(["calls", "dismiss", "PSI-9999", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stderr).contains("PSI-9999"), "{}", String::from_utf8_lossy(&o.stderr));
    let o = bin().args(["calls", "watch", "nonsense", "--config"]).arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn serve_starts_schedules_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().unwrap();
    // The send job every second, so that it runs while the test watches.
    let cfg = write_config(tmp.path(), "[schedule]\nsend = \"* * * * * *\"\n");
    init_db(&cfg);
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
    // The database first, by a config without the password to read.
    init_db(&write_config(tmp.path(), ""));
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
    init_db(&cfg);
    let o = tokio::task::spawn_blocking(move || bin().arg("poll").arg("--config").arg(&cfg).output().unwrap()).await.unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stdout.contains("totalt: 25 nya"), "{stdout}");
    assert!(stderr.contains("hämtat 1/"), "plain progress lines when not on a terminal: {stderr}");
}

/// A config whose database, outbox, sources and categories are all relative paths.
fn write_relative_config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let p = write_config(dir, extra);
    let text = std::fs::read_to_string(&p).unwrap().replace(&format!("sqlite://{}", dir.join("psi.db").display()), "sqlite://psi.db");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn relative_paths_follow_the_config_file_not_the_working_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("conf");
    let elsewhere = tmp.path().join("elsewhere");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    let cfg = write_relative_config(&conf, "");
    let o = bin()
        .current_dir(&elsewhere)
        .arg("init")
        .arg("--config")
        .arg(&cfg)
        .arg("--members")
        .arg(repo("fixtures/members.csv"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(conf.join("psi.db").exists(), "the database is beside the config");
    assert!(!elsewhere.join("psi.db").exists(), "not in the working directory");
    // From a third directory, with a relative --config, the same database answers.
    let o = bin().current_dir(tmp.path()).args(["members", "list", "--json", "--config", "conf/psi-radar.toml"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 40);
    // The file outbox too: a digest written from elsewhere lands in conf/out.
    let o = bin().current_dir(&elsewhere).arg("digest").arg("--config").arg(&cfg).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::read_dir(conf.join("out")).unwrap().count() > 0, "the digest went to the outbox beside the config");
    assert!(!elsewhere.join("out").exists());
}

#[test]
fn a_missing_database_is_refused_and_init_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    for args in [&["status"][..], &["calls"], &["members", "list"], &["serve"], &["digest"], &["mail", "ingest", "-"]] {
        let o = bin().args(args).arg("--config").arg(&cfg).stdin(std::process::Stdio::null()).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("psi.db finns inte") && err.contains("kör psi-radar init --config"), "{args:?}: {err}");
        assert!(!tmp.path().join("psi.db").exists(), "{args:?} created no database");
    }
    // In English when the config says so.
    let text = std::fs::read_to_string(&cfg).unwrap().replace("[partnership]\n", "[partnership]\nlanguage = \"en\"\n");
    std::fs::write(&cfg, text).unwrap();
    let o = bin().arg("status").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.starts_with("error: the database") && err.contains("run psi-radar init --config"), "{err}");
    // init creates it; then the same command works.
    let o = bin().arg("init").arg("--config").arg(&cfg).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(bin().arg("status").arg("--config").arg(&cfg).output().unwrap().status.success());
}

#[test]
fn a_database_left_in_the_working_directory_is_pointed_out_not_replaced() {
    let tmp = tempfile::tempdir().unwrap();
    let conf = tmp.path().join("conf");
    std::fs::create_dir_all(&conf).unwrap();
    write_relative_config(&conf, "");
    // Where earlier versions put it: relative to the working directory.
    std::fs::write(tmp.path().join("psi.db"), b"").unwrap();
    for args in [&["status"][..], &["init"]] {
        let o = bin().current_dir(tmp.path()).args(args).args(["--config", "conf/psi-radar.toml"]).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("arbetskatalogen (psi.db)") && err.contains("[database] url"), "{args:?}: {err}");
        assert!(!conf.join("psi.db").exists(), "{args:?}: no second, empty database");
    }
}

/// `init` with `extra` appended to the config: its exit code and stderr.
fn init_error(dir: &Path, extra: &str) -> (Option<i32>, String) {
    let cfg = write_config(dir, extra);
    let o = bin().arg("init").arg("--config").arg(&cfg).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).to_string())
}

#[test]
fn config_errors_name_file_line_and_key() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let text = std::fs::read_to_string(&cfg).unwrap();
    // A database URL that is not SQLite's.
    std::fs::write(&cfg, text.replace("url = \"sqlite://", "url = \"sqlit://")).unwrap();
    let o = bin().arg("init").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("psi-radar.toml:4: database.url: «sqlit://") && err.contains("sqlite://"), "{err}");
    assert!(!tmp.path().join("psi.db").exists());

    // A wrong type names its key, not `-`.
    let (code, err) = init_error(tmp.path(), "[matching]\ndigest_members = \"fem\"\n");
    assert_eq!(code, Some(2));
    assert!(err.contains("psi-radar.toml:13: matching.digest_members: fel typ"), "{err}");
    let (_, err) = init_error(tmp.path(), "[schedule]\npoll = 6\n");
    assert!(err.contains("psi-radar.toml:13: schedule.poll: fel typ"), "{err}");
    // A value that is wrong for its key, on its own line.
    let cfg = write_config(tmp.path(), "");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let bad = text.replace("contact = \"psi@example.org\"\n", "contact = \"psi@example.org\"\ntimeout_secs = 0\n");
    std::fs::write(&cfg, bad).unwrap();
    let o = bin().arg("init").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("psi-radar.toml:7: sources.timeout_secs: måste vara större än 0"), "{err}");
}

#[test]
fn an_unknown_source_kind_is_named_with_the_valid_ones() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let sources = "# sources\n[[source]]\nname = \"sjunde\"\nkind = \"standnig\"\nurl = \"https://example.org/\"\nfunder = \"Test\"\n\
                   title = \"Stående\"\ndecision_dates = [\"2026-03-01\"]\n";
    std::fs::write(tmp.path().join("sources.toml"), sources).unwrap();
    let o = bin().arg("init").arg("--config").arg(&cfg).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("sources.toml:4: kind: okänd sort «standnig» (giltiga: eu_portal, vinnova, feed, html, standing)"), "{err}");
    assert!(!err.contains("decision_dates"), "{err}");
    // A key at fault is named on its own line, and a wrong type by its key.
    std::fs::write(tmp.path().join("sources.toml"), sources.replace("standnig", "feed")).unwrap();
    let err = String::from_utf8_lossy(&bin().arg("init").arg("--config").arg(&cfg).output().unwrap().stderr).to_string();
    assert!(err.contains("sources.toml:8: decision_dates: gäller bara kind = \"standing\""), "{err}");
    std::fs::write(
        tmp.path().join("sources.toml"),
        "[[source]]\nname = \"a\"\nkind = \"feed\"\nurl = \"https://example.org/\"\nfunder = \"T\"\nenabled = \"ja\"\n",
    )
    .unwrap();
    let err = String::from_utf8_lossy(&bin().arg("init").arg("--config").arg(&cfg).output().unwrap().stderr).to_string();
    assert!(err.contains("sources.toml:6: source.enabled: "), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn calls_show_says_why_listings_merged_and_split_takes_one_out() {
    let (addr, _server) = psi_radar::sources::fixture_server::serve_fixtures(repo("fixtures/sources")).await.unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let demo = std::fs::read_to_string(repo("config/demo-sources.toml")).unwrap().replace("{fixtures}", &format!("http://{addr}"));
    std::fs::write(tmp.path().join("sources.toml"), demo).unwrap();
    init_db(&cfg);
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

/// An invented call page, as `calls import` takes it (text only, no deadline field).
const SYDSVERIGE_PAGE: &str = "Utlysningen gäller projekt som ska bedrivas i Sydsverige (Skåne och Blekinge).\n\
Vem kan söka?\nKommuner.\nMedfinansiering: Projektet ska ha minst 20 procent medfinansiering.\n\
Stänger 22 juni 2023";

#[tokio::test(flavor = "multi_thread")]
async fn imported_calls_show_the_rules_read_from_their_text() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    init_db(&cfg);
    let line = serde_json::json!({"title": "Kompetens i Sydsverige", "url": "https://example.org/sydsverige",
        "funder": "Tillväxtverket", "text": SYDSVERIGE_PAGE});
    std::fs::write(tmp.path().join("calls.jsonl"), format!("{line}\n")).unwrap();
    let run = |args: &[&str]| bin().args(args).arg("--config").arg(&cfg).output().unwrap();
    let o = run(&["calls", "import", tmp.path().join("calls.jsonl").to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let calls: Vec<serde_json::Value> = serde_json::from_slice(&run(&["calls", "--json"]).stdout).unwrap();
    let c = &calls[0];
    assert_eq!(c["deadlines"], serde_json::json!(["2023-06-22T23:59:00+02:00"]), "{c:#}");
    assert_eq!(c["status"], "closed");
    let e = &c["eligibility"];
    assert_eq!(e["applicants"], serde_json::json!(["kommun"]), "{e:#}");
    assert_eq!(e["lead"], serde_json::json!(["kommun"]), "{e:#}");
    assert_eq!(e["open_to_home"], false, "{e:#}");
    assert_eq!(e["cofinancing_pct"], 20, "{e:#}");
    for key in ["areas", "amount", "min_partners", "required_types"] {
        assert!(e.get(key).is_some(), "{key} missing: {e:#}");
    }
    assert!(c.get("opens").is_some());

    let shown = String::from_utf8_lossy(&run(&["calls", "show", c["ref"].as_str().unwrap()]).stdout).to_string();
    assert!(shown.contains("Sista dag: 22 juni 2023"), "{shown}");
    assert!(shown.contains("  Vem kan söka: kommuner\n"), "{shown}");
    assert!(shown.contains("  Örebro län: nej\n"), "{shown}");
    assert!(shown.contains("  Medfinansiering: 20 %\n"), "{shown}");
    assert!(shown.contains("«Stänger 22 juni 2023»"), "{shown}");
}

#[test]
fn notify_dry_run_says_how_many_to_whom_and_queues_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    let run = |args: &[&str]| {
        let o = bin().arg("--config").arg(&cfg).args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let members = repo("fixtures/members.csv");
    run(&["init", "--members", members.to_str().unwrap()]);
    let text = tmp.path().join("text.txt");
    std::fs::write(&text, "Stöd till arbetsintegration och inkludering på arbetsmarknaden för personer långt från arbetsmarknaden. Idéburna organisationer och kommuner kan söka.").unwrap();
    let deadline = (chrono::Utc::now() + chrono::Duration::days(40)).date_naive().to_string();
    run(&["calls", "add", "--title", "Arbetsintegration i Örebro län", "--url", "https://example.org/a", "--deadline", &deadline]
        .into_iter()
        .chain(["--text-file", text.to_str().unwrap()])
        .collect::<Vec<_>>());

    let dry = run(&["notify", "--dry-run"]);
    assert!(dry.contains("Provkörning: inget läggs i utkorgen och inget skickas."), "{dry}");
    let head = dry.lines().find(|l| l.starts_with("Skulle köa ")).unwrap_or_else(|| panic!("{dry}"));
    let n: usize = head.split_whitespace().nth(2).unwrap().parse().unwrap();
    assert!(n > 0, "{dry}");
    assert_eq!(dry.lines().filter(|l| l.starts_with("  ") && l.ends_with(": 1 utlysning")).count(), n, "one line per message: {dry}");
    assert_eq!(run(&["outbox"]).trim(), "Utkorgen är tom.", "nothing queued");

    let real = run(&["notify"]);
    assert!(real.contains(&format!("Köade {n} meddelanden:")) || (n == 1 && real.contains("Köade 1 meddelande:")), "{real}");
    assert_eq!(run(&["outbox"]).lines().filter(|l| l.contains(" notify ")).count(), n, "the real run queued what the dry run named");
    let digest = run(&["digest", "--dry-run"]);
    assert!(digest.contains("Skulle köa 1 meddelande:\n  AU <au@example.org>"), "{digest}");
}

#[test]
fn the_help_is_swedish_throughout() {
    for args in [&["--help"][..], &["calls", "--help"], &["apps", "report", "--help"], &["notify", "-h"]] {
        let o = bin().args(args).output().unwrap();
        assert!(o.status.success(), "{args:?}");
        let help = String::from_utf8(o.stdout).unwrap();
        assert!(help.contains("Visa hjälpen") && help.contains("Användning: psi-radar"), "{args:?}: {help}");
        for english in
            ["Print help", "Print version", "Usage:", "Options:", "Commands:", "[default:", "[possible values:", "Print this message"]
        {
            assert!(!help.contains(english), "{args:?}: «{english}» in\n{help}");
        }
    }
    let top = String::from_utf8(bin().arg("--help").output().unwrap().stdout).unwrap();
    assert!(top.contains("Visa versionen") && top.contains("Kommandon:") && top.contains("[standard: config/psi-radar.toml]"), "{top}");
    let v = bin().arg("-V").output().unwrap();
    assert!(v.status.success() && String::from_utf8_lossy(&v.stdout).starts_with("psi-radar "));
}

#[test]
fn a_missing_config_file_is_said_in_words_with_what_to_do() {
    let o = bin().args(["--config", "/nonexistent/psi-radar.toml", "status"]).output().unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8(o.stderr).unwrap();
    assert!(err.contains("/nonexistent/psi-radar.toml: konfigurationsfilen finns inte; ange konfigurationsfilen med --config"), "{err}");
    assert!(!err.contains("os error") && !err.contains("-:") && !err.contains("No such file"), "{err}");
}

#[test]
fn a_closed_pipe_ends_quietly_and_logs_have_no_colour_codes() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "");
    init_db(&cfg);
    let o = bin().arg("--config").arg(&cfg).args(["members", "import"]).arg(repo("fixtures/members.csv")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    // `psi-radar members list | head -1` once head has gone: the reading end is closed before the first write.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let o = bin().arg("--config").arg(&cfg).args(["members", "list"]).stdout(writer).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(o.stderr.is_empty(), "nothing on stderr: {}", String::from_utf8_lossy(&o.stderr));

    // stderr to a file or pipe, not a terminal: plain text.
    let o = bin().arg("--config").arg(&cfg).args(["members", "list"]).env("RUST_LOG", "debug").output().unwrap();
    assert!(o.status.success());
    let log = String::from_utf8_lossy(&o.stderr);
    assert!(log.contains("DEBUG"), "a debug log to look at: {log}");
    assert!(!log.contains('\u{1b}'), "no ANSI colour codes: {log}");
}
