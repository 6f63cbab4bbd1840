//! Figure 3: the bytes a 12-visit day costs on the wire, counted at the socket (the e2e proxy between the phone
//! and the real server: request and response, headers and gzipped bodies), against an ODK Collect-style OpenRosa
//! upload of the same visits (see [`crate::openrosa`]).

use std::io::Write;

use tepat_e2e::field::Field;
use tepat_protocol::VisitDoc;
use tepat_protocol::bounds::BodyLimits;
use tepat_protocol::trail::VisitTrail;

use crate::household;
use crate::memory::DAY;
use crate::openrosa::{self, Upload};

pub struct Wire {
    pub visits: usize,
    /// Our sync at the socket.
    pub up: u64,
    pub down: u64,
    pub round_trips: u64,
    pub connections: u64,
    /// Bodies only, as the transport counts them (gzip).
    pub body_up: u64,
    pub body_down: u64,
    /// The same visits as uncompressed JSON (what gzip saved).
    pub json_bytes: u64,
    /// The day's trails as the phone held them just before the sync (without the batch's `sent` events).
    pub trails: TrailBytes,
    pub odk: Upload,
}

/// What the trails alone weigh.
#[derive(Debug, Default)]
pub struct TrailBytes {
    pub events: u64,
    /// In the wire form (encoding 2), JSON and gzipped.
    pub json: u64,
    pub gzip: u64,
    /// Every field of every event written out (the encoding before), JSON and gzipped.
    pub verbose_json: u64,
    pub verbose_gzip: u64,
    /// In the wire form, gzipped, with the times of a real clock instead of the bench's (see [`jittered`]).
    pub jittered_gzip: u64,
}

/// The trails with the times a phone's clock would give: the bench's clock moves exactly one second per reading,
/// which the wire form's time differences compress to almost nothing; a phone's readings lie milliseconds apart at
/// random. Each event's time moves on by a further 0–3 s (seeded, to the millisecond, as the audit keeps times),
/// and its monotonic reading with it (`SystemClock` keeps their distance steady while the clock is untouched).
fn jittered(trails: &[VisitTrail]) -> Vec<VisitTrail> {
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    let mut rng = StdRng::seed_from_u64(16);
    let mut trails = trails.to_vec();
    for trail in &mut trails {
        let mut drift = 0i64;
        for event in &mut trail.events {
            drift += rng.random_range(0..3_000);
            event.at += chrono::Duration::milliseconds(drift);
            if let Some(mono) = &mut event.mono {
                mono.ms = mono.ms.saturating_add(u64::try_from(drift).unwrap_or(0));
            }
        }
    }
    trails
}

fn gzip_len(bytes: &[u8]) -> u64 {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let _ = encoder.write_all(bytes);
    encoder.finish().map_or(0, |b| b.len() as u64)
}

fn trail_bytes(trails: &[VisitTrail]) -> Result<TrailBytes, String> {
    let json = serde_json::to_vec(trails).map_err(|e| e.to_string())?;
    let verbose: Vec<_> = trails.iter().map(|t| &t.events).collect();
    let verbose = serde_json::to_vec(&verbose).map_err(|e| e.to_string())?;
    Ok(TrailBytes {
        events: trails.iter().map(|t| t.events.len() as u64).sum(),
        json: json.len() as u64,
        gzip: gzip_len(&json),
        verbose_json: verbose.len() as u64,
        verbose_gzip: gzip_len(&verbose),
        jittered_gzip: gzip_len(&serde_json::to_vec(&jittered(trails)).map_err(|e| e.to_string())?),
    })
}

impl Wire {
    pub fn ours(&self) -> u64 {
        self.up + self.down
    }
}

pub fn run(field: &mut Field) -> Result<Wire, String> {
    let e = |e: tepat_e2e::Error| e.to_string();
    field
        .add_enumerators(&["Siti Rahma"], DAY.len(), &[])
        .map_err(e)?;
    let assignments = field
        .enumerators
        .first()
        .map(|en| en.assignments.clone())
        .ok_or("no enumerator")?;
    let mut docs = Vec::new();
    for (assignment, outcome) in assignments.iter().zip(DAY) {
        docs.push((
            assignment.assignment_id.clone(),
            field.visit_for(assignment, outcome).map_err(e)?,
        ));
    }
    // The day offline: no signal while the visits are made.
    let _ = field.proxy.set_offline(true);
    let enumerator = field.enumerators.first().ok_or("no enumerator")?;
    let mut sent: Vec<VisitDoc> = Vec::new();
    for (id, doc) in &docs {
        sent.push(enumerator.phone.enter(id, doc).map_err(e)?);
    }
    let _ = field.proxy.set_offline(false);
    let limits = BodyLimits::default();
    let trails = enumerator.phone.runtime().inspect_store(|store| {
        sent.iter()
            .map(|d| store.visit_trail(d.visit_id, d.revision, &limits))
            .collect::<Result<Vec<_>, _>>()
    });
    let trails = trail_bytes(&trails.map_err(|e| e.to_string())?)?;
    let before = field.proxy.stats();
    let wire_before = enumerator.phone.wire();
    enumerator.phone.sync_until_clean(1).map_err(e)?;
    let after = field.proxy.stats();
    let wire_after = enumerator.phone.wire();
    let stored = field.supervisor.pull_all().map_err(e)?;
    if stored.len() != sent.len() {
        return Err(format!(
            "{} visits sent, the server holds {}",
            sent.len(),
            stored.len()
        ));
    }
    let json_bytes = serde_json::to_vec(&sent).map_err(|e| e.to_string())?.len() as u64;
    let form = household::dtsen()?;
    let host = field.proxy.addr().to_string();
    Ok(Wire {
        visits: sent.len(),
        up: after.bytes_up - before.bytes_up,
        down: after.bytes_down - before.bytes_down,
        round_trips: wire_after.round_trips - wire_before.round_trips,
        connections: after.connections - before.connections,
        body_up: wire_after.bytes_up - wire_before.bytes_up,
        body_down: wire_after.bytes_down - wire_before.bytes_down,
        json_bytes,
        trails,
        odk: openrosa::upload(&form, &sent, &host),
    })
}
