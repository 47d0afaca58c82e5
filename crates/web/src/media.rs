//! Downloads of files and images: `@@download/<field>` (always an attachment) and
//! `@@images/<field>[/<scale>]` (inline, images only), with the right Content-Type,
//! Content-Disposition, a strong ETag from the content hash, and single byte ranges.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use beffroi_model::media::{SCALES, StoredFile, content_disposition, fit};
use beffroi_model::schema::FieldKind;
use beffroi_service::{ItemView, stored_file};
use futures_util::TryStreamExt;
use serde_json::{Map, Value, json};

use crate::error::WebError;
use crate::traverse::Ctx;

/// A byte range asked with `Range: bytes=…`, resolved against the size.
#[derive(Debug, PartialEq, Eq)]
enum Ranged {
    Whole,
    Part(std::ops::Range<u64>),
    Unsatisfiable,
}

/// Reads one range of the `Range` header; several ranges, or one we cannot read, get
/// the whole file (as RFC 9110 allows).
fn parse_range(header: Option<&str>, size: u64) -> Ranged {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Ranged::Whole;
    };
    if spec.contains(',') {
        return Ranged::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Ranged::Whole;
    };
    let (a, b) = (a.trim(), b.trim());
    let range = match (a.parse::<u64>(), b.parse::<u64>()) {
        (Ok(start), Ok(end)) if start <= end => start..end.saturating_add(1).min(size),
        (Ok(start), Err(_)) if b.is_empty() => start..size,
        (Err(_), Ok(suffix)) if a.is_empty() => size.saturating_sub(suffix)..size,
        _ => return Ranged::Whole,
    };
    if range.start >= size || range.is_empty() { Ranged::Unsatisfiable } else { Ranged::Part(range) }
}

fn etag(file: &StoredFile, variant: &str) -> String {
    format!("\"{}{variant}\"", file.blob.get(..32).unwrap_or(&file.blob))
}

fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|inm| inm.split(',').any(|t| t.trim() == "*" || t.trim().trim_start_matches("W/") == etag))
}

fn header_value(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"))
}

/// `@@download/<field>[/<filename>]` and `@@images/<field>[/<scale>]`.
pub(crate) async fn serve(
    ctx: &Ctx<'_>,
    view: &ItemView,
    name: &str,
    rest: &[String],
    headers: &HeaderMap,
) -> Result<Response, WebError> {
    let services = &ctx.app.services;
    let not_found = || WebError::NotFound(ctx.request_url.clone());
    let field = rest.first().map(String::as_str);
    let file = stored_file(services, view, field).ok_or_else(not_found)?;
    // What an anonymous visitor could fetch, shared caches may keep; the rest not.
    let public = ctx.principal == beffroi_model::security::Principal::Anonymous;
    let cache = if public { "public, no-cache" } else { "private, no-cache" };
    if name == "@@images" {
        if file.width.is_none() {
            return Err(not_found());
        }
        if let Some(scale) = rest.get(1) {
            let tag = etag(&file, &format!("-{scale}"));
            if not_modified(headers, &tag) {
                return Ok(validators(StatusCode::NOT_MODIFIED.into_response(), &tag, cache));
            }
            let err = |e| WebError::from_service(e, &ctx.request_url);
            if let Some(img) = services.image_scale(&file, scale).await.map_err(err)? {
                let res =
                    ([(header::CONTENT_TYPE, HeaderValue::from_static(img.content_type))], img.data).into_response();
                return Ok(inline(validators(res, &tag, cache), &file));
            }
        }
        return send(ctx, &file, headers, false, cache).await;
    }
    send(ctx, &file, headers, true, cache).await
}

fn validators(mut res: Response, etag: &str, cache: &'static str) -> Response {
    let h = res.headers_mut();
    h.insert(header::ETAG, header_value(etag));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    res
}

fn inline(mut res: Response, file: &StoredFile) -> Response {
    res.headers_mut().insert(header::CONTENT_DISPOSITION, header_value(&content_disposition(false, &file.filename)));
    res
}

async fn send(
    ctx: &Ctx<'_>,
    file: &StoredFile,
    headers: &HeaderMap,
    attachment: bool,
    cache: &'static str,
) -> Result<Response, WebError> {
    let tag = etag(file, "");
    if not_modified(headers, &tag) {
        return Ok(validators(StatusCode::NOT_MODIFIED.into_response(), &tag, cache));
    }
    // A range is honoured only for the version the client holds (If-Range).
    let if_range_ok = headers.get(header::IF_RANGE).and_then(|v| v.to_str().ok()).is_none_or(|v| v.trim() == tag);
    let range_header = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).filter(|_| if_range_ok);
    let ranged = parse_range(range_header, file.size);
    if ranged == Ranged::Unsatisfiable {
        let mut res = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
        res.headers_mut().insert(header::CONTENT_RANGE, header_value(&format!("bytes */{}", file.size)));
        return Ok(res);
    }
    let range = match &ranged {
        Ranged::Part(r) => Some(r.clone()),
        _ => None,
    };
    let read = ctx
        .app
        .services
        .read_blob(file, range.clone())
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let len = read.range.end - read.range.start;
    let body = Body::from_stream(read.body.map_err(std::io::Error::other));
    let mut res = Response::new(body);
    if let Some(r) = range {
        *res.status_mut() = StatusCode::PARTIAL_CONTENT;
        res.headers_mut()
            .insert(header::CONTENT_RANGE, header_value(&format!("bytes {}-{}/{}", r.start, r.end - 1, read.size)));
    }
    // Only images we decoded ourselves are shown inline; anything else is a download,
    // so an uploaded HTML or SVG file can never run in the site's origin.
    let content_type =
        if attachment || file.width.is_some() { file.content_type.as_str() } else { "application/octet-stream" };
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, header_value(content_type));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::CONTENT_DISPOSITION, header_value(&content_disposition(attachment, &file.filename)));
    if attachment {
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'; sandbox"));
    }
    Ok(validators(res, &tag, cache))
}

/// A file or image field as plone.restapi serializes it.
pub(crate) fn field_json(item_url: &str, field: &str, kind: FieldKind, file: &StoredFile) -> Value {
    let mut m = Map::new();
    m.insert("content-type".into(), file.content_type.clone().into());
    m.insert("filename".into(), file.filename.clone().into());
    m.insert("size".into(), file.size.into());
    if kind == FieldKind::Image
        && let (Some(w), Some(h)) = (file.width, file.height)
    {
        m.insert("download".into(), format!("{item_url}/@@images/{field}").into());
        m.insert("width".into(), w.into());
        m.insert("height".into(), h.into());
        m.insert("scales".into(), scales(w, h, &format!("{item_url}/@@images/{field}")));
    } else {
        m.insert("download".into(), format!("{item_url}/@@download/{field}").into());
    }
    Value::Object(m)
}

/// Plone's scales of a `w`×`h` image, each with its size and its address below `base`.
fn scales(w: u32, h: u32, base: &str) -> Value {
    let mut out = Map::new();
    for (name, mw, mh) in SCALES {
        let (sw, sh) = fit(w, h, *mw, *mh);
        out.insert((*name).to_owned(), json!({"download": format!("{base}/{name}"), "width": sw, "height": sh}));
    }
    Value::Object(out)
}

/// plone.restapi's `image_field` and `image_scales` of a listed item, from the stored
/// file of its `image` field: downloads relative to the item, as Plone gives them.
pub(crate) fn listing_image(image: Option<&Value>) -> (Value, Value) {
    let sized = image
        .and_then(|v| serde_json::from_value::<StoredFile>(v.clone()).ok())
        .and_then(|f| Some((f.width?, f.height?, f)));
    let Some((w, h, file)) = sized else {
        return (Value::String(String::new()), json!({}));
    };
    let entry = json!({
        "content-type": file.content_type,
        "download": "@@images/image",
        "filename": file.filename,
        "height": h,
        "width": w,
        "size": file.size,
        "scales": scales(w, h, "@@images/image"),
    });
    (Value::String("image".into()), json!({ "image": [entry] }))
}

/// Human-readable size ("1,2 Mo" style left to the template: bytes, KB, MB).
pub(crate) fn size_text(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.0} KB", b as f64 / 1024.0),
        b => format!("{:.1} MB", b as f64 / (1024.0 * 1024.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_read_like_rfc_9110() {
        assert_eq!(parse_range(None, 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=0-9"), 100), Ranged::Part(0..10));
        assert_eq!(parse_range(Some("bytes=90-"), 100), Ranged::Part(90..100));
        assert_eq!(parse_range(Some("bytes=-5"), 100), Ranged::Part(95..100));
        assert_eq!(parse_range(Some("bytes=50-1000"), 100), Ranged::Part(50..100));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Ranged::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=9-3"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), Ranged::Whole);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Ranged::Unsatisfiable);
    }
}
