//! What a user can do. Every use case takes the acting principal, checks permission
//! through `beffroi_model::security`, runs in one transaction, and emits an event once
//! committed. The HTML face, the JSON API and the CLI all call these same actions.

use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use beffroi_model::schema::{TypeRegistry, ValidationErrors};
use beffroi_model::{ItemPath, SiteId};
pub use beffroi_store::{
    AppMigration, AuditRow, Backend, BlobRead, Blobs, CatalogQuery, DateIndex, GroupRow, HistoryRow, IndexFilter,
    IndexValue, ItemRow, LockRow, PathQuery, PoolState, RevisionRow, SearchPage, SiteRow, SiteScope, SortOn, Store,
    StoreError, StoreOptions, Summary, TypeCount, UserRow,
};
use tokio::sync::broadcast;
use uuid::Uuid;

mod access;
mod aliases;
pub mod apps;
mod catalog;
mod export;
mod extract;
mod import;
mod items;
pub mod links;
mod locks;
mod media;
pub mod query;
mod sessions;
mod sites;
mod stale;
mod translations;
mod users;
mod versions;
mod vocabularies;
mod work;
mod workflow;

pub use access::{Credential, GroupChange, RoleOrigin, Sharing, SharingChange, SharingEntry, UserChange};
pub use aliases::Alias;
pub use catalog::{MAX_SEARCH_BATCH, entry as catalog_entry, query_date, with_text};
pub use export::Exporter;
pub use import::{
    DEFAULT_PAGE, ImportGroup, ImportItem, ImportOptions, ImportReport, ImportRevision, ImportStep, ImportTarget,
    ImportUser, Importer, ItemOutcome,
};
pub use items::{Delta, Found, ItemView, Listing, MAX_BATCH, WriteGuard};
pub use locks::{DEFAULT_LOCK_TIMEOUT, LockView, MAX_LOCK_TIMEOUT};
pub use media::{DEFAULT_MAX_IMAGE_PIXELS, DEFAULT_UPLOAD_LIMIT, ScaleImage, Upload, UploadData, stored_file};
pub use sessions::{LoginOutcome, OpenSession, SESSION_LIFETIME};
pub use sites::NewSite;
pub use users::{NewUser, Secret};
pub use versions::{Moment, Timeline, apply_snapshot};
pub use vocabularies::{Term, Vocabulary, VocabularyFn, VocabularyFuture};
pub use work::{
    AccessCheckFn, AccessCheckFuture, Change, HookFn, HookFuture, ItemHook, ItemHookFn, TransitionHook, Transitioned,
    When, Work,
};
pub use workflow::{ToReview, TransitionRequest, WorkflowInfo};

/// Errors by meaning; the web edge maps each to a status code.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("not found")]
    NotFound,
    #[error("you are not allowed to do this")]
    Unauthorized,
    /// Signed in and allowed here, but not to do this particular thing (say which).
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    Invalid(#[from] ValidationErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Conflict(String),
    /// Locked for editing by this user.
    #[error("locked by {0}")]
    Locked(String),
    #[error("the service is busy, try again")]
    Unavailable,
    /// Somebody saved the item since the editor read it: here it is as it is now.
    #[error("the item was changed since you opened it")]
    Modified(Box<ItemRow>),
    /// An upload over the size limit (in bytes).
    #[error("the file is larger than the limit of {0} bytes")]
    TooLarge(u64),
    #[error("internal error")]
    Internal(#[source] StoreError),
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ServiceError::NotFound,
            StoreError::Conflict(what) => ServiceError::Conflict(what),
            StoreError::Unavailable => ServiceError::Unavailable,
            StoreError::BlobStore(why) => {
                tracing::warn!(error = %why, "the file store failed");
                ServiceError::Unavailable
            }
            other => ServiceError::Internal(other),
        }
    }
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

/// Something that happened, published after its transaction committed.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub site: SiteId,
    pub uuid: Uuid,
    pub path: ItemPath,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EventKind {
    Created,
    Modified,
    Deleted {
        count: u64,
    },
    Moved {
        from: ItemPath,
    },
    Reordered,
    /// Sharing changed: who may see what.
    AccessChanged,
    /// A workflow transition was taken (who may see the item may have changed too).
    Transitioned(Transitioned),
}

/// The default largest rich text: 2 MB, far more than any page a person writes, and
/// little enough that cleaning it never holds a core for long.
pub const DEFAULT_RICH_TEXT_LIMIT: usize = 2 * 1024 * 1024;

/// How long a process trusts its copy of the site table before reading it again; a
/// site created by another process shows up within this delay.
const SITE_CACHE_TTL: Duration = Duration::from_secs(2);

#[derive(Default)]
struct SiteCache {
    loaded: Option<Instant>,
    by_id: HashMap<SiteId, Arc<SiteRow>>,
    by_host: HashMap<String, Arc<SiteRow>>,
}

fn type_rules_key(site: &SiteRow) -> String {
    format!("site:{}:types", site.id)
}

/// The entry point of every use case.
#[derive(Clone)]
pub struct Services {
    store: Store,
    types: Arc<TypeRegistry>,
    /// The workflows and chain of the platform and its applications, before a site's own.
    base_workflows: Arc<beffroi_model::workflow::WorkflowRegistry>,
    /// The applications loaded, in order.
    apps: Arc<Vec<apps::Loaded>>,
    /// The applications' workflow and chain files (for the definitions' fingerprint).
    app_files: Vec<(&'static str, &'static str)>,
    sites: Arc<RwLock<SiteCache>>,
    events: broadcast::Sender<Event>,
    /// Main navigation per site and viewer tokens. Cleared by every change (see
    /// [`stale`]), whichever server made it.
    nav_cache: Arc<Mutex<NavCache>>,
    /// Each site's workflows (shipped ones with the site's own), refreshed like sites.
    wf_cache: Arc<PerSite<Arc<beffroi_model::workflow::WorkflowRegistry>>>,
    /// Each site's own rules of which types go where, refreshed like sites.
    type_rules: Arc<PerSite<Arc<beffroi_model::schema::TypeRules>>>,
    /// The languages each site's content is in (to stem queries only in those).
    languages: Arc<PerSite<Vec<beffroi_model::Language>>>,
    /// Whether each site has translation groups at all (most have none: their pages
    /// then look for no translations).
    translated: Arc<PerSite<bool>>,
    /// File and image bytes.
    blobs: Blobs,
    /// Largest upload, in bytes.
    upload_limit: u64,
    /// The largest image accepted and the memory budget of decoding images.
    images: Arc<media::ImageWork>,
    /// Revisions kept per item (the newest); 0 keeps them all.
    keep_revisions: u32,
    /// Largest rich text accepted, in bytes as sent.
    rich_text_limit: usize,
    /// When each site last changed (see [`Services::unchanged_since`]).
    changes: Arc<ChangeClock>,
    /// Tells the other servers what changed here, and whether their notices are heard.
    teller: Arc<stale::Teller>,
    /// Ticks whenever the site table may have changed (a site's settings, everything).
    site_rows_changed: Arc<AtomicU64>,
    /// Login attempts since start (see [`Services::login_counts`]).
    logins: Arc<LoginCounts>,
}

/// Login attempts since the server started, by outcome.
#[derive(Debug, Default)]
pub struct LoginCounts {
    pub succeeded: AtomicU64,
    pub failed: AtomicU64,
    pub throttled: AtomicU64,
}

/// See [`Services::sizes`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Sizes {
    pub sites: u64,
    pub items: u64,
    pub files: u64,
    pub file_bytes: u64,
}

/// A clock that ticks at every change this process makes, with the tick of each site's
/// last change (and of the last change that concerns every site): what was read after
/// a tick is still true while its site has not changed since.
#[derive(Default)]
struct ChangeClock {
    clock: std::sync::atomic::AtomicU64,
    every_site: std::sync::atomic::AtomicU64,
    sites: Mutex<HashMap<SiteId, u64>>,
}

impl ChangeClock {
    /// See [`Services::unchanged_since`].
    fn unchanged_since(&self, site: &SiteId, seen: u64) -> bool {
        self.every_site.load(std::sync::atomic::Ordering::SeqCst) <= seen
            && self.sites.lock().expect("change clock lock").get(site).is_none_or(|t| *t <= seen)
    }
}

/// Something worked out per site, forgotten at every change that concerns it (see
/// [`stale`]) and trusted for [`Services::cache_ttl`] at most; the sites used least
/// recently go past [`PER_SITE_MAX`], so that memory does not grow with the number of
/// sites a server is asked about. A value read while a change of its site committed is
/// not kept: it could be older than the change, and outlive its notice.
struct PerSite<T> {
    values: Mutex<hashlink::LruCache<SiteId, (Instant, T)>>,
    changes: Arc<ChangeClock>,
}

/// Most sites each per-site cache keeps.
const PER_SITE_MAX: usize = 2048;

impl<T: Clone> PerSite<T> {
    fn new(changes: &Arc<ChangeClock>) -> Arc<Self> {
        Arc::new(Self { values: Mutex::new(hashlink::LruCache::new(PER_SITE_MAX)), changes: changes.clone() })
    }

    /// The value kept for `site`, if it is younger than `ttl`.
    fn fresh(&self, site: &SiteId, ttl: Duration) -> Option<T> {
        let mut map = self.values.lock().expect("per-site cache lock");
        map.get(site).filter(|(at, _)| at.elapsed() < ttl).map(|(_, v)| v.clone())
    }

    /// Keeps `value`, read after the change clock read `seen`, unless `site` changed
    /// since.
    fn put(&self, site: &SiteId, seen: u64, value: T) {
        if self.changes.unchanged_since(site, seen) {
            self.values.lock().expect("per-site cache lock").insert(site.clone(), (Instant::now(), value));
        }
    }

    fn forget(&self, site: &SiteId) {
        self.values.lock().expect("per-site cache lock").remove(site);
    }

    fn clear(&self) {
        self.values.lock().expect("per-site cache lock").clear();
    }
}

/// Navigation entries by site and viewer tokens: when read, the change clock before
/// reading, the entries; the least recently used go past [`NAV_CACHE_MAX`].
type NavCache = hashlink::LruCache<(SiteId, Vec<String>), (Instant, u64, Arc<Vec<Summary>>)>;

/// Most navigation entries kept (sites and viewers together).
const NAV_CACHE_MAX: usize = 4096;

impl Services {
    /// The services on `store`. On PostgreSQL this starts the task that tells other
    /// servers of changes, so it must run inside Tokio's runtime.
    pub fn new(store: Store, blobs: Blobs) -> Self {
        let (events, _) = broadcast::channel(1024);
        let teller = Arc::new(stale::Teller::new(&store));
        let changes = Arc::default();
        Self {
            store,
            types: Arc::new(TypeRegistry::default()),
            base_workflows: Arc::new(beffroi_model::workflow::WorkflowRegistry::builtin()),
            apps: Arc::new(Vec::new()),
            app_files: Vec::new(),
            sites: Arc::new(RwLock::new(SiteCache::default())),
            events,
            nav_cache: Arc::new(Mutex::new(hashlink::LruCache::new(NAV_CACHE_MAX))),
            wf_cache: PerSite::new(&changes),
            type_rules: PerSite::new(&changes),
            languages: PerSite::new(&changes),
            translated: PerSite::new(&changes),
            blobs,
            upload_limit: media::DEFAULT_UPLOAD_LIMIT,
            images: Arc::new(media::ImageWork::new(media::DEFAULT_MAX_IMAGE_PIXELS)),
            keep_revisions: 0,
            rich_text_limit: DEFAULT_RICH_TEXT_LIMIT,
            changes,
            teller,
            logins: Arc::default(),
            site_rows_changed: Arc::default(),
        }
    }

    /// Opens the store at `url` and builds the services on it, with files in `blobs`.
    pub async fn open(url: &str, opts: &StoreOptions, blobs: Blobs) -> Result<Self, StoreError> {
        Ok(Self::new(Store::open(url, opts).await?, blobs))
    }

    /// Adds an application: its types, workflows and chain join the built-in ones.
    /// Fails, changing nothing, on a file that does not load or a name already taken.
    pub fn with_app(mut self, app: &apps::App) -> std::result::Result<Self, apps::AppError> {
        let mut types = (*self.types).clone();
        let mut workflows = (*self.base_workflows).clone();
        let loaded = apps::load(app, &self.apps, &mut types, &mut workflows)?;
        self.types = Arc::new(types);
        self.base_workflows = Arc::new(workflows);
        let mut all = (*self.apps).clone();
        all.push(loaded);
        self.apps = Arc::new(all);
        self.app_files.extend(app.workflows.iter().chain(app.chains.iter()).copied());
        // What was worked out with the definitions before is not this server's.
        self.wf_cache = PerSite::new(&self.changes);
        self.type_rules = PerSite::new(&self.changes);
        Ok(self)
    }

    /// Keeps only the `n` newest revisions of each item (0: all of them).
    pub fn with_revision_retention(mut self, n: u32) -> Self {
        self.keep_revisions = n;
        self
    }

    /// Sets the largest rich text accepted, in bytes.
    pub fn with_rich_text_limit(mut self, bytes: usize) -> Self {
        self.rich_text_limit = bytes;
        self
    }

    /// Sets the largest upload accepted, in bytes.
    pub fn with_upload_limit(mut self, bytes: u64) -> Self {
        self.upload_limit = bytes;
        self
    }

    /// Sets the largest image accepted, in pixels (16-bit images count double); the
    /// images being decoded at once hold about as much memory as the largest one.
    pub fn with_max_image_pixels(mut self, pixels: u64) -> Self {
        self.images = Arc::new(media::ImageWork::new(pixels));
        self
    }

    /// Which database the services run on.
    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    /// Sends what is left to tell the other servers, then closes the database's
    /// connections (at the end of a command).
    pub async fn close(&self) {
        self.flush_notices().await;
        self.store.close().await
    }

    pub fn types(&self) -> &TypeRegistry {
        &self.types
    }

    /// Events of committed changes, for caches and, later, content rules.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// The change clock now: take it before reading what may be kept, and ask
    /// [`Services::unchanged_since`] with it before using what was kept.
    pub fn change_clock(&self) -> u64 {
        self.changes.clock.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Whether nothing of `site` (nor of every site: workflows, users, groups) changed
    /// after the clock read `seen`: changes of this process, and those another server
    /// told (PostgreSQL). A command's changes on SQLite are not told: what is kept
    /// must also expire.
    pub fn unchanged_since(&self, site: &SiteId, seen: u64) -> bool {
        self.changes.unchanged_since(site, seen)
    }

    /// Ticks the change clock for `site`, or for every site with None. Called after
    /// the change committed.
    pub(crate) fn note_change(&self, site: Option<&SiteId>) {
        let c = &self.changes;
        let mut sites = c.sites.lock().expect("change clock lock");
        let tick = c.clock.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        match site {
            Some(s) => {
                sites.insert(s.clone(), tick);
            }
            None => c.every_site.store(tick, std::sync::atomic::Ordering::SeqCst),
        }
    }

    fn emit(&self, event: Event) {
        self.stale(stale::Stale::Content(event.site.clone()));
        // No receiver is fine: nobody is listening yet.
        let _ = self.events.send(event);
    }

    /// The workflows in force on `site`: the shipped ones with the site's own
    /// definitions and chain entries.
    pub async fn workflows(&self, site: &SiteRow) -> Result<Arc<beffroi_model::workflow::WorkflowRegistry>> {
        if let Some(reg) = self.wf_cache.fresh(&site.id, self.cache_ttl()) {
            return Ok(reg);
        }
        // Read before the files (see `PerSite::put`).
        let seen = self.change_clock();
        let files = {
            let mut c = self.store.conn().await?;
            c.db().site_workflow_files(&site.scope()).await?
        };
        let reg = if files.is_empty() {
            self.base_workflows.clone()
        } else {
            // Files are checked before they are stored; one that no longer loads (a
            // shipped workflow it relied on was removed) is an operator's problem, said
            // loudly, while the site keeps the shipped definitions.
            match self.base_workflows.with_site(&files) {
                Ok(r) => Arc::new(r),
                Err(e) => {
                    tracing::error!(site.id = %site.id, error = %e, "the site's workflow definitions do not load");
                    self.base_workflows.clone()
                }
            }
        };
        self.wf_cache.put(&site.id, seen, reg.clone());
        Ok(reg)
    }

    /// The site's own rules of which types may be added where (over the type files).
    pub async fn type_rules(&self, site: &SiteRow) -> Result<Arc<beffroi_model::schema::TypeRules>> {
        if let Some(rules) = self.type_rules.fresh(&site.id, self.cache_ttl()) {
            return Ok(rules);
        }
        let mut c = self.store.conn().await?;
        self.type_rules_in(site, &mut c.db()).await
    }

    /// [`Services::type_rules`], read through `db` when not kept: for a caller that
    /// holds a connection or transaction (waiting for another could deadlock the pool).
    pub(crate) async fn type_rules_in(
        &self,
        site: &SiteRow,
        db: &mut beffroi_store::Db<'_>,
    ) -> Result<Arc<beffroi_model::schema::TypeRules>> {
        if let Some(rules) = self.type_rules.fresh(&site.id, self.cache_ttl()) {
            return Ok(rules);
        }
        let seen = self.change_clock();
        let raw = db.setting(&type_rules_key(site)).await?;
        let rules = match raw {
            Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
                tracing::error!(site.id = %site.id, error = %e, "the site's type rules do not load");
                beffroi_model::schema::TypeRules::default()
            }),
            None => beffroi_model::schema::TypeRules::default(),
        };
        let rules = Arc::new(beffroi_model::schema::TypeRules {
            unavailable: apps::unavailable_types(&self.apps, site),
            ..rules
        });
        self.type_rules.put(&site.id, seen, rules.clone());
        Ok(rules)
    }

    /// Whether a `child` may be added in an item of type `container` (None: the root).
    pub async fn may_add(&self, site: &SiteRow, container: Option<&str>, child: &str) -> Result<bool> {
        let rules = self.type_rules(site).await?;
        Ok(self.types.may_add_with(&rules, container, child))
    }

    /// Sets the site's own rule for `type_name` (site managers only).
    pub async fn set_type_rule(
        &self,
        actor: &beffroi_model::security::Principal,
        site: &SiteRow,
        type_name: &str,
        rule: beffroi_model::schema::TypeRule,
    ) -> Result<()> {
        self.require_on_site(actor, site, beffroi_model::security::Permission::ManagePortal).await?;
        let known = |t: &str| self.types.get(t).is_some();
        if !known(type_name) {
            return Err(ServiceError::BadRequest(format!("unknown type {type_name:?}")));
        }
        if let Some(Some(list)) = &rule.allowed_types
            && let Some(bad) = list.iter().find(|t| !known(t))
        {
            return Err(ServiceError::BadRequest(format!("unknown type {bad:?}")));
        }
        let mut rules = (*self.type_rules(site).await?).clone();
        if rule == beffroi_model::schema::TypeRule::default() {
            rules.by_type.remove(type_name);
        } else {
            rules.by_type.insert(type_name.to_owned(), rule);
        }
        let json = serde_json::to_string(&rules).expect("serializable");
        let mut tx = self.store.begin().await?;
        tx.db().set_setting(&type_rules_key(site), &json).await?;
        tx.commit().await?;
        self.stale(stale::Stale::Site(site.id.clone()));
        Ok(())
    }

    /// Applies the migrations the loaded applications have not applied yet (at start,
    /// before serving); returns how many ran.
    pub async fn migrate_apps(&self) -> Result<u32> {
        let mut ran = 0;
        for app in self.apps.iter() {
            ran += self.store.migrate_app(app.name, app.migrations).await?;
        }
        Ok(ran)
    }

    /// The hooks of `site`'s applications on a transition.
    fn hooks(&self, site: &SiteRow, t: &Transitioned, when: When) -> Vec<HookFn> {
        apps::hooks(&self.apps, site, t, when)
    }

    fn item_hooks(&self, site: &SiteRow, type_name: &str, on: work::Change) -> Vec<work::ItemHookFn> {
        apps::item_hooks(&self.apps, site, type_name, on)
    }

    /// Checks that the database answers (for the health endpoint).
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.store.conn().await?;
        c.db().list_sites().await?;
        Ok(())
    }

    /// Whether the database's connections are encrypted (PostgreSQL over TLS).
    pub async fn database_encrypted(&self) -> Result<bool> {
        Ok(self.store.encrypted().await?)
    }

    /// Whether the blob store answers.
    pub async fn check_blobs(&self) -> Result<()> {
        Ok(self.blobs.check().await?)
    }

    /// What the server holds and does, for its metrics: sites and items in the
    /// database, files and bytes in the blob store (which this lists whole: callers
    /// keep the answer a while).
    pub async fn sizes(&self) -> Result<Sizes> {
        let (sites, items) = {
            let mut c = self.store.conn().await?;
            c.db().totals().await?
        };
        let (files, file_bytes) = self.blobs.usage().await?;
        Ok(Sizes { sites: sites as u64, items: items as u64, files, file_bytes })
    }

    /// The use of the database's connections now.
    pub fn pool_state(&self) -> PoolState {
        self.store.pool_state()
    }

    /// Login attempts since the server started: succeeded, failed (wrong
    /// credentials), refused while throttled.
    pub fn login_counts(&self) -> &LoginCounts {
        &self.logins
    }
}
