//! A site's look, as its administrator sets it: the accent colour (the header, links,
//! buttons), a logo and favicon (an image of the site), and the footer's text and
//! links. Colours are refused when text on them (or they on the page) would not reach
//! WCAG 2.1's contrast of 4.5:1, with the ratio in the message.

use serde::{Deserialize, Serialize};

/// The least contrast WCAG 2.1 AA asks of normal text.
pub const MIN_CONTRAST: f64 = 4.5;

/// Most links the footer holds.
pub const MAX_FOOTER_LINKS: usize = 12;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FooterLink {
    pub title: String,
    pub url: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Theme {
    /// `#rrggbb`; None: the default.
    pub accent: Option<String>,
    /// The site path of an image item shown as the logo (and, scaled, as the favicon).
    pub logo: Option<String>,
    /// Plain text under every page (an address, opening hours).
    pub footer_text: String,
    pub footer_links: Vec<FooterLink>,
}

/// A colour `#rrggbb` (or `#rgb`) as its channels.
pub fn parse_colour(s: &str) -> Option<(u8, u8, u8)> {
    let h = s.trim().strip_prefix('#')?;
    let full: String = match h.len() {
        3 => h.chars().flat_map(|c| [c, c]).collect(),
        6 => h.to_owned(),
        _ => return None,
    };
    let v = u32::from_str_radix(&full, 16).ok()?;
    Some(((v >> 16) as u8, (v >> 8) as u8, v as u8))
}

/// WCAG's relative luminance of a colour.
fn luminance((r, g, b): (u8, u8, u8)) -> f64 {
    let channel = |c: u8| {
        let c = f64::from(c) / 255.0;
        if c <= 0.039_28 { c / 12.92 } else { ((c + 0.055) / 1.055).powf(2.4) }
    };
    0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)
}

/// WCAG's contrast ratio of two colours (1 to 21).
pub fn contrast(a: (u8, u8, u8), b: (u8, u8, u8)) -> f64 {
    let (la, lb) = (luminance(a), luminance(b));
    let (hi, lo) = if la > lb { (la, lb) } else { (lb, la) };
    (hi + 0.05) / (lo + 0.05)
}

impl Theme {
    /// Checks and normalizes a theme: the accent a colour on which white text, and
    /// which as text on white, reach [`MIN_CONTRAST`]; the footer plain text of at most
    /// 1,000 characters and at most [`MAX_FOOTER_LINKS`] links with a title and a web,
    /// mail, telephone or site address; the logo a site path. The message says what is
    /// wrong (a contrast with its ratio).
    pub fn checked(mut self) -> Result<Self, String> {
        if let Some(a) = self.accent.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            let c = parse_colour(a).ok_or_else(|| format!("accent: {a:?} is not a colour #rrggbb"))?;
            let ratio = contrast(c, (255, 255, 255));
            if ratio < MIN_CONTRAST {
                return Err(format!(
                    "accent: {a} against white has a contrast of {ratio:.2}:1, under the {MIN_CONTRAST}:1 WCAG 2.1 AA asks; choose a darker colour"
                ));
            }
            self.accent = Some(format!("#{:02x}{:02x}{:02x}", c.0, c.1, c.2));
        } else {
            self.accent = None;
        }
        self.footer_text = self.footer_text.trim().to_owned();
        if self.footer_text.chars().count() > 1000 {
            return Err("footer text: at most 1,000 characters".into());
        }
        if self.footer_text.chars().any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t')) {
            return Err("footer text: no control characters".into());
        }
        if self.footer_links.len() > MAX_FOOTER_LINKS {
            return Err(format!("footer links: at most {MAX_FOOTER_LINKS}"));
        }
        for l in &mut self.footer_links {
            l.title = l.title.trim().to_owned();
            l.url = l.url.trim().to_owned();
            let url_ok = l.url.starts_with("https://")
                || l.url.starts_with("http://")
                || l.url.starts_with("mailto:")
                || l.url.starts_with("tel:")
                || l.url.starts_with('/');
            if l.title.is_empty() || l.title.chars().count() > 100 || !url_ok || l.url.len() > 2000 {
                return Err(format!(
                    "footer link {:?}: a title of 1 to 100 characters and an http(s), mailto:, tel: or /site address",
                    l.title
                ));
            }
        }
        if let Some(p) = self.logo.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            let path = crate::ItemPath::parse(p.trim_end_matches('/')).map_err(|e| format!("logo: {p:?}: {e}"))?;
            self.logo = Some(path.as_str().to_owned());
        } else {
            self.logo = None;
        }
        Ok(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contrast_is_wcag_s() {
        assert!((contrast((0, 0, 0), (255, 255, 255)) - 21.0).abs() < 0.01);
        assert!((contrast((255, 255, 255), (255, 255, 255)) - 1.0).abs() < 0.01);
        // The default theme's blue passes; a light yellow does not.
        let ok = parse_colour("#0b4f8a").unwrap();
        assert!(contrast(ok, (255, 255, 255)) > 7.0);
        assert!((contrast(parse_colour("#767676").unwrap(), (255, 255, 255)) - 4.54).abs() < 0.01);
        assert_eq!(parse_colour("#abc"), Some((0xaa, 0xbb, 0xcc)));
        assert_eq!(parse_colour("red"), None);
    }

    #[test]
    fn a_theme_is_checked_with_the_ratio_in_the_refusal() {
        let t = Theme { accent: Some("#FFD700".into()), ..Default::default() };
        let e = t.checked().unwrap_err();
        assert!(e.contains("1.40:1") && e.contains("4.5:1"), "{e}");
        let t = Theme {
            accent: Some("#2E7D32".into()),
            footer_text: "  Place communale 1  ".into(),
            footer_links: vec![FooterLink { title: "Contact".into(), url: "mailto:info@commune.be".into() }],
            logo: Some("/images/logo/".into()),
        }
        .checked()
        .unwrap();
        assert_eq!(t.accent.as_deref(), Some("#2e7d32"));
        assert_eq!(t.footer_text, "Place communale 1");
        assert_eq!(t.logo.as_deref(), Some("/images/logo"));
        let bad = Theme {
            footer_links: vec![FooterLink { title: "x".into(), url: "javascript:alert(1)".into() }],
            ..Default::default()
        };
        assert!(bad.checked().unwrap_err().contains("footer link"));
        assert!(Theme { accent: Some("blue".into()), ..Default::default() }.checked().is_err());
    }
}
