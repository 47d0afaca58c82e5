//! Sites: creation by operators, lookup by id and by host name.

use std::sync::Arc;
use std::time::Instant;

use beffroi_model::ItemPath;
use beffroi_model::schema::SITE_ROOT_TYPE;
use beffroi_model::security::Principal;
use beffroi_model::{Language, SiteId};
use beffroi_store::ItemRow;

use crate::{Result, ServiceError, Services, SiteCache, SiteRow};

/// What an operator gives to create a site.
#[derive(Debug, Clone)]
pub struct NewSite {
    pub id: SiteId,
    pub title: String,
    pub language: Language,
    pub hosts: Vec<String>,
    /// Where its people are (Europe/Brussels by default).
    pub time_zone: beffroi_model::zone::SiteZone,
}

/// Lower-cases a host name and checks it is one (letters, digits, dots, dashes, an
/// optional port).
pub fn normalize_host(host: &str) -> Option<String> {
    let h = host.trim().trim_end_matches('.').to_ascii_lowercase();
    let (name, port) = match h.rsplit_once(':') {
        Some((n, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (n, Some(p)),
        Some(_) => return None,
        None => (h.as_str(), None),
    };
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !l.starts_with('-')
        });
    ok.then(|| match port {
        Some(p) => format!("{name}:{p}"),
        None => name.to_owned(),
    })
}

/// A new site's row, its title and host names checked.
pub(crate) fn site_row(new: &NewSite) -> Result<SiteRow> {
    let title = new.title.trim();
    if title.is_empty() || title.chars().count() > 255 {
        return Err(ServiceError::BadRequest("a site title has 1 to 255 characters".into()));
    }
    let mut hosts = Vec::new();
    for h in &new.hosts {
        let n = normalize_host(h).ok_or_else(|| ServiceError::BadRequest(format!("{h:?} is not a host name")))?;
        if !hosts.contains(&n) {
            hosts.push(n);
        }
    }
    let now = beffroi_store::now();
    Ok(SiteRow {
        id: new.id.clone(),
        title: title.to_owned(),
        language: new.language,
        created: now,
        modified: now,
        hosts,
        time_zone: new.time_zone,
        apps: None,
        languages: vec![new.language],
        theme: Default::default(),
    })
}

impl Services {
    /// Creates a site and its root. Only the system (an operator at the CLI) may.
    pub async fn create_site(&self, actor: &Principal, new: NewSite) -> Result<SiteRow> {
        if *actor != Principal::System {
            return Err(ServiceError::Unauthorized);
        }
        let site = site_row(&new)?;
        let mut tx = self.store.begin().await?;
        self.insert_site(&mut tx.db(), actor, &site).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Site(site.id.clone()));
        tracing::info!(site.id = %site.id, "site created");
        Ok(site)
    }

    /// Inserts a new site with its root, indexed and visible, in the caller's
    /// transaction (a site's creation, or an import that makes its site).
    pub(crate) async fn insert_site(
        &self,
        db: &mut beffroi_store::Db<'_>,
        actor: &Principal,
        site: &SiteRow,
    ) -> Result<()> {
        let scope = db.insert_site(site).await.map_err(|e| match e {
            beffroi_store::StoreError::Conflict(what) if what.starts_with("host") => {
                ServiceError::Conflict(format!("{what} is already mapped to a site"))
            }
            beffroi_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("site {} already exists", site.id))
            }
            other => other.into(),
        })?;
        let mut root = ItemRow::new(SITE_ROOT_TYPE, site.language, actor.id(), site.created);
        root.title = site.title.clone();
        db.insert_item(&scope, &root).await?;
        crate::catalog::index(db, &scope, &root, &self.types).await?;
        crate::items::refresh_viewers(&self.base_workflows, db, site, &root.path).await?;
        Ok(())
    }

    /// Sets the time zone in which a site's forms and pages show date-times: its
    /// managers may.
    pub async fn set_time_zone(
        &self,
        actor: &Principal,
        site: &SiteRow,
        zone: beffroi_model::zone::SiteZone,
    ) -> Result<()> {
        self.require_on_site(actor, site, beffroi_model::security::Permission::ManagePortal).await?;
        let mut tx = self.store.begin().await?;
        tx.db().set_site_time_zone(&site.scope(), zone).await?;
        let detail = serde_json::json!({"time_zone": zone.name()});
        tx.db().audit(&site.scope(), &crate::sessions::audit_row(actor.id(), "site.time_zone", "", "", detail)).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Site(site.id.clone()));
        Ok(())
    }

    /// Sets the languages a site publishes in (its own is always one, and first) and,
    /// with more than one, gives each its language root folder (`/fr`, `/nl`: a
    /// published item of `folder_type` in that language named after it, the folders linked as
    /// translations of each other), as plone.app.multilingual does. What is already at
    /// `/<code>` is kept as that language's folder; running it again changes nothing.
    /// The site's managers may. Returns the site as it now is.
    pub async fn set_languages(
        &self,
        actor: &Principal,
        site: &SiteRow,
        languages: &[beffroi_model::Language],
        folder_type: &str,
    ) -> Result<SiteRow> {
        use beffroi_model::security::Permission;
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        if languages.is_empty() {
            return Err(ServiceError::BadRequest("a site publishes in one language at least".into()));
        }
        let mut tx = self.store.begin().await?;
        tx.db().set_site_languages(&site.scope(), site.language, languages).await?;
        let codes: Vec<&str> = languages.iter().map(|l| l.code()).collect();
        let detail = serde_json::json!({ "languages": codes });
        tx.db().audit(&site.scope(), &crate::sessions::audit_row(actor.id(), "site.languages", "", "", detail)).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Site(site.id.clone()));
        let site = self.site(&site.id).await?.ok_or(ServiceError::NotFound)?;
        if site.languages.len() < 2 {
            return Ok((*site).clone());
        }
        // Each language's root folder, made by the system on the manager's behalf
        // (the root's rules on types do not apply to it).
        let system = Principal::System;
        let mut folders = Vec::new();
        for lang in &site.languages {
            let id = beffroi_model::ItemId::parse(lang.code()).map_err(|e| ServiceError::BadRequest(e.to_string()))?;
            let path = ItemPath::root().child(&id);
            match self.item(&system, &site, &path).await {
                Ok(_) => {}
                Err(ServiceError::NotFound) => {
                    let values = serde_json::json!({"title": lang.native_name(), "language": lang.code()});
                    let values = values.as_object().cloned().unwrap_or_default();
                    let folder =
                        self.create(&system, &site, &ItemPath::root(), folder_type, Some(lang.code()), &values).await?;
                    self.transition(&system, &site, &folder.path, "publish", crate::TransitionRequest::default())
                        .await?;
                }
                Err(e) => return Err(e),
            }
            folders.push(path);
        }
        for other in &folders[1..] {
            match self.link_translation(&system, &site, &folders[0], other).await {
                // Linked before, or an item of that language was already linked there.
                Ok(()) | Err(ServiceError::BadRequest(_)) => {}
                Err(e) => return Err(e),
            }
        }
        tracing::info!(site.id = %site.id, languages = ?codes, "site languages set");
        Ok((*site).clone())
    }

    /// Sets a site's look, checked (colours for contrast, with the ratio in the
    /// refusal; footer links' addresses; the logo an image of the site the visitors
    /// may see). Its managers may. Returns the site as it now is.
    pub async fn set_theme(
        &self,
        actor: &Principal,
        site: &SiteRow,
        theme: beffroi_model::theme::Theme,
    ) -> Result<SiteRow> {
        use beffroi_model::security::Permission;
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        let theme = theme.checked().map_err(ServiceError::BadRequest)?;
        if let Some(logo) = &theme.logo {
            let path = ItemPath::parse(logo).map_err(|e| ServiceError::BadRequest(format!("logo: {e}")))?;
            let image = match self.item(&Principal::Anonymous, site, &path).await {
                Ok(view) => self
                    .types
                    .get(&view.item.type_name)
                    .is_some_and(|t| t.primary_is(beffroi_model::schema::FieldKind::Image)),
                Err(ServiceError::NotFound | ServiceError::Unauthorized) => false,
                Err(e) => return Err(e),
            };
            if !image {
                return Err(ServiceError::BadRequest(format!(
                    "logo: {logo} is not an image of the site that visitors may see"
                )));
            }
        }
        let mut tx = self.store.begin().await?;
        tx.db().set_site_theme(&site.scope(), &theme).await?;
        let detail = serde_json::to_value(&theme).unwrap_or_default();
        tx.db().audit(&site.scope(), &crate::sessions::audit_row(actor.id(), "site.theme", "", "", detail)).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Site(site.id.clone()));
        let site = self.site(&site.id).await?.ok_or(ServiceError::NotFound)?;
        Ok((*site).clone())
    }

    /// The applications loaded in this server, by name, and whether `site` has each.
    pub fn site_apps(&self, site: &SiteRow) -> Vec<(&'static str, bool)> {
        let on = crate::apps::enabled(&self.apps, site);
        self.apps.iter().map(|a| (a.name, on.contains(&a.name))).collect()
    }

    /// The names of the applications loaded, in order.
    pub fn app_names(&self) -> Vec<&'static str> {
        self.apps.iter().map(|a| a.name).collect()
    }

    /// Whether `site` has enabled the application `name`.
    pub fn has_app(&self, site: &SiteRow, name: &str) -> bool {
        crate::apps::enabled(&self.apps, site).contains(&name)
    }

    /// Enables and disables applications on a site (its managers may; an operator
    /// through the command line). An unknown name is refused and nothing changes.
    /// Content of a disabled application stays stored; its types, endpoints and views
    /// are gone from the site until it is enabled again.
    pub async fn set_site_apps(
        &self,
        actor: &Principal,
        site: &SiteRow,
        enable: &[String],
        disable: &[String],
    ) -> Result<Vec<String>> {
        self.require_on_site(actor, site, beffroi_model::security::Permission::ManagePortal).await?;
        if let Some(unknown) = enable.iter().chain(disable).find(|n| !self.apps.iter().any(|a| a.name == n.as_str())) {
            let known: Vec<&str> = self.apps.iter().map(|a| a.name).collect();
            return Err(ServiceError::BadRequest(format!(
                "unknown application {unknown:?} (this server has: {})",
                if known.is_empty() { "none".to_owned() } else { known.join(", ") }
            )));
        }
        if let Some(both) = enable.iter().find(|n| disable.contains(n)) {
            return Err(ServiceError::BadRequest(format!("{both:?} is both enabled and disabled")));
        }
        let mut on: Vec<String> = crate::apps::enabled(&self.apps, site).into_iter().map(str::to_owned).collect();
        on.retain(|n| !disable.contains(n));
        for n in enable {
            if !on.contains(n) {
                on.push(n.clone());
            }
        }
        // In the order they are loaded.
        on.sort_by_key(|n| self.apps.iter().position(|a| a.name == n.as_str()));
        let mut tx = self.store.begin().await?;
        tx.db().set_site_apps(&site.scope(), Some(&on)).await?;
        let detail = serde_json::json!({"apps": on});
        tx.db().audit(&site.scope(), &crate::sessions::audit_row(actor.id(), "site.apps", "", "", detail)).await?;
        tx.commit().await?;
        self.stale(crate::stale::Stale::Site(site.id.clone()));
        Ok(on)
    }

    pub async fn list_sites(&self) -> Result<Vec<SiteRow>> {
        let mut c = self.store.conn().await?;
        Ok(c.db().list_sites().await?)
    }

    async fn refresh_sites(&self) -> Result<()> {
        let fresh = {
            let cache = self.sites.read().expect("site cache lock");
            cache.loaded.is_some_and(|t| t.elapsed() < self.cache_ttl())
        };
        if fresh {
            return Ok(());
        }
        // Read before the rows: rows read while a change committed answer this call
        // but are not trusted for the next ones.
        let ticks = &self.site_rows_changed;
        let seen = ticks.load(std::sync::atomic::Ordering::SeqCst);
        let rows = self.list_sites().await?;
        let unchanged = ticks.load(std::sync::atomic::Ordering::SeqCst) == seen;
        let mut next = SiteCache { loaded: unchanged.then(Instant::now), ..Default::default() };
        for row in rows {
            let row = Arc::new(row);
            for h in &row.hosts {
                next.by_host.insert(h.clone(), row.clone());
            }
            next.by_id.insert(row.id.clone(), row);
        }
        *self.sites.write().expect("site cache lock") = next;
        Ok(())
    }

    /// The site with this id, from a cache refreshed every few seconds.
    pub async fn site(&self, id: &SiteId) -> Result<Option<Arc<SiteRow>>> {
        self.refresh_sites().await?;
        Ok(self.sites.read().expect("site cache lock").by_id.get(id).cloned())
    }

    /// The site mapped to this Host header value, if any.
    pub async fn site_for_host(&self, host: &str) -> Result<Option<Arc<SiteRow>>> {
        self.refresh_sites().await?;
        let cache = self.sites.read().expect("site cache lock");
        let lower = host.to_ascii_lowercase();
        if let Some(s) = cache.by_host.get(&lower) {
            return Ok(Some(s.clone()));
        }
        // "commune.be:8080" also matches a mapping of "commune.be".
        Ok(lower.rsplit_once(':').and_then(|(name, _)| cache.by_host.get(name)).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::normalize_host;

    #[test]
    fn host_names_are_normalized_and_checked() {
        assert_eq!(normalize_host("WWW.Namur.be.").as_deref(), Some("www.namur.be"));
        assert_eq!(normalize_host("localhost:8080").as_deref(), Some("localhost:8080"));
        assert_eq!(normalize_host("bad host"), None);
        assert_eq!(normalize_host("a..b"), None);
        assert_eq!(normalize_host("x:"), None);
        assert_eq!(normalize_host(""), None);
    }
}
