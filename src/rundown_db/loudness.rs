//! The catalog's loudness measures as the air plan needs them: integrated loudness by the
//! source location a rundown item plays.
//!
//! Owns: one read of `media_files.loudness_lufs` per location (the most recently probed
//! row when a location was probed more than once). Does not own measuring (the catalog's
//! probe) or what the gain is (`air::loudness`).

use std::collections::HashMap;

use super::{DbDayStore, db};
use crate::rundown::store::StoreError;

impl DbDayStore {
    /// Integrated loudness (LUFS) of each of `sources` the catalog measured; sources it
    /// never measured are absent.
    pub async fn measured_loudness_async(
        &self,
        sources: &[String],
    ) -> Result<HashMap<String, f64>, StoreError> {
        let mut out = HashMap::new();
        for s in sources {
            if out.contains_key(s) {
                continue;
            }
            let v: Option<Option<f64>> = sqlx::query_scalar(
                "SELECT loudness_lufs FROM media_files WHERE location = $1 \
                 AND loudness_lufs IS NOT NULL ORDER BY probed_at_ms DESC LIMIT 1",
            )
            .bind(s)
            .fetch_optional(self.store.pool())
            .await
            .map_err(db)?;
            if let Some(Some(l)) = v {
                out.insert(s.clone(), l);
            }
        }
        Ok(out)
    }
}
