//! Argument completion for prompts and resource templates.

/// What a completion request refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionRef {
    /// A prompt, by name.
    Prompt(String),
    /// A resource template, by URI template.
    ResourceTemplate(String),
}

/// A client asking for values of one argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    pub reference: CompletionRef,
    /// The argument being completed.
    pub argument_name: String,
    /// What the user typed so far.
    pub argument_value: String,
    /// Values of arguments already filled in.
    pub context: Vec<(String, String)>,
}

impl CompletionRequest {
    /// True when this asks about `argument` of the prompt called `name`.
    pub fn is_prompt_argument(&self, name: &str, argument: &str) -> bool {
        matches!(&self.reference, CompletionRef::Prompt(p) if p == name) && self.argument_name == argument
    }

    /// True when this asks about `variable` of the template `uri_template`.
    pub fn is_template_variable(&self, uri_template: &str, variable: &str) -> bool {
        matches!(&self.reference, CompletionRef::ResourceTemplate(t) if t == uri_template)
            && self.argument_name == variable
    }
}

/// Completion values. MCP allows at most [`Completion::MAX_VALUES`] per answer.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Completion {
    pub values: Vec<String>,
    /// How many values there are in all, when known.
    pub total: Option<u32>,
    /// True when more values exist than were returned.
    pub has_more: bool,
}

impl Completion {
    /// Most values one completion may carry.
    pub const MAX_VALUES: usize = 100;

    /// No values.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The candidates that start with `prefix`, in order, capped at
    /// [`Self::MAX_VALUES`] with `total` and `has_more` set to match.
    pub fn matching<I, S>(candidates: I, prefix: &str) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let all: Vec<String> = candidates.into_iter().map(Into::into).filter(|c| c.starts_with(prefix)).collect();
        let total = all.len();
        let values: Vec<String> = all.into_iter().take(Self::MAX_VALUES).collect();
        Self { has_more: total > values.len(), total: Some(u32::try_from(total).unwrap_or(u32::MAX)), values }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_filters_and_caps() {
        let c = Completion::matching(["alpha", "beta", "alps"], "al");
        assert_eq!(c.values, vec!["alpha", "alps"]);
        assert_eq!(c.total, Some(2));
        assert!(!c.has_more);

        let many = (0..250).map(|i| format!("v{i}"));
        let c = Completion::matching(many, "v");
        assert_eq!(c.values.len(), 100);
        assert_eq!(c.total, Some(250));
        assert!(c.has_more);
    }
}
