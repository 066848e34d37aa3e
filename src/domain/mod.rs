//! Domain types shared by every pipeline stage: calls, categories, members,
//! interests and applications. Values are parsed once at the edge
//! (`parse()` constructors) and carried as typed newtypes from then on.

pub mod application;
pub mod call;
pub mod category;
pub mod lang;
pub mod member;

pub use call::{Budget, Call, CallRef, CallStatus, Deadline, RawCall, Translation};
pub use category::{CategoryId, CategoryScore, Evidence, Field};
pub use lang::Lang;
pub use member::{Contact, Email, ForgetTarget, Intent, Member, MemberId, OrgType, Role};
