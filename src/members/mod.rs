//! Members file: the coordinators' CSV of member organisations and their
//! contacts (DESIGN.md §5), read and validated here before the store takes
//! it (`members import`), and written back out by `members export`.
//!
//! Format: UTF-8 (a BOM is stripped), header
//! `id,name,org_type,municipality,contact_name,email,categories,keywords,can_lead,languages`
//! plus the optional columns `contact_role`, `primary` and `notes` in any
//! order after them. One row per contact; a member with two contacts has two
//! rows. Member-level fields (`name` … `languages`, `notes` — everything but
//! `contact_name`, `email`, `contact_role`, `primary`) must agree across a
//! member's rows; a later row may leave them empty to inherit the first
//! row's values. A member without contacts (all forgotten) is one row with
//! empty `contact_name` and `email`. When no row of a member is marked
//! `primary`, its first contact is the primary one.

pub mod csv;

pub use self::csv::{
    Checked, ImportError, ImportRow, Reopen, RowError, check_members, export_members, parse_members, read_members_file, write_members_file,
};

use crate::domain::CategoryId;

/// The regional theme ids used until the config names its own (DESIGN.md §2
/// defaults, from the partnership's activity plans).
pub const DEFAULT_THEME_IDS: [&str; 12] = [
    "social_innovation",
    "work_integration",
    "trust_welfare",
    "civil_public_partnership",
    "crisis_preparedness",
    "rehabilitation_work",
    "sustainable_business",
    "social_procurement",
    "rural_development",
    "integration",
    "children_youth",
    "public_health",
];

/// [`DEFAULT_THEME_IDS`] as category ids.
pub fn default_themes() -> Vec<CategoryId> {
    DEFAULT_THEME_IDS.iter().filter_map(|t| CategoryId::parse(t).ok()).collect()
}
