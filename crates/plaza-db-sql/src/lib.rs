//! The one copy of Plaza's store SQL.
//!
//! SQLite and PostgreSQL agree on everything the store needs: `$N` placeholders,
//! `ON CONFLICT`, `DELETE ... RETURNING`, booleans bound from Rust `bool`, times as 64-bit
//! epoch milliseconds and JSON kept as text. Rather than keep two hand-copied
//! implementations in step, each backend crate expands [`impl_sql_store!`] over its own
//! concrete sqlx types. The backend crates still own their migrations, connection setup
//! and driver-error mapping; a query that must differ by dialect goes in the backend
//! crate, not here.
#![forbid(unsafe_code)]

/// Implements `plaza_db::Store` for `$store` on the sqlx database `$db`.
///
/// `$db` is a full path such as `sqlx::Sqlite`. The expansion site must provide: a field `pool: sqlx::Pool<$db>` on `$store`, and a
/// function `map_error(sqlx::Error) -> plaza_db::StoreError` in scope. It must depend
/// on `sqlx`, `async-trait`, `serde_json` and `plaza-db`.
#[macro_export]
macro_rules! impl_sql_store {
    ($store:ty, $db:path) => {
        mod sql_rows {
            use plaza_db::{
                AuthCodeRecord, ClientKind, OAuthClientRecord, OAuthTokenRecord, ObjectId,
                StoreError, StoreResult, Timestamp, TokenKind, UserKind, UserRecord,
                UserSettingsRecord,
            };
            use sqlx::Row;

            type DbRow = <$db as sqlx::Database>::Row;

            pub(super) const USER_COLUMNS: &str = "user_id, kind, username, displayname, \
                password_hash, picture_url, timezone, phone_numbers, is_server_admin, \
                disabled, created, modified, expires_at";

            pub(super) const CLIENT_COLUMNS: &str = "client_id, kind, name, secret_hash, \
                redirect_uris, service_user_id, created_by, created, revoked";

            pub(super) const CODE_COLUMNS: &str = "code_hash, client_id, user_id, \
                redirect_uri, scope, code_challenge, code_challenge_method, expires_at";

            pub(super) const TOKEN_COLUMNS: &str =
                "token_hash, kind, client_id, user_id, scope, expires_at, grant_id";

            fn corrupt(what: &str, value: &str) -> StoreError {
                StoreError::other(format!("stored {what} is invalid: {value:?}"))
            }

            pub(super) fn id(text: &str) -> StoreResult<ObjectId> {
                text.parse().map_err(|_| corrupt("id", text))
            }

            fn get<'r, T>(row: &'r DbRow, column: &str) -> StoreResult<T>
            where
                T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
            {
                row.try_get(column).map_err(super::map_error)
            }

            fn json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
                serde_json::from_str(text).map_err(|_| corrupt("json", text))
            }

            pub(super) fn user(row: &DbRow) -> StoreResult<UserRecord> {
                let kind: String = get(row, "kind")?;
                let phone_numbers: String = get(row, "phone_numbers")?;
                Ok(UserRecord {
                    id: id(&get::<String>(row, "user_id")?)?,
                    kind: UserKind::parse(&kind).ok_or_else(|| corrupt("user kind", &kind))?,
                    username: get(row, "username")?,
                    displayname: get(row, "displayname")?,
                    password_hash: get(row, "password_hash")?,
                    picture_url: get(row, "picture_url")?,
                    timezone: get(row, "timezone")?,
                    phone_numbers: json(&phone_numbers)?,
                    is_server_admin: get(row, "is_server_admin")?,
                    disabled: get(row, "disabled")?,
                    created: Timestamp::from_millis(get(row, "created")?),
                    modified: Timestamp::from_millis(get(row, "modified")?),
                    expires_at: get::<Option<i64>>(row, "expires_at")?
                        .map(Timestamp::from_millis),
                })
            }

            /// Sets one boolean column of a user; `column` is always a literal of ours.
            pub(super) async fn set_user_flag(
                pool: &sqlx::Pool<$db>,
                column: &'static str,
                id: ObjectId,
                value: bool,
            ) -> StoreResult<()> {
                let sql = format!("UPDATE app_user SET {column} = $1, modified = $2 WHERE user_id = $3");
                let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(value)
                    .bind(Timestamp::now().millis())
                    .bind(id.to_string())
                    .execute(pool)
                    .await
                    .map_err(super::map_error)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(())
            }

            pub(super) fn settings(row: &DbRow) -> StoreResult<UserSettingsRecord> {
                let settings: String = get(row, "settings")?;
                Ok(UserSettingsRecord {
                    id: id(&get::<String>(row, "settings_id")?)?,
                    user_id: id(&get::<String>(row, "user_id")?)?,
                    settings: json(&settings)?,
                    modified: Timestamp::from_millis(get(row, "modified")?),
                })
            }

            pub(super) fn client(row: &DbRow) -> StoreResult<OAuthClientRecord> {
                let kind: String = get(row, "kind")?;
                let redirect_uris: String = get(row, "redirect_uris")?;
                Ok(OAuthClientRecord {
                    client_id: get(row, "client_id")?,
                    kind: ClientKind::parse(&kind)
                        .ok_or_else(|| corrupt("client kind", &kind))?,
                    name: get(row, "name")?,
                    secret_hash: get(row, "secret_hash")?,
                    redirect_uris: json(&redirect_uris)?,
                    service_user_id: get::<Option<String>>(row, "service_user_id")?
                        .as_deref()
                        .map(id)
                        .transpose()?,
                    created_by: get::<Option<String>>(row, "created_by")?
                        .as_deref()
                        .map(id)
                        .transpose()?,
                    created: Timestamp::from_millis(get(row, "created")?),
                    revoked: get(row, "revoked")?,
                })
            }

            pub(super) fn code(row: &DbRow) -> StoreResult<AuthCodeRecord> {
                Ok(AuthCodeRecord {
                    code_hash: get(row, "code_hash")?,
                    client_id: get(row, "client_id")?,
                    user_id: id(&get::<String>(row, "user_id")?)?,
                    redirect_uri: get(row, "redirect_uri")?,
                    scope: get(row, "scope")?,
                    code_challenge: get(row, "code_challenge")?,
                    code_challenge_method: get(row, "code_challenge_method")?,
                    expires_at: Timestamp::from_millis(get(row, "expires_at")?),
                })
            }

            pub(super) fn token(row: &DbRow) -> StoreResult<OAuthTokenRecord> {
                let kind: String = get(row, "kind")?;
                Ok(OAuthTokenRecord {
                    token_hash: get(row, "token_hash")?,
                    kind: TokenKind::parse(&kind).ok_or_else(|| corrupt("token kind", &kind))?,
                    client_id: get(row, "client_id")?,
                    user_id: id(&get::<String>(row, "user_id")?)?,
                    scope: get(row, "scope")?,
                    expires_at: Timestamp::from_millis(get(row, "expires_at")?),
                    grant_id: id(&get::<String>(row, "grant_id")?)?,
                })
            }
        }

        // The only dynamic SQL below splices the constant column lists above into
        // otherwise literal statements; every value travels as a bound parameter.
        #[async_trait::async_trait]
        impl plaza_db::Store for $store {
            async fn ping(&self) -> plaza_db::StoreResult<()> {
                sqlx::query("SELECT 1").execute(&self.pool).await.map_err(map_error)?;
                Ok(())
            }

            // ---- users ----

            async fn insert_user(&self, user: &plaza_db::UserRecord) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO app_user ({}, username_key) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
                    sql_rows::USER_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user.id.to_string())
                    .bind(user.kind.as_str())
                    .bind(&user.username)
                    .bind(&user.displayname)
                    .bind(&user.password_hash)
                    .bind(&user.picture_url)
                    .bind(&user.timezone)
                    .bind(user.phone_numbers.to_string())
                    .bind(user.is_server_admin)
                    .bind(user.disabled)
                    .bind(user.created.millis())
                    .bind(user.modified.millis())
                    .bind(user.expires_at.map(plaza_db::Timestamp::millis))
                    .bind(user.username_key())
                    .execute(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn user_by_id(
                &self,
                id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::UserRecord>> {
                let sql =
                    format!("SELECT {} FROM app_user WHERE user_id = $1", sql_rows::USER_COLUMNS);
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                row.as_ref().map(sql_rows::user).transpose()
            }

            async fn user_by_username(
                &self,
                username: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::UserRecord>> {
                let sql = format!(
                    "SELECT {} FROM app_user WHERE username_key = $1",
                    sql_rows::USER_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(username.to_lowercase())
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                row.as_ref().map(sql_rows::user).transpose()
            }

            async fn list_users(
                &self,
                after: Option<plaza_db::ObjectId>,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                let sql = format!(
                    "SELECT {} FROM app_user WHERE kind <> 'anonymous' AND user_id > $1 \
                     ORDER BY user_id LIMIT $2",
                    sql_rows::USER_COLUMNS
                );
                // Every id is 24 hex digits, so the empty string sorts before all of them.
                let after = after.map(|id| id.to_string()).unwrap_or_default();
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(after)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map_error)?;
                rows.iter().map(sql_rows::user).collect()
            }

            async fn set_user_disabled(
                &self,
                id: plaza_db::ObjectId,
                disabled: bool,
            ) -> plaza_db::StoreResult<()> {
                sql_rows::set_user_flag(&self.pool, "disabled", id, disabled).await
            }

            async fn set_server_admin(
                &self,
                id: plaza_db::ObjectId,
                admin: bool,
            ) -> plaza_db::StoreResult<()> {
                sql_rows::set_user_flag(&self.pool, "is_server_admin", id, admin).await
            }

            async fn claim_first_admin(&self) -> plaza_db::StoreResult<bool> {
                // A conditional update is atomic on both engines: one caller flips the
                // mark, every other caller matches no row.
                let done = sqlx::query(
                    "UPDATE plaza_meta SET value = '1' \
                     WHERE meta_key = 'first_admin_claimed' AND value = '0'",
                )
                .execute(&self.pool)
                .await
                .map_err(map_error)?;
                Ok(done.rows_affected() == 1)
            }

            // ---- user settings ----

            async fn user_settings(
                &self,
                user_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<Option<plaza_db::UserSettingsRecord>> {
                let row = sqlx::query(
                    "SELECT settings_id, user_id, settings, modified FROM user_settings \
                     WHERE user_id = $1",
                )
                .bind(user_id.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(map_error)?;
                row.as_ref().map(sql_rows::settings).transpose()
            }

            async fn put_user_settings(
                &self,
                settings: &plaza_db::UserSettingsRecord,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO user_settings (user_id, settings_id, settings, modified) \
                     VALUES ($1, $2, $3, $4) \
                     ON CONFLICT (user_id) DO UPDATE SET settings_id = excluded.settings_id, \
                     settings = excluded.settings, modified = excluded.modified",
                )
                .bind(settings.user_id.to_string())
                .bind(settings.id.to_string())
                .bind(serde_json::Value::Object(settings.settings.clone()).to_string())
                .bind(settings.modified.millis())
                .execute(&self.pool)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            // ---- registration invitations ----

            async fn insert_registration_invite(
                &self,
                email: &str,
                invited_by: Option<plaza_db::ObjectId>,
                at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO registration_invite (email_key, invited_by, created) \
                     VALUES ($1, $2, $3) ON CONFLICT (email_key) DO NOTHING",
                )
                .bind(email.to_lowercase())
                .bind(invited_by.map(|id| id.to_string()))
                .bind(at.millis())
                .execute(&self.pool)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn take_registration_invite(&self, email: &str) -> plaza_db::StoreResult<bool> {
                let done = sqlx::query("DELETE FROM registration_invite WHERE email_key = $1")
                    .bind(email.to_lowercase())
                    .execute(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(done.rows_affected() > 0)
            }

            // ---- revoked JWTs ----

            async fn revoke_jwt(
                &self,
                jti: &str,
                expires_at: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<()> {
                sqlx::query(
                    "INSERT INTO revoked_jwt (jti, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at.millis())
                .execute(&self.pool)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            async fn is_jwt_revoked(&self, jti: &str) -> plaza_db::StoreResult<bool> {
                let row = sqlx::query("SELECT 1 FROM revoked_jwt WHERE jti = $1")
                    .bind(jti)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(row.is_some())
            }

            async fn purge_expired_credentials(
                &self,
                now: plaza_db::Timestamp,
            ) -> plaza_db::StoreResult<u64> {
                let mut purged = 0;
                for sql in [
                    "DELETE FROM revoked_jwt WHERE expires_at < $1",
                    "DELETE FROM oauth_code WHERE expires_at < $1",
                    "DELETE FROM oauth_token WHERE expires_at < $1",
                ] {
                    let done = sqlx::query(sql)
                        .bind(now.millis())
                        .execute(&self.pool)
                        .await
                        .map_err(map_error)?;
                    purged += done.rows_affected();
                }
                Ok(purged)
            }

            // ---- OAuth clients and service apps ----

            async fn insert_oauth_client(
                &self,
                client: &plaza_db::OAuthClientRecord,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO oauth_client ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                    sql_rows::CLIENT_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&client.client_id)
                    .bind(client.kind.as_str())
                    .bind(&client.name)
                    .bind(&client.secret_hash)
                    .bind(serde_json::to_string(&client.redirect_uris).map_err(plaza_db::StoreError::other)?)
                    .bind(client.service_user_id.map(|id| id.to_string()))
                    .bind(client.created_by.map(|id| id.to_string()))
                    .bind(client.created.millis())
                    .bind(client.revoked)
                    .execute(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn oauth_client(
                &self,
                client_id: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::OAuthClientRecord>> {
                let sql = format!(
                    "SELECT {} FROM oauth_client WHERE client_id = $1",
                    sql_rows::CLIENT_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(client_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                row.as_ref().map(sql_rows::client).transpose()
            }

            async fn list_oauth_clients(
                &self,
            ) -> plaza_db::StoreResult<Vec<plaza_db::OAuthClientRecord>> {
                let sql = format!(
                    "SELECT {} FROM oauth_client ORDER BY created, client_id",
                    sql_rows::CLIENT_COLUMNS
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await.map_err(map_error)?;
                rows.iter().map(sql_rows::client).collect()
            }

            async fn revoke_oauth_client(&self, client_id: &str) -> plaza_db::StoreResult<()> {
                let mut tx = self.pool.begin().await.map_err(map_error)?;
                let done = sqlx::query("UPDATE oauth_client SET revoked = $1 WHERE client_id = $2")
                    .bind(true)
                    .bind(client_id)
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                if done.rows_affected() == 0 {
                    return Err(plaza_db::StoreError::NotFound);
                }
                for sql in [
                    "DELETE FROM oauth_code WHERE client_id = $1",
                    "DELETE FROM oauth_token WHERE client_id = $1",
                ] {
                    sqlx::query(sql)
                        .bind(client_id)
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                }
                tx.commit().await.map_err(map_error)?;
                Ok(())
            }

            // ---- OAuth codes and tokens ----

            async fn insert_auth_code(
                &self,
                code: &plaza_db::AuthCodeRecord,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO oauth_code ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    sql_rows::CODE_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&code.code_hash)
                    .bind(&code.client_id)
                    .bind(code.user_id.to_string())
                    .bind(&code.redirect_uri)
                    .bind(&code.scope)
                    .bind(&code.code_challenge)
                    .bind(&code.code_challenge_method)
                    .bind(code.expires_at.millis())
                    .execute(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn take_auth_code(
                &self,
                code_hash: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::AuthCodeRecord>> {
                let sql = format!(
                    "DELETE FROM oauth_code WHERE code_hash = $1 RETURNING {}",
                    sql_rows::CODE_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(code_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                row.as_ref().map(sql_rows::code).transpose()
            }

            async fn insert_oauth_token(
                &self,
                token: &plaza_db::OAuthTokenRecord,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!(
                    "INSERT INTO oauth_token ({}) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                    sql_rows::TOKEN_COLUMNS
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(&token.token_hash)
                    .bind(token.kind.as_str())
                    .bind(&token.client_id)
                    .bind(token.user_id.to_string())
                    .bind(&token.scope)
                    .bind(token.expires_at.millis())
                    .bind(token.grant_id.to_string())
                    .execute(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(())
            }

            async fn oauth_token(
                &self,
                token_hash: &str,
            ) -> plaza_db::StoreResult<Option<plaza_db::OAuthTokenRecord>> {
                let sql = format!(
                    "SELECT {} FROM oauth_token WHERE token_hash = $1",
                    sql_rows::TOKEN_COLUMNS
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(token_hash)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(map_error)?;
                row.as_ref().map(sql_rows::token).transpose()
            }

            async fn revoke_oauth_grant(
                &self,
                grant_id: plaza_db::ObjectId,
            ) -> plaza_db::StoreResult<u64> {
                let done = sqlx::query("DELETE FROM oauth_token WHERE grant_id = $1")
                    .bind(grant_id.to_string())
                    .execute(&self.pool)
                    .await
                    .map_err(map_error)?;
                Ok(done.rows_affected())
            }
        }
    };
}
