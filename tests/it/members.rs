//! Members, interests, forget and `match`, against a real (in-memory) store
//! and the bundled `fixtures/members.csv`.

use crate::helpers::{fixture, store};
use chrono::{TimeZone, Utc};
use psi_radar::cli::BadInput;
use psi_radar::cli::members as cli;
use psi_radar::domain::{Call, CallRef, CategoryId, CategoryScore, Intent, Lang, MemberId, Role};
use psi_radar::members::{default_themes, parse_members, read_members_file};
use psi_radar::store::Store;

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()
}

fn id(s: &str) -> MemberId {
    MemberId::parse(s).unwrap()
}

async fn imported() -> Store {
    let st = store().await;
    let mut out = Vec::new();
    cli::import(&st, &fixture("members.csv"), &default_themes(), now(), Lang::Sv, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Läste 40 medlemmar och 46 kontakter"), "{text}");
    st
}

fn call(title: &str, text: &str, funder: &str) -> Call {
    Call::new(title, "https://example.org/utlysning", funder, text)
}

async fn stored_call(st: &Store, c: &Call, scores: &[(&str, f32)]) -> CallRef {
    let r = st.insert_call(c, &c.url, &c.title.to_lowercase(), true, now()).await.unwrap();
    let sc: Vec<CategoryScore> =
        scores.iter().map(|(c, s)| CategoryScore { category: CategoryId::parse(c).unwrap(), score: *s, evidence: vec![] }).collect();
    st.set_categories(r, &sc).await.unwrap();
    r
}

fn inclusion_call() -> Call {
    call(
        "Arbetsintegrerande insatser för personer långt från arbetsmarknaden",
        "Utlysningen stödjer arbetsintegrerande sociala företag, arbetsträning och rehabilitering för inkludering på arbetsmarknaden.",
        "Svenska ESF-rådet",
    )
}

#[tokio::test]
async fn fixture_imports_and_reimport_does_not_duplicate() {
    let st = imported().await;
    let ms = st.list_members().await.unwrap();
    assert_eq!(ms.len(), 40);
    assert_eq!(ms.iter().filter(|m| m.org_type == psi_radar::domain::OrgType::Municipality).count(), 12);
    assert!(ms.iter().any(|m| m.languages == [Lang::En]), "one English-only member");
    let activa = st.member(&id("activa")).await.unwrap().unwrap();
    assert_eq!(activa.contacts.len(), 2);
    assert_eq!(activa.contacts.iter().filter(|c| c.primary).count(), 1);

    let sum = st.upsert_members(&ms, now()).await.unwrap();
    assert_eq!((sum.members_added, sum.members_updated, sum.contacts_added, sum.contacts_removed), (0, 40, 0, 0));
    assert_eq!(st.list_contacts().await.unwrap().len(), 46);

    // a changed file: renamed member, one contact replaced by another
    let text = std::fs::read_to_string(fixture("members.csv")).unwrap();
    let changed = text
        .replace("Stiftelsen Activa,", "Stiftelsen Activa Örebro,")
        .replace("Johan Berg,johan.berg@activa.example.org", "Klara Ny,klara.ny@activa.example.org");
    let ms2 = parse_members("changed.csv", changed.as_bytes(), &default_themes()).unwrap();
    let sum = st.upsert_members(&ms2, now()).await.unwrap();
    assert_eq!((sum.members_added, sum.contacts_added, sum.contacts_removed), (0, 1, 1));
    let activa = st.member(&id("activa")).await.unwrap().unwrap();
    assert_eq!(activa.name, "Stiftelsen Activa Örebro");
    let emails: Vec<&str> = activa.contacts.iter().map(|c| c.email.as_str()).collect();
    assert_eq!(emails, ["anna.lindqvist@activa.example.org", "klara.ny@activa.example.org"]);
    assert_eq!(st.list_members().await.unwrap().len(), 40);
}

#[tokio::test]
async fn bad_file_reports_lines_and_imports_nothing() {
    let st = store().await;
    let path = fixture("members/bad.csv");
    let err = cli::import(&st, &path, &default_themes(), now(), Lang::Sv, &mut Vec::new()).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().is_some(), "exit code 2");
    let text = err.to_string();
    let p = path.display();
    for want in [
        format!("{p}:3: org_type: okänd organisationstyp «förening»"),
        format!("{p}:4: email: ogiltig e-postadress «ali.hassan(at)abf.example.org»"),
        format!("{p}:5: categories: okänd samhällsutmaning «SC12»"),
        format!("{p}:5: can_lead: «kanske» är inte ja/nej"),
        format!("{p}:6: languages: okänt språk «fi»"),
        format!("{p}:7: name: skiljer sig från rad 2 för samma medlem"),
    ] {
        assert!(text.contains(&want), "missing «{want}» in\n{text}");
    }
    assert!(!text.contains(&format!("{p}:2:")), "{text}");
    assert!(st.list_members().await.unwrap().is_empty());
}

#[tokio::test]
async fn export_round_trips() {
    let st = imported().await;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("export.csv");
    cli::export(&st, &out, Lang::Sv, &mut Vec::new()).await.unwrap();
    let again = read_members_file(&out, &default_themes()).unwrap();
    assert_eq!(again, st.list_members().await.unwrap());
    // importing the export changes nothing
    let sum = st.upsert_members(&again, now()).await.unwrap();
    assert_eq!((sum.members_added, sum.contacts_added, sum.contacts_removed), (0, 0, 0));
}

#[tokio::test]
async fn contacts_by_address_and_interests() {
    let st = imported().await;
    let c = st.contact_by_email("Anna.Lindqvist+psi@ACTIVA.example.org").await.unwrap().unwrap();
    assert_eq!(c.member.as_str(), "activa");
    assert!(st.contact_by_email("okand@example.org").await.unwrap().is_none());
    assert!(st.contact_by_email("inte en adress").await.unwrap().is_none());

    let r = stored_call(&st, &inclusion_call(), &[("SC6", 0.8)]).await;
    let t0 = now();
    let t1 = t0 + chrono::Duration::hours(1);
    st.record_interest(r, &id("activa"), Some(c.id), Intent::Maybe, None, "vi återkommer", None, t0).await.unwrap();
    st.record_interest(r, &id("orebro_k"), None, Intent::Yes, Some(Role::Partner), "", None, t0).await.unwrap();
    st.record_interest(r, &id("activa"), Some(c.id), Intent::Yes, Some(Role::Lead), "vi leder gärna", None, t1).await.unwrap();
    let cur = st.interests_for_call(r).await.unwrap();
    assert_eq!(cur.len(), 2, "the later answer supersedes the earlier");
    let a = cur.iter().find(|i| i.member.as_str() == "activa").unwrap();
    assert_eq!((a.intent, a.role, a.comment.as_str()), (Intent::Yes, Some(Role::Lead), "vi leder gärna"));
    let history: i64 = sqlx::query_scalar("SELECT count(*) FROM interests").fetch_one(&st.pool).await.unwrap();
    assert_eq!(history, 3, "history kept");
    let since = st.interests_since(t0 + chrono::Duration::minutes(30)).await.unwrap();
    assert_eq!(since.len(), 1);
    assert_eq!(since[0].member.as_str(), "activa");

    assert!(st.set_unsubscribed(c.id, t1).await.unwrap());
    let activa = st.member(&id("activa")).await.unwrap().unwrap();
    assert!(activa.contacts[0].unsubscribed);
    // re-import keeps the unsubscription
    let ms = read_members_file(&fixture("members.csv"), &default_themes()).unwrap();
    st.upsert_members(&ms, t1).await.unwrap();
    assert!(st.member(&id("activa")).await.unwrap().unwrap().contacts[0].unsubscribed);
}

#[tokio::test]
async fn forget_erases_person_but_keeps_organisations_answer() {
    let st = imported().await;
    let c = st.contact_by_email("anna.lindqvist@activa.example.org").await.unwrap().unwrap();
    let r = stored_call(&st, &inclusion_call(), &[("SC6", 0.8)]).await;
    let reply_id: i64 = sqlx::query_scalar(
        "INSERT INTO replies (message_id, from_addr, contact_id, member_id, received_at, status, reading, raw)
         VALUES ('<m1@example.org>', 'Anna Lindqvist <anna.lindqvist+psi@activa.example.org>', ?, 'activa', '2026-11-23T09:00:00Z', 'accepted',
                 '{\"from\": \"anna.lindqvist+psi@activa.example.org\"}', x'4142') RETURNING id",
    )
    .bind(c.id)
    .fetch_one(&st.pool)
    .await
    .unwrap();
    st.record_interest(r, &id("activa"), Some(c.id), Intent::Yes, Some(Role::Lead), "", Some(reply_id), now()).await.unwrap();
    for (recipient, body, status) in [
        ("anna.lindqvist@activa.example.org", "Hej Anna Lindqvist!", "pending"),
        ("au@psi.example.org", "Svar: Stiftelsen Activa (Anna Lindqvist, anna.lindqvist@activa.example.org) ja", "sent"),
    ] {
        sqlx::query(
            "INSERT INTO outbox (kind, period, recipient, subject, message_id, body, html, created_at, status)
             VALUES ('notify', '2026-W48', ?, 'Ämne', ?, ?, ?, '2026-11-23T09:00:00Z', ?)",
        )
        .bind(recipient)
        .bind(format!("<{recipient}>"))
        .bind(body.as_bytes())
        .bind(format!("<p>{body}</p>"))
        .bind(status)
        .execute(&st.pool)
        .await
        .unwrap();
    }

    let mut out = Vec::new();
    cli::forget(&st, "ANNA.LINDQVIST@activa.example.org", now(), Lang::Sv, &mut out).await.unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("Raderade personuppgifter för 1 kontakt(er)"));

    assert!(st.contact_by_email("anna.lindqvist@activa.example.org").await.unwrap().is_none());
    let activa = st.member(&id("activa")).await.unwrap().unwrap();
    assert_eq!(activa.contacts.len(), 1, "the other contact stays");
    let cur = st.interests_for_call(r).await.unwrap();
    assert_eq!(cur.len(), 1);
    assert_eq!((cur[0].member.as_str(), cur[0].intent, cur[0].contact_id), ("activa", Intent::Yes, None));

    let (from, raw, reading): (Option<String>, Option<Vec<u8>>, String) =
        sqlx::query_as("SELECT from_addr, raw, reading FROM replies WHERE id=?").bind(reply_id).fetch_one(&st.pool).await.unwrap();
    assert_eq!((from, raw), (None, None));
    assert!(!reading.contains("lindqvist"), "{reading}");

    let rows: Vec<(String, Vec<u8>, String, String)> =
        sqlx::query_as("SELECT recipient, body, html, status FROM outbox ORDER BY id").fetch_all(&st.pool).await.unwrap();
    let dump = format!("{rows:?}").to_lowercase();
    assert!(!dump.contains("lindqvist") && !dump.contains("anna"), "{dump}");
    assert_eq!(rows[0].3, "cancelled", "a pending message to the forgotten address is not sent");
    assert_eq!(rows[1].0, "au@psi.example.org");
    assert!(String::from_utf8(rows[1].1.clone()).unwrap().contains("Stiftelsen Activa ([raderad], [raderad]) ja"));

    // unknown targets are the user's error
    let err = cli::forget(&st, "ingen_sadan", now(), Lang::Sv, &mut Vec::new()).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().is_some());
    // an address that is no contact: its stored mail is still cleaned
    let mut out = Vec::new();
    cli::forget(&st, "okand@example.org", now(), Lang::Sv, &mut out).await.unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("Ingen registrerad kontakt"));
    // forgetting a whole member's contacts
    cli::forget(&st, "activa", now(), Lang::Sv, &mut Vec::new()).await.unwrap();
    assert!(st.member(&id("activa")).await.unwrap().unwrap().contacts.is_empty());
}

#[tokio::test]
async fn match_command_json_and_text() {
    let st = imported().await;
    let r = stored_call(&st, &inclusion_call(), &[("SC6", 0.82), ("work_integration", 0.74), ("SC1", 0.2)]).await;
    st.record_interest(r, &id("verdandi"), None, Intent::No, None, "", None, now()).await.unwrap();

    let mut out = Vec::new();
    cli::run_match(&st, &r.to_string(), true, Lang::Sv, &mut out).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let obj = v.as_object().unwrap();
    assert_eq!(obj.keys().collect::<Vec<_>>(), ["call", "matches", "proposals"]);
    assert_eq!(v["call"], r.to_string());
    let matches = v["matches"].as_array().unwrap();
    let m0 = matches[0].as_object().unwrap();
    let mut keys: Vec<&String> = m0.keys().collect();
    keys.sort();
    assert_eq!(keys, ["eligible_lead", "member", "reasons", "score"]);
    let ids: Vec<&str> = matches.iter().map(|m| m["member"].as_str().unwrap()).collect();
    let work_integration = ["activa", "mockeln", "stadsmissionen", "finsam_orebro", "asf_natverket", "coompanion", "aterbruket"];
    assert!(work_integration.contains(&ids[0]) && work_integration.contains(&ids[1]), "{ids:?}");
    assert!(!ids.contains(&"verdandi"), "answered no");
    assert!(!ids.contains(&"solkraft") && !ids.contains(&"skogsteknik"), "{ids:?}");
    let scores: Vec<f64> = matches.iter().map(|m| m["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]));
    let p = &v["proposals"][0];
    let lead = p["lead"].as_str().unwrap();
    assert!(work_integration.contains(&lead), "{p}");
    assert!(p["partners"].as_array().unwrap().iter().any(|x| x.as_str().unwrap().ends_with("_k")), "{p}");
    assert!(v["proposals"].as_array().unwrap().len() <= 3);

    let mut out = Vec::new();
    cli::run_match(&st, &r.to_string(), false, Lang::Sv, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Medlemmar som passar (bäst först):") && text.contains("Förslag på konsortium:"), "{text}");

    // unknown call: bad input
    let err = cli::run_match(&st, "PSI-9999", true, Lang::Sv, &mut Vec::new()).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().is_some());
    let err = cli::run_match(&st, "nonsense", true, Lang::Sv, &mut Vec::new()).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().is_some());
}

#[tokio::test]
async fn energy_call_skips_sports_and_narrow_call_says_no_proposal() {
    let st = imported().await;
    let energy = call(
        "Energieffektivisering och solenergi i lokaler",
        "Stöd till energieffektivisering, solenergi och energigemenskaper i föreningslokaler och kommunala fastigheter.",
        "Energimyndigheten",
    );
    let r = stored_call(&st, &energy, &[("SC3", 0.9), ("SC5", 0.35)]).await;
    let mut out = Vec::new();
    cli::run_match(&st, &r.to_string(), true, Lang::Sv, &mut out).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let text = v["proposals"].to_string();
    assert!(!v["proposals"].as_array().unwrap().is_empty());
    assert!(!text.contains("\"idrott\""), "{text}");

    let narrow = call("Xyz", "Qwerty.", "Okänd finansiär");
    let r = stored_call(&st, &narrow, &[]).await;
    let mut out = Vec::new();
    cli::run_match(&st, &r.to_string(), false, Lang::Sv, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("Inget förslag på konsortium: färre än två medlemmar passar utlysningen."), "{text}");
}

#[tokio::test]
async fn list_and_show() {
    let st = imported().await;
    let mut out = Vec::new();
    cli::list(&st, false, Lang::Sv, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("orebro_k") && text.ends_with("40 medlemmar\n"), "{text}");
    let mut out = Vec::new();
    cli::list(&st, true, Lang::Sv, &mut out).await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 40);
    let mut out = Vec::new();
    cli::show(&st, "activa", Lang::Sv, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("Stiftelsen Activa (activa)") && text.contains("[primär]"), "{text}");
    let err = cli::show(&st, "finns_inte", Lang::Sv, &mut Vec::new()).await.unwrap_err();
    assert!(err.downcast_ref::<BadInput>().is_some());
}

#[tokio::test]
async fn export_guards_formulas_and_the_round_trip_gives_back_the_text() {
    let st = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("formler.csv");
    std::fs::write(
        &file,
        "id,name,org_type,municipality,contact_name,email,categories,keywords,can_lead,languages,contact_role,primary,notes\n\
         evil,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"klicka\"\")\",business,+cmd|' /C calc'!A0,Eva Ek,eva@evil.example.org,SC6,-2+3,ja,sv,\" =1+1\",ja,@SUM(A1:A9)\n\
         snall,Snäll förening,civil_society,Örebro,\"''=inte en formel\",snall@example.org,SC6,,nej,sv,,,\n",
    )
    .unwrap();
    cli::import(&st, &file, &default_themes(), now(), Lang::Sv, &mut Vec::new()).await.unwrap();
    let evil = st.member(&id("evil")).await.unwrap().unwrap();
    assert_eq!(evil.name, "=HYPERLINK(\"http://evil.example\",\"klicka\")");
    assert_eq!(evil.contacts[0].role, " =1+1", "the blank in front of a formula is the text's own");
    let snall = st.member(&id("snall")).await.unwrap().unwrap();
    assert_eq!(snall.contacts[0].name, "'=inte en formel", "a guard written twice is one apostrophe of text");

    let out = dir.path().join("export.csv");
    cli::export(&st, &out, Lang::Sv, &mut Vec::new()).await.unwrap();
    let written = std::fs::read(&out).unwrap();
    assert!(written.starts_with(b"\xEF\xBB\xBFid;name;"), "UTF-8 with a BOM, `;` between cells, for Swedish Excel");
    let mut rd = csv::ReaderBuilder::new().has_headers(true).delimiter(b';').from_reader(&written[3..]);
    let mut cells = Vec::new();
    for rec in rd.records() {
        cells.extend(rec.unwrap().iter().map(str::to_string));
    }
    for cell in &cells {
        assert!(!cell.trim_start().starts_with(['=', '+', '-', '@', '\t', '\r']), "a live formula in the export: {cell:?}");
    }
    for guarded in
        ["'=HYPERLINK(\"http://evil.example\",\"klicka\")", "'+cmd|' /C calc'!A0", "'-2+3", "' =1+1", "'@SUM(A1:A9)", "''=inte en formel"]
    {
        assert!(cells.iter().any(|c| c == guarded), "{guarded} in {cells:?}");
    }

    // Importing the export gives back the same text, and exporting it again the same file.
    let again = read_members_file(&out, &default_themes()).unwrap();
    assert_eq!(again, st.list_members().await.unwrap());
    assert_eq!(again.iter().find(|m| m.id == id("snall")).unwrap().contacts[0].name, "'=inte en formel");
    cli::import(&st, &out, &default_themes(), now(), Lang::Sv, &mut Vec::new()).await.unwrap();
    let out2 = dir.path().join("export2.csv");
    cli::export(&st, &out2, Lang::Sv, &mut Vec::new()).await.unwrap();
    assert_eq!(std::fs::read(&out2).unwrap(), written);
}

#[tokio::test]
async fn a_large_file_with_one_bad_row_at_the_end_imports_nothing() {
    let st = store().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("stor.csv");
    let mut text = String::from("id,name,org_type,municipality,contact_name,email,categories,keywords,can_lead,languages\n");
    for i in 0..3000 {
        text.push_str(&format!("m{i},Förening {i},civil_society,Örebro,Kontakt {i},k{i}@example.org,SC6,,nej,sv\n"));
    }
    // A second row of an early member, far down: its contact joins it.
    text.push_str("m7,,,,Andra kontakten,andra7@example.org,,,,\n");
    text.push_str("m3000,Sista,civil_society,Örebro,Sist,k1@example.org,SC6,,nej,sv\n");
    std::fs::write(&file, &text).unwrap();
    let err = cli::import(&st, &file, &default_themes(), now(), Lang::Sv, &mut Vec::new()).await.unwrap_err();
    assert!(err.to_string().contains(":3003: email: adressen finns redan på rad 3"), "{err}");
    assert!(st.list_members().await.unwrap().is_empty(), "nothing of the file was imported");

    std::fs::write(&file, text.replace("m3000,Sista,civil_society,Örebro,Sist,k1@", "m3000,Sista,civil_society,Örebro,Sist,sist@"))
        .unwrap();
    let mut out = Vec::new();
    cli::import(&st, &file, &default_themes(), now(), Lang::Sv, &mut out).await.unwrap();
    assert!(String::from_utf8(out).unwrap().starts_with("Läste 3001 medlemmar och 3002 kontakter"));
    let m7 = st.member(&id("m7")).await.unwrap().unwrap();
    let names: Vec<(&str, bool)> = m7.contacts.iter().map(|c| (c.name.as_str(), c.primary)).collect();
    assert_eq!(names, [("Kontakt 7", true), ("Andra kontakten", false)]);
}

/// Migration 0090 (issue 17): an address may belong to two members. The
/// contacts table is rebuilt without its old UNIQUE(email); an existing
/// database keeps every contact, token and STOPP, and the interests,
/// replies and waiting answers that point at them.
#[tokio::test]
async fn contacts_per_member_migration_keeps_what_points_at_a_contact() {
    let tmp = tempfile::tempdir().unwrap();
    let before = tmp.path().join("before");
    std::fs::create_dir(&before).unwrap();
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/migrations")).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        if name.as_str() < "0090" {
            std::fs::copy(&p, before.join(&name)).unwrap();
        }
    }
    let url = format!("sqlite://{}?mode=rwc", tmp.path().join("db.sqlite").display());
    {
        let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::migrate::Migrator::new(before.as_path()).await.unwrap().run(&pool).await.unwrap();
        sqlx::raw_sql(
            "PRAGMA foreign_keys = ON;
             INSERT INTO members (id, name, org_type, created_at, updated_at) VALUES ('a', 'A', 'other', 'x', 'x'), ('b', 'B', 'other', 'x', 'x');
             INSERT INTO contacts (id, member_id, name, email, unsubscribed_at, token) VALUES (7, 'a', 'Anna', 'anna@x.example.org', '2026-01-01T00:00:00Z', 'tok');
             INSERT INTO calls (id, title, url, funder, status, canonical_url, title_key, first_seen_at, updated_at) VALUES (3, 't', 'u', 'f', 'open', 'u', 't', 'x', 'x');
             INSERT INTO replies (id, message_id, contact_id, member_id, received_at, status) VALUES (1, '<m@x>', 7, 'a', 'x', 'waiting');
             INSERT INTO interests (call_id, member_id, contact_id, intent, reply_id, recorded_at) VALUES (3, 'a', 7, 'yes', 1, 'x');
             INSERT INTO waiting_answers (reply_id, contact_id, member_id, calls, intent, asked_at, expires_at) VALUES (1, 7, 'a', 'PSI-0003', 'yes', 'x', 'x');",
        )
        .execute(&pool)
        .await
        .unwrap();
        pool.close().await;
    }
    let st = Store::open_existing(&url).await.unwrap();
    let q = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(&st.pool);
    assert_eq!(q("SELECT COUNT(*) FROM waiting_answers WHERE contact_id = 7").await.unwrap(), 1, "no cascade");
    assert_eq!(q("SELECT COUNT(*) FROM interests WHERE contact_id = 7").await.unwrap(), 1, "still linked");
    assert_eq!(q("SELECT COUNT(*) FROM replies WHERE contact_id = 7").await.unwrap(), 1);
    assert_eq!(q("SELECT COUNT(*) FROM pragma_foreign_key_check").await.unwrap(), 0);
    assert_eq!(q("SELECT foreign_keys FROM pragma_foreign_keys").await.unwrap(), 1, "foreign keys back on");
    let c = st.contact_by_email("anna@x.example.org").await.unwrap().unwrap();
    assert_eq!((c.id, c.contact.unsubscribed), (7, true));
    assert_eq!(st.contact_token(7).await.unwrap().as_deref(), Some("tok"));

    // The same address as a contact of a second member; twice for one member is refused.
    let anna = psi_radar::domain::Contact {
        name: "Anna".into(),
        email: psi_radar::domain::Email::parse("anna@x.example.org").unwrap(),
        role: String::new(),
        primary: false,
        unsubscribed: false,
    };
    assert!(st.add_contact(&id("b"), &anna).await.unwrap().is_some());
    assert!(st.add_contact(&id("b"), &anna).await.unwrap().is_none());
    assert_eq!(q("SELECT COUNT(*) FROM contacts WHERE email = 'anna@x.example.org'").await.unwrap(), 2);
}
