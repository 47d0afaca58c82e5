//! Vocabularies: the values a field may take when they depend on where the item is and
//! who writes it (the services a clerk proposes for, a body's categories, its meetings
//! still open), as Plone's named vocabularies. An application declares each by name
//! with the function that computes its terms in a read-only unit of work; a field names
//! it in its type file (`"vocabulary": "meetings.categories"`). The terms are offered
//! by the edit form, served by `@vocabularies/<name>`, and a value that changes is
//! checked against them in the change's own transaction.

use beffroi_model::ItemPath;
use beffroi_model::schema::{FieldError, FieldKind, TypeSchema, ValidationErrors};
use beffroi_model::security::{Permission, Principal};
use beffroi_store::{ItemRow, SiteRow};
use futures_util::future::BoxFuture;
use serde_json::Value;

use crate::items::{allowed, load};
use crate::{Result, ServiceError, Services, Work};

/// One value a vocabulary offers: what is stored, and what people read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Term {
    pub token: String,
    pub title: String,
}

/// What computes a vocabulary's terms: given a unit with the asker's rights and the
/// context — the item being edited, or the folder an item is being added to. The unit
/// only reads.
pub type VocabularyFn = for<'a, 'w> fn(&'a mut Work<'w>, &'a ItemRow) -> VocabularyFuture<'a>;

/// What a vocabulary's function returns: `Box::pin(async move { … })`.
pub type VocabularyFuture<'a> = BoxFuture<'a, Result<Vec<Term>>>;

/// A named vocabulary of an application.
#[derive(Clone, Copy)]
pub struct Vocabulary {
    /// Its name, prefixed with the application's (`meetings.categories`).
    pub name: &'static str,
    pub terms: VocabularyFn,
}

impl std::fmt::Debug for Vocabulary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocabulary").field("name", &self.name).finish_non_exhaustive()
    }
}

/// The vocabularies of Plone's own that every site has, by Plone's names: the tags in
/// use, the types people add, the workflow states, the content languages.
pub const PLATFORM: &[&str] = &[
    KEYWORDS,
    "plone.app.vocabularies.ReallyUserFriendlyTypes",
    "plone.app.vocabularies.UserFriendlyTypes",
    "plone.app.vocabularies.PortalTypes",
    "plone.app.vocabularies.WorkflowStates",
    "plone.app.vocabularies.SupportedContentLanguages",
    "plone.app.vocabularies.AvailableContentLanguages",
];

/// The tags (subjects) in use in the site, as Plone names their vocabulary.
pub const KEYWORDS: &str = "plone.app.vocabularies.Keywords";

impl Services {
    /// The names of the vocabularies of the applications `site` enables, after the
    /// platform's.
    pub fn vocabulary_names(&self, site: &SiteRow) -> Vec<&'static str> {
        PLATFORM.iter().copied().chain(crate::apps::vocabularies(&self.apps, site).map(|v| v.name)).collect()
    }

    /// A platform vocabulary's terms, for whoever may view the item at `path`.
    async fn platform_vocabulary(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        name: &str,
    ) -> Result<Vec<Term>> {
        let workflows = self.workflows(site).await?;
        let mut c = self.store.conn().await?;
        let lineage = load(&mut c.db(), site, path).await?;
        drop(c);
        if !allowed(&workflows, actor, &lineage, Permission::View) {
            return Err(ServiceError::Unauthorized);
        }
        self.platform_terms(actor, site, name).await
    }

    /// The terms of one of the [`PLATFORM`] vocabularies on `site`, as `actor` reads
    /// them (the tags of what they may see); not found for another name. The types are
    /// those people add on this site (its applications', by its rules).
    pub async fn platform_terms(&self, actor: &Principal, site: &SiteRow, name: &str) -> Result<Vec<Term>> {
        let lang = site.language;
        let term = |token: &str, title: &str| Term { token: token.to_owned(), title: title.to_owned() };
        let mut terms: Vec<Term> = match name {
            KEYWORDS => {
                // The tags of what the asker may see, so a private tag stays private.
                let counts = self.subject_counts(actor, site, beffroi_store::CatalogQuery::default()).await?;
                return Ok(counts.iter().map(|(s, _)| term(s, s)).collect());
            }
            "plone.app.vocabularies.WorkflowStates" => {
                let workflows = self.workflows(site).await?;
                let mut out: Vec<Term> = Vec::new();
                for s in workflows.all().iter().flat_map(|w| &w.states) {
                    if !out.iter().any(|t| t.token == s.id) {
                        out.push(term(&s.id, s.title.get(lang)));
                    }
                }
                out
            }
            "plone.app.vocabularies.SupportedContentLanguages" | "plone.app.vocabularies.AvailableContentLanguages" => {
                beffroi_model::Language::ALL.iter().map(|l| term(l.code(), l.native_name())).collect()
            }
            "plone.app.vocabularies.ReallyUserFriendlyTypes"
            | "plone.app.vocabularies.UserFriendlyTypes"
            | "plone.app.vocabularies.PortalTypes" => {
                let rules = self.type_rules(site).await?;
                self.types
                    .all()
                    .iter()
                    .filter(|t| t.addable && rules.has(&t.id))
                    .map(|t| term(&t.id, t.title.get(lang)))
                    .collect()
            }
            _ => return Err(ServiceError::NotFound),
        };
        terms.sort_by(|a, b| a.title.cmp(&b.title));
        Ok(terms)
    }

    /// The terms of vocabulary `name` in the context of the item at `path`, which
    /// `actor` must be allowed to view: not found when no application the site enables
    /// declares it.
    pub async fn vocabulary(
        &self,
        actor: &Principal,
        site: &SiteRow,
        path: &ItemPath,
        name: &str,
    ) -> Result<Vec<Term>> {
        if PLATFORM.contains(&name) {
            return self.platform_vocabulary(actor, site, path, name).await;
        }
        let vocabulary =
            crate::apps::vocabularies(&self.apps, site).find(|v| v.name == name).ok_or(ServiceError::NotFound)?;
        let workflows = self.workflows(site).await?;
        let mut tx = self.store.begin_read().await?;
        let lineage = load(&mut tx.db(), site, path).await?;
        if !allowed(&workflows, actor, &lineage, Permission::View) {
            return Err(ServiceError::Unauthorized);
        }
        let mut work = Work::open(self, site, actor, workflows, tx, lineage);
        let context = work.item().clone();
        (vocabulary.terms)(&mut work, &context).await
    }
}

impl Work<'_> {
    /// Checks the values of `item`'s fields named in `changed` that take their values
    /// from a vocabulary against its terms in `context`, with the actor's rights.
    pub(crate) async fn check_vocabularies(
        &mut self,
        schema: &TypeSchema,
        context: &ItemRow,
        item: &ItemRow,
        changed: &[String],
    ) -> Result<()> {
        let mut errors = Vec::new();
        let site = self.site().clone();
        for f in schema.fields.iter().filter(|f| changed.contains(&f.name)) {
            let Some(name) = &f.vocabulary else { continue };
            let values: Vec<&str> = match item.fields.get(&f.name) {
                Some(Value::String(s)) if !s.is_empty() => vec![s.as_str()],
                Some(Value::Array(a)) if f.kind == FieldKind::MultiChoice => {
                    a.iter().filter_map(Value::as_str).collect()
                }
                _ => continue,
            };
            if values.is_empty() {
                continue;
            }
            let vocabulary = crate::apps::vocabularies(&self.services().apps, &site)
                .find(|v| v.name == name)
                .ok_or_else(|| ServiceError::BadRequest(format!("the vocabulary {name:?} is not enabled here")))?;
            let terms = (vocabulary.terms)(self, context).await?;
            for v in values.into_iter().filter(|v| !terms.iter().any(|t| t.token == *v)) {
                errors.push(FieldError {
                    field: f.name.clone(),
                    message: format!("{v:?} is not one of the values offered here"),
                });
            }
        }
        if errors.is_empty() { Ok(()) } else { Err(ServiceError::Invalid(ValidationErrors(errors))) }
    }
}
