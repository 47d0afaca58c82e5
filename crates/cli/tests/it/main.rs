//! All integration tests in one binary (link time): store, service, HTTP and CLI, each
//! store and service test on SQLite and on PostgreSQL.

mod support;

mod access;
mod apps;
mod auth;
mod backup;
mod blob_stores;
mod blocks;
mod browser;
mod browser_a11y;
mod browser_chooser;
mod browser_meetings;
mod cli;
mod content;
mod editor;
mod editor_chooser;
mod feeds;
mod hardening;
mod http;
mod import;
mod limits;
mod listings;
mod login;
mod media;
mod meetings;
mod operations;
mod page_cache;
mod publication;
mod search;
mod servers;
mod service;
mod store;
mod tls;
mod translations;
mod workflow;
