//! Fuzz target: the reply parser must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = psi_radar::mail::reply::parse(data);
    // Invariants of the documented shape.
    assert!(r.understood || r.answers.is_empty());
    assert!(!r.auto_reply || r.answers.is_empty());
    assert!(!r.auto_reply || (!r.stop && r.au.is_empty()));
    assert_eq!(r.stop, r.actions.contains(&psi_radar::mail::reply::Action::Unsubscribe));
    let _ = r.to_json();
});
