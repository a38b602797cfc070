//! The tenant's own face on its sign-in and account pages, so that people
//! can tell whose page it is: a display name and a support link (the
//! tenant settings' `branding`), and a logo uploaded through the admin API
//! (`PUT …/oauth/logo`) and served by the host at `/oauth/{tenant}/logo`
//! as `image/png` only, after checking that it is one: a PNG cannot carry
//! script, and the page's CSP lets images come from this host alone.

use super::{Ctx, OAuthError};
use crate::http::{Body, Response};
use crate::names::TenantId;
use crate::platform::Backends;

/// The largest logo accepted.
pub const MAX_LOGO_BYTES: usize = 64 * 1024;
/// The largest width and height accepted, in pixels.
pub const MAX_LOGO_SIDE: u32 = 1024;

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// What a page shows of its tenant.
#[derive(Debug, Clone, Default)]
pub(crate) struct Face {
    pub display_name: Option<String>,
    pub support_url: Option<String>,
    pub logo: bool,
}

fn logo_path(tenant: &TenantId) -> String {
    format!("oauth/{tenant}/logo")
}

/// The face of `ctx`'s tenant; none (the tenant's id only) when its
/// settings cannot be read.
pub(crate) async fn load(ctx: &Ctx<'_>) -> Face {
    let branding = crate::deploy::records::settings(ctx.backends, ctx.tenant).await.unwrap_or_default().branding;
    let logo = ctx.backends.kv.get(&logo_path(ctx.tenant)).await.ok().flatten().is_some();
    Face { display_name: branding.display_name, support_url: branding.support_url, logo }
}

/// The width and height of `bytes`, if it is a PNG image within the bounds.
pub fn check_png(bytes: &[u8]) -> Result<(u32, u32), String> {
    if bytes.len() > MAX_LOGO_BYTES {
        return Err(format!("a logo is at most {} KiB", MAX_LOGO_BYTES / 1024));
    }
    // The signature, then the IHDR chunk: length 13, type, width, height.
    let header = bytes.get(..24).filter(|h| h.starts_with(PNG_SIGNATURE) && &h[12..16] == b"IHDR");
    let Some(header) = header else { return Err("a logo must be a PNG image".into()) };
    let side = |at: usize| u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]]);
    let (width, height) = (side(16), side(20));
    if width == 0 || height == 0 || width > MAX_LOGO_SIDE || height > MAX_LOGO_SIDE {
        return Err(format!("a logo is at most {MAX_LOGO_SIDE}×{MAX_LOGO_SIDE} pixels"));
    }
    Ok((width, height))
}

/// Stores `bytes` as the tenant's logo, once checked.
pub async fn put_logo(backends: Backends<'_>, tenant: &TenantId, bytes: &[u8]) -> Result<(u32, u32), OAuthError> {
    let size = check_png(bytes).map_err(OAuthError::invalid_request)?;
    backends.kv.set(&logo_path(tenant), bytes.to_vec(), None).await.map_err(OAuthError::storage)?;
    Ok(size)
}

pub async fn delete_logo(backends: Backends<'_>, tenant: &TenantId) -> Result<(), OAuthError> {
    backends.kv.delete(&logo_path(tenant)).await.map_err(OAuthError::storage)
}

/// `GET /oauth/{tenant}/logo`.
pub(crate) async fn serve_logo(ctx: &Ctx<'_>) -> Result<Response, OAuthError> {
    let bytes = ctx.backends.kv.get(&logo_path(ctx.tenant)).await.map_err(OAuthError::storage)?;
    // Checked again: what is served as an image must be one.
    let Some(bytes) = bytes.filter(|b| check_png(b).is_ok()) else {
        return Err(OAuthError::new(404, "not_found", "this tenant has no logo"));
    };
    let headers = vec![
        ("x-content-type-options".into(), "nosniff".into()),
        ("content-security-policy".into(), "default-src 'none'; sandbox".into()),
        ("cache-control".into(), "public, max-age=300".into()),
    ];
    Ok(Response { status: 200, headers, body: Body::Png(bytes) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PNG header of `width` × `height` (the rest is not read).
    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = PNG_SIGNATURE.to_vec();
        bytes.extend([0, 0, 0, 13]);
        bytes.extend(b"IHDR");
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0]);
        bytes
    }

    #[test]
    fn only_small_png_images_are_logos() {
        assert_eq!(check_png(&png(64, 32)), Ok((64, 32)));
        assert!(check_png(&png(0, 32)).is_err() && check_png(&png(2000, 10)).is_err());
        assert!(check_png(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>").is_err());
        assert!(check_png(&png(10, 10)[..20]).is_err());
        let mut big = png(10, 10);
        big.resize(MAX_LOGO_BYTES + 1, 0);
        assert!(check_png(&big).is_err());
    }
}
