//! calc's resources, prompt and completions.

use smcp_guest::{
    Completion, CompletionRequest, Prompt, PromptArgs, PromptMessage, PromptResult, Resource, ResourceContents,
    ResourceTemplate, ServerError,
};

pub const ABOUT_URI: &str = "calc://about";
pub const ABOUT_TEXT: &str = "calc: a pure-compute SMCP test server.";
pub const FIB_TEMPLATE: &str = "calc://fib/{n}";
const TOPICS: [&str; 3] = ["addition", "division", "fibonacci"];
/// Template values offered by completion: 0..=30.
const MAX_COMPLETED_N: u32 = 30;

pub fn resources() -> Vec<Resource> {
    let about = Resource::new(ABOUT_URI, "about").title("About calc").mime_type("text/plain");
    vec![about.size(ABOUT_TEXT.len() as u64)]
}

pub fn resource_templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(FIB_TEMPLATE, "fib")
            .description("The n-th Fibonacci number as text.")
            .mime_type("text/plain"),
    ]
}

pub fn read_resource(uri: &str) -> Result<Vec<ResourceContents>, ServerError> {
    if uri == ABOUT_URI {
        return Ok(vec![ResourceContents::text(uri, ABOUT_TEXT).mime_type("text/plain")]);
    }
    let vars = smcp_guest::match_uri_template(FIB_TEMPLATE, uri)
        .ok_or_else(|| ServerError::not_found(format!("unknown resource `{uri}`")))?;
    let n: u64 =
        vars[0].1.parse().map_err(|_| ServerError::invalid_params(format!("`{}` is not a number", vars[0].1)))?;
    Ok(vec![ResourceContents::text(uri, crate::fib(n).to_string()).mime_type("text/plain")])
}

pub fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new("explain")
            .title("Explain a topic")
            .description("Asks for a simple explanation of a math topic.")
            .required("topic", "The topic, e.g. fibonacci."),
    ]
}

pub fn get_prompt(name: &str, arguments: &PromptArgs) -> Result<PromptResult, ServerError> {
    if name != "explain" {
        return Err(ServerError::not_found(format!("unknown prompt `{name}`")));
    }
    let topic = arguments.require("topic")?;
    Ok(PromptResult::new(vec![PromptMessage::user(format!("Explain {topic} in simple terms."))])
        .description(format!("Explain {topic}")))
}

pub fn complete(request: &CompletionRequest) -> Result<Completion, ServerError> {
    let prefix = request.argument_value.as_str();
    if request.is_prompt_argument("explain", "topic") {
        Ok(Completion::matching(TOPICS, prefix))
    } else if request.is_template_variable(FIB_TEMPLATE, "n") {
        Ok(Completion::matching((0..=MAX_COMPLETED_N).map(|n| n.to_string()), prefix))
    } else {
        Err(ServerError::not_found(format!("nothing to complete for `{}`", request.argument_name)))
    }
}
