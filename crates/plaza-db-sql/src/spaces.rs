//! Spaces, memberships, listings, people and invitations: the SQL of [`plaza_db::SpaceStore`].

/// Implements `plaza_db::SpaceStore` for `$store`, which implements [`crate::SqlBackend`].
#[macro_export]
macro_rules! impl_space_store {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            /// Binds a membership's columns in the order of `PUT_MEMBERSHIP`.
            async fn put_membership<'e, E>(executor: E, m: &plaza_db::MembershipRecord) -> plaza_db::StoreResult<()>
            where
                E: sqlx::Executor<'e, Database = Db>,
            {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "INSERT INTO membership (space_id, user_id, role, state, join_time, hidden, \
                     is_pinned, notification, read_seq, sent_since_read, messages_last_read_time, \
                     last_access, activity_at, modified) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, {}, 0, $10, $11, $12, $13) \
                     ON CONFLICT (space_id, user_id) DO UPDATE SET role = excluded.role, \
                     state = excluded.state, join_time = excluded.join_time, hidden = excluded.hidden, \
                     is_pinned = excluded.is_pinned, notification = excluded.notification, \
                     read_seq = excluded.read_seq, sent_since_read = 0, \
                     messages_last_read_time = excluded.messages_last_read_time, \
                     last_access = excluded.last_access, activity_at = excluded.activity_at, \
                     modified = excluded.modified",
                    sql_rows::read_seq_for("$1", "$9")
                )))
                .bind(m.space_id.to_string())
                .bind(m.user_id.to_string())
                .bind(m.role.as_str())
                .bind(m.state.as_str())
                .bind(m.join_time.millis())
                .bind(m.hidden)
                .bind(m.is_pinned)
                .bind(m.notification)
                .bind(m.unread_count)
                .bind(m.messages_last_read_time.map(plaza_db::Timestamp::millis))
                .bind(m.last_access.millis())
                .bind(m.activity_at.millis())
                .bind(m.modified.millis())
                .execute(executor)
                .await
                .map_err(map_error)?;
                Ok(())
            }

            /// Users sharing an active space (`direct_only`: a direct space) with `user_id`.
            async fn people(
                pool: &sqlx::Pool<Db>,
                user_id: plaza_db::ObjectId,
                direct_only: bool,
                search: Option<&str>,
                offset: u32,
                limit: u32,
            ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                let direct = if direct_only {
                    " AND s.kind = 'direct'"
                } else {
                    " AND theirs.state = 'active' AND mine.state = 'active'"
                };
                let search_sql = if search.is_some() {
                    " AND (LOWER(u.displayname) LIKE $2 ESCAPE '\\' OR LOWER(u.username) LIKE $2 ESCAPE '\\')"
                } else {
                    " AND $2 = $2"
                };
                let sql = format!(
                    "SELECT DISTINCT {} FROM membership mine \
                     JOIN membership theirs ON theirs.space_id = mine.space_id \
                     JOIN space s ON s.space_id = mine.space_id \
                     JOIN app_user u ON u.user_id = theirs.user_id \
                     WHERE mine.user_id = $1 AND theirs.user_id <> $1 AND u.kind <> 'anonymous' \
                     AND s.status <> 2{direct}{search_sql} \
                     ORDER BY u.displayname, u.username, u.user_id LIMIT $3 OFFSET $4",
                    sql_rows::user_columns_of_u()
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user_id.to_string())
                    .bind(search.map(sql_rows::contains_pattern).unwrap_or_default())
                    .bind(i64::from(limit))
                    .bind(i64::from(offset))
                    .fetch_all(pool)
                    .await
                    .map_err(map_error)?;
                rows.iter().map(sql_rows::user).collect()
            }

            #[$crate::__private::async_trait]
            impl plaza_db::SpaceStore for $store {
                async fn insert_space(
                    &self,
                    space: &plaza_db::SpaceRecord,
                    first: &plaza_db::MembershipRecord,
                ) -> plaza_db::StoreResult<()> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
                    sqlx::query(
                        "INSERT INTO space (space_id, kind, title, description, status, settings, \
                         restrict_list, creator_id, unique_key, created, modified) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                    )
                    .bind(space.id.to_string())
                    .bind(space.kind.as_str())
                    .bind(&space.title)
                    .bind(&space.description)
                    .bind(space.status.code())
                    .bind(serde_json::Value::Object(space.settings.clone()).to_string())
                    .bind(serde_json::to_string(&space.restrict).map_err(plaza_db::StoreError::other)?)
                    .bind(space.creator_id.to_string())
                    .bind(&space.unique_key)
                    .bind(space.created.millis())
                    .bind(space.modified.millis())
                    .execute(&mut *tx)
                    .await
                    .map_err(map_error)?;
                    put_membership(&mut *tx, first).await?;
                    tx.commit().await.map_err(map_error)?;
                    Ok(())
                }

                async fn space_by_id(
                    &self,
                    id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<plaza_db::SpaceRecord>> {
                    let sql = format!("SELECT {} FROM space s WHERE s.space_id = $1", sql_rows::SPACE_COLUMNS);
                    optional(self.reader(), sql, id.to_string(), sql_rows::space).await
                }

                async fn space_by_unique_key(
                    &self,
                    key: &str,
                ) -> plaza_db::StoreResult<Option<plaza_db::SpaceRecord>> {
                    let sql = format!("SELECT {} FROM space s WHERE s.unique_key = $1", sql_rows::SPACE_COLUMNS);
                    optional(self.reader(), sql, key.to_owned(), sql_rows::space).await
                }

                async fn update_space(&self, space: &plaza_db::SpaceRecord) -> plaza_db::StoreResult<()> {
                    let done = sqlx::query(
                        "UPDATE space SET title = $1, description = $2, status = $3, settings = $4, \
                         restrict_list = $5, modified = $6 WHERE space_id = $7",
                    )
                    .bind(&space.title)
                    .bind(&space.description)
                    .bind(space.status.code())
                    .bind(serde_json::Value::Object(space.settings.clone()).to_string())
                    .bind(serde_json::to_string(&space.restrict).map_err(plaza_db::StoreError::other)?)
                    .bind(space.modified.millis())
                    .bind(space.id.to_string())
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    if done.rows_affected() == 0 {
                        return Err(plaza_db::StoreError::NotFound);
                    }
                    Ok(())
                }

                async fn touch_space_activity(
                    &self,
                    space_id: plaza_db::ObjectId,
                    at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<()> {
                    // Only active members: a removed user's entry stops tracking the space.
                    sqlx::query(
                        "UPDATE membership SET activity_at = $1 WHERE space_id = $2 AND activity_at < $1 \
                         AND state = 'active'",
                    )
                        .bind(at.millis())
                        .bind(space_id.to_string())
                        .execute(self.writer())
                        .await
                        .map_err(map_error)?;
                    Ok(())
                }


                async fn membership(
                    &self,
                    space_id: plaza_db::ObjectId,
                    user_id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<plaza_db::MembershipRecord>> {
                    let sql = format!(
                        "SELECT {} FROM membership m WHERE m.space_id = $1 AND m.user_id = $2",
                        sql_rows::MEMBER_COLUMNS
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(space_id.to_string())
                        .bind(user_id.to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_error)?;
                    row.as_ref().map(sql_rows::membership).transpose()
                }

                async fn space_with_membership(
                    &self,
                    space_id: plaza_db::ObjectId,
                    user_id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<(plaza_db::SpaceRecord, Option<plaza_db::MembershipRecord>)>> {
                    let sql = format!(
                        "SELECT {}, {} FROM space s LEFT JOIN membership m \
                         ON m.space_id = s.space_id AND m.user_id = $2 WHERE s.space_id = $1",
                        sql_rows::SPACE_COLUMNS,
                        sql_rows::MEMBER_COLUMNS
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(space_id.to_string())
                        .bind(user_id.to_string())
                        .fetch_optional(self.reader())
                        .await
                        .map_err(map_error)?;
                    let Some(row) = row else { return Ok(None) };
                    let space = sql_rows::space(&row)?;
                    let member: Option<String> = sqlx::Row::try_get(&row, "m_user_id").map_err(map_error)?;
                    let membership = member.map(|_| sql_rows::membership(&row)).transpose()?;
                    Ok(Some((space, membership)))
                }

                async fn put_membership(
                    &self,
                    membership: &plaza_db::MembershipRecord,
                ) -> plaza_db::StoreResult<()> {
                    put_membership(self.writer(), membership).await
                }

                async fn update_member_view(
                    &self,
                    m: &plaza_db::MembershipRecord,
                ) -> plaza_db::StoreResult<bool> {
                    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
                        "UPDATE membership SET hidden = $1, is_pinned = $2, notification = $3, \
                         read_seq = {}, sent_since_read = 0, messages_last_read_time = $5, \
                         last_access = $6, modified = $7 \
                         WHERE space_id = $8 AND user_id = $9 AND state = 'active'",
                        sql_rows::read_seq_for("$8", "$4")
                    )))
                    .bind(m.hidden)
                    .bind(m.is_pinned)
                    .bind(m.notification)
                    .bind(m.unread_count)
                    .bind(m.messages_last_read_time.map(plaza_db::Timestamp::millis))
                    .bind(m.last_access.millis())
                    .bind(m.modified.millis())
                    .bind(m.space_id.to_string())
                    .bind(m.user_id.to_string())
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(done.rows_affected() == 1)
                }

                async fn touch_members(
                    &self,
                    visits: &[(plaza_db::ObjectId, plaza_db::ObjectId)],
                    at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<()> {
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
                    for (space_id, user_id) in visits {
                        sqlx::query(
                            "UPDATE membership SET last_access = $1 \
                             WHERE space_id = $2 AND user_id = $3 AND state = 'active' \
                             AND last_access < $1",
                        )
                        .bind(at.millis())
                        .bind(space_id.to_string())
                        .bind(user_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                    }
                    tx.commit().await.map_err(map_error)?;
                    Ok(())
                }

                async fn change_member_keeping_an_admin(
                    &self,
                    space_id: plaza_db::ObjectId,
                    user_id: plaza_db::ObjectId,
                    change: plaza_db::MemberChange,
                    at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<plaza_db::MemberChangeOutcome> {
                    use plaza_db::{MemberChange, MemberChangeOutcome, Role};
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
                    // Writing the space row first serialises changes per space: a row lock on
                    // PostgreSQL, the database write lock on SQLite.
                    sqlx::query("UPDATE space SET modified = modified WHERE space_id = $1")
                        .bind(space_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                    let current: Option<String> = sqlx::query_scalar(
                        "SELECT role FROM membership WHERE space_id = $1 AND user_id = $2 AND state = 'active'",
                    )
                    .bind(space_id.to_string())
                    .bind(user_id.to_string())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(map_error)?;
                    let Some(current) = current else {
                        return Err(plaza_db::StoreError::NotFound);
                    };
                    if let MemberChange::Remove { only_if: Some(expected), .. } = change
                        && expected.as_str() != current
                    {
                        return Ok(MemberChangeOutcome::RoleChanged);
                    }
                    let stays_admin = change == MemberChange::SetRole(Role::Admin);
                    if current == "admin" && !stays_admin {
                        let other_admins: i64 = sqlx::query_scalar(
                            "SELECT COUNT(*) FROM membership WHERE space_id = $1 AND state = 'active' \
                             AND role = 'admin' AND user_id <> $2",
                        )
                        .bind(space_id.to_string())
                        .bind(user_id.to_string())
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_error)?;
                        if other_admins == 0 {
                            return Ok(MemberChangeOutcome::LastAdmin);
                        }
                    }
                    let query = match change {
                        MemberChange::SetRole(role) => sqlx::query(
                            "UPDATE membership SET role = $1, modified = $2 WHERE space_id = $3 AND user_id = $4",
                        )
                        .bind(role.as_str()),
                        MemberChange::Remove { state, .. } => sqlx::query(
                            "UPDATE membership SET state = $1, modified = $2 WHERE space_id = $3 AND user_id = $4",
                        )
                        .bind(state.as_str()),
                    };
                    query
                        .bind(at.millis())
                        .bind(space_id.to_string())
                        .bind(user_id.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err(map_error)?;
                    tx.commit().await.map_err(map_error)?;
                    Ok(MemberChangeOutcome::Done)
                }

                async fn members(
                    &self,
                    space_id: plaza_db::ObjectId,
                    search: Option<&str>,
                    offset: u32,
                    limit: u32,
                ) -> plaza_db::StoreResult<(Vec<(plaza_db::MembershipRecord, plaza_db::UserRecord)>, u64)> {
                    let search_sql = if search.is_some() {
                        " AND (LOWER(u.displayname) LIKE $2 ESCAPE '\\' OR LOWER(u.username) LIKE $2 ESCAPE '\\')"
                    } else {
                        " AND $2 = $2"
                    };
                    let pattern = search.map(sql_rows::contains_pattern).unwrap_or_default();
                    let from = format!(
                        "FROM membership m JOIN app_user u ON u.user_id = m.user_id \
                         WHERE m.space_id = $1 AND m.state = 'active'{search_sql}"
                    );
                    let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) {from}")))
                        .bind(space_id.to_string())
                        .bind(&pattern)
                        .fetch_one(self.reader())
                        .await
                        .map_err(map_error)?;
                    let sql = format!(
                        "SELECT {}, {} {from} ORDER BY {} LIMIT $3 OFFSET $4",
                        sql_rows::MEMBER_COLUMNS,
                        sql_rows::user_columns_of_u(),
                        sql_rows::MEMBER_ORDER
                    );
                    let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(space_id.to_string())
                        .bind(&pattern)
                        .bind(i64::from(limit))
                        .bind(i64::from(offset))
                        .fetch_all(self.reader())
                        .await
                        .map_err(map_error)?;
                    let members = rows
                        .iter()
                        .map(|row| Ok((sql_rows::membership(row)?, sql_rows::user(row)?)))
                        .collect::<plaza_db::StoreResult<Vec<_>>>()?;
                    Ok((members, u64::try_from(total).unwrap_or(0)))
                }

                async fn member_previews(
                    &self,
                    space_ids: &[plaza_db::ObjectId],
                    per_space: u32,
                ) -> plaza_db::StoreResult<Vec<(plaza_db::MembershipRecord, plaza_db::UserRecord)>> {
                    if space_ids.is_empty() {
                        return Ok(Vec::new());
                    }
                    let mut query = sqlx::QueryBuilder::<Db>::new(format!(
                        "SELECT * FROM (SELECT {}, {}, ROW_NUMBER() OVER (PARTITION BY m.space_id ORDER BY {}) AS rank_in_space \
                         FROM membership m JOIN app_user u ON u.user_id = m.user_id \
                         WHERE m.state = 'active' AND m.space_id IN (",
                        sql_rows::MEMBER_COLUMNS,
                        sql_rows::user_columns_of_u(),
                        sql_rows::MEMBER_ORDER
                    ));
                    let mut ids = query.separated(", ");
                    for id in space_ids {
                        ids.push_bind(id.to_string());
                    }
                    query.push(")) ranked WHERE rank_in_space <= ");
                    query.push_bind(i64::from(per_space));
                    let rows = query.build().fetch_all(self.reader()).await.map_err(map_error)?;
                    rows.iter().map(|row| Ok((sql_rows::membership(row)?, sql_rows::user(row)?))).collect()
                }

                async fn list_memberships(
                    &self,
                    user_id: plaza_db::ObjectId,
                    filter: &plaza_db::ListingFilter,
                    page: plaza_db::ListingPage,
                    limit: u32,
                ) -> plaza_db::StoreResult<Vec<(plaza_db::SpaceRecord, plaza_db::MembershipRecord)>> {
                    let column = if filter.by_last_message { "s.last_message_at" } else { "m.activity_at" };
                    // Kinds and statuses come from our enums, so they are spliced as literals.
                    let kinds = filter.kinds.iter().map(|k| format!("'{}'", k.as_str())).collect::<Vec<_>>().join(", ");
                    let statuses = filter.statuses.iter().map(|s| s.code().to_string()).collect::<Vec<_>>().join(", ");
                    let mut query = sqlx::QueryBuilder::<Db>::new(format!(
                        "SELECT {}, {} FROM membership m JOIN space s ON s.space_id = m.space_id WHERE m.user_id = ",
                        sql_rows::SPACE_COLUMNS,
                        sql_rows::MEMBER_COLUMNS
                    ));
                    query.push_bind(user_id.to_string());
                    if kinds.is_empty() || statuses.is_empty() {
                        return Ok(Vec::new());
                    }
                    query.push(format!(" AND s.kind IN ({kinds}) AND s.status IN ({statuses})"));
                    if filter.pinned_only {
                        query.push(" AND m.is_pinned = ").push_bind(true);
                    }
                    // Spaces a user left are gone from their list, deleted entries included.
                    query.push(" AND m.state <> 'left'");
                    if !filter.include_deleted {
                        query
                            .push(" AND m.state = 'active' AND m.hidden = ")
                            .push_bind(false)
                            .push(" AND NOT (s.status = 1 AND m.role <> 'admin')");
                    }
                    if let Some(after) = filter.after {
                        query
                            .push(" AND (m.activity_at > ")
                            .push_bind(after.millis())
                            .push(" OR m.modified > ")
                            .push_bind(after.millis())
                            .push(")");
                    }
                    let descending = match page {
                        plaza_db::ListingPage::Offset(_) | plaza_db::ListingPage::After(None) => true,
                        plaza_db::ListingPage::After(Some(cursor)) => {
                            query
                                .push(format!(" AND ({column}, m.space_id) < ("))
                                .push_bind(cursor.time)
                                .push(", ")
                                .push_bind(cursor.id.to_string())
                                .push(")");
                            true
                        }
                        plaza_db::ListingPage::Before(cursor) => {
                            query
                                .push(format!(" AND ({column}, m.space_id) > ("))
                                .push_bind(cursor.time)
                                .push(", ")
                                .push_bind(cursor.id.to_string())
                                .push(")");
                            false
                        }
                    };
                    let direction = if descending { "DESC" } else { "ASC" };
                    query.push(format!(" ORDER BY {column} {direction}, m.space_id {direction} LIMIT "));
                    query.push_bind(i64::from(limit));
                    if let plaza_db::ListingPage::Offset(offset) = page {
                        query.push(" OFFSET ").push_bind(i64::from(offset));
                    }
                    let rows = query.build().fetch_all(self.reader()).await.map_err(map_error)?;
                    let mut page_rows = rows
                        .iter()
                        .map(|row| Ok((sql_rows::space(row)?, sql_rows::membership(row)?)))
                        .collect::<plaza_db::StoreResult<Vec<_>>>()?;
                    if !descending {
                        page_rows.reverse();
                    }
                    Ok(page_rows)
                }

                async fn colleagues(
                    &self,
                    user_id: plaza_db::ObjectId,
                    search: Option<&str>,
                    offset: u32,
                    limit: u32,
                ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                    people(self.reader(), user_id, false, search, offset, limit).await
                }

                async fn direct_partners(
                    &self,
                    user_id: plaza_db::ObjectId,
                    search: Option<&str>,
                    offset: u32,
                    limit: u32,
                ) -> plaza_db::StoreResult<Vec<plaza_db::UserRecord>> {
                    people(self.reader(), user_id, true, search, offset, limit).await
                }


                async fn insert_invitation(
                    &self,
                    invitation: &plaza_db::InvitationRecord,
                ) -> plaza_db::StoreResult<()> {
                    let sql = format!(
                        "INSERT INTO invitation ({}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                        sql_rows::INVITATION_COLUMNS
                    );
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(invitation.id.to_string())
                        .bind(invitation.space_id.to_string())
                        .bind(&invitation.invitee_type)
                        .bind(&invitation.invitee)
                        .bind(invitation.role.as_str())
                        .bind(invitation.invited_by.to_string())
                        .bind(invitation.created.millis())
                        .bind(invitation.accepted_by.map(|id| id.to_string()))
                        .bind(invitation.accepted_at.map(plaza_db::Timestamp::millis))
                        .execute(self.writer())
                        .await
                        .map_err(map_error)?;
                    Ok(())
                }

                async fn invitation(
                    &self,
                    id: plaza_db::ObjectId,
                ) -> plaza_db::StoreResult<Option<plaza_db::InvitationRecord>> {
                    let sql = format!(
                        "SELECT {} FROM invitation WHERE invitation_id = $1",
                        sql_rows::INVITATION_COLUMNS
                    );
                    optional(self.reader(), sql, id.to_string(), sql_rows::invitation).await
                }

                async fn accept_invitation(
                    &self,
                    id: plaza_db::ObjectId,
                    user_id: plaza_db::ObjectId,
                    at: plaza_db::Timestamp,
                ) -> plaza_db::StoreResult<bool> {
                    let done = sqlx::query(
                        "UPDATE invitation SET accepted_by = $1, accepted_at = $2 \
                         WHERE invitation_id = $3 AND accepted_by IS NULL",
                    )
                    .bind(user_id.to_string())
                    .bind(at.millis())
                    .bind(id.to_string())
                    .execute(self.writer())
                    .await
                    .map_err(map_error)?;
                    Ok(done.rows_affected() == 1)
                }

            }
        };
    };
}
