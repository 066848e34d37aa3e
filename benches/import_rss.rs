//! Memory of the commands that read large input: peak resident set size of
//! the release binary while `members import` reads 100,000 members (one
//! contact each, generated here) into a database that already holds them
//! once (the second import updates every row), and while `mail ingest`
//! reads a 20 MB reply (a short answer with a 20 MB attachment, and a
//! 20 MB plain-text body). Targets: ≤ 60 MB for the import; a large reply
//! is held or parsed in bounded memory. Linux only (reads /proc/PID/status).
//!
//! `cargo bench --bench import_rss`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const MEMBERS: usize = 100_000;
const REPLY_BYTES: usize = 20 * 1024 * 1024;

fn repo(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
}

fn write_config(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("sources.toml"), "# no sources\n").unwrap();
    std::fs::copy(repo("config/categories.toml"), dir.join("categories.toml")).unwrap();
    let cfg = "[partnership]\nname = \"PSI\"\n[database]\nurl = \"sqlite://psi.db\"\n[sources]\ncontact = \"psi@example.org\"\n\
               [mail]\nfrom = \"radar@example.org\"\nreply_to = \"svar@example.org\"\nau = [\"au@example.org\"]\noutbox_dir = \"out\"\n";
    let p = dir.join("psi-radar.toml");
    std::fs::write(&p, cfg).unwrap();
    p
}

/// A members file of `n` members with one contact each, shaped like the bundled one.
fn members_csv(path: &Path, n: usize) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(w, "id,name,org_type,municipality,contact_name,email,categories,keywords,can_lead,languages,contact_role,primary,notes")
        .unwrap();
    let orgs = ["civil_society", "municipality", "region", "university", "business", "other"];
    let places = ["Örebro", "Karlskoga", "Kumla", "Hallsberg", "Lindesberg", "Askersund", "Nora"];
    for i in 0..n {
        writeln!(
            w,
            "m{i:06},Förening nummer {i} i {place},{org},{place},Anna Andersson {i},anna.{i}@forening{i}.example.org,\
             SC6;SC1;work_integration,arbetsintegrering;arbetsträning;funktionsnedsättning,{lead},sv;en,verksamhetsutvecklare,ja,\
             tidigare ESF-erfarenhet; arbetsträning och praktik",
            place = places[i % places.len()],
            org = orgs[i % orgs.len()],
            lead = if i % 3 == 0 { "ja" } else { "nej" },
        )
        .unwrap();
    }
    w.flush().unwrap();
}

/// A reply from member contact 0 answering PSI-0001, padded to `size` bytes
/// by a base64 attachment (`attachment`) or by plain text in the body.
fn reply_eml(path: &Path, size: usize, attachment: bool) {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let head = format!(
        "From: Anna Andersson <anna.0@forening0.example.org>\r\nTo: svar@example.org\r\n\
         Subject: SV: [PSI-0001] Ny utlysning\r\nMessage-ID: <big.{attachment}@forening0.example.org>\r\nMIME-Version: 1.0\r\n"
    );
    w.write_all(head.as_bytes()).unwrap();
    let mut written = head.len();
    if attachment {
        let start = "Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\
                     Ja, partner\r\n\r\n--b1\r\nContent-Type: application/pdf; name=\"plan.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\n";
        w.write_all(start.as_bytes()).unwrap();
        written += start.len();
        let line = "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5ejAx\r\n";
        while written + line.len() + 8 < size {
            w.write_all(line.as_bytes()).unwrap();
            written += line.len();
        }
        w.write_all(b"--b1--\r\n").unwrap();
    } else {
        let start = "Content-Type: text/plain; charset=utf-8\r\n\r\nJa, partner\r\n\r\n";
        w.write_all(start.as_bytes()).unwrap();
        written += start.len();
        let line = "> Tidigare text i tråden, citerad rad efter rad, som ingen läser men alla skickar med.\r\n";
        while written + line.len() < size {
            w.write_all(line.as_bytes()).unwrap();
            written += line.len();
        }
    }
    w.flush().unwrap();
}

/// Peak resident memory (VmHWM) of `cmd`, sampled every 2 ms until it exits, in MB.
fn peak_rss(mut cmd: Command, stdin: Option<&Path>) -> (f64, Duration, String) {
    if let Some(p) = stdin {
        cmd.stdin(std::fs::File::open(p).unwrap());
    }
    let started = Instant::now();
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&status_path)
            && let Some(kb) = s.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.split_whitespace().next()?.parse().ok())
        {
            peak_kb = peak_kb.max(kb);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = started.elapsed();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{:?}: {}", cmd.get_args().collect::<Vec<_>>(), String::from_utf8_lossy(&out.stderr));
    (peak_kb as f64 / 1024.0, took, String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The binary, run from the config's directory (the database path in the
/// config is relative).
fn psi(cfg: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_psi-radar"));
    c.args(args).arg("--config").arg(cfg).current_dir(cfg.parent().unwrap());
    c
}

fn main() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path());
    let csv = tmp.path().join("members.csv");
    members_csv(&csv, MEMBERS);
    let csv_mb = std::fs::metadata(&csv).unwrap().len() as f64 / 1_048_576.0;
    let o = psi(&cfg, &["init"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));

    let csv_arg = csv.to_str().unwrap();
    let (first, t1, out1) = peak_rss(psi(&cfg, &["members", "import", csv_arg]), None);
    let (second, t2, out2) = peak_rss(psi(&cfg, &["members", "import", csv_arg]), None);
    println!(
        "import_rss: members import, {MEMBERS} members ({csv_mb:.1} MB CSV), new: peak {first:.1} MB in {:.1} s — {out1}",
        t1.as_secs_f64()
    );
    println!("import_rss: members import, the same again (updates): peak {second:.1} MB in {:.1} s — {out2}", t2.as_secs_f64());
    let worst = first.max(second);
    println!("import_rss: target ≤ 60 MB for the import: {}", if worst <= 60.0 { "met" } else { "MISSED" });

    let o = psi(&cfg, &["calls", "add", "--title", "Social innovation i Örebro län", "--url", "https://example.org/c/1"]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (label, attachment) in [("a 20 MB attachment", true), ("a 20 MB plain-text body", false)] {
        let eml = tmp.path().join("reply.eml");
        reply_eml(&eml, REPLY_BYTES, attachment);
        let (peak, took, out) = peak_rss(psi(&cfg, &["mail", "ingest"]), Some(&eml));
        let first_line = out.lines().next().unwrap_or("");
        println!("import_rss: mail ingest, a reply with {label}: peak {peak:.1} MB in {:.1} s — {first_line}", took.as_secs_f64());
    }
}
