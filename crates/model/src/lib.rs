//! Beffroi's pure domain: identifiers and paths, languages, content-type schemas and
//! field validation, roles and permissions, and the permission decision.
//!
//! Nothing here performs I/O: every function is deterministic and unit-tested beside
//! its definition.

pub mod blocks;
pub mod catalog;
pub mod diff;
pub mod event;
pub mod expr;
pub mod ids;
pub mod lang;
pub mod media;
pub mod path;
pub mod recurrence;
pub mod richtext;
pub mod schema;
pub mod security;
pub mod theme;
pub mod workflow;
pub mod zone;

pub use ids::{ItemId, Login, SiteId, slugify};
pub use lang::Language;
pub use path::ItemPath;
