//! Meetings in a real browser (headless Chromium through ChromeDriver), on the demo's
//! college: an agent writes an item and proposes it, the head of service and the
//! director general validate it, the secretary presents it from the meeting's page,
//! freezes the meeting, records attendance, the vote and the decision, and closes the
//! meeting; the item's page then reads as the minutes do. An anonymous visitor sees
//! nothing of it, and an observer reads it without being offered any change, nor a
//! secret item.

use fantoccini::{Client, Locator};
use serde_json::json;

use crate::browser::{browser, click, eventually, fill, wait_for};
use crate::support::{TestDb, obj};

const PASSWORD: &str = "mot de passe de la démo";

async fn log_in(c: &Client, base: &str, login: &str) {
    crate::browser::log_in(c, base, login, PASSWORD).await;
}

/// Chooses `value` in the form's list `css`.
async fn choose(c: &Client, css: &str, value: &str) {
    let list = c.find(Locator::Css(css)).await.unwrap_or_else(|e| panic!("{css}: {e}"));
    list.select_by_value(value).await.unwrap_or_else(|e| panic!("{value} is not offered in {css}: {e}"));
}

/// Ticks the boxes of `values` among those of field `name`.
async fn tick(c: &Client, name: &str, values: &[&str]) {
    for v in values {
        click(c, &format!("input[type=checkbox][name={name}][value={v}]")).await;
    }
}

/// Takes `transition` from the item's state menu.
async fn take(c: &Client, transition: &str) {
    let menu = c.find(Locator::Css("select#transition")).await.unwrap();
    menu.select_by_value(transition).await.unwrap_or_else(|e| panic!("{transition} is not offered: {e}"));
    click(c, "form.workflow button[type=submit]").await;
    // The page the form leads to says the state changed and no longer offers it (a
    // page still loading is blank: it would pass without the message, and the next
    // `goto` would cancel the form's request).
    let option = format!("<option value=\"{transition}\"");
    let option = &option;
    eventually(c, &format!("{transition} is taken"), |c| async move {
        c.source().await.is_ok_and(|s| {
            s.contains("</html>") && s.contains("class=\"status\" role=\"status\"") && !s.contains(option.as_str())
        })
    })
    .await;
}

/// Waits for `css`, showing the page's errors when it does not come.
async fn arrive(c: &Client, css: &str) {
    let found = c.wait().at_most(std::time::Duration::from_secs(10)).for_element(Locator::Css(css)).await;
    if found.is_err() {
        let s = page(c).await;
        let errors: Vec<&str> = s.lines().filter(|l| l.contains("error") || l.contains("role=\"alert\"")).collect();
        panic!("{css} did not come at {}: {}", c.current_url().await.unwrap(), errors.join("\n"));
    }
}

async fn page(c: &Client) -> String {
    c.source().await.unwrap()
}

async fn run(db: TestDb) {
    let Some((_driver, c)) = browser().await else {
        db.cleanup().await;
        return;
    };
    let services = beffroi_web::assemble(db.services.clone(), &[beffroi_meetings::MEETINGS]).unwrap();
    services.migrate_apps().await.unwrap();
    assert!(beffroi_cms::demo::seed(&services, PASSWORD).await.unwrap());
    assert!(beffroi_meetings::demo::seed(&services, "demo", PASSWORD).await.unwrap());
    let site = services.site(&beffroi_model::SiteId::parse("demo").unwrap()).await.unwrap().unwrap();
    let secretaire = services.principal(&site, "secretaire").await.unwrap().unwrap();
    let agent = services.principal(&site, "agent").await.unwrap().unwrap();
    let college = crate::support::path("/college");
    // A meeting held two hours ago, so that its decisions may be recorded now.
    let morning = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let values = obj(json!({"title": "Séance de ce matin", "date": morning, "place": "Salle du collège"}));
    services.create(&secretaire, &site, &college, "Meeting", Some("ce-matin"), &values).await.unwrap();
    let secret = obj(json!({"title": "Nomination d'un agent", "proposing_group": "travaux", "privacy": "secret"}));
    services.create(&agent, &site, &college, "Meeting Item", Some("nomination"), &secret).await.unwrap();
    let apps = [beffroi_cms::CMS, beffroi_meetings::MEETINGS];
    let (root, server) = crate::browser::serve(&services, &apps).await;
    let base = format!("{root}/demo");

    // The agent writes the item for this morning's meeting and proposes it.
    log_in(&c, &base, "agent").await;
    c.goto(&format!("{base}/college/@@add?type=Meeting%20Item")).await.unwrap();
    fill(&c, "#field-title", "Convention de déneigement").await;
    choose(&c, "#field-proposing_group", "travaux").await;
    choose(&c, "#field-category", "Travaux publics").await;
    choose(&c, "#field-preferred_meeting", "ce-matin").await;
    click(&c, "form.edit button[type=submit]").await;
    arrive(&c, "article.item-meeting-item").await;
    let item = c.current_url().await.unwrap().to_string();
    assert!(item.ends_with("/college/convention-de-deneigement"), "{item}");
    take(&c, "propose").await;
    let proposed = page(&c).await;
    assert!(
        proposed.contains("Convention de déneigement") && !proposed.contains("id=\"transition\""),
        "the agent reads it and has nothing more to do: {proposed}"
    );

    // Its head sends it to the director general, who validates it.
    log_in(&c, &base, "chef").await;
    c.goto(&item).await.unwrap();
    take(&c, "proposeToValidationLevel1").await;
    log_in(&c, &base, "dg").await;
    c.goto(&format!("{base}/college")).await.unwrap();
    let list = page(&c).await;
    assert!(list.contains("Convention de déneigement"), "on the director's list to validate: {list}");
    c.goto(&item).await.unwrap();
    take(&c, "validate").await;

    // The secretary presents it from the meeting's page and freezes the meeting.
    log_in(&c, &base, "secretaire").await;
    c.goto(&format!("{base}/college/ce-matin")).await.unwrap();
    let present = "//section[contains(@class, 'to-present')]//button[contains(., 'Convention de déneigement')]";
    c.find(Locator::XPath(present)).await.unwrap().click().await.unwrap();
    eventually(&c, "the item is on the agenda", |c| async move {
        let s = c.source().await.unwrap_or_default();
        s.split("id=\"agenda-title\"").nth(1).is_some_and(|agenda| {
            agenda.split("</section>").next().unwrap_or_default().contains("Convention de déneigement")
        })
    })
    .await;
    take(&c, "freeze").await;
    c.goto(&item).await.unwrap();
    assert!(page(&c).await.contains("<strong>Figé</strong>"), "the item froze with its meeting");

    // Attendance, then the vote and the decision on the item's form.
    c.goto(&format!("{base}/college/ce-matin/@@edit")).await.unwrap();
    tick(&c, "attendees", &["marc-dupont", "emilie-lambert", "jean-collard"]).await;
    tick(&c, "signatories", &["marc-dupont"]).await;
    click(&c, "form.edit button[type=submit]").await;
    arrive(&c, "section.attendance").await;
    assert!(page(&c).await.contains("Jean Collard (Échevin)"));
    c.goto(&format!("{item}/@@edit")).await.unwrap();
    tick(&c, "votes_yes", &["marc-dupont", "emilie-lambert"]).await;
    tick(&c, "votes_no", &["jean-collard"]).await;
    wait_for(&c, ".ql-editor").await;
    let editors = c.find_all(Locator::Css(".ql-editor")).await.unwrap();
    let decision = editors.last().unwrap();
    decision.click().await.unwrap();
    decision.send_keys("Le collège approuve la convention.").await.unwrap();
    click(&c, "form.edit button[type=submit]").await;
    arrive(&c, "article.item-meeting-item").await;
    assert!(page(&c).await.contains("par 2 voix pour, 1 contre et aucune abstention"));

    // Decided and closed: the item is accepted.
    c.goto(&format!("{base}/college/ce-matin")).await.unwrap();
    take(&c, "decide").await;
    take(&c, "close").await;
    let closed = page(&c).await;
    assert!(
        closed.contains("<strong>Clôturée</strong>"),
        "{}",
        closed.lines().filter(|l| l.contains("<p>")).collect::<Vec<_>>().join("\n")
    );
    c.goto(&item).await.unwrap();
    arrive(&c, "article.item-meeting-item").await;
    let minutes = page(&c).await;
    assert!(
        minutes.contains("<strong>Accepté</strong>") && minutes.contains("Le collège approuve la convention."),
        "{minutes}"
    );

    // A visitor sees none of it; an observer reads it, is offered no change, and does
    // not find the secret item.
    c.delete_all_cookies().await.unwrap();
    c.goto(&item).await.unwrap();
    assert!(!page(&c).await.contains("Convention de déneigement"), "visitors do not read the college's items");
    log_in(&c, &base, "echevin").await;
    c.goto(&item).await.unwrap();
    let seen = page(&c).await;
    assert!(
        seen.contains("Convention de déneigement")
            && !seen.contains("@@edit")
            && !seen.contains("select id=\"transition\""),
        "{seen}"
    );
    c.goto(&format!("{base}/@@search?SearchableText=nomination")).await.unwrap();
    assert!(!page(&c).await.contains("Nomination d"), "the secret item stays hidden from observers");
    c.goto(&format!("{base}/college/nomination")).await.unwrap();
    assert!(!page(&c).await.contains("Nomination d"), "and cannot be opened by its address");

    c.close().await.unwrap();
    server.abort();
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_item_goes_from_its_agent_to_the_minutes_in_a_browser() {
    run(TestDb::sqlite().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meeting_item_goes_from_its_agent_to_the_minutes_in_a_browser_on_postgresql() {
    if let Some(db) = TestDb::postgres().await {
        run(db).await;
    }
}
