//! The catalog: full text (SQLite FTS5 over stems computed in Rust, or a PostgreSQL
//! tsvector from its own stemmers), subjects and the columns queries filter and sort
//! on; written in the transaction that writes the item. Queries always carry the site
//! and, unless the system asks, the viewer tokens of the security filter.

use std::collections::BTreeSet;

use beffroi_model::catalog::index_text;
use beffroi_model::{ItemPath, Language};
use chrono::{DateTime, Utc};
use sqlx::{AssertSqlSafe, Row};
use uuid::Uuid;

use crate::items::{ITEM_COLS, SUMMARY_COLS, item_from_row, placeholders, summary_from_row};
use crate::sites::SiteScope;
use crate::{Backend, Db, ItemRow, Result, Summary, on_db};

/// What the catalog keeps of one item, besides its own columns.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogEntry {
    pub uuid: Uuid,
    pub language: Language,
    pub title: String,
    /// The item's description (also part of `body`): with the title, its lead.
    pub lead: String,
    pub body: String,
    pub sortable_title: String,
    pub subjects: Vec<String>,
    pub event_start: Option<DateTime<Utc>>,
    pub event_end: Option<DateTime<Utc>>,
    /// The values of the declared indexes: (index, value).
    pub indexed: Vec<(String, IndexValue)>,
}

/// A value of a declared index: a keyword (booleans are "true" and "false"), a number
/// or a date.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    Word(String),
    Number(f64),
    Date(DateTime<Utc>),
}

/// One row of a declared index: the item's site and entry, the index, the value.
type IndexRow<'a> = (&'a SiteScope, &'a CatalogEntry, &'a String, &'a IndexValue);

/// A criterion on a declared index.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexFilter {
    /// Items with one of these keywords.
    AnyOf { index: String, words: Vec<String> },
    /// Items with a value between the bounds (both included; numbers or dates).
    Between { index: String, from: Option<IndexValue>, to: Option<IndexValue> },
}

/// The date indexes a query may take a range of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateIndex {
    Created,
    Modified,
    Effective,
    Expires,
    Start,
    End,
}

impl DateIndex {
    fn column(self) -> &'static str {
        match self {
            DateIndex::Created => "items.created",
            DateIndex::Modified => "items.modified",
            DateIndex::Effective => "items.effective",
            DateIndex::Expires => "items.expires",
            DateIndex::Start => "items.event_start",
            DateIndex::End => "items.event_end",
        }
    }
}

/// A date index between two optional bounds (both included).
pub type DateRange = (DateIndex, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// What results are sorted on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum SortOn {
    /// Best match first with a text query; most recently modified first otherwise.
    #[default]
    Relevance,
    Title,
    Created,
    Modified,
    Effective,
    Start,
    End,
    Position,
    Path,
    /// A declared index, by the column its values are kept in (an item without a value
    /// comes last either way; of several values, the least counts).
    Index {
        index: String,
        column: IndexColumn,
    },
}

/// Where `item_index` keeps a declared index's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexColumn {
    /// Keywords and booleans.
    Word,
    Number,
    Date,
}

/// A path and how deep below it to look (None: the whole subtree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathQuery {
    pub path: ItemPath,
    pub depth: Option<i64>,
}

/// A catalog query. Empty lists do not filter.
#[derive(Debug, Clone, Default)]
pub struct CatalogQuery {
    /// The words typed, as plain words (PostgreSQL stems them itself).
    pub words: Vec<String>,
    /// For each word, its possible stems (SQLite's index holds stems).
    pub stems: Vec<BTreeSet<String>>,
    /// The languages the site's content is in (PostgreSQL stems the words in each);
    /// empty means all.
    pub languages_in_use: Vec<Language>,
    pub types: Vec<String>,
    pub states: Vec<String>,
    pub paths: Vec<PathQuery>,
    pub subjects: Vec<String>,
    pub creators: Vec<String>,
    pub uids: Vec<Uuid>,
    pub languages: Vec<String>,
    pub ranges: Vec<DateRange>,
    /// Criteria on the declared indexes, all of which must hold.
    pub index_filters: Vec<IndexFilter>,
    /// Hide what is not yet effective or has expired at this instant.
    pub active_at: Option<DateTime<Utc>>,
    /// Viewer tokens of the security filter; None only for the system.
    pub viewer: Option<Vec<String>>,
    /// A criterion no item can meet (a path given by the UID of an item that is gone).
    pub nothing: bool,
    pub sort: SortOn,
    pub descending: bool,
    pub offset: i64,
    pub limit: i64,
}

impl CatalogQuery {
    pub fn has_text(&self) -> bool {
        !self.words.is_empty()
    }
}

/// One page of results and how many there are in all.
#[derive(Debug, Clone)]
pub struct SearchPage {
    pub items: Vec<Summary>,
    pub total: i64,
}

/// A query's words as the backend's full-text index takes them.
#[derive(Debug, Clone)]
pub struct TextQuery(String);

/// The total a page of results tells by itself: when it is not full (and not past the
/// end), nothing comes after it.
pub fn page_total(q: &CatalogQuery, page_len: usize) -> Option<i64> {
    let n = page_len as i64;
    (n < q.limit && (q.offset == 0 || n > 0)).then_some(q.offset + n)
}

/// How many results of a query have one type, and how many of those were modified
/// since each of the times asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeCount {
    pub type_name: String,
    pub total: i64,
    pub since: Vec<i64>,
}

/// Which values results are counted by (a count leaves the query's own filter on them
/// out).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Facet {
    Type,
    Subject,
}

#[derive(Debug, Clone)]
enum Param {
    Text(String),
    Time(DateTime<Utc>),
    Id(Uuid),
    Int(i64),
    Float(f64),
}

/// [`on_db!`] for a catalog read, with words when `$words`: then, on PostgreSQL, in a
/// transaction whose planner does not scan `item_text` whole. Its full vectors are in
/// TOAST, whose reading the planner does not cost: to it a sequential scan of the
/// narrow table looks cheaper than the GIN index for a common word, and takes 300 ms
/// (every vector read) where the index takes 25 at 100,000 pages.
macro_rules! on_text_db {
    ($db:expr, $words:expr, |$c:ident| $body:expr) => {
        match $db {
            Db::Sqlite($c) => {
                let $c: &mut sqlx::SqliteConnection = &mut **$c;
                $body
            }
            Db::Postgres($c) if !$words => {
                let $c: &mut sqlx::PgConnection = &mut **$c;
                $body
            }
            Db::Postgres(pg) => {
                let mut tx = sqlx::Connection::begin(&mut **pg).await?;
                sqlx::query("set local enable_seqscan = off").execute(&mut *tx).await?;
                let $c: &mut sqlx::PgConnection = &mut *tx;
                let out = $body;
                tx.commit().await?;
                out
            }
        }
    };
}

macro_rules! bind_all {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = match p {
                Param::Text(s) => q.bind(s.clone()),
                Param::Time(t) => q.bind(*t),
                Param::Id(u) => q.bind(*u),
                Param::Int(i) => q.bind(*i),
                Param::Float(f) => q.bind(*f),
            };
        }
        q
    }};
}

/// An FTS5 query from stems: each word's stems OR-ed, the words AND-ed, every stem
/// quoted (a quote inside doubled), so nothing typed is an operator; in the title and
/// body only (never the access marks).
fn fts_match(stems: &[BTreeSet<String>]) -> String {
    format!("{{title body}} : ({})", fts_words(stems))
}

/// The words of an FTS5 query (see [`fts_match`]), in no column in particular.
fn fts_words(stems: &[BTreeSet<String>]) -> String {
    stems
        .iter()
        .map(|alts| {
            let alts: Vec<String> = alts.iter().map(|s| format!("\"{}\"", s.replace('"', "\"\""))).collect();
            format!("({})", alts.join(" OR "))
        })
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The viewer token of everyone (every principal but the system holds it).
pub(crate) const EVERYONE: &str = "role:Anonymous";

/// Which of a site's items a full-text match is narrowed to, by the access mark each
/// item carries in its catalog entry: "pub" when everyone may see it whenever asked
/// (the anonymous role may view it, it has no expiry date and its effective date, if
/// any, was past when marked), "hid" otherwise; each with the site id. Time only makes
/// an unmarked item visible, never a marked one invisible, so "pub" holds until the
/// item's viewers or dates change, and those writes mark it again.
///
/// SQLite keeps it in the FTS5 index's `access` column (a token is letters and digits:
/// the site id is in hex), PostgreSQL in the `lead` vector (a lexeme with a colon, which
/// no text can produce).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mark {
    Everyone,
    Others,
}

impl Mark {
    /// As a query term: an FTS5 phrase on the access column, or a tsquery literal (a
    /// site id has no quote nor backslash).
    fn query(self, db: &Db<'_>, scope: &SiteScope) -> String {
        let kind = if self == Mark::Everyone { "pub" } else { "hid" };
        match db {
            Db::Sqlite(_) => {
                let hex: String = scope.key().bytes().map(|b| format!("{b:02x}")).collect();
                format!("{{access}} : \"{kind}{hex}\"")
            }
            Db::Postgres(_) => format!("'{kind}:{}'", scope.key()),
        }
    }
}

/// SQL for the access mark (see [`Mark`]) of the `items` row `w`, at the time of
/// parameter `now`; the rule the migration that added marks applied.
fn mark_sql(backend: Backend, now: &str) -> String {
    let (sep, site) = match backend {
        Backend::Sqlite => ("", "lower(hex(w.site_id))"),
        Backend::Postgres => (":", "w.site_id"),
    };
    format!(
        "(case when w.expires is null and (w.effective is null or w.effective <= {now}) and exists (select 1 from item_viewers v where v.item_uuid = w.uuid and v.token = '{EVERYONE}') then 'pub{sep}' else 'hid{sep}' end || {site})"
    )
}

/// SQL for the access mark of the item whose uuid is the SQL `u`.
fn mark_of_sql(backend: Backend, u: &str, now: &str) -> String {
    format!("(select {} from items w where w.uuid = {u})", mark_sql(backend, now))
}

/// Items written per statement when indexing in bulk (bound parameters stay far below
/// SQLite's and PostgreSQL's limits).
const INDEX_CHUNK: usize = 200;

const PG_CONFIGS: [&str; 4] = ["beffroi_fr", "beffroi_nl", "beffroi_de", "beffroi_en"];

fn pg_config(lang: Language) -> &'static str {
    match lang {
        Language::Fr => PG_CONFIGS[0],
        Language::Nl => PG_CONFIGS[1],
        Language::De => PG_CONFIGS[2],
        Language::En => PG_CONFIGS[3],
    }
}

/// The SQL of a query: `from … where …` with its parameters, and with words how to
/// rank: for [`Shape::Unordered`] the rank expression (lower is better) that
/// `order_by` sorts on, for [`Shape::Ranked`] the whole `order by` terms, direction
/// included.
struct Built {
    from_where: String,
    rank: Option<String>,
    params: Vec<Param>,
}

/// Which of a query's matches the SQL reads.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    /// Those of items with this access mark (for counts).
    Marked(Mark),
    /// Those with every word in the title or the description (from their own index,
    /// small).
    Leads,
    /// The others.
    NotLeads,
}

/// How a query will be read.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Counted or grouped: the order does not matter.
    Unordered,
    /// A page in order of relevance. SQLite: FTS5 ranks its matches itself (in C,
    /// from its own data) and hands them over best first, so the joins and filters run
    /// only until the page is full, not for every match.
    Ranked,
}

fn build(
    db: &Db<'_>,
    scope: &SiteScope,
    q: &CatalogQuery,
    skip: Option<Facet>,
    pg_tsq: Option<&str>,
    shape: Shape,
    part: Part,
) -> Built {
    let mut params = vec![Param::Text(scope.key().to_owned())];
    let next = |params: &mut Vec<Param>, p: Param| {
        params.push(p);
        format!("${}", params.len())
    };
    let mut join = String::new();
    let mut from = "from items".to_owned();
    let mut conds: Vec<String> = vec!["items.site_id = $1".into()];
    let mut rank = None;
    if q.has_text() {
        match db {
            Db::Sqlite(_) => {
                // The full-text index drives the join (CROSS JOIN fixes SQLite's order):
                // only matching items are ever looked at.
                let words = fts_words(&q.stems);
                let (table, text) = match part {
                    Part::All | Part::NotLeads => ("item_fts", fts_match(&q.stems)),
                    Part::Marked(mark) => {
                        ("item_fts", format!("{} AND {}", fts_match(&q.stems), mark.query(db, scope)))
                    }
                    Part::Leads => ("item_leads", words.clone()),
                };
                let mut m = next(&mut params, Param::Text(text));
                if part == Part::NotLeads {
                    let w = next(&mut params, Param::Text(words));
                    m = format!("{m} and rowid not in (select rowid from item_leads where item_leads match {w})");
                }
                let joins = "cross join item_text t on t.docid = f.rowid cross join items on items.uuid = t.item_uuid";
                if shape == Shape::Ranked {
                    let dir = if q.descending { "desc" } else { "asc" };
                    from = format!(
                        "from (select rowid, rank from {table} where {table} match {m} order by rank {dir}) f {joins}"
                    );
                    rank = Some(format!("f.rank {dir}"));
                } else {
                    from = format!("from {table} f {joins}");
                    conds.push(format!("{table} match {m}"));
                    rank = Some("f.rank".to_owned());
                }
            }
            Db::Postgres(_) => {
                // The query was turned into a tsquery beforehand (see `pg_tsquery`): as
                // a constant, the planner can weigh it with the index's statistics.
                let p = next(&mut params, Param::Text(pg_tsq.unwrap_or_default().to_owned()));
                // The site's items, by their access marks (either): the text indexes
                // hold every site's, so without this a common word's matches in a
                // thousand communes would all be ranked to keep one commune's.
                let k = scope.key();
                let site = next(&mut params, Param::Text(format!("'pub:{k}' | 'hid:{k}'")));
                if shape == Shape::Ranked {
                    // Matches ranked and sorted on their own (the sort carries uids, not
                    // the vectors), then joined in that order until the page is full.
                    let dir = if q.descending { "asc" } else { "desc" };
                    let (col, but) = match part {
                        Part::Leads => ("lead", String::new()),
                        Part::NotLeads => ("tsv", format!(" and not (lead @@ {p}::tsquery)")),
                        Part::All | Part::Marked(_) => ("tsv", String::new()),
                    };
                    from = format!(
                        "from (select item_uuid, ts_rank({col}, {p}::tsquery) as r from item_text where {col} @@ {p}::tsquery and lead @@ {site}::tsquery{but} order by r {dir}, item_uuid) t join items on items.uuid = t.item_uuid"
                    );
                    rank = Some(format!("t.r {dir}, t.item_uuid"));
                } else {
                    join = " join item_text t on t.item_uuid = items.uuid".to_owned();
                    conds.push(format!("t.tsv @@ {p}::tsquery"));
                    conds.push(format!("t.lead @@ {site}::tsquery"));
                    if let Part::Marked(mark) = part {
                        let m = next(&mut params, Param::Text(mark.query(db, scope)));
                        conds.push(format!("t.lead @@ {m}::tsquery"));
                    }
                    // Negated so that, as with bm25, lower is better.
                    rank = Some(format!("-ts_rank(t.tsv, {p}::tsquery)"));
                }
            }
        }
    }
    let mut list = |params: &mut Vec<Param>, col: &str, values: &[String]| {
        if !values.is_empty() {
            let ps: Vec<String> = values.iter().map(|v| next(params, Param::Text(v.clone()))).collect();
            conds.push(format!("{col} in ({})", ps.join(", ")));
        }
    };
    if skip != Some(Facet::Type) {
        list(&mut params, "items.type_name", &q.types);
    }
    list(&mut params, "items.review_state", &q.states);
    list(&mut params, "items.creator", &q.creators);
    list(&mut params, "items.language", &q.languages);
    if !q.uids.is_empty() {
        let ps: Vec<String> = q.uids.iter().map(|u| next(&mut params, Param::Id(*u))).collect();
        conds.push(format!("items.uuid in ({})", ps.join(", ")));
    }
    if !q.subjects.is_empty() && skip != Some(Facet::Subject) {
        let ps: Vec<String> = q.subjects.iter().map(|s| next(&mut params, Param::Text(s.clone()))).collect();
        conds.push(format!(
            "exists (select 1 from item_subjects s where s.item_uuid = items.uuid and s.subject in ({}))",
            ps.join(", ")
        ));
    }
    if !q.paths.is_empty() {
        let mut ors = Vec::new();
        for pq in &q.paths {
            let (lo, hi) = pq.path.descendant_bounds();
            let exact = next(&mut params, Param::Text(pq.path.as_str().to_owned()));
            let lo = next(&mut params, Param::Text(lo));
            let hi = next(&mut params, Param::Text(hi));
            let mut c = if pq.path.is_root() {
                "1 = 1".to_owned()
            } else {
                format!("(items.path = {exact} or (items.path > {lo} and items.path < {hi}))")
            };
            if let Some(d) = pq.depth {
                let max = next(&mut params, Param::Int(pq.path.depth() as i64 + d));
                c = format!("({c} and length(items.path) - length(replace(items.path, '/', '')) <= {max})");
                if d >= 1 {
                    // Depth counts from the item itself: depth 1 is its children.
                    let not_self = next(&mut params, Param::Text(pq.path.as_str().to_owned()));
                    c = format!("({c} and items.path <> {not_self})");
                }
            }
            ors.push(c);
        }
        conds.push(format!("({})", ors.join(" or ")));
    }
    for (index, from, to) in &q.ranges {
        let col = index.column();
        if let Some(f) = from {
            let p = next(&mut params, Param::Time(*f));
            conds.push(format!("{col} >= {p}"));
        }
        if let Some(t) = to {
            let p = next(&mut params, Param::Time(*t));
            conds.push(format!("{col} <= {p}"));
        }
    }
    for f in &q.index_filters {
        match f {
            IndexFilter::AnyOf { index, words } => {
                let i = next(&mut params, Param::Text(index.clone()));
                let ps: Vec<String> = words.iter().map(|w| next(&mut params, Param::Text(w.clone()))).collect();
                let within = if ps.is_empty() { "1 = 0".to_owned() } else { format!("x.word in ({})", ps.join(", ")) };
                // The index's own rows drive (by site, index and word), rather than a
                // probe for every item of the site: an agenda's 300 items among 10,000
                // are found in 1 ms, not 9.
                conds.push(format!(
                    "items.uuid in (select x.item_uuid from item_index x where x.site_id = $1 and x.idx = {i} and {within})"
                ));
            }
            IndexFilter::Between { index, from, to } => {
                let i = next(&mut params, Param::Text(index.clone()));
                let mut c = format!("x.item_uuid = items.uuid and x.idx = {i}");
                for (bound, op) in [(from, ">="), (to, "<=")] {
                    let (col, p) = match bound {
                        None => continue,
                        Some(IndexValue::Number(n)) => ("x.num", Param::Float(*n)),
                        Some(IndexValue::Date(d)) => ("x.at", Param::Time(*d)),
                        Some(IndexValue::Word(w)) => ("x.word", Param::Text(w.clone())),
                    };
                    let p = next(&mut params, p);
                    c.push_str(&format!(" and {col} {op} {p}"));
                }
                conds.push(format!("exists (select 1 from item_index x where {c})"));
            }
        }
    }
    if let Some(now) = q.active_at {
        let a = next(&mut params, Param::Time(now));
        let b = next(&mut params, Param::Time(now));
        conds.push(format!("(items.effective is null or items.effective <= {a})"));
        conds.push(format!("(items.expires is null or items.expires > {b})"));
    }
    if q.nothing {
        conds.push("1 = 0".into());
    }
    if let Some(tokens) = &q.viewer {
        if tokens.is_empty() {
            conds.push("1 = 0".into());
        } else {
            let first = params.len() + 1;
            for t in tokens {
                params.push(Param::Text(t.clone()));
            }
            conds.push(format!(
                "exists (select 1 from item_viewers v where v.item_uuid = items.uuid and v.token in ({}))",
                placeholders(first, tokens.len())
            ));
        }
    }
    Built { from_where: format!("{from}{join} where {}", conds.join(" and ")), rank, params }
}

fn order_by(q: &CatalogQuery, rank: Option<&str>, params: &mut Vec<Param>) -> String {
    let dir = if q.descending { "desc" } else { "asc" };
    let col = match &q.sort {
        SortOn::Relevance => {
            return match rank {
                Some(r) => format!("order by {r} {}, items.path", if q.descending { "desc" } else { "asc" }),
                None => "order by items.modified desc, items.path".to_owned(),
            };
        }
        // Columns that are never null are sorted without `nulls last`: PostgreSQL reads
        // an index backwards only in its own null order (descending: nulls first), and
        // would otherwise sort every match to return the first page.
        SortOn::Title => return format!("order by items.sortable_title {dir}, items.path"),
        SortOn::Created => return format!("order by items.created {dir}, items.path"),
        SortOn::Modified => return format!("order by items.modified {dir}, items.path"),
        SortOn::Position => return format!("order by items.position {dir}, items.path"),
        SortOn::Path => return format!("order by items.path {dir}"),
        SortOn::Effective => "items.effective",
        SortOn::Start => "items.event_start",
        SortOn::End => "items.event_end",
        SortOn::Index { index, column } => {
            let col = match column {
                IndexColumn::Word => "x.word",
                IndexColumn::Number => "x.num",
                IndexColumn::Date => "x.at",
            };
            params.push(Param::Text(index.clone()));
            let i = params.len();
            return format!(
                "order by (select min({col}) from item_index x where x.item_uuid = items.uuid and x.idx = ${i}) \
                 {dir} nulls last, items.path"
            );
        }
    };
    format!("order by {col} {dir} nulls last, items.path")
}

/// Items read to be indexed are locked until the indexing transaction ends on
/// PostgreSQL: otherwise an edit committed between the read and the write would have
/// its new entry overwritten by one made from the older row (read committed). SQLite's
/// writers already take turns for the whole transaction.
fn lock_for_reindex(db: &Db<'_>) -> &'static str {
    match db {
        Db::Sqlite(_) => "",
        Db::Postgres(_) => " for update of items",
    }
}

/// Whether a query (the system's: no security filter, no publication window) asks only
/// for items with some keywords of declared indexes: then the index table alone counts
/// them.
fn by_keywords_alone(q: &CatalogQuery) -> bool {
    q.viewer.is_none()
        && q.active_at.is_none()
        && !q.has_text()
        && q.paths.is_empty()
        && no_column_filter(q)
        && !q.index_filters.is_empty()
        && q.index_filters.iter().all(|f| matches!(f, IndexFilter::AnyOf { .. }))
}

/// Whether a query filters on none of the catalog's own columns (type, state, subject,
/// creator, UID, language, dates) and can find something.
fn no_column_filter(q: &CatalogQuery) -> bool {
    q.types.is_empty()
        && q.states.is_empty()
        && q.subjects.is_empty()
        && q.creators.is_empty()
        && q.uids.is_empty()
        && q.languages.is_empty()
        && q.ranges.is_empty()
        && !q.nothing
}

/// Whether a query asks for words and nothing else an access mark does not tell: no
/// filter but the site, the security filter of someone who is not the system, and the
/// publication window (which a marked item is always within).
fn by_words_alone(q: &CatalogQuery) -> bool {
    q.has_text()
        && q.viewer.as_ref().is_some_and(|v| v.iter().any(|t| t == EVERYONE))
        && no_column_filter(q)
        && q.index_filters.is_empty()
        && q.paths.iter().all(|p| p.path.is_root() && p.depth.is_none())
}

impl Db<'_> {
    /// PostgreSQL: the tsquery of a query's words (each word in the site's languages'
    /// configurations, OR-ed; the words AND-ed), as text; None when every word is a
    /// stop word (nothing can match). SQLite: always Some("").
    async fn pg_tsquery(&mut self, q: &CatalogQuery) -> Result<Option<String>> {
        let Db::Postgres(c) = self else { return Ok(Some(String::new())) };
        if !q.has_text() {
            return Ok(Some(String::new()));
        }
        let configs: Vec<&str> = if q.languages_in_use.is_empty() {
            PG_CONFIGS.to_vec()
        } else {
            q.languages_in_use.iter().map(|l| pg_config(*l)).collect()
        };
        let ands: Vec<String> = (1..=q.words.len())
            .map(|i| {
                let ors: Vec<String> = configs.iter().map(|c| format!("plainto_tsquery('{c}', ${i})")).collect();
                format!("({})", ors.join(" || "))
            })
            .collect();
        let sql = format!("select ({})::text", ands.join(" && "));
        let mut query = sqlx::query_scalar::<_, String>(AssertSqlSafe(sql));
        for w in &q.words {
            query = query.bind(w);
        }
        let text = query.fetch_one(&mut **c).await?;
        Ok((!text.trim().is_empty()).then_some(text))
    }

    /// Writes what the catalog keeps of an item (replacing what it held).
    pub async fn index_item(&mut self, scope: &SiteScope, e: &CatalogEntry) -> Result<()> {
        self.index_items(&[(scope.clone(), e.clone())]).await
    }

    /// Writes the catalog entries of many items (of any sites) with a few statements
    /// per batch rather than several per item.
    pub async fn index_items(&mut self, entries: &[(SiteScope, CatalogEntry)]) -> Result<()> {
        for chunk in entries.chunks(INDEX_CHUNK) {
            self.index_chunk(chunk).await?;
        }
        Ok(())
    }

    /// Inserts a new item with its catalog entry and its stored viewers, in as few
    /// statements as the backend allows (a create is one round trip per statement, all
    /// under the write lock): the catalog columns go in with the row, and there is
    /// nothing old to remove. Returns the item's position in its parent.
    pub async fn insert_new_item(
        &mut self,
        scope: &SiteScope,
        item: &ItemRow,
        e: &CatalogEntry,
        viewers: &BTreeSet<String>,
    ) -> Result<i64> {
        let position = self.insert_item_with(scope, item, Some(e)).await?;
        let subjects: Vec<(&CatalogEntry, &SiteScope, &String)> = e.subjects.iter().map(|s| (e, scope, s)).collect();
        self.insert_subjects(&subjects).await?;
        let indexed: Vec<IndexRow<'_>> = e.indexed.iter().map(|(i, v)| (scope, e, i, v)).collect();
        self.insert_indexed(&indexed).await?;
        // The viewers first: the access mark written with the text is made from them.
        self.add_viewers(item.uuid, viewers).await?;
        match self {
            Db::Sqlite(c) => {
                let c: &mut sqlx::SqliteConnection = c;
                // Two statements in one call: the text row's new docid is the FTS rowid.
                let sql = format!(
                    "insert into item_text (item_uuid) values ($1);
                     insert into item_fts (rowid, title, body, access) values (last_insert_rowid(), $2, $3, {});
                     insert into item_leads (rowid, title, description) values ((select docid from item_text where item_uuid = $1), $2, $5)",
                    mark_of_sql(Backend::Sqlite, "$1", "$4")
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(e.uuid)
                    .bind(index_text(&e.title, e.language))
                    .bind(index_text(&e.body, e.language))
                    .bind(crate::now())
                    .bind(index_text(&e.lead, e.language))
                    .execute(&mut *c)
                    .await?;
            }
            Db::Postgres(c) => {
                let c: &mut sqlx::PgConnection = c;
                let sql = format!(
                    "insert into item_text (item_uuid, tsv, lead) values ($1, setweight(to_tsvector($2::regconfig, $3), 'A') || setweight(to_tsvector($2::regconfig, $4), 'D'), setweight(to_tsvector($2::regconfig, $3), 'A') || setweight(to_tsvector($2::regconfig, $5), 'B') || array_to_tsvector(array[{}]))",
                    mark_of_sql(Backend::Postgres, "$1", "$6")
                );
                sqlx::query(AssertSqlSafe(sql))
                    .bind(e.uuid)
                    .bind(pg_config(e.language))
                    .bind(&e.title)
                    .bind(&e.body)
                    .bind(&e.lead)
                    .bind(crate::now())
                    .execute(&mut *c)
                    .await?;
            }
        }
        Ok(position)
    }

    /// Rows of the declared indexes (whose old rows are gone).
    async fn insert_indexed(&mut self, rows: &[IndexRow<'_>]) -> Result<()> {
        on_db!(self, |c| {
            for chunk in rows.chunks(INDEX_CHUNK) {
                let values: Vec<String> = (0..chunk.len())
                    .map(|i| {
                        let b = 6 * i;
                        format!("(${}, ${}, ${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4, b + 5, b + 6)
                    })
                    .collect();
                let sql = format!(
                    "insert into item_index (item_uuid, site_id, idx, word, num, at) values {}",
                    values.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (sc, e, index, value) in chunk {
                    let (word, num, at) = match value {
                        IndexValue::Word(w) => (Some(w.as_str()), None, None),
                        IndexValue::Number(n) => (None, Some(*n), None),
                        IndexValue::Date(d) => (None, None, Some(*d)),
                    };
                    q = q.bind(e.uuid).bind(sc.key()).bind(index.as_str()).bind(word).bind(num).bind(at);
                }
                q.execute(&mut *c).await?;
            }
        });
        Ok(())
    }

    async fn insert_subjects(&mut self, subjects: &[(&CatalogEntry, &SiteScope, &String)]) -> Result<()> {
        on_db!(self, |c| {
            for chunk in subjects.chunks(INDEX_CHUNK) {
                let values: Vec<String> =
                    (0..chunk.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
                let sql = format!(
                    "insert into item_subjects (item_uuid, site_id, subject) values {} on conflict do nothing",
                    values.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (e, sc, s) in chunk {
                    q = q.bind(e.uuid).bind(sc.key()).bind(*s);
                }
                q.execute(&mut *c).await?;
            }
        });
        Ok(())
    }

    async fn index_chunk(&mut self, entries: &[(SiteScope, CatalogEntry)]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        self.index_columns(entries).await?;
        self.index_subjects(entries).await?;
        self.index_declared(entries).await?;
        self.index_texts(entries).await
    }

    /// Writes again what changed between an item's catalog entry as it was written
    /// (`old`) and as it is now: an edit that touches one field rewrites one part.
    pub async fn reindex_item(&mut self, scope: &SiteScope, old: &CatalogEntry, new: &CatalogEntry) -> Result<()> {
        let entries = [(scope.clone(), new.clone())];
        if (&old.sortable_title, old.event_start, old.event_end)
            != (&new.sortable_title, new.event_start, new.event_end)
        {
            self.index_columns(&entries).await?;
        }
        if old.subjects != new.subjects {
            self.index_subjects(&entries).await?;
        }
        if old.indexed != new.indexed {
            self.index_declared(&entries).await?;
        }
        if (old.language, &old.title, &old.lead, &old.body) != (new.language, &new.title, &new.lead, &new.body) {
            self.index_texts(&entries).await?;
        }
        Ok(())
    }

    /// The catalog's columns on the items' rows, in one statement on PostgreSQL.
    async fn index_columns(&mut self, entries: &[(SiteScope, CatalogEntry)]) -> Result<()> {
        let rows: Vec<String> = (0..entries.len())
            .map(|i| format!("(${}, ${}, ${}, ${})", 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i + 4))
            .collect();
        let update = format!(
            "update items set sortable_title = v.st, event_start = v.es::timestamptz, event_end = v.ee::timestamptz from (values {}) as v(u, st, es, ee) where items.uuid = v.u::uuid",
            rows.join(", ")
        );
        match self {
            // SQLite would join the whole items table to the VALUES list: one prepared
            // statement per item is faster there.
            Db::Sqlite(c) => {
                let c: &mut sqlx::SqliteConnection = c;
                for (_, e) in entries {
                    sqlx::query(
                        "update items set sortable_title = $1, event_start = $2, event_end = $3 where uuid = $4",
                    )
                    .bind(&e.sortable_title)
                    .bind(e.event_start)
                    .bind(e.event_end)
                    .bind(e.uuid)
                    .execute(&mut *c)
                    .await?;
                }
            }
            Db::Postgres(c) => {
                let c: &mut sqlx::PgConnection = c;
                let mut q = sqlx::query(AssertSqlSafe(update));
                for (_, e) in entries {
                    q = q.bind(e.uuid).bind(&e.sortable_title).bind(e.event_start).bind(e.event_end);
                }
                q.execute(&mut *c).await?;
            }
        }
        Ok(())
    }

    /// The items' subjects, replacing those they had.
    async fn index_subjects(&mut self, entries: &[(SiteScope, CatalogEntry)]) -> Result<()> {
        let uuids = placeholders(1, entries.len());
        let subjects: Vec<(&CatalogEntry, &SiteScope, &String)> =
            entries.iter().flat_map(|(sc, e)| e.subjects.iter().map(move |s| (e, sc, s))).collect();
        on_db!(self, |c| {
            let mut q = sqlx::query(AssertSqlSafe(format!("delete from item_subjects where item_uuid in ({uuids})")));
            for (_, e) in entries {
                q = q.bind(e.uuid);
            }
            q.execute(&mut *c).await?;
        });
        self.insert_subjects(&subjects).await
    }

    /// The items' rows in the declared indexes, replacing those they had.
    async fn index_declared(&mut self, entries: &[(SiteScope, CatalogEntry)]) -> Result<()> {
        let uuids = placeholders(1, entries.len());
        on_db!(self, |c| {
            let mut q = sqlx::query(AssertSqlSafe(format!("delete from item_index where item_uuid in ({uuids})")));
            for (_, e) in entries {
                q = q.bind(e.uuid);
            }
            q.execute(&mut *c).await?;
        });
        let indexed: Vec<IndexRow<'_>> =
            entries.iter().flat_map(|(sc, e)| e.indexed.iter().map(move |(i, v)| (sc, e, i, v))).collect();
        self.insert_indexed(&indexed).await
    }

    /// The items' full text and leads, with their access marks, replacing what they had.
    async fn index_texts(&mut self, entries: &[(SiteScope, CatalogEntry)]) -> Result<()> {
        let uuids = placeholders(1, entries.len());
        match self {
            Db::Sqlite(c) => {
                let c: &mut sqlx::SqliteConnection = c;
                // The old rows go (the trigger removes them from the index) and every
                // item gets a new docid, larger than any before.
                let mut q = sqlx::query(AssertSqlSafe(format!("delete from item_text where item_uuid in ({uuids})")));
                for (_, e) in entries {
                    q = q.bind(e.uuid);
                }
                q.execute(&mut *c).await?;
                let values: Vec<String> = (1..=entries.len()).map(|i| format!("(${i})")).collect();
                let sql = format!(
                    "insert into item_text (item_uuid) values {} returning item_uuid, docid",
                    values.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (_, e) in entries {
                    q = q.bind(e.uuid);
                }
                let mut docids: std::collections::HashMap<Uuid, i64> = std::collections::HashMap::new();
                for r in q.fetch_all(&mut *c).await? {
                    docids.insert(r.try_get(0)?, r.try_get(1)?);
                }
                let mut entries: Vec<&(SiteScope, CatalogEntry)> = entries.iter().collect();
                entries.sort_by_key(|(_, e)| docids[&e.uuid]);
                let now = format!("${}", 4 * entries.len() + 1);
                let values: Vec<String> = (0..entries.len())
                    .map(|i| {
                        let mark = mark_of_sql(Backend::Sqlite, &format!("${}", 4 * i + 4), &now);
                        format!("(${}, ${}, ${}, {mark})", 4 * i + 1, 4 * i + 2, 4 * i + 3)
                    })
                    .collect();
                let sql = format!("insert into item_fts (rowid, title, body, access) values {}", values.join(", "));
                let titles: Vec<String> = entries.iter().map(|(_, e)| index_text(&e.title, e.language)).collect();
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for ((_, e), title) in entries.iter().zip(&titles) {
                    q = q.bind(docids[&e.uuid]).bind(title).bind(index_text(&e.body, e.language)).bind(e.uuid);
                }
                q.bind(crate::now()).execute(&mut *c).await?;
                let values: Vec<String> =
                    (0..entries.len()).map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3)).collect();
                let sql = format!("insert into item_leads (rowid, title, description) values {}", values.join(", "));
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for ((_, e), title) in entries.iter().zip(&titles) {
                    q = q.bind(docids[&e.uuid]).bind(title).bind(index_text(&e.lead, e.language));
                }
                q.execute(&mut *c).await?;
            }
            Db::Postgres(c) => {
                let c: &mut sqlx::PgConnection = c;
                let now = format!("${}", 5 * entries.len() + 1);
                let values: Vec<String> = (0..entries.len())
                    .map(|i| {
                        let (u, cfg, t, b, l) = (5 * i + 1, 5 * i + 2, 5 * i + 3, 5 * i + 4, 5 * i + 5);
                        let mark = mark_of_sql(Backend::Postgres, &format!("${u}::uuid"), &now);
                        format!("(${u}, setweight(to_tsvector(${cfg}::regconfig, ${t}), 'A') || setweight(to_tsvector(${cfg}::regconfig, ${b}), 'D'), setweight(to_tsvector(${cfg}::regconfig, ${t}), 'A') || setweight(to_tsvector(${cfg}::regconfig, ${l}), 'B') || array_to_tsvector(array[{mark}]))")
                    })
                    .collect();
                let sql = format!(
                    "insert into item_text (item_uuid, tsv, lead) values {} on conflict (item_uuid) do update set tsv = excluded.tsv, lead = excluded.lead",
                    values.join(", ")
                );
                let mut q = sqlx::query(AssertSqlSafe(sql));
                for (_, e) in entries {
                    q = q.bind(e.uuid).bind(pg_config(e.language)).bind(&e.title).bind(&e.body).bind(&e.lead);
                }
                q.bind(crate::now()).execute(&mut *c).await?;
            }
        }
        Ok(())
    }

    /// Marks again in the catalog whether everyone may see each of these items (see
    /// [`Mark`]), after their viewers or publication dates changed; only the entries
    /// whose mark changes are rewritten.
    pub(crate) async fn refresh_marks(&mut self, uuids: &[Uuid]) -> Result<()> {
        for chunk in uuids.chunks(INDEX_CHUNK) {
            let list = placeholders(2, chunk.len());
            match self {
                Db::Sqlite(c) => {
                    let c: &mut sqlx::SqliteConnection = c;
                    let sql = format!(
                        "select docid, m from (select t.docid, f.access as a, {} as m from item_text t join item_fts f on f.rowid = t.docid where t.item_uuid in ({list})) where a is not m",
                        mark_of_sql(Backend::Sqlite, "t.item_uuid", "$1"),
                    );
                    let mut q = sqlx::query_as::<_, (i64, String)>(AssertSqlSafe(sql)).bind(crate::now());
                    for u in chunk {
                        q = q.bind(*u);
                    }
                    for (docid, mark) in q.fetch_all(&mut *c).await? {
                        sqlx::query("update item_fts set access = $1 where rowid = $2")
                            .bind(mark)
                            .bind(docid)
                            .execute(&mut *c)
                            .await?;
                    }
                }
                Db::Postgres(c) => {
                    let c: &mut sqlx::PgConnection = c;
                    let mark = mark_sql(Backend::Postgres, "$1");
                    let sql = format!(
                        "update item_text t set lead = ts_delete(t.lead, array['pub:' || w.site_id, 'hid:' || w.site_id]) || array_to_tsvector(array[{mark}])
                         from items w where w.uuid = t.item_uuid and t.item_uuid in ({list})
                         and not (array[{mark}] <@ tsvector_to_array(t.lead))"
                    );
                    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(crate::now());
                    for u in chunk {
                        q = q.bind(*u);
                    }
                    q.execute(&mut *c).await?;
                }
            }
        }
        Ok(())
    }

    /// What [`Db::search_page`] and [`Db::search_count`] take of a query's words:
    /// PostgreSQL's tsquery (see `pg_tsquery`), nothing on SQLite. None when no item can
    /// match (every word a stop word).
    pub async fn text_query(&mut self, q: &CatalogQuery) -> Result<Option<TextQuery>> {
        Ok(self.pg_tsquery(q).await?.map(TextQuery))
    }

    /// One page of a catalog query. Sorted by relevance, the uids come first in the
    /// full-text index's order (joined and filtered only until the page is full), then
    /// their summaries.
    ///
    /// Best first, the results with every word in their title or their description
    /// come first (each part ranked on its own: bm25 or ts_rank): they are found in
    /// the leads' own small index, so a page they fill ranks none of the other
    /// matches, however many (a search for a site's commonest words matches most of
    /// its pages). Reversed, the order is plainly the rank's.
    pub async fn search_page(&mut self, scope: &SiteScope, q: &CatalogQuery, text: &TextQuery) -> Result<Vec<Summary>> {
        if q.has_text() && q.sort == SortOn::Relevance {
            if q.descending {
                let uuids = self.ranked_uuids(scope, q, text, Part::All, q.offset, q.limit).await?;
                return self.summaries_by_uuids(scope, &uuids).await;
            }
            let mut uuids = self.ranked_uuids(scope, q, text, Part::Leads, 0, q.offset + q.limit).await?;
            let in_leads = uuids.len() as i64;
            if in_leads < q.offset + q.limit {
                // Every match in the leads is in hand: the page goes on with the others.
                let skip = (q.offset - in_leads).max(0);
                let more = q.offset + q.limit - in_leads.max(q.offset);
                uuids.extend(self.ranked_uuids(scope, q, text, Part::NotLeads, skip, more).await?);
            }
            let page: Vec<Uuid> = uuids.into_iter().skip(q.offset.min(in_leads) as usize).collect();
            return self.summaries_by_uuids(scope, &page).await;
        }
        let (sql, params) = self.page_sql(scope, q, text, SUMMARY_COLS);
        on_text_db!(self, q.has_text(), |c| {
            // Not kept prepared: a plan made for one query's words (PostgreSQL's generic
            // plan after five runs) can be a hundred times too slow for another's.
            let rows = bind_all!(sqlx::query(AssertSqlSafe(sql)).persistent(false), &params)
                .bind(q.limit)
                .bind(q.offset)
                .fetch_all(&mut *c)
                .await?;
            let mut items = Vec::with_capacity(rows.len());
            for r in rows {
                items.push(summary_from_row!(r));
            }
            Ok(items)
        })
    }

    /// The SQL of a page of a query's matches in its order (limit and offset its last
    /// two parameters, to bind after `params`), reading `cols` of the items.
    fn page_sql(&self, scope: &SiteScope, q: &CatalogQuery, text: &TextQuery, cols: &str) -> (String, Vec<Param>) {
        let mut b = build(self, scope, q, None, Some(&text.0), Shape::Unordered, Part::All);
        let cols: String = cols.split(", ").map(|c| format!("items.{c}")).collect::<Vec<_>>().join(", ");
        let order = order_by(q, b.rank.as_deref(), &mut b.params);
        let n = b.params.len();
        (format!("select {cols} {} {order} limit ${} offset ${}", b.from_where, n + 1, n + 2), b.params)
    }

    /// One page of a catalog query as full item rows, in the query's order: for those
    /// who read the items themselves (an application's lists and hooks), in one query
    /// when it has no words (with words, its page, then the rows of those results).
    pub async fn search_rows(&mut self, scope: &SiteScope, q: &CatalogQuery, text: &TextQuery) -> Result<Vec<ItemRow>> {
        if q.has_text() {
            let page = self.search_page(scope, q, text).await?;
            let uuids: Vec<Uuid> = page.iter().map(|s| s.uuid).collect();
            let mut rows = self.items_by_uuids(scope, &uuids).await?;
            rows.sort_by_key(|r| uuids.iter().position(|u| *u == r.uuid));
            return Ok(rows);
        }
        let (sql, params) = self.page_sql(scope, q, text, ITEM_COLS);
        on_db!(self, |c| {
            let rows = bind_all!(sqlx::query(AssertSqlSafe(sql)).persistent(false), &params)
                .bind(q.limit)
                .bind(q.offset)
                .fetch_all(&mut *c)
                .await?;
            let mut items = Vec::with_capacity(rows.len());
            for r in &rows {
                items.push(item_from_row!(r));
            }
            Ok(items)
        })
    }

    /// The uids of `limit` results after `offset` of a part of a query's matches, best
    /// first.
    async fn ranked_uuids(
        &mut self,
        scope: &SiteScope,
        q: &CatalogQuery,
        text: &TextQuery,
        part: Part,
        offset: i64,
        limit: i64,
    ) -> Result<Vec<Uuid>> {
        let ranked = build(self, scope, q, None, Some(&text.0), Shape::Ranked, part);
        let n = ranked.params.len();
        let sql = format!(
            "select items.uuid {} order by {} limit ${} offset ${}",
            ranked.from_where,
            ranked.rank.as_deref().unwrap_or("1"),
            n + 1,
            n + 2
        );
        Ok(on_text_db!(self, true, |c| {
            bind_all!(sqlx::query_scalar(AssertSqlSafe(sql)).persistent(false), &ranked.params)
                .bind(limit)
                .bind(offset)
                .fetch_all(&mut *c)
                .await?
        }))
    }

    /// How many items a catalog query finds in all (ranking nothing). A query by
    /// words alone, as anyone but the system, counts the matches everyone may see in
    /// the full-text indexes alone (see [`Mark`]), and checks only the others one by
    /// one against the item, its viewers and its publication dates.
    pub async fn search_count(&mut self, scope: &SiteScope, q: &CatalogQuery, text: &TextQuery) -> Result<i64> {
        if by_keywords_alone(q) {
            return self.count_by_keywords(scope, q).await;
        }
        if !by_words_alone(q) {
            return self.count_matches(scope, q, text, Part::All).await;
        }
        let everyone = Mark::Everyone.query(self, scope);
        let (sql, words) = match self {
            Db::Sqlite(_) => {
                ("select count(*) from item_fts where item_fts match $1 || ' AND ' || $2", fts_match(&q.stems))
            }
            Db::Postgres(_) => {
                ("select count(*) from item_text where tsv @@ $1::tsquery and lead @@ $2::tsquery", text.0.clone())
            }
        };
        let seen_by_all: i64 = on_text_db!(self, true, |c| {
            sqlx::query_scalar(sql).persistent(false).bind(&words).bind(&everyone).fetch_one(&mut *c).await?
        });
        Ok(seen_by_all + self.count_matches(scope, q, text, Part::Marked(Mark::Others)).await?)
    }

    /// [`Db::search_count`] of a query that [`by_keywords_alone`] takes: counted in the
    /// index table alone (an agenda's items counted as it is numbered: 0.3 ms rather
    /// than 1.5 on PostgreSQL at 150 items).
    async fn count_by_keywords(&mut self, scope: &SiteScope, q: &CatalogQuery) -> Result<i64> {
        let mut params = vec![Param::Text(scope.key().to_owned())];
        let mut conds = Vec::new();
        for (n, f) in q.index_filters.iter().enumerate() {
            let IndexFilter::AnyOf { index, words } = f else { unreachable!("by_keywords_alone") };
            if words.is_empty() {
                return Ok(0);
            }
            params.push(Param::Text(index.clone()));
            let i = params.len();
            let first = params.len() + 1;
            params.extend(words.iter().map(|w| Param::Text(w.clone())));
            let within = format!("x{n}.idx = ${i} and x{n}.word in ({})", placeholders(first, words.len()));
            conds.push(if n == 0 {
                format!("x0.site_id = $1 and {within}")
            } else {
                format!("exists (select 1 from item_index x{n} where x{n}.item_uuid = x0.item_uuid and {within})")
            });
        }
        let sql = format!("select count(distinct x0.item_uuid) from item_index x0 where {}", conds.join(" and "));
        on_db!(self, |c| {
            Ok(bind_all!(sqlx::query_scalar(AssertSqlSafe(sql)).persistent(false), &params).fetch_one(&mut *c).await?)
        })
    }

    async fn count_matches(
        &mut self,
        scope: &SiteScope,
        q: &CatalogQuery,
        text: &TextQuery,
        part: Part,
    ) -> Result<i64> {
        let b = build(self, scope, q, None, Some(&text.0), Shape::Unordered, part);
        let sql = format!("select count(*) {}", b.from_where);
        on_text_db!(self, q.has_text(), |c| {
            Ok(bind_all!(sqlx::query_scalar(AssertSqlSafe(sql)).persistent(false), &b.params)
                .fetch_one(&mut *c)
                .await?)
        })
    }

    /// Summaries of items of a site, in the order of `uuids` (those that exist).
    async fn summaries_by_uuids(&mut self, scope: &SiteScope, uuids: &[Uuid]) -> Result<Vec<Summary>> {
        if uuids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "select {SUMMARY_COLS} from items where site_id = $1 and uuid in ({})",
            placeholders(2, uuids.len())
        );
        let mut rows = on_db!(self, |c| {
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scope.key());
            for u in uuids {
                q = q.bind(*u);
            }
            let mut out = Vec::with_capacity(uuids.len());
            for r in q.fetch_all(&mut *c).await? {
                out.push(summary_from_row!(r));
            }
            out
        });
        let order: std::collections::HashMap<Uuid, usize> = uuids.iter().enumerate().map(|(i, u)| (*u, i)).collect();
        rows.sort_by_key(|s: &Summary| order.get(&s.uuid).copied());
        Ok(rows)
    }

    /// How many results of `q` have each subject (ignoring the query's own filter on
    /// subjects), the 30 most frequent first.
    pub async fn subject_counts(&mut self, scope: &SiteScope, q: &CatalogQuery) -> Result<Vec<(String, i64)>> {
        let Some(tsq) = self.pg_tsquery(q).await? else {
            return Ok(Vec::new());
        };
        let b = build(self, scope, q, Some(Facet::Subject), Some(&tsq), Shape::Unordered, Part::All);
        let sql = format!(
            "select s.subject, count(*) as n {} group by s.subject order by n desc, s.subject limit 30",
            b.from_where.replacen(" where ", " join item_subjects s on s.item_uuid = items.uuid where ", 1)
        );
        on_text_db!(self, q.has_text(), |c| {
            let rows =
                bind_all!(sqlx::query(AssertSqlSafe(sql)).persistent(false), &b.params).fetch_all(&mut *c).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                out.push((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?));
            }
            Ok(out)
        })
    }

    /// How many results of `q` have each type (ignoring the query's own filter on
    /// types), and how many of those were modified since each of `since`: the search
    /// page's facets by type and by date, in one pass over the matches.
    pub async fn type_counts(
        &mut self,
        scope: &SiteScope,
        q: &CatalogQuery,
        since: &[DateTime<Utc>],
    ) -> Result<Vec<TypeCount>> {
        let Some(tsq) = self.pg_tsquery(q).await? else {
            return Ok(Vec::new());
        };
        let mut b = build(self, scope, q, Some(Facet::Type), Some(&tsq), Shape::Unordered, Part::All);
        let mut sums = String::new();
        for t in since {
            b.params.push(Param::Time(*t));
            sums.push_str(&format!(", sum(case when items.modified >= ${} then 1 else 0 end)", b.params.len()));
        }
        let sql = format!(
            "select items.type_name, count(*){sums} {} group by items.type_name order by count(*) desc, items.type_name",
            b.from_where
        );
        on_text_db!(self, q.has_text(), |c| {
            let rows =
                bind_all!(sqlx::query(AssertSqlSafe(sql)).persistent(false), &b.params).fetch_all(&mut *c).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let mut counts = Vec::with_capacity(since.len());
                for i in 0..since.len() {
                    counts.push(r.try_get::<i64, _>(i + 2)?);
                }
                out.push(TypeCount { type_name: r.try_get(0)?, total: r.try_get(1)?, since: counts });
            }
            Ok(out)
        })
    }

    /// Items of a site (or of every site) in uuid order after `after` (the nil UUID
    /// to start), for reindexing.
    pub async fn items_after(
        &mut self,
        site: Option<&SiteScope>,
        after: Uuid,
        limit: i64,
    ) -> Result<Vec<(SiteScope, ItemRow)>> {
        // Only the primary key may serve the query, whatever SQLite's statistics say:
        // without them it would take the site's rows by another index and sort them
        // all for every batch (`+` keeps a column out of index choice; PostgreSQL has
        // no such operator on text, and no need of it).
        let cond = match (site, &*self) {
            (Some(_), Db::Sqlite(_)) => "+site_id = $2",
            (Some(_), Db::Postgres(_)) => "site_id = $2",
            (None, _) => "$2 = $2",
        };
        // The nil UUID sorts before every other: the first batch needs no other query,
        // and the primary key's order serves every batch.
        let sql = format!(
            "select {ITEM_COLS}, site_id from items where uuid > $1 and {cond} order by uuid limit $3{}",
            lock_for_reindex(self)
        );
        let key = site.map(|s| s.key().to_owned()).unwrap_or_default();
        on_db!(self, |c| {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(after).bind(key).bind(limit).fetch_all(&mut *c).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let site: String = r.try_get(19)?;
                let id = beffroi_model::SiteId::parse(&site).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
                out.push((SiteScope::of(id), item_from_row!(&r)));
            }
            Ok(out)
        })
    }

    /// Up to `limit` items that the catalog does not hold yet (made before it existed).
    pub async fn unindexed_items(&mut self, limit: i64) -> Result<Vec<(SiteScope, ItemRow)>> {
        let sql = format!(
            "select {ITEM_COLS}, site_id from items where not exists (select 1 from item_text t where t.item_uuid = items.uuid) order by uuid limit $1{}",
            lock_for_reindex(self)
        );
        on_db!(self, |c| {
            let rows = sqlx::query(AssertSqlSafe(sql)).bind(limit).fetch_all(&mut *c).await?;
            let mut out = Vec::with_capacity(rows.len());
            for r in rows {
                let site: String = r.try_get(19)?;
                let id = beffroi_model::SiteId::parse(&site).map_err(|e| crate::StoreError::Corrupt(e.to_string()))?;
                out.push((SiteScope::of(id), item_from_row!(&r)));
            }
            Ok(out)
        })
    }

    /// The items of `uuids` that exist on the site (in no particular order).
    pub async fn items_by_uuids(&mut self, scope: &SiteScope, uuids: &[Uuid]) -> Result<Vec<ItemRow>> {
        if uuids.is_empty() {
            return Ok(Vec::new());
        }
        let sql =
            format!("select {ITEM_COLS} from items where site_id = $1 and uuid in ({})", placeholders(2, uuids.len()));
        on_db!(self, |c| {
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(scope.key());
            for u in uuids {
                q = q.bind(*u);
            }
            let mut out = Vec::with_capacity(uuids.len());
            for r in q.fetch_all(&mut *c).await? {
                out.push(item_from_row!(&r));
            }
            Ok(out)
        })
    }

    /// The languages of a site's items.
    pub async fn languages_in_use(&mut self, scope: &SiteScope) -> Result<Vec<Language>> {
        let codes: Vec<String> = on_db!(self, |c| {
            sqlx::query_scalar("select distinct language from items where site_id = $1")
                .bind(scope.key())
                .fetch_all(&mut *c)
                .await?
        });
        Ok(codes.iter().filter_map(|c| Language::parse(c).ok()).collect())
    }

    /// How many items a site (or every site) holds.
    pub async fn count_items(&mut self, site: Option<&SiteScope>) -> Result<i64> {
        let key = site.map(|s| s.key().to_owned());
        on_db!(self, |c| {
            Ok(sqlx::query_scalar("select count(*) from items where $1 is null or site_id = $1")
                .bind(key)
                .fetch_one(&mut *c)
                .await?)
        })
    }

    /// How many items of any site are of one of `types`.
    pub async fn count_items_of_types(&mut self, types: &[String]) -> Result<i64> {
        if types.is_empty() {
            return Ok(0);
        }
        let sql = format!("select count(*) from items where type_name in ({})", placeholders(1, types.len()));
        on_db!(self, |c| {
            let mut q = sqlx::query_scalar(AssertSqlSafe(sql));
            for t in types {
                q = q.bind(t);
            }
            Ok(q.fetch_one(&mut *c).await?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_quote_every_stem() {
        let stems = vec![BTreeSet::from(["ecol".to_owned(), "ecole".to_owned()]), BTreeSet::from(["a\"b".to_owned()])];
        assert_eq!(fts_match(&stems), "{title body} : ((\"ecol\" OR \"ecole\") AND (\"a\"\"b\"))");
    }
}
