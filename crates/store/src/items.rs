//! The content tree: items, their paths, order within folders, and redirects left by
//! moves.

use std::collections::BTreeSet;

use beffroi_model::security::LocalRoles;
use beffroi_model::{ItemPath, Language};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use sqlx::types::Json;
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use crate::sites::SiteScope;
use crate::{Db, Result, StoreError, on_db};

/// An item as stored, with its field values.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub uuid: Uuid,
    pub parent: Option<Uuid>,
    pub id: String,
    pub path: ItemPath,
    pub type_name: String,
    pub title: String,
    pub description: String,
    pub language: Language,
    pub fields: Map<String, Value>,
    pub review_state: Option<String>,
    pub exclude_from_nav: bool,
    pub creator: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub effective: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
    pub position: i64,
    pub local_roles: LocalRoles,
    pub block_inheritance: bool,
}

impl ItemRow {
    /// A new item of `type_name` at the site root's place, with a fresh time-ordered
    /// UUID and no values yet; the caller sets its place and fields.
    pub fn new(type_name: &str, language: Language, creator: &str, now: DateTime<Utc>) -> ItemRow {
        ItemRow {
            uuid: Uuid::now_v7(),
            parent: None,
            id: String::new(),
            path: ItemPath::root(),
            type_name: type_name.to_owned(),
            title: String::new(),
            description: String::new(),
            language,
            fields: Map::new(),
            review_state: None,
            exclude_from_nav: false,
            creator: creator.to_owned(),
            created: now,
            modified: now,
            effective: None,
            expires: None,
            position: 0,
            local_roles: LocalRoles::default(),
            block_inheritance: false,
        }
    }
}

/// An item without its field values: what listings need.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub uuid: Uuid,
    pub id: String,
    pub path: ItemPath,
    pub type_name: String,
    pub title: String,
    pub description: String,
    pub review_state: Option<String>,
    pub exclude_from_nav: bool,
    pub creator: String,
    pub created: DateTime<Utc>,
    pub modified: DateTime<Utc>,
    pub effective: Option<DateTime<Utc>>,
    pub position: i64,
    /// The stored file of the item's `image` field, if it has one.
    pub image: Option<serde_json::Value>,
    /// With `effective`, the item's publication window (a cached listing is filtered by
    /// it when read, as time passes).
    pub expires: Option<DateTime<Utc>>,
}

/// A subtree move: the item `uuid` goes from `from` to `to`, under `new_parent`.
#[derive(Debug, Clone, Copy)]
pub struct SubtreeMove<'a> {
    pub uuid: Uuid,
    pub from: &'a ItemPath,
    pub to: &'a ItemPath,
    pub new_parent: Uuid,
    pub new_id: &'a str,
    pub modified: DateTime<Utc>,
}

pub(crate) const ITEM_COLS: &str = "uuid, parent, id, path, type_name, title, description, language, fields, review_state, exclude_from_nav, creator, created, modified, effective, expires, position, local_roles, block_inheritance";
pub(crate) const SUMMARY_COLS: &str = "uuid, id, path, type_name, title, description, review_state, exclude_from_nav, creator, created, modified, effective, position, image, expires";

/// The stored file of an item's `image` field, as kept in the `image` column.
fn image_column(item: &ItemRow) -> Option<String> {
    item.fields.get("image").filter(|v| v.is_object()).map(|v| v.to_string())
}

macro_rules! item_from_row {
    ($r:expr) => {{
        let r = $r;
        let lang: String = r.try_get(7)?;
        let ::sqlx::types::Json(fields): ::sqlx::types::Json<::serde_json::Map<String, ::serde_json::Value>> =
            r.try_get(8)?;
        $crate::ItemRow {
            uuid: r.try_get(0)?,
            parent: r.try_get(1)?,
            id: r.try_get(2)?,
            path: ::beffroi_model::ItemPath::from_stored(r.try_get(3)?),
            type_name: r.try_get(4)?,
            title: r.try_get(5)?,
            description: r.try_get(6)?,
            language: ::beffroi_model::Language::parse(&lang)
                .map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
            fields,
            review_state: r.try_get(9)?,
            exclude_from_nav: r.try_get(10)?,
            creator: r.try_get(11)?,
            created: r.try_get(12)?,
            modified: r.try_get(13)?,
            effective: r.try_get(14)?,
            expires: r.try_get(15)?,
            position: r.try_get(16)?,
            local_roles: {
                let ::sqlx::types::Json(l): ::sqlx::types::Json<::beffroi_model::security::LocalRoles> =
                    r.try_get(17)?;
                l
            },
            block_inheritance: r.try_get(18)?,
        }
    }};
}
pub(crate) use item_from_row;

macro_rules! summary_from_row {
    ($r:expr) => {{
        let r = $r;
        $crate::Summary {
            uuid: r.try_get(0)?,
            id: r.try_get(1)?,
            path: ::beffroi_model::ItemPath::from_stored(r.try_get(2)?),
            type_name: r.try_get(3)?,
            title: r.try_get(4)?,
            description: r.try_get(5)?,
            review_state: r.try_get(6)?,
            exclude_from_nav: r.try_get(7)?,
            creator: r.try_get(8)?,
            created: r.try_get(9)?,
            modified: r.try_get(10)?,
            effective: r.try_get(11)?,
            position: r.try_get(12)?,
            image: r
                .try_get::<Option<String>, _>(13)?
                .and_then(|s| ::serde_json::from_str::<::serde_json::Value>(&s).ok()),
            expires: r.try_get(14)?,
        }
    }};
}
pub(crate) use summary_from_row;

/// `and exists (…)` restricting items to those one of the tokens may view, with the
/// tokens bound from `$first` on; nothing for None.
fn viewer_filter(viewer: Option<&[String]>, first: usize) -> String {
    match viewer {
        None => String::new(),
        Some([]) => "and 1 = 0".to_owned(),
        Some(tokens) => format!(
            "and exists (select 1 from item_viewers v where v.item_uuid = items.uuid and v.token in ({}))",
            placeholders(first, tokens.len())
        ),
    }
}

/// `and …` restricting items to those within their publication window at `active_at`,
/// with that time bound as `$first` and `$first+1`; nothing for None. The catalog's
/// rule (`beffroi_model::security::is_active`), in SQL.
fn window_filter(active_at: Option<DateTime<Utc>>, first: usize) -> String {
    match active_at {
        None => String::new(),
        Some(_) => format!(
            "and (effective is null or effective <= ${first}) and (expires is null or expires > ${})",
            first + 1
        ),
    }
}

/// How many parameters [`window_filter`] takes.
fn window_params(active_at: Option<DateTime<Utc>>) -> usize {
    if active_at.is_some() { 2 } else { 0 }
}

/// Runs a query of summaries whose trailing parameters are the viewer tokens.
macro_rules! fetch_summaries {
    ($c:ident, $q:expr, $viewer:expr) => {{
        let mut q = $q;
        for t in $viewer.unwrap_or_default() {
            q = q.bind(t);
        }
        let rows = q.fetch_all(&mut *$c).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(summary_from_row!(r));
        }
        Ok(out)
    }};
}

/// `$first, $first+1, …` for `n` values.
pub(crate) fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Db<'_> {
    /// Inserts an item as the last child of its parent; returns its position.
    /// Conflict when the path is taken.
    pub async fn insert_item(&mut self, scope: &SiteScope, item: &ItemRow) -> Result<i64> {
        self.insert_item_with(scope, item, None).await
    }

    /// [`Db::insert_item`] that also fills the columns the catalog keeps on items.
    pub(crate) async fn insert_item_with(
        &mut self,
        scope: &SiteScope,
        item: &ItemRow,
        entry: Option<&crate::CatalogEntry>,
    ) -> Result<i64> {
        let position: i64 = on_db!(self, |c| {
            sqlx::query_scalar(
                "insert into items (uuid, site_id, parent, id, path, type_name, title, description, language, fields, review_state, exclude_from_nav, creator, created, modified, effective, expires, local_roles, block_inheritance, sortable_title, event_start, event_end, image, position)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23,
                         (select coalesce(max(position), -1) + 1 from items where site_id = $2 and parent = $3))
                 returning position",
            )
            .bind(item.uuid)
            .bind(scope.key())
            .bind(item.parent)
            .bind(&item.id)
            .bind(item.path.as_str())
            .bind(&item.type_name)
            .bind(&item.title)
            .bind(&item.description)
            .bind(item.language.code())
            .bind(Json(&item.fields))
            .bind(&item.review_state)
            .bind(item.exclude_from_nav)
            .bind(&item.creator)
            .bind(item.created)
            .bind(item.modified)
            .bind(item.effective)
            .bind(item.expires)
            .bind(Json(&item.local_roles))
            .bind(item.block_inheritance)
            .bind(entry.map(|e| e.sortable_title.as_str()).unwrap_or_default())
            .bind(entry.and_then(|e| e.event_start))
            .bind(entry.and_then(|e| e.event_end))
            .bind(image_column(item))
            .fetch_one(&mut *c)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("an item already exists at {}", item.path)),
                other => other,
            })?
        });
        Ok(position)
    }

    pub async fn item_by_path(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<Option<ItemRow>> {
        let sql = format!("select {ITEM_COLS} from items where site_id = $1 and path = $2");
        on_db!(self, |c| {
            let row =
                sqlx::query(AssertSqlSafe(sql)).bind(scope.key()).bind(path.as_str()).fetch_optional(&mut *c).await?;
            Ok(match row {
                Some(r) => Some(item_from_row!(r)),
                None => None,
            })
        })
    }

    pub async fn item_by_uuid(&mut self, scope: &SiteScope, uuid: Uuid) -> Result<Option<ItemRow>> {
        let sql = format!("select {ITEM_COLS} from items where site_id = $1 and uuid = $2");
        on_db!(self, |c| {
            let row = sqlx::query(AssertSqlSafe(sql)).bind(scope.key()).bind(uuid).fetch_optional(&mut *c).await?;
            Ok(match row {
                Some(r) => Some(item_from_row!(r)),
                None => None,
            })
        })
    }

    /// The items on the way from the root to `path` that exist, root first, in one
    /// query: the item itself is last when it exists.
    pub async fn lineage(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<Vec<ItemRow>> {
        let paths = path.lineage();
        let sql =
            format!("select {ITEM_COLS} from items where site_id = $1 and path in ({})", placeholders(2, paths.len()));
        let mut rows: Vec<ItemRow> = on_db!(self, |c| {
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scope.key());
            for p in &paths {
                q = q.bind(p.as_str());
            }
            let mut out = Vec::with_capacity(paths.len());
            for r in q.fetch_all(&mut *c).await? {
                out.push(item_from_row!(r));
            }
            out
        });
        rows.sort_by_key(|r| r.path.depth());
        Ok(rows)
    }

    /// One batch of a folder's children in their order. With `viewer` tokens, only
    /// the children whose stored viewers share one of them (see
    /// `beffroi_model::security::viewers`); None means everything (the system). With
    /// `active_at`, only those within their publication window at that time.
    pub async fn children(
        &mut self,
        scope: &SiteScope,
        parent: Uuid,
        viewer: Option<&[String]>,
        active_at: Option<DateTime<Utc>>,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Summary>> {
        let sql = format!(
            "select {SUMMARY_COLS} from items where site_id = $1 and parent = $2 {} {} order by position, id limit $3 offset $4",
            window_filter(active_at, 5),
            viewer_filter(viewer, 5 + window_params(active_at))
        );
        on_db!(self, |c| {
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scope.key()).bind(parent).bind(limit).bind(offset);
            if let Some(now) = active_at {
                q = q.bind(now).bind(now);
            }
            fetch_summaries!(c, q, viewer)
        })
    }

    /// How many children of `parent` the `viewer` tokens may see (all with None), within
    /// their publication window at `active_at` when given.
    pub async fn count_children(
        &mut self,
        scope: &SiteScope,
        parent: Uuid,
        viewer: Option<&[String]>,
        active_at: Option<DateTime<Utc>>,
    ) -> Result<i64> {
        let sql = format!(
            "select count(*) from items where site_id = $1 and parent = $2 {} {}",
            window_filter(active_at, 3),
            viewer_filter(viewer, 3 + window_params(active_at))
        );
        on_db!(self, |c| {
            let mut q = sqlx::query_scalar(AssertSqlSafe(sql)).bind(scope.key()).bind(parent);
            if let Some(now) = active_at {
                q = q.bind(now).bind(now);
            }
            for t in viewer.unwrap_or_default() {
                q = q.bind(t);
            }
            Ok(q.fetch_one(&mut *c).await?)
        })
    }

    /// The item at `path` and everything below it, in [`tree_order`].
    pub async fn subtree(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<Vec<ItemRow>> {
        let (lo, hi) = path.descendant_bounds();
        // Sorted here, not by the SQL: ordered by path, SQLite reads the whole site
        // in path order rather than the two ranges, and byte order is not tree order.
        let sql =
            format!("select {ITEM_COLS} from items where site_id = $1 and (path = $2 or (path > $3 and path < $4))");
        on_db!(self, |c| {
            let rows = sqlx::query(AssertSqlSafe(sql))
                .bind(scope.key())
                .bind(path.as_str())
                .bind(lo)
                .bind(hi)
                .fetch_all(&mut *c)
                .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push(item_from_row!(r));
            }
            tree_order(&mut out);
            Ok(out)
        })
    }

    /// The item at `path` and everything below it, in [`tree_order`], with only what access
    /// decisions need: title, description and field values are left empty. Never write
    /// these rows back.
    pub async fn subtree_for_access(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<Vec<ItemRow>> {
        let (lo, hi) = path.descendant_bounds();
        on_db!(self, |c| {
            let rows = sqlx::query(
                "select uuid, parent, id, path, type_name, language, review_state, creator, created, modified, local_roles, block_inheritance
                 from items where site_id = $1 and (path = $2 or (path > $3 and path < $4))",
            )
            .bind(scope.key())
            .bind(path.as_str())
            .bind(lo)
            .bind(hi)
            .fetch_all(&mut *c)
            .await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let lang: String = r.try_get(5)?;
                let Json(local_roles): Json<LocalRoles> = r.try_get(10)?;
                out.push(ItemRow {
                    uuid: r.try_get(0)?,
                    parent: r.try_get(1)?,
                    id: r.try_get(2)?,
                    path: ItemPath::from_stored(r.try_get(3)?),
                    type_name: r.try_get(4)?,
                    title: String::new(),
                    description: String::new(),
                    language: Language::parse(&lang).map_err(|e| StoreError::Corrupt(e.to_string()))?,
                    fields: Map::new(),
                    review_state: r.try_get(6)?,
                    exclude_from_nav: false,
                    creator: r.try_get(7)?,
                    created: r.try_get(8)?,
                    modified: r.try_get(9)?,
                    effective: None,
                    expires: None,
                    position: 0,
                    local_roles,
                    block_inheritance: r.try_get(11)?,
                });
            }
            tree_order(&mut out);
            Ok(out)
        })
    }

    /// Writes an item's local roles and whether it blocks inheritance.
    pub async fn set_sharing(&mut self, scope: &SiteScope, uuid: Uuid, local: &LocalRoles, block: bool) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("update items set local_roles = $1, block_inheritance = $2 where site_id = $3 and uuid = $4")
                .bind(Json(local))
                .bind(block)
                .bind(scope.key())
                .bind(uuid)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// The stored "who may View" tokens of every item in the subtree at `path`.
    pub async fn subtree_viewers(
        &mut self,
        scope: &SiteScope,
        path: &ItemPath,
    ) -> Result<std::collections::HashMap<Uuid, BTreeSet<String>>> {
        let (lo, hi) = path.descendant_bounds();
        let rows: Vec<(Uuid, String)> = on_db!(self, |c| {
            sqlx::query_as(
                "select v.item_uuid, v.token from item_viewers v join items i on i.uuid = v.item_uuid
                 where i.site_id = $1 and (i.path = $2 or (i.path > $3 and i.path < $4))",
            )
            .bind(scope.key())
            .bind(path.as_str())
            .bind(lo)
            .bind(hi)
            .fetch_all(&mut *c)
            .await?
        });
        let mut out: std::collections::HashMap<Uuid, BTreeSet<String>> = std::collections::HashMap::new();
        for (u, t) in rows {
            out.entry(u).or_default().insert(t);
        }
        Ok(out)
    }

    /// Stores the viewers of an item that has none yet (one just inserted).
    pub async fn add_viewers(&mut self, uuid: Uuid, tokens: &BTreeSet<String>) -> Result<()> {
        if tokens.is_empty() {
            return Ok(());
        }
        let insert = format!(
            "insert into item_viewers (item_uuid, token) values {}",
            (0..tokens.len()).map(|i| format!("($1, ${})", i + 2)).collect::<Vec<_>>().join(", ")
        );
        on_db!(self, |c| {
            let mut q = sqlx::query(AssertSqlSafe(insert)).bind(uuid);
            for t in tokens {
                q = q.bind(t);
            }
            q.execute(&mut *c).await?;
        });
        Ok(())
    }

    /// Replaces the stored viewers of many items (`before`: those stored, as
    /// [`Db::subtree_viewers`] read them), in batches that stay below the backends'
    /// limits on bound parameters. Only the items that everyone may now see, or no
    /// longer, are marked again in the catalog.
    pub async fn set_viewers_many(
        &mut self,
        changes: &[(Uuid, BTreeSet<String>)],
        before: &std::collections::HashMap<Uuid, BTreeSet<String>>,
    ) -> Result<()> {
        const MAX_PARAMS: usize = 20_000;
        let mut start = 0;
        while start < changes.len() {
            // Each item costs one parameter in the delete and two per token in the insert.
            let mut end = start;
            let mut params = 0;
            while end < changes.len() && (end == start || params + 1 + 2 * changes[end].1.len() <= MAX_PARAMS) {
                params += 1 + 2 * changes[end].1.len();
                end += 1;
            }
            let chunk = &changes[start..end];
            start = end;
            let delete = format!("delete from item_viewers where item_uuid in ({})", placeholders(1, chunk.len()));
            let pairs: Vec<(Uuid, &String)> =
                chunk.iter().flat_map(|(u, ts)| ts.iter().map(move |t| (*u, t))).collect();
            let insert = format!(
                "insert into item_viewers (item_uuid, token) values {}",
                (0..pairs.len()).map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2)).collect::<Vec<_>>().join(", ")
            );
            on_db!(self, |c| {
                let mut q = sqlx::query(AssertSqlSafe(delete));
                for (u, _) in chunk {
                    q = q.bind(*u);
                }
                q.execute(&mut *c).await?;
                if !pairs.is_empty() {
                    let mut q = sqlx::query(AssertSqlSafe(insert));
                    for (u, t) in &pairs {
                        q = q.bind(*u).bind(*t);
                    }
                    q.execute(&mut *c).await?;
                }
            });
        }
        let everyone = |tokens: Option<&BTreeSet<String>>| tokens.is_some_and(|t| t.contains(crate::catalog::EVERYONE));
        let uuids: Vec<Uuid> = changes
            .iter()
            .filter(|(u, after)| everyone(before.get(u)) != everyone(Some(after)))
            .map(|(u, _)| *u)
            .collect();
        self.refresh_marks(&uuids).await
    }

    /// The site whose item has this uuid, if any: uuids are unique across sites.
    pub async fn site_of_uuid(&mut self, uuid: Uuid) -> Result<Option<String>> {
        on_db!(self, |c| {
            Ok(sqlx::query_scalar("select site_id from items where uuid = $1")
                .bind(uuid)
                .fetch_optional(&mut *c)
                .await?)
        })
    }

    /// The stored "who may View" tokens of an item.
    pub async fn viewers(&mut self, uuid: Uuid) -> Result<BTreeSet<String>> {
        on_db!(self, |c| {
            let v: Vec<String> = sqlx::query_scalar("select token from item_viewers where item_uuid = $1")
                .bind(uuid)
                .fetch_all(&mut *c)
                .await?;
            Ok(v.into_iter().collect())
        })
    }

    /// Items of the site in `state` that the `viewer` tokens may see, oldest change
    /// first.
    pub async fn in_state(
        &mut self,
        scope: &SiteScope,
        state: &str,
        viewer: Option<&[String]>,
        limit: i64,
    ) -> Result<Vec<Summary>> {
        let sql = format!(
            "select {SUMMARY_COLS} from items where site_id = $1 and review_state = $2 {} order by modified limit $3",
            viewer_filter(viewer, 4)
        );
        on_db!(self, |c| fetch_summaries!(
            c,
            sqlx::query(AssertSqlSafe(sql)).bind(scope.key()).bind(state).bind(limit),
            viewer
        ))
    }

    /// Number of items strictly below `path`.
    pub async fn count_descendants(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<i64> {
        let (lo, hi) = path.descendant_bounds();
        on_db!(self, |c| {
            Ok(sqlx::query_scalar("select count(*) from items where site_id = $1 and path > $2 and path < $3")
                .bind(scope.key())
                .bind(lo)
                .bind(hi)
                .fetch_one(&mut *c)
                .await?)
        })
    }

    /// Ids of the children of `parent` (at `parent_path`) equal to `base` or starting
    /// with `base-`: the candidates a new id must not collide with. The lookup runs on
    /// the path index, so it stays cheap in folders of any size.
    pub async fn sibling_ids_like(
        &mut self,
        scope: &SiteScope,
        parent: Uuid,
        parent_path: &ItemPath,
        base: &str,
    ) -> Result<Vec<String>> {
        let exact = format!("{}/{base}", parent_path.as_str());
        let (lo, hi) = (format!("{exact}-"), format!("{exact}."));
        let rows: Vec<(String, Option<Uuid>)> = on_db!(self, |c| {
            sqlx::query_as(
                "select id, parent from items where site_id = $1 and (path = $2 or (path > $3 and path < $4))",
            )
            .bind(scope.key())
            .bind(exact)
            .bind(lo)
            .bind(hi)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().filter(|(_, p)| *p == Some(parent)).map(|(id, _)| id).collect())
    }

    /// Writes an item's mutable columns (not its place in the tree).
    pub async fn update_item(&mut self, scope: &SiteScope, item: &ItemRow) -> Result<()> {
        self.update_item_same_dates(scope, item).await?;
        // Its publication dates may have changed, and with them who may see it.
        self.refresh_marks(&[item.uuid]).await
    }

    /// Writes an item's mutable columns, its publication dates (effective, expires)
    /// being those stored: its access mark holds as it is.
    pub async fn update_item_same_dates(&mut self, scope: &SiteScope, item: &ItemRow) -> Result<()> {
        let n = on_db!(self, |c| {
            sqlx::query(
                "update items set title = $1, description = $2, language = $3, fields = $4, review_state = $5,
                        exclude_from_nav = $6, modified = $7, effective = $8, expires = $9, image = $12
                 where site_id = $10 and uuid = $11",
            )
            .bind(&item.title)
            .bind(&item.description)
            .bind(item.language.code())
            .bind(Json(&item.fields))
            .bind(&item.review_state)
            .bind(item.exclude_from_nav)
            .bind(item.modified)
            .bind(item.effective)
            .bind(item.expires)
            .bind(scope.key())
            .bind(item.uuid)
            .bind(image_column(item))
            .execute(&mut *c)
            .await?
            .rows_affected()
        });
        crate::found(n)
    }

    /// Deletes the item at `path` and everything below it; returns how many went.
    pub async fn delete_subtree(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<u64> {
        let (lo, hi) = path.descendant_bounds();
        on_db!(self, |c| {
            // Redirects to the deleted items go with them (foreign key cascade).
            Ok(sqlx::query("delete from items where site_id = $1 and (path = $2 or (path > $3 and path < $4))")
                .bind(scope.key())
                .bind(path.as_str())
                .bind(lo)
                .bind(hi)
                .execute(&mut *c)
                .await?
                .rows_affected())
        })
    }

    /// Moves the subtree at `old` to `new` under `new_parent` with id `new_id`, as the
    /// parent's last child; every descendant's path is rewritten in the same statement.
    pub async fn move_subtree(&mut self, scope: &SiteScope, m: &SubtreeMove<'_>) -> Result<()> {
        let SubtreeMove { uuid, from: old, new_parent, new_id, to: new, modified } = *m;
        let (lo, hi) = old.descendant_bounds();
        let old_len = old.as_str().len() as i64;
        on_db!(self, |c| {
            sqlx::query(
                "update items set path = $1 || substr(path, cast($2 as integer))
                 where site_id = $3 and path > $4 and path < $5",
            )
            .bind(new.as_str())
            .bind(old_len + 1)
            .bind(scope.key())
            .bind(lo)
            .bind(hi)
            .execute(&mut *c)
            .await?;
            sqlx::query(
                "update items set path = $1, id = $2, parent = $3, modified = $4,
                        position = (select coalesce(max(position), -1) + 1 from items where site_id = $5 and parent = $3)
                 where site_id = $5 and uuid = $6",
            )
            .bind(new.as_str())
            .bind(new_id)
            .bind(new_parent)
            .bind(modified)
            .bind(scope.key())
            .bind(uuid)
            .execute(&mut *c)
            .await
            .map_err(|e| match StoreError::from(e) {
                StoreError::Conflict(_) => StoreError::Conflict(format!("an item already exists at {new}")),
                other => other,
            })?;
        });
        Ok(())
    }

    /// The uuids of a folder's children in their order.
    pub async fn child_order(&mut self, scope: &SiteScope, parent: Uuid) -> Result<Vec<Uuid>> {
        on_db!(self, |c| {
            Ok(sqlx::query_scalar("select uuid from items where parent = $1 and site_id = $2 order by position, id")
                .bind(parent)
                .bind(scope.key())
                .fetch_all(&mut *c)
                .await?)
        })
    }

    /// Renumbers children: the i-th uuid gets position i. Only changed rows are written.
    pub async fn set_positions(&mut self, scope: &SiteScope, old: &[Uuid], new: &[Uuid]) -> Result<()> {
        for (i, u) in new.iter().enumerate() {
            if old.get(i) == Some(u) {
                continue;
            }
            on_db!(self, |c| {
                sqlx::query("update items set position = $1 where site_id = $2 and uuid = $3")
                    .bind(i as i64)
                    .bind(scope.key())
                    .bind(*u)
                    .execute(&mut *c)
                    .await?;
            });
        }
        Ok(())
    }

    /// Remembers that `old` now lives at the item `uuid`, replacing an older record.
    pub async fn insert_redirect(
        &mut self,
        scope: &SiteScope,
        old: &ItemPath,
        uuid: Uuid,
        at: DateTime<Utc>,
    ) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from redirects where site_id = $1 and old_path = $2")
                .bind(scope.key())
                .bind(old.as_str())
                .execute(&mut *c)
                .await?;
            sqlx::query("insert into redirects (site_id, old_path, item_uuid, created) values ($1, $2, $3, $4)")
                .bind(scope.key())
                .bind(old.as_str())
                .bind(uuid)
                .bind(at)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Forgets the redirect at exactly `path` (an item now lives there).
    pub async fn delete_redirect(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from redirects where site_id = $1 and old_path = $2")
                .bind(scope.key())
                .bind(path.as_str())
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }

    /// Brings the planner's statistics up to date within a long transaction that
    /// grows the tables (an import). PostgreSQL plans a prepared statement once for
    /// what it knew when the tables were empty (a sequential scan), then keeps the
    /// plan while they fill: each lookup by path grew with the site (10,000 items in
    /// 149 s). ANALYZE in the transaction counts its own rows and replans. SQLite's
    /// planner uses the indexes without statistics: nothing to do.
    pub async fn refresh_statistics(&mut self) -> Result<()> {
        if let Db::Postgres(c) = self {
            let c: &mut sqlx::PgConnection = c;
            sqlx::query(
                "analyze items, item_text, item_viewers, item_subjects, item_index, revisions, workflow_history, redirects",
            )
            .execute(&mut *c)
            .await?;
        }
        Ok(())
    }

    /// Every redirect of the site: the old path and the current path of its item, by
    /// old path (for an export).
    pub async fn redirects(&mut self, scope: &SiteScope) -> Result<Vec<(ItemPath, ItemPath)>> {
        let rows: Vec<(String, String)> = on_db!(self, |c| {
            sqlx::query_as(
                "select r.old_path, i.path from redirects r join items i on i.uuid = r.item_uuid
                 where r.site_id = $1 order by r.old_path",
            )
            .bind(scope.key())
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().map(|(old, now)| (ItemPath::from_stored(old), ItemPath::from_stored(now))).collect())
    }

    /// The old addresses recorded for the item `uuid` (every item's with None): the old
    /// path, the item's path now, when it was recorded; by old path.
    pub async fn aliases(
        &mut self,
        scope: &SiteScope,
        uuid: Option<Uuid>,
    ) -> Result<Vec<(ItemPath, ItemPath, DateTime<Utc>)>> {
        let rows: Vec<(String, String, DateTime<Utc>)> = on_db!(self, |c| {
            let sql = "select r.old_path, i.path, r.created from redirects r join items i on i.uuid = r.item_uuid
                 where r.site_id = $1 and ($2 is null or r.item_uuid = $2) order by r.old_path";
            sqlx::query_as(sql).bind(scope.key()).bind(uuid).fetch_all(&mut *c).await?
        });
        Ok(rows
            .into_iter()
            .map(|(old, now, at)| (ItemPath::from_stored(old), ItemPath::from_stored(now), at))
            .collect())
    }

    /// Where a request for a vanished `path` should go now: the current path of the
    /// item recorded for the longest recorded prefix of `path`, plus the rest.
    pub async fn find_redirect(&mut self, scope: &SiteScope, path: &ItemPath) -> Result<Option<ItemPath>> {
        let paths: Vec<ItemPath> = path.lineage().into_iter().filter(|p| !p.is_root()).collect();
        if paths.is_empty() {
            return Ok(None);
        }
        let sql = format!(
            "select r.old_path, i.path from redirects r join items i on i.uuid = r.item_uuid
             where r.site_id = $1 and r.old_path in ({})",
            placeholders(2, paths.len())
        );
        let found: Vec<(String, String)> = on_db!(self, |c| {
            let mut q = sqlx::query_as(AssertSqlSafe(sql)).bind(scope.key());
            for p in &paths {
                q = q.bind(p.as_str());
            }
            q.fetch_all(&mut *c).await?
        });
        let best = found.into_iter().max_by_key(|(old, _)| old.len());
        Ok(best.and_then(|(old, now)| path.rebase(&ItemPath::from_stored(old), &ItemPath::from_stored(now))))
    }
}

/// Sorts rows of a subtree parents first, each item followed by all of its
/// descendants before its next sibling (a depth-first walk), as the callers that keep a
/// stack of ancestors need. Byte order of paths is not that: "/a/b-c" falls between
/// "/a/b" and "/a/b/d".
fn tree_order(rows: &mut [ItemRow]) {
    rows.sort_by(|a, b| a.path.as_str().split('/').cmp(b.path.as_str().split('/')));
}
