//! Photo completeness for the supervisor's progress view: per enumerator and per village, over the latest
//! revision of each visit in the supervisor's regions, how many visits reference photos, how many of those have
//! every photo stored on the server, and the photos referenced and arrived.

use std::collections::BTreeMap;

use crate::db::sql::{Transaction, params};
use serde::{Deserialize, Serialize};

use crate::db::DbError;
use crate::regions::{self, scope_sql};

/// Photo counts of a set of visits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoCounts {
    /// Visits whose latest revision references at least one photo.
    pub visits_with_photos: u32,
    /// Of those, visits whose every photo has arrived.
    pub visits_complete: u32,
    /// Photos the visits reference.
    pub photos: u32,
    /// Of those, photos stored on the server.
    pub photos_arrived: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumeratorPhotos {
    pub user_id: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: PhotoCounts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VillagePhotos {
    pub region_code: String,
    pub name: String,
    #[serde(flatten)]
    pub counts: PhotoCounts,
}

/// The `photos` part of `GET /api/v1/supervisor/progress`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoProgress {
    pub by_enumerator: Vec<EnumeratorPhotos>,
    pub by_village: Vec<VillagePhotos>,
}

impl PhotoCounts {
    fn add(&mut self, photos: u32, arrived: u32) {
        self.visits_with_photos += 1;
        self.visits_complete += u32::from(arrived == photos);
        self.photos += photos;
        self.photos_arrived += arrived;
    }
}

pub fn photo_progress(tx: &Transaction<'_>, supervisor_id: &str) -> Result<PhotoProgress, DbError> {
    let sql = format!(
        "SELECT v.user_id, u.name, v.region_code, count(*), count(m.sha256)
         FROM visits v
         JOIN users u ON u.user_id = v.user_id
         JOIN visit_photos p ON p.visit_id = v.visit_id AND p.revision = v.revision
         LEFT JOIN media m ON m.sha256 = p.sha256
         WHERE v.is_latest = 1 AND {}
         GROUP BY v.visit_id, v.revision, v.user_id, u.name, v.region_code",
        scope_sql("v.region_code", "?1")
    );
    let mut stmt = tx.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![supervisor_id], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, u32>(3)?,
            r.get::<_, u32>(4)?,
        ))
    })?;
    let mut by_user: BTreeMap<String, (String, PhotoCounts)> = BTreeMap::new();
    let mut by_village: BTreeMap<String, PhotoCounts> = BTreeMap::new();
    for row in rows {
        let (user_id, name, region_code, photos, arrived) = row?;
        by_user
            .entry(user_id)
            .or_insert_with(|| (name, PhotoCounts::default()))
            .1
            .add(photos, arrived);
        by_village
            .entry(region_code)
            .or_default()
            .add(photos, arrived);
    }
    Ok(PhotoProgress {
        by_enumerator: by_user
            .into_iter()
            .map(|(user_id, (name, counts))| EnumeratorPhotos {
                user_id,
                name,
                counts,
            })
            .collect(),
        by_village: by_village
            .into_iter()
            .map(|(region_code, counts)| VillagePhotos {
                name: regions::name(&region_code).to_string(),
                region_code,
                counts,
            })
            .collect(),
    })
}
