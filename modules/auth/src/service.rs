//! Registration, login, token rotation and logout.

use std::sync::Arc;

use auth_api::{Accounts, AdminAccount, ACCOUNT_DISABLED, INVALID_CREDENTIALS, INVALID_REFRESH_TOKEN};
use jsonwebtoken::jwk::JwkSet;
use kernel::auth::{AccessChange, AccessChangeSource, KeySource, Role};
use kernel::db::{is_unique_violation, stored_id, transaction, Database, DbError};
use kernel::error::validate;
use kernel::module::JobOutcome;
use kernel::ApiError;
use users_api::{NewUser, UserDto, UsersApi, UsersError};
use uuid::Uuid;

use crate::limiter::Throttles;
use crate::passwords::PasswordHasher;
use crate::requests::{normalise_email, LoginRequest, RegisterRequest, RegisteredUser, TokenPair};
use crate::store::{self, CredentialRow, RefreshTokenRow};
use crate::tokens::{hash_refresh_token, new_refresh_token, TokenIssuer};

type Result<T> = std::result::Result<T, ApiError>;

/// A registration takes seconds; a credential this old without a profile was abandoned.
const ABANDONED_AFTER: chrono::Duration = chrono::Duration::minutes(5);

pub struct AuthService {
    db: Database,
    users: Arc<dyn UsersApi>,
    hasher: PasswordHasher,
    throttles: Throttles,
    issuer: TokenIssuer,
    trust_forwarded_for: bool,
}

fn bad_credentials() -> ApiError {
    ApiError::new(INVALID_CREDENTIALS, "the email or password is wrong")
}

fn bad_refresh_token() -> ApiError {
    ApiError::new(INVALID_REFRESH_TOKEN, "the refresh token is invalid, expired or already used")
}

impl AuthService {
    pub fn new(
        db: Database,
        users: Arc<dyn UsersApi>,
        hasher: PasswordHasher,
        throttles: Throttles,
        issuer: TokenIssuer,
        trust_forwarded_for: bool,
    ) -> Self {
        Self { db, users, hasher, throttles, issuer, trust_forwarded_for }
    }

    /// Whether the client address may be read from `X-Forwarded-For` (`auth.trust_forwarded_for`).
    pub fn trusts_forwarded_for(&self) -> bool {
        self.trust_forwarded_for
    }

    pub fn database(&self) -> &Database {
        &self.db
    }

    pub fn jwks(&self) -> JwkSet {
        self.issuer.keys.jwks.clone()
    }

    /// Registers a customer; each attempt counts against `client`'s registration limit.
    pub async fn register(&self, request: RegisterRequest, client: &str) -> Result<RegisteredUser> {
        self.throttles.registrations.admit(client).map_err(ApiError::too_many_requests)?;
        let request = RegisterRequest {
            email: normalise_email(&request.email),
            name: request.name.trim().to_owned(),
            password: request.password,
        };
        validate(&request)?;
        let user =
            self.create_account(&request.email, &request.name, request.password, Role::Customer).await?;
        Ok(RegisteredUser { id: user.id, email: user.email, name: user.name, role: user.role })
    }

    /// `shop create-admin`: creates an admin, or promotes the existing account
    /// with that email (its password is then left unchanged).
    pub async fn create_admin(&self, email: &str, password: String) -> Result<(UserDto, bool)> {
        let email = normalise_email(email);
        let probe = RegisterRequest {
            email: email.clone(),
            password: password.clone(),
            name: "Administrator".into(),
        };
        validate(&probe)?;
        let lookup = email.clone();
        let existing = self.db.query(move |c| store::find_credential_by_email(c, &lookup)).await?;
        match existing {
            Some(credential) => {
                let id = stored_id(&credential.user_id)?;
                Ok((self.users.set_role(id, Role::Admin).await?, false))
            }
            None => Ok((self.create_account(&email, "Administrator", password, Role::Admin).await?, true)),
        }
    }

    /// Credential first, then the profile; the credential is removed again if
    /// the profile cannot be made, so no half-registered account remains.
    async fn create_account(&self, email: &str, name: &str, password: String, role: Role) -> Result<UserDto> {
        let lookup = email.to_owned();
        let taken = self.db.query(move |c| store::find_credential_by_email(c, &lookup)).await?;
        if let Some(credential) = taken {
            if !self.is_abandoned(&credential).await? {
                return Err(UsersError::EmailTaken.into());
            }
            tracing::warn!(user_id = %credential.user_id, "removing the credential of a registration that never finished");
            let key = credential.user_id.clone();
            self.db.query(move |c| store::delete_credential(c, &key)).await?;
        }
        let hash = self.hasher.hash(password).await.map_err(ApiError::internal)?;
        let id = kernel::new_id();
        let now = kernel::now();
        let credential = CredentialRow {
            user_id: id.to_string(),
            email: email.to_owned(),
            password_hash: hash,
            created_at: now,
            updated_at: now,
        };
        self.db
            .run(move |c| match store::insert_credential(c, &credential) {
                Err(e) if is_unique_violation(&e) => Err(ApiError::from(UsersError::EmailTaken)),
                other => other.map_err(|e| DbError::from(e).into()),
            })
            .await?;
        let created = self
            .users
            .create_user(NewUser { id, email: email.to_owned(), name: name.to_owned(), role })
            .await;
        match created {
            Ok(user) => Ok(user),
            Err(e) => {
                let key = id.to_string();
                if let Err(undo) = self.db.query(move |c| store::delete_credential(c, &key)).await {
                    tracing::error!(user_id = %id, error = %undo, "could not remove the credential of a failed registration");
                }
                Err(e.into())
            }
        }
    }

    /// A credential whose profile was never created: the registration crashed
    /// between its two writes. Only old ones count, so a registration still in
    /// flight is never taken for abandoned.
    async fn is_abandoned(&self, credential: &CredentialRow) -> Result<bool> {
        if credential.created_at > kernel::now() - ABANDONED_AFTER {
            return Ok(false);
        }
        match self.users.get_user(stored_id(&credential.user_id)?).await {
            Ok(_) => Ok(false),
            Err(UsersError::NotFound) => Ok(true),
            Err(e) => Err(e.into()),
        }
    }

    pub async fn login(&self, request: LoginRequest, client: &str) -> Result<TokenPair> {
        let email = normalise_email(&request.email);
        self.throttles.logins.check(&email, client).map_err(ApiError::too_many_requests)?;
        let lookup = email.clone();
        let credential = self.db.query(move |c| store::find_credential_by_email(c, &lookup)).await?;
        let user_id = credential.as_ref().map(|c| c.user_id.clone());
        let matches = self
            .hasher
            .verify(request.password, credential.map(|c| c.password_hash))
            .await
            .map_err(ApiError::internal)?;
        let user_id = match (matches, user_id) {
            (true, Some(id)) => stored_id(&id)?,
            _ => {
                self.throttles.logins.record_failure(&email, client);
                return Err(bad_credentials());
            }
        };
        let user = match self.users.get_user(user_id).await {
            Ok(user) => user,
            Err(UsersError::NotFound) => return Err(bad_credentials()),
            Err(e) => return Err(e.into()),
        };
        if user.disabled {
            return Err(ApiError::new(ACCOUNT_DISABLED, "this account is disabled"));
        }
        self.throttles.logins.record_success(&email, client);
        let family = kernel::new_id();
        self.issue_pair(user_id, user.role, family, None).await
    }

    /// Rotates a refresh token. A token that was already spent is a sign of
    /// theft: its whole family is revoked.
    pub async fn refresh(&self, token: &str) -> Result<TokenPair> {
        let hash = hash_refresh_token(token);
        let row = self
            .db
            .query(move |c| store::find_refresh_token(c, &hash))
            .await?
            .ok_or_else(bad_refresh_token)?;
        if row.used_at.is_some() || row.revoked_at.is_some() {
            if row.revoked_at.is_none() {
                tracing::warn!(family = %row.family_id, "a spent refresh token was reused; revoking its family");
            }
            self.revoke_family(&row.family_id).await?;
            return Err(bad_refresh_token());
        }
        if row.expires_at <= kernel::now() {
            return Err(bad_refresh_token());
        }
        let user_id = stored_id(&row.user_id)?;
        let user = match self.users.get_user(user_id).await {
            Ok(user) if !user.disabled => user,
            Ok(_) | Err(UsersError::NotFound) => {
                self.revoke_family(&row.family_id).await?;
                return Err(bad_refresh_token());
            }
            Err(e) => return Err(e.into()),
        };
        let family = stored_id(&row.family_id)?;
        self.issue_pair(user_id, user.role, family, Some(row.id)).await
    }

    /// Revokes the family of `token`; unknown tokens are fine (204 either way).
    pub async fn logout(&self, token: &str) -> Result<()> {
        let hash = hash_refresh_token(token);
        let row = self.db.query(move |c| store::find_refresh_token(c, &hash)).await?;
        if let Some(row) = row {
            self.revoke_family(&row.family_id).await?;
        }
        Ok(())
    }

    /// Deletes refresh tokens that expired over a day ago (background job).
    pub async fn purge_expired_tokens(&self) -> Result<JobOutcome> {
        let before = kernel::now() - chrono::Duration::days(1);
        let handled = self.db.query(move |c| store::delete_expired_tokens(c, before)).await?;
        Ok(JobOutcome { handled, failed: 0 })
    }

    async fn revoke_family(&self, family: &str) -> Result<()> {
        let family = family.to_owned();
        self.db.query(move |c| store::revoke_family(c, &family, kernel::now())).await?;
        Ok(())
    }

    /// Stores a new refresh token (spending `previous` in the same transaction)
    /// and signs an access token.
    async fn issue_pair(
        &self,
        user: Uuid,
        role: Role,
        family: Uuid,
        previous: Option<String>,
    ) -> Result<TokenPair> {
        let refresh_token =
            new_refresh_token().map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
        let now = kernel::now();
        let ttl = chrono::Duration::from_std(self.issuer.refresh_ttl).map_err(ApiError::internal)?;
        let row = RefreshTokenRow {
            id: kernel::new_id().to_string(),
            family_id: family.to_string(),
            user_id: user.to_string(),
            token_hash: hash_refresh_token(&refresh_token),
            expires_at: now + ttl,
            created_at: now,
            used_at: None,
            revoked_at: None,
        };
        let family_id = row.family_id.clone();
        let spent = self
            .db
            .run(move |c| {
                transaction(c, |c| {
                    if let Some(previous) = &previous {
                        if store::spend_refresh_token(c, previous, now)? == 0 {
                            return Ok(false);
                        }
                    }
                    store::insert_refresh_token(c, &row).map(|()| true)
                })
                .map_err(DbError::from)
            })
            .await?;
        if !spent {
            // Spent concurrently by another request: treat it as reuse.
            self.revoke_family(&family_id).await?;
            return Err(bad_refresh_token());
        }
        let access_token = self.issuer.access_token(user, role).map_err(ApiError::internal)?;
        Ok(TokenPair {
            access_token,
            refresh_token,
            token_type: "Bearer".into(),
            expires_in: self.issuer.access_ttl.as_secs(),
        })
    }
}

#[async_trait::async_trait]
impl Accounts for AuthService {
    async fn create_admin(&self, email: &str, password: String) -> Result<AdminAccount> {
        let (user, created) = AuthService::create_admin(self, email, password).await?;
        Ok(AdminAccount { id: user.id, email: user.email, created })
    }
}

#[async_trait::async_trait]
impl KeySource for AuthService {
    async fn fetch_keys(&self) -> std::result::Result<JwkSet, String> {
        Ok(self.jwks())
    }
}

/// Auth relays the users module's access changes to every token verifier,
/// since every process already reaches auth for its keys.
#[async_trait::async_trait]
impl AccessChangeSource for AuthService {
    async fn access_changes(&self, since: i64) -> std::result::Result<Vec<AccessChange>, String> {
        self.users.access_changes(since).await.map_err(|e| format!("cannot read access changes: {e}"))
    }
}
