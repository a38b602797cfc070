//! Resources: concrete ones the server lists, templates for families of
//! URIs, and the contents a read returns.

/// A concrete resource, as listed to clients.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Resource {
    pub uri: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
    /// Size in bytes, when known.
    pub size: Option<u64>,
}

impl Resource {
    /// A resource at `uri` called `name`.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self { uri: uri.into(), name: name.into(), ..Self::default() }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Sets the size in bytes.
    pub fn size(mut self, size: u64) -> Self {
        self.size = Some(size);
        self
    }
}

/// One page of a server's resources, and the cursor of the next page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourcePage {
    pub resources: Vec<Resource>,
    /// What the client sends back for the next page; `None` on the last.
    /// At most 1 KiB, and never empty.
    pub next_cursor: Option<String>,
}

impl ResourcePage {
    /// How many resources [`ResourcePage::of`] puts on a page.
    pub const SIZE: usize = 100;

    /// A page of `resources`, followed by the page at `next_cursor`.
    pub fn new(resources: Vec<Resource>, next_cursor: Option<String>) -> Self {
        Self { resources, next_cursor }
    }

    /// The page at `cursor` of a list held whole (`None`: the first). A
    /// cursor this function did not make is an invalid-params error.
    pub fn of(all: Vec<Resource>, cursor: Option<&str>) -> Result<Self, crate::ServerError> {
        let start = match cursor {
            None => 0,
            Some(c) => c
                .strip_prefix("offset:")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| *n <= all.len())
                .ok_or_else(|| crate::ServerError::invalid_params("invalid cursor"))?,
        };
        let end = all.len().min(start + Self::SIZE);
        let next_cursor = (end < all.len()).then(|| format!("offset:{end}"));
        let resources = all.into_iter().skip(start).take(end - start).collect();
        Ok(Self { resources, next_cursor })
    }
}

/// A family of resources named by an RFC 6570 URI template such as
/// `notes://{id}`. [`ResourceTemplate::matches`] extracts the variables.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceTemplate {
    pub uri_template: String,
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    pub mime_type: Option<String>,
}

impl ResourceTemplate {
    /// A template `uri_template` called `name`.
    pub fn new(uri_template: impl Into<String>, name: impl Into<String>) -> Self {
        Self { uri_template: uri_template.into(), name: name.into(), ..Self::default() }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the MIME type of every matching resource.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The variables of `uri` if it matches this template, in template
    /// order. See [`match_uri_template`](crate::match_uri_template).
    pub fn matches(&self, uri: &str) -> Option<Vec<(String, String)>> {
        crate::uri_template::match_uri_template(&self.uri_template, uri)
    }
}

/// The body of a resource.
#[derive(Debug, Clone, PartialEq)]
pub enum ResourceBody {
    Text(String),
    /// Raw bytes; the host base64-encodes them for the client.
    Blob(Vec<u8>),
}

/// The contents of one resource, as returned by a read (or embedded in a
/// tool result).
#[derive(Debug, Clone, PartialEq)]
pub struct ResourceContents {
    pub uri: String,
    pub mime_type: Option<String>,
    pub body: ResourceBody,
}

impl ResourceContents {
    /// Text contents at `uri`.
    pub fn text(uri: impl Into<String>, text: impl Into<String>) -> Self {
        Self { uri: uri.into(), mime_type: None, body: ResourceBody::Text(text.into()) }
    }

    /// Binary contents at `uri`.
    pub fn blob(uri: impl Into<String>, data: Vec<u8>) -> Self {
        Self { uri: uri.into(), mime_type: None, body: ResourceBody::Blob(data) }
    }

    /// Sets the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }
}

/// A link to a resource, for tool results.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ResourceLink {
    pub uri: String,
    pub name: String,
    pub description: Option<String>,
    pub mime_type: Option<String>,
}

impl ResourceLink {
    /// A link to `uri` called `name`.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        Self { uri: uri.into(), name: name.into(), ..Self::default() }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_whole_list_pages_by_offset_and_refuses_made_up_cursors() {
        let all: Vec<Resource> = (0..250).map(|i| Resource::new(format!("r://{i}"), format!("{i}"))).collect();
        let first = ResourcePage::of(all.clone(), None).unwrap();
        assert_eq!((first.resources.len(), first.resources[0].name.as_str()), (100, "0"));
        let second = ResourcePage::of(all.clone(), first.next_cursor.as_deref()).unwrap();
        assert_eq!(second.resources[0].name, "100");
        let third = ResourcePage::of(all.clone(), second.next_cursor.as_deref()).unwrap();
        assert_eq!((third.resources.len(), third.next_cursor), (50, None));
        for bad in ["", "offset:", "offset:251", "100"] {
            assert!(matches!(ResourcePage::of(all.clone(), Some(bad)), Err(crate::ServerError::InvalidParams(_))));
        }
        assert_eq!(ResourcePage::of(Vec::new(), None).unwrap(), ResourcePage::default());
    }
}
