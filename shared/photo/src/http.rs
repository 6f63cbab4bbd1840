//! [`TusTransport`] over HTTP(S) with a blocking reqwest client the caller configured (the phone's runtime
//! passes its own: the same trust decision, timeouts and connection pool as its sync).

use reqwest::StatusCode;
use reqwest::blocking::{Client, Response};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap};

use crate::upload::{TusReply, TusTransport};

/// Uploads to `base_url` (`https://tepat.example`, no trailing path) as the device whose token is `token`.
#[derive(Clone)]
pub struct HttpTus<'a> {
    pub client: &'a Client,
    pub base_url: &'a str,
    pub token: &'a str,
}

impl std::fmt::Debug for HttpTus<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("HttpTus")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

/// Standard base64 (RFC 4648, with padding), as tus metadata values are written.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl HttpTus<'_> {
    fn url(&self, sha256: Option<&str>) -> String {
        match sha256 {
            Some(sha) => format!("{}/api/v1/uploads/{sha}", self.base_url),
            None => format!("{}/api/v1/uploads", self.base_url),
        }
    }

    fn reply(response: Response) -> Result<TusReply, reqwest::Error> {
        let status = response.status();
        let headers = response.headers().clone();
        if status.is_success() {
            // Read the (empty) body so the connection can be reused.
            let _ = response.bytes()?;
            return Ok(
                match (
                    number(&headers, "upload-offset"),
                    number(&headers, "upload-length"),
                ) {
                    (Some(offset), Some(length)) => TusReply::Offset { offset, length },
                    _ => TusReply::Failed {
                        status: status.as_u16(),
                        code: "bad_response".into(),
                        message: "the answer has no Upload-Offset/Upload-Length".into(),
                    },
                },
            );
        }
        let body = response.bytes()?;
        let error: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        let code = error["error"].as_str().unwrap_or_default().to_string();
        let message = error["message"].as_str().unwrap_or_default().to_string();
        Ok(match status {
            StatusCode::NOT_FOUND => TusReply::NoUpload,
            StatusCode::CONFLICT if code == "offset_mismatch" => match error["limit"].as_u64() {
                Some(offset) => TusReply::OffsetMismatch { offset },
                None => TusReply::Failed {
                    status: 409,
                    code,
                    message,
                },
            },
            StatusCode::UNPROCESSABLE_ENTITY => TusReply::Refused { code, message },
            other => TusReply::Failed {
                status: other.as_u16(),
                code,
                message,
            },
        })
    }
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.parse().ok()
}

impl TusTransport for HttpTus<'_> {
    type Error = reqwest::Error;

    fn create(&self, sha256: &str, length: u64) -> Result<TusReply, reqwest::Error> {
        let response = self
            .client
            .post(self.url(None))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Length", length.to_string())
            .header(
                "Upload-Metadata",
                format!("sha256 {}", base64(sha256.as_bytes())),
            )
            .send()?;
        Self::reply(response)
    }

    fn head(&self, sha256: &str) -> Result<TusReply, reqwest::Error> {
        let response = self
            .client
            .head(self.url(Some(sha256)))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header("Tus-Resumable", "1.0.0")
            .send()?;
        Self::reply(response)
    }

    fn patch(&self, sha256: &str, offset: u64, body: &[u8]) -> Result<TusReply, reqwest::Error> {
        let response = self
            .client
            .patch(self.url(Some(sha256)))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header("Tus-Resumable", "1.0.0")
            .header("Upload-Offset", offset.to_string())
            .header(CONTENT_TYPE, "application/offset+octet-stream")
            .body(body.to_vec())
            .send()?;
        Self::reply(response)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_is_the_standard_alphabet_with_padding() {
        assert_eq!(super::base64(b""), "");
        assert_eq!(super::base64(b"f"), "Zg==");
        assert_eq!(super::base64(b"fo"), "Zm8=");
        assert_eq!(super::base64(b"foo"), "Zm9v");
        assert_eq!(super::base64(b"foobar"), "Zm9vYmFy");
    }
}
