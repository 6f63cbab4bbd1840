//! The phone's side of a resumable photo upload (tus 1.0 core with `creation`, as `tepat-server` speaks it;
//! `server/README.md`, "Photos"), independent of the HTTP library: a [`TusTransport`] makes the three requests,
//! [`send_photo`] decides which to make.
//!
//! 1. Nothing open on the server yet ([`Known::New`]): `POST` creates the upload (or finds it) and answers its
//!    offset. Otherwise ([`Known::Created`]) `HEAD` asks the offset: the server may hold more than the phone
//!    last heard (bytes delivered after its last answer, before a cut), and a PATCH sent from a stale offset
//!    would waste its body on a 409.
//! 2. `PATCH` sends the rest from the server's offset. Its answer's offset is saved (`save`) before anything
//!    else, so a phone killed a moment later knows the upload exists.
//! 3. An offset equal to the length is the server's confirmation that the whole photo is stored, verified by its
//!    SHA-256: only then is the photo done ([`Sent::Stored`]). A refusal of the whole upload (`hash_mismatch`: a
//!    byte was damaged on the way) starts over from byte 0, at most [`MAX_RESTARTS`] times in one call.
//!
//! A cut (any transport error) ends the call with [`UploadError::Transport`]; the next call resumes by asking.

/// What the phone knows of an upload before this call (kept in its outbox, so it survives the app being killed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    /// Never created on the server (as far as the phone knows).
    New,
    /// Created; the server held at least `offset` bytes at its last answer.
    Created { offset: u64 },
}

/// A server's answer to an upload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TusReply {
    /// `Upload-Offset` (and `Upload-Length`): the bytes the server holds.
    Offset { offset: u64, length: u64 },
    /// 404: no open upload (never created, refused, or expired).
    NoUpload,
    /// 409 `offset_mismatch`: the server holds `offset` bytes.
    OffsetMismatch { offset: u64 },
    /// 422 `hash_mismatch` / `not_jpeg`: the whole upload was refused and removed.
    Refused { code: String, message: String },
    /// Anything else (403, 413, 5xx, …): the status and the server's message.
    Failed {
        status: u16,
        code: String,
        message: String,
    },
}

/// Makes the requests. Implementations send `Tus-Resumable: 1.0.0` and the device token.
pub trait TusTransport {
    type Error: std::error::Error + Send + Sync + 'static;
    /// `POST /api/v1/uploads` with `Upload-Length` and `Upload-Metadata: sha256 <base64>`.
    fn create(&self, sha256: &str, length: u64) -> Result<TusReply, Self::Error>;
    /// `HEAD /api/v1/uploads/{sha256}`.
    fn head(&self, sha256: &str) -> Result<TusReply, Self::Error>;
    /// `PATCH /api/v1/uploads/{sha256}` with `Upload-Offset: offset` and `body`.
    fn patch(&self, sha256: &str, offset: u64, body: &[u8]) -> Result<TusReply, Self::Error>;
}

/// Whole-upload refusals one call starts over from byte 0 before giving up (a link that damages every try).
pub const MAX_RESTARTS: u32 = 3;

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sent {
    /// The server confirmed the whole photo, stored under its hash.
    Stored,
}

#[derive(Debug, thiserror::Error)]
pub enum UploadError<E: std::error::Error + Send + Sync + 'static> {
    /// The request did not complete (a cut, a timeout, no signal): resume later.
    #[error("the upload was interrupted: {0}")]
    Transport(#[source] E),
    /// The server refused the photo as damaged or not a JPEG more than [`MAX_RESTARTS`] times.
    #[error("the server refused the photo {attempts} times: {code}: {message}")]
    Refused {
        attempts: u32,
        code: String,
        message: String,
    },
    /// The server answered something the upload cannot go on from (role, a limit, a server error).
    #[error("the server answered {status} {code}: {message}")]
    Failed {
        status: u16,
        code: String,
        message: String,
    },
    /// The server's offset or length does not fit this photo.
    #[error("the server's answer does not fit this photo: {0}")]
    Protocol(String),
}

/// Sends the photo `bytes` (SHA-256 `sha256`) from where the server stands. `save(offset)` is called with every
/// offset the server states, before the next request.
pub fn send_photo<T: TusTransport>(
    transport: &T,
    sha256: &str,
    bytes: &[u8],
    known: Known,
    mut save: impl FnMut(u64),
) -> Result<Sent, UploadError<T::Error>> {
    let length = bytes.len() as u64;
    let mut restarts = 0u32;
    let mut reply = match known {
        Known::New => transport.create(sha256, length),
        Known::Created { .. } => transport.head(sha256),
    }
    .map_err(UploadError::Transport)?;
    loop {
        let offset = match reply {
            TusReply::Offset {
                offset,
                length: server_length,
            } => {
                if server_length != length || offset > length {
                    return Err(UploadError::Protocol(format!(
                        "offset {offset} of {server_length} bytes for a photo of {length}"
                    )));
                }
                save(offset);
                if offset == length {
                    return Ok(Sent::Stored);
                }
                offset
            }
            TusReply::OffsetMismatch { offset } => {
                save(offset.min(length));
                // The server's offset, confirmed by asking (it may have moved on since).
                reply = transport.head(sha256).map_err(UploadError::Transport)?;
                if matches!(reply, TusReply::OffsetMismatch { .. }) {
                    return Err(UploadError::Protocol(
                        "HEAD answered an offset mismatch".into(),
                    ));
                }
                continue;
            }
            TusReply::NoUpload => {
                save(0);
                reply = transport
                    .create(sha256, length)
                    .map_err(UploadError::Transport)?;
                if reply == TusReply::NoUpload {
                    return Err(UploadError::Protocol(
                        "creating the upload answered 404".into(),
                    ));
                }
                continue;
            }
            TusReply::Refused { code, message } => {
                restarts += 1;
                if restarts > MAX_RESTARTS {
                    return Err(UploadError::Refused {
                        attempts: restarts,
                        code,
                        message,
                    });
                }
                save(0);
                reply = transport
                    .create(sha256, length)
                    .map_err(UploadError::Transport)?;
                continue;
            }
            TusReply::Failed {
                status,
                code,
                message,
            } => {
                return Err(UploadError::Failed {
                    status,
                    code,
                    message,
                });
            }
        };
        let rest = bytes
            .get(usize::try_from(offset).unwrap_or(usize::MAX)..)
            .unwrap_or_default();
        reply = transport
            .patch(sha256, offset, rest)
            .map_err(UploadError::Transport)?;
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("cut")]
    struct Cut;

    /// A server in memory: keeps what arrives, answers as tepat-server does. `cut_after` bytes of a PATCH body
    /// arrive and then the connection breaks (once each); `damage_at` flips a byte of the next PATCH on the way.
    #[derive(Default)]
    struct FakeServer {
        held: RefCell<Option<Vec<u8>>>,
        stored: RefCell<Option<Vec<u8>>>,
        cuts: RefCell<Vec<usize>>,
        damage_at: RefCell<Option<usize>>,
        requests: RefCell<Vec<String>>,
        body_bytes: RefCell<u64>,
    }

    impl FakeServer {
        fn state(&self, length: u64) -> TusReply {
            if self.stored.borrow().is_some() {
                return TusReply::Offset {
                    offset: length,
                    length,
                };
            }
            match &*self.held.borrow() {
                Some(held) => TusReply::Offset {
                    offset: held.len() as u64,
                    length,
                },
                None => TusReply::NoUpload,
            }
        }
    }

    const LENGTH: u64 = 1000;

    impl TusTransport for FakeServer {
        type Error = Cut;

        fn create(&self, _sha256: &str, length: u64) -> Result<TusReply, Cut> {
            self.requests.borrow_mut().push("POST".into());
            if self.held.borrow().is_none() && self.stored.borrow().is_none() {
                *self.held.borrow_mut() = Some(Vec::new());
            }
            Ok(self.state(length))
        }

        fn head(&self, _sha256: &str) -> Result<TusReply, Cut> {
            self.requests.borrow_mut().push("HEAD".into());
            Ok(self.state(LENGTH))
        }

        fn patch(&self, sha256: &str, offset: u64, body: &[u8]) -> Result<TusReply, Cut> {
            self.requests.borrow_mut().push(format!("PATCH {offset}"));
            let mut held_cell = self.held.borrow_mut();
            let Some(held) = held_cell.as_mut() else {
                return Ok(TusReply::NoUpload);
            };
            if held.len() as u64 != offset {
                return Ok(TusReply::OffsetMismatch {
                    offset: held.len() as u64,
                });
            }
            let mut body = body.to_vec();
            if let Some(at) = self.damage_at.borrow_mut().take() {
                body[at] ^= 1;
            }
            let cut = self.cuts.borrow_mut().pop();
            let arriving = cut.map_or(body.len(), |n| n.min(body.len()));
            *self.body_bytes.borrow_mut() += arriving as u64;
            held.extend_from_slice(&body[..arriving]);
            if cut.is_some() {
                return Err(Cut);
            }
            if held.len() as u64 == LENGTH {
                let whole = std::mem::take(held);
                if crate::sha256_hex(&whole) != sha256 {
                    drop(whole);
                    *held_cell = None;
                    return Ok(TusReply::Refused {
                        code: "hash_mismatch".into(),
                        message: "damaged".into(),
                    });
                }
                *self.stored.borrow_mut() = Some(whole);
                return Ok(TusReply::Offset {
                    offset: LENGTH,
                    length: LENGTH,
                });
            }
            Ok(TusReply::Offset {
                offset: held.len() as u64,
                length: LENGTH,
            })
        }
    }

    fn photo() -> (Vec<u8>, String) {
        let bytes: Vec<u8> = (0..LENGTH).map(|i| (i * 7 % 251) as u8).collect();
        let sha = crate::sha256_hex(&bytes);
        (bytes, sha)
    }

    #[test]
    fn cuts_lose_nothing_that_arrived_and_the_rest_follows() {
        let (bytes, sha) = photo();
        let server = FakeServer::default();
        // Cuts pop from the end: the first PATCH breaks after 300 bytes, the second after 450.
        *server.cuts.borrow_mut() = vec![450, 300];
        let mut saved = Vec::new();
        let mut known = Known::New;
        let mut calls = 0;
        loop {
            calls += 1;
            match send_photo(&server, &sha, &bytes, known, |o| saved.push(o)) {
                Ok(Sent::Stored) => break,
                Err(UploadError::Transport(_)) => {
                    known = Known::Created {
                        offset: *saved.last().unwrap(),
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        assert_eq!(calls, 3);
        assert_eq!(server.stored.borrow().as_deref(), Some(bytes.as_slice()));
        // Every body byte sent arrived and was kept: exactly the photo's length went over the wire.
        assert_eq!(*server.body_bytes.borrow(), LENGTH);
        assert_eq!(
            *server.requests.borrow(),
            ["POST", "PATCH 0", "HEAD", "PATCH 300", "HEAD", "PATCH 750"]
        );
        assert_eq!(saved, [0, 300, 750, 1000]);
    }

    #[test]
    fn a_damaged_upload_starts_over_and_is_stored_whole() {
        let (bytes, sha) = photo();
        let server = FakeServer::default();
        *server.damage_at.borrow_mut() = Some(10);
        let sent = send_photo(&server, &sha, &bytes, Known::New, |_| {}).unwrap();
        assert_eq!(sent, Sent::Stored);
        assert_eq!(server.stored.borrow().as_deref(), Some(bytes.as_slice()));
        assert_eq!(
            *server.requests.borrow(),
            ["POST", "PATCH 0", "POST", "PATCH 0"]
        );
    }

    #[test]
    fn a_photo_the_server_already_has_is_not_sent_again() {
        let (bytes, sha) = photo();
        let server = FakeServer::default();
        *server.stored.borrow_mut() = Some(bytes.clone());
        send_photo(&server, &sha, &bytes, Known::Created { offset: 0 }, |_| {}).unwrap();
        assert_eq!(*server.requests.borrow(), ["HEAD"]);
    }

    #[test]
    fn an_expired_upload_is_created_again() {
        let (bytes, sha) = photo();
        let server = FakeServer::default();
        send_photo(
            &server,
            &sha,
            &bytes,
            Known::Created { offset: 500 },
            |_| {},
        )
        .unwrap();
        assert_eq!(*server.requests.borrow(), ["HEAD", "POST", "PATCH 0"]);
    }

    struct Refusing;

    impl TusTransport for Refusing {
        type Error = Cut;
        fn create(&self, _: &str, length: u64) -> Result<TusReply, Cut> {
            Ok(TusReply::Offset { offset: 0, length })
        }
        fn head(&self, _: &str) -> Result<TusReply, Cut> {
            Ok(TusReply::Failed {
                status: 403,
                code: "forbidden".into(),
                message: "no".into(),
            })
        }
        fn patch(&self, _: &str, _: u64, _: &[u8]) -> Result<TusReply, Cut> {
            Ok(TusReply::Refused {
                code: "hash_mismatch".into(),
                message: "damaged".into(),
            })
        }
    }

    #[test]
    fn refusals_end_after_a_few_restarts_and_other_answers_at_once() {
        let (bytes, sha) = photo();
        let refused = send_photo(&Refusing, &sha, &bytes, Known::New, |_| {});
        assert!(matches!(
            refused,
            Err(UploadError::Refused { attempts, .. }) if attempts == MAX_RESTARTS + 1
        ));
        let failed = send_photo(
            &Refusing,
            &sha,
            &bytes,
            Known::Created { offset: 0 },
            |_| {},
        );
        assert!(matches!(
            failed,
            Err(UploadError::Failed { status: 403, .. })
        ));
    }
}
