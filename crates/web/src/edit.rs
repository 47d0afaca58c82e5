//! HTML editing without JavaScript: add and edit forms generated from the type's schema
//! (they keep the input and show field errors on re-display), and delete with a
//! confirmation saying what is inside. Every form carries the session's CSRF token.

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use beffroi_model::media::StoredFile;
use beffroi_model::schema::{FieldError, FieldKind, START_COLUMN, TypeSchema, Widget};
use beffroi_model::zone::SiteZone;
use beffroi_model::{ItemPath, Language};
use beffroi_service::{ItemRow, ItemView, ServiceError, Upload, UploadData};
use minijinja::context;
use serde_json::{Map, Value, json};

use crate::error::WebError;
use crate::traverse::Ctx;
use crate::views::{form_pairs, page, see_other};

/// Whether the forms draw field `f` (not relations, nor what only its application sets).
fn drawn(f: &beffroi_model::schema::Field) -> bool {
    !matches!(f.kind, FieldKind::Relation | FieldKind::Blocks | FieldKind::BlocksLayout) && !f.readonly
}

fn is_file(kind: FieldKind) -> bool {
    matches!(kind, FieldKind::File | FieldKind::Image)
}

/// A posted multipart form: its text fields and its files.
#[derive(Debug, Clone, Default)]
pub(crate) struct FormData {
    pub pairs: Vec<(String, String)>,
    pub files: Vec<Upload>,
}

impl FormData {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

pub(crate) fn is_multipart(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|c| c.trim_start().to_ascii_lowercase().starts_with("multipart/form-data"))
}

fn spool_failed(e: impl Into<ServiceError>) -> WebError {
    WebError::from_service(e.into(), "")
}

/// Reads a multipart form as it arrives: its text fields in memory (as much in all as
/// a JSON body may carry), each file spooled to a temporary file beside the
/// blobs and refused with 413 as soon as it passes the upload limit. `csrf`: the token
/// a session must send before its first file (our forms put it first), so that a
/// forged post writes nothing to disk. A file input left empty sends a part without a
/// name and bytes: it is no upload.
pub(crate) async fn read_multipart(
    app: &crate::AppState,
    headers: &HeaderMap,
    body: axum::body::Body,
    csrf: Option<&str>,
) -> Result<FormData, WebError> {
    let malformed = || WebError::BadRequest("malformed multipart form".into());
    let boundary = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| multer::parse_boundary(ct).ok())
        .ok_or_else(malformed)?;
    let limit = app.services.upload_limit();
    // Text as long as a JSON write may send: a long page is as welcome in a form.
    let text_limit = crate::traverse::content_body_limit(app);
    let whole = limit.saturating_add(text_limit);
    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole));
    let mut mp = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let failed = |e: multer::Error| match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => WebError::PayloadTooLarge,
        multer::Error::StreamReadFailed(_) => WebError::BadRequest("the form was not received whole".into()),
        _ => malformed(),
    };
    let mut form = FormData::default();
    let mut text_bytes = 0u64;
    while let Some(mut field) = mp.next_field().await.map_err(failed)? {
        let name = field.name().unwrap_or_default().to_owned();
        match field.file_name().map(str::to_owned) {
            Some(filename) => {
                if let Some(token) = csrf
                    && !form.get("_csrf").is_some_and(|t| crate::auth::constant_eq(t, token))
                {
                    return Err(WebError::Forbidden("Missing or invalid CSRF token.".into()));
                }
                let content_type = field.content_type().map(ToString::to_string);
                let mut spool = None;
                while let Some(chunk) = field.chunk().await.map_err(failed)? {
                    if filename.is_empty() || chunk.is_empty() {
                        continue;
                    }
                    let s = match &mut spool {
                        Some(s) => s,
                        None => spool.insert(app.services.spool().await.map_err(spool_failed)?),
                    };
                    if s.size() + chunk.len() as u64 > limit {
                        return Err(WebError::PayloadTooLarge);
                    }
                    s.write(&chunk).await.map_err(spool_failed)?;
                }
                if let Some(s) = spool {
                    let spooled = s.finish().await.map_err(spool_failed)?;
                    form.files.push(Upload {
                        field: name,
                        filename,
                        content_type,
                        data: UploadData::Spooled(std::sync::Arc::new(spooled)),
                    });
                }
            }
            None => {
                let mut text = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(failed)? {
                    text_bytes += chunk.len() as u64;
                    if text_bytes > text_limit {
                        return Err(WebError::PayloadTooLarge);
                    }
                    text.extend_from_slice(&chunk);
                }
                let text = String::from_utf8(text).map_err(|_| malformed())?;
                form.pairs.push((name, text));
            }
        }
        if form.pairs.len() > 1000 {
            return Err(WebError::BadRequest("too many form fields".into()));
        }
    }
    Ok(form)
}

/// The values of an item as a form shows them.
fn item_values(item: &ItemRow) -> Map<String, Value> {
    let mut m = item.fields.clone();
    m.insert("title".into(), item.title.clone().into());
    m.insert("description".into(), item.description.clone().into());
    m.insert("language".into(), item.language.code().into());
    m.insert("exclude_from_nav".into(), item.exclude_from_nav.into());
    if let Some(e) = item.effective {
        m.insert("effective".into(), crate::json::iso(&e).into());
    }
    if let Some(e) = item.expires {
        m.insert("expires".into(), crate::json::iso(&e).into());
    }
    m
}

/// The criteria of the Collection form's rows (`<field>-i-N`, `-o-N`, `-v-N`, and
/// `-x-N` to remove one): rows without an index are skipped; a list operation's values
/// are separated by commas. The schema checks that each operation fits its index.
fn query_rows(pairs: &[(String, String)], name: &str) -> Value {
    use beffroi_model::catalog::querystring::{PREFIX, takes_list};
    let get = |part: &str, n: usize| {
        let key = format!("{name}-{part}-{n}");
        pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| v.trim().to_owned())
    };
    let mut criteria = Vec::new();
    for n in 0..=50 {
        let Some(index) = get("i", n) else { break };
        if index.is_empty() || get("x", n).is_some() {
            continue;
        }
        let op = get("o", n).unwrap_or_default();
        let raw = get("v", n).unwrap_or_default();
        let v = if takes_list(&op) {
            Value::Array(
                raw.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect(),
            )
        } else {
            Value::String(raw)
        };
        criteria.push(json!({"i": index, "o": format!("{PREFIX}{op}"), "v": v}));
    }
    Value::Array(criteria)
}

/// A Collection's criteria as the form's rows, and one empty row to add a criterion.
fn query_form_rows(v: Option<&Value>) -> Vec<minijinja::Value> {
    let mut rows: Vec<minijinja::Value> = v
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|c| {
            let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
            let op = s("o");
            let value = match c.get("v") {
                Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "),
                Some(Value::String(t)) => t.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            let short = op.strip_prefix(beffroi_model::catalog::querystring::PREFIX).unwrap_or(&op).to_owned();
            context! { i => s("i"), o => short, v => value }
        })
        .collect();
    rows.push(context! { i => "", o => "", v => "" });
    rows
}

/// A field's error in the site's language: the checks of the model speak English (as
/// the JSON API does); the forms say the same in words people read.
fn field_message(ctx: &Ctx<'_>, message: &str) -> String {
    let t = |key: &str, args: &[(&str, fluent_bundle::FluentValue<'_>)]| ctx.app.i18n.t(ctx.site.language, key, args);
    let number = |m: &str| m.chars().filter(char::is_ascii_digit).collect::<String>().parse::<i64>().unwrap_or(0);
    let key = match message {
        "required" => "err-required",
        "unknown field" => "err-unknown-field",
        "must be a single line" => "err-single-line",
        "must not contain control characters" => "err-control-characters",
        "expected a date and time (ISO 8601)" => "err-datetime",
        "expected an integer" => "err-integer",
        "expected an email address" => "err-email",
        "expected an http(s) URL" => "err-url",
        "the end is before the start" => "err-end-before-start",
        "the rule gives no date" => "err-rule-no-date",
        "each value has 1 to 100 characters" => "err-value-length",
        m if m.starts_with("at most ") && m.ends_with(" characters") => {
            return t("err-too-long", &[("n", number(m).into())]);
        }
        m if m.starts_with("not a valid recurrence rule") => "err-rule-invalid",
        m if m.contains("one date a day at most") || m == "one RRULE at most" => "err-rule-too-dense",
        m if m.starts_with("INTERVAL is at most") || m.starts_with("COUNT is at most") => {
            return t("err-rule-too-large", &[("n", number(m).into())]);
        }
        m if m.starts_with("EXRULE") => "err-rule-exrule",
        other => return other.to_owned(),
    };
    t(key, &[])
}

/// What seals a file kept from an earlier post of a form.
const KEPT: &str = "kept-upload";
/// How long a form shown again may refer to the files it keeps.
const KEPT_LIFETIME_SECS: i64 = 24 * 3600;

/// The files a form carries back from an earlier post (sealed for this site and user,
/// still fresh), as uploads of what they were; a new file chosen for a field wins.
fn with_kept(ctx: &Ctx<'_>, pairs: &[(String, String)], files: &mut Vec<Upload>) {
    let now = chrono::Utc::now().timestamp();
    for (k, v) in pairs {
        let Some(field) = k.strip_prefix("_kept-") else { continue };
        let Some(sealed) = ctx.app.jwt.open(KEPT, v) else { continue };
        let fits = sealed["site"] == ctx.site.id.as_str()
            && sealed["user"] == ctx.principal.id()
            && sealed["field"] == field
            && sealed["exp"].as_i64().is_some_and(|e| e > now);
        let Some(file) = fits.then(|| serde_json::from_value::<StoredFile>(sealed["file"].clone()).ok()).flatten()
        else {
            continue;
        };
        if !files.iter().any(|u| u.field == field) {
            files.push(Upload {
                field: field.to_owned(),
                filename: file.filename.clone(),
                content_type: Some(file.content_type.clone()),
                data: UploadData::Stored(file),
            });
        }
    }
}

/// Stores the files of a form about to be shown again (a preview, an error) and seals
/// each for the next post, so that nobody has to choose them twice.
async fn keep(
    ctx: &Ctx<'_>,
    path: &beffroi_model::ItemPath,
    type_name: &str,
    files: Vec<Upload>,
) -> Result<Vec<(String, StoredFile, String)>, WebError> {
    let kept = ctx
        .app
        .services
        .keep_uploads(&ctx.principal, &ctx.site, path, type_name, files)
        .await
        .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
    let exp = chrono::Utc::now().timestamp() + KEPT_LIFETIME_SECS;
    Ok(kept
        .into_iter()
        .map(|(field, file)| {
            let v = json!({"site": ctx.site.id.as_str(), "user": ctx.principal.id(), "field": field, "exp": exp, "file": file});
            let sealed = ctx.app.jwt.seal(KEPT, &v);
            (field, file, sealed)
        })
        .collect())
}

/// What the form says of each current file: "remove" clears the field (and drops a
/// file chosen for it), "keep" or nothing keeps it unless a new file was chosen.
fn file_actions(
    schema: &TypeSchema,
    pairs: &[(String, String)],
    values: &mut Map<String, Value>,
    files: &mut Vec<Upload>,
) {
    for f in schema.fields.iter().filter(|f| is_file(f.kind) && !f.required) {
        let action = format!("{}-action", f.name);
        if pairs.iter().any(|(k, v)| *k == action && v == "remove") {
            values.insert(f.name.clone(), Value::Null);
            files.retain(|u| u.field != f.name);
        }
    }
}

/// The values a posted form gives, in the JSON the schema validates.
fn form_values(schema: &TypeSchema, pairs: &[(String, String)], zone: SiteZone) -> Map<String, Value> {
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    let mut m = Map::new();
    for f in schema.fields.iter().filter(|f| drawn(f) && !is_file(f.kind)) {
        let raw = get(&f.name).unwrap_or_default();
        let v = match f.kind {
            FieldKind::Boolean => Value::Bool(get(&f.name).is_some()),
            FieldKind::RichText => json!({"content-type": "text/html", "data": raw}),
            // Boxes ticked (one pair each) or values typed apart by commas or lines.
            FieldKind::MultiChoice => Value::Array(
                pairs
                    .iter()
                    .filter(|(k, _)| *k == f.name)
                    .flat_map(|(_, v)| v.split([',', '\n']))
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| Value::String(s.to_owned()))
                    .collect(),
            ),
            FieldKind::Query => match get(&f.name).map(str::trim) {
                // The criteria as JSON (a client posting the field whole).
                Some("") => Value::Array(Vec::new()),
                Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned())),
                None => query_rows(pairs, &f.name),
            },
            // A browser's date-time has no offset: it is the site's wall-clock time.
            FieldKind::DateTime if !raw.trim().is_empty() => match SiteZone::parse_wall_clock(raw) {
                Some(local) => Value::String(zone.to_utc(local).to_rfc3339()),
                None => Value::String(raw.to_owned()),
            },
            FieldKind::Integer => match raw.trim() {
                "" => Value::Null,
                t => t.parse::<i64>().map(Value::from).unwrap_or_else(|_| Value::String(t.to_owned())),
            },
            _ if raw.trim().is_empty() && !f.required => Value::Null,
            _ => Value::String(raw.to_owned()),
        };
        m.insert(f.name.clone(), v);
    }
    // The type's load made sure a field with the recurrence widget has a start.
    if let Some(field) = schema.widget_field(Widget::Recurrence)
        && let Some(start) = schema.metadata_field(START_COLUMN)
        && let Some(rule) = recurrence_from_widget(pairs, &field.name, &start.name, zone)
    {
        m.insert(field.name.clone(), if rule.is_empty() { Value::Null } else { Value::String(rule) });
    }
    m
}

/// A rule's lines, trimmed, without blank ones: a textarea posts CRLF, a hidden field
/// what it was given.
fn rule_lines(rule: &str) -> String {
    rule.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("\n")
}

/// The rule the recurrence widget describes, unless the expert's raw rule was changed
/// (it then wins) or the widget was not shown (a rule it cannot show). The start's
/// hour, on the site's clock, is that of the exceptions. A number that does not read
/// becomes 0 and a date that does not read stays as typed in the rule, so that the
/// event's validation refuses it by name instead of the form guessing. `field` is the
/// rule's field (its raw text), `start_field` the start's.
fn recurrence_from_widget(
    pairs: &[(String, String)],
    field: &str,
    start_field: &str,
    zone: SiteZone,
) -> Option<String> {
    use beffroi_model::recurrence::{End, Freq, RecurrenceForm, weekday_of};
    let get = |n: &str| pairs.iter().find(|(k, _)| k == n).map(|(_, v)| v.trim());
    let freq = Freq::parse(get("recurrence-freq")?);
    let shown = get("recurrence-shown").unwrap_or_default();
    if rule_lines(get(field).unwrap_or_default()) != rule_lines(shown) {
        return None;
    }
    let number = |n: &str| get(n).filter(|t| !t.is_empty()).map(|t| t.parse::<u32>().unwrap_or(0));
    let start = get(start_field).and_then(SiteZone::parse_wall_clock).unwrap_or_default();
    let date = |t: &str| chrono::NaiveDate::parse_from_str(t.trim(), "%Y-%m-%d").ok();
    // Typed text left as is: no line breaks or separators of its own.
    let verbatim = |t: &str| t.chars().filter(|c| !matches!(c, '\n' | '\r' | ';' | ',')).collect::<String>();
    let mut bad_until = None;
    let end = match get("recurrence-end").unwrap_or("never") {
        "until" => match get("recurrence-until").and_then(date) {
            Some(d) => End::Until(d),
            None => {
                bad_until = Some(verbatim(get("recurrence-until").unwrap_or_default()));
                End::Never
            }
        },
        "count" => End::Count(number("recurrence-count").unwrap_or(0)),
        _ => End::Never,
    };
    let mut bad_days = Vec::new();
    let mut exceptions = Vec::new();
    for line in get("recurrence-exdates").unwrap_or_default().lines().map(str::trim).filter(|l| !l.is_empty()) {
        match date(line) {
            Some(d) => exceptions.push(d),
            None => bad_days.push(verbatim(line)),
        }
    }
    let form = RecurrenceForm {
        freq,
        interval: number("recurrence-interval").map_or(1, |n| u16::try_from(n).unwrap_or(0)),
        weekdays: pairs.iter().filter(|(k, _)| k == "recurrence-byday").filter_map(|(_, v)| weekday_of(v)).collect(),
        end,
        exceptions,
    };
    let mut rule = form.to_rule(start, zone);
    if rule.is_empty() {
        return Some(rule);
    }
    if let Some(t) = bad_until {
        let first = rule.find('\n').unwrap_or(rule.len());
        rule.insert_str(first, &format!(";UNTIL={t}"));
    }
    for t in bad_days {
        rule += &format!("\nEXDATE;TZID={}:{t}", zone.name());
    }
    Some(rule)
}

/// What the recurrence widget shows of a rule, or nothing when it cannot (the raw
/// rule is then offered alone).
fn recurrence_widget(ctx: &Ctx<'_>, rule: &str) -> Option<minijinja::Value> {
    use beffroi_model::recurrence::{End, Freq, RecurrenceForm, WEEKDAYS};
    let lang = ctx.site.language;
    let t = |k: &str| ctx.app.i18n.t(lang, k, &[]);
    let form = RecurrenceForm::from_rule(rule, ctx.site.time_zone)?;
    let freqs: Vec<minijinja::Value> =
        Freq::ALL.iter().map(|(_, n)| context! { value => *n, label => t(&format!("rec-freq-{n}")) }).collect();
    let weekdays: Vec<minijinja::Value> = WEEKDAYS
        .iter()
        .map(|(d, code)| {
            context! { code => *code, label => t(&format!("rec-day-{}", code.to_ascii_lowercase())), checked => form.weekdays.contains(d) }
        })
        .collect();
    let (end, until, count) = match form.end {
        End::Never => ("never", String::new(), String::new()),
        End::Until(d) => ("until", d.format("%Y-%m-%d").to_string(), String::new()),
        End::Count(n) => ("count", String::new(), n.to_string()),
    };
    let exceptions = form.exceptions.iter().map(|d| d.format("%Y-%m-%d").to_string()).collect::<Vec<_>>().join("\n");
    Some(context! {
        freqs => freqs,
        freq => form.freq.name(),
        interval => form.interval,
        weekdays => weekdays,
        end => end,
        until => until,
        count => count,
        exceptions => exceptions,
    })
}

/// Where a field comes in the form: the main fields first (title, description, then
/// the text and the type's own), the other groups after, the change note last.
fn form_rank(f: &beffroi_model::schema::Field) -> (u8, u8) {
    let group = match f.fieldset.as_deref() {
        None | Some("default") => 0,
        Some("contact") => 1,
        Some("categorization") => 2,
        Some("dates") => 3,
        Some("ownership") => 4,
        Some("settings") => 5,
        Some(_) => 6,
    };
    let within = match (f.name.as_str(), f.kind) {
        ("changeNote", _) => return (7, 0),
        ("title", _) => 0,
        ("description", _) => 1,
        (_, FieldKind::RichText) => 2,
        _ => 3,
    };
    (group, within)
}

/// The terms of the vocabularies `schema`'s fields take their values from, by field, in
/// the form's context (the item edited, or the folder an item is added to).
async fn form_terms(
    ctx: &Ctx<'_>,
    context: &ItemPath,
    schema: &TypeSchema,
) -> Result<std::collections::HashMap<String, Vec<beffroi_service::Term>>, WebError> {
    let mut terms = std::collections::HashMap::new();
    for f in schema.fields.iter().filter(|f| drawn(f)) {
        if let Some(name) = &f.vocabulary {
            let found = ctx
                .app
                .services
                .vocabulary(&ctx.principal, &ctx.site, context, name)
                .await
                .map_err(|e| WebError::from_service(e, &ctx.request_url))?;
            terms.insert(f.name.clone(), found);
        }
    }
    Ok(terms)
}

fn form_fields(
    ctx: &Ctx<'_>,
    schema: &TypeSchema,
    values: &Map<String, Value>,
    errors: &[FieldError],
    item_url: Option<&str>,
    kept: &[(String, StoredFile, String)],
    terms: &std::collections::HashMap<String, Vec<beffroi_service::Term>>,
) -> Vec<minijinja::Value> {
    let lang = ctx.site.language;
    let mut fields: Vec<&beffroi_model::schema::Field> = schema.fields.iter().filter(|f| drawn(f)).collect();
    fields.sort_by_key(|f| form_rank(f));
    // Each group of fields in a fieldset of its own: where one opens and where it ends.
    let group_of = |f: &beffroi_model::schema::Field| f.fieldset.clone().filter(|g| g != "default");
    let groups: Vec<Option<String>> = fields.iter().map(|f| group_of(f)).collect();
    fields
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let opens = groups[i].is_some() && (i == 0 || groups[i - 1] != groups[i]);
            let ends = groups[i].is_some() && groups.get(i + 1) != Some(&groups[i]);
            let v = values.get(&f.name);
            let text = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_owned();
            let listed = |v: Option<&Value>| -> Vec<String> {
                v.and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default()
            };
            let offered = terms.get(&f.name);
            let (widget, value): (&str, minijinja::Value) = match f.kind {
                FieldKind::TextLine | FieldKind::Choice if offered.is_some() => ("select", text(v).into()),
                FieldKind::MultiChoice if offered.is_some() || !f.choices.is_empty() => {
                    ("checkboxes", listed(v).into())
                }
                FieldKind::TextLine => ("text", text(v).into()),
                FieldKind::Text if f.widget == Some(Widget::Recurrence) => (Widget::Recurrence.name(), text(v).into()),
                FieldKind::Text => ("textarea", text(v).into()),
                FieldKind::RichText => {
                    let html = v.and_then(|r| r.get("data")).and_then(Value::as_str).unwrap_or_default();
                    // The editor keeps no classes: personal data comes back as its marks.
                    let html = match f.personal_data {
                        Some(_) => beffroi_model::richtext::unmark_personal_data(html),
                        None => html.to_owned(),
                    };
                    ("richtext", html.into())
                }
                FieldKind::Date => ("date", text(v).into()),
                FieldKind::DateTime => {
                    let shown = v
                        .and_then(Value::as_str)
                        .and_then(beffroi_model::schema::parse_datetime)
                        .map(|t| ctx.site.time_zone.local(&t).format("%Y-%m-%dT%H:%M").to_string())
                        .unwrap_or_else(|| text(v).chars().take(16).collect());
                    ("datetime-local", shown.into())
                }
                FieldKind::Boolean => ("checkbox", v.and_then(Value::as_bool).unwrap_or(false).into()),
                FieldKind::Integer => {
                    ("number", v.map(|x| x.to_string().trim_matches('"').to_owned()).unwrap_or_default().into())
                }
                FieldKind::Choice => ("select", text(v).into()),
                FieldKind::MultiChoice => (
                    "text",
                    v.and_then(Value::as_array)
                        .map(|a| a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", "))
                        .unwrap_or_default()
                        .into(),
                ),
                FieldKind::Email => ("email", text(v).into()),
                FieldKind::Url => ("url", text(v).into()),
                FieldKind::Query => ("querybuilder", query_form_rows(v).into()),
                FieldKind::File | FieldKind::Image => {
                    let current =
                        v.and_then(|x| serde_json::from_value::<beffroi_model::media::StoredFile>(x.clone()).ok());
                    let text = current
                        .map(|c| format!("{} ({})", c.filename, crate::media::size_text(c.size)))
                        .unwrap_or_default();
                    (if f.kind == FieldKind::Image { "image" } else { "file" }, text.into())
                }
                // Not drawn (see `drawn`): the blocks have an editor of their own.
                FieldKind::Relation | FieldKind::Blocks | FieldKind::BlocksLayout => ("text", "".into()),
            };
            let error = errors.iter().find(|e| e.field == f.name).map(|e| field_message(ctx, &e.message));
            let labelled = |prefix: &str, names: &mut dyn Iterator<Item = &str>| -> Vec<minijinja::Value> {
                names
                    .map(|n| context! { value => n, label => ctx.app.i18n.t(lang, &format!("{prefix}-{}", n.replace('.', "-")), &[]) })
                    .collect()
            };
            let (indexes, operations) = if f.kind == FieldKind::Query {
                // The platform's indexes, then those the applications declare (under
                // their own titles), with every operation any of them takes.
                let mut indexes =
                    labelled("qs-index", &mut beffroi_model::catalog::querystring::INDEXES.iter().copied());
                let types = ctx.app.services.types();
                indexes.extend(
                    types
                        .indexes()
                        .iter()
                        .filter(|d| !d.kind.operations().is_empty())
                        .map(|d| context! { value => d.name.as_str(), label => d.title.get(lang) }),
                );
                let mut ops: Vec<&str> = beffroi_model::catalog::querystring::operations().collect();
                for op in types.indexes().iter().flat_map(|d| d.kind.operations()) {
                    if !ops.contains(op) {
                        ops.push(op);
                    }
                }
                (indexes, labelled("qs-op", &mut ops.into_iter()))
            } else {
                (Vec::new(), Vec::new())
            };
            let mut choices: Vec<minijinja::Value> = match offered {
                Some(terms) => {
                    // A value the vocabulary no longer offers stays chosen, under its
                    // token, until the editor changes it.
                    let mut current: Vec<String> = match v {
                        Some(Value::Array(_)) => listed(v),
                        _ => vec![text(v)],
                    };
                    current.retain(|c| !c.is_empty() && !terms.iter().any(|t| &t.token == c));
                    terms
                        .iter()
                        .map(|t| context! { value => t.token.clone(), label => t.title.clone() })
                        .chain(current.into_iter().map(|c| context! { value => c.clone(), label => c }))
                        .collect()
                }
                None => f
                    .choices
                    .iter()
                    .map(|c| {
                        // Languages by their own names, as a language menu shows them.
                        let label = match Language::parse(c) {
                            Ok(l) if f.name == "language" => l.native_name(),
                            _ => f.choice_title(c, lang),
                        };
                        context! { value => c.clone(), label => label.to_owned() }
                    })
                    .collect(),
            };
            if offered.is_some() && widget == "select" && !f.required {
                choices.insert(0, context! { value => "", label => "—" });
            }
            // The current image, shown small beside "keep / replace / remove".
            let thumb = (f.kind == FieldKind::Image && v.is_some_and(|x| !x.is_null()))
                .then_some(item_url)
                .flatten()
                .map(|u| format!("{u}/@@images/{}/thumb", f.name));
            let group_start = opens
                .then(|| groups[i].as_deref().map(|id| ctx.app.i18n.t(lang, &format!("fieldset-{id}"), &[])))
                .flatten();
            let kept = kept.iter().find(|(k, _, _)| *k == f.name).map(|(_, file, sealed)| {
                context! { seal => sealed.clone(), name => format!("{} ({})", file.filename, crate::media::size_text(file.size)) }
            });
            let (rec, help) = if f.widget == Some(Widget::Recurrence) {
                (recurrence_widget(ctx, &text(v)), Some(ctx.app.i18n.t(lang, "rec-help", &[])))
            } else {
                (None, None)
            };
            context! {
                rec => rec,
                help => help,
                kept => kept,
                group_start => group_start,
                group_end => ends,
                thumb => thumb,
                removable => !f.required,
                indexes => indexes,
                operations => operations,
                name => f.name.clone(),
                label => f.title.get(lang).to_owned(),
                description => f.description.get(lang).to_owned(),
                required => f.required,
                widget => widget,
                value => value,
                choices => choices,
                error => error,
            }
        })
        .collect()
}

/// What an edit form shows besides its fields.
#[derive(Default)]
struct Extras {
    /// The version the editor starts from (a hidden field).
    seen: Option<i64>,
    /// A warning above the form.
    notice: Option<String>,
    /// Fields someone else saved meanwhile: label, their value, yours.
    conflicts: Vec<minijinja::Value>,
    /// Offers "cancel" as a button that releases the lock.
    lock_held: bool,
    /// What the item would look like with the posted values (nothing saved).
    preview: Option<minijinja::Value>,
    /// The item being edited (its current images are shown).
    item_url: Option<String>,
    /// Files chosen in an earlier post of this form, kept: field, file, seal.
    kept: Vec<(String, StoredFile, String)>,
    /// What the rich-text editor's chooser needs (see [`chooser`]).
    chooser: Option<minijinja::Value>,
}

/// What the rich-text editor's chooser of links and images needs: the folder it
/// starts browsing in and uploads images into (the folder being added into, or the one
/// holding the item edited, or the item itself when it is a folder), whether the editor
/// may add an Image there, the folderish types (browsed when choosing an image), the
/// upload limit. None when the form has no rich text.
async fn chooser(ctx: &Ctx<'_>, schema: &TypeSchema, here: &ItemView, adding: bool) -> Option<minijinja::Value> {
    if !schema.fields.iter().any(|f| f.kind == FieldKind::RichText) {
        return None;
    }
    let types = ctx.app.services.types();
    let loaded;
    let folder = match here.item.path.parent() {
        Some(parent) if !adding && !here.is_folderish(types) => {
            // None when the editor may not view it: browsing then starts at the site
            // root, and nothing is uploaded.
            loaded = ctx.app.services.item(&ctx.principal, &ctx.site, &parent).await.ok();
            loaded.as_ref()
        }
        _ => Some(here),
    };
    // Images are uploaded as items of the type whose main value is an image.
    let image = types.image_type();
    let may_upload = folder.zip(image).is_some_and(|(f, (image_type, _))| {
        let inside = (!f.item.path.is_root()).then_some(f.item.type_name.as_str());
        f.allows(&ctx.principal, beffroi_model::security::Permission::AddPortalContent)
            && types.may_contain_with(&ctx.type_rules, inside, &image_type.id)
    });
    let folderish = types.folderish();
    let limit = ctx.app.services.upload_limit();
    Some(context! {
        folder_url => folder.map_or_else(|| ctx.base.clone(), |f| ctx.url(&f.item.path)),
        folder_title => folder.map_or_else(|| ctx.site.title.clone(), |f| {
            if f.item.path.is_root() { ctx.site.title.clone() } else { f.item.title.clone() }
        }),
        may_upload => may_upload,
        image_type => image.map(|(t, _)| t.id.clone()),
        image_field => image.map(|(_, f)| f.name.clone()),
        folderish => folderish.join(" "),
        max_bytes => limit,
        // Whole megabytes for the help text; a limit under one shows as one.
        max_mb => limit.div_ceil(1024 * 1024),
    })
}

/// The preview of posted values: checked and cleaned as a save would, then shown.
fn preview_of(
    ctx: &Ctx<'_>,
    schema: &TypeSchema,
    values: &Map<String, Value>,
) -> Result<minijinja::Value, Vec<FieldError>> {
    let v = schema.validate(values, beffroi_model::schema::WriteMode::Update).map_err(|e| e.0)?;
    let s = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or("").to_owned();
    Ok(context! {
        title => s("title"),
        description => s("description"),
        rich_texts => crate::html::rich_texts(ctx.app.services.types(), &schema.id, &v, ctx.site.language),
    })
}

#[expect(clippy::too_many_arguments, reason = "the parts of one form page")]
async fn form_page(
    ctx: &Ctx<'_>,
    context: &ItemPath,
    status: StatusCode,
    title: String,
    action: String,
    cancel_url: String,
    schema: &TypeSchema,
    values: &Map<String, Value>,
    errors: &[FieldError],
    extras: Extras,
) -> Result<Response, WebError> {
    let labels: Vec<minijinja::Value> = errors
        .iter()
        .map(|e| {
            let label = schema
                .field(&e.field)
                .map(|f| f.title.get(ctx.site.language).to_owned())
                .unwrap_or_else(|| e.field.clone());
            context! { field => e.field.clone(), label => label, message => field_message(ctx, &e.message) }
        })
        .collect();
    let terms = form_terms(ctx, context, schema).await?;
    let fields = form_fields(ctx, schema, values, errors, extras.item_url.as_deref(), &extras.kept, &terms);
    page(
        ctx,
        status,
        "edit.html",
        context! {
            title => title,
            action => action,
            cancel_url => cancel_url,
            fields => fields,
            errors => labels,
            multipart => schema.fields.iter().any(|f| is_file(f.kind)),
            richtext => schema.fields.iter().any(|f| f.kind == FieldKind::RichText),
            seen => extras.seen.map(|s| s.to_string()),
            notice => extras.notice,
            conflicts => extras.conflicts,
            lock_held => extras.lock_held,
            preview => extras.preview,
            chooser => extras.chooser,
        },
    )
}

/// The text fields and files of a posted form, urlencoded or multipart.
fn posted(ctx: &Ctx<'_>, body: &[u8]) -> Result<FormData, WebError> {
    let form = match &ctx.form {
        Some(f) => f.clone(),
        None => FormData { pairs: form_pairs(body)?, files: Vec::new() },
    };
    Ok(form)
}

fn schema_of<'a>(ctx: &'a Ctx<'_>, type_name: &str) -> Result<&'a TypeSchema, WebError> {
    ctx.app
        .services
        .types()
        .get(type_name)
        .ok_or_else(|| WebError::BadRequest(format!("{type_name} cannot be edited here")))
}

/// Shows a value in the comparison of two versions.
fn shown(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) if o.contains_key("data") => {
            beffroi_model::catalog::html_text(o.get("data").and_then(Value::as_str).unwrap_or(""))
        }
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| x.as_str().map(str::to_owned).unwrap_or_else(|| x.to_string()))
            .collect::<Vec<_>>()
            .join(", "),
        Some(other) => other.to_string(),
    }
}

/// The edit form. Opening it takes the item's edit lock (released on save or cancel);
/// it carries the version it started from, and a save over a newer one is refused
/// with both versions shown.
pub(crate) async fn edit(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let lang = ctx.site.language;
    let item_url = ctx.url(&view.item.path);
    // The fields its container lets its items use.
    let schema = match view.lineage.last() {
        Some(parent) => schema_of(ctx, &view.item.type_name)?.in_container(&parent.fields),
        None => std::borrow::Cow::Borrowed(schema_of(ctx, &view.item.type_name)?),
    };
    let schema = schema.as_ref();
    let title = ctx.app.i18n.t(lang, "edit-title", &[("title", view.item.title.clone().into())]);
    let action = format!("{item_url}/@@edit");
    let services = &ctx.app.services;
    let path = &view.item.path;
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let seen = view.item.modified.timestamp_micros();
    match body {
        // The route lets only those who may modify the item here.
        None => {
            let (notice, lock_held) = match services.lock(&ctx.principal, &ctx.site, path, true, None).await {
                Ok(_) => (None, true),
                Err(ServiceError::Locked(who)) => {
                    (Some(ctx.app.i18n.t(lang, "edit-locked-by", &[("name", who.into())])), false)
                }
                Err(e) => return Err(err(e)),
            };
            let extras = Extras {
                seen: Some(seen),
                notice,
                lock_held,
                item_url: Some(item_url.clone()),
                chooser: chooser(ctx, schema, view, false).await,
                ..Extras::default()
            };
            form_page(
                ctx,
                &view.item.path,
                StatusCode::OK,
                title,
                action,
                item_url.clone(),
                schema,
                &item_values(&view.item),
                &[],
                extras,
            )
            .await
        }
        Some(body) => {
            let FormData { pairs, mut files } = posted(ctx, body)?;
            let has = |k: &str| pairs.iter().any(|(n, _)| n == k);
            if has("_cancel") {
                match services.unlock(&ctx.principal, &ctx.site, path, false).await {
                    Ok(()) | Err(ServiceError::Locked(_)) => return Ok(see_other(&item_url, None)),
                    Err(e) => return Err(err(e)),
                }
            }
            if has("_steal") {
                services.unlock(&ctx.principal, &ctx.site, path, true).await.map_err(err)?;
                return Ok(see_other(&action, None));
            }
            let mut values = form_values(schema, &pairs, ctx.site.time_zone);
            with_kept(ctx, &pairs, &mut files);
            file_actions(schema, &pairs, &mut values, &mut files);
            let seen_modified = pairs.iter().find(|(k, _)| k == "_seen").and_then(|(_, v)| v.parse::<i64>().ok());
            if has("_preview") {
                let (preview, errors) = match preview_of(ctx, schema, &values) {
                    Ok(p) => (Some(p), Vec::new()),
                    Err(e) => (None, e),
                };
                let extras = Extras {
                    seen: seen_modified,
                    lock_held: true,
                    preview,
                    item_url: Some(item_url.clone()),
                    kept: keep(ctx, path, &view.item.type_name, files).await?,
                    chooser: chooser(ctx, schema, view, false).await,
                    ..Extras::default()
                };
                let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
                return form_page(
                    ctx,
                    &view.item.path,
                    status,
                    title,
                    action,
                    item_url,
                    schema,
                    &values,
                    &errors,
                    extras,
                )
                .await;
            }
            crate::links::internalize(ctx, &mut values).await?;
            let guard = beffroi_service::WriteGuard { lock_token: None, seen_modified };
            let retry = files.clone();
            match services.update_with_files(&ctx.principal, &ctx.site, path, &values, files, &guard).await {
                Ok(_) => {
                    // The save ends the edit: the lock goes (someone else's stays).
                    match services.unlock(&ctx.principal, &ctx.site, path, false).await {
                        Ok(()) | Err(ServiceError::Locked(_)) => {}
                        Err(e) => return Err(err(e)),
                    }
                    Ok(crate::views::done(&item_url, crate::views::Status::Saved))
                }
                Err(ServiceError::Invalid(v)) => {
                    let extras = Extras {
                        seen: seen_modified,
                        lock_held: true,
                        item_url: Some(item_url.clone()),
                        kept: keep(ctx, path, &view.item.type_name, retry).await?,
                        chooser: chooser(ctx, schema, view, false).await,
                        ..Extras::default()
                    };
                    form_page(
                        ctx,
                        &view.item.path,
                        StatusCode::BAD_REQUEST,
                        title,
                        action,
                        item_url,
                        schema,
                        &values,
                        &v.0,
                        extras,
                    )
                    .await
                }
                Err(ServiceError::Modified(now)) => {
                    let theirs = item_values(&now);
                    let conflicts: Vec<minijinja::Value> = schema
                        .fields
                        .iter()
                        .filter(|f| drawn(f) && !is_file(f.kind) && f.name != "changeNote")
                        .filter_map(|f| {
                            let (a, b) = (shown(theirs.get(&f.name)), shown(values.get(&f.name)));
                            (a.trim() != b.trim())
                                .then(|| context! { label => f.title.get(lang).to_owned(), theirs => a, yours => b })
                        })
                        .collect();
                    let notice = ctx.app.i18n.t(
                        lang,
                        "edit-conflict",
                        &[("date", crate::html::date_time_text(lang, ctx.site.time_zone, &now.modified, true).into())],
                    );
                    let extras = Extras {
                        seen: Some(now.modified.timestamp_micros()),
                        notice: Some(notice),
                        conflicts,
                        lock_held: true,
                        preview: None,
                        item_url: Some(item_url.clone()),
                        kept: Vec::new(),
                        chooser: chooser(ctx, schema, view, false).await,
                    };
                    form_page(
                        ctx,
                        &view.item.path,
                        StatusCode::CONFLICT,
                        title,
                        action,
                        item_url,
                        schema,
                        &values,
                        &[],
                        extras,
                    )
                    .await
                }
                Err(e) => Err(err(e)),
            }
        }
    }
}

pub(crate) async fn add(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let lang = ctx.site.language;
    let folder_url = ctx.url(&view.item.path);
    let FormData { pairs, mut files } = match body {
        Some(b) => posted(ctx, b)?,
        None => FormData::default(),
    };
    let type_name = ctx
        .query
        .iter()
        .chain(pairs.iter())
        .find(|(k, _)| k == "type")
        .map(|(_, v)| v.clone())
        .ok_or_else(|| WebError::BadRequest("which type? (?type=…)".into()))?;
    // The fields this folder lets its items use.
    let schema = schema_of(ctx, &type_name)?.in_container(&view.item.fields);
    let schema = schema.as_ref();
    let here = (!view.item.path.is_root()).then_some(view.item.type_name.as_str());
    let types = ctx.app.services.types();
    if !types.may_add_with(&ctx.type_rules, here, &type_name) {
        return Err(WebError::BadRequest(format!("a {type_name} cannot be added here")));
    }
    // The route checked "Add portal content"; the type may want more of its own.
    if !view.may_add(types, &ctx.type_rules, &ctx.principal, &type_name) {
        return Err(WebError::Unauthorized);
    }
    let title = ctx.app.i18n.t(lang, "add-title", &[("type", schema.title.get(lang).to_owned().into())]);
    let action = format!("{folder_url}/@@add?type={type_name}");
    match body {
        // The route lets only those who may add here.
        None => {
            let mut values = Map::new();
            values.insert("language".into(), view.item.language.code().into());
            let extras = Extras { chooser: chooser(ctx, schema, view, true).await, ..Extras::default() };
            form_page(ctx, &view.item.path, StatusCode::OK, title, action, folder_url, schema, &values, &[], extras)
                .await
        }
        Some(_) => {
            let mut values = form_values(schema, &pairs, ctx.site.time_zone);
            with_kept(ctx, &pairs, &mut files);
            if pairs.iter().any(|(k, _)| k == "_preview") {
                let (preview, errors) = match preview_of(ctx, schema, &values) {
                    Ok(p) => (Some(p), Vec::new()),
                    Err(e) => (None, e),
                };
                let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::BAD_REQUEST };
                let kept = keep(ctx, &view.item.path, &type_name, files).await?;
                let extras =
                    Extras { preview, kept, chooser: chooser(ctx, schema, view, true).await, ..Extras::default() };
                return form_page(
                    ctx,
                    &view.item.path,
                    status,
                    title,
                    action,
                    folder_url,
                    schema,
                    &values,
                    &errors,
                    extras,
                )
                .await;
            }
            crate::links::internalize(ctx, &mut values).await?;
            let services = &ctx.app.services;
            let parent = &view.item.path;
            let retry = files.clone();
            match services.create_with_files(&ctx.principal, &ctx.site, parent, &type_name, None, &values, files).await
            {
                Ok(item) => Ok(crate::views::done(&ctx.url(&item.path), crate::views::Status::Created)),
                Err(ServiceError::Invalid(v)) => {
                    let extras = Extras {
                        kept: keep(ctx, parent, &type_name, retry).await?,
                        chooser: chooser(ctx, schema, view, true).await,
                        ..Extras::default()
                    };
                    form_page(
                        ctx,
                        &view.item.path,
                        StatusCode::BAD_REQUEST,
                        title,
                        action,
                        folder_url,
                        schema,
                        &values,
                        &v.0,
                        extras,
                    )
                    .await
                }
                Err(e) => Err(WebError::from_service(e, &ctx.request_url)),
            }
        }
    }
}

pub(crate) async fn delete(ctx: &Ctx<'_>, view: &ItemView, body: Option<&[u8]>) -> Result<Response, WebError> {
    let err = |e| WebError::from_service(e, &ctx.request_url);
    let parent_url = view.item.path.parent().map(|p| ctx.url(&p)).unwrap_or_else(|| ctx.base.clone());
    if body.is_some() {
        ctx.app.services.delete(&ctx.principal, &ctx.site, &view.item.path).await.map_err(err)?;
        return Ok(crate::views::done(&parent_url, crate::views::Status::Deleted));
    }
    // The route lets only those who may delete it here; the site root never is.
    if view.item.path.is_root() {
        return Err(WebError::Unauthorized);
    }
    let inside = ctx.app.services.count_descendants(&ctx.site, &view.item).await.map_err(err)?;
    let lang = ctx.site.language;
    let title = ctx.app.i18n.t(lang, "delete-title", &[("title", view.item.title.clone().into())]);
    let item_url = ctx.url(&view.item.path);
    page(
        ctx,
        StatusCode::OK,
        "delete.html",
        context! { title => title, item_title => view.item.title.clone(), inside => inside, action => format!("{item_url}/@@delete"), cancel_url => item_url },
    )
}
