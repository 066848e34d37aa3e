//! No input makes the program panic: every parser over untrusted bytes is fed
//! the fixtures with random mutations (byte flips, truncation, splicing) and
//! plain noise. A deterministic generator keeps failures reproducible.

use crate::helpers::fixture;
use psi_radar::sources::{dates, eu_portal, feed, html, manual, vinnova};
use std::path::Path;

/// xorshift64*: small, deterministic, good enough to mutate bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut v = seed.to_vec();
    match rng.below(5) {
        0 => v.truncate(rng.below(v.len() + 1)),
        1 => {
            for _ in 0..=rng.below(16) {
                if !v.is_empty() {
                    let i = rng.below(v.len());
                    v[i] = rng.next() as u8;
                }
            }
        }
        2 => {
            let (a, b) = (rng.below(v.len() + 1), rng.below(v.len() + 1));
            let (a, b) = (a.min(b), a.max(b));
            let chunk = v[a..b].to_vec();
            let at = rng.below(v.len() + 1);
            v.splice(at..at, chunk);
        }
        3 => {
            let at = rng.below(v.len() + 1);
            let junk: Vec<u8> = (0..rng.below(64)).map(|_| rng.next() as u8).collect();
            v.splice(at..at, junk);
        }
        _ => v = (0..rng.below(512)).map(|_| rng.next() as u8).collect(),
    }
    v
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixture(rel)).unwrap()
}

fn seeds(dir: &str, ext: &str) -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = std::fs::read_dir(fixture(dir))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    v.sort();
    v
}

const ROUNDS: usize = 300;

#[test]
fn source_adapters_never_panic() {
    let mut rng = Rng(0x5eed_0001);
    let tz = chrono_tz::Europe::Stockholm;
    let sel = html::HtmlSelectors {
        item: "article".into(),
        title: "h2, h3".into(),
        link: None,
        deadline: Some(".deadline".into()),
        summary: Some("p".into()),
        next_page: Some("a.next".into()),
        detail: Some("main".into()),
    };
    let eu = read("sources/eu/search.json");
    let vin = read("sources/vinnova/utlysningar.json");
    let rounds = read("sources/vinnova/ansokningsomgangar.json");
    let rss = read("sources/feed/vinnova-rss.xml");
    let atom = read("sources/feed/forte.atom");
    let page = read("sources/html/esf-utlysningar.html");
    for _ in 0..ROUNDS {
        let _ = eu_portal::parse_search(&mutate(&mut rng, &eu), &[]);
        let r = mutate(&mut rng, &rounds);
        let _ = vinnova::parse(&mutate(&mut rng, &vin), Some(&r), "https://www.vinnova.se/{id}");
        let _ = feed::parse(&mutate(&mut rng, &rss), tz);
        let _ = feed::parse(&mutate(&mut rng, &atom), tz);
        let p = mutate(&mut rng, &page);
        let _ = html::parse_listing(&p, "https://www.esf.se/utlysningar/", &sel, tz);
        let _ = html::parse_detail(&p, "main");
        let text = String::from_utf8_lossy(&mutate(&mut rng, "den 3 februari 2026 kl. 14.00".as_bytes())).to_string();
        let _ = dates::parse_date_text(&text);
        let _ = manual::parse_deadline(&text);
    }
}

#[test]
fn reply_parser_and_members_file_never_panic() {
    let mut rng = Rng(0x5eed_0002);
    let mails = seeds("mail", "eml");
    let members = read("members.csv");
    let themes = psi_radar::members::default_themes();
    for i in 0..ROUNDS * 2 {
        let m = mutate(&mut rng, &mails[i % mails.len()]);
        let r = psi_radar::mail::reply::parse(&m);
        assert!(!r.auto_reply || r.answers.is_empty(), "auto-replies carry no answers");
        assert!(r.understood || r.answers.is_empty(), "not understood means no answers");
        let _ = psi_radar::members::parse_members("members.csv", &mutate(&mut rng, &members), &themes);
    }
}

#[test]
fn config_files_never_panic() {
    let mut rng = Rng(0x5eed_0003);
    let cfg = read("../config/psi-radar.toml");
    let sources = read("../config/sources.toml");
    let categories = read("../config/categories.toml");
    for _ in 0..ROUNDS {
        let c = String::from_utf8_lossy(&mutate(&mut rng, &cfg)).to_string();
        let _ = psi_radar::config::Config::from_str(&c, Path::new("config/psi-radar.toml"));
        let s = String::from_utf8_lossy(&mutate(&mut rng, &sources)).to_string();
        let _ = psi_radar::sources::spec::load_sources_str(&s, Path::new("config/sources.toml"));
        let k = String::from_utf8_lossy(&mutate(&mut rng, &categories)).to_string();
        let _ = psi_radar::classify::Model::from_lexicon_str(&k, "config/categories.toml");
    }
}
