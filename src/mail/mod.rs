//! E-mail: reading the members' replies (DESIGN.md §6).

pub mod reply;
