//! 活动参与证明 (certificates of participation): every work that went on air during the
//! edition earns one, listing its airings from the as-run log, with a verification code that
//! anyone can check at `/verify/{code}`.
//!
//! - [`code`]: the 16-character HMAC-SHA256 codes (pure);
//! - [`model`]: what a certificate says, in Beijing time (pure);
//! - [`store`]: the server secret and the issued certificates;
//! - [`html`] and [`pdf`]: the printable A4 page and the PDF, and the public verify page.
//!
//! [`Certificates`] issues: a work with at least one ended airing that is not `missed` gets
//! a certificate; when a new airing changes what it attests, the next request issues a new
//! one with a new code, and the old codes stay valid. On the daemon the lease holder also
//! issues them as airings complete ([`job`], fenced by the lease's epoch, so once across the
//! pair).
//!
//! On the production pair every certificate write is fenced, the ones asked for through the
//! API too ([`Certificates::issued_under`]): the leader writes under its epoch (refused by
//! the database once another node holds the lease); a node that does not lead writes
//! nothing — it answers with a certificate already issued for the same facts, and otherwise
//! refuses with [`Error::Unavailable`] naming the leader (the leader's job issues the
//! certificate within a second of the airing's end, after which every node answers with
//! it). A single node has no lease and issues on request. Reads the catalog and the as-run
//! log, never changes them. Knows nothing of HTTP or roles (that is `web::certificate`).

pub mod code;
pub mod html;
pub mod job;
pub mod model;
pub mod pdf;
pub mod store;

use crate::asrun::{Airing, AsRunLog, AsRunQuery};
use crate::catalog::Catalog;
use crate::cluster::Leader;
use crate::store::{Error, Result, now_ms};
use code::SECRET_LEN;
pub use model::Certificate;
use model::Draft;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// The refusal of a node that does not lead: 503 in Chinese, naming the node that leads
/// (from [`Certificates::leader_now`]) when the database says one does.
fn not_leader(now: Option<Option<(String, i64)>>) -> Error {
    Error::Unavailable(match now {
        Some(Some((node, _))) => format!(
            "本节点不是主控节点，不签发活动参与证明：证明由主控节点「{node}」签发，\
             请向该节点请求，或稍后重试（签发后各节点均可查到）"
        ),
        Some(None) => {
            "目前没有主控节点（租约空缺），活动参与证明暂不能签发，请稍后重试".to_string()
        }
        None => {
            "本节点不是主控节点，且无法查到主控节点：活动参与证明暂不能签发，请稍后重试".to_string()
        }
    })
}

/// Issues and checks certificates. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Certificates {
    catalog: Catalog,
    asrun: AsRunLog,
    secret: Arc<OnceCell<[u8; SECRET_LEN]>>,
    /// Who may write certificates: the pair's lease (writes fenced by its epoch), or always
    /// (a single node).
    leader: Leader,
    /// Fault drill only: how long an issue on request waits between reading and writing.
    hold: Duration,
}

impl Certificates {
    /// Certificates for the works of `catalog` that aired according to `asrun`.
    pub fn new(catalog: Catalog, asrun: AsRunLog) -> Self {
        Self {
            catalog,
            asrun,
            secret: Arc::new(OnceCell::new()),
            leader: Leader::always(),
            hold: Duration::ZERO,
        }
    }

    /// Certificates issued on request only while `leader` leads, each written under its
    /// epoch ([`crate::cluster::fence`]); a node that does not lead answers with what is
    /// already issued and refuses to issue anything new (`Unavailable`, naming the leader).
    /// `hold` is the fault drill's pause between reading and writing (zero in service).
    pub fn issued_under(mut self, leader: Leader, hold: Duration) -> Self {
        self.leader = leader;
        self.hold = hold;
        self
    }

    async fn secret(&self) -> Result<[u8; SECRET_LEN]> {
        self.secret
            .get_or_try_init(|| store::secret(self.catalog.store()))
            .await
            .copied()
    }

    /// The edition's full name, e.g. 2026年「科普之光」全国科普月大型网络展播.
    pub fn edition_name(&self) -> String {
        let e = &self.catalog.edition().edition;
        format!("{}年{}", e.year, e.name)
    }

    /// The current certificate of a work, issued now if its airings changed since the last
    /// one; `None` when it has not aired (or belongs to another edition). 404 for no work.
    pub async fn for_work(&self, work_id: i64) -> Result<Option<Certificate>> {
        // Main and backup both record an airing: it counts once.
        let airings = crate::asrun::once_per_airing(
            self.asrun
                .query(&AsRunQuery {
                    work: Some(work_id),
                    ..AsRunQuery::default()
                })
                .await?,
        );
        // The work must exist even when it has no airing (a clear 404 for a wrong id).
        let work = self.catalog.work(work_id).await?;
        self.issue(work, &airings).await
    }

    /// The unit of a work (404 for no work): lets callers scope before anything is issued.
    pub async fn unit_of(&self, work_id: i64) -> Result<i64> {
        Ok(self.catalog.work_row(work_id).await?.unit_id)
    }

    /// The current certificates of every work that aired, optionally of one unit, by work id.
    pub async fn for_all(&self, unit: Option<i64>) -> Result<Vec<Certificate>> {
        let mut out = Vec::new();
        for (work, airings) in self.aired(unit).await? {
            out.extend(self.issue(work, &airings).await?);
        }
        Ok(out)
    }

    /// The issuing job's pass ([`job`]): every work that aired gets its current certificate,
    /// each written under `fence` (refused with `Conflict` once another node holds the
    /// lease). `hold` (a fault drill; zero otherwise) waits between reading and writing.
    /// Returns how many certificates were newly stored.
    pub async fn issue_all_fenced(
        &self,
        fence: &crate::cluster::fence::Fence,
        hold: std::time::Duration,
    ) -> Result<usize> {
        let secret = self.secret().await?;
        let mut fresh = Vec::new();
        for (work, airings) in self.aired(None).await? {
            if let Some(c) = self.draft(work, &airings, &secret).await?
                && store::by_code(self.catalog.store(), &c.code, &secret)
                    .await?
                    .is_none()
            {
                fresh.push(c);
            }
        }
        if fresh.is_empty() {
            return Ok(0);
        }
        if !hold.is_zero() {
            tracing::warn!(epoch = ?fence.epoch(), certificates = fresh.len(), hold_ms = hold.as_millis() as u64, "drill: the certificate job holds its certificates before writing");
            tokio::time::sleep(hold).await;
        }
        for c in &fresh {
            store::save_fenced(self.catalog.store(), c, &secret, fence).await?;
        }
        Ok(fresh.len())
    }

    /// The works that aired (optionally of one unit) with their airings counted once.
    async fn aired(
        &self,
        unit: Option<i64>,
    ) -> Result<Vec<(crate::catalog::repo::Work, Vec<Airing>)>> {
        let rows = crate::asrun::once_per_airing(self.asrun.query(&AsRunQuery::default()).await?);
        let mut by_work: BTreeMap<i64, Vec<Airing>> = BTreeMap::new();
        for a in rows.into_iter().filter(model::counts) {
            if let Some(w) = a.work_id {
                by_work.entry(w).or_default().push(a);
            }
        }
        let mut out = Vec::new();
        for (work_id, airings) in by_work {
            let work = match self.catalog.work(work_id).await {
                Ok(w) => w,
                // An as-run row of a work no longer in the catalog earns nothing.
                Err(Error::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            };
            if unit.is_some_and(|u| u != work.unit_id) {
                continue;
            }
            out.push((work, airings));
        }
        Ok(out)
    }

    async fn issue(
        &self,
        work: crate::catalog::repo::Work,
        airings: &[Airing],
    ) -> Result<Option<Certificate>> {
        let secret = self.secret().await?;
        let Some(fresh) = self.draft(work, airings, &secret).await? else {
            return Ok(None);
        };
        // Same facts as an issued certificate: that one (its code and issue date) stands.
        if let Some(issued) = store::by_code(self.catalog.store(), &fresh.code, &secret).await? {
            return Ok(Some(issued));
        }
        // A new certificate is written only by the node that leads, under its epoch.
        let Some(fence) = self.leader.fence() else {
            return Err(not_leader(self.leader_now().await));
        };
        if !self.hold.is_zero() {
            tracing::warn!(epoch = ?fence.epoch(), work = fresh.work_id, hold_ms = self.hold.as_millis() as u64, "drill: a certificate request holds its certificate before writing");
            tokio::time::sleep(self.hold).await;
        }
        match store::save_fenced(self.catalog.store(), &fresh, &secret, &fence).await {
            // Refused by the fence (another node leads now: it issues; ask it, or again) —
            // unless the lease is still this epoch's, which makes it a clash of codes.
            Err(Error::Conflict(why)) if fence.epoch().is_some() => {
                let now = self.leader_now().await;
                if matches!(&now, Some(Some((_, e))) if Some(*e) == fence.epoch()) {
                    return Err(Error::Conflict(why));
                }
                tracing::warn!(epoch = ?fence.epoch(), work = fresh.work_id, reason = %why, "certificate request refused: this node no longer leads");
                Err(not_leader(now))
            }
            r => r.map(Some),
        }
    }

    /// Who leads now by the database (`(node, epoch)`; `Some(None)`: nobody), or `None`
    /// when it cannot say within 2 s.
    async fn leader_now(&self) -> Option<Option<(String, i64)>> {
        let job = self.leader.job().unwrap_or("jobs");
        tokio::time::timeout(
            Duration::from_secs(2),
            crate::cluster::lease::current_holder(self.catalog.store(), job),
        )
        .await
        .ok()?
        .ok()
    }

    /// The certificate `work` earns by `airings` now (not stored); `None` when none.
    async fn draft(
        &self,
        work: crate::catalog::repo::Work,
        airings: &[Airing],
        secret: &[u8; SECRET_LEN],
    ) -> Result<Option<Certificate>> {
        if work.edition_year != i64::from(self.catalog.edition().edition.year)
            || !airings.iter().any(model::counts)
        {
            return Ok(None);
        }
        let unit = self.catalog.unit(work.unit_id).await?;
        let draft = Draft {
            work_id: work.id,
            unit_id: work.unit_id,
            title: work.title,
            unit_name: unit.name,
            copyright_holder: work.copyright_holder,
            edition: self.edition_name(),
        };
        Ok(Certificate::issue(draft, airings, secret, now_ms()))
    }

    /// The certificate with this code, if it was issued and still checks out (lookup and
    /// HMAC re-check). Accepts the code as people type it (case, dashes, spaces).
    pub async fn verify(&self, input: &str) -> Result<Option<Certificate>> {
        let Some(code) = code::normalize(input) else {
            return Ok(None);
        };
        let secret = self.secret().await?;
        store::by_code(self.catalog.store(), &code, &secret).await
    }
}
