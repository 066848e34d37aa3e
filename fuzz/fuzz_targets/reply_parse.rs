//! Fuzz target: the reply parser must never panic, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let r = psi_radar::mail::reply::parse(data);
    // Invariants of the documented shape.
    assert!(r.understood || r.answers.is_empty());
    assert!(!r.auto_reply || r.answers.is_empty());
    let _ = r.to_json();
});
