//! What a backup needs of the store: a consistent copy of an SQLite database taken while
//! servers write to it, the files its content refers to, and copies between blob
//! stores.

use std::collections::BTreeSet;
use std::path::Path as FsPath;
use std::str::FromStr;

use futures_util::TryStreamExt;
use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

use crate::{Db, Result, Store, StoreError, on_db};

impl Store {
    /// Writes a consistent copy of the SQLite database to `dest` (a new file), while
    /// others keep writing: `vacuum into` reads one snapshot. Not for PostgreSQL,
    /// whose own tools (`pg_dump`, base backups) do this.
    pub async fn snapshot_to(&self, dest: &FsPath) -> Result<()> {
        let Store::Sqlite { readers, .. } = self else {
            return Err(StoreError::Unsupported("PostgreSQL is backed up with pg_dump or a base backup".into()));
        };
        let dest = dest.to_str().ok_or_else(|| StoreError::BadUrl(format!("{} is not UTF-8", dest.display())))?;
        sqlx::query("vacuum into $1").bind(dest).execute(readers).await?;
        Ok(())
    }
}

impl Db<'_> {
    /// The blobs (content hashes) that items and their revisions refer to.
    pub async fn referenced_blobs(&mut self) -> Result<BTreeSet<String>> {
        let mut found = BTreeSet::new();
        let sql = match self {
            Db::Sqlite(_) => {
                "select fields from items where fields like '%\"blob\"%'
                 union all select snapshot from revisions where snapshot like '%\"blob\"%'"
            }
            Db::Postgres(_) => {
                "select fields::text from items where fields::text like '%\"blob\"%'
                 union all select snapshot::text from revisions where snapshot::text like '%\"blob\"%'"
            }
        };
        on_db!(self, |c| {
            let mut rows = sqlx::query_scalar::<_, String>(sql).fetch(&mut *c);
            while let Some(text) = rows.try_next().await? {
                let value: Value = serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(e.to_string()))?;
                collect_blobs(&value, &mut found);
            }
        });
        Ok(found)
    }
}

/// The blobs referenced anywhere in `value`: objects with a `blob` of 64 hex digits.
fn collect_blobs(value: &Value, found: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(h)) = map.get("blob")
                && h.len() == 64
                && h.bytes().all(|b| b.is_ascii_hexdigit())
            {
                found.insert(h.clone());
            }
            map.values().for_each(|v| collect_blobs(v, found));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_blobs(v, found)),
        _ => {}
    }
}

/// The blobs referenced by the SQLite database in the file `path`, opened read-only
/// (a backup's copy, which nothing else may change).
pub async fn referenced_blobs_in(path: &FsPath) -> Result<BTreeSet<String>> {
    let options = SqliteConnectOptions::from_str("sqlite://")
        .map_err(|e| StoreError::BadUrl(e.to_string()))?
        .filename(path)
        .read_only(true)
        .immutable(true);
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(|e| StoreError::Connect(e.to_string()))?;
    let found = Db::Sqlite(&mut conn).referenced_blobs().await;
    let _ = conn.close().await;
    found
}

#[cfg(test)]
mod tests {
    #[test]
    fn finds_blobs_at_any_depth() {
        let h = |c: char| c.to_string().repeat(64);
        let value = serde_json::json!({
            "file": {"blob": h('a'), "size": 3},
            "list": [{"image": {"blob": h('b')}}],
            "not": {"blob": "short"},
        });
        let mut found = Default::default();
        super::collect_blobs(&value, &mut found);
        assert_eq!(found.into_iter().collect::<Vec<_>>(), vec![h('a'), h('b')]);
    }
}
