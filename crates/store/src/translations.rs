//! Translation groups (plone.app.multilingual): the items of a site that say the same
//! thing in other languages share a group.

use beffroi_model::ItemPath;
use uuid::Uuid;

use crate::sites::SiteScope;
use crate::{Db, Result, on_db};

/// One item of a translation group: its uuid, path and language code.
pub type Translation = (Uuid, ItemPath, String);

impl Db<'_> {
    /// The translation group of an item, if it is in one.
    pub async fn translation_group(&mut self, scope: &SiteScope, item: Uuid) -> Result<Option<Uuid>> {
        on_db!(self, |c| {
            Ok(sqlx::query_scalar("select tgroup from item_translations where site_id = $1 and item_uuid = $2")
                .bind(scope.key())
                .bind(item)
                .fetch_optional(&mut *c)
                .await?)
        })
    }

    /// Whether any item of the site is in a translation group.
    pub async fn has_translations(&mut self, scope: &SiteScope) -> Result<bool> {
        let found: Option<i32> = on_db!(self, |c| {
            sqlx::query_scalar("select 1 from item_translations where site_id = $1 limit 1")
                .bind(scope.key())
                .fetch_optional(&mut *c)
                .await?
        });
        Ok(found.is_some())
    }

    /// The items of a translation group, by path.
    pub async fn translation_members(&mut self, scope: &SiteScope, group: Uuid) -> Result<Vec<Translation>> {
        let rows: Vec<(Uuid, String, String)> = on_db!(self, |c| {
            sqlx::query_as(
                "select i.uuid, i.path, i.language from item_translations t join items i on i.uuid = t.item_uuid
                 where t.site_id = $1 and t.tgroup = $2 order by i.path",
            )
            .bind(scope.key())
            .bind(group)
            .fetch_all(&mut *c)
            .await?
        });
        Ok(rows.into_iter().filter_map(|(u, p, l)| Some((u, ItemPath::parse(&p).ok()?, l))).collect())
    }

    /// Every translation group of the site: its items' uuids and language codes, groups
    /// in a stable order.
    pub async fn translation_groups(&mut self, scope: &SiteScope) -> Result<Vec<Vec<(Uuid, String)>>> {
        let rows: Vec<(Uuid, Uuid, String)> = on_db!(self, |c| {
            sqlx::query_as(
                "select t.tgroup, i.uuid, i.language from item_translations t join items i on i.uuid = t.item_uuid
                 where t.site_id = $1 order by t.tgroup, i.language",
            )
            .bind(scope.key())
            .fetch_all(&mut *c)
            .await?
        });
        let mut groups: Vec<(Uuid, Vec<(Uuid, String)>)> = Vec::new();
        for (group, item, language) in rows {
            match groups.last_mut() {
                Some((g, members)) if *g == group => members.push((item, language)),
                _ => groups.push((group, vec![(item, language)])),
            }
        }
        Ok(groups.into_iter().map(|(_, m)| m).collect())
    }

    /// Puts an item in a translation group (out of any other).
    pub async fn join_translation_group(&mut self, scope: &SiteScope, item: Uuid, group: Uuid) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query(
                "insert into item_translations (item_uuid, site_id, tgroup) values ($1, $2, $3)
                 on conflict (item_uuid) do update set tgroup = excluded.tgroup",
            )
            .bind(item)
            .bind(scope.key())
            .bind(group)
            .execute(&mut *c)
            .await?;
        });
        Ok(())
    }

    /// Takes an item out of its translation group.
    pub async fn leave_translation_group(&mut self, scope: &SiteScope, item: Uuid) -> Result<()> {
        on_db!(self, |c| {
            sqlx::query("delete from item_translations where site_id = $1 and item_uuid = $2")
                .bind(scope.key())
                .bind(item)
                .execute(&mut *c)
                .await?;
        });
        Ok(())
    }
}
