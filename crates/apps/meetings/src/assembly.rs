//! Who sits and who votes: the persons of the organisation with the positions they hold
//! (gendered labels, validity dates, the bodies they sit in: the position on a person's
//! own record and the held positions inside it, as PloneMeeting's held_position
//! objects: a councillor who chairs the CPAS sits in the council as one and in the
//! college as the other), a meeting's attendance
//! (present, excused, absent, signatories), and an item's votes: public (who voted
//! what) or secret (counts only), by those present less those absent for the item (a
//! conflict of interest), with the sentence the minutes carry ("par 12 voix pour,
//! 3 contre et 2 abstentions"). What is stored is checked at every edit: an unknown
//! person, someone listed twice, a voter who is not there, counts beyond those who
//! may vote are refused with the reason, and nothing changes.

use std::collections::{BTreeSet, HashMap};

use beffroi_model::{ItemPath, Language};
use beffroi_service::{CatalogQuery, HookFuture, ItemRow, ServiceError, Work};
use chrono::{NaiveDate, Utc};
use serde_json::Value;

use crate::{list, meeting_date, refuse, text};

/// The type of persons.
pub(crate) const PERSON: &str = "Person";
/// The type of a position a person holds besides the one on their own record.
pub(crate) const HELD_POSITION: &str = "Held Position";
/// The type of an item's further votes (an amendment, a part of the item).
pub(crate) const VOTE: &str = "Meeting Vote";

/// The label of a position for a gender, in a language.
pub(crate) fn position_label(position: &str, gender: &str, lang: Language) -> String {
    let f = gender == "F";
    let l = match lang {
        Language::Nl => match position {
            "bourgmestre" => "Burgemeester",
            "echevin" => "Schepen",
            "conseiller" => "Gemeenteraadslid",
            "president_cpas" => "Voorzitter van het OCMW",
            "directeur_general" => "Algemeen directeur",
            "directeur_financier" => "Financieel directeur",
            other => other,
        },
        Language::De => match (position, f) {
            ("bourgmestre", true) => "Bürgermeisterin",
            ("bourgmestre", false) => "Bürgermeister",
            ("echevin", true) => "Schöffin",
            ("echevin", false) => "Schöffe",
            ("conseiller", true) => "Ratsmitglied",
            ("conseiller", false) => "Ratsmitglied",
            ("president_cpas", true) => "ÖSHZ-Präsidentin",
            ("president_cpas", false) => "ÖSHZ-Präsident",
            ("directeur_general", true) => "Generaldirektorin",
            ("directeur_general", false) => "Generaldirektor",
            ("directeur_financier", true) => "Finanzdirektorin",
            ("directeur_financier", false) => "Finanzdirektor",
            (other, _) => other,
        },
        Language::En => match position {
            "bourgmestre" => "Mayor",
            "echevin" => "Alderman",
            "conseiller" => "Councillor",
            "president_cpas" => "President of the social welfare centre",
            "directeur_general" => "Director general",
            "directeur_financier" => "Finance director",
            other => other,
        },
        _ => match (position, f) {
            ("bourgmestre", _) => "Bourgmestre",
            ("echevin", true) => "Échevine",
            ("echevin", false) => "Échevin",
            ("conseiller", true) => "Conseillère communale",
            ("conseiller", false) => "Conseiller communal",
            ("president_cpas", true) => "Présidente du CPAS",
            ("president_cpas", false) => "Président du CPAS",
            ("directeur_general", true) => "Directrice générale",
            ("directeur_general", false) => "Directeur général",
            ("directeur_financier", true) => "Directrice financière",
            ("directeur_financier", false) => "Directeur financier",
            (other, _) => other,
        },
    };
    l.to_owned()
}

fn date(item: &ItemRow, field: &str) -> Option<NaiveDate> {
    let s = text(item, field);
    NaiveDate::parse_from_str(s.get(..10).unwrap_or(s), "%Y-%m-%d").ok()
}

/// Whether a position (a person's own record, or a held position) sits in `body` on `day`.
fn holds(position: &ItemRow, body: &str, day: NaiveDate) -> bool {
    list(position, "bodies").iter().any(|b| b == body)
        && date(position, "position_start").is_none_or(|s| s <= day)
        && date(position, "position_end").is_none_or(|e| day <= e)
}

/// The persons of the site with their held positions.
pub(crate) struct Persons {
    pub list: Vec<ItemRow>,
    held: HashMap<ItemPath, Vec<ItemRow>>,
}

impl Persons {
    /// The query of persons and held positions ([`Persons::from_rows`] sorts them out).
    pub(crate) fn query() -> CatalogQuery {
        CatalogQuery { types: vec![PERSON.into(), HELD_POSITION.into()], ..Default::default() }
    }

    pub(crate) fn from_rows(rows: Vec<ItemRow>) -> Persons {
        let (list, positions): (Vec<ItemRow>, Vec<ItemRow>) = rows.into_iter().partition(|r| r.type_name == PERSON);
        let mut held: HashMap<ItemPath, Vec<ItemRow>> = HashMap::new();
        for p in positions {
            if let Some(person) = p.path.parent() {
                held.entry(person).or_default().push(p);
            }
        }
        Persons { list, held }
    }

    /// The position `person` sits in `body` with on `day`: their own record's, or else
    /// the first of their held positions that does.
    pub(crate) fn seat<'a>(&'a self, person: &'a ItemRow, body: &str, day: NaiveDate) -> Option<&'a ItemRow> {
        std::iter::once(person).chain(self.held.get(&person.path).into_iter().flatten()).find(|p| holds(p, body, day))
    }

    /// Whether `person` sits in `body` on `day`.
    pub(crate) fn sits(&self, person: &ItemRow, body: &str, day: NaiveDate) -> bool {
        self.seat(person, body, day).is_some()
    }

    /// A person's name and the label of the position they sit in `body` with on `day`
    /// (their own record's when they do not sit there), for pages and the API.
    pub(crate) fn label(&self, person: &ItemRow, body: &str, day: NaiveDate, lang: Language) -> (String, String) {
        let seat = self.seat(person, body, day).unwrap_or(person);
        (person.title.clone(), position_label(text(seat, "position"), text(person, "gender"), lang))
    }

    /// "Name (Position)", or the name alone, as lists and vocabularies show a person.
    pub(crate) fn titled(&self, person: &ItemRow, body: &str, day: NaiveDate, lang: Language) -> String {
        match self.label(person, body, day, lang) {
            (name, position) if position.is_empty() => name,
            (name, position) => format!("{name} ({position})"),
        }
    }
}

/// The site's persons.
pub(crate) async fn persons(work: &Work<'_>) -> Result<Persons, ServiceError> {
    Ok(Persons::from_rows(work.find(Persons::query()).await?))
}

/// After a meeting is edited: its attendance names persons of its body, each once.
pub(crate) fn check_attendance<'a>(work: &'a mut Work<'_>, meeting: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let lists = ["attendees", "excused", "absents"];
        if lists.iter().chain(&["signatories"]).all(|f| list(meeting, f).is_empty()) {
            return Ok(());
        }
        let body = crate::body_id(meeting);
        let day = meeting_day(meeting);
        let persons = persons(work).await?;
        let mut seen = BTreeSet::new();
        for field in lists {
            for id in list(meeting, field) {
                let Some(p) = persons.list.iter().find(|p| p.id == id) else {
                    return Err(refuse(format!("{field}: {id:?} is not a person of the organisation")));
                };
                if !persons.sits(p, &body, day) {
                    return Err(refuse(format!(
                        "{field}: {} does not sit in this body on the meeting's date",
                        p.title
                    )));
                }
                if !seen.insert(id.clone()) {
                    return Err(refuse(format!("{} is listed twice in the attendance", p.title)));
                }
            }
        }
        for id in list(meeting, "signatories") {
            if !list(meeting, "attendees").contains(&id) {
                return Err(refuse(format!("signatories: {id:?} is not among those present")));
            }
        }
        Ok(())
    })
}

/// An item's vote, as the minutes record it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Vote {
    pub secret: bool,
    pub yes: i64,
    pub no: i64,
    pub abstain: i64,
    pub voters: [Vec<String>; 3],
}

impl Vote {
    pub(crate) fn of(item: &ItemRow) -> Option<Vote> {
        let count = |f: &str| item.fields.get(f).and_then(Value::as_i64).unwrap_or(0);
        let secret = item.fields.get("vote_secret").and_then(Value::as_bool) == Some(true);
        let voters = [list(item, "votes_yes"), list(item, "votes_no"), list(item, "votes_abstain")];
        let v = if secret {
            Vote {
                secret,
                yes: count("vote_count_yes"),
                no: count("vote_count_no"),
                abstain: count("vote_count_abstain"),
                voters,
            }
        } else {
            let n = |i: usize| voters[i].len() as i64;
            Vote { secret, yes: n(0), no: n(1), abstain: n(2), voters }
        };
        (v.yes + v.no + v.abstain > 0).then_some(v)
    }
}

/// Those who may vote on `item`: present at its meeting and not absent for it.
pub(crate) fn voters(meeting: &ItemRow, item: &ItemRow) -> Vec<String> {
    let out = list(item, "item_absents");
    list(meeting, "attendees").into_iter().filter(|a| !out.contains(a)).collect()
}

/// The item a vote is on: the item itself, or the one holding a further vote.
pub(crate) async fn voted_item(work: &mut Work<'_>, vote: &ItemRow) -> Result<ItemRow, ServiceError> {
    if vote.type_name != VOTE {
        return Ok(vote.clone());
    }
    let path = vote.path.parent().ok_or_else(|| refuse("a vote is on an item"))?;
    Ok(work
        .require(&path, beffroi_model::security::Permission::View)
        .await?
        .pop()
        .expect("a lineage ends with its item"))
}

/// After a further vote is added: the body's meeting managers record it, on an item
/// of a meeting; then it is checked as any vote.
pub(crate) fn vote_added<'a>(work: &'a mut Work<'_>, vote: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let item = voted_item(work, vote).await?;
        let body = crate::body_of(work, &item).await?;
        let manage = beffroi_model::security::Permission::parse(crate::MANAGE_MEETINGS).expect("declared");
        if !work.actor_may(&body.path, manage).await? {
            return Err(ServiceError::Forbidden("only the body's meeting managers record votes".into()));
        }
        crate::meeting_of(work, &item).await.map_err(|_| refuse("a vote is taken on an item of a meeting"))?;
        check_votes(work, vote).await
    })
}

/// After an item or a further vote is edited: its vote is by those who may vote, each
/// once, and its counts do not exceed them.
pub(crate) fn check_votes<'a>(work: &'a mut Work<'_>, voted: &'a ItemRow) -> HookFuture<'a> {
    Box::pin(async move {
        let Some(vote) = Vote::of(voted) else {
            return Ok(());
        };
        let item = voted_item(work, voted).await?;
        let item = &item;
        let meeting =
            crate::meeting_of(work, item).await.map_err(|_| refuse("a vote is taken on an item of a meeting"))?;
        // The body's vote settings: the kinds of vote it holds and the votes it counts.
        let body = crate::body_of(work, &meeting).await?;
        let kind = if vote.secret { "secret" } else { "public" };
        let kinds = list(&body, "poll_types");
        if !kinds.is_empty() && !kinds.iter().any(|k| k == kind) {
            return Err(refuse(format!("{} holds no {kind} vote", body.title)));
        }
        let values = list(&body, "vote_values");
        for (value, n) in [("yes", vote.yes), ("no", vote.no), ("abstain", vote.abstain)] {
            if n > 0 && !values.is_empty() && !values.iter().any(|v| v == value) {
                return Err(refuse(format!("{} does not count {value:?} votes", body.title)));
            }
        }
        let may = voters(&meeting, item);
        if may.is_empty() {
            return Err(refuse("record the meeting's attendance before its votes"));
        }
        if vote.secret {
            if vote.voters.iter().any(|v| !v.is_empty()) {
                return Err(refuse("a secret vote records counts, not who voted what"));
            }
        } else {
            let mut seen = BTreeSet::new();
            for id in vote.voters.iter().flatten() {
                if !may.contains(id) {
                    return Err(refuse(format!("{id:?} does not vote on this item (not present, or absent for it)")));
                }
                if !seen.insert(id) {
                    return Err(refuse(format!("{id:?} voted twice")));
                }
            }
        }
        let total = vote.yes + vote.no + vote.abstain;
        if total > may.len() as i64 {
            return Err(refuse(format!("the vote counts {total} voters but only {} may vote on this item", may.len())));
        }
        Ok(())
    })
}

/// The date a meeting's persons are looked at.
pub(crate) fn meeting_day(meeting: &ItemRow) -> NaiveDate {
    meeting_date(meeting).unwrap_or_else(Utc::now).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_named_for_the_person() {
        assert_eq!(position_label("echevin", "F", Language::Fr), "Échevine");
        assert_eq!(position_label("echevin", "M", Language::Fr), "Échevin");
        assert_eq!(position_label("directeur_general", "F", Language::Fr), "Directrice générale");
        assert_eq!(position_label("bourgmestre", "F", Language::De), "Bürgermeisterin");
        assert_eq!(position_label("conseiller", "X", Language::Nl), "Gemeenteraadslid");
    }
}
