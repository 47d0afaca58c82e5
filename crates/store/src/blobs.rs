//! File and image bytes, kept outside the database through object_store: a folder under
//! the data directory by default (S3 later, same trait). Blobs are addressed by the
//! SHA-256 of their bytes, so the same upload twice is stored once and a blob never
//! changes under its name; who may read one is decided by the item that refers to it.
//! An upload arriving over the network is spooled to a temporary file beside the blobs
//! as it comes (hashed on the way), never held whole in memory.

use std::ops::Range;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::{GetOptions, GetRange, ObjectStore, ObjectStoreExt, PutPayload};
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt, BufWriter};

use crate::{Result, StoreError};

/// Where blobs live.
#[derive(Clone, Debug)]
pub struct Blobs {
    inner: Arc<dyn ObjectStore>,
    /// Where uploads are spooled while they arrive (on the blobs' own disk).
    spool_dir: PathBuf,
}

/// Spooled files older than this are leftovers of a stopped server.
const STALE_SPOOL: Duration = Duration::from_secs(24 * 3600);

/// How old a stored file may be before storing the same bytes again rewrites it (see
/// [`Blobs::written_lately`]); far below the sweep's smallest grace.
const REWRITE_AFTER: chrono::TimeDelta = chrono::TimeDelta::hours(1);

/// Bytes read at a time when a spooled file is stored.
const STORE_CHUNK: usize = 8 * 1024 * 1024;

/// An upload being written to a temporary file as it arrives.
pub struct Spool {
    file: BufWriter<tokio::fs::File>,
    path: tempfile::TempPath,
    hasher: Sha256,
    size: u64,
}

/// An upload received whole into a temporary file (removed when this is dropped): its
/// size and content hash are known without reading it again.
#[derive(Debug)]
pub struct Spooled {
    path: tempfile::TempPath,
    hash: String,
    size: u64,
}

impl Spool {
    /// Appends the next bytes of the upload.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<()> {
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        self.file.write_all(chunk).await.map_err(spool_err)
    }

    /// Bytes written so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The whole upload, written out.
    pub async fn finish(mut self) -> Result<Spooled> {
        self.file.flush().await.map_err(spool_err)?;
        Ok(Spooled { path: self.path, hash: hex(&self.hasher.finalize()), size: self.size })
    }
}

impl Spooled {
    /// The temporary file, to read the upload again (to check or extract it).
    pub fn path(&self) -> &FsPath {
        &self.path
    }

    pub fn size(&self) -> u64 {
        self.size
    }
}

fn spool_err(e: std::io::Error) -> StoreError {
    StoreError::Blob(format!("cannot spool an upload: {e}"))
}

/// A stored blob: its content hash (hex) and size in bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRef {
    pub hash: String,
    pub size: u64,
}

/// A blob being read: its total size, the byte range sent, and the bytes.
pub struct BlobRead {
    pub size: u64,
    pub range: Range<u64>,
    pub body: BoxStream<'static, Result<Bytes>>,
}

fn blob_err(e: object_store::Error) -> StoreError {
    match e {
        object_store::Error::NotFound { .. } => StoreError::NotFound,
        other => StoreError::BlobStore(other.to_string()),
    }
}

/// A file of the blob store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// `blobs/ab/<hash>` for an upload, `derived/ab/<hash>/<name>` for a scale.
    pub key: String,
    pub size: u64,
    pub modified: chrono::DateTime<chrono::Utc>,
}

/// The content hash an upload's key names (`blobs/ab/<hash>`); None for any other key
/// (a scale's, a stray file's).
pub fn upload_of(key: &str) -> Option<&str> {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("blobs"), Some(_), Some(hash), None) if valid_hash(hash) => Some(hash),
        _ => None,
    }
}

impl StoredObject {
    /// The upload this file is or derives from (its content hash).
    pub fn blob(&self) -> Option<&str> {
        let mut parts = self.key.split('/');
        match (parts.next(), parts.next(), parts.next()) {
            (Some("blobs" | "derived"), Some(_), Some(hash)) if valid_hash(hash) => Some(hash),
            _ => None,
        }
    }

    /// Whether it is an upload (not a scale).
    pub fn is_upload(&self) -> bool {
        upload_of(&self.key).is_some()
    }
}

/// An S3-compatible object store for the blobs. What is not set here comes from the
/// usual `AWS_*` variables (`AWS_ACCESS_KEY_ID`, `AWS_REGION`, `AWS_ENDPOINT`…).
#[derive(Clone, Default)]
pub struct S3Options {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub url: String,
    /// The service's address, for stores other than Amazon's (`http://minio:9000`).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    /// Addresses as `endpoint/bucket/key` rather than `bucket.endpoint/key`.
    pub path_style: bool,
}

impl std::fmt::Debug for S3Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Options")
            .field("url", &self.url)
            .field("endpoint", &self.endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &self.secret_access_key.as_ref().map(|_| "***"))
            .field("path_style", &self.path_style)
            .finish()
    }
}

/// A key of [`Blobs::files`] as object_store takes it.
fn parse_key(key: &str) -> Result<Path> {
    Path::parse(key).map_err(|e| StoreError::Blob(e.to_string()))
}

/// Whether `s` is a hash this store could have made (so it is safe in a key).
fn valid_hash(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl Blobs {
    /// Blobs in the folder `dir`, created if missing.
    pub fn local(dir: &FsPath) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|e| StoreError::Blob(format!("cannot create the blob folder {}: {e}", dir.display())))?;
        let fs = LocalFileSystem::new_with_prefix(dir).map_err(blob_err)?;
        let spool_dir = dir.join("spool");
        std::fs::create_dir_all(&spool_dir)
            .map_err(|e| StoreError::Blob(format!("cannot create {}: {e}", spool_dir.display())))?;
        remove_stale(&spool_dir);
        Ok(Self { inner: Arc::new(fs), spool_dir })
    }

    /// Whether the blob store answers (a missing object is an answer).
    pub async fn check(&self) -> Result<()> {
        // A listing, not a missing object's head: a bucket that is not there answers
        // a head with "not found" too.
        match self.inner.list_with_delimiter(None).await {
            Ok(_) => Ok(()),
            Err(e) => Err(StoreError::BlobStore(e.to_string())),
        }
    }

    /// How many files the store keeps and their bytes (uploads and their scales; the
    /// uploads being received aside). Lists the whole store: for occasional use.
    pub async fn usage(&self) -> Result<(u64, u64)> {
        let files = self.files().await?;
        Ok((files.len() as u64, files.iter().map(|f| f.size).sum()))
    }

    /// Every file the store keeps (uploads under `blobs/`, scales under `derived/`;
    /// the spool aside), in key order.
    pub async fn files(&self) -> Result<Vec<StoredObject>> {
        let mut out: Vec<StoredObject> = self
            .inner
            .list(None)
            .map_ok(|m| StoredObject { key: m.location.to_string(), size: m.size, modified: m.last_modified })
            .try_filter(|o| std::future::ready(!o.key.starts_with("spool/")))
            .try_collect()
            .await
            .map_err(blob_err)?;
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    /// The size of the file at `key`, if there is one.
    pub async fn size_of(&self, key: &str) -> Result<Option<u64>> {
        let key = parse_key(key)?;
        match self.inner.head(&key).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(blob_err(e)),
        }
    }

    /// Removes the file at `key` (none there: nothing to do).
    pub async fn delete(&self, key: &str) -> Result<()> {
        let key = parse_key(key)?;
        match self.inner.delete(&key).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(blob_err(e)),
        }
    }

    /// Copies the file at `key` into `dest` under the same key, streamed a few
    /// megabytes at a time.
    pub async fn copy_file(&self, key: &str, dest: &Blobs) -> Result<()> {
        let key = parse_key(key)?;
        let body = self.inner.get(&key).await.map_err(blob_err)?.into_stream().map_err(blob_err);
        dest.put_in_parts(&key, body).await
    }

    /// Stores the bytes `chunks` yields at `key`, in parts of [`STORE_CHUNK`]
    /// (multipart): completed whole, or aborted with nothing left under `key`.
    async fn put_in_parts(&self, key: &Path, chunks: impl futures_util::Stream<Item = Result<Bytes>>) -> Result<()> {
        let mut upload = self.inner.put_multipart(key).await.map_err(blob_err)?;
        let written = async {
            let mut chunks = std::pin::pin!(chunks);
            let mut part = Vec::new();
            while let Some(chunk) = chunks.try_next().await? {
                if part.is_empty() && chunk.len() >= STORE_CHUNK {
                    upload.put_part(PutPayload::from(chunk)).await.map_err(blob_err)?;
                    continue;
                }
                part.extend_from_slice(&chunk);
                if part.len() >= STORE_CHUNK {
                    upload.put_part(PutPayload::from(std::mem::take(&mut part))).await.map_err(blob_err)?;
                }
            }
            if !part.is_empty() {
                upload.put_part(PutPayload::from(part)).await.map_err(blob_err)?;
            }
            upload.complete().await.map_err(blob_err)
        }
        .await;
        if let Err(e) = written {
            let _ = upload.abort().await;
            return Err(e);
        }
        Ok(())
    }

    /// The size and SHA-256 (hex) of the file at `key`, read whole (streamed); None
    /// when there is no such file.
    pub async fn digest(&self, key: &str) -> Result<Option<(u64, String)>> {
        let key = parse_key(key)?;
        let mut body = match self.inner.get(&key).await {
            Ok(got) => got.into_stream(),
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(blob_err(e)),
        };
        let (mut size, mut hasher) = (0, Sha256::new());
        while let Some(chunk) = body.try_next().await.map_err(blob_err)? {
            size += chunk.len() as u64;
            hasher.update(&chunk);
        }
        Ok(Some((size, hex(&hasher.finalize()))))
    }

    /// Blobs in an S3-compatible bucket (under its prefix), uploads spooled in
    /// `spool_dir` while they arrive. Nothing is asked of the store yet: see
    /// [`Blobs::check`].
    pub fn s3(opts: &S3Options, spool_dir: &FsPath) -> Result<Self> {
        let rest = opts
            .url
            .strip_prefix("s3://")
            .ok_or_else(|| StoreError::BlobStore(format!("{:?} is not s3://bucket[/prefix]", opts.url)))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StoreError::BlobStore(format!("{:?} names no bucket", opts.url)));
        }
        let mut b = object_store::aws::AmazonS3Builder::from_env().with_bucket_name(bucket);
        if let Some(e) = &opts.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(r) = &opts.region {
            b = b.with_region(r);
        }
        if let Some(k) = &opts.access_key_id {
            b = b.with_access_key_id(k);
        }
        if let Some(k) = &opts.secret_access_key {
            b = b.with_secret_access_key(k);
        }
        if opts.path_style {
            b = b.with_virtual_hosted_style_request(false);
        }
        // A store that does not answer fails a request in seconds, not minutes.
        let retry =
            object_store::RetryConfig { max_retries: 3, retry_timeout: Duration::from_secs(15), ..Default::default() };
        let plain = opts.endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        let client = object_store::ClientOptions::new()
            .with_allow_http(plain)
            .with_connect_timeout(Duration::from_secs(5))
            .with_timeout(Duration::from_secs(120));
        let store = b.with_retry(retry).with_client_options(client).build().map_err(blob_err)?;
        let inner: Arc<dyn ObjectStore> = match prefix.trim_matches('/') {
            "" => Arc::new(store),
            p => Arc::new(object_store::prefix::PrefixStore::new(store, p)),
        };
        std::fs::create_dir_all(spool_dir)
            .map_err(|e| StoreError::Blob(format!("cannot create {}: {e}", spool_dir.display())))?;
        remove_stale(spool_dir);
        Ok(Self { inner, spool_dir: spool_dir.to_owned() })
    }

    /// A new temporary file for an upload about to arrive.
    pub async fn spool(&self) -> Result<Spool> {
        let dir = self.spool_dir.clone();
        let (file, path) = tokio::task::spawn_blocking(move || tempfile::NamedTempFile::new_in(dir))
            .await
            .map_err(|e| StoreError::Blob(e.to_string()))?
            .map_err(spool_err)?
            .into_parts();
        let file = BufWriter::with_capacity(256 * 1024, tokio::fs::File::from_std(file));
        Ok(Spool { file, path, hasher: Sha256::new(), size: 0 })
    }

    /// Stores a spooled upload, a few megabytes at a time; storing the same bytes again
    /// is free.
    pub async fn put_spooled(&self, spooled: &Spooled) -> Result<BlobRef> {
        let hash = spooled.hash.clone();
        let key = Self::key(&hash)?;
        if !self.written_lately(&key).await? {
            let file = tokio::fs::File::open(spooled.path()).await.map_err(spool_err)?;
            let chunks = futures_util::stream::try_unfold(file, |mut file| async move {
                let mut buf = Vec::with_capacity(STORE_CHUNK);
                (&mut file).take(STORE_CHUNK as u64).read_to_end(&mut buf).await.map_err(spool_err)?;
                Ok((!buf.is_empty()).then(|| (Bytes::from(buf), file)))
            });
            self.put_in_parts(&key, chunks).await?;
        }
        Ok(BlobRef { hash, size: spooled.size })
    }

    /// Whether the file at `key` is there and was written within [`REWRITE_AFTER`]:
    /// then storing the same bytes again is free. An older one is written again, so
    /// that its time says it is in use: `beffroi blobs sweep` spares files younger
    /// than its grace, and an upload of bytes stored long ago, nothing referring to
    /// them any more, must not be swept while its item is being saved.
    async fn written_lately(&self, key: &Path) -> Result<bool> {
        match self.inner.head(key).await {
            Ok(meta) => Ok(chrono::Utc::now() - meta.last_modified < REWRITE_AFTER),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(blob_err(e)),
        }
    }

    fn key(hash: &str) -> Result<Path> {
        if !valid_hash(hash) {
            return Err(StoreError::NotFound);
        }
        Ok(Path::from(format!("blobs/{}/{hash}", &hash[..2])))
    }

    fn derived_key(hash: &str, name: &str) -> Result<Path> {
        if !valid_hash(hash) || name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.') {
            return Err(StoreError::NotFound);
        }
        Ok(Path::from(format!("derived/{}/{hash}/{name}", &hash[..2])))
    }

    /// Stores `data` and returns its reference; storing the same bytes again is free.
    pub async fn put(&self, data: Bytes) -> Result<BlobRef> {
        let hash = hex(&Sha256::digest(&data));
        let size = data.len() as u64;
        let key = Self::key(&hash)?;
        if !self.written_lately(&key).await? {
            self.inner.put(&key, PutPayload::from(data)).await.map_err(blob_err)?;
        }
        Ok(BlobRef { hash, size })
    }

    /// All the bytes of a blob (for image work; downloads stream with [`Blobs::read`]).
    pub async fn bytes(&self, hash: &str) -> Result<Bytes> {
        self.inner.get(&Self::key(hash)?).await.map_err(blob_err)?.bytes().await.map_err(blob_err)
    }

    /// Streams a blob, or the part of it in `range` (already checked against its size).
    pub async fn read(&self, hash: &str, range: Option<Range<u64>>) -> Result<BlobRead> {
        self.read_key(Self::key(hash)?, range).await
    }

    async fn read_key(&self, key: Path, range: Option<Range<u64>>) -> Result<BlobRead> {
        let opts = GetOptions { range: range.map(GetRange::Bounded), ..GetOptions::default() };
        let got = self.inner.get_opts(&key, opts).await.map_err(blob_err)?;
        let size = got.meta.size;
        let range = got.range.clone();
        let body = got.into_stream().map_err(blob_err).boxed();
        Ok(BlobRead { size, range, body })
    }

    /// A file derived from a blob (an image scale), if made before.
    pub async fn derived(&self, hash: &str, name: &str) -> Result<Option<Bytes>> {
        match self.inner.get(&Self::derived_key(hash, name)?).await {
            Ok(got) => Ok(Some(got.bytes().await.map_err(blob_err)?)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(blob_err(e)),
        }
    }

    /// Keeps a file derived from a blob.
    pub async fn put_derived(&self, hash: &str, name: &str, data: Bytes) -> Result<()> {
        self.inner.put(&Self::derived_key(hash, name)?, PutPayload::from(data)).await.map_err(blob_err)?;
        Ok(())
    }
}

/// Removes spooled files a stopped server left (young ones may be another server's
/// uploads in progress).
fn remove_stale(dir: &FsPath) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    let now = SystemTime::now();
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > STALE_SPOOL));
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[(b >> 4) as usize] as char);
        s.push(DIGITS[(b & 15) as usize] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn blobs_are_content_addressed_and_ranged() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        let a = blobs.put(Bytes::from_static(b"hello world")).await.unwrap();
        let b = blobs.put(Bytes::from_static(b"hello world")).await.unwrap();
        assert_eq!(a, b);
        assert_eq!(a.size, 11);
        assert_eq!(blobs.bytes(&a.hash).await.unwrap(), Bytes::from_static(b"hello world"));
        let part = blobs.read(&a.hash, Some(6..11)).await.unwrap();
        assert_eq!((part.size, part.range.clone()), (11, 6..11));
        let chunks: Vec<Bytes> = part.body.try_collect().await.unwrap();
        assert_eq!(chunks.concat(), b"world");
        assert!(matches!(blobs.bytes("../etc/passwd").await, Err(StoreError::NotFound)));
        assert!(matches!(blobs.bytes(&"0".repeat(64)).await, Err(StoreError::NotFound)));
        assert!(blobs.derived(&a.hash, "thumb.png").await.unwrap().is_none());
        blobs.put_derived(&a.hash, "thumb.png", Bytes::from_static(b"x")).await.unwrap();
        assert_eq!(blobs.derived(&a.hash, "thumb.png").await.unwrap().unwrap(), Bytes::from_static(b"x"));
        assert!(blobs.put_derived(&a.hash, "../x", Bytes::new()).await.is_err());
    }

    #[tokio::test]
    async fn spooled_uploads_are_stored_as_the_same_blob() {
        let dir = tempfile::tempdir().unwrap();
        let blobs = Blobs::local(dir.path()).unwrap();
        // Larger than one stored chunk, written in uneven pieces.
        let data: Vec<u8> = (0..STORE_CHUNK + 12_345).map(|i| (i % 251) as u8).collect();
        let mut spool = blobs.spool().await.unwrap();
        for piece in data.chunks(70_001) {
            spool.write(piece).await.unwrap();
        }
        assert_eq!(spool.size(), data.len() as u64);
        let spooled = spool.finish().await.unwrap();
        let path = spooled.path().to_owned();
        assert_eq!(std::fs::read(&path).unwrap(), data);
        let stored = blobs.put_spooled(&spooled).await.unwrap();
        assert_eq!(stored, blobs.put(Bytes::from(data.clone())).await.unwrap());
        assert_eq!(blobs.bytes(&stored.hash).await.unwrap(), Bytes::from(data));
        // Storing it again writes nothing new; the temporary file goes with its owner.
        assert_eq!(blobs.put_spooled(&spooled).await.unwrap(), stored);
        drop(spooled);
        assert!(!path.exists());
    }
}
