//! Figure 3: the bytes a 12-visit day costs on the wire, counted at the socket (the e2e proxy between the phone
//! and the real server: request and response, headers and gzipped bodies), against an ODK Collect-style OpenRosa
//! upload of the same visits (see [`crate::openrosa`]).

use tepat_e2e::field::Field;
use tepat_protocol::VisitDoc;

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
    pub odk: Upload,
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
        odk: openrosa::upload(&form, &sent, &host),
    })
}
