//! Tests against real servers from outside cargo, installed by `.ci/run`:
//! aiosmtpd (SMTP) and headless Chromium (renders the digest to PNG).

use crate::helpers;
use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Kills the server when the test ends, however it ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn python() -> PathBuf {
    std::env::var_os("PSI_TEST_PYTHON").map(PathBuf::from).unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_for_port(port: u16) {
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("server on port {port} did not start");
}

fn maildir_messages(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("new"))
        .map(|rd| rd.flatten().filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
#[ignore = "needs aiosmtpd (installed and run by .ci/run)"]
async fn digest_and_notifications_through_a_real_smtp_server() {
    let py = python();
    assert!(py.exists(), "aiosmtpd's python not found at {} (run .ci/run)", py.display());
    let tmp = tempfile::tempdir().unwrap();
    let maildir = tmp.path().join("Maildir");
    let port = free_port();
    let _server = Server(
        Command::new(&py)
            .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}"), "-c", "aiosmtpd.handlers.Mailbox"])
            .arg(&maildir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start aiosmtpd"),
    );
    wait_for_port(port).await;

    let ctx = helpers::ctx_with(helpers::config(port, tmp.path())).await;
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-23T06:00:00Z").unwrap().with_timezone(&Utc);
    let text = "Stöd till arbetsintegrerande sociala företag och insatser för personer långt från arbetsmarknaden, i samverkan mellan idéburna organisationer och kommuner.";
    let r = helpers::add_call(&ctx, "Arbetsintegrerande sociala företag <b>&</b> inkludering", text, "2026-12-10", now).await;

    psi_radar::jobs::digest::run_digest(&ctx, None, now, false).await.unwrap();
    psi_radar::jobs::notify::run_notify(&ctx, now, false).await.unwrap();
    let sent = psi_radar::jobs::send::run_send(&ctx, now).await.unwrap();
    assert_eq!(sent.failed + sent.retrying, 0, "{sent:?}");
    // Running everything again sends nothing twice.
    psi_radar::jobs::digest::run_digest(&ctx, None, now + Duration::hours(1), false).await.unwrap();
    psi_radar::jobs::notify::run_notify(&ctx, now + Duration::hours(1), false).await.unwrap();
    assert_eq!(psi_radar::jobs::send::run_send(&ctx, now + Duration::hours(1)).await.unwrap().sent, 0);

    let got = maildir_messages(&maildir);
    assert_eq!(got.len(), sent.sent, "every sent message arrived once");
    let digests: Vec<_> = got.iter().filter(|m| m.contains("PSI veckobrev vecka 48")).collect();
    assert_eq!(digests.len(), 2, "one digest per AU address");
    assert!(digests.iter().any(|m| m.contains("To: au1@example.org")) && digests.iter().any(|m| m.contains("To: au2@example.org")));
    let mut shown_as_text = 0;
    for m in &got {
        assert!(m.contains("Content-Type: text/plain"), "plain part");
        assert!(m.contains("Content-Type: text/html"), "html part");
        assert!(m.contains("Message-ID: <psi-radar."), "our Message-ID");
        // The title is text: shown as written in the plain part, escaped in the HTML part.
        let parsed = mail_parser::MessageParser::default().parse(m.as_bytes()).unwrap();
        let html = parsed.body_html(0).unwrap_or_default();
        assert!(!html.contains("<b>&</b>"), "web text is escaped in HTML and never raw");
        if parsed.body_text(0).unwrap_or_default().contains("<b>&</b>") {
            assert!(html.contains("&lt;b&gt;&amp;&lt;"), "{html}");
            shown_as_text += 1;
        }
    }
    assert!(shown_as_text > 0, "the title reached the mail");
    let notes: Vec<_> = got.iter().filter(|m| m.contains(&format!("[{r}]"))).collect();
    assert!(!notes.is_empty(), "member notifications carry the reference in the subject");
    assert!(notes.iter().all(|m| m.contains("List-Unsubscribe: <mailto:svar@psi.example.org?subject=STOPP>")));
    let ids: std::collections::HashSet<_> =
        got.iter().filter_map(|m| m.lines().find(|l| l.starts_with("Message-ID:")).map(str::to_string)).collect();
    assert_eq!(ids.len(), got.len(), "no duplicate Message-IDs");
}

#[tokio::test]
#[ignore = "needs chromium (installed by .ci/run)"]
async fn digest_html_renders_in_headless_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("demo-out");
    let now = DateTime::parse_from_rfc3339(psi_radar::demo::DEMO_NOW).unwrap().with_timezone(&Utc);
    psi_radar::demo::run_demo(&out, now).await.unwrap();
    let html = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().contains("digest") && p.extension().unwrap() == "html")
        .expect("digest html");
    let png = tmp.path().join("digest.png");
    let profile = tempfile::tempdir().unwrap();
    let status = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--window-size=420,1600",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("chromium (run .ci/run)");
    assert!(status.success());
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[1..4], b"PNG");
    assert!(bytes.len() > 20_000, "a rendered page, not a blank one ({} bytes)", bytes.len());
    if let Some(keep) = std::env::var_os("PSI_SCREENSHOT_OUT") {
        std::fs::copy(&png, keep).unwrap();
    }
}
