//! Tools: a name, schemas derived from the handler's types, and a handler
//! that takes typed arguments.

use std::borrow::Cow;

use schemars::JsonSchema;
use serde::de::DeserializeOwned;

use crate::call::ToolCall;
use crate::content::{CallResult, Outcome};
use crate::error::ToolError;
use crate::output::ToolOutput;
use crate::schema;

/// What a tool handler returns; `Err` becomes an `is-error` result.
pub type ToolResult<T> = Result<T, ToolError>;

/// Hints about a tool's behaviour, as in MCP's `ToolAnnotations`. Clients
/// may show them; they are not guarantees.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Annotations {
    pub title: Option<String>,
    pub read_only: Option<bool>,
    pub destructive: Option<bool>,
    pub idempotent: Option<bool>,
    pub open_world: Option<bool>,
}

/// A tool as listed to clients.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolInfo {
    pub name: String,
    pub title: Option<String>,
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    pub input_schema: String,
    /// JSON Schema of the structured content, when there is one.
    pub output_schema: Option<String>,
    pub annotations: Option<Annotations>,
}

type Handler = Box<dyn Fn(&str, &ToolCall<'_>) -> Outcome>;

/// One tool: its description and its handler.
///
/// Schemas are kept as functions and only rendered for `list-tools`, and
/// literal texts are borrowed, so building the tool list for a call costs
/// next to nothing.
pub struct Tool {
    name: Cow<'static, str>,
    title: Option<Cow<'static, str>>,
    description: Option<Cow<'static, str>>,
    input_schema: fn() -> String,
    output_schema: fn() -> Option<String>,
    annotations: Option<Annotations>,
    task: Option<TaskSupport>,
    handler: Handler,
}

/// How a tool may run as an MCP task: from its first checkpoint (an
/// [`InputRequired::checkpoint`](crate::InputRequired::checkpoint)) on, in the
/// background, when the client supports tasks and the grant has `[tasks]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskSupport {
    /// A task for clients that support tasks; others get the result
    /// within their request.
    Optional,
    /// Only clients that support tasks may call the tool.
    Required,
}

impl Tool {
    /// A tool called `name` whose handler takes arguments `A`, deserialized
    /// from the call's JSON and described by `A`'s JSON Schema, and returns
    /// any [`ToolOutput`] (text, [`Structured`](crate::Structured), a
    /// [`CallResult`], ...).
    pub fn new<A, O, F>(name: impl Into<Cow<'static, str>>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + 'static,
        O: ToolOutput + 'static,
        F: Fn(A) -> ToolResult<O> + 'static,
    {
        Self::with_call(name, move |args: A, _: &ToolCall<'_>| handler(args))
    }

    /// Like [`new`](Self::new), for handlers that also need the
    /// [`ToolCall`]: answers to input requests and the state.
    pub fn with_call<A, O, F>(name: impl Into<Cow<'static, str>>, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + 'static,
        O: ToolOutput + 'static,
        F: Fn(A, &ToolCall<'_>) -> ToolResult<O> + 'static,
    {
        let handler = move |arguments: &str, call: &ToolCall<'_>| -> Outcome {
            let result = parse_arguments::<A>(call.name(), arguments).and_then(|args| handler(args, call));
            match result {
                Ok(output) => output.into_outcome(),
                Err(e) => CallResult::error(e.message()).into(),
            }
        };
        Self {
            name: name.into(),
            title: None,
            description: None,
            input_schema: schema::input_schema::<A>,
            output_schema: O::output_schema,
            annotations: None,
            task: None,
            handler: Box::new(handler),
        }
    }

    /// Sets the human-readable title.
    pub fn title(mut self, title: impl Into<Cow<'static, str>>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets the description the model reads to decide when to call the tool.
    pub fn description(mut self, description: impl Into<Cow<'static, str>>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Declares `T` as the output schema, for handlers that build their
    /// structured content themselves (for example with [`CallResult::with_structured`]).
    pub fn output_schema<T: JsonSchema>(mut self) -> Self {
        self.output_schema = || Some(schema::output_schema::<T>());
        self
    }

    /// Sets all annotations.
    pub fn annotations(mut self, annotations: Annotations) -> Self {
        self.annotations = Some(annotations);
        self
    }

    /// Marks the tool as not changing anything.
    pub fn read_only(self) -> Self {
        self.annotate(|a| a.read_only = Some(true))
    }

    /// Marks the tool as possibly destroying data.
    pub fn destructive(self) -> Self {
        self.annotate(|a| a.destructive = Some(true))
    }

    /// Marks repeated calls with the same arguments as harmless.
    pub fn idempotent(self) -> Self {
        self.annotate(|a| a.idempotent = Some(true))
    }

    /// Marks the tool as reaching the world outside the server.
    pub fn open_world(self) -> Self {
        self.annotate(|a| a.open_world = Some(true))
    }

    /// Lets the tool run as an MCP task (see [`TaskSupport`]).
    pub fn task(mut self, support: TaskSupport) -> Self {
        self.task = Some(support);
        self
    }

    /// How the tool may run as a task, if at all.
    pub fn task_support(&self) -> Option<TaskSupport> {
        self.task
    }

    fn annotate(mut self, set: impl FnOnce(&mut Annotations)) -> Self {
        set(self.annotations.get_or_insert_with(Annotations::default));
        self
    }

    /// The tool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The tool as listed to clients, schemas rendered.
    pub fn info(&self) -> ToolInfo {
        ToolInfo {
            name: self.name.to_string(),
            title: self.title.as_deref().map(String::from),
            description: self.description.as_deref().map(String::from),
            input_schema: (self.input_schema)(),
            output_schema: (self.output_schema)(),
            annotations: self.annotations.clone(),
        }
    }

    /// Runs the tool on JSON `arguments`. Never fails: bad arguments and
    /// handler errors become `is-error` results.
    pub fn call(&self, arguments: &str, call: &ToolCall<'_>) -> Outcome {
        (self.handler)(arguments, call)
    }
}

/// Arguments as the handler's type; an empty string counts as `{}` and any
/// mismatch is named in the error, for the model to correct its call.
fn parse_arguments<A: DeserializeOwned>(tool: &str, arguments: &str) -> ToolResult<A> {
    let arguments = if arguments.trim().is_empty() { "{}" } else { arguments };
    let mut json = serde_json::Deserializer::from_str(arguments);
    serde_path_to_error::deserialize(&mut json).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        // A field's own mismatch names the field; position is noise there.
        let problem = if path == "." { inner.to_string() } else { format!("`{path}`: {}", strip_position(&inner)) };
        ToolError::new(format!("invalid arguments for tool `{tool}`: {problem}"))
    })
}

/// serde_json's message without its " at line L column C" suffix.
fn strip_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rfind(" at line ") {
        Some(at) if error.line() > 0 => text[..at].to_owned(),
        _ => text,
    }
}

/// The server's tools, in listing order.
#[derive(Default)]
pub struct Tools {
    tools: Vec<Tool>,
}

impl Tools {
    /// No tools.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tool (builder style).
    pub fn tool(mut self, tool: Tool) -> Self {
        self.tools.push(tool);
        self
    }

    /// Adds a tool.
    pub fn push(&mut self, tool: Tool) {
        self.tools.push(tool);
    }

    /// The tool called `name`; the first one if several share it.
    pub fn get(&self, name: &str) -> Option<&Tool> {
        self.tools.iter().find(|t| t.name == name)
    }

    /// All tools, in order.
    pub fn iter(&self) -> impl Iterator<Item = &Tool> {
        self.tools.iter()
    }
}

impl FromIterator<Tool> for Tools {
    fn from_iter<I: IntoIterator<Item = Tool>>(iter: I) -> Self {
        Self { tools: iter.into_iter().collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Content, Structured};

    #[derive(serde::Deserialize, JsonSchema)]
    struct AddArgs {
        a: f64,
        b: f64,
    }

    #[derive(serde::Serialize, JsonSchema)]
    struct Sum {
        sum: f64,
    }

    fn add_tool() -> Tool {
        Tool::new("add", |args: AddArgs| Ok(Structured::new(Sum { sum: args.a + args.b }))).read_only()
    }

    fn run(tool: &Tool, args: &str) -> CallResult {
        match tool.call(args, &ToolCall::new(tool.name(), &[], None)) {
            Outcome::Complete(r) => r,
            Outcome::InputRequired(_) => panic!("unexpected input-required"),
        }
    }

    #[test]
    fn typed_arguments_and_structured_output() {
        let r = run(&add_tool(), r#"{"a": 2, "b": 3.5}"#);
        assert!(!r.is_error);
        assert_eq!(r.structured_content.as_deref(), Some(r#"{"sum":5.5}"#));
        assert_eq!(r.content, vec![Content::text(r#"{"sum":5.5}"#)]);
    }

    #[test]
    fn bad_arguments_name_the_problem() {
        let r = run(&add_tool(), r#"{"a": 2}"#);
        assert!(r.is_error);
        let text = r.content[0].as_text().unwrap();
        assert!(text.starts_with("invalid arguments for tool `add`: missing field `b`"), "{text}");

        let r = run(&add_tool(), r#"{"a": "two", "b": 1}"#);
        let text = r.content[0].as_text().unwrap();
        assert_eq!(text, "invalid arguments for tool `add`: `a`: invalid type: string \"two\", expected f64");

        let r = run(&add_tool(), "not json");
        assert!(r.is_error && r.content[0].as_text().unwrap().contains("expected"));
    }

    #[test]
    fn handler_errors_become_is_error() {
        let tool = Tool::new("fail", |_: crate::NoArgs| -> ToolResult<String> { Err(ToolError::new("boom")) });
        let r = run(&tool, "");
        assert_eq!((r.is_error, r.content[0].as_text()), (true, Some("boom")));
    }

    #[test]
    fn info_renders_schemas_and_annotations() {
        let info = add_tool().info();
        let input: serde_json::Value = serde_json::from_str(&info.input_schema).unwrap();
        assert_eq!(input["required"], serde_json::json!(["a", "b"]));
        let output: serde_json::Value = serde_json::from_str(info.output_schema.as_deref().unwrap()).unwrap();
        assert_eq!(output["properties"]["sum"]["type"], "number");
        assert_eq!(info.annotations.unwrap().read_only, Some(true));
        let text_tool = Tool::new("t", |_: crate::NoArgs| Ok("x"));
        assert_eq!(text_tool.info().output_schema, None);
    }
}
