//! Forgetting what was kept once it is stale: every change tells this process's caches
//! at once and, on PostgreSQL, every other server's through a notice (LISTEN/NOTIFY).
//! A server that hears the others keeps its caches for [`LISTENING_TTL`]; one that
//! does not (SQLite, or a lost connection) for [`crate::SITE_CACHE_TTL`].

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use beffroi_model::SiteId;
use beffroi_store::notices::{Heard, Subscription};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::{Result, Services};

/// How long what is kept per site is trusted while the other servers' notices are
/// heard: a backstop only, since each change is told.
const LISTENING_TTL: Duration = Duration::from_secs(60);

/// The longest wait between two tries to listen again after the connection failed.
const LONGEST_RETRY: Duration = Duration::from_secs(10);

/// What a change made stale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "stale", content = "site", rename_all = "lowercase")]
pub(crate) enum Stale {
    /// A site's content: its pages, navigation and the languages of its content.
    Content(SiteId),
    /// Everything kept of a site: its row (title, hosts, zone, applications), its
    /// workflows, type rules, translations and content.
    Site(SiteId),
    /// Everything kept of every site (workflow definitions, principals, an import).
    Everything,
}

/// A notice as sent between servers.
#[derive(Debug, Serialize, Deserialize)]
struct Notice {
    /// The server that made the change (which forgot already).
    from: Uuid,
    #[serde(flatten)]
    stale: Stale,
}

enum Outgoing {
    Notice(String),
    /// Answered once every notice queued before it was sent.
    Flush(oneshot::Sender<()>),
}

/// This server's side of the notices: who it is, where its notices go, whether it
/// hears the others'.
pub(crate) struct Teller {
    server: Uuid,
    queue: Option<mpsc::UnboundedSender<Outgoing>>,
    listening: AtomicBool,
    /// Tells the listening task to stop (the server is closing).
    stop: tokio::sync::Notify,
}

impl Teller {
    /// On PostgreSQL, starts the task that sends this server's notices (batched: the
    /// changes of a burst go out in one statement, never in the way of a request).
    pub(crate) fn new(store: &beffroi_store::Store) -> Self {
        let queue = (store.backend() == beffroi_store::Backend::Postgres).then(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(send_notices(store.clone(), rx));
            tx
        });
        Self { server: Uuid::new_v4(), queue, listening: AtomicBool::new(false), stop: tokio::sync::Notify::new() }
    }
}

async fn send_notices(store: beffroi_store::Store, mut rx: mpsc::UnboundedReceiver<Outgoing>) {
    while let Some(first) = rx.recv().await {
        let mut payloads = Vec::new();
        let mut seen = HashSet::new();
        let mut flushes = Vec::new();
        let mut next = Some(first);
        while let Some(out) = next {
            match out {
                Outgoing::Notice(p) => {
                    if seen.insert(p.clone()) {
                        payloads.push(p);
                    }
                }
                Outgoing::Flush(done) => flushes.push(done),
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = store.notify(&payloads).await {
            // The change is committed; the other servers will see it when their
            // caches expire, or at once if they lost their connection meanwhile.
            tracing::warn!(error = %e, notices = payloads.len(), "the other servers could not be told of a change");
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

impl Services {
    /// Forgets what `what` made stale, here and, on PostgreSQL, on every other server.
    /// Called after the change committed.
    pub(crate) fn stale(&self, what: Stale) {
        self.forget(&what);
        if let Some(queue) = &self.teller.queue {
            let notice = Notice { from: self.teller.server, stale: what };
            let _ = queue.send(Outgoing::Notice(serde_json::to_string(&notice).expect("serializable")));
        }
    }

    /// Forgets, in this process only, what `what` made stale.
    fn forget(&self, what: &Stale) {
        match what {
            Stale::Content(site) => {
                self.note_change(Some(site));
                self.nav_cache.lock().expect("nav cache lock").retain(|(s, _), _| s != site);
                self.languages.forget(site);
            }
            Stale::Site(site) => {
                self.forget(&Stale::Content(site.clone()));
                self.wf_cache.forget(site);
                self.type_rules.forget(site);
                self.translated.forget(site);
                self.site_rows_changed.fetch_add(1, Ordering::SeqCst);
                self.sites.write().expect("site cache lock").loaded = None;
            }
            Stale::Everything => {
                self.note_change(None);
                self.nav_cache.lock().expect("nav cache lock").clear();
                self.languages.clear();
                self.wf_cache.clear();
                self.type_rules.clear();
                self.translated.clear();
                self.site_rows_changed.fetch_add(1, Ordering::SeqCst);
                self.sites.write().expect("site cache lock").loaded = None;
            }
        }
    }

    /// How long what is kept per site may be used without reading it again.
    pub(crate) fn cache_ttl(&self) -> Duration {
        if self.teller.listening.load(Ordering::SeqCst) { LISTENING_TTL } else { crate::SITE_CACHE_TTL }
    }

    /// Starts hearing the other servers' notices (PostgreSQL; false on SQLite, where
    /// nothing is heard). Listens once this returns; the connection is its own, made
    /// again whenever it is lost (everything kept is then forgotten, since notices
    /// sent meanwhile were missed).
    pub async fn listen(&self) -> Result<bool> {
        let Some(subscription) = self.store.subscribe().await? else { return Ok(false) };
        self.teller.listening.store(true, Ordering::SeqCst);
        tokio::spawn(self.clone().hear(subscription));
        Ok(true)
    }

    async fn hear(self, mut subscription: Subscription) {
        loop {
            let heard = tokio::select! {
                heard = subscription.next() => heard,
                () = self.teller.stop.notified() => {
                    subscription.close().await;
                    return;
                }
            };
            match heard {
                Ok(Heard::Notice(payload)) => self.heard(&payload),
                Ok(Heard::Reconnected) => {
                    tracing::warn!(
                        "the connection hearing the other servers was lost and made again; caches forgotten"
                    );
                    self.forget(&Stale::Everything);
                }
                Err(_) if self.store.is_closed() => return,
                Err(e) => {
                    self.teller.listening.store(false, Ordering::SeqCst);
                    self.forget(&Stale::Everything);
                    tracing::warn!(error = %e, "the other servers cannot be heard; caches are kept {} s at most meanwhile", crate::SITE_CACHE_TTL.as_secs());
                    match self.subscribe_again().await {
                        Some(s) => subscription = s,
                        None => return,
                    }
                }
            }
        }
    }

    /// Tries to listen again, waiting longer after each failure; None once the
    /// database is closed (the server is stopping).
    async fn subscribe_again(&self) -> Option<Subscription> {
        let mut wait = Duration::from_millis(100);
        loop {
            if self.store.is_closed() {
                return None;
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(LONGEST_RETRY);
            match self.store.subscribe().await {
                Ok(Some(s)) => {
                    // What changed while nobody listened is unknown.
                    self.forget(&Stale::Everything);
                    self.teller.listening.store(true, Ordering::SeqCst);
                    tracing::info!("hearing the other servers again");
                    return Some(s);
                }
                Ok(None) => return None,
                Err(e) => tracing::debug!(error = %e, "still cannot listen to the other servers"),
            }
        }
    }

    /// A notice from another server: what it names is forgotten; one that does not
    /// parse is logged and ignored.
    fn heard(&self, payload: &str) {
        match serde_json::from_str::<Notice>(payload) {
            Ok(n) if n.from == self.teller.server => {}
            Ok(n) => self.forget(&n.stale),
            Err(e) => {
                let start: String = payload.chars().take(200).collect();
                tracing::warn!(error = %e, payload = %start, "a notice from another server does not parse; ignored");
            }
        }
    }

    /// Stops listening, and waits until the notices of the changes made so far are
    /// sent (before closing).
    pub(crate) async fn flush_notices(&self) {
        // Kept until a listening task takes it, if none listens yet.
        self.teller.stop.notify_one();
        if let Some(queue) = &self.teller.queue {
            let (done, sent) = oneshot::channel();
            if queue.send(Outgoing::Flush(done)).is_ok() {
                let _ = tokio::time::timeout(Duration::from_secs(5), sent).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_read_back_as_written() {
        let site = SiteId::parse("ville").unwrap();
        let from = Uuid::new_v4();
        for stale in [Stale::Content(site.clone()), Stale::Site(site), Stale::Everything] {
            let text = serde_json::to_string(&Notice { from, stale: stale.clone() }).unwrap();
            let back: Notice = serde_json::from_str(&text).unwrap();
            assert_eq!((back.from, back.stale), (from, stale), "{text}");
        }
        assert!(serde_json::from_str::<Notice>(r#"{"from":"x","stale":"content"}"#).is_err());
        assert!(serde_json::from_str::<Notice>(r#"{"stale":"everything"}"#).is_err());
    }
}
