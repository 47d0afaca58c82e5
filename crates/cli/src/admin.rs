//! `beffroi site …` and `beffroi user …`: operator commands on the same actions as the
//! web, acting as the system.

use std::io::BufRead;

use anyhow::{Context, Result, anyhow, bail};
use beffroi_model::security::{Principal, Role};
use beffroi_model::{Language, Login, SiteId};
use beffroi_service::{NewSite, NewUser, Secret};

use crate::cli::{SiteArgs, SiteCommand, UserArgs, UserCommand};
use crate::serve::{open, runtime};

pub fn site(args: SiteArgs) -> Result<()> {
    runtime()?.block_on(async move {
        let services = open(&args.db, 2).await?;
        match args.command {
            SiteCommand::Create { id, title, language, hosts } => {
                let id = SiteId::parse(&id).map_err(|e| anyhow!("invalid site id: {e}"))?;
                let language = Language::parse(&language)?;
                let site = services
                    .create_site(&Principal::System, NewSite { id, title, language, hosts })
                    .await
                    .context("cannot create the site")?;
                println!("site {} created", site.id);
            }
            SiteCommand::List => {
                for s in services.list_sites().await? {
                    let hosts = if s.hosts.is_empty() { String::new() } else { format!("\t{}", s.hosts.join(" ")) };
                    println!("{}\t{}\t{}{hosts}", s.id, s.language, s.title);
                }
            }
        }
        services.store().close().await;
        Ok(())
    })
}

pub fn user(args: UserArgs) -> Result<()> {
    runtime()?.block_on(async move {
        match args.command {
            UserCommand::Create { site, login, roles, password_stdin, fullname, email } => {
                let login = Login::parse(&login).map_err(|e| anyhow!("invalid login: {e}"))?;
                let roles = roles.iter().map(|r| Role::parse(r)).collect::<Result<Vec<_>, _>>()?;
                let site_id = SiteId::parse(&site).map_err(|e| anyhow!("invalid site id: {e}"))?;
                if !password_stdin {
                    bail!("--password-stdin is required");
                }
                let mut password = String::new();
                std::io::stdin().lock().read_line(&mut password).context("cannot read the password")?;
                let password = password.trim_end_matches(['\n', '\r']).to_owned();
                let services = open(&args.db, 2).await?;
                let site = services.site(&site_id).await?.ok_or_else(|| anyhow!("no site {site_id}"))?;
                services
                    .create_user(
                        &Principal::System,
                        &site,
                        NewUser { login: login.clone(), password: Secret(password), fullname, email, roles },
                    )
                    .await
                    .context("cannot create the user")?;
                println!("user {login} created on site {site_id}");
                services.store().close().await;
            }
        }
        Ok(())
    })
}
