//! Files and images as field values: what is stored for an upload, Plone's image
//! scales and their sizes, and the headers a download needs.

use serde::{Deserialize, Serialize};

/// Plone 6's image scales: name, largest width, largest height.
pub const SCALES: &[(&str, u32, u32)] = &[
    ("huge", 1600, 65536),
    ("great", 1200, 65536),
    ("larger", 1000, 65536),
    ("large", 800, 65536),
    ("teaser", 600, 65536),
    ("preview", 400, 65536),
    ("mini", 200, 65536),
    ("thumb", 128, 128),
    ("tile", 64, 64),
    ("icon", 32, 32),
    ("listing", 16, 16),
];

/// The bounds of the scale called `name`.
pub fn scale(name: &str) -> Option<(u32, u32)> {
    SCALES.iter().find(|(n, _, _)| *n == name).map(|(_, w, h)| (*w, *h))
}

/// The size of an image of `width`×`height` fitted into `max_w`×`max_h`, keeping its
/// proportions and never enlarged.
///
/// (Plone truncates: a 215×56 image's 64-pixel tile is 64×16.)
pub fn fit(width: u32, height: u32, max_w: u32, max_h: u32) -> (u32, u32) {
    if width <= max_w && height <= max_h {
        return (width, height);
    }
    let ratio = f64::min(max_w as f64 / width as f64, max_h as f64 / height as f64);
    let w = ((width as f64 * ratio + 1e-9) as u32).clamp(1, max_w);
    let h = ((height as f64 * ratio + 1e-9) as u32).clamp(1, max_h);
    (w, h)
}

/// What an item stores for a file or image field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// The SHA-256 of the bytes, naming the blob.
    pub blob: String,
    pub filename: String,
    #[serde(rename = "content-type")]
    pub content_type: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl StoredFile {
    /// The file extension used in scale URLs (the format scales are written in).
    pub fn scale_extension(&self) -> &'static str {
        if self.content_type == "image/jpeg" { "jpg" } else { "png" }
    }
}

/// A file name fit to store and send back: no folders, no control characters, at
/// most 200 characters; "file" when nothing is left.
pub fn clean_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | '<' | '>')).take(200).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    if cleaned.is_empty() { "file".to_owned() } else { cleaned }
}

/// A `Content-Disposition` value for `filename`, ASCII fallback and RFC 5987 form.
pub fn content_disposition(attachment: bool, filename: &str) -> String {
    let kind = if attachment { "attachment" } else { "inline" };
    let ascii: String = deunicode::deunicode(filename)
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for b in filename.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

/// The MIME type for a file name's extension, for uploads that name none.
pub fn guess_content_type(filename: &str) -> &'static str {
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    match ext.as_str() {
        "pdf" => "application/pdf",
        "odt" => "application/vnd.oasis.opendocument.text",
        "ods" => "application/vnd.oasis.opendocument.spreadsheet",
        "odp" => "application/vnd.oasis.opendocument.presentation",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "pptx" => "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "doc" => "application/msword",
        "xls" => "application/vnd.ms-excel",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "zip" => "application/zip",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_fit_like_plone() {
        // The sizes plone.restapi reports for a 215×56 image.
        assert_eq!(fit(215, 56, 32, 32), (32, 8));
        assert_eq!(fit(215, 56, 128, 128), (128, 33));
        assert_eq!(fit(215, 56, 64, 64), (64, 16));
        assert_eq!(fit(215, 56, 200, 65536), (200, 52));
        assert_eq!(fit(215, 56, 800, 65536), (215, 56));
        assert_eq!(fit(4000, 1, 16, 16), (16, 1));
        assert_eq!(scale("thumb"), Some((128, 128)));
        assert_eq!(scale("nope"), None);
    }

    #[test]
    fn file_names_are_cleaned() {
        assert_eq!(clean_filename("C:\\Users\\x\\rapport.pdf"), "rapport.pdf");
        assert_eq!(clean_filename("../../etc/passwd"), "passwd");
        assert_eq!(clean_filename("..."), "file");
        assert_eq!(clean_filename("a\u{0}b\n.txt"), "ab.txt");
        let cd = content_disposition(true, "procès-verbal \"2026\".pdf");
        assert!(cd.starts_with("attachment; filename=\"proces-verbal _2026_.pdf\""), "{cd}");
        assert!(cd.contains("filename*=UTF-8''proc%C3%A8s-verbal%20%222026%22.pdf"), "{cd}");
        assert_eq!(guess_content_type("X.PDF"), "application/pdf");
    }
}
