//! Logging in: throttled password checks, browser sessions, and the audit log.

use std::sync::atomic::Ordering;
use std::time::Duration;

use beffroi_model::security::Principal;
use beffroi_store::{AuditRow, FailureRow, SiteRow};
use chrono::Utc;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::{Result, ServiceError, Services};

/// How long a browser session lasts.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Failures are counted within this window…
const FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// …and every this many failures for one login of one site block it for a while,
/// longer each time…
const LOGIN_FAILURES_PER_BLOCK: i64 = 5;
/// …while an address is blocked only after many more, whatever the logins and sites:
/// every user behind an office's router or a reverse proxy shares one.
const CLIENT_FAILURES_PER_BLOCK: i64 = 50;
const FIRST_BLOCK: Duration = Duration::from_secs(60);
const LONGEST_BLOCK: Duration = Duration::from_secs(15 * 60);
/// A failed attempt answers this much later for each failure already in its series.
const FAILURE_DELAY: Duration = Duration::from_millis(100);

/// A session just opened: the id goes into the cookie, the CSRF token into forms.
#[derive(Debug, Clone)]
pub struct OpenSession {
    pub id: String,
    pub csrf: String,
}

/// What a login attempt came to.
#[derive(Debug)]
pub enum LoginOutcome {
    Success(Principal),
    WrongCredentials,
    /// Too many failures: try again after this delay.
    Throttled(Duration),
}

fn random_hex() -> String {
    format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple())
}

pub(crate) fn hash(id: &str) -> String {
    Sha256::digest(id.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The counters a login attempt goes to, each with the failures that block it.
fn throttle_keys(site: &SiteRow, login: &str, client: &str) -> Vec<(String, i64)> {
    let mut keys = vec![(format!("login:{}:{}", site.id, login.to_lowercase()), LOGIN_FAILURES_PER_BLOCK)];
    if !client.is_empty() {
        keys.push((format!("client:{client}"), CLIENT_FAILURES_PER_BLOCK));
    }
    keys
}

impl Services {
    /// Checks a login and password with throttling: each failure in a series answers
    /// later than the one before, and repeated failures for one login of the site (or
    /// many more from one client address) are refused for a while (longer after each
    /// series), never for good; a success resets both. Every attempt goes to the audit
    /// log.
    pub async fn login(&self, site: &SiteRow, login: &str, password: &str, client: &str) -> Result<LoginOutcome> {
        let keys = throttle_keys(site, login, client);
        let now = Utc::now();
        {
            let mut c = self.store.conn().await?;
            for (k, _) in &keys {
                if let Some(f) = c.db().failures(k).await?
                    && let Some(until) = f.blocked_until
                    && until > now
                {
                    let wait = (until - now).to_std().unwrap_or_default();
                    drop(c);
                    self.audit(site, login, "login.throttled", "", client, Value::Null).await?;
                    self.logins.throttled.fetch_add(1, Ordering::Relaxed);
                    return Ok(LoginOutcome::Throttled(wait));
                }
            }
        }
        let outcome = self.authenticate(site, login, password).await?;
        let mut tx = self.store.begin().await?;
        let scope = site.scope();
        match outcome {
            Some(p) => {
                // A success ends the series of its login and of its address.
                for (k, _) in &keys {
                    tx.db().clear_failures(k).await?;
                }
                tx.db().audit(&scope, &audit_row(login, "login", "", client, Value::Null)).await?;
                tx.commit().await?;
                self.logins.succeeded.fetch_add(1, Ordering::Relaxed);
                Ok(LoginOutcome::Success(p))
            }
            None => {
                let mut worst = 0;
                for (k, per_block) in &keys {
                    // A series goes on while failures keep coming within the window of
                    // the first one or of the last block; then it is forgotten.
                    let window = chrono::Duration::from_std(FAILURE_WINDOW).unwrap_or_default();
                    let mut f = match tx.db().failures(k).await? {
                        Some(f)
                            if now - f.first_failure < window || f.blocked_until.is_some_and(|u| now - u < window) =>
                        {
                            f
                        }
                        _ => FailureRow { failures: 0, first_failure: now, blocked_until: None },
                    };
                    f.failures += 1;
                    if f.failures % per_block == 0 {
                        let series = (f.failures / per_block - 1).min(10) as u32;
                        let block = FIRST_BLOCK.saturating_mul(2u32.saturating_pow(series)).min(LONGEST_BLOCK);
                        f.blocked_until = Some(now + chrono::Duration::from_std(block).unwrap_or_default());
                    }
                    tx.db().put_failures(k, &f).await?;
                    worst = worst.max(f.failures * LOGIN_FAILURES_PER_BLOCK / per_block);
                }
                tx.db().audit(&scope, &audit_row(login, "login.failure", "", client, Value::Null)).await?;
                tx.commit().await?;
                self.logins.failed.fetch_add(1, Ordering::Relaxed);
                // Each further failure in a series answers a little later.
                tokio::time::sleep(FAILURE_DELAY.saturating_mul(worst.clamp(0, 10) as u32)).await;
                Ok(LoginOutcome::WrongCredentials)
            }
        }
    }

    /// Opens a browser session for `principal` on `site`. A new id every time: the
    /// session id is rotated at each login.
    pub async fn open_session(&self, site: &SiteRow, principal: &Principal) -> Result<OpenSession> {
        let Principal::User { login, .. } = principal else {
            return Err(ServiceError::BadRequest("only users have sessions".into()));
        };
        let id = random_hex();
        let csrf = random_hex();
        let now = beffroi_store::now();
        let expires = now + chrono::Duration::from_std(SESSION_LIFETIME).unwrap_or_default();
        let mut tx = self.store.begin().await?;
        tx.db().insert_session(&site.scope(), &hash(&id), login, &csrf, now, expires).await?;
        tx.commit().await?;
        Ok(OpenSession { id, csrf })
    }

    /// The principal and CSRF token of a session cookie, if it is valid on this site.
    pub async fn session(&self, site: &SiteRow, id: &str) -> Result<Option<(Principal, String)>> {
        let row = {
            let mut c = self.store.conn().await?;
            c.db().session(&hash(id)).await?
        };
        let Some(row) = row else { return Ok(None) };
        if row.site_id != site.id.as_str() || row.expires <= Utc::now() {
            return Ok(None);
        }
        Ok(self.principal(site, &row.login).await?.map(|p| (p, row.csrf)))
    }

    /// Ends a browser session.
    pub async fn close_session(&self, site: &SiteRow, id: &str, actor: &str, client: &str) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.db().delete_session(&hash(id)).await?;
        tx.db().audit(&site.scope(), &audit_row(actor, "logout", "", client, Value::Null)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Writes one line to the site's audit log.
    pub async fn audit(
        &self,
        site: &SiteRow,
        actor: &str,
        action: &str,
        target: &str,
        client: &str,
        detail: Value,
    ) -> Result<()> {
        let mut tx = self.store.begin().await?;
        tx.db().audit(&site.scope(), &audit_row(actor, action, target, client, detail)).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The latest lines of the site's audit log (managers only).
    pub async fn audit_log(&self, actor: &Principal, site: &SiteRow, limit: i64) -> Result<Vec<AuditRow>> {
        self.require_on_site(actor, site, beffroi_model::security::Permission::ManagePortal).await?;
        let mut c = self.store.conn().await?;
        Ok(c.db().audit_log(&site.scope(), limit.clamp(1, 1000)).await?)
    }
}

pub(crate) fn audit_row(actor: &str, action: &str, target: &str, client: &str, detail: Value) -> AuditRow {
    AuditRow {
        at: beffroi_store::now(),
        actor: actor.to_owned(),
        action: action.to_owned(),
        target: target.to_owned(),
        client: client.to_owned(),
        detail,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn session_ids_are_long_random_and_stored_hashed() {
        let a = super::random_hex();
        assert_eq!(a.len(), 64);
        assert_ne!(a, super::random_hex());
        assert_eq!(super::hash("x").len(), 64);
        assert_ne!(super::hash(&a), a);
    }
}
