//! Files and images: uploads checked and stored as blobs before the item's transaction
//! (a blob nobody refers to is harmless; an item never refers to a missing blob),
//! downloads behind the View permission, and image scales made once and kept.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Seek};
use std::sync::{Arc, Weak};

use base64::Engine;
use beffroi_model::ItemPath;
use beffroi_model::media::{StoredFile, clean_filename, fit, guess_content_type, scale};
use beffroi_model::schema::{FieldKind, TypeSchema};
use beffroi_model::security::{Permission, Principal};
use beffroi_store::{BlobRead, SiteRow, Spool, Spooled};
use bytes::Bytes;
use image::{ImageDecoder, ImageFormat, ImageReader, Limits};
use serde_json::{Map, Value};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::{ItemView, Result, ServiceError, Services};

/// Where an item keeps the text of its uploaded document (not a schema field: never
/// serialized, only indexed).
pub const EXTRACTED_TEXT: &str = beffroi_model::catalog::EXTRACTED_TEXT;

/// The default largest upload: 50 MB.
pub const DEFAULT_UPLOAD_LIMIT: u64 = 50 * 1024 * 1024;

/// The default largest image: 50 million pixels, 200 MB once decoded.
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 50_000_000;

/// Bytes of a decoded pixel as limits count them (8-bit RGBA); images of 16 bits per
/// channel count double.
const PIXEL_BYTES: u64 = 4;

const MIB: u64 = 1024 * 1024;

/// Decoding images in bounded memory. The bytes that decodings in flight may hold
/// (about as many as the largest image accepted) are permits of a semaphore, each
/// decoding taking its estimate; and one request at a time makes a given scale.
pub(crate) struct ImageWork {
    /// The largest image accepted, in pixels.
    max_pixels: u64,
    /// Permits are mebibytes.
    memory: Arc<Semaphore>,
    budget_mib: u32,
    /// The scales being made, by blob and scale: whoever holds the lock makes it.
    making: std::sync::Mutex<HashMap<String, Weak<tokio::sync::Mutex<()>>>>,
}

impl ImageWork {
    pub(crate) fn new(max_pixels: u64) -> Self {
        let budget_mib = u32::try_from((max_pixels.saturating_mul(PIXEL_BYTES) / MIB).max(1)).unwrap_or(u32::MAX);
        Self {
            max_pixels,
            memory: Arc::new(Semaphore::new(budget_mib as usize)),
            budget_mib,
            making: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// Waits until `bytes` more may be decoded (all of the budget at most: the largest
    /// image is decoded alone).
    async fn reserve(&self, bytes: u64) -> OwnedSemaphorePermit {
        let mib = u32::try_from(bytes.div_ceil(MIB)).unwrap_or(u32::MAX).clamp(1, self.budget_mib);
        self.memory.clone().acquire_many_owned(mib).await.expect("the semaphore is never closed")
    }

    /// The lock of one scale of one blob, shared by the requests that want it now.
    fn turn(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut making = self.making.lock().expect("scale lock map");
        if let Some(turn) = making.get(key).and_then(Weak::upgrade) {
            return turn;
        }
        making.retain(|_, w| w.strong_count() > 0);
        let turn = Arc::new(tokio::sync::Mutex::new(()));
        making.insert(key.to_owned(), Arc::downgrade(&turn));
        turn
    }

    /// Limits of a decoding: the decoded pixels of the largest image accepted, with
    /// room for the decoder's own buffers.
    fn limits(&self) -> Limits {
        let mut l = Limits::default();
        l.max_alloc = Some(self.max_pixels.saturating_mul(PIXEL_BYTES).saturating_add(64 * MIB));
        l
    }
}

/// What an image's header declares, read without decoding it.
struct Header {
    format: ImageFormat,
    content_type: &'static str,
    width: u32,
    height: u32,
    /// The size of its decoded pixels.
    bytes: u64,
}

impl Header {
    fn read(r: &mut dyn ReadSeek) -> Option<Header> {
        let (format, content_type) = image_format(r)?;
        r.rewind().ok()?;
        let mut reader = ImageReader::with_format(r, format);
        // The header only: sizes are judged by the caller.
        reader.no_limits();
        let decoder = reader.into_decoder().ok()?;
        let (width, height) = decoder.dimensions();
        Some(Header { format, content_type, width, height, bytes: decoder.total_bytes() })
    }

    /// The pixels it counts as: its own, or more when they are deeper than 8-bit RGBA.
    fn pixels(&self) -> u64 {
        (u64::from(self.width) * u64::from(self.height)).max(self.bytes / PIXEL_BYTES)
    }
}

/// A file received for a file or image field.
#[derive(Debug, Clone)]
pub struct Upload {
    pub field: String,
    pub filename: String,
    /// As the client declared it; checked for images, guessed from the name if absent.
    pub content_type: Option<String>,
    pub data: UploadData,
}

/// The bytes of an upload: in memory (decoded from base64 JSON) or spooled to a
/// temporary file as they arrived (a multipart form).
#[derive(Debug, Clone)]
pub enum UploadData {
    Memory(Bytes),
    Spooled(Arc<Spooled>),
    /// A file this same user sent earlier, checked and stored by
    /// [`Services::keep_uploads`] (a form shown again keeps its files this way; the web
    /// layer carries it sealed so that nobody can name another's file).
    Stored(StoredFile),
}

impl UploadData {
    pub fn len(&self) -> u64 {
        match self {
            Self::Memory(b) => b.len() as u64,
            Self::Spooled(s) => s.size(),
            Self::Stored(f) => f.size,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Runs `f` on a blocking thread over a reader of the bytes.
    async fn read_with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut dyn ReadSeek) -> Option<T> + Send + 'static,
    ) -> Option<T> {
        let data = self.clone();
        tokio::task::spawn_blocking(move || match data {
            UploadData::Memory(b) => f(&mut Cursor::new(b)),
            UploadData::Spooled(s) => f(&mut BufReader::new(std::fs::File::open(s.path()).ok()?)),
            UploadData::Stored(_) => None,
        })
        .await
        .ok()
        .flatten()
    }
}

/// What reads an upload: images and documents are read from memory or from the
/// spooled file alike.
pub(crate) trait ReadSeek: BufRead + Seek {}
impl<T: BufRead + Seek> ReadSeek for T {}

/// An image scale ready to send.
pub struct ScaleImage {
    pub data: Bytes,
    pub content_type: &'static str,
}

fn image_format(reader: &mut dyn ReadSeek) -> Option<(ImageFormat, &'static str)> {
    let reader = ImageReader::new(reader).with_guessed_format().ok()?;
    match reader.format()? {
        ImageFormat::Png => Some((ImageFormat::Png, "image/png")),
        ImageFormat::Jpeg => Some((ImageFormat::Jpeg, "image/jpeg")),
        ImageFormat::Gif => Some((ImageFormat::Gif, "image/gif")),
        ImageFormat::WebP => Some((ImageFormat::WebP, "image/webp")),
        _ => None,
    }
}

/// Takes the base64 uploads out of validated values.
fn take_uploads(schema: &TypeSchema, values: &mut Map<String, Value>) -> Result<Vec<Upload>> {
    let mut out = Vec::new();
    for f in schema.fields.iter().filter(|f| matches!(f.kind, FieldKind::File | FieldKind::Image)) {
        let Some(Value::Object(o)) = values.get(&f.name) else { continue };
        let text = o.get("data").and_then(Value::as_str).unwrap_or("");
        let data = base64::engine::general_purpose::STANDARD
            .decode(text.trim())
            .map_err(|_| ServiceError::BadRequest(format!("{}: data is not valid base64", f.name)))?;
        out.push(Upload {
            field: f.name.clone(),
            filename: o.get("filename").and_then(Value::as_str).unwrap_or("").to_owned(),
            content_type: o.get("content-type").and_then(Value::as_str).map(str::to_owned),
            data: UploadData::Memory(Bytes::from(data)),
        });
        values.remove(&f.name);
    }
    Ok(out)
}

impl Services {
    /// The largest upload accepted, in bytes.
    pub fn upload_limit(&self) -> u64 {
        self.upload_limit
    }

    /// A temporary file for an upload about to arrive over the network.
    pub async fn spool(&self) -> Result<Spool> {
        Ok(self.blobs.spool().await?)
    }

    /// Checks and stores the uploads of one write (the base64 ones inside `values` and
    /// `uploads` received as files), putting what the item keeps in their place. A
    /// type named after its file gets its title from the file name when it has none
    /// (`titled`: the item being edited has one, which a new file leaves alone unless
    /// the same write clears it).
    pub(crate) async fn store_uploads(
        &self,
        schema: &TypeSchema,
        values: &mut Map<String, Value>,
        mut uploads: Vec<Upload>,
        titled: bool,
    ) -> Result<()> {
        uploads.extend(take_uploads(schema, values)?);
        for up in uploads {
            let field = schema
                .field(&up.field)
                .filter(|f| matches!(f.kind, FieldKind::File | FieldKind::Image))
                .ok_or_else(|| ServiceError::BadRequest(format!("{}: not a file field", up.field)))?;
            let stored = match &up.data {
                // Checked and stored when it was kept (see `keep_uploads`).
                UploadData::Stored(file) => file.clone(),
                UploadData::Memory(_) | UploadData::Spooled(_) => self.check_and_store(&up, field.kind).await?,
            };
            if field.kind == FieldKind::File {
                // The document's words, for search (kept with the item, never sent out).
                let source = match &up.data {
                    UploadData::Stored(file) => UploadData::Memory(self.blobs.bytes(&file.blob).await?),
                    other => other.clone(),
                };
                let (ct, name) = (stored.content_type.clone(), stored.filename.clone());
                let text = source.read_with(move |r| crate::extract::document_text(&ct, &name, r)).await;
                values.insert(EXTRACTED_TEXT.into(), text.map(Value::String).unwrap_or(Value::Null));
            }
            // A file's name titles an item without a title (a new file for an item that
            // has one leaves it).
            if schema.behaviors.iter().any(|b| b == "namefromfilename")
                && !(titled && values.get("title").is_none())
                && values.get("title").and_then(Value::as_str).is_none_or(|t| t.trim().is_empty())
            {
                values.insert("title".into(), stored.filename.clone().into());
            }
            values.insert(up.field, serde_json::to_value(stored).expect("serializable"));
        }
        Ok(())
    }

    /// Checks a file just received (its size; an image's declared size, then its whole
    /// decoding within the memory budget) and stores its bytes.
    async fn check_and_store(&self, up: &Upload, kind: FieldKind) -> Result<StoredFile> {
        if up.data.len() > self.upload_limit {
            return Err(ServiceError::TooLarge(self.upload_limit));
        }
        if up.data.is_empty() {
            return Err(ServiceError::BadRequest(format!("{}: the file is empty", up.field)));
        }
        let filename = clean_filename(&up.filename);
        let (content_type, width, height) = if kind == FieldKind::Image {
            let not_image =
                || ServiceError::BadRequest(format!("{}: not an image in PNG, JPEG, GIF or WebP format", up.field));
            // The size its header declares is judged before anything is decoded: a
            // small file may declare billions of pixels.
            let header = up.data.read_with(Header::read).await.ok_or_else(not_image)?;
            let (w, h) = (header.width, header.height);
            if w == 0 || h == 0 {
                return Err(not_image());
            }
            if header.pixels() > self.images.max_pixels {
                return Err(ServiceError::BadRequest(format!(
                    "{}: the image is too large ({w}×{h}; at most {} million pixels)",
                    up.field,
                    self.images.max_pixels / 1_000_000
                )));
            }
            // Decoded whole, within the memory budget: a truncated or corrupt file is
            // not an image.
            let permit = self.images.reserve(header.bytes).await;
            let (format, limits) = (header.format, self.images.limits());
            up.data
                .read_with(move |r| {
                    let _permit = permit;
                    let mut reader = ImageReader::with_format(r, format);
                    reader.limits(limits);
                    reader.decode().ok().map(drop)
                })
                .await
                .ok_or_else(not_image)?;
            (header.content_type.to_owned(), Some(w), Some(h))
        } else {
            let ct = up
                .content_type
                .clone()
                .filter(|c| c.len() < 128 && c.contains('/') && !c.contains(['\r', '\n', ';', ' ']))
                .unwrap_or_else(|| guess_content_type(&filename).to_owned());
            (ct, None, None)
        };
        let blob = match &up.data {
            UploadData::Memory(b) => self.blobs.put(b.clone()).await?,
            UploadData::Spooled(s) => self.blobs.put_spooled(s).await?,
            UploadData::Stored(file) => return Ok(file.clone()),
        };
        Ok(StoredFile { blob: blob.hash, filename, content_type, size: blob.size, width, height })
    }

    /// Checks and stores the files of a form that is shown again (a preview, or a
    /// value in error) so that the next post can refer to them rather than send them
    /// again: for someone who may add inside, or change, the item at `path`.
    pub async fn keep_uploads(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        type_name: &str,
        uploads: Vec<Upload>,
    ) -> Result<Vec<(String, StoredFile)>> {
        if uploads.is_empty() {
            return Ok(Vec::new());
        }
        let reg = self.workflows(site).await?;
        {
            let mut c = self.store.conn().await?;
            let lineage = crate::items::load(&mut c.db(), site, path).await?;
            if !crate::items::allowed(&reg, actor, &lineage, Permission::AddPortalContent)
                && !crate::items::allowed(&reg, actor, &lineage, Permission::ModifyPortalContent)
            {
                return Err(ServiceError::Unauthorized);
            }
        }
        let schema = self
            .types()
            .get(type_name)
            .ok_or_else(|| ServiceError::BadRequest(format!("unknown type {type_name:?}")))?;
        let fields: Vec<String> = uploads.iter().map(|u| u.field.clone()).collect();
        let mut values = Map::new();
        self.store_uploads(schema, &mut values, uploads, true).await?;
        Ok(fields
            .into_iter()
            .filter_map(|f| {
                let file = serde_json::from_value::<StoredFile>(values.get(&f)?.clone()).ok()?;
                Some((f, file))
            })
            .collect())
    }

    /// The file in `field` of the item at `path` (its primary file field when None),
    /// for someone who may view the item.
    pub async fn file_of(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        field: Option<&str>,
    ) -> Result<(ItemView, StoredFile)> {
        let view = self.item(actor, site, path).await?;
        let file = stored_file(self, &view, field).ok_or(ServiceError::NotFound)?;
        Ok((view, file))
    }

    /// Streams a stored file, whole or the byte range asked.
    pub async fn read_blob(&self, file: &StoredFile, range: Option<std::ops::Range<u64>>) -> Result<BlobRead> {
        Ok(self.blobs.read(&file.blob, range).await?)
    }

    /// The image `file` at the named scale, made on first use and kept beside the blob.
    /// A scale no smaller than the image is the image itself.
    pub async fn image_scale(&self, file: &StoredFile, name: &str) -> Result<Option<ScaleImage>> {
        let (max_w, max_h) = scale(name).ok_or(ServiceError::NotFound)?;
        let (Some(w), Some(h)) = (file.width, file.height) else {
            return Err(ServiceError::NotFound);
        };
        let (sw, sh) = fit(w, h, max_w, max_h);
        if (sw, sh) == (w, h) {
            return Ok(None);
        }
        let (format, content_type) = if file.content_type == "image/jpeg" {
            (ImageFormat::Jpeg, "image/jpeg")
        } else {
            (ImageFormat::Png, "image/png")
        };
        let derived = format!("{name}.{}", file.scale_extension());
        if let Some(data) = self.blobs.derived(&file.blob, &derived).await? {
            return Ok(Some(ScaleImage { data, content_type }));
        }
        // One request makes the scale; the others wait for it, then read what it kept.
        let turn = self.images.turn(&format!("{}/{derived}", file.blob)).lock_owned().await;
        if let Some(data) = self.blobs.derived(&file.blob, &derived).await? {
            return Ok(Some(ScaleImage { data, content_type }));
        }
        // In a task of its own, holding the turn: a request that goes away (a client
        // gone, a timeout) neither drops the work half-way nor lets another start over.
        let (this, file) = (self.clone(), file.clone());
        let data = tokio::spawn(async move {
            let _turn = turn;
            this.make_scale(&file, &derived, (sw, sh), format).await
        })
        .await
        .map_err(|_| ServiceError::BadRequest("the image could not be scaled".into()))??;
        Ok(Some(ScaleImage { data, content_type }))
    }

    /// Decodes `file`, resizes it to `sw`×`sh` and keeps the result as `derived`.
    async fn make_scale(
        &self,
        file: &StoredFile,
        derived: &str,
        (sw, sh): (u32, u32),
        format: ImageFormat,
    ) -> Result<Bytes> {
        let (w, h) = (u64::from(file.width.unwrap_or(0)), u64::from(file.height.unwrap_or(0)));
        // What the work holds at its peak: the file, its decoded pixels (PNGs may have 16
        // bits per channel) and the resizing's first pass (full width, scaled height, 4
        // floats a pixel).
        let depth = if file.content_type == "image/png" { 2 * PIXEL_BYTES } else { PIXEL_BYTES };
        let permit = self.images.reserve(file.size + w * h * depth + w * u64::from(sh) * 16).await;
        let original = self.blobs.bytes(&file.blob).await?;
        let limits = self.images.limits();
        let data = tokio::task::spawn_blocking(move || -> Option<Vec<u8>> {
            let _permit = permit;
            let mut reader = ImageReader::new(Cursor::new(&original[..])).with_guessed_format().ok()?;
            reader.limits(limits);
            let img = reader.decode().ok()?;
            let small = img.resize_exact(sw, sh, image::imageops::FilterType::CatmullRom);
            drop(img);
            let small =
                if format == ImageFormat::Jpeg { image::DynamicImage::ImageRgb8(small.into_rgb8()) } else { small };
            let mut out = Cursor::new(Vec::new());
            small.write_to(&mut out, format).ok()?;
            Some(out.into_inner())
        })
        .await
        .ok()
        .flatten()
        .ok_or_else(|| ServiceError::BadRequest("the image could not be scaled".into()))?;
        let data = Bytes::from(data);
        self.blobs.put_derived(&file.blob, derived, data.clone()).await?;
        Ok(data)
    }
}

/// The stored file of `field` (or of the type's primary file field) of an item.
pub fn stored_file(services: &Services, view: &ItemView, field: Option<&str>) -> Option<StoredFile> {
    let schema = services.types().get(&view.item.type_name)?;
    let f = match field {
        Some(name) => schema.field(name)?,
        None => {
            let file = |f: &&beffroi_model::schema::Field| matches!(f.kind, FieldKind::File | FieldKind::Image);
            schema.primary().filter(file).or_else(|| schema.fields.iter().find(file))?
        }
    };
    if !matches!(f.kind, FieldKind::File | FieldKind::Image) {
        return None;
    }
    serde_json::from_value(view.item.fields.get(&f.name)?.clone()).ok()
}
