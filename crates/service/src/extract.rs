//! The text of uploaded documents, for the catalog: PDF (pdf-extract), OpenDocument
//! and Office Open XML (their XML parts read from the zip), plain text. Run on a
//! blocking thread; a document that cannot be read simply adds no text.

use std::io::Read;

use crate::media::ReadSeek;

/// Most characters kept of one document.
const MAX_TEXT: usize = 1_000_000;
/// Largest XML part read from a zip (a zip bomb stops here).
const MAX_PART: u64 = 50 * 1024 * 1024;

fn xml_text(xml: &str) -> String {
    // Paragraph ends become spaces so words of adjacent paragraphs do not run together.
    beffroi_model::catalog::html_text(
        &xml.replace("</text:p>", " </text:p>").replace("</w:p>", " </w:p>").replace("</a:p>", " </a:p>"),
    )
}

fn zip_parts(data: &mut dyn ReadSeek, wanted: impl Fn(&str) -> bool) -> Option<String> {
    let mut archive = zip::ZipArchive::new(data).ok()?;
    let mut names: Vec<String> =
        archive.file_names().filter_map(|n| n.ok()).filter(|n| wanted(n)).map(|n| n.into_owned()).collect();
    names.sort();
    let mut out = String::new();
    for name in names {
        let file = archive.by_name(&name).ok()?;
        let mut xml = String::new();
        file.take(MAX_PART).read_to_string(&mut xml).ok()?;
        out.push_str(&xml_text(&xml));
        out.push('\n');
        if out.len() > MAX_TEXT {
            break;
        }
    }
    Some(out)
}

/// All of a document (bounded by the upload limit), for the readers that need it whole.
fn whole(data: &mut dyn ReadSeek) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    data.read_to_end(&mut bytes).ok()?;
    Some(bytes)
}

/// The text of a document (read from its start), if its type is one we read.
pub(crate) fn document_text(content_type: &str, filename: &str, data: &mut dyn ReadSeek) -> Option<String> {
    let ext = filename.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase()).unwrap_or_default();
    let mut head = [0u8; 4];
    let sniffed = data.read_exact(&mut head).is_ok();
    data.rewind().ok()?;
    let text = if content_type == "application/pdf" || (sniffed && &head == b"%PDF") {
        // pdf-extract reads from memory, and may panic on a malformed file: that file
        // gets no text.
        let bytes = whole(data)?;
        std::panic::catch_unwind(move || pdf_extract::extract_text_from_mem(&bytes).ok()).ok().flatten()?
    } else if content_type.starts_with("application/vnd.oasis.opendocument")
        || matches!(ext.as_str(), "odt" | "ods" | "odp")
    {
        zip_parts(data, |n| n == "content.xml")?
    } else if content_type.starts_with("application/vnd.openxmlformats-officedocument")
        || matches!(ext.as_str(), "docx" | "xlsx" | "pptx")
    {
        zip_parts(data, |n| {
            n == "word/document.xml"
                || n == "xl/sharedStrings.xml"
                || (n.starts_with("ppt/slides/slide") && n.ends_with(".xml"))
        })?
    } else if content_type.starts_with("text/plain")
        || content_type == "text/csv"
        || matches!(ext.as_str(), "txt" | "csv")
    {
        // Only as much as is kept (a character is at most four bytes).
        let mut bytes = Vec::new();
        data.take(MAX_TEXT as u64 * 4).read_to_end(&mut bytes).ok()?;
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        return None;
    };
    let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    Some(text.chars().take(MAX_TEXT).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(ct: &str, name: &str, data: &[u8]) -> Option<String> {
        document_text(ct, name, &mut std::io::Cursor::new(data))
    }

    #[test]
    fn unknown_or_broken_documents_give_no_text() {
        assert_eq!(text("application/octet-stream", "x.bin", b"abc"), None);
        assert_eq!(text("application/pdf", "x.pdf", b"%PDF-1.4 broken"), None);
        assert_eq!(text("application/vnd.oasis.opendocument.text", "x.odt", b"not a zip"), None);
        assert_eq!(text("application/octet-stream", "x.bin", b""), None);
        assert_eq!(text("text/plain", "x.txt", "Procès\n verbal".as_bytes()).as_deref(), Some("Procès verbal"));
    }
}
