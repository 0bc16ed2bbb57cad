//! Storage of catalog records: parametrised SQL over the store's pool, one small function per
//! statement, plus the `Catalog` methods that wrap them in transactions. It owns the mapping
//! between rows and model types; it does not decide workflow (see `workflow`) or parse files.

use super::Catalog;
use super::model::*;
use crate::store::{Error, Result, now_ms};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

/// What an upsert did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A new record.
    Inserted,
    /// An existing record changed.
    Updated,
    /// Identical to what was stored: nothing written.
    Unchanged,
}

/// A work as the CLI and API show it (categories as ids and names, flags as booleans).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Work {
    /// Row id.
    pub id: i64,
    /// Submitting unit.
    pub unit_id: i64,
    /// Edition year.
    pub edition_year: i64,
    /// 作品名称.
    pub title: String,
    /// Category ids.
    pub categories: Vec<u8>,
    /// Category names (Chinese).
    pub category_names: Vec<String>,
    /// Declared duration, ms.
    pub declared_duration_ms: Option<i64>,
    /// 版权方.
    pub copyright_holder: Option<String>,
    /// 视频内容简介.
    pub summary: Option<String>,
    /// finished / to_be_produced / highlights.
    pub production_status: String,
    /// Due date, YYYY-MM-DD.
    pub due_date: Option<String>,
    /// AI-generated content declared.
    pub ai_generated: bool,
    /// Subtitles declared.
    pub has_subtitles: bool,
    /// Rights confirmation on file: who.
    pub rights_confirmed_by: Option<String>,
    /// Rights confirmation on file: when (ms UTC).
    pub rights_confirmed_at_ms: Option<i64>,
    /// Workflow state.
    pub state: String,
    /// Workflow state in Chinese.
    pub state_label: &'static str,
    /// Submitted after the deadline.
    pub late: bool,
    /// Submission date.
    pub submitted_on: String,
    /// Created, ms UTC.
    pub created_at_ms: i64,
    /// Last change, ms UTC.
    pub updated_at_ms: i64,
}

impl Work {
    /// A stored row for people, its category names from `edition` (the names the edition's
    /// collection form prints).
    pub fn from_row(r: WorkRow, edition: &crate::edition::Edition) -> Self {
        let categories = categories_from_db(&r.categories);
        let category_names = categories
            .iter()
            .filter_map(|c| edition.category(*c).map(|c| c.name.clone()))
            .collect();
        let state_label = r
            .state
            .parse::<WorkState>()
            .map(WorkState::label)
            .unwrap_or("未知");
        Self {
            id: r.id,
            unit_id: r.unit_id,
            edition_year: r.edition_year,
            title: r.title,
            categories,
            category_names,
            declared_duration_ms: r.declared_duration_ms,
            copyright_holder: r.copyright_holder,
            summary: r.summary,
            production_status: r.production_status,
            due_date: r.due_date,
            ai_generated: r.ai_generated != 0,
            has_subtitles: r.has_subtitles != 0,
            rights_confirmed_by: r.rights_confirmed_by,
            rights_confirmed_at_ms: r.rights_confirmed_at_ms,
            state: r.state,
            state_label,
            late: r.late != 0,
            submitted_on: r.submitted_on,
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
        }
    }
}

/// Hex SHA-256 of a serializable value: the content key that makes re-imports idempotent.
pub fn content_key<T: Serialize>(v: &T) -> String {
    let bytes = serde_json::to_vec(v).unwrap_or_default();
    Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn opt(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Appends one state change to the history.
pub async fn history_add(
    conn: &mut AnyConnection,
    entity: &str,
    entity_id: i64,
    from: Option<&str>,
    to: &str,
    actor: &str,
    note: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO state_history (entity, entity_id, from_state, to_state, actor, note, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(entity)
    .bind(entity_id)
    .bind(from)
    .bind(to)
    .bind(actor)
    .bind(note)
    .bind(now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

/// Inserts a unit, or fills in / updates the contact fields of the unit with that name.
pub async fn unit_upsert(conn: &mut AnyConnection, u: &NewUnit) -> Result<(i64, Outcome)> {
    let now = now_ms();
    let name = u.name.trim();
    let existing: Option<Unit> = sqlx::query_as("SELECT * FROM units WHERE name = $1")
        .bind(name)
        .fetch_optional(&mut *conn)
        .await?;
    let st = u.supervisor_type.map(|t| t.as_str().to_string());
    let Some(old) = existing else {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO units (name, supervisor_name, supervisor_type, contact_name, contact_title, \
             contact_phone, contact_email, created_at_ms, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id",
        )
        .bind(name)
        .bind(opt(&u.supervisor_name))
        .bind(st.as_deref())
        .bind(opt(&u.contact_name))
        .bind(opt(&u.contact_title))
        .bind(opt(&u.contact_phone))
        .bind(opt(&u.contact_email))
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        return Ok((id, Outcome::Inserted));
    };
    // A value given in the input wins; an empty one keeps what is stored.
    let pick = |new: Option<&str>, old: &Option<String>| new.map(str::to_string).or(old.clone());
    let merged = Unit {
        supervisor_name: pick(opt(&u.supervisor_name), &old.supervisor_name),
        supervisor_type: pick(st.as_deref(), &old.supervisor_type),
        contact_name: pick(opt(&u.contact_name), &old.contact_name),
        contact_title: pick(opt(&u.contact_title), &old.contact_title),
        contact_phone: pick(opt(&u.contact_phone), &old.contact_phone),
        contact_email: pick(opt(&u.contact_email), &old.contact_email),
        ..old.clone()
    };
    if merged == old {
        return Ok((old.id, Outcome::Unchanged));
    }
    sqlx::query(
        "UPDATE units SET supervisor_name = $1, supervisor_type = $2, contact_name = $3, \
         contact_title = $4, contact_phone = $5, contact_email = $6, updated_at_ms = $7 WHERE id = $8",
    )
    .bind(&merged.supervisor_name)
    .bind(&merged.supervisor_type)
    .bind(&merged.contact_name)
    .bind(&merged.contact_title)
    .bind(&merged.contact_phone)
    .bind(&merged.contact_email)
    .bind(now)
    .bind(old.id)
    .execute(&mut *conn)
    .await?;
    Ok((old.id, Outcome::Updated))
}

/// Facts about a work decided by the caller (edition, lateness) rather than the submitter.
pub struct WorkContext<'a> {
    /// Edition year.
    pub edition_year: i64,
    /// Submission date, YYYY-MM-DD.
    pub submitted_on: &'a str,
    /// Past the deadline.
    pub late: bool,
    /// Who records it.
    pub actor: &'a str,
}

/// Inserts a work, or updates the work of the same unit, edition and title when its submitted
/// fields changed; identical input writes nothing.
pub async fn work_upsert(
    conn: &mut AnyConnection,
    w: &NewWork,
    cx: &WorkContext<'_>,
) -> Result<(i64, Outcome)> {
    let now = now_ms();
    let key = content_key(&NewWork {
        submitted_on: None,
        ..w.clone()
    });
    let title = w.title.trim();
    let existing: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, content_key FROM works WHERE unit_id = $1 AND edition_year = $2 AND title = $3",
    )
    .bind(w.unit_id)
    .bind(cx.edition_year)
    .bind(title)
    .fetch_optional(&mut *conn)
    .await?;
    let cats = categories_to_db(&w.categories);
    match existing {
        Some((id, old_key)) if old_key == key => Ok((id, Outcome::Unchanged)),
        Some((id, _)) => {
            sqlx::query(
                "UPDATE works SET categories = $1, declared_duration_ms = $2, copyright_holder = $3, \
                 summary = $4, production_status = $5, due_date = $6, ai_generated = $7, \
                 has_subtitles = $8, content_key = $9, updated_at_ms = $10 WHERE id = $11",
            )
            .bind(&cats)
            .bind(w.declared_duration_ms)
            .bind(opt(&w.copyright_holder))
            .bind(opt(&w.summary))
            .bind(w.production_status.as_str())
            .bind(opt(&w.due_date))
            .bind(i64::from(w.ai_generated))
            .bind(i64::from(w.has_subtitles))
            .bind(&key)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            history_add(
                conn,
                "work",
                id,
                None,
                "submitted",
                cx.actor,
                Some("报送信息已更新"),
            )
            .await?;
            Ok((id, Outcome::Updated))
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO works (unit_id, edition_year, title, categories, declared_duration_ms, \
                 copyright_holder, summary, production_status, due_date, ai_generated, has_subtitles, \
                 state, late, submitted_on, content_key, created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'submitted', $12, $13, $14, $15, $15) \
                 RETURNING id",
            )
            .bind(w.unit_id)
            .bind(cx.edition_year)
            .bind(title)
            .bind(&cats)
            .bind(w.declared_duration_ms)
            .bind(opt(&w.copyright_holder))
            .bind(opt(&w.summary))
            .bind(w.production_status.as_str())
            .bind(opt(&w.due_date))
            .bind(i64::from(w.ai_generated))
            .bind(i64::from(w.has_subtitles))
            .bind(i64::from(cx.late))
            .bind(cx.submitted_on)
            .bind(&key)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            let note = cx.late.then_some("逾期报送（已标记，未拒收）");
            history_add(conn, "work", id, None, "submitted", cx.actor, note).await?;
            Ok((id, Outcome::Inserted))
        }
    }
}

/// Attaches a file location to a work unless already attached.
pub async fn file_attach(
    conn: &mut AnyConnection,
    work_id: i64,
    location: &str,
) -> Result<(i64, Outcome)> {
    let loc = location.trim();
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT id FROM media_files WHERE work_id = $1 AND location = $2")
            .bind(work_id)
            .bind(loc)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some(id) = existing {
        return Ok((id, Outcome::Unchanged));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO media_files (work_id, location, created_at_ms) VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(work_id)
    .bind(loc)
    .bind(now_ms())
    .fetch_one(&mut *conn)
    .await?;
    Ok((id, Outcome::Inserted))
}

/// Input for a lead.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLead {
    /// Proposing unit.
    pub unit_id: i64,
    /// 线索名称.
    pub name: String,
    /// Categories 1–9 (may be empty for a lead).
    #[serde(default)]
    pub categories: Vec<u8>,
    /// 科普价值、传播亮点及可拍摄内容.
    #[serde(default)]
    pub description: Option<String>,
}

/// Inserts a lead or updates the lead of the same unit, edition and name.
pub async fn lead_upsert(
    conn: &mut AnyConnection,
    l: &NewLead,
    edition_year: i64,
    actor: &str,
) -> Result<(i64, Outcome)> {
    let now = now_ms();
    let key = content_key(l);
    let name = l.name.trim();
    let existing: Option<(i64, String)> = sqlx::query_as(
        "SELECT id, content_key FROM leads WHERE unit_id = $1 AND edition_year = $2 AND name = $3",
    )
    .bind(l.unit_id)
    .bind(edition_year)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    let cats = categories_to_db(&l.categories);
    match existing {
        Some((id, k)) if k == key => Ok((id, Outcome::Unchanged)),
        Some((id, _)) => {
            sqlx::query(
                "UPDATE leads SET categories = $1, description = $2, content_key = $3, updated_at_ms = $4 \
                 WHERE id = $5",
            )
            .bind(&cats)
            .bind(opt(&l.description))
            .bind(&key)
            .bind(now)
            .bind(id)
            .execute(&mut *conn)
            .await?;
            Ok((id, Outcome::Updated))
        }
        None => {
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO leads (unit_id, edition_year, name, categories, description, state, \
                 content_key, created_at_ms, updated_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $7, $7) RETURNING id",
            )
            .bind(l.unit_id)
            .bind(edition_year)
            .bind(name)
            .bind(&cats)
            .bind(opt(&l.description))
            .bind(&key)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
            history_add(conn, "lead", id, None, "proposed", actor, None).await?;
            Ok((id, Outcome::Inserted))
        }
    }
}

impl Catalog {
    /// Creates a unit; a unit of the same name is a conflict.
    pub async fn create_unit(&self, u: &NewUnit) -> Result<Unit> {
        u.validate()?;
        let mut tx = self.store.pool().begin().await?;
        let taken: Option<i64> = sqlx::query_scalar("SELECT id FROM units WHERE name = $1")
            .bind(u.name.trim())
            .fetch_optional(&mut *tx)
            .await?;
        if taken.is_some() {
            return Err(Error::Conflict(format!(
                "报送单位「{}」已存在",
                u.name.trim()
            )));
        }
        let (id, _) = unit_upsert(&mut tx, u).await?;
        tx.commit().await?;
        self.unit(id).await
    }

    /// One unit.
    pub async fn unit(&self, id: i64) -> Result<Unit> {
        sqlx::query_as("SELECT * FROM units WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| Error::not_found("报送单位", id))
    }

    /// All units by name.
    pub async fn units(&self) -> Result<Vec<Unit>> {
        Ok(sqlx::query_as("SELECT * FROM units ORDER BY name")
            .fetch_all(self.store.pool())
            .await?)
    }

    /// Creates a work for this edition (flagging it late when past the deadline).
    pub async fn create_work(&self, w: &NewWork, actor: &str) -> Result<Work> {
        w.validate()?;
        self.unit(w.unit_id)
            .await
            .map_err(|_| Error::invalid("unit_id", format!("报送单位 {} 不存在", w.unit_id)))?;
        let (submitted_on, late) = self.submission_date(w)?;
        let mut tx = self.store.pool().begin().await?;
        let dup: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM works WHERE unit_id = $1 AND edition_year = $2 AND title = $3",
        )
        .bind(w.unit_id)
        .bind(i64::from(self.edition.edition.year))
        .bind(w.title.trim())
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(id) = dup {
            return Err(Error::Conflict(format!(
                "该单位已报送同名作品（作品 {id}）"
            )));
        }
        let cx = WorkContext {
            edition_year: i64::from(self.edition.edition.year),
            submitted_on: &submitted_on,
            late,
            actor,
        };
        let (id, _) = work_upsert(&mut tx, w, &cx).await?;
        tx.commit().await?;
        self.work(id).await
    }

    /// The submission date of `w` (today in Asia/Shanghai when absent) and whether it is late.
    pub fn submission_date(&self, w: &NewWork) -> Result<(String, bool)> {
        let date = match &w.submitted_on {
            Some(d) => parse_date("submitted_on", d)?,
            None => chrono::Utc::now()
                .with_timezone(&chrono_tz::Asia::Shanghai)
                .date_naive(),
        };
        let late = date > self.edition.deadline(w.production_status.into());
        Ok((date.format("%Y-%m-%d").to_string(), late))
    }

    /// One work.
    pub async fn work(&self, id: i64) -> Result<Work> {
        Ok(Work::from_row(self.work_row(id).await?, &self.edition))
    }

    /// One work as stored.
    pub async fn work_row(&self, id: i64) -> Result<WorkRow> {
        sqlx::query_as("SELECT * FROM works WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| Error::not_found("作品", id))
    }

    /// Works of this edition, optionally in one state, by id.
    pub async fn works(&self, state: Option<WorkState>) -> Result<Vec<Work>> {
        let year = i64::from(self.edition.edition.year);
        let rows: Vec<WorkRow> = match state {
            Some(s) => {
                sqlx::query_as(
                    "SELECT * FROM works WHERE edition_year = $1 AND state = $2 ORDER BY id",
                )
                .bind(year)
                .bind(s.as_str())
                .fetch_all(self.store.pool())
                .await?
            }
            None => {
                sqlx::query_as("SELECT * FROM works WHERE edition_year = $1 ORDER BY id")
                    .bind(year)
                    .fetch_all(self.store.pool())
                    .await?
            }
        };
        Ok(rows
            .into_iter()
            .map(|r| Work::from_row(r, &self.edition))
            .collect())
    }

    /// Attaches a file (path or URL) to a work.
    pub async fn attach_file(&self, work_id: i64, location: &str) -> Result<MediaFileRow> {
        if location.trim().is_empty() {
            return Err(Error::invalid("location", "文件路径或网址不能为空"));
        }
        self.work_row(work_id).await?;
        let mut conn = self.store.pool().acquire().await?;
        let (id, _) = file_attach(&mut conn, work_id, location).await?;
        drop(conn);
        self.file(id).await
    }

    /// One media file.
    pub async fn file(&self, id: i64) -> Result<MediaFileRow> {
        sqlx::query_as("SELECT * FROM media_files WHERE id = $1")
            .bind(id)
            .fetch_optional(self.store.pool())
            .await?
            .ok_or_else(|| Error::not_found("视频文件", id))
    }

    /// Files of one work.
    pub async fn files_of(&self, work_id: i64) -> Result<Vec<MediaFileRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM media_files WHERE work_id = $1 ORDER BY id")
                .bind(work_id)
                .fetch_all(self.store.pool())
                .await?,
        )
    }

    /// Files of this edition never probed.
    pub async fn unprobed_files(&self) -> Result<Vec<MediaFileRow>> {
        Ok(sqlx::query_as(
            "SELECT f.* FROM media_files f JOIN works w ON w.id = f.work_id \
             WHERE w.edition_year = $1 AND f.probed_at_ms IS NULL ORDER BY f.id",
        )
        .bind(i64::from(self.edition.edition.year))
        .fetch_all(self.store.pool())
        .await?)
    }

    /// Creates (or updates) a lead of this edition.
    pub async fn create_lead(&self, l: &NewLead, actor: &str) -> Result<LeadRow> {
        if l.name.trim().is_empty() {
            return Err(Error::invalid("name", "线索名称不能为空"));
        }
        if let Some(c) = l.categories.iter().find(|c| !(1..=9).contains(*c)) {
            return Err(Error::invalid(
                "categories",
                format!("视频类别 {c} 不存在（1–9）"),
            ));
        }
        self.unit(l.unit_id)
            .await
            .map_err(|_| Error::invalid("unit_id", format!("报送单位 {} 不存在", l.unit_id)))?;
        let mut tx = self.store.pool().begin().await?;
        let (id, _) = lead_upsert(&mut tx, l, i64::from(self.edition.edition.year), actor).await?;
        tx.commit().await?;
        Ok(sqlx::query_as("SELECT * FROM leads WHERE id = $1")
            .bind(id)
            .fetch_one(self.store.pool())
            .await?)
    }

    /// Leads of this edition.
    pub async fn leads(&self) -> Result<Vec<LeadRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM leads WHERE edition_year = $1 ORDER BY id")
                .bind(i64::from(self.edition.edition.year))
                .fetch_all(self.store.pool())
                .await?,
        )
    }

    /// Reviews of one work, oldest first.
    pub async fn reviews_of(&self, work_id: i64) -> Result<Vec<ReviewRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM reviews WHERE work_id = $1 ORDER BY id")
                .bind(work_id)
                .fetch_all(self.store.pool())
                .await?,
        )
    }

    /// State history of one work, oldest first.
    pub async fn history_of(&self, work_id: i64) -> Result<Vec<HistoryRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM state_history WHERE entity = 'work' AND entity_id = $1 ORDER BY id",
        )
        .bind(work_id)
        .fetch_all(self.store.pool())
        .await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn category_names_are_the_editions() {
        let mut e = crate::edition::Edition::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/schedules/editions/2026.toml"
        )))
        .expect("edition");
        e.categories[7].name = "慢直播科普视频（新名称）".into();
        let row = WorkRow {
            id: 1,
            unit_id: 1,
            edition_year: 2026,
            title: "t".into(),
            categories: "3,8".into(),
            declared_duration_ms: None,
            copyright_holder: None,
            summary: None,
            production_status: "finished".into(),
            due_date: None,
            ai_generated: 0,
            has_subtitles: 0,
            rights_confirmed_by: None,
            rights_confirmed_at_ms: None,
            state: "submitted".into(),
            late: 0,
            submitted_on: "2026-07-01".into(),
            content_key: String::new(),
            created_at_ms: 0,
            updated_at_ms: 0,
        };
        let w = Work::from_row(row, &e);
        assert_eq!(
            w.category_names,
            ["大国重器类科普视频", "慢直播科普视频（新名称）"]
        );
    }
}
