//! Matching: ranks members for a call (pure) and proposes consortia.
