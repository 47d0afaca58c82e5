//! Sites (tenants) and the host names mapped to them.

use beffroi_model::zone::SiteZone;
use beffroi_model::{Language, SiteId};
use chrono::{DateTime, Utc};

use crate::{Db, Result, StoreError, on_db};

/// A site as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SiteRow {
    pub id: SiteId,
    pub title: String,
    pub language: Language,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub hosts: Vec<String>,
    /// Where its people are: forms and pages show date-times in this zone.
    pub time_zone: SiteZone,
    /// The applications it has enabled, by name; None: the deployment's defaults.
    pub apps: Option<Vec<String>>,
    /// The languages it publishes in, its own first (a Belgian commune: fr and nl);
    /// never empty.
    pub languages: Vec<Language>,
    /// Its look: accent colour, logo, footer.
    pub theme: beffroi_model::theme::Theme,
}

/// Proof that a site exists, required by every query on its content. Only the store
/// makes one, from a site it has read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SiteScope {
    id: SiteId,
}

impl SiteScope {
    pub fn id(&self) -> &SiteId {
        &self.id
    }

    /// The scope of a site known to exist (its items reference it).
    pub(crate) fn of(id: SiteId) -> Self {
        SiteScope { id }
    }

    pub(crate) fn key(&self) -> &str {
        self.id.as_str()
    }
}

impl SiteRow {
    pub fn scope(&self) -> SiteScope {
        SiteScope { id: self.id.clone() }
    }
}

/// A site's columns, as `SITE_COLS` selects them.
type Columns = (String, String, String, DateTime<Utc>, DateTime<Utc>, String, Option<String>, String, String);

const SITE_COLS: &str = "id, title, language, created, modified, time_zone, apps, languages, theme";

/// The stored list of a site's languages: its own first, then the others.
fn languages_text(own: Language, languages: &[Language]) -> String {
    let mut out = vec![own.code()];
    out.extend(languages.iter().filter(|l| **l != own).map(|l| l.code()));
    if out.len() == 1 { String::new() } else { out.join(",") }
}

fn decode((id, title, language, created, modified, zone, apps, languages, theme): Columns) -> Result<SiteRow> {
    let theme = if theme.is_empty() {
        Default::default()
    } else {
        serde_json::from_str(&theme).map_err(|e| StoreError::Corrupt(format!("site {id:?} theme: {e}")))?
    };
    let own = Language::parse(&language).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    let mut langs = vec![own];
    for code in languages.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        let l = Language::parse(code).map_err(|e| StoreError::Corrupt(format!("site {id:?} languages: {e}")))?;
        if !langs.contains(&l) {
            langs.push(l);
        }
    }
    Ok(SiteRow {
        id: SiteId::parse(&id).map_err(|e| StoreError::Corrupt(format!("site id {id:?}: {e}")))?,
        title,
        language: own,
        languages: langs,
        theme,
        created,
        modified,
        hosts: Vec::new(),
        time_zone: SiteZone::parse(&zone).map_err(|e| StoreError::Corrupt(e.to_string()))?,
        apps: apps
            .map(|a| {
                serde_json::from_str(&a).map_err(|e| StoreError::Corrupt(format!("site {id:?} applications: {e}")))
            })
            .transpose()?,
    })
}

impl Db<'_> {
    /// Inserts a site; Conflict if its id or one of its host names is taken.
    pub async fn insert_site(&mut self, site: &SiteRow) -> Result<SiteScope> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into sites (id, title, language, created, modified, time_zone, apps, languages) values ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(site.id.as_str())
            .bind(&site.title)
            .bind(site.language.code())
            .bind(site.created)
            .bind(site.modified)
            .bind(site.time_zone.name())
            .bind(apps_json(site.apps.as_deref()))
            .bind(languages_text(site.language, &site.languages))
            .execute(&mut *c)
            .await?;
            for host in &site.hosts {
                sqlx::query("insert into site_hosts (host, site_id) values ($1, $2)")
                    .bind(host)
                    .bind(site.id.as_str())
                    .execute(&mut *c)
                    .await
                    .map_err(|e| match StoreError::from(e) {
                        StoreError::Conflict(_) => StoreError::Conflict(format!("host {host}")),
                        other => other,
                    })?;
            }
        });
        Ok(site.scope())
    }

    pub async fn get_site(&mut self, id: &SiteId) -> Result<Option<SiteRow>> {
        let mut site = on_db!(self, |c| {
            let row: Option<Columns> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("select {SITE_COLS} from sites where id = $1")))
                    .bind(id.as_str())
                    .fetch_optional(&mut *c)
                    .await?;
            match row {
                None => return Ok(None),
                Some(r) => decode(r)?,
            }
        });
        site.hosts = on_db!(self, |c| {
            sqlx::query_scalar("select host from site_hosts where site_id = $1 order by host")
                .bind(id.as_str())
                .fetch_all(&mut *c)
                .await?
        });
        Ok(Some(site))
    }

    /// Every site with its host names, ordered by id.
    pub async fn list_sites(&mut self) -> Result<Vec<SiteRow>> {
        let (rows, hosts): (Vec<SiteRow>, Vec<(String, String)>) = on_db!(self, |c| {
            let rows: Vec<Columns> =
                sqlx::query_as(sqlx::AssertSqlSafe(format!("select {SITE_COLS} from sites order by id")))
                    .fetch_all(&mut *c)
                    .await?;
            let sites = rows.into_iter().map(decode).collect::<Result<Vec<_>>>()?;
            let hosts = sqlx::query_as("select site_id, host from site_hosts order by host").fetch_all(&mut *c).await?;
            (sites, hosts)
        });
        let mut rows = rows;
        for (site, host) in hosts {
            if let Some(s) = rows.iter_mut().find(|s| s.id.as_str() == site) {
                s.hosts.push(host);
            }
        }
        Ok(rows)
    }

    /// Sets the time zone of a site.
    pub async fn set_site_time_zone(&mut self, scope: &SiteScope, zone: SiteZone) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("update sites set time_zone = $2 where id = $1")
                .bind(scope.key())
                .bind(zone.name())
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Sets the languages a site publishes in (its own is always one, and first).
    pub async fn set_site_languages(&mut self, scope: &SiteScope, own: Language, languages: &[Language]) -> Result<()> {
        let text = languages_text(own, languages);
        on_db!(self, |c| {
            sqlx::query("update sites set languages = $2 where id = $1")
                .bind(scope.key())
                .bind(&text)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Sets a site's title.
    pub async fn set_site_title(&mut self, scope: &SiteScope, title: &str) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("update sites set title = $2 where id = $1")
                .bind(scope.key())
                .bind(title)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Sets a site's look.
    pub async fn set_site_theme(&mut self, scope: &SiteScope, theme: &beffroi_model::theme::Theme) -> Result<()> {
        let text = if *theme == beffroi_model::theme::Theme::default() {
            String::new()
        } else {
            serde_json::to_string(theme).map_err(|e| StoreError::Corrupt(e.to_string()))?
        };
        on_db!(self, |c| {
            sqlx::query("update sites set theme = $2 where id = $1")
                .bind(scope.key())
                .bind(&text)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Sets the applications a site has enabled (None: the defaults).
    pub async fn set_site_apps(&mut self, scope: &SiteScope, apps: Option<&[String]>) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("update sites set apps = $2 where id = $1")
                .bind(scope.key())
                .bind(apps_json(apps))
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// How many sites and items the database holds (all sites).
    pub async fn totals(&mut self) -> Result<(i64, i64)> {
        Ok(on_db!(self, |c| {
            sqlx::query_as("select (select count(*) from sites), (select count(*) from items)")
                .fetch_one(&mut *c)
                .await?
        }))
    }

    /// The next number of the site's counter `name` (1 the first time): one statement,
    /// so two transactions never get the same number; a transaction that rolls back
    /// gives its number back.
    pub async fn next_number(&mut self, scope: &SiteScope, name: &str) -> Result<i64> {
        Ok(on_db!(self, |c| {
            sqlx::query_scalar(
                "insert into counters (site_id, name, value) values ($1, $2, 1) \
                 on conflict (site_id, name) do update set value = counters.value + 1 returning value",
            )
            .bind(scope.key())
            .bind(name)
            .fetch_one(&mut *c)
            .await?
        }))
    }
}

fn apps_json(apps: Option<&[String]>) -> Option<String> {
    apps.map(|a| serde_json::to_string(a).expect("a list of names serializes"))
}
