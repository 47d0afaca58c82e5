//! The applications this binary is assembled from, in order. Each is a crate under
//! `crates/apps/` that fills in `beffroi_web::WebApp`; a site enables the ones it uses
//! (`beffroi site apps`).

/// Every application of the server.
pub const APPS: &[beffroi_web::WebApp] = &[beffroi_cms::CMS, beffroi_meetings::MEETINGS];
