//! Users: creation with an argon2id password hash. (Login, sessions, groups and local
//! roles come with the identity-and-access work.)

use argon2::{Argon2, PasswordHasher};
use beffroi_model::Login;
use beffroi_model::security::{Permission, Principal, Role};
use beffroi_store::{SiteRow, UserRow};

use crate::{Result, ServiceError, Services};

/// A password is never logged nor shown by Debug.
#[derive(Clone)]
pub struct Secret(pub String);

/// From a command line or the environment (a key, a token).
impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_owned()))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

#[derive(Debug)]
pub struct NewUser {
    pub login: Login,
    pub password: Secret,
    pub fullname: String,
    pub email: String,
    pub roles: Vec<Role>,
}

pub const MIN_PASSWORD_LEN: usize = 8;

/// Hashes a password with argon2id on a blocking thread, never on the async runtime.
pub async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ServiceError::BadRequest(format!("password cannot be hashed: {e}")))
    })
    .await
    .map_err(|_| ServiceError::BadRequest("password hashing was interrupted".into()))?
}

impl Services {
    /// Creates a user on `site`. The system and the site's managers may.
    pub async fn create_user(&self, actor: &Principal, site: &SiteRow, new: NewUser) -> Result<()> {
        self.require_on_site(actor, site, Permission::ManagePortal).await?;
        if new.password.0.chars().count() < MIN_PASSWORD_LEN {
            return Err(ServiceError::BadRequest(format!("a password has at least {MIN_PASSWORD_LEN} characters")));
        }
        if let Some(r) = new.roles.iter().find(|r| !r.is_grantable()) {
            return Err(ServiceError::BadRequest(format!("{r} cannot be granted as a global role")));
        }
        crate::access::require_manager_to_grant(actor, &new.roles)?;
        let password_hash = hash_password(new.password.0).await?;
        let mut roles = new.roles;
        roles.sort();
        roles.dedup();
        let row = UserRow {
            login: new.login.to_string(),
            fullname: new.fullname,
            email: new.email,
            password_hash,
            enabled: true,
            created: beffroi_store::now(),
            roles,
            token_gen: 0,
            kept_jti: None,
        };
        let mut tx = self.store.begin().await?;
        let detail = serde_json::json!({"roles": row.roles.iter().map(|r| r.name()).collect::<Vec<_>>()});
        tx.db()
            .audit(&site.scope(), &crate::sessions::audit_row(actor.id(), "user.create", &row.login, "", detail))
            .await?;
        tx.db().insert_user(&site.scope(), &row).await.map_err(|e| match e {
            beffroi_store::StoreError::Conflict(_) => {
                ServiceError::Conflict(format!("user {} already exists on site {}", row.login, site.id))
            }
            other => other.into(),
        })?;
        tx.commit().await?;
        tracing::info!(site.id = %site.id, user.id = %row.login, "user created");
        Ok(())
    }

    /// A user of the site, if any (for checks; the hash stays inside).
    pub async fn user(&self, site: &SiteRow, login: &str) -> Result<Option<UserRow>> {
        let mut c = self.store.conn().await?;
        Ok(c.db().user(&site.scope(), login).await?)
    }
}

#[cfg(test)]
mod tests {
    use argon2::{Argon2, PasswordVerifier};

    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = super::hash_password("correct horse".into()).await.unwrap();
        let b = super::hash_password("correct horse".into()).await.unwrap();
        assert_ne!(a, b, "salted");
        assert!(a.starts_with("$argon2id$"));
        assert!(Argon2::default().verify_password(b"correct horse", a.as_str()).is_ok());
        assert!(Argon2::default().verify_password(b"wrong", a.as_str()).is_err());
    }
}
