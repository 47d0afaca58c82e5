//! The command line: every flag typed, documented, and readable from the environment.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// Beffroi: the content-management and e-government platform of communes.
#[derive(Debug, Parser)]
#[command(name = "beffroi", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the sites over HTTP.
    Serve(ServeArgs),
    /// Create and list sites (communes).
    Site(SiteArgs),
    /// Manage the users of a site.
    User(UserArgs),
    /// Manage the groups of a site.
    Group(GroupArgs),
    /// Manage operator accounts: Manager on every site of this deployment.
    Operator(OperatorArgs),
    /// Show and change the workflows of a site.
    Workflow(WorkflowArgs),
    /// Rebuild the search catalog of one site or of all.
    Reindex(ReindexArgs),
    /// Import a site from another system's export.
    Import(ImportArgs),
    /// Export a site in another system's format.
    Export(ExportArgs),
    /// Measure the server under load on SQLite and PostgreSQL.
    Bench(BenchArgs),
    /// Copy the database (SQLite, while servers run) and the files into a new folder.
    Backup(BackupArgs),
    /// Restore a backup into an empty data folder, after checking all of it.
    Restore(RestoreArgs),
    /// Move the files to another store, or remove those nothing refers to.
    Blobs(BlobsArgs),
}

#[derive(Debug, Args)]
pub struct BlobsArgs {
    #[command(subcommand)]
    pub command: BlobsCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum BlobsCommand {
    /// Copy every file of a folder into another store (an S3 bucket: s3://BUCKET[/PREFIX],
    /// with the --s3-* options): resumable, files already there are skipped. Then
    /// serve with --blobs set to it.
    Migrate {
        /// The folder the files are in now.
        #[arg(long)]
        from: PathBuf,
        /// The store to copy them to.
        #[arg(long)]
        to: String,
    },
    /// Remove the files (and their scales) that no item nor revision refers to, once
    /// older than the grace period (an upload being saved is never removed).
    Sweep {
        /// Keep files younger than this, in hours (at least 24: a file kept for a form
        /// shown again lives that long before its item is saved).
        #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u64).range(24..=876_000))]
        grace_hours: u64,
        /// List what would be removed, remove nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    /// The folder to write the backup in: new or empty.
    #[arg(long)]
    pub to: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// The backup's folder (written by `beffroi backup`).
    #[arg(long)]
    pub from: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

/// Where the data lives.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Folder for the SQLite database and the files.
    #[arg(long, env = "BEFFROI_DATA", default_value = "./beffroi-data", global = true)]
    pub data: PathBuf,
    /// Database URL: sqlite://PATH or postgres://USER:PASSWORD@HOST/DB [default: sqlite://<data>/beffroi.db]
    #[arg(long, env = "BEFFROI_DATABASE_URL", global = true, hide_env_values = true)]
    pub database: Option<String>,
    /// Where uploaded files and images live, shared by every server of a PostgreSQL
    /// cluster: a folder, or an S3-compatible bucket as s3://BUCKET[/PREFIX]
    /// [default: <data>/blobs]
    #[arg(long, env = "BEFFROI_BLOBS", global = true)]
    pub blobs: Option<PathBuf>,
    /// S3: the service's address, for stores other than Amazon's (http://minio:9000);
    /// else AWS_ENDPOINT or Amazon's.
    #[arg(long, env = "BEFFROI_S3_ENDPOINT", global = true)]
    pub s3_endpoint: Option<String>,
    /// S3: the region (else AWS_REGION, else us-east-1).
    #[arg(long, env = "BEFFROI_S3_REGION", global = true)]
    pub s3_region: Option<String>,
    /// S3: the access key id (else AWS_ACCESS_KEY_ID).
    #[arg(long, env = "BEFFROI_S3_ACCESS_KEY_ID", global = true, hide_env_values = true)]
    pub s3_access_key_id: Option<String>,
    /// S3: the secret access key (else AWS_SECRET_ACCESS_KEY); prefer the variable to
    /// the flag, which other users of the machine can read.
    #[arg(long, env = "BEFFROI_S3_SECRET_ACCESS_KEY", global = true, hide_env_values = true)]
    pub s3_secret_access_key: Option<beffroi_service::Secret>,
    /// S3: address objects as ENDPOINT/BUCKET/KEY (MinIO and most stores other than
    /// Amazon's) rather than BUCKET.ENDPOINT/KEY.
    #[arg(long, env = "BEFFROI_S3_PATH_STYLE", global = true)]
    pub s3_path_style: bool,
    /// PostgreSQL over TLS: the certificate authority (PEM file) the server's
    /// certificate must be signed by; the URL's `sslmode` (verify-full unless it says
    /// otherwise) and `sslrootcert` are honoured too.
    #[arg(long, env = "BEFFROI_DB_CA_FILE", global = true, value_name = "PEM")]
    pub db_ca_file: Option<PathBuf>,
}

impl DbArgs {
    pub fn url(&self) -> String {
        match &self.database {
            Some(u) => u.clone(),
            None => format!("sqlite://{}", self.data.join("beffroi.db").display()),
        }
    }

    /// The options of the store, with at most `max_connections`.
    pub fn store_options(&self, max_connections: u32) -> beffroi_store::StoreOptions {
        beffroi_store::StoreOptions { max_connections, ca_file: self.db_ca_file.clone(), ..Default::default() }
    }

    /// The blob store the arguments name (a folder, or an S3 bucket), not yet asked
    /// anything.
    pub fn blob_store(&self) -> anyhow::Result<beffroi_store::Blobs> {
        use anyhow::Context;
        let dir = self.blobs_dir();
        match dir.to_str().filter(|d| d.starts_with("s3://")) {
            Some(url) => {
                let opts = beffroi_store::S3Options {
                    url: url.to_owned(),
                    endpoint: self.s3_endpoint.clone(),
                    region: self.s3_region.clone(),
                    access_key_id: self.s3_access_key_id.clone(),
                    secret_access_key: self.s3_secret_access_key.clone().map(|h| h.0),
                    path_style: self.s3_path_style,
                };
                beffroi_store::Blobs::s3(&opts, &self.data.join("spool")).context("cannot use the S3 blob store")
            }
            None => beffroi_store::Blobs::local(&dir)
                .with_context(|| format!("cannot open the file folder {}", dir.display())),
        }
    }

    /// The blob store, checked: it answers (one line saying why when it does not).
    pub async fn open_blobs(&self) -> anyhow::Result<beffroi_store::Blobs> {
        use anyhow::Context;
        let blobs = self.blob_store()?;
        blobs
            .check()
            .await
            .with_context(|| format!("the blob store {} does not answer", self.blobs_dir().display()))?;
        Ok(blobs)
    }

    pub fn blobs_dir(&self) -> PathBuf {
        self.blobs.clone().unwrap_or_else(|| self.data.join("blobs"))
    }
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "BEFFROI_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// On an empty database, create the demo site with sample content and a Manager
    /// `admin` whose password is BEFFROI_ADMIN_PASSWORD (or generated and printed once).
    #[arg(long)]
    pub demo: bool,
    /// Most database connections this process opens.
    #[arg(long, env = "BEFFROI_DB_CONNECTIONS", default_value_t = 8)]
    pub db_connections: u32,
    /// Largest file or image upload, in megabytes (larger ones are refused with 413).
    #[arg(long, env = "BEFFROI_MAX_UPLOAD_MB", default_value_t = 50)]
    pub max_upload_mb: u64,
    /// Largest image accepted, in millions of pixels (16-bit images count double);
    /// larger ones are refused from their header, before being decoded.
    #[arg(long, env = "BEFFROI_MAX_IMAGE_PIXELS", default_value_t = 50, value_name = "MEGAPIXELS")]
    pub max_image_pixels: u64,
    /// Longest a GET or HEAD request may take, in seconds, before it is stopped with
    /// 503 (0: no limit). Writes have no limit: they may carry large uploads.
    #[arg(long, env = "BEFFROI_REQUEST_TIMEOUT", default_value_t = 30, value_name = "SECS")]
    pub request_timeout: u64,
    /// Memory for the pages anonymous visitors read, kept as answered and dropped when
    /// their site changes, in megabytes (0: no cache).
    #[arg(long, env = "BEFFROI_PAGE_CACHE_MB", default_value_t = 64, value_name = "MB")]
    pub page_cache_mb: usize,
    /// Revisions kept per item, the newest (0 keeps every revision).
    #[arg(long, env = "BEFFROI_KEEP_REVISIONS", default_value_t = 0)]
    pub keep_revisions: u32,
    /// Largest rich text accepted, in kilobytes (larger ones are refused with 413).
    #[arg(long, env = "BEFFROI_MAX_RICH_TEXT_KB", default_value_t = 2048)]
    pub max_rich_text_kb: usize,
    /// Reverse proxies whose X-Forwarded-For names the client, comma-separated
    /// addresses or networks (127.0.0.1,10.0.0.0/8); by default the connection's peer
    /// is the client.
    #[arg(long, env = "BEFFROI_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<beffroi_web::client::TrustedProxy>,
    /// Address and port of a second listener serving only /@@metrics (Prometheus,
    /// without a token), /@@health, /@@ready and /@@live: keep it off the public
    /// network.
    #[arg(long, env = "BEFFROI_METRICS_LISTEN")]
    pub metrics_listen: Option<SocketAddr>,
    /// A token that opens /@@metrics on the public address too (as
    /// `Authorization: Bearer TOKEN`); prefer the environment variable to the flag,
    /// which other users of the machine can read.
    #[arg(long, env = "BEFFROI_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<beffroi_service::Secret>,
    /// A reverse proxy (Varnish…) to send `PURGE` requests to when content changes:
    /// its base URL, e.g. http://127.0.0.1:6081 (repeatable, or comma-separated).
    #[arg(long = "purge-url", env = "BEFFROI_PURGE_URLS", value_delimiter = ',')]
    pub purge_urls: Vec<beffroi_web::PurgeUrl>,
    /// On SIGTERM or Ctrl-C, how long requests in flight may take to finish, in
    /// seconds, before the server stops anyway (/@@ready answers 503 meanwhile).
    #[arg(long, env = "BEFFROI_SHUTDOWN_GRACE", default_value_t = 30, value_name = "SECS")]
    pub shutdown_grace: u64,
    /// A file holding the log filter (as BEFFROI_LOG: `info`, `debug`,
    /// `info,beffroi::request=warn`…), read at start when it exists and again at
    /// each SIGHUP [default: <data>/log-level]
    #[arg(long, env = "BEFFROI_LOG_LEVEL_FILE", value_name = "FILE")]
    pub log_level_file: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub command: ImportCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import a Plone 6 export (plone.exportimport's folder: content/, principals.json,
    /// redirects.json…) into a site, as one transaction: all of it or nothing. Items
    /// are matched by UID, so running it again changes nothing.
    Plone(PloneImportArgs),
}

#[derive(Debug, Args)]
pub struct PloneImportArgs {
    /// The export's folder (the one holding content/ and principals.json).
    pub dir: PathBuf,
    /// The site to import into.
    #[arg(long)]
    pub site: String,
    /// Create the site (it must not exist yet), in the same transaction.
    #[arg(long)]
    pub create: bool,
    /// The new site's title (with --create).
    #[arg(long, requires = "create")]
    pub title: Option<String>,
    /// The new site's language (with --create): fr, nl, de or en.
    #[arg(long, default_value = "fr")]
    pub language: String,
    /// Import items of Plone type OLD as type NEW (repeatable), e.g.
    /// --map-type "Plone Site=Folder".
    #[arg(long = "map-type", value_name = "OLD=NEW")]
    pub map_types: Vec<String>,
    /// Put items in state OLD in state NEW (repeatable); states the workflow lacks
    /// otherwise become its initial state (said in the report).
    #[arg(long = "map-state", value_name = "OLD=NEW")]
    pub map_states: Vec<String>,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    pub command: ExportCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// Export a site as Plone 6's plone.exportimport writes one (content/ with each
    /// item's data.json and files, principals.json with the password hashes as stored,
    /// redirects.json…), which `beffroi import plone` and Plone read back.
    Plone(PloneExportArgs),
}

#[derive(Debug, Args)]
pub struct PloneExportArgs {
    /// The site to export.
    #[arg(long)]
    pub site: String,
    /// The folder to write: a new one, or an empty one.
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReindexArgs {
    /// Only this site (default: every site).
    #[arg(long)]
    pub site: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Args)]
pub struct SiteArgs {
    #[command(subcommand)]
    pub command: SiteCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum SiteCommand {
    /// Create a site.
    Create {
        /// The site's id: lower-case letters, digits and dashes; its URL is /<id>.
        id: String,
        /// The site's title, e.g. "Commune de Namur".
        #[arg(long)]
        title: String,
        /// Default language of the site: fr, nl, de or en.
        #[arg(long, default_value = "fr")]
        language: String,
        /// A host name that serves this site at its root (repeatable).
        #[arg(long = "host")]
        hosts: Vec<String>,
        /// The time zone in which forms and pages show date-times (an IANA name).
        #[arg(long, default_value = "Europe/Brussels")]
        time_zone: beffroi_model::zone::SiteZone,
    },
    /// Set the time zone in which a site's forms and pages show date-times.
    TimeZone {
        #[arg(long)]
        site: String,
        /// An IANA name, e.g. Europe/Brussels or Europe/Paris.
        zone: beffroi_model::zone::SiteZone,
    },
    /// Set the languages a site publishes in (its own first): with more than one, each
    /// gets its language root folder (/fr, /nl…), linked as translations, and every
    /// page a language switcher.
    Languages {
        #[arg(long)]
        site: String,
        /// Language codes among fr, nl, de and en, e.g. `fr nl`.
        #[arg(required = true)]
        languages: Vec<String>,
        /// The type of the language root folders made.
        #[arg(long, default_value = "Folder")]
        folder_type: String,
    },
    /// List the sites (id, language, title, applications, host names).
    List,
    /// Enable or disable applications on a site; without options, list them. A disabled
    /// application's types, endpoints and views are gone from the site (its content
    /// stays stored).
    Apps {
        #[arg(long)]
        site: String,
        /// An application to enable (repeatable).
        #[arg(long)]
        enable: Vec<String>,
        /// An application to disable (repeatable).
        #[arg(long)]
        disable: Vec<String>,
    },
    /// Set which types a type holds, or whether it may be added anywhere, on one site
    /// (over the type files). Without options, shows the site's rules.
    Types {
        #[arg(long)]
        site: String,
        /// The type the rule is about, e.g. Folder.
        type_name: Option<String>,
        /// The only types it may hold, comma-separated ("" for none).
        #[arg(long, conflicts_with = "allow_any")]
        allow: Option<String>,
        /// It may hold any globally allowed type.
        #[arg(long)]
        allow_any: bool,
        /// Whether it may be added in any folder that does not restrict its types.
        #[arg(long)]
        global_allow: Option<bool>,
        /// Forget the site's rule for this type (the type file decides again).
        #[arg(long)]
        reset: bool,
    },
}

#[derive(Debug, Args)]
pub struct UserArgs {
    #[command(subcommand)]
    pub command: UserCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from standard input.
    Create {
        /// The site the user belongs to.
        #[arg(long)]
        site: String,
        /// The user's login.
        login: String,
        /// A global role (repeatable): Member, Reader, Contributor, Editor, Reviewer,
        /// "Site Administrator", Manager.
        #[arg(long = "role")]
        roles: Vec<String>,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
        /// The user's full name.
        #[arg(long, default_value = "")]
        fullname: String,
        /// The user's email address.
        #[arg(long, default_value = "")]
        email: String,
    },
    /// Set a user's password, read from standard input.
    Passwd {
        #[arg(long)]
        site: String,
        login: String,
        /// Read the password from the first line of standard input.
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// List the users of a site.
    List {
        #[arg(long)]
        site: String,
    },
    /// Disable a user: they can no longer log in and their tokens stop working.
    Disable {
        #[arg(long)]
        site: String,
        login: String,
    },
    /// Enable a disabled user again.
    Enable {
        #[arg(long)]
        site: String,
        login: String,
    },
}

#[derive(Debug, Args)]
pub struct GroupArgs {
    #[command(subcommand)]
    pub command: GroupCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group.
    Create {
        /// The site the group belongs to.
        #[arg(long)]
        site: String,
        /// The group's id.
        id: String,
        /// The group's title.
        #[arg(long, default_value = "")]
        title: String,
        /// A global role every member gets (repeatable).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Add a user to a group.
    AddMember {
        #[arg(long)]
        site: String,
        /// The group's id.
        group: String,
        /// The user's login.
        login: String,
    },
    /// List the groups of a site with their roles and members.
    List {
        #[arg(long)]
        site: String,
    },
}

#[derive(Debug, Args)]
pub struct OperatorArgs {
    #[command(subcommand)]
    pub command: OperatorCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum OperatorCommand {
    /// Create an operator; the password is read from standard input.
    Create {
        login: String,
        #[arg(long, required = true)]
        password_stdin: bool,
        #[arg(long, default_value = "")]
        fullname: String,
    },
    /// List the operators.
    List,
    /// Disable an operator.
    Disable { login: String },
    /// Enable an operator again.
    Enable { login: String },
}

#[derive(Debug, Args)]
pub struct WorkflowArgs {
    #[command(subcommand)]
    pub command: WorkflowCommand,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Subcommand)]
pub enum WorkflowCommand {
    /// List the workflows of a site and which type follows which.
    List {
        #[arg(long)]
        site: String,
    },
    /// Add or replace a workflow of a site from a JSON definition file.
    Set {
        #[arg(long)]
        site: String,
        /// The definition (same format as the shipped ones).
        file: std::path::PathBuf,
    },
    /// Make a type follow a workflow ("none": its container's permissions).
    Chain {
        #[arg(long)]
        site: String,
        /// The type, e.g. Document.
        type_name: String,
        /// The workflow id, or "none".
        workflow: String,
        /// Where items in a state the new workflow lacks go: OLD=NEW (repeatable);
        /// unmapped ones go to the new workflow's initial state.
        #[arg(long = "map")]
        maps: Vec<String>,
    },
}

#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Number of pages to create (in nested folders).
    #[arg(long, default_value_t = 10_000)]
    pub items: u32,
    /// Measure one deployment of many sites instead (PostgreSQL, --postgres): create
    /// this many sites of 200 pages each, start the server, and spread page views and
    /// searches over all of them; reports start time, RSS, requests/s.
    #[arg(long, conflicts_with_all = ["search", "meetings"])]
    pub sites: Option<u32>,
    /// Seconds of load per scenario.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Concurrent connections of the load generator.
    #[arg(long, default_value_t = 32)]
    pub connections: usize,
    /// A PostgreSQL URL whose user may create databases; the bench makes and drops its
    /// own database there. Without it, only SQLite is measured.
    #[arg(long, env = "BEFFROI_BENCH_POSTGRES")]
    pub postgres: Option<String>,
    /// Where the SQLite run keeps its files (default: a temporary folder).
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Measure the catalog instead of HTTP: create --items generated French and Dutch
    /// pages, reindex them, and time two-word queries.
    #[arg(long)]
    pub search: bool,
    /// Measure the meetings application instead of HTTP: a service with --items
    /// items and a meeting of 300 (presenting, freezing, the agenda's page and JSON,
    /// "my items" and "to validate"), in the process.
    #[arg(long, conflicts_with = "search")]
    pub meetings: bool,
    /// With --search: make every page public (one-state workflow, no dates), the
    /// best case, where the security filter and the publication window exclude
    /// nothing; by default a fifth of the pages are private or pending and a tenth
    /// have publication dates.
    #[arg(long, requires = "search")]
    pub all_public: bool,
    /// Number of queries timed by --search, per kind and reader.
    #[arg(long, default_value_t = 1000)]
    pub queries: usize,
    /// With --search: query the site an earlier run left rather than making a new one
    /// (no creation or reindex figures): SQLite's in --data, PostgreSQL's in the
    /// database the --postgres URL names (one kept with --keep). With --sites: the
    /// sites of the database the --postgres URL names (kept by an earlier run), made up
    /// to --sites if there are fewer.
    #[arg(long)]
    pub reuse: bool,
    /// With --search: create the pages but do not reindex them, to time or profile a
    /// first `beffroi reindex` of them afterwards (with --data or --keep).
    #[arg(long)]
    pub no_reindex: bool,
    /// Measure PostgreSQL only (with --postgres).
    #[arg(long, requires = "postgres")]
    pub no_sqlite: bool,
    /// Keep the PostgreSQL database the bench made (its name is printed) instead of
    /// dropping it, to look at its plans afterwards.
    #[arg(long)]
    pub keep: bool,
}
