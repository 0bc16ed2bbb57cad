//! Accounts and roles for the API: users (admin, operator, partner scoped to one submitting
//! unit), argon2id password hashes, API tokens for automation (shown once, stored as SHA-256),
//! login, and the role rules ([`Role::can`]).
//!
//! Owns the `users` and `api_tokens` tables and the question "who is this and what may they
//! do". Does not own HTTP (the `Authenticated` extractor and the route guard are in
//! `web::auth`) nor sessions for the dashboard (they come with it). Never logs or returns a
//! password, a hash or a whole token.

pub mod cli;
pub mod lockout;
pub mod secret;
pub mod session;

use crate::store::{Error, Result, Store, now_ms};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What a user is allowed to be.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including accounts.
    Admin,
    /// Runs the channel: catalog, rundown, on-air edits; not accounts.
    Operator,
    /// A submitting unit (报送单位): reads its own works and airings; changes nothing but its
    /// own unit's relay channels and figures (数据反馈).
    Partner,
}

impl Role {
    /// The name stored in the database and shown in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Operator => "operator",
            Self::Partner => "partner",
        }
    }

    /// Whether this role may do `action` at all (a partner's reads are further scoped to
    /// its unit by the caller, see [`Principal::unit_scope`]).
    pub fn can(self, action: Action) -> bool {
        match self {
            Self::Admin => true,
            Self::Operator => action != Action::ManageUsers,
            Self::Partner => matches!(
                action,
                Action::ReadOwnWorks
                    | Action::ReadAsRun
                    | Action::ReadCertificates
                    | Action::ReadFeedback
                    | Action::WriteFeedback
            ),
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim() {
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "partner" => Ok(Self::Partner),
            other => Err(Error::invalid(
                "role",
                format!("不认识的角色「{other}」（可选 admin、operator、partner）"),
            )),
        }
    }
}

/// Something a caller may want to do; checked with [`Role::can`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the whole catalog (units, files, reviews, leads, imports' results).
    ReadCatalog,
    /// Read works of one's own unit (the partner's view of the catalog).
    ReadOwnWorks,
    /// Create or change anything in the catalog.
    WriteCatalog,
    /// Read rundown days, versions and exports.
    ReadRundown,
    /// Build, lock, restore or edit rundown days; edits on air.
    EditRundown,
    /// Read the as-run log (scoped to the unit for a partner).
    ReadAsRun,
    /// Read certificates (活动参与证明; scoped to the unit for a partner).
    ReadCertificates,
    /// Read relay channels, figures and their attribution (数据反馈; scoped to the unit
    /// for a partner).
    ReadFeedback,
    /// Register relay channels and send figures (a partner: its own unit's only, checked
    /// by the handlers).
    WriteFeedback,
    /// Create users and tokens.
    ManageUsers,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Principal {
    /// User id.
    pub user_id: i64,
    /// Login name.
    pub username: String,
    /// Role.
    pub role: Role,
    /// The unit a partner is scoped to (None for admin/operator).
    pub unit_id: Option<i64>,
}

impl Principal {
    /// `Some(unit)` when this caller may only see one unit's data.
    pub fn unit_scope(&self) -> Option<i64> {
        match self.role {
            Role::Partner => self.unit_id,
            Role::Admin | Role::Operator => None,
        }
    }

    /// Whether this caller may see data belonging to `unit_id` (None: data of no unit,
    /// which a partner may not see).
    pub fn may_see_unit(&self, unit_id: Option<i64>) -> bool {
        match self.unit_scope() {
            None => true,
            Some(own) => unit_id == Some(own),
        }
    }
}

/// A new user to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// Login name: 1–64 characters, no spaces or control characters.
    pub username: String,
    /// Role.
    pub role: Role,
    /// The partner's unit (required for partners, refused for others).
    #[serde(default)]
    pub unit_id: Option<i64>,
    /// Password: at least [`MIN_PASSWORD_CHARS`] characters.
    #[schema(format = Password)]
    pub password: String,
}

impl fmt::Display for NewUser {
    /// Never shows the password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.username, self.role)
    }
}

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted (argon2 cost does not depend on it, but bodies are bounded).
pub const MAX_PASSWORD_CHARS: usize = 256;

/// A stored user as shown by the API (no hash).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct User {
    /// Row id.
    pub id: i64,
    /// Login name.
    pub username: String,
    /// Role name.
    pub role: String,
    /// Partner's unit.
    pub unit_id: Option<i64>,
    /// 1 when the account may not log in.
    pub disabled: i64,
    /// Creation time.
    pub created_at_ms: i64,
}

/// A freshly issued API token. `token` is shown once and never stored.
#[derive(Clone, Serialize)]
pub struct IssuedToken {
    /// Token row id.
    pub id: i64,
    /// The whole token, to be given to the automation now; not retrievable later.
    pub token: String,
    /// The masked form (`kp_abc…`) shown in lists and logs.
    pub display: String,
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("id", &self.id)
            .field("display", &self.display)
            .finish_non_exhaustive()
    }
}

/// Why a caller was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// No usable credentials, or wrong ones (401). The message does not say which.
    #[error("未登录或凭据无效")]
    Unauthenticated,
    /// Known caller, but the role does not allow this (403).
    #[error("当前角色（{role}）无权执行此操作")]
    Forbidden {
        /// The caller's role.
        role: Role,
    },
    /// Too many wrong passwords in a row: the account is locked for a while (423).
    #[error("登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试")]
    Locked {
        /// Minutes left.
        minutes: i64,
    },
}

/// The accounts over the store. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Accounts {
    store: Store,
    /// Tokens seen in the last [`TOKEN_CACHE`], by digest: a busy automation or dashboard
    /// poll is not a database query per request. Revoking through this process empties it;
    /// a revocation made by another process takes effect within [`TOKEN_CACHE`].
    recent: std::sync::Arc<
        std::sync::Mutex<std::collections::HashMap<String, (Principal, std::time::Instant)>>,
    >,
    /// The node answering logins (`[node] name`), recorded in the login audit.
    node: std::sync::Arc<str>,
}

/// How long an authenticated token is trusted without asking the database again.
pub const TOKEN_CACHE: std::time::Duration = std::time::Duration::from_secs(2);
/// At most this many tokens are remembered.
const TOKEN_CACHE_MAX: usize = 10_000;

#[derive(sqlx::FromRow)]
struct Credential {
    id: i64,
    username: String,
    role: String,
    unit_id: Option<i64>,
    password_hash: String,
    disabled: i64,
}

impl Accounts {
    /// The accounts stored in `store`.
    pub fn new(store: Store) -> Self {
        Self {
            store,
            recent: Default::default(),
            node: "".into(),
        }
    }

    /// The same accounts answering as node `name` (its login audit rows name it).
    pub fn for_node(mut self, name: &str) -> Self {
        self.node = name.into();
        self
    }

    fn forget_tokens(&self) {
        if let Ok(mut m) = self.recent.lock() {
            m.clear();
        }
    }

    /// Creates a user; the password is hashed with argon2id before it reaches the database.
    pub async fn create_user(&self, u: &NewUser) -> Result<User> {
        validate_username(&u.username)?;
        validate_password(&u.password)?;
        match (u.role, u.unit_id) {
            (Role::Partner, None) => {
                return Err(Error::invalid("unit_id", "合作单位账号必须指定报送单位"));
            }
            (Role::Admin | Role::Operator, Some(_)) => {
                return Err(Error::invalid(
                    "unit_id",
                    "只有合作单位（partner）账号可以指定报送单位",
                ));
            }
            _ => {}
        }
        if let Some(unit) = u.unit_id {
            let found: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE id = $1")
                .bind(unit)
                .fetch_optional(self.store.pool())
                .await?;
            if found.is_none() {
                return Err(Error::invalid("unit_id", format!("报送单位 {unit} 不存在")));
            }
        }
        let username = u.username.trim().to_string();
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE username = $1")
            .bind(&username)
            .fetch_optional(self.store.pool())
            .await?;
        if taken.is_some() {
            return Err(Error::Conflict(format!("用户名「{username}」已存在")));
        }
        // argon2 takes tens of milliseconds of CPU: off the runtime the engine's
        // destinations share.
        let password = u.password.clone();
        let hash = tokio::task::spawn_blocking(move || secret::hash_password(&password))
            .await
            .map_err(|e| Error::Unavailable(format!("密码处理失败：{e}")))??;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO users (username, role, unit_id, password_hash, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(&username)
        .bind(u.role.as_str())
        .bind(u.unit_id)
        .bind(&hash)
        .bind(now_ms())
        .fetch_one(self.store.pool())
        .await?;
        tracing::info!(user = %username, role = %u.role, "user created");
        self.user(id).await
    }

    /// Creates the first admin; refuses when an admin already exists (use the API then).
    pub async fn create_first_admin(&self, username: &str, password: &str) -> Result<User> {
        let admins: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE role = 'admin'")
            .fetch_one(self.store.pool())
            .await?;
        if admins > 0 {
            return Err(Error::Conflict(
                "已存在管理员账号：请由管理员通过接口添加用户".into(),
            ));
        }
        self.create_user(&NewUser {
            username: username.to_string(),
            role: Role::Admin,
            unit_id: None,
            password: password.to_string(),
        })
        .await
    }

    /// One user by id.
    pub async fn user(&self, id: i64) -> Result<User> {
        sqlx::query_as(
            "SELECT id, username, role, unit_id, disabled, created_at_ms FROM users WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(self.store.pool())
        .await?
        .ok_or_else(|| Error::not_found("用户", id))
    }

    /// All users, by name.
    pub async fn users(&self) -> Result<Vec<User>> {
        Ok(sqlx::query_as(
            "SELECT id, username, role, unit_id, disabled, created_at_ms FROM users ORDER BY username",
        )
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Checks a user name and password. A wrong name and a wrong password take the same
    /// path (a dummy hash is verified) and give the same answer.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
    ) -> Result<Result<Principal, AuthError>> {
        let cred: Option<Credential> = sqlx::query_as(
            "SELECT id, username, role, unit_id, password_hash, disabled FROM users WHERE username = $1",
        )
        .bind(username.trim())
        .fetch_optional(self.store.pool())
        .await?;
        // argon2 off the runtime (tens of milliseconds of CPU per check).
        let given = password.to_string();
        let stored = cred.as_ref().map(|c| c.password_hash.clone());
        let verified = tokio::task::spawn_blocking(move || match stored {
            Some(h) => secret::verify_password(&given, &h),
            None => {
                secret::burn_verify(&given);
                false
            }
        })
        .await
        .unwrap_or(false);
        let Some(c) = cred else {
            return Ok(Err(AuthError::Unauthenticated));
        };
        if !verified || c.disabled != 0 {
            return Ok(Err(AuthError::Unauthenticated));
        }
        Ok(principal_of(c.id, c.username, &c.role, c.unit_id).ok_or(AuthError::Unauthenticated))
    }

    /// Issues an API token for a user; the whole token is returned once.
    pub async fn issue_token(&self, user_id: i64, name: &str) -> Result<IssuedToken> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(Error::invalid("name", "令牌名称须为 1–100 个字符"));
        }
        self.user(user_id).await?;
        let token = secret::new_token();
        let masked = secret::mask_token(&token);
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO api_tokens (user_id, name, token_sha256, display, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(user_id)
        .bind(name)
        .bind(secret::token_digest(&token))
        .bind(&masked)
        .bind(now_ms())
        .fetch_one(self.store.pool())
        .await?;
        tracing::info!(user_id, token = %masked, "API token issued");
        Ok(IssuedToken {
            id,
            token,
            display: masked,
        })
    }

    /// Revokes a token by id.
    pub async fn revoke_token(&self, token_id: i64) -> Result<()> {
        self.forget_tokens();
        let done = sqlx::query("UPDATE api_tokens SET revoked = 1 WHERE id = $1")
            .bind(token_id)
            .execute(self.store.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::not_found("令牌", token_id));
        }
        Ok(())
    }

    /// Who holds this bearer token, if anyone (revoked tokens and disabled users: nobody).
    pub async fn authenticate_token(&self, token: &str) -> Result<Result<Principal, AuthError>> {
        if !secret::looks_like_token(token) {
            return Ok(Err(AuthError::Unauthenticated));
        }
        let digest = secret::token_digest(token);
        if let Ok(m) = self.recent.lock()
            && let Some((p, at)) = m.get(&digest)
            && at.elapsed() < TOKEN_CACHE
        {
            return Ok(Ok(p.clone()));
        }
        // Looked up by the digest: equality on a hash leaks nothing useful about the token.
        let row: Option<(i64, String, String, Option<i64>)> = sqlx::query_as(
            "SELECT u.id, u.username, u.role, u.unit_id FROM api_tokens t \
             JOIN users u ON u.id = t.user_id \
             WHERE t.token_sha256 = $1 AND t.revoked = 0 AND u.disabled = 0",
        )
        .bind(&digest)
        .fetch_optional(self.store.pool())
        .await?;
        let p = row.and_then(|(id, name, role, unit)| principal_of(id, name, &role, unit));
        if let (Some(p), Ok(mut m)) = (&p, self.recent.lock()) {
            if m.len() >= TOKEN_CACHE_MAX {
                m.clear();
            }
            m.insert(digest, (p.clone(), std::time::Instant::now()));
        }
        Ok(p.ok_or(AuthError::Unauthenticated))
    }
}

fn principal_of(id: i64, username: String, role: &str, unit_id: Option<i64>) -> Option<Principal> {
    let role = role.parse().ok()?;
    Some(Principal {
        user_id: id,
        username,
        role,
        unit_id,
    })
}

fn validate_username(name: &str) -> Result<()> {
    let n = name.trim();
    if n.is_empty() || n.chars().count() > 64 {
        return Err(Error::invalid("username", "用户名须为 1–64 个字符"));
    }
    if n.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid("username", "用户名不能包含空格或控制字符"));
    }
    Ok(())
}

fn validate_password(pw: &str) -> Result<()> {
    let n = pw.chars().count();
    if n < MIN_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("密码至少 {MIN_PASSWORD_CHARS} 个字符"),
        ));
    }
    if n > MAX_PASSWORD_CHARS {
        return Err(Error::invalid(
            "password",
            format!("密码最多 {MAX_PASSWORD_CHARS} 个字符"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_allow_what_they_should() {
        assert!(Role::Admin.can(Action::ManageUsers));
        assert!(!Role::Operator.can(Action::ManageUsers));
        assert!(Role::Operator.can(Action::EditRundown));
        assert!(Role::Operator.can(Action::WriteCatalog));
        assert!(!Role::Partner.can(Action::WriteCatalog));
        assert!(!Role::Partner.can(Action::EditRundown));
        assert!(!Role::Partner.can(Action::ReadCatalog));
        assert!(Role::Partner.can(Action::ReadOwnWorks));
        assert!(Role::Partner.can(Action::ReadAsRun));
        assert!(Role::Partner.can(Action::ReadCertificates));
        assert!(Role::Operator.can(Action::ReadCertificates));
        assert_eq!("partner".parse::<Role>().expect("known"), Role::Partner);
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn partner_scope() {
        let p = Principal {
            user_id: 1,
            username: "p".into(),
            role: Role::Partner,
            unit_id: Some(7),
        };
        assert!(p.may_see_unit(Some(7)));
        assert!(!p.may_see_unit(Some(8)));
        assert!(!p.may_see_unit(None));
        let o = Principal {
            role: Role::Operator,
            unit_id: None,
            ..p
        };
        assert!(o.may_see_unit(None));
    }
}
