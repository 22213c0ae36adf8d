//! Accounts, their settings, registration invitations, revoked JWTs, OAuth clients, codes and tokens: the SQL of [`plaza_db::IdentityStore`].

/// Implements `plaza_db::IdentityStore` for `$store`, which implements [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_identity_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            /// Sets one boolean column of a user; `column` is always a literal of ours.
            async fn set_user_flag(
                pool: &sqlx::Pool<Db>,
                column: &'static str,
                id: plaza_db::ObjectId,
                value: bool,
            ) -> plaza_db::StoreResult<()> {
                let sql = format!("UPDATE app_user SET {column} = $1, modified = $2 WHERE user_id = $3");
                let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(value)
                    .bind(plaza_db::Timestamp::now().millis())
                    .bind(id.to_string())
                    .execute(pool)
                    .await
                    .map_err(map_error)?;
                if done.rows_affected() == 0 {
                    return Err(plaza_db::StoreError::NotFound);
                }
                Ok(())
            }

            #[$crate::__private::async_trait]
            impl plaza_db::IdentityStore for $store {
                async fn insert_user(&self, user: &plaza_db::UserRecord) -> plaza_db::StoreResult<()> {
                    let sql = format!(
                        "INSERT INTO app_user ({}, username_key) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
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
                        .bind(user.credentials_after.map(plaza_db::Timestamp::millis))
                        .bind(user.username_key())
                        .execute(self.writer())
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
                    optional(self.reader(), sql, id.to_string(), sql_rows::user).await
                }

                async fn user_by_username(
                    &self,
                    username: &str,
                ) -> plaza_db::StoreResult<Option<plaza_db::UserRecord>> {
                    let sql = format!(
                        "SELECT {} FROM app_user WHERE username_key = $1",
                        sql_rows::USER_COLUMNS
                    );
                    optional(self.reader(), sql, username.to_lowercase(), sql_rows::user).await
                }

                async fn list_users(
                    &self,
                    after: Option<plaza_db::ObjectId>,
                    limit: u32,
                ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                    // In the order accounts were made: (created, id) after the anchor's, or
                    // after its id's second when it is gone. Every id is 24 hex digits, so
                    // with no anchor the empty string sorts before all of them.
                    let sql = format!(
                        "SELECT {} FROM app_user WHERE kind <> 'anonymous' \
                         AND (created, user_id) > (COALESCE((SELECT anchor.created FROM app_user anchor \
                         WHERE anchor.user_id = $1), $3), $1) \
                         ORDER BY created, user_id LIMIT $2",
                        sql_rows::USER_COLUMNS
                    );
                    let after_created = after.map_or(i64::MIN, |id| i64::from(id.seconds()) * 1000);
                    let after = after.map(|id| id.to_string()).unwrap_or_default();
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(after)
                        .bind(i64::from(limit))
                        .bind(after_created)
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_error)?;
                    rows.iter().map(sql_rows::user).collect()
                }

                async fn set_user_disabled(
                    &self,
                    id: plaza_db::ObjectId,
                    disabled: bool,
                ) -> plaza_db::StoreResult<()> {
                    set_user_flag(self.writer(), "disabled", id, disabled).await
                }

                async fn set_password_hash(
                    &self,
                    id: plaza_db::ObjectId,
                    hash: &str,
                ) -> plaza_db::StoreResult<()> {
                    let now = plaza_db::Timestamp::now().millis();
                    let done = sqlx::query(
                        "UPDATE app_user SET password_hash = $1, modified = $2, credentials_after = $2 \
                         WHERE user_id = $3",
                    )
                    .bind(hash)
                    .bind(now)
                    .bind(id.to_string())
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    if done.rows_affected() == 0 {
                        return Err(plaza_db::StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn set_server_admin(
                    &self,
                    id: plaza_db::ObjectId,
                    admin: bool,
                ) -> plaza_db::StoreResult<()> {
                    set_user_flag(self.writer(), "is_server_admin", id, admin).await
                }

                async fn claim_first_admin(&self) -> plaza_db::StoreResult<bool> {
                    // A conditional update is atomic on both engines: one caller flips the
                    // mark, every other caller matches no row.
                    let done = sqlx::query(
                        "UPDATE plaza_meta SET value = '1' \
                         WHERE meta_key = 'first_admin_claimed' AND value = '0'",
                    )
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(done.rows_affected() == 1)
                }


                async fn user_settings(
                    &self,
                    user_id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<plaza_db::UserSettingsRecord>> {
                    let row = sqlx::query(
                        "SELECT settings_id, user_id, settings, modified FROM user_settings \
                         WHERE user_id = $1",
                    )
                    .bind(user_id.to_string())
                    .fetch_optional(self.reader())
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
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(())
                }


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
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(())
                }

                async fn take_registration_invite(&self, email: &str) -> plaza_db::StoreResult<bool> {
                    let done = sqlx::query("DELETE FROM registration_invite WHERE email_key = $1")
                        .bind(email.to_lowercase())
                        .execute(self.writer())
                        .await
                        .map_err(map_error)?;
                    Ok(done.rows_affected() > 0)
                }


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
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(())
                }

                async fn is_jwt_revoked(&self, jti: &str) -> plaza_db::StoreResult<bool> {
                    let row = sqlx::query("SELECT 1 FROM revoked_jwt WHERE jti = $1")
                        .bind(jti)
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_error)?;
                    Ok(row.is_some())
                }

                async fn purge_expired_credentials(
                    &self,
                    now: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<u64> {
                    let mut purged = 0;
                    for (sql, at) in [
                        ("DELETE FROM revoked_jwt WHERE expires_at < $1", now.millis()),
                        ("DELETE FROM oauth_code WHERE expires_at < $1", now.millis()),
                        ("DELETE FROM oauth_token WHERE expires_at < $1", now.millis()),
                        ("DELETE FROM ringing_call WHERE until < $1", now.millis()),
                        ("DELETE FROM used_refresh_token WHERE expires_at < $1", now.millis()),
                        // Rate limits are kept in microseconds.
                        ("DELETE FROM rate_limit WHERE tat < $1", now.millis().saturating_mul(1000)),
                    ] {
                        let done = sqlx::query(sql)
                            .bind(at)
                            .execute(self.writer())
                            .await
                            .map_err(map_error)?;
                        purged += done.rows_affected();
                    }
                    Ok(purged)
                }


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
                        .execute(self.writer())
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
                    optional(self.reader(), sql, client_id.to_owned(), sql_rows::client).await
                }

                async fn list_oauth_clients(
                    &self,
                ) -> plaza_db::StoreResult<Vec<plaza_db::OAuthClientRecord>> {
                    let sql = format!(
                        "SELECT {} FROM oauth_client ORDER BY created, client_id",
                        sql_rows::CLIENT_COLUMNS
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.reader()).await.map_err(map_error)?;
                    rows.iter().map(sql_rows::client).collect()
                }

                async fn revoke_oauth_client(&self, client_id: &str) -> plaza_db::StoreResult<()> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
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
                        .execute(self.writer())
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
                    optional(self.writer(), sql, code_hash.to_owned(), sql_rows::code).await
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
                        .execute(self.writer())
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
                    optional(self.reader(), sql, token_hash.to_owned(), sql_rows::token).await
                }

                async fn take_oauth_token(
                    &self,
                    token_hash: &str,
                ) -> plaza_db::StoreResult<Option<plaza_db::OAuthTokenRecord>> {
                    let sql = format!(
                        "DELETE FROM oauth_token WHERE token_hash = $1 RETURNING {}",
                        sql_rows::TOKEN_COLUMNS
                    );
                    optional(self.writer(), sql, token_hash.to_owned(), sql_rows::token).await
                }

                async fn revoke_oauth_grant(
                    &self,
                    grant_id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<u64> {
                    let done = sqlx::query("DELETE FROM oauth_token WHERE grant_id = $1")
                        .bind(grant_id.to_string())
                        .execute(self.writer())
                        .await
                        .map_err(map_error)?;
                    Ok(done.rows_affected())
                }

                async fn remember_used_refresh(
                    &self,
                    token_hash: &str,
                    grant_id: plaza_db::ObjectId,
                    expires_at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<()> {
                    sqlx::query(
                        "INSERT INTO used_refresh_token (token_hash, grant_id, expires_at) \
                         VALUES ($1, $2, $3) ON CONFLICT (token_hash) DO NOTHING",
                    )
                    .bind(token_hash.to_owned())
                    .bind(grant_id.to_string())
                    .bind(expires_at.millis())
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(())
                }

                async fn used_refresh_grant(
                    &self,
                    token_hash: &str,
                ) -> plaza_db::StoreResult<Option<plaza_db::ObjectId>> {
                    let grant: Option<String> = sqlx::query_scalar(
                        "SELECT grant_id FROM used_refresh_token WHERE token_hash = $1",
                    )
                    .bind(token_hash.to_owned())
                    .fetch_optional(self.reader())
                    .await
                    .map_err(map_error)?;
                    grant.as_deref().map(sql_rows::id).transpose()
                }

            }
        };
    };
}
