//! Resources, the resource template, prompts and completion.

use serde_json::json;
use smcp_guest::{
    Completion, CompletionRef, CompletionRequest, Content, Prompt, PromptArgs, PromptMessage, PromptResult, Resource,
    ResourceContents, ResourceTemplate, Role, ServerError, match_uri_template,
};

use crate::media;

const STATIC_TEXT: &str = "test://static-text";
const STATIC_BINARY: &str = "test://static-binary";
const WATCHED: &str = "test://watched-resource";
const EXAMPLE: &str = "test://example-resource";
const STATELESS_TEXT: &str = "test://stateless-static-text";
const TEMPLATE: &str = "test://template/{id}/data";

/// Listed resources; `test://static-text` first, since the caching
/// scenario reads whichever comes first.
pub fn resources() -> Vec<Resource> {
    vec![
        Resource::new(STATIC_TEXT, "static-text")
            .title("Static Text Resource")
            .description("A static text resource for testing")
            .mime_type("text/plain"),
        Resource::new(STATIC_BINARY, "static-binary")
            .title("Static Binary Resource")
            .description("A static binary resource (image) for testing")
            .mime_type(media::PNG_MIME),
        Resource::new(WATCHED, "watched-resource")
            .title("Watched Resource")
            .description("A resource to subscribe to (resources/subscribe and resources/unsubscribe)")
            .mime_type("text/plain"),
        Resource::new(EXAMPLE, "example-resource")
            .title("Example Resource")
            .description("The resource test_prompt_with_embedded_resource embeds in the conformance suite")
            .mime_type("text/plain"),
        Resource::new(STATELESS_TEXT, "stateless-static-text")
            .title("Stateless Static Text")
            .description("A static text resource of the 2026-07-28 fixtures")
            .mime_type("text/plain"),
    ]
}

pub fn resource_templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(TEMPLATE, "template")
            .title("Resource Template")
            .description("A resource template with an id parameter")
            .mime_type("application/json"),
    ]
}

fn text(uri: &str, mime_type: &str, text: impl Into<String>) -> Vec<ResourceContents> {
    vec![ResourceContents::text(uri, text).mime_type(mime_type)]
}

/// Unknown URIs are `not-found`, which the host answers with -32602 and
/// `data.uri` on 2026-07-28 (sep-2164-resource-not-found).
pub fn read_resource(uri: &str) -> Result<Vec<ResourceContents>, ServerError> {
    match uri {
        STATIC_TEXT => Ok(text(uri, "text/plain", "This is the content of the static text resource.")),
        STATIC_BINARY => Ok(vec![ResourceContents::blob(uri, media::png()).mime_type(media::PNG_MIME)]),
        WATCHED => Ok(text(uri, "text/plain", "Watched resource content")),
        EXAMPLE => Ok(text(uri, "text/plain", "This is the example resource content.")),
        STATELESS_TEXT => Ok(text(uri, "text/plain", "Static text content from the stateless draft path.")),
        _ => match match_uri_template(TEMPLATE, uri).as_deref() {
            Some([(_, id)]) => {
                let body = json!({ "id": id, "templateTest": true, "data": format!("Data for ID: {id}") });
                Ok(text(uri, "application/json", body.to_string()))
            }
            _ => Err(ServerError::not_found(format!("unknown resource `{uri}`"))),
        },
    }
}

pub fn prompts() -> Vec<Prompt> {
    vec![
        Prompt::new("test_simple_prompt").title("Simple Prompt").description("A simple prompt without arguments"),
        Prompt::new("test_prompt_with_arguments")
            .title("Prompt With Arguments")
            .description("A prompt with required arguments")
            .required("arg1", "First test argument")
            .required("arg2", "Second test argument"),
        Prompt::new("test_prompt_with_embedded_resource")
            .title("Prompt With Embedded Resource")
            .description("A prompt that includes an embedded resource")
            .required("resourceUri", "URI of the resource to embed"),
        Prompt::new("test_prompt_with_image").title("Prompt With Image").description("A prompt that includes an image"),
    ]
}

fn user(content: Content) -> PromptMessage {
    PromptMessage { role: Role::User, content }
}

pub fn get_prompt(name: &str, args: &PromptArgs) -> Result<PromptResult, ServerError> {
    let messages = match name {
        "test_simple_prompt" => vec![PromptMessage::user("This is a simple prompt for testing.")],
        "test_prompt_with_arguments" => {
            let (arg1, arg2) = (args.require("arg1")?, args.require("arg2")?);
            vec![PromptMessage::user(format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'"))]
        }
        "test_prompt_with_embedded_resource" => {
            let uri = args.require("resourceUri")?;
            let resource =
                ResourceContents::text(uri, "Embedded resource content for testing.").mime_type("text/plain");
            vec![user(resource.into()), PromptMessage::user("Please process the embedded resource above.")]
        }
        "test_prompt_with_image" => vec![
            user(Content::image(media::png(), media::PNG_MIME)),
            PromptMessage::user("Please analyze the image above."),
        ],
        _ => return Err(ServerError::not_found(format!("unknown prompt `{name}`"))),
    };
    Ok(PromptResult::new(messages))
}

/// Suggestions for both arguments of `test_prompt_with_arguments` and the
/// template's `id`; anything else completes to nothing (not an error, like
/// the reference server).
pub fn complete(request: &CompletionRequest) -> Result<Completion, ServerError> {
    let prefix = request.argument_value.as_str();
    let candidates: &[&str] = match (&request.reference, request.argument_name.as_str()) {
        (CompletionRef::Prompt(p), "arg1") if p == "test_prompt_with_arguments" => {
            &["test", "testValue1", "value1", "first"]
        }
        (CompletionRef::Prompt(p), "arg2") if p == "test_prompt_with_arguments" => {
            &["test", "testValue2", "value2", "second"]
        }
        (CompletionRef::ResourceTemplate(t), "id") if t == TEMPLATE => &["1", "2", "3", "42", "123"],
        _ => &[],
    };
    Ok(Completion::matching(candidates.iter().copied(), prefix))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use smcp_guest::ResourceBody;

    use super::*;

    fn body_text(contents: &[ResourceContents]) -> &str {
        match &contents[0].body {
            ResourceBody::Text(t) => t,
            ResourceBody::Blob(_) => panic!("blob"),
        }
    }

    #[test]
    fn every_listed_resource_reads() {
        for r in resources() {
            let contents = read_resource(&r.uri).unwrap();
            assert_eq!(contents[0].uri, r.uri);
            assert_eq!(contents[0].mime_type, r.mime_type);
        }
        assert_eq!(resources()[0].uri, STATIC_TEXT);
    }

    #[test]
    fn template_and_unknown() {
        let contents = read_resource("test://template/123/data").unwrap();
        assert_eq!(contents[0].uri, "test://template/123/data");
        let v: Value = serde_json::from_str(body_text(&contents)).unwrap();
        assert_eq!(v, json!({ "id": "123", "templateTest": true, "data": "Data for ID: 123" }));
        let missing = read_resource("test://nonexistent-resource-for-conformance-testing");
        assert!(matches!(missing, Err(ServerError::NotFound(_))));
        assert!(read_resource("test://template/1/2/data").is_err());
    }

    #[test]
    fn prompts_fill_in() {
        assert!(prompts().iter().all(|p| p.description.as_deref().is_some_and(|d| !d.is_empty())));
        let args = PromptArgs(vec![("arg1".into(), "testValue1".into()), ("arg2".into(), "testValue2".into())]);
        let r = get_prompt("test_prompt_with_arguments", &args).unwrap();
        assert_eq!(
            r.messages[0].content.as_text(),
            Some("Prompt with arguments: arg1='testValue1', arg2='testValue2'")
        );
        assert!(matches!(
            get_prompt("test_prompt_with_arguments", &PromptArgs::default()),
            Err(ServerError::InvalidParams(_))
        ));

        let args = PromptArgs(vec![("resourceUri".into(), EXAMPLE.into())]);
        let r = get_prompt("test_prompt_with_embedded_resource", &args).unwrap();
        assert!(matches!(&r.messages[0].content, Content::Resource(c) if c.uri == EXAMPLE));
        let r = get_prompt("test_prompt_with_image", &PromptArgs::default()).unwrap();
        assert!(matches!(&r.messages[0].content, Content::Image { mime_type, .. } if mime_type == "image/png"));
        assert!(matches!(get_prompt("nope", &PromptArgs::default()), Err(ServerError::NotFound(_))));
    }

    #[test]
    fn completion() {
        let request = |reference, name: &str, value: &str| CompletionRequest {
            reference,
            argument_name: name.into(),
            argument_value: value.into(),
            context: vec![],
        };
        let prompt = || CompletionRef::Prompt("test_prompt_with_arguments".into());
        let c = complete(&request(prompt(), "arg1", "test")).unwrap();
        assert_eq!(c.values, ["test", "testValue1"]);
        let c = complete(&request(CompletionRef::ResourceTemplate(TEMPLATE.into()), "id", "1")).unwrap();
        assert_eq!(c.values, ["1", "123"]);
        assert!(complete(&request(CompletionRef::Prompt("other".into()), "x", "")).unwrap().values.is_empty());
    }
}
