//! `text`: regular expressions and Markdown, pure compute. It links the
//! `regex` crate with its Unicode tables and `pulldown-cmark`, which makes
//! it the example of a large component (over 1 MiB): what cold loads cost.

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use smcp_guest::{McpServer, Structured, Tool, ToolError, ToolResult, Tools};

/// Patterns longer than this are refused: compiling is the expensive part.
const MAX_PATTERN: usize = 1024;

#[derive(Deserialize, JsonSchema)]
struct FindArgs {
    /// A regular expression (Rust `regex` syntax, Unicode-aware).
    pattern: String,
    /// The text to search.
    text: String,
}

#[derive(Serialize, JsonSchema)]
struct Matches {
    /// Every non-overlapping match, in order.
    matches: Vec<String>,
}

#[derive(Deserialize, JsonSchema)]
struct ReplaceArgs {
    pattern: String,
    text: String,
    /// The replacement; `$1` or `${name}` refer to capture groups.
    replacement: String,
}

#[derive(Deserialize, JsonSchema)]
struct MarkdownArgs {
    /// CommonMark source.
    markdown: String,
}

fn compile(pattern: &str) -> Result<Regex, ToolError> {
    if pattern.len() > MAX_PATTERN {
        return Err(ToolError::new(format!("patterns are limited to {MAX_PATTERN} bytes")));
    }
    Regex::new(pattern).map_err(|e| ToolError::new(format!("invalid pattern: {e}")))
}

fn find(args: FindArgs) -> ToolResult<Structured<Matches>> {
    let regex = compile(&args.pattern)?;
    let matches: Vec<String> = regex.find_iter(&args.text).map(|m| m.as_str().to_owned()).collect();
    let text = matches.join("\n");
    Ok(Structured::new(Matches { matches }).with_text(text))
}

fn replace(args: ReplaceArgs) -> ToolResult<String> {
    let regex = compile(&args.pattern)?;
    Ok(regex.replace_all(&args.text, args.replacement.as_str()).into_owned())
}

fn markdown(args: MarkdownArgs) -> ToolResult<String> {
    let parser = pulldown_cmark::Parser::new(&args.markdown);
    let mut html = String::with_capacity(args.markdown.len() * 3 / 2);
    pulldown_cmark::html::push_html(&mut html, parser);
    Ok(html)
}

struct Text;

impl McpServer for Text {
    fn tools() -> Tools {
        Tools::new()
            .tool(Tool::new("find", find).description("Every match of a regular expression in a text.").read_only())
            .tool(
                Tool::new("replace", replace)
                    .description("Replaces every match of a regular expression; $1 and ${name} refer to groups.")
                    .read_only(),
            )
            .tool(Tool::new("markdown", markdown).description("Renders CommonMark as HTML.").read_only())
    }
}

smcp_guest::export_server!(Text);
