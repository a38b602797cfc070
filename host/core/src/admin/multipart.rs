//! An upload's `multipart/form-data` body: parts `component` (the wasm
//! bytes), `grant` (grant.toml, optional), `digest` (optional) and
//! `signature` (a signature file, optional).

use super::reply::ApiError;
use crate::deploy::Upload;

pub(super) async fn parse(content_type: &str, body: Vec<u8>, max: usize) -> Result<Upload, ApiError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(
            415,
            "unsupported_media_type",
            "send multipart/form-data with parts `component`, `grant`, `digest` and `signature`",
        )
    })?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes::Bytes::from(body)) });
    let limits = multer::SizeLimit::new().whole_stream(max as u64);
    let constraints =
        multer::Constraints::new().allowed_fields(vec!["component", "grant", "digest", "signature"]).size_limit(limits);
    let mut form = multer::Multipart::with_constraints(stream, boundary, constraints);
    let bad = |e: multer::Error| ApiError::bad_request(format!("the multipart body is malformed: {e}"));
    let mut upload = Upload::default();
    let mut component = None;
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or_default().to_owned();
        let bytes = field.bytes().await.map_err(bad)?.to_vec();
        match name.as_str() {
            "component" => component = Some(bytes),
            "grant" => upload.grant = Some(bytes),
            "signature" => upload.signature = Some(bytes),
            _ => upload.digest = Some(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }
    upload.component = component.ok_or_else(|| ApiError::from(crate::deploy::DeployError::MissingPart("component")))?;
    Ok(upload)
}

#[cfg(test)]
mod tests {
    use super::parse;
    use futures::executor::block_on;

    const BOUNDARY: &str = "b0undary";

    fn body(parts: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, bytes) in parts {
            out.extend_from_slice(
                format!("--{BOUNDARY}\r\ncontent-disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
        out
    }

    fn content_type() -> String {
        format!("multipart/form-data; boundary={BOUNDARY}")
    }

    #[test]
    fn the_three_parts_are_read() {
        let parts = body(&[("component", b"\0asm"), ("grant", b"version = 1"), ("digest", b"ab12")]);
        let upload = block_on(parse(&content_type(), parts, 1 << 20)).unwrap();
        assert_eq!(upload.component, b"\0asm");
        assert_eq!(upload.grant.as_deref(), Some(&b"version = 1"[..]));
        assert_eq!(upload.digest.as_deref(), Some("ab12"));
    }

    #[test]
    fn bad_uploads_get_their_errors() {
        let status = |content_type: &str, parts: Vec<u8>, max: usize| {
            block_on(parse(content_type, parts, max)).err().map(|e| e.response().status)
        };
        assert_eq!(status("application/json", body(&[("component", b"x")]), 1 << 20), Some(415));
        assert_eq!(status(&content_type(), body(&[("grant", b"version = 1")]), 1 << 20), Some(400), "no component");
        assert_eq!(status(&content_type(), body(&[("component", b"x"), ("other", b"y")]), 1 << 20), Some(400));
        assert_eq!(status(&content_type(), body(&[("component", &[0; 4096])]), 1024), Some(400), "over the limit");
        assert_eq!(status(&content_type(), b"--b0undary\r\nbroken".to_vec(), 1 << 20), Some(400));
    }
}
