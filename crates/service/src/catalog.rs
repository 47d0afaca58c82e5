//! Search: the catalog entry of an item (written with the item, in its transaction),
//! queries with the security filter and the effective/expires window, facets, and
//! reindexing.

use std::collections::BTreeSet;

use beffroi_model::catalog::{query_stems, query_words, search_text, sortable_title};
use beffroi_model::schema::{IndexKind, TypeRegistry, parse_datetime};
use beffroi_model::security::Principal;
use beffroi_store::{CatalogEntry, CatalogQuery, Db, IndexValue, ItemRow, SearchPage, SiteRow, SiteScope, TypeCount};
use serde_json::Value;

use crate::{Result, Services};

/// Most results one page returns.
pub const MAX_SEARCH_BATCH: i64 = 1000;

/// Items reindexed per transaction.
const REINDEX_BATCH: i64 = 500;

/// Transactions reindexing at once on PostgreSQL.
const REINDEX_WORKERS: usize = 2;

/// What the catalog keeps of `item`; its type says which fields are searchable.
pub fn entry(item: &ItemRow, types: &TypeRegistry) -> CatalogEntry {
    let text = search_text(&item.title, &item.description, &item.fields, types.get(&item.type_name));
    let (event_start, event_end) = types.get(&item.type_name).map(|t| t.date_range(&item.fields)).unwrap_or_default();
    let subjects: Vec<String> = item
        .fields
        .get("subjects")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect::<BTreeSet<_>>().into_iter().collect())
        .unwrap_or_default();
    CatalogEntry {
        uuid: item.uuid,
        language: item.language,
        title: text.title,
        lead: item.description.clone(),
        body: text.body,
        sortable_title: sortable_title(&item.title),
        subjects,
        event_start,
        event_end,
        indexed: indexed(item, types),
    }
}

/// The values of the declared indexes that `item`'s type has the field of.
fn indexed(item: &ItemRow, types: &TypeRegistry) -> Vec<(String, IndexValue)> {
    let Some(schema) = types.get(&item.type_name) else { return Vec::new() };
    let mut out = Vec::new();
    for decl in types.indexes() {
        if schema.field(&decl.field).is_none() {
            continue;
        }
        let value = item.fields.get(&decl.field);
        let mut push = |v: IndexValue| out.push((decl.name.clone(), v));
        match decl.kind {
            IndexKind::Keyword => {
                let words: Vec<&str> = match value {
                    Some(Value::String(s)) => vec![s.as_str()],
                    Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
                    _ => Vec::new(),
                };
                let words: BTreeSet<&str> = words.into_iter().map(str::trim).filter(|w| !w.is_empty()).collect();
                for w in words {
                    push(IndexValue::Word(w.to_owned()));
                }
            }
            IndexKind::Boolean => {
                let on = value.and_then(Value::as_bool).unwrap_or(false);
                push(IndexValue::Word(on.to_string()));
            }
            IndexKind::Number => {
                if let Some(n) = value.and_then(Value::as_f64) {
                    push(IndexValue::Number(n));
                }
            }
            IndexKind::Date => {
                if let Some(d) = value.and_then(Value::as_str).and_then(query_date) {
                    push(IndexValue::Date(d));
                }
            }
            // Its words are in the full text (the field is searchable).
            IndexKind::Text => {}
        }
    }
    out
}

/// A date or date-time as queries and date fields give it ("2026-12-07" is midnight
/// UTC that day).
pub fn query_date(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let s = s.trim();
    parse_datetime(s).or_else(|| {
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .map(|d| d.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
    })
}

pub(crate) async fn index(db: &mut Db<'_>, scope: &SiteScope, item: &ItemRow, types: &TypeRegistry) -> Result<()> {
    db.index_item(scope, &entry(item, types)).await?;
    Ok(())
}

/// A query's words and stems from what the user typed.
pub fn with_text(mut q: CatalogQuery, input: &str) -> CatalogQuery {
    q.words = query_words(input);
    q.stems = query_stems(input);
    q
}

impl Services {
    /// Runs a catalog query on `site` as `actor`: only what they may view, and for most
    /// people only what is within its publication window.
    pub async fn search(&self, actor: &Principal, site: &SiteRow, mut q: CatalogQuery) -> Result<SearchPage> {
        self.secure(actor, &mut q);
        self.narrow_languages(site, &mut q, Pool::Main).await?;
        let scope = site.scope();
        let mut c = self.store.conn().await?;
        let Some(text) = c.db().text_query(&q).await? else {
            return Ok(SearchPage { items: Vec::new(), total: 0 });
        };
        if !q.has_text() {
            // Without words the count is cheap, and often not needed at all.
            let items = c.db().search_page(&scope, &q, &text).await?;
            let total = match beffroi_store::page_total(&q, items.len()) {
                Some(t) => t,
                None => c.db().search_count(&scope, &q, &text).await?,
            };
            return Ok(SearchPage { items, total });
        }
        // With words, the page and the count each read every match: on two connections
        // at once when a second is free now (a page's wait is then the longer of the
        // two rather than their sum), else one after the other. Never waiting for a
        // second while holding one: when every connection is held so, none is freed.
        let Some(mut second) = self.store.try_conn() else {
            let items = c.db().search_page(&scope, &q, &text).await?;
            let total = c.db().search_count(&scope, &q, &text).await?;
            return Ok(SearchPage { items, total });
        };
        let page = async { Ok::<_, crate::ServiceError>(c.db().search_page(&scope, &q, &text).await?) };
        let count = async { Ok::<_, crate::ServiceError>(second.db().search_count(&scope, &q, &text).await?) };
        let (items, total) = tokio::try_join!(page, count)?;
        Ok(SearchPage { items, total })
    }

    /// How many results `q` finds on `site` as `actor` sees them, without reading any.
    pub async fn count(&self, actor: &Principal, site: &SiteRow, q: CatalogQuery) -> Result<i64> {
        self.count_in(Pool::Main, actor, site, q).await
    }

    /// [`Services::count`] on a connection of `pool` (the side one for a caller that
    /// holds a connection or transaction: a unit of work).
    pub(crate) async fn count_in(&self, pool: Pool, actor: &Principal, site: &SiteRow, q: CatalogQuery) -> Result<i64> {
        let Some((q, mut c, text)) = self.ready(actor, site, q, pool).await? else { return Ok(0) };
        Ok(c.db().search_count(&site.scope(), &q, &text).await?)
    }

    /// `q` as `actor` runs it on `site` (its security filter, publication window and
    /// the site's languages), with a connection of `pool` and its words as the
    /// database takes them; None when its words can match nothing.
    async fn ready(
        &self,
        actor: &Principal,
        site: &SiteRow,
        mut q: CatalogQuery,
        pool: Pool,
    ) -> Result<Option<(CatalogQuery, beffroi_store::Conn, beffroi_store::TextQuery)>> {
        self.secure(actor, &mut q);
        self.narrow_languages(site, &mut q, pool).await?;
        let mut c = pool.conn(&self.store).await?;
        Ok(c.db().text_query(&q).await?.map(|text| (q, c, text)))
    }

    /// The results of `q` on `site` as `actor` sees them, as [`Services::search`] finds
    /// them, without counting them all: for lists that show their first results and no
    /// total (the count is often the dearer half of a query).
    pub async fn search_first(
        &self,
        actor: &Principal,
        site: &SiteRow,
        q: CatalogQuery,
    ) -> Result<Vec<beffroi_store::Summary>> {
        let Some((q, mut c, text)) = self.ready(actor, site, q, Pool::Main).await? else { return Ok(Vec::new()) };
        Ok(c.db().search_page(&site.scope(), &q, &text).await?)
    }

    /// The results of `q` on `site` as `actor` sees them, as [`Services::search_first`]
    /// finds them, as full item rows (in one query when `q` has no words).
    pub async fn search_rows(&self, actor: &Principal, site: &SiteRow, q: CatalogQuery) -> Result<Vec<ItemRow>> {
        self.search_rows_in(Pool::Main, actor, site, q).await
    }

    /// [`Services::search_rows`] on a connection of `pool` (see [`Services::count_in`]).
    pub(crate) async fn search_rows_in(
        &self,
        pool: Pool,
        actor: &Principal,
        site: &SiteRow,
        q: CatalogQuery,
    ) -> Result<Vec<ItemRow>> {
        let Some((q, mut c, text)) = self.ready(actor, site, q, pool).await? else { return Ok(Vec::new()) };
        Ok(c.db().search_rows(&site.scope(), &q, &text).await?)
    }

    /// Counts of the results of `q` by type (whatever its filter on types), each with
    /// how many were modified since each of `since`.
    pub async fn type_counts(
        &self,
        actor: &Principal,
        site: &SiteRow,
        mut q: CatalogQuery,
        since: &[chrono::DateTime<chrono::Utc>],
    ) -> Result<Vec<TypeCount>> {
        self.secure(actor, &mut q);
        self.narrow_languages(site, &mut q, Pool::Main).await?;
        let mut c = self.store.conn().await?;
        Ok(c.db().type_counts(&site.scope(), &q, since).await?)
    }

    /// Counts of the results of `q` by subject (whatever its filter on subjects).
    pub async fn subject_counts(
        &self,
        actor: &Principal,
        site: &SiteRow,
        mut q: CatalogQuery,
    ) -> Result<Vec<(String, i64)>> {
        self.secure(actor, &mut q);
        self.narrow_languages(site, &mut q, Pool::Main).await?;
        let mut c = self.store.conn().await?;
        Ok(c.db().subject_counts(&site.scope(), &q).await?)
    }

    /// The full rows of search results (to show fields a summary lacks), in the
    /// order of `summaries`. Only rows of results the actor was given.
    pub async fn result_rows(&self, site: &SiteRow, summaries: &[beffroi_store::Summary]) -> Result<Vec<ItemRow>> {
        let uuids: Vec<uuid::Uuid> = summaries.iter().map(|s| s.uuid).collect();
        let mut c = self.store.conn().await?;
        let mut rows = c.db().items_by_uuids(&site.scope(), &uuids).await?;
        rows.sort_by_key(|r| uuids.iter().position(|u| *u == r.uuid));
        Ok(rows)
    }

    /// The current paths of items of `site` by UID (those that exist).
    pub async fn paths_of(
        &self,
        site: &SiteRow,
        uuids: &[uuid::Uuid],
    ) -> Result<std::collections::HashMap<uuid::Uuid, beffroi_model::ItemPath>> {
        let mut c = self.store.conn().await?;
        let rows = c.db().items_by_uuids(&site.scope(), uuids).await?;
        Ok(rows.into_iter().map(|r| (r.uuid, r.path)).collect())
    }

    /// Stems the words only in the languages the site's content is in (and the site's
    /// own): a French-only commune's query needs no Dutch stems, and every stem less
    /// is a term less to rank.
    async fn narrow_languages(&self, site: &SiteRow, q: &mut CatalogQuery, pool: Pool) -> Result<()> {
        if !q.has_text() {
            return Ok(());
        }
        let langs = match self.languages.fresh(&site.id, self.cache_ttl()) {
            Some(l) => l,
            None => {
                let seen = self.change_clock();
                let mut c = pool.conn(&self.store).await?;
                let mut l = c.db().languages_in_use(&site.scope()).await?;
                drop(c);
                if !l.contains(&site.language) {
                    l.push(site.language);
                }
                self.languages.put(&site.id, seen, l.clone());
                l
            }
        };
        q.stems = beffroi_model::catalog::stems_in(&q.words, &langs);
        q.languages_in_use = langs;
        Ok(())
    }

    fn secure(&self, actor: &Principal, q: &mut CatalogQuery) {
        q.viewer = actor.tokens();
        // Search spans the site: only roles held site-wide open the window (a folder's
        // listing also opens it to who may change that folder).
        q.active_at = (!actor.sees_inactive_content()).then(chrono::Utc::now);
        q.limit = q.limit.clamp(0, MAX_SEARCH_BATCH);
        q.offset = q.offset.max(0);
    }

    /// Rebuilds the catalog entries of a site's items (every site's with None), in
    /// batches of one transaction each; `progress(done, total)` after each batch; then
    /// tidies the tables (PostgreSQL's vacuum and statistics). Returns how many items
    /// were indexed.
    ///
    /// On PostgreSQL, which computes the text vectors itself, `REINDEX_WORKERS`
    /// transactions write at once (each batch is read, locked and written in its own
    /// transaction; the reads take turns so that batches follow each other in uid
    /// order). SQLite takes one writer at a time: one worker.
    pub async fn reindex(&self, site: Option<&SiteRow>, progress: impl FnMut(u64, u64)) -> Result<u64> {
        let scope = site.map(SiteRow::scope);
        let total = {
            let mut c = self.store.conn().await?;
            c.db().count_items(scope.as_ref()).await? as u64
        };
        let workers = match self.store.backend() {
            beffroi_store::Backend::Sqlite => 1,
            beffroi_store::Backend::Postgres => REINDEX_WORKERS,
        };
        // Where the next batch starts; None once every item has been read.
        let cursor = tokio::sync::Mutex::new(Some(uuid::Uuid::nil()));
        let done = std::sync::Mutex::new((0u64, progress));
        let worker = || async {
            loop {
                let mut tx = self.store.begin().await?;
                let batch = {
                    let mut next = cursor.lock().await;
                    let Some(after) = *next else { break };
                    let batch = tx.db().items_after(scope.as_ref(), after, REINDEX_BATCH).await?;
                    *next = batch.last().map(|(_, last)| last.uuid);
                    batch
                };
                if batch.is_empty() {
                    break;
                }
                let entries: Vec<_> =
                    batch.iter().map(|(scope, item)| (scope.clone(), entry(item, &self.types))).collect();
                tx.db().index_items(&entries).await?;
                tx.commit().await?;
                let mut d = done.lock().expect("progress lock");
                d.0 += batch.len() as u64;
                let n = d.0;
                (d.1)(n, total);
            }
            Ok::<_, crate::ServiceError>(())
        };
        futures_util::future::try_join_all((0..workers).map(|_| worker())).await?;
        self.store.tidy_catalog().await?;
        let n = done.lock().expect("progress lock").0;
        Ok(n)
    }

    /// Reindexes every item when the indexes the applications declare changed since
    /// the last run (a fingerprint in the settings) and some content has a field they
    /// read, so that a new index finds the content made before it. Returns how many
    /// items were reindexed.
    pub async fn reconcile_indexes(&self) -> Result<u64> {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        for d in self.types.indexes() {
            h.update(format!("{}\0{:?}\0{}\n", d.name, d.kind, d.field).as_bytes());
        }
        let hash: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        let stored = {
            let mut c = self.store.conn().await?;
            c.db().setting("indexes.hash").await?
        };
        // A database from before declared indexes had none.
        let unchanged = match &stored {
            Some(s) => *s == hash,
            None => self.types.indexes().is_empty(),
        };
        // Only content of a type with an indexed field can gain or lose values: a
        // deployment that adds an application no site uses yet reindexes nothing.
        let indexed_types: Vec<String> = self
            .types
            .all()
            .iter()
            .filter(|t| self.types.indexes().iter().any(|d| t.field(&d.field).is_some()))
            .map(|t| t.id.clone())
            .collect();
        let concerned = if unchanged {
            0
        } else {
            let mut c = self.store.conn().await?;
            c.db().count_items_of_types(&indexed_types).await?
        };
        let n = if concerned == 0 { 0 } else { self.reindex(None, |_, _| {}).await? };
        if stored.as_deref() != Some(hash.as_str()) {
            let mut tx = self.store.begin().await?;
            tx.db().set_setting("indexes.hash", &hash).await?;
            tx.commit().await?;
        }
        Ok(n)
    }

    /// Indexes the items the catalog does not hold yet (content from before it
    /// existed); run at start. Returns how many there were.
    pub async fn index_missing(&self) -> Result<u64> {
        let mut done = 0;
        loop {
            let mut tx = self.store.begin().await?;
            let batch = tx.db().unindexed_items(REINDEX_BATCH).await?;
            if batch.is_empty() {
                break;
            }
            let entries: Vec<_> = batch.iter().map(|(scope, item)| (scope.clone(), entry(item, &self.types))).collect();
            tx.db().index_items(&entries).await?;
            tx.commit().await?;
            done += batch.len() as u64;
        }
        Ok(done)
    }
}

/// Which pool a read takes its connection from: the main one, or, for a caller that
/// already holds a connection or transaction, the side one (see
/// [`beffroi_store::Store::side_conn`]).
#[derive(Clone, Copy)]
pub(crate) enum Pool {
    Main,
    Side,
}

impl Pool {
    async fn conn(self, store: &beffroi_store::Store) -> Result<beffroi_store::Conn> {
        Ok(match self {
            Pool::Main => store.conn().await?,
            Pool::Side => store.side_conn().await?,
        })
    }
}
