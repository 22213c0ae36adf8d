//! The backup and restore code both backends share (see `plaza_db::Backup`).

/// How a column's values travel in a backup.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    Boolean,
}

impl ColumnKind {
    /// The kind of a column declared with SQL type `declared`, if backups carry it.
    pub fn of(declared: &str) -> Option<ColumnKind> {
        match declared.to_ascii_lowercase().as_str() {
            "text" | "character varying" | "varchar" => Some(ColumnKind::Text),
            "bigint" | "integer" | "int" | "int8" | "int4" | "smallint" => {
                Some(ColumnKind::Integer)
            }
            "boolean" | "bool" => Some(ColumnKind::Boolean),
            _ => None,
        }
    }
}

/// `value` as this column kind expects it, whichever backend wrote it: SQLite keeps
/// flags as 0/1, PostgreSQL as booleans. `Err` names what does not fit.
pub enum Cell {
    Text(Option<String>),
    Integer(Option<i64>),
    Boolean(Option<bool>),
}

pub fn cell(kind: ColumnKind, value: &serde_json::Value) -> Result<Cell, String> {
    use serde_json::Value;
    Ok(match (kind, value) {
        (ColumnKind::Text, Value::Null) => Cell::Text(None),
        (ColumnKind::Text, Value::String(text)) => Cell::Text(Some(text.clone())),
        (ColumnKind::Integer, Value::Null) => Cell::Integer(None),
        (ColumnKind::Integer, Value::Number(n)) if n.is_i64() => Cell::Integer(n.as_i64()),
        (ColumnKind::Integer, Value::Bool(b)) => Cell::Integer(Some(i64::from(*b))),
        (ColumnKind::Boolean, Value::Null) => Cell::Boolean(None),
        (ColumnKind::Boolean, Value::Bool(b)) => Cell::Boolean(Some(*b)),
        (ColumnKind::Boolean, Value::Number(n)) if n.is_i64() => {
            Cell::Boolean(n.as_i64().map(|n| n != 0))
        }
        (kind, other) => return Err(format!("{other} is not a {kind:?} value")),
    })
}

/// Checks a backup table against the database's: every column must exist here.
/// Answers the kind of each of the backup's columns.
pub fn match_columns(
    table: &str,
    backup: &[String],
    here: &[(String, ColumnKind)],
) -> Result<Vec<ColumnKind>, String> {
    if !plaza_db::BACKUP_TABLES.contains(&table) {
        return Err(format!("the backup has a table {table:?} this version does not know"));
    }
    backup
        .iter()
        .map(|column| {
            here.iter()
                .find(|(name, _)| name == column)
                .map(|(_, kind)| *kind)
                .ok_or_else(|| format!("the backup's column {table}.{column} does not exist here"))
        })
        .collect()
}

/// The restore statement for `columns` of `table` (both checked against the schema).
pub fn insert_sql(table: &str, columns: &[String]) -> String {
    let placeholders: Vec<String> = (1..=columns.len()).map(|n| format!("${n}")).collect();
    format!("INSERT INTO {table} ({}) VALUES ({})", columns.join(", "), placeholders.join(", "))
}

/// The order rows are read in: comments after the posts and tasks they belong to.
pub fn order_by(table: &str) -> &'static str {
    if table == "message" { "ORDER BY parent_id IS NOT NULL, message_id" } else { "ORDER BY 1" }
}

/// What a backend tells the shared backup code beside [`crate::SqlBackend`].
pub trait SqlBackup: crate::SqlBackend {
    /// The backend's name in a backup's header.
    const BACKEND: &'static str;
    /// A statement that makes a transaction a consistent read-only snapshot, if BEGIN
    /// alone does not.
    const SNAPSHOT: Option<&'static str>;
    /// Statements run first in the restore transaction.
    const RESTORE_PREPARE: &'static [&'static str];
    /// Lists the schema's tables as `name`.
    const TABLES_SQL: &'static str;
    /// Lists a table's (`$1`) columns as `name` and `declared` type, in order.
    const COLUMNS_SQL: &'static str;
}

/// Implements `plaza_db::Backup` for `$store`, which implements [`SqlBackup`].
#[macro_export]
macro_rules! impl_sql_backup {
    ($store:ty) => {
        const _: () = {
            $crate::sql_prelude!($store);

            async fn backup_columns(
                conn: &mut <Db as sqlx::Database>::Connection,
                table: &str,
            ) -> plaza_db::StoreResult<Vec<(String, $crate::backup::ColumnKind)>> {
                use $crate::__private::sqlx::Row;
                let rows = sqlx::query(<$store as $crate::backup::SqlBackup>::COLUMNS_SQL)
                    .bind(table.to_owned())
                    .fetch_all(&mut *conn)
                    .await
                    .map_err(map_error)?;
                rows.iter()
                    .map(|row| {
                        let name: String = row.try_get("name").map_err(map_error)?;
                        let declared: String = row.try_get("declared").map_err(map_error)?;
                        let kind = $crate::backup::ColumnKind::of(&declared).ok_or_else(|| {
                            plaza_db::StoreError::other(format!(
                                "{table}.{name} has a type ({declared}) backups do not carry"
                            ))
                        })?;
                        Ok((name, kind))
                    })
                    .collect()
            }

            #[$crate::__private::async_trait]
            impl plaza_db::Backup for $store {
                fn backend(&self) -> &'static str {
                    <$store as $crate::backup::SqlBackup>::BACKEND
                }

                async fn schema_version(&self) -> plaza_db::StoreResult<i64> {
                    let version: Option<i64> =
                        sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations WHERE success")
                            .fetch_one(self.reader())
                            .await
                            .map_err(map_error)?;
                    Ok(version.unwrap_or(0))
                }

                async fn export(
                    &self,
                    sink: &mut (dyn plaza_db::BackupSink + Send),
                ) -> plaza_db::StoreResult<()> {
                    use $crate::__private::sqlx::Row;
                    use $crate::backup::ColumnKind;
                    let mut tx = self.reader().begin().await.map_err(map_error)?;
                    if let Some(snapshot) = <$store as $crate::backup::SqlBackup>::SNAPSHOT {
                        sqlx::query(snapshot).execute(&mut *tx).await.map_err(map_error)?;
                    }
                    let tables: Vec<String> =
                        sqlx::query_scalar(<$store as $crate::backup::SqlBackup>::TABLES_SQL).fetch_all(&mut *tx).await.map_err(map_error)?;
                    if let Some(unknown) =
                        tables.iter().find(|t| !plaza_db::BACKUP_TABLES.contains(&t.as_str()))
                    {
                        return Err(plaza_db::StoreError::other(format!(
                            "table {unknown} is not in plaza_db::BACKUP_TABLES: backups would miss it"
                        )));
                    }
                    for table in plaza_db::BACKUP_TABLES {
                        let columns = backup_columns(&mut tx, table).await?;
                        let names: Vec<String> = columns.iter().map(|(n, _)| n.clone()).collect();
                        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                            "SELECT COUNT(*) FROM {table}"
                        )))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_error)?;
                        sink.table(table, &names, u64::try_from(count).unwrap_or(0))?;
                        let sql = format!(
                            "SELECT {} FROM {table} {}",
                            names.join(", "),
                            $crate::backup::order_by(table)
                        );
                        let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
                        while let Some(row) =
                            $crate::__private::futures_util::TryStreamExt::try_next(&mut rows).await.map_err(map_error)?
                        {
                            let mut values = Vec::with_capacity(columns.len());
                            for (index, (_, kind)) in columns.iter().enumerate() {
                                let value = match kind {
                                    ColumnKind::Text => {
                                        $crate::__private::serde_json::json!(
                                            row.try_get::<Option<String>, _>(index)
                                                .map_err(map_error)?
                                        )
                                    }
                                    ColumnKind::Integer => {
                                        $crate::__private::serde_json::json!(
                                            row.try_get::<Option<i64>, _>(index).map_err(map_error)?
                                        )
                                    }
                                    ColumnKind::Boolean => {
                                        $crate::__private::serde_json::json!(
                                            row.try_get::<Option<bool>, _>(index).map_err(map_error)?
                                        )
                                    }
                                };
                                values.push(value);
                            }
                            sink.row(values)?;
                        }
                    }
                    tx.commit().await.map_err(map_error)?;
                    Ok(())
                }

                async fn import(
                    &self,
                    source: &mut (dyn plaza_db::BackupSource + Send),
                ) -> plaza_db::StoreResult<u64> {
                    use $crate::backup::{Cell, ColumnKind};
                    let invalid = |message: String| plaza_db::StoreError::other(message);
                    let mut tx = self.writer().begin().await.map_err(map_error)?;
                    for statement in <$store as $crate::backup::SqlBackup>::RESTORE_PREPARE {
                        sqlx::query(*statement).execute(&mut *tx).await.map_err(map_error)?;
                    }
                    for table in ["app_user", "space", "message"] {
                        let count: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                            "SELECT COUNT(*) FROM {table}"
                        )))
                        .fetch_one(&mut *tx)
                        .await
                        .map_err(map_error)?;
                        if count > 0 {
                            return Err(invalid(format!(
                                "the database already has data ({table}); restore into a new one"
                            )));
                        }
                    }
                    // Rows the migrations seeded are replaced by the backup's.
                    sqlx::query("DELETE FROM plaza_meta").execute(&mut *tx).await.map_err(map_error)?;
                    let mut current: Option<(String, Vec<ColumnKind>)> = None;
                    let mut loaded = 0u64;
                    while let Some(item) = source.next_item()? {
                        match item {
                            plaza_db::BackupItem::Table { name, columns } => {
                                let here = backup_columns(&mut tx, &name).await?;
                                let kinds = $crate::backup::match_columns(&name, &columns, &here)
                                    .map_err(invalid)?;
                                current = Some(($crate::backup::insert_sql(&name, &columns), kinds));
                            }
                            plaza_db::BackupItem::Row(values) => {
                                let Some((sql, kinds)) = &current else {
                                    return Err(invalid("a row comes before any table".to_owned()));
                                };
                                if values.len() != kinds.len() {
                                    return Err(invalid(format!(
                                        "a row has {} values for {} columns",
                                        values.len(),
                                        kinds.len()
                                    )));
                                }
                                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
                                for (kind, value) in kinds.iter().zip(&values) {
                                    query = match $crate::backup::cell(*kind, value).map_err(invalid)? {
                                        Cell::Text(text) => query.bind(text),
                                        Cell::Integer(number) => query.bind(number),
                                        Cell::Boolean(flag) => query.bind(flag),
                                    };
                                }
                                query.execute(&mut *tx).await.map_err(map_error)?;
                                loaded += 1;
                            }
                        }
                    }
                    tx.commit().await.map_err(map_error)?;
                    Ok(loaded)
                }
            }
        };
    };
}
