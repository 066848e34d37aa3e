//! Rules, where: the places a call is limited to — counties, NUTS2 regions
//! (which are also the ESF+ and ERDF programme areas), Interreg areas, the
//! municipalities of the home county — and whether the partnership's home
//! county lies inside them. The table of which area holds which counties
//! lives here.

use super::{RuleEvidence, RuleField, Sentence, note};

/// The 21 counties: canonical name and the stems pages use for them
/// ("Region Jönköpings län", "Jönköpings, Kalmar … län", a bullet "Örebro").
pub const COUNTIES: [(&str, &[&str]); 21] = [
    ("Stockholms län", &["stockholm"]),
    ("Uppsala län", &["uppsala"]),
    ("Södermanlands län", &["södermanland", "sörmland"]),
    ("Östergötlands län", &["östergötland"]),
    ("Jönköpings län", &["jönköping"]),
    ("Kronobergs län", &["kronoberg"]),
    ("Kalmar län", &["kalmar"]),
    ("Gotlands län", &["gotland"]),
    ("Blekinge län", &["blekinge"]),
    ("Skåne län", &["skåne"]),
    ("Hallands län", &["halland"]),
    ("Västra Götalands län", &["västra götaland"]),
    ("Värmlands län", &["värmland"]),
    ("Örebro län", &["örebro"]),
    ("Västmanlands län", &["västmanland"]),
    ("Dalarnas län", &["dalarna"]),
    ("Gävleborgs län", &["gävleborg"]),
    ("Västernorrlands län", &["västernorrland"]),
    ("Jämtlands län", &["jämtland"]),
    ("Västerbottens län", &["västerbotten"]),
    ("Norrbottens län", &["norrbotten"]),
];

/// Areas made of counties: the eight NUTS2 regions (the ESF+ regions and
/// the ERDF regional programmes carry the same names) and the Interreg
/// programme areas on Swedish soil.
pub const AREAS: &[(&str, &[&str], &[&str])] = &[
    ("Stockholm", &["stockholmsregionen", "region stockholm"], &["Stockholms län"]),
    (
        "Östra Mellansverige",
        &["östra mellansverige"],
        &["Uppsala län", "Södermanlands län", "Östergötlands län", "Örebro län", "Västmanlands län"],
    ),
    ("Småland och öarna", &["småland och öarna"], &["Jönköpings län", "Kronobergs län", "Kalmar län", "Gotlands län"]),
    ("Sydsverige", &["sydsverige"], &["Blekinge län", "Skåne län"]),
    ("Västsverige", &["västsverige"], &["Hallands län", "Västra Götalands län"]),
    ("Norra Mellansverige", &["norra mellansverige"], &["Värmlands län", "Dalarnas län", "Gävleborgs län"]),
    ("Mellersta Norrland", &["mellersta norrland"], &["Västernorrlands län", "Jämtlands län"]),
    ("Övre Norrland", &["övre norrland"], &["Västerbottens län", "Norrbottens län"]),
    ("Interreg Aurora", &["interreg aurora"], &["Västerbottens län", "Norrbottens län"]),
    ("Interreg Nord", &["interreg nord"], &["Västerbottens län", "Norrbottens län"]),
    ("Botnia-Atlantica", &["botnia-atlantica"], &["Västerbottens län", "Västernorrlands län", "Gävleborgs län"]),
    (
        "Interreg Sverige-Norge",
        &["interreg sverige-norge", "interreg sverige–norge"],
        &["Västra Götalands län", "Värmlands län", "Jämtlands län", "Västernorrlands län"],
    ),
    (
        "Öresund-Kattegat-Skagerrak",
        &["öresund-kattegat-skagerrak", "öks-programmet"],
        &["Skåne län", "Hallands län", "Västra Götalands län"],
    ),
    ("Interreg Syd", &["interreg south baltic", "södra östersjön"], &["Skåne län", "Blekinge län", "Kalmar län", "Kronobergs län"]),
];

/// Words that mean the whole country or wider.
const NATIONAL: &[(&str, &str)] =
    &[("hela landet", "Sverige"), ("hela sverige", "Sverige"), (" i sverige", "Sverige"), ("in sweden", "Sverige"), ("eu-länder", "EU")];

/// The municipalities of Örebro län (a call limited to one of them is open
/// to the home county when that is Örebro län).
const OREBRO_MUNICIPALITIES: [&str; 12] = [
    "Askersund",
    "Degerfors",
    "Hallsberg",
    "Hällefors",
    "Karlskoga",
    "Kumla",
    "Laxå",
    "Lekeberg",
    "Lindesberg",
    "Ljusnarsberg",
    "Nora",
    "Örebro",
];

/// Funders whose calls are open to the whole country unless they say otherwise.
const NATIONAL_FUNDERS: &[&str] = &[
    "vinnova",
    "formas",
    "forte",
    "vetenskapsrådet",
    "tillväxtverket",
    "esf",
    "mucf",
    "myndigheten för ungdoms",
    "folkhälsomyndigheten",
    "kulturrådet",
    "boverket",
    "msb",
    "myndigheten för samhällsskydd",
    "arvsfond",
    "kammarkollegiet",
    "energimyndigheten",
    "socialstyrelsen",
    "naturvårdsverket",
    "jordbruksverket",
    "european commission",
    "europeiska kommissionen",
    "eu-kommissionen",
    "horizon europe",
    "horisont europa",
];

/// The counties an area name covers.
pub fn counties_of(area: &str) -> Vec<&'static str> {
    if let Some((name, _)) = COUNTIES.iter().find(|(name, _)| name.eq_ignore_ascii_case(area)) {
        return vec![*name];
    }
    AREAS.iter().find(|(name, _, _)| name.eq_ignore_ascii_case(area)).map(|(_, _, cs)| cs.to_vec()).unwrap_or_default()
}

/// The canonical county `s` names (`Örebro län`, `Örebro`, `Region Örebro län`).
pub fn county_named(s: &str) -> Option<&'static str> {
    let lower = s.trim().to_lowercase();
    let lower = lower.strip_prefix("region ").or_else(|| lower.strip_prefix("länsstyrelsen i ")).unwrap_or(&lower).to_string();
    let lower = lower.strip_prefix("länsstyrelsen ").unwrap_or(&lower);
    COUNTIES.iter().find(|(name, stems)| name.to_lowercase() == lower || stems.iter().any(|st| lower.starts_with(st))).map(|(n, _)| *n)
}

pub(super) fn read_areas(
    sentences: &[Sentence],
    funder: &str,
    home: &str,
    evidence: &mut Vec<RuleEvidence>,
) -> (Vec<String>, Option<bool>) {
    let mut areas: Vec<String> = Vec::new();
    let funder_lower = funder.to_lowercase();
    if (funder_lower.starts_with("region ") || funder_lower.starts_with("länsstyrelsen"))
        && let Some(c) = county_named(funder)
    {
        areas.push(c.to_string());
    }
    let mut national: Option<&str> = None;
    for s in sentences.iter().filter(|s| !looks_like_address(&s.lower)) {
        let found = areas_in(&s.lower);
        if !found.is_empty() {
            note(evidence, RuleField::Areas, s);
        }
        areas.extend(found);
        if national.is_none()
            && let Some((_, n)) = NATIONAL.iter().find(|(w, _)| s.lower.contains(w))
        {
            national = Some(n);
        }
    }
    areas.dedup();
    let mut seen = Vec::new();
    areas.retain(|a| {
        let fresh = !seen.contains(a);
        seen.push(a.clone());
        fresh
    });
    let Some(home) = county_named(home) else { return (areas, None) };
    if !areas.is_empty() {
        let open = areas.iter().any(|a| area_holds(a, home));
        return (areas, Some(open));
    }
    if let Some(n) = national {
        return (vec![n.to_string()], Some(true));
    }
    let national_funder = NATIONAL_FUNDERS.iter().any(|f| funder_lower.contains(f));
    (areas, national_funder.then_some(true))
}

fn area_holds(area: &str, home: &str) -> bool {
    if counties_of(area).contains(&home) {
        return true;
    }
    // a municipality of the home county ("Karlskoga kommun")
    home == "Örebro län" && OREBRO_MUNICIPALITIES.iter().any(|m| area == format!("{m} kommun"))
}

fn looks_like_address(lower: &str) -> bool {
    ["box ", "besöksadress", "postadress", "adress:"].iter().any(|w| lower.contains(w))
}

/// Area names in one sentence: programme areas and NUTS2 regions first
/// (their words are not read again as counties), then counties, then
/// municipalities of Örebro län.
fn areas_in(lower: &str) -> Vec<String> {
    let mut rest = lower.to_string();
    for org in ["länsstyrelsen i ", "universitet", "högskola"] {
        rest = drop_org_names(&rest, org);
    }
    let mut out: Vec<String> = Vec::new();
    for (name, aliases, _) in AREAS {
        let all = std::iter::once(name.to_lowercase()).chain(aliases.iter().map(|a| a.to_string()));
        for alias in all {
            if rest.contains(&alias) {
                out.push(name.to_string());
                rest = rest.replace(&alias, " ");
            }
        }
    }
    for (name, stems) in COUNTIES {
        if stems.iter().any(|st| mentions_county(&rest, st)) {
            out.push(name.to_string());
        }
    }
    for m in OREBRO_MUNICIPALITIES {
        let written = format!(" {} kommun", m.to_lowercase());
        if format!(" {rest}").contains(&written) && !rest.contains(&format!("{written}er")) {
            out.push(format!("{m} kommun"));
        }
    }
    out
}

/// "Örebro universitet", "Länsstyrelsen i Jönköpings län": organisations, not places.
fn drop_org_names(s: &str, org: &str) -> String {
    let Some(at) = s.find(org) else { return s.to_string() };
    if org.ends_with(' ') {
        // drop the place name after "länsstyrelsen i " (up to "län")
        let after = &s[at + org.len()..];
        let cut = after.find(" län").map_or(after.len().min(after.find(' ').unwrap_or(after.len())), |e| e + " län".len());
        return format!("{} {}", &s[..at], &after[cut..]);
    }
    // drop the word before "universitet"
    let before = s[..at].trim_end();
    let start = before.rfind(' ').map_or(0, |b| b + 1);
    format!("{} {}", &s[..start], &s[at..])
}

/// A county named as a place: "Örebro län", "Jönköpings, Kalmar … län",
/// "Region Gotland", "i Skåne", "Norrbotten" alone on a line; not a city in
/// an organisation's name ("Örebro kommun" is read as a municipality).
fn mentions_county(s: &str, stem: &str) -> bool {
    let padded = format!(" {s} ");
    let mut from = 0;
    while let Some(at) = padded[from..].find(stem).map(|a| a + from) {
        from = at + stem.len();
        let before_ok = padded[..at].ends_with(|c: char| !c.is_alphanumeric());
        let after = &padded[at + stem.len()..];
        let word_rest: String = after.chars().take_while(|c| c.is_alphanumeric()).collect();
        let suffix_ok = matches!(word_rest.as_str(), "" | "s");
        let next = after[word_rest.len()..].trim_start_matches([',', ' ', ')', '.']);
        let is_city_org = next.starts_with("kommun") || next.starts_with("stad");
        if before_ok && suffix_ok && !is_city_org {
            return true;
        }
    }
    false
}
