//! Benchmark of the matching stage: rank members and propose consortia for
//! 10,000 synthetic calls against 1,000 synthetic members on one core.
//! Target: ≤ 1 s in release. Plain `Instant`, no harness.
//!
//! `cargo bench --bench matching` (sizes: PSI_BENCH_CALLS, PSI_BENCH_MEMBERS;
//! PSI_BENCH_LIMIT = matches with reasons per call, default 25, 0 = all;
//! PSI_BENCH_DENSE=1 for a worst case where every call mentions most
//! keywords of most members; PSI_BENCH_PROPOSE=0 to time matching alone).

use psi_radar::domain::{Call, CategoryId, CategoryScore, Contact, Email, Lang, Member, MemberId, OrgType};
use psi_radar::matching::{MemberIndex, match_members_indexed, propose_indexed};
use std::time::Instant;

/// A small deterministic generator (xorshift64*).
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
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const STEMS: &[&str] = &[
    "arbetsintegr",
    "arbetsmarknad",
    "arbetsträning",
    "rehabiliter",
    "inkluder",
    "integration",
    "nyanländ",
    "folkhälsa",
    "hälsa",
    "välfärd",
    "tillit",
    "civilsamhäll",
    "förening",
    "ideell",
    "kooperativ",
    "socialt",
    "social",
    "innovation",
    "entreprenör",
    "företag",
    "landsbygd",
    "lokal",
    "utveckling",
    "service",
    "energi",
    "solenergi",
    "energieffektivis",
    "klimat",
    "miljö",
    "cirkulär",
    "återbruk",
    "avfall",
    "transport",
    "kollektivtrafik",
    "mobilitet",
    "digital",
    "delaktighet",
    "demokrati",
    "folkbildning",
    "barn",
    "unga",
    "skola",
    "fritid",
    "idrott",
    "kultur",
    "turism",
    "krisberedskap",
    "säkerhet",
    "trygghet",
    "brottsoffer",
    "våld",
    "beroende",
    "hemlöshet",
    "fattigdom",
    "äldre",
    "ensamhet",
    "funktionsnedsätt",
    "tillgänglig",
    "upphandling",
    "investering",
    "forskning",
    "utvärdering",
    "följeforskning",
    "skog",
    "lantbruk",
    "livsmedel",
    "bioekonomi",
    "vatten",
    "boende",
    "bostad",
    "jämställdhet",
    "mångfald",
    "språk",
    "etablering",
];
const SUFFIXES: &[&str] = &["", "", "en", "ar", "er", "na", "ande", "ing", "ering", "s", "et", "erna", "ade"];
const FILLER: &[&str] = &[
    "och",
    "för",
    "att",
    "med",
    "som",
    "till",
    "av",
    "i",
    "på",
    "ska",
    "kan",
    "projekt",
    "insatser",
    "stöd",
    "syfte",
    "målgrupp",
    "region",
    "län",
    "samverkan",
    "aktörer",
    "ansökan",
    "budget",
    "år",
    "under",
    "inom",
    "genom",
    "nya",
    "metoder",
    "långsiktig",
    "effekt",
];

fn categories() -> Vec<CategoryId> {
    let mut v: Vec<CategoryId> = (1..=7).map(CategoryId::challenge).collect();
    v.extend(psi_radar::members::default_themes());
    v
}

/// Word stems by topic: each category gets a share of the real stems above
/// and made-up ones, so that calls and members about one topic share words
/// the way real ones do. With `dense`, every topic uses all real stems (a
/// worst case where nearly every keyword of every member occurs in every call).
fn topics(n_cats: usize, dense: bool, rng: &mut Rng) -> Vec<Vec<String>> {
    const SYL: &[&str] = &[
        "ar", "be", "ta", "in", "te", "gra", "so", "ci", "hal", "sa", "ene", "mil", "jö", "lan", "dom", "för", "ut", "väx", "sam", "ver",
        "kan", "bo", "stad", "skap",
    ];
    (0..n_cats)
        .map(|c| {
            if dense {
                return STEMS.iter().map(|s| s.to_string()).collect();
            }
            let mut v: Vec<String> = STEMS.iter().skip(c % 4).step_by(4).take(12).map(|s| s.to_string()).collect();
            while v.len() < 40 {
                let n = 3 + rng.below(3);
                v.push((0..n).map(|_| *rng.pick(SYL)).collect());
            }
            v
        })
        .collect()
}

fn word(topic: &[String], rng: &mut Rng) -> String {
    format!("{}{}", rng.pick(topic), rng.pick(SUFFIXES))
}

fn members(n: usize, topics: &[Vec<String>], rng: &mut Rng) -> Vec<Member> {
    let cats = categories();
    let munis =
        ["Örebro", "Karlskoga", "Kumla", "Lindesberg", "Hallsberg", "Nora", "Askersund", "Laxå", "Degerfors", "Lekeberg", "Hällefors"];
    (0..n)
        .filter_map(|i| {
            let org = OrgType::ALL[rng.below(OrgType::ALL.len())];
            let n_cats = 2 + rng.below(3);
            let mut mine: Vec<usize> = (0..n_cats).map(|_| rng.below(cats.len())).collect();
            mine.sort();
            mine.dedup();
            let n_kw = 3 + rng.below(4);
            let keywords = (0..n_kw)
                .map(|_| {
                    let t = &topics[*rng.pick(&mine)];
                    if rng.below(4) == 0 { format!("{} {}", word(t, rng), word(t, rng)) } else { word(t, rng) }
                })
                .collect();
            Some(Member {
                id: MemberId::parse(&format!("m{i:04}")).ok()?,
                name: format!("Medlem {i}"),
                org_type: org,
                municipality: rng.pick(&munis).to_string(),
                contacts: vec![Contact {
                    name: format!("Kontakt {i}"),
                    email: Email::parse(&format!("k{i}@m{i}.example.org")).ok()?,
                    role: String::new(),
                    primary: true,
                    unsubscribed: false,
                }],
                categories: mine.iter().map(|c| cats[*c].clone()).collect(),
                keywords,
                can_lead: rng.below(3) > 0,
                languages: vec![Lang::Sv],
                notes: if rng.below(4) == 0 { "tidigare ESF-projekt".into() } else { String::new() },
            })
        })
        .collect()
}

fn calls(n: usize, topics: &[Vec<String>], rng: &mut Rng) -> Vec<(Call, Vec<CategoryScore>)> {
    let cats = categories();
    let funders = ["Svenska ESF-rådet", "Vinnova", "Allmänna arvsfonden", "Tillväxtverket", "Forte", "Horizon Europe", "Energimyndigheten"];
    (0..n)
        .map(|_| {
            let n_cats = 1 + rng.below(3);
            let mine: Vec<usize> = (0..n_cats).map(|_| rng.below(cats.len())).collect();
            let text_words = 120 + rng.below(80);
            let mut text = String::with_capacity(text_words * 10);
            for i in 0..text_words {
                if i > 0 {
                    text.push(' ');
                }
                match rng.below(20) {
                    0..=3 => text.push_str(&word(&topics[mine[0]], rng)),
                    4..=5 => text.push_str(&word(&topics[*rng.pick(&mine)], rng)),
                    6 => text.push_str(&word(&topics[rng.below(topics.len())], rng)),
                    _ => text.push_str(FILLER[rng.below(FILLER.len())]),
                }
                if rng.below(12) == 0 {
                    text.push('.');
                }
            }
            let title = (0..6).map(|_| word(&topics[mine[0]], rng)).collect::<Vec<_>>().join(" ");
            let scores = mine
                .iter()
                .enumerate()
                .map(|(k, c)| CategoryScore {
                    category: cats[*c].clone(),
                    score: if k == 0 { 0.5 + rng.below(50) as f32 / 100.0 } else { 0.1 + rng.below(30) as f32 / 100.0 },
                    evidence: vec![],
                })
                .collect();
            // Same draw order as before: the funder, then the eligibility rule.
            let funder = rng.pick(&funders).to_string();
            let eligibility =
                if rng.below(5) == 0 { Some("Koordinator ska vara en kommun eller en idéburen organisation.".to_string()) } else { None };
            let call = Call { eligibility, ..Call::new(&title, "https://example.org/call", &funder, &text) };
            (call, scores)
        })
        .collect()
}

/// CPU time this thread has used (Linux: /proc/thread-self/schedstat),
/// so that a busy shared machine does not count against the figure.
fn thread_cpu() -> Option<std::time::Duration> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = s.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let n_calls = env("PSI_BENCH_CALLS", 10_000);
    let n_members = env("PSI_BENCH_MEMBERS", 1_000);
    let limit = match env("PSI_BENCH_LIMIT", 25) {
        0 => usize::MAX,
        n => n,
    };
    let with_proposals = env("PSI_BENCH_PROPOSE", 1) != 0;
    let dense = env("PSI_BENCH_DENSE", 0) != 0;
    let mut rng = Rng(0x5EED_CAFE_F00D_1234);
    let topics = topics(categories().len(), dense, &mut rng);
    let ms = members(n_members, &topics, &mut rng);
    let cs = calls(n_calls, &topics, &mut rng);

    let t0 = Instant::now();
    let ix = MemberIndex::new(&ms);
    let index_time = t0.elapsed();

    let t1 = Instant::now();
    let cpu0 = thread_cpu();
    let (mut n_matches, mut n_proposals, mut n_reasons) = (0usize, 0usize, 0usize);
    for (call, scores) in &cs {
        let matches = match_members_indexed(&ix, call, scores, &[], limit);
        let proposals = if with_proposals { propose_indexed(call, &matches, &ix) } else { Vec::new() };
        n_matches += matches.len();
        n_reasons += matches.iter().map(|m| m.reasons.len()).sum::<usize>();
        n_proposals += proposals.len();
    }
    let run = t1.elapsed();
    let cpu = match (cpu0, thread_cpu()) {
        (Some(a), Some(b)) => format!("{:.3} s CPU", (b - a).as_secs_f64()),
        _ => "CPU-tid okänd".into(),
    };
    let limit_text = if limit == usize::MAX { "alla".to_string() } else { limit.to_string() };
    println!(
        "matching{}: {n_calls} utlysningar × {} medlemmar (högst {limit_text} träffar med skäl per utlysning): index {:.1} ms, match + förslag {:.3} s väggtid, {cpu} ({:.1} µs/utlysning väggtid); {n_matches} träffar, {n_reasons} skäl, {n_proposals} förslag",
        if dense { " (tät: alla ord i alla ämnen)" } else { "" },
        ms.len(),
        index_time.as_secs_f64() * 1e3,
        run.as_secs_f64(),
        run.as_secs_f64() * 1e6 / n_calls.max(1) as f64,
    );
}
