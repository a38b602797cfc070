//! An upload's `multipart/form-data` body: parts `component` (the wasm
//! bytes), `grant` (grant.toml, optional) and `digest` (optional).

use super::reply::ApiError;
use crate::deploy::Upload;

pub(super) async fn parse(content_type: &str, body: Vec<u8>, max: usize) -> Result<Upload, ApiError> {
    let boundary = multer::parse_boundary(content_type).map_err(|_| {
        ApiError::new(
            415,
            "unsupported_media_type",
            "send multipart/form-data with parts `component`, `grant` and `digest`",
        )
    })?;
    let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes::Bytes::from(body)) });
    let limits = multer::SizeLimit::new().whole_stream(max as u64);
    let constraints =
        multer::Constraints::new().allowed_fields(vec!["component", "grant", "digest"]).size_limit(limits);
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
            _ => upload.digest = Some(String::from_utf8_lossy(&bytes).into_owned()),
        }
    }
    upload.component = component.ok_or_else(|| ApiError::from(crate::deploy::DeployError::MissingPart("component")))?;
    Ok(upload)
}
