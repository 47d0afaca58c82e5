//! Files and images: uploads checked and stored as blobs before the item's transaction
//! (a blob nobody refers to is harmless; an item never refers to a missing blob),
//! downloads behind the View permission, and image scales made once and kept.

use std::io::{BufRead, BufReader, Cursor, Seek};
use std::sync::Arc;

use base64::Engine;
use beffroi_model::ItemPath;
use beffroi_model::media::{StoredFile, clean_filename, fit, guess_content_type, scale};
use beffroi_model::schema::{FieldKind, TypeSchema};
use beffroi_model::security::Principal;
use beffroi_store::{BlobRead, SiteRow, Spool, Spooled};
use bytes::Bytes;
use image::{ImageFormat, ImageReader, Limits};
use serde_json::{Map, Value};

use crate::{ItemView, Result, ServiceError, Services};

/// Where an item keeps the text of its uploaded document (not a schema field: never
/// serialized, only indexed).
pub const EXTRACTED_TEXT: &str = beffroi_model::catalog::EXTRACTED_TEXT;

/// The default largest upload: 50 MB.
pub const DEFAULT_UPLOAD_LIMIT: u64 = 50 * 1024 * 1024;

/// Largest image accepted, in pixels (decoding a bigger one could exhaust memory).
const MAX_PIXELS: u64 = 60_000_000;

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
}

impl UploadData {
    pub fn len(&self) -> u64 {
        match self {
            Self::Memory(b) => b.len() as u64,
            Self::Spooled(s) => s.size(),
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

fn limits() -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(20_000);
    l.max_image_height = Some(20_000);
    l.max_alloc = Some(1 << 30);
    l
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
            if up.data.len() > self.upload_limit {
                return Err(ServiceError::TooLarge(self.upload_limit));
            }
            if up.data.is_empty() {
                return Err(ServiceError::BadRequest(format!("{}: the file is empty", up.field)));
            }
            let filename = clean_filename(&up.filename);
            let (content_type, width, height) = if field.kind == FieldKind::Image {
                let (ct, (w, h)) = up
                    .data
                    .read_with(|r| -> Option<(&'static str, (u32, u32))> {
                        let (format, ct) = image_format(r)?;
                        r.rewind().ok()?;
                        // Decoded whole: a truncated or corrupt file is not an image.
                        let mut reader = ImageReader::with_format(r, format);
                        reader.limits(limits());
                        let img = reader.decode().ok()?;
                        Some((ct, (img.width(), img.height())))
                    })
                    .await
                    .ok_or_else(|| {
                        ServiceError::BadRequest(format!("{}: not an image in PNG, JPEG, GIF or WebP format", up.field))
                    })?;
                if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_PIXELS {
                    return Err(ServiceError::BadRequest(format!("{}: the image is too large ({w}×{h})", up.field)));
                }
                (ct.to_owned(), Some(w), Some(h))
            } else {
                let ct = up
                    .content_type
                    .filter(|c| c.len() < 128 && c.contains('/') && !c.contains(['\r', '\n', ';', ' ']))
                    .unwrap_or_else(|| guess_content_type(&filename).to_owned());
                (ct, None, None)
            };
            if field.kind == FieldKind::File {
                // The document's words, for search (kept with the item, never sent out).
                let (ct, name) = (content_type.clone(), filename.clone());
                let text = up.data.read_with(move |r| crate::extract::document_text(&ct, &name, r)).await;
                values.insert(EXTRACTED_TEXT.into(), text.map(Value::String).unwrap_or(Value::Null));
            }
            let blob = match &up.data {
                UploadData::Memory(b) => self.blobs.put(b.clone()).await?,
                UploadData::Spooled(s) => self.blobs.put_spooled(s).await?,
            };
            let stored = StoredFile { blob: blob.hash, filename, content_type, size: blob.size, width, height };
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
        let original = self.blobs.bytes(&file.blob).await?;
        let data = tokio::task::spawn_blocking(move || -> Option<Vec<u8>> {
            let mut reader = ImageReader::new(Cursor::new(&original[..])).with_guessed_format().ok()?;
            reader.limits(limits());
            let img = reader.decode().ok()?;
            let small = img.resize_exact(sw, sh, image::imageops::FilterType::CatmullRom);
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
        self.blobs.put_derived(&file.blob, &derived, data.clone()).await?;
        Ok(Some(ScaleImage { data, content_type }))
    }
}

/// The stored file of `field` (or of the type's primary file field) of an item.
pub fn stored_file(services: &Services, view: &ItemView, field: Option<&str>) -> Option<StoredFile> {
    let schema = services.types().get(&view.item.type_name)?;
    let f = match field {
        Some(name) => schema.field(name)?,
        None => schema
            .fields
            .iter()
            .find(|f| f.primary)
            .or_else(|| schema.fields.iter().find(|f| matches!(f.kind, FieldKind::File | FieldKind::Image)))?,
    };
    if !matches!(f.kind, FieldKind::File | FieldKind::Image) {
        return None;
    }
    serde_json::from_value(view.item.fields.get(&f.name)?.clone()).ok()
}
