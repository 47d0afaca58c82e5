//! `beffroi site …` and `beffroi user …`: operator commands on the same actions as the
//! web, acting as the system.

use std::io::BufRead;

use anyhow::{Context, Result, anyhow, bail};
use beffroi_model::security::{Principal, Role};
use beffroi_model::{Language, Login, SiteId};
use beffroi_service::{NewSite, NewUser, Secret};

use crate::cli::{
    GroupArgs, GroupCommand, OperatorArgs, OperatorCommand, ReindexArgs, SiteArgs, SiteCommand, UserArgs, UserCommand,
    WorkflowArgs, WorkflowCommand,
};
use crate::serve::{open, runtime};

pub fn site(args: SiteArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let services = open(&args.db, 2).await?;
        match args.command {
            SiteCommand::Create { id, title, language, hosts, time_zone } => {
                let id = SiteId::parse(&id).map_err(|e| anyhow!("invalid site id: {e}"))?;
                let language = Language::parse(&language)?;
                let site = services
                    .create_site(&Principal::System, NewSite { id, title, language, hosts, time_zone })
                    .await
                    .context("cannot create the site")?;
                println!("site {} created", site.id);
            }
            SiteCommand::TimeZone { site, zone } => {
                let id = SiteId::parse(&site).map_err(|e| anyhow!("invalid site id: {e}"))?;
                let site = services.site(&id).await?.ok_or_else(|| anyhow!("no site {id}"))?;
                services.set_time_zone(&Principal::System, &site, zone).await.context("cannot set the time zone")?;
                println!("site {} shows date-times in {zone}", site.id);
            }
            SiteCommand::Languages { site, languages, folder_type } => {
                let id = SiteId::parse(&site).map_err(|e| anyhow!("invalid site id: {e}"))?;
                let site = services.site(&id).await?.ok_or_else(|| anyhow!("no site {id}"))?;
                let langs = languages
                    .iter()
                    .map(|l| beffroi_model::Language::parse(l).map_err(|e| anyhow!("{l:?}: {e}")))
                    .collect::<Result<Vec<_>>>()?;
                let site = services
                    .set_languages(&Principal::System, &site, &langs, &folder_type)
                    .await
                    .context("cannot set the site's languages")?;
                let codes: Vec<&str> = site.languages.iter().map(|l| l.code()).collect();
                println!("site {} publishes in {}", site.id, codes.join(", "));
            }
            SiteCommand::Types { site, type_name, allow, allow_any, global_allow, reset } => {
                let id = SiteId::parse(&site).map_err(|e| anyhow!("invalid site id: {e}"))?;
                let site = services.site(&id).await?.ok_or_else(|| anyhow!("no site {id}"))?;
                if let Some(t) = type_name {
                    let rule = if reset {
                        beffroi_model::schema::TypeRule::default()
                    } else {
                        let mut rule = services.type_rules(&site).await?.by_type.get(&t).cloned().unwrap_or_default();
                        if allow_any {
                            rule.allowed_types = Some(None);
                        } else if let Some(list) = allow {
                            let types =
                                list.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
                            rule.allowed_types = Some(Some(types));
                        }
                        if global_allow.is_some() {
                            rule.global_allow = global_allow;
                        }
                        rule
                    };
                    services.set_type_rule(&Principal::System, &site, &t, rule).await.context("cannot set the rule")?;
                }
                let rules = services.type_rules(&site).await?;
                println!("{}", serde_json::to_string_pretty(&*rules)?);
            }
            SiteCommand::List => {
                for s in services.list_sites().await? {
                    let langs: Vec<&str> = s.languages.iter().map(|l| l.code()).collect();
                    let mut line = format!("{}\t{}\t{}", s.id, langs.join(","), s.title);
                    if !s.hosts.is_empty() {
                        line.push_str(&format!("\t{}", s.hosts.join(" ")));
                    }
                    // The applications it has, last (none when the server has none).
                    let apps = services.site_apps(&s);
                    if !apps.is_empty() {
                        let on: Vec<&str> = apps.into_iter().filter(|(_, on)| *on).map(|(n, _)| n).collect();
                        line.push_str(&format!("\tapps: {}", on.join(",")));
                    }
                    println!("{line}");
                }
            }
            SiteCommand::Apps { site, enable, disable } => {
                let id = SiteId::parse(&site).map_err(|e| anyhow!("invalid site id: {e}"))?;
                let mut site = services.site(&id).await?.ok_or_else(|| anyhow!("no site {id}"))?;
                if !enable.is_empty() || !disable.is_empty() {
                    services
                        .set_site_apps(&Principal::System, &site, &enable, &disable)
                        .await
                        .context("cannot change the site's applications")?;
                    site = services.site(&id).await?.ok_or_else(|| anyhow!("no site {id}"))?;
                }
                for (name, on) in services.site_apps(&site) {
                    println!("{name}\t{}", if on { "enabled" } else { "disabled" });
                }
            }
        }
        services.close().await;
        Ok(())
    })
}

/// `beffroi reindex [--site ID]`: rebuilds the catalog with a progress bar.
pub fn reindex(args: ReindexArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let services = open(&args.db, 4).await?;
        let site = match &args.site {
            Some(id) => {
                let id = SiteId::parse(id).map_err(|e| anyhow!("invalid site id: {e}"))?;
                Some(services.site(&id).await?.ok_or_else(|| anyhow!("no site {id}"))?)
            }
            None => None,
        };
        let bar = indicatif::ProgressBar::new(0).with_style(
            indicatif::ProgressStyle::with_template("{bar:40} {pos}/{len} items, {per_sec}, {eta} left")
                .expect("valid template"),
        );
        let started = std::time::Instant::now();
        let n = services
            .reindex(site.as_deref(), |done, total| {
                bar.set_length(total);
                bar.set_position(done);
            })
            .await
            .context("cannot reindex")?;
        bar.finish_and_clear();
        let secs = started.elapsed().as_secs_f64();
        println!("{n} items reindexed in {secs:.1} s ({:.0} items/s)", n as f64 / secs.max(1e-9));
        services.close().await;
        Ok(())
    })
}

fn read_password() -> Result<String> {
    let mut password = String::new();
    std::io::stdin().lock().read_line(&mut password).context("cannot read the password")?;
    Ok(password.trim_end_matches(['\n', '\r']).to_owned())
}

async fn site_of(services: &beffroi_service::Services, site: &str) -> Result<std::sync::Arc<beffroi_service::SiteRow>> {
    let id = SiteId::parse(site).map_err(|e| anyhow!("invalid site id: {e}"))?;
    services.site(&id).await?.ok_or_else(|| anyhow!("no site {id}"))
}

pub fn user(args: UserArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let system = Principal::System;
        let enable = matches!(args.command, UserCommand::Enable { .. });
        match args.command {
            UserCommand::Create { site, login, roles, password_stdin, fullname, email } => {
                let login = Login::parse(&login).map_err(|e| anyhow!("invalid login: {e}"))?;
                let roles = roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>()?;
                SiteId::parse(&site).map_err(|e| anyhow!("invalid site id: {e}"))?;
                if !password_stdin {
                    bail!("--password-stdin is required");
                }
                let password = read_password()?;
                let services = open(&args.db, 2).await?;
                let site = site_of(&services, &site).await?;
                services
                    .create_user(
                        &system,
                        &site,
                        NewUser { login: login.clone(), password: Secret(password), fullname, email, roles },
                    )
                    .await
                    .context("cannot create the user")?;
                println!("user {login} created on site {}", site.id);
                services.close().await;
            }
            UserCommand::Passwd { site, login, password_stdin } => {
                if !password_stdin {
                    bail!("--password-stdin is required");
                }
                let password = read_password()?;
                let services = open(&args.db, 2).await?;
                let site = site_of(&services, &site).await?;
                services.set_password(&system, &site, &login, &password).await.context("cannot change the password")?;
                println!("password of {login} changed");
                services.close().await;
            }
            UserCommand::List { site } => {
                let services = open(&args.db, 2).await?;
                let site = site_of(&services, &site).await?;
                for u in services.list_users(&system, &site).await? {
                    let roles: Vec<&str> = u.roles.iter().map(|r| r.name()).collect();
                    let state = if u.enabled { "enabled" } else { "disabled" };
                    println!("{}\t{state}\t{}\t{}", u.login, roles.join(","), u.fullname);
                }
                services.close().await;
            }
            UserCommand::Disable { site, login } | UserCommand::Enable { site, login } => {
                let services = open(&args.db, 2).await?;
                let site = site_of(&services, &site).await?;
                services
                    .set_enabled(&system, &site, &login, enable)
                    .await
                    .with_context(|| format!("cannot change user {login}"))?;
                println!("user {login} {}", if enable { "enabled" } else { "disabled" });
                services.close().await;
            }
        }
        Ok(())
    })
}

pub fn group(args: GroupArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let system = Principal::System;
        let services = open(&args.db, 2).await?;
        match args.command {
            GroupCommand::Create { site, id, title, roles } => {
                let roles = roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>()?;
                let site = site_of(&services, &site).await?;
                services.create_group(&system, &site, &id, &title, roles).await.context("cannot create the group")?;
                println!("group {id} created on site {}", site.id);
            }
            GroupCommand::AddMember { site, group, login } => {
                let site = site_of(&services, &site).await?;
                services.add_member(&system, &site, &group, &login).await.context("cannot add the member")?;
                println!("{login} added to {group}");
            }
            GroupCommand::List { site } => {
                let site = site_of(&services, &site).await?;
                for g in services.list_groups(&system, &site).await? {
                    let roles: Vec<&str> = g.roles.iter().map(|r| r.name()).collect();
                    println!("{}\t{}\t{}\t{}", g.id, roles.join(","), g.members.join(","), g.title);
                }
            }
        }
        services.close().await;
        Ok(())
    })
}

pub fn operator(args: OperatorArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let system = Principal::System;
        let enable = matches!(args.command, OperatorCommand::Enable { .. });
        match args.command {
            OperatorCommand::Create { login, password_stdin, fullname } => {
                let login = Login::parse(&login).map_err(|e| anyhow!("invalid login: {e}"))?;
                if !password_stdin {
                    bail!("--password-stdin is required");
                }
                let password = read_password()?;
                let services = open(&args.db, 2).await?;
                services
                    .create_operator(&system, &login, &password, &fullname)
                    .await
                    .context("cannot create the operator")?;
                println!("operator {login} created");
                services.close().await;
            }
            OperatorCommand::List => {
                let services = open(&args.db, 2).await?;
                for o in services.list_operators(&system).await? {
                    let state = if o.enabled { "enabled" } else { "disabled" };
                    println!("{}\t{state}\t{}", o.login, o.fullname);
                }
                services.close().await;
            }
            OperatorCommand::Disable { login } | OperatorCommand::Enable { login } => {
                let services = open(&args.db, 2).await?;
                services
                    .set_operator_enabled(&system, &login, enable)
                    .await
                    .with_context(|| format!("cannot change operator {login}"))?;
                println!("operator {login} {}", if enable { "enabled" } else { "disabled" });
                services.close().await;
            }
        }
        Ok(())
    })
}

pub fn workflow(args: WorkflowArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let system = Principal::System;
        let services = open(&args.db, 2).await?;
        match args.command {
            WorkflowCommand::List { site } => {
                let site = site_of(&services, &site).await?;
                let reg = services.workflows(&site).await?;
                for wf in reg.all() {
                    let states: Vec<&str> = wf.states.iter().map(|s| s.id.as_str()).collect();
                    println!("workflow\t{}\t{}", wf.id, states.join(","));
                }
                for (t, w) in reg.chains() {
                    println!("chain\t{t}\t{}", w.as_deref().unwrap_or("none"));
                }
            }
            WorkflowCommand::Set { site, file } => {
                let json = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
                let site = site_of(&services, &site).await?;
                let id = services
                    .set_site_workflow(&system, &site, &json)
                    .await
                    .with_context(|| format!("{} is not a usable workflow", file.display()))?;
                println!("workflow {id} set on site {}", site.id);
            }
            WorkflowCommand::Chain { site, type_name, workflow, maps } => {
                let mut map = std::collections::BTreeMap::new();
                for m in &maps {
                    let (old, new) = m.split_once('=').ok_or_else(|| anyhow!("--map takes OLD=NEW, not {m:?}"))?;
                    map.insert(old.to_owned(), new.to_owned());
                }
                let site = site_of(&services, &site).await?;
                let wf = (workflow != "none").then_some(workflow.as_str());
                let moved = services
                    .set_chain(&system, &site, &type_name, wf, &map)
                    .await
                    .context("cannot change the chain")?;
                println!("{type_name} follows {workflow} on site {}; {moved} items changed state", site.id);
            }
        }
        services.close().await;
        Ok(())
    })
}
