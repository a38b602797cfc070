//! The login and consent page, and the error page shown when the client
//! cannot be sent back. Server-rendered HTML with no script: every value
//! is escaped, the page cannot be framed, and it works without JavaScript.

use super::face::Face;
use crate::http::{Body, Response};
use crate::names::TenantId;

/// What the consent form shows and carries.
pub(crate) struct Consent<'a> {
    pub tenant: &'a TenantId,
    pub client_name: &'a str,
    pub client_id: &'a str,
    /// The host of the client's metadata document (its `client_id` URL),
    /// which the host fetched: `None` for a registered client.
    pub client_host: Option<&'a str>,
    pub redirect_host: &'a str,
    pub server: &'a str,
    /// Each scope asked for, with what the person should know of it
    /// before allowing: who may hold it, or that their account may not.
    pub scopes: &'a [(String, Option<String>)],
    /// How long the access lasts and how it ends, in words.
    pub lasts: &'a str,
    /// The authorization request, re-sent with the form.
    pub hidden: &'a [(&'static str, String)],
    pub csrf: &'a str,
    pub error: Option<&'a str>,
    pub username: &'a str,
    /// This host's name as people reach it (the public URL's host), so the
    /// page says whose it is.
    pub site: &'a str,
    /// The tenant's own name, support link and logo.
    pub face: &'a Face,
    /// The upstream provider's name, for a "Sign in with …" button.
    pub upstream: Option<&'a str>,
    /// Set when the person is known (no password asked): who they are, and
    /// the ticket that proves it after the upstream provider vouched for
    /// them, or none when this browser is signed in already.
    pub signed_in: Option<(&'a str, Option<&'a str>)>,
}

/// A name an application chose for itself, as the page shows it: without
/// control, bidirectional-override or invisible formatting characters (a
/// reversed or hidden span would make it read as another name), spaces
/// collapsed, at most 60 characters.
/// Why a name an application gave itself may imitate another one, for the
/// page to say beside it: letters from several writing systems (a Cyrillic
/// "С" in "Сlaude"), or compatibility forms of letters (fullwidth or
/// mathematical "Ｃｌａｕｄｅ"), as Unicode's security mechanisms (UTS #39)
/// and normalization (NFKC) find them.
pub(crate) fn imitation(name: &str) -> Option<&'static str> {
    use unicode_normalization::UnicodeNormalization as _;
    use unicode_security::MixedScript as _;
    if !name.is_single_script() {
        Some("it mixes letters of several writing systems, as names made to look like others do")
    } else if name.nfkc().ne(name.chars()) {
        Some("it uses look-alike forms of letters, as names made to look like others do")
    } else {
        None
    }
}

/// [`imitation`], as the page shows it after the name.
fn imitation_note(name: &str) -> String {
    imitation(name).map(|why| format!(" <span class=\"unverified\">(careful: {why})</span>")).unwrap_or_default()
}

pub(crate) fn display_name(claimed: &str) -> String {
    let invisible = |c: char| {
        c.is_control()
            || matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2069}' | '\u{FEFF}' | '\u{061C}' | '\u{180E}' | '\u{00AD}')
    };
    let cleaned: String = claimed.chars().filter(|c| !invisible(*c)).collect();
    let words: Vec<&str> = cleaned.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() > 60 { joined.chars().take(59).chain(std::iter::once('…')).collect() } else { joined }
}

pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn describe(scope: &str) -> &'static str {
    match scope {
        "openid" => "know who you are (your username)",
        "mcp:read" => "list and read what the server offers, and call its read-only tools",
        "mcp:use" => "call the server's tools and use its prompts and resources",
        "mcp:admin" => "everything you may do with the server, as an administrator",
        _ => "",
    }
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;color:#111}\
label{display:block;margin-top:.75rem;font-weight:600}input{width:100%;min-height:44px;padding:.5rem;font-size:1rem;box-sizing:border-box}\
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin-top:1.25rem}button{min-height:44px;padding:.6rem 1.2rem;font-size:1rem}\
[role=alert]{border:2px solid #b00020;padding:.5rem .75rem;color:#b00020}code{word-break:break-all}.unverified{color:#7a4d00}.site{color:#444;border-bottom:1px solid #ccc;padding-bottom:.5rem}.site img{display:block;max-width:100%;height:40px;width:auto}\
.apps{list-style:none;padding:0}.apps li{border-top:1px solid #ccc;padding:.5rem 0}.notice{border:2px solid #1b5e20;padding:.5rem .75rem;color:#1b5e20}\
.remember{display:flex;align-items:center;gap:.5rem;font-weight:400;min-height:44px}.remember input{width:44px;height:44px;margin:0;flex:none}";

fn html(status: u16, title: &str, main: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><main>{main}</main></body></html>",
        escape(title)
    );
    let headers = vec![
        ("cache-control".into(), "no-store".into()),
        (
            "content-security-policy".into(),
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'"
                .into(),
        ),
        ("x-frame-options".into(), "DENY".into()),
        // Not no-referrer: with it, browsers send `Origin: null` on the form post.
        ("referrer-policy".into(), "same-origin".into()),
        ("x-content-type-options".into(), "nosniff".into()),
        // No window that opened this page can reach into it, and it may use
        // no device. (No CSP form-action: the form's answer redirects to
        // the application or the upstream provider, which it would block.)
        ("cross-origin-opener-policy".into(), "same-origin".into()),
        ("permissions-policy".into(), "camera=(), microphone=(), geolocation=(), payment=(), usb=()".into()),
    ];
    Response { status, headers, body: Body::Html(page.into_bytes()) }
}

/// Whose page this is: the tenant's logo and name (its id beside a
/// display name), this host, and where to get help.
fn header(doing: &str, tenant: &TenantId, site: &str, face: &Face) -> String {
    let logo = if face.logo {
        format!("<img src=\"/oauth/{}/logo\" alt=\"\" height=\"40\">", escape(tenant))
    } else {
        String::new()
    };
    let whose = match &face.display_name {
        Some(name) => format!("<strong>{}</strong> (tenant <code>{}</code>)", escape(name), escape(tenant)),
        None => format!("tenant <strong>{}</strong>", escape(tenant)),
    };
    let help = face
        .support_url
        .as_ref()
        .map(|url| format!(" · <a href=\"{}\" rel=\"noopener noreferrer\">Help</a>", escape(url)))
        .unwrap_or_default();
    format!(
        "<header class=\"site\">{logo}<p>{doing} for {whose} on <strong>{}</strong>{help}</p></header>",
        escape(site)
    )
}

/// The login and consent form.
pub(crate) fn consent(c: &Consent<'_>, status: u16) -> Response {
    let scopes: String = c
        .scopes
        .iter()
        .map(|(s, note)| {
            let note = note.as_deref().map(|n| format!(" <em>({})</em>", escape(n))).unwrap_or_default();
            format!("<li><code>{}</code>: {}{note}</li>", escape(s), describe(s))
        })
        .collect();
    let hidden: String = c
        .hidden
        .iter()
        .map(|(name, value)| format!("<input type=\"hidden\" name=\"{name}\" value=\"{}\">", escape(value)))
        .collect();
    let error = c.error.map(|e| format!("<p role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let (who, allow) = match c.signed_in {
        Some((username, Some(ticket))) => (
            format!(
                "<p>Signed in as <strong>{}</strong>.</p><input type=\"hidden\" name=\"ticket\" value=\"{}\">",
                escape(username),
                escape(ticket)
            ),
            "Allow",
        ),
        Some((username, None)) => {
            (format!("<p>Signed in as <strong>{}</strong> in this browser.</p>", escape(username)), "Allow")
        }
        None => (
            format!(
                "<label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{}\" required{}>\
                 <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{}>",
                escape(c.username),
                // The first empty field takes the focus, without script.
                if c.username.is_empty() { " autofocus" } else { "" },
                if c.username.is_empty() { "" } else { " autofocus" },
            ),
            "Sign in and allow",
        ),
    };
    let other = match (c.upstream, c.signed_in) {
        (Some(name), None) => format!(
            "<button type=\"submit\" name=\"decision\" value=\"upstream\" formnovalidate>Sign in with {}</button>",
            escape(name)
        ),
        (_, Some((_, None))) => {
            "<button type=\"submit\" name=\"decision\" value=\"switch\" formnovalidate>Use another account</button>"
                .to_owned()
        }
        _ => String::new(),
    };
    // Remembered unless unticked for an application whose identity the
    // person can check (a metadata document's host); ticked only by
    // choice for one that merely claims a name.
    let remember = format!(
        "<label class=\"remember\"><input type=\"checkbox\" name=\"remember\" value=\"on\"{}> \
         Remember this: do not ask again when this application asks for the same</label>",
        if c.client_host.is_some() { " checked" } else { "" }
    );
    let what = if c.server.is_empty() {
        "to know who you are".to_owned()
    } else {
        format!(
            "to use the MCP server <strong>{}</strong> of <strong>{}</strong> as you",
            escape(c.server),
            escape(c.tenant)
        )
    };
    let title = if c.server.is_empty() { "Sign in?".to_owned() } else { format!("Allow access to {}?", c.server) };
    // Who is asking: a metadata document's host is an identity the person
    // can check; a registered client's name is only its own claim.
    let name = display_name(c.client_name);
    let client = match c.client_host {
        Some(host) => format!(
            "The application at <strong>{}</strong> (it calls itself “{}”; <code>{}</code>){}",
            escape(host),
            escape(&name),
            escape(c.client_id),
            imitation_note(&name)
        ),
        None => format!(
            "An application that calls itself <strong>“{}”</strong> <span class=\"unverified\">(unverified: anyone can register a name; <code>{}</code>)</span>{}",
            escape(&name),
            escape(c.client_id),
            imitation_note(&name)
        ),
    };
    let main = format!(
        "{header}<h1>{heading}</h1>{error}\
         <p>{client} asks {what}, and will be sent back to <strong>{host}</strong>.</p>\
         <p>It asks to:</p><ul>{scopes}</ul><p>{lasts} You can revoke it at any time on \
         <a href=\"/oauth/{tenant}/account\">your account page</a>, and so can an administrator of {tenant}.</p>\
         <form method=\"post\" action=\"/oauth/{tenant}/authorize\">{hidden}\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{who}{remember}\
         <div class=\"actions\"><button type=\"submit\" name=\"decision\" value=\"allow\">{allow}</button>{other}\
         <button type=\"submit\" name=\"decision\" value=\"deny\" formnovalidate>Deny</button></div></form>",
        header = header("Sign-in", c.tenant, c.site, c.face),
        heading = escape(&title),
        tenant = escape(c.tenant),
        host = escape(c.redirect_host),
        csrf = escape(c.csrf),
        lasts = escape(c.lasts),
    );
    html(status, &title, &main)
}

/// A request that cannot go back to the client: said to the person in the
/// host's own words (`'static`: no text of the request, no internals),
/// under the tenant's face.
pub(crate) fn error(status: u16, message: &'static str, tenant: &TenantId, site: &str, face: &Face) -> Response {
    error_under(status, message, &header("Sign-in", tenant, site, face))
}

/// [`error`] without the tenant's face, where there is no tenant to ask.
pub(crate) fn bare_error(status: u16, message: &'static str) -> Response {
    error_under(status, message, "")
}

fn error_under(status: u16, message: &'static str, header: &str) -> Response {
    let main = format!("{header}<h1>This sign-in request cannot be used</h1><p role=\"alert\">{}</p>", escape(message));
    html(status, "Sign-in error", &main)
}

/// The account page's sign-in form.
pub(crate) struct AccountSignIn<'a> {
    pub tenant: &'a TenantId,
    pub site: String,
    pub face: Face,
    pub csrf: String,
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// The upstream provider's name, for a "Sign in with …" button.
    pub upstream: Option<String>,
}

pub(crate) fn account_sign_in(a: &AccountSignIn<'_>, status: u16) -> Response {
    let error = a.error.map(|e| format!("<p role=\"alert\">{}</p>", escape(e))).unwrap_or_default();
    let main = format!(
        "{header}<h1>Your account</h1>{error}\
         <p>Sign in to see the applications you allowed to act as you, and to revoke them.</p>\
         <form method=\"post\" action=\"/oauth/{tenant}/account\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"sign-in\">\
         <label for=\"username\">Username</label><input id=\"username\" name=\"username\" autocomplete=\"username\" value=\"{username}\" required{focus_user}>\
         <label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required{focus_password}>\
         <div class=\"actions\"><button type=\"submit\">Sign in</button></div></form>{upstream}",
        upstream = match &a.upstream {
            Some(name) => format!(
                "<form method=\"post\" action=\"/oauth/{tenant}/account\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"upstream\">\
                 <div class=\"actions\"><button type=\"submit\">Sign in with {}</button></div></form>",
                escape(name),
                tenant = escape(a.tenant),
                csrf = escape(&a.csrf),
            ),
            None => String::new(),
        },
        header = header("Accounts", a.tenant, &a.site, &a.face),
        tenant = escape(a.tenant),
        csrf = escape(&a.csrf),
        username = escape(a.username),
        // The first empty field takes the focus, without script.
        focus_user = if a.username.is_empty() { " autofocus" } else { "" },
        focus_password = if a.username.is_empty() { "" } else { " autofocus" },
    );
    html(status, "Your account", &main)
}

/// One application a person allowed, as their account page lists it.
pub(crate) struct AllowedApp {
    pub grant: String,
    /// The name the application gave itself (a claim, shown as one).
    pub name: String,
    pub client_id: String,
    /// The MCP server's path on this host.
    pub server: String,
    pub scopes: String,
    pub since_ms: u64,
    pub refreshed_ms: Option<u64>,
}

/// A person's account page, signed in.
pub(crate) struct Account<'a> {
    pub tenant: &'a TenantId,
    pub site: String,
    pub face: Face,
    pub username: &'a str,
    pub csrf: &'a str,
    /// Proves the sign-in to this page's forms.
    pub ticket: String,
    pub notice: Option<&'a str>,
    pub allowed: &'a [AllowedApp],
}

/// Milliseconds since the epoch as a UTC date and time.
fn when(ms: u64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).map_or_else(
        |_| String::new(),
        |t| format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute()),
    )
}

pub(crate) fn account(a: &Account<'_>, status: u16) -> Response {
    let notice = a.notice.map(|n| format!("<p role=\"status\" class=\"notice\">{}</p>", escape(n))).unwrap_or_default();
    let rows: String = a
        .allowed
        .iter()
        .map(|app| {
            let name = display_name(&app.name);
            let refreshed = app.refreshed_ms.map_or_else(|| "never".to_owned(), when);
            format!(
                "<li><p><strong>“{name}”</strong> <span class=\"unverified\">(its own name; <code>{client}</code>)</span>{imitates}<br>\
                 may <code>{scopes}</code> on <code>{server}</code><br>allowed {since}, last refreshed {refreshed}</p>\
                 <form method=\"post\" action=\"/oauth/{tenant}/account\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"ticket\" value=\"{ticket}\">\
                 <input type=\"hidden\" name=\"action\" value=\"revoke\"><input type=\"hidden\" name=\"grant\" value=\"{grant}\">\
                 <button type=\"submit\">Revoke “{name}”</button></form></li>",
                imitates = imitation_note(&name),
                name = escape(&name),
                client = escape(&app.client_id),
                scopes = escape(&app.scopes),
                server = escape(&app.server),
                since = when(app.since_ms),
                tenant = escape(a.tenant),
                csrf = escape(a.csrf),
                ticket = escape(&a.ticket),
                grant = escape(&app.grant),
            )
        })
        .collect();
    let list = if rows.is_empty() {
        "<p>You have not allowed any application.</p>".to_owned()
    } else {
        format!("<ul class=\"apps\">{rows}</ul>")
    };
    let main = format!(
        "{header}<h1>Applications you allowed</h1>{notice}\
         <p>Signed in as <strong>{username}</strong> in this browser. Each application below may act as you \
         until you revoke it here; its tokens stop working at once, and it must ask you again.</p>{list}\
         <form method=\"post\" action=\"/oauth/{tenant}/account\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\"><input type=\"hidden\" name=\"action\" value=\"sign-out\">\
         <div class=\"actions\"><button type=\"submit\">Sign out of this browser</button></div></form>",
        header = header("Accounts", a.tenant, &a.site, &a.face),
        username = escape(a.username),
        tenant = escape(a.tenant),
        csrf = escape(a.csrf),
    );
    html(status, "Applications you allowed", &main)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed_names_lose_what_would_disguise_them() {
        // "Claude" written backwards behind a right-to-left override.
        assert_eq!(display_name("\u{202E}edualC\u{202C} app"), "edualC app");
        assert_eq!(display_name("Cl\u{200B}aude\n\t  (by\u{2066} Anthropic)"), "Claude (by Anthropic)");
        assert_eq!(display_name(&"x".repeat(500)).chars().count(), 60);
    }

    #[test]
    fn names_that_imitate_others_are_told_apart() {
        assert_eq!(imitation("Claude (by Anthropic)"), None);
        assert_eq!(imitation("日本語アプリ"), None);
        assert!(imitation("\u{0421}laude").unwrap().contains("several writing systems"), "a Cyrillic С");
        assert!(imitation("\u{FF23}\u{FF4C}aude").unwrap().contains("look-alike forms"), "fullwidth");
        assert!(imitation("\u{1D402}laude").is_some(), "a mathematical bold C");
    }

    #[test]
    fn values_are_escaped() {
        let hidden = [("state", "\"><script>x</script>".to_string())];
        let page = consent(
            &Consent {
                tenant: &TenantId::from_static("acme"),
                client_name: "<b>evil</b>",
                client_id: "c",
                client_host: None,
                site: "smcp.example",
                face: &Face {
                    display_name: Some("<Acme>".into()),
                    support_url: Some("https://help.example/?a=1&b=\"".into()),
                    logo: true,
                },
                redirect_host: "app",
                server: "calc",
                scopes: &[("mcp:use".into(), Some("<u>".into()))],
                lasts: "<s>",
                hidden: &hidden,
                csrf: "t",
                error: Some("<i>"),
                username: "\"",
                upstream: None,
                signed_in: None,
            },
            200,
        );
        let Body::Html(bytes) = page.body else { panic!() };
        let text = String::from_utf8(bytes).unwrap();
        assert!(!text.contains("<script>") && !text.contains("<b>evil") && !text.contains("<i>"));
        assert!(!text.contains("<u>") && !text.contains("<s>") && !text.contains("<Acme>"));
        assert!(text.contains("&lt;Acme&gt;") && text.contains("b=&quot;\" rel="));
        assert!(text.contains("&lt;b&gt;evil") && text.contains("&quot;&gt;&lt;script&gt;"));
    }
}
