//! Notices between the servers of one PostgreSQL database, over LISTEN/NOTIFY: what a
//! server changed, so that the others forget what they kept of it. SQLite has no such
//! channel (its other processes are commands, which rely on the caches' short life).

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};

use crate::{Result, Store};

/// The channel every server listens on.
pub const CHANNEL: &str = "beffroi_changes";

/// The name the listening connection gives itself (`application_name`), so that an
/// operator (or a test) can find it in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "beffroi-listener";

/// What a subscription heard.
#[derive(Debug)]
pub enum Heard {
    /// A notice's payload.
    Notice(String),
    /// The connection was lost and made again: notices sent meanwhile are lost.
    Reconnected,
}

/// A server's subscription to [`CHANNEL`], on a connection of its own (outside the
/// pool that serves requests).
pub struct Subscription {
    listener: PgListener,
    own: PgPool,
}

impl Subscription {
    /// The next notice, or that the connection was lost (and made again). An error
    /// means the connection could not be made again: subscribe anew later.
    pub async fn next(&mut self) -> Result<Heard> {
        Ok(match self.listener.try_recv().await? {
            Some(n) => Heard::Notice(n.payload().to_owned()),
            None => Heard::Reconnected,
        })
    }

    /// Stops listening and closes the connection.
    pub async fn close(self) {
        drop(self.listener);
        self.own.close().await;
    }
}

impl Store {
    /// Sends these notices to every server listening (PostgreSQL; nothing on SQLite),
    /// in one statement, on the side pool (never queued behind requests when they hold
    /// every connection of the main one).
    pub async fn notify(&self, payloads: &[String]) -> Result<()> {
        if let Store::Postgres { side: pool, .. } = self
            && !payloads.is_empty()
        {
            sqlx::query("select pg_notify($1, p) from unnest($2::text[]) as p")
                .bind(CHANNEL)
                .bind(payloads)
                .execute(pool)
                .await?;
        }
        Ok(())
    }

    /// Subscribes to the notices of the other servers (PostgreSQL; None on SQLite). It
    /// listens once this returns.
    pub async fn subscribe(&self) -> Result<Option<Subscription>> {
        let Store::Postgres { pool, .. } = self else { return Ok(None) };
        let options = (*pool.connect_options()).clone().application_name(LISTENER_NAME);
        let own = PgPoolOptions::new().max_connections(1).connect_lazy_with(options);
        let mut listener = PgListener::connect_with(&own).await?;
        listener.listen(CHANNEL).await?;
        Ok(Some(Subscription { listener, own }))
    }
}
