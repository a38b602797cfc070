//! `text-plain`: a component that knows nothing of MCP. It exports the
//! functions of `wit/world.wit`; the host serves each as a tool, with an
//! input schema from the parameter types and the result as structured
//! content (docs/writing-guests.md, "Plain components").

wit_bindgen::generate!({ path: "wit", world: "text" });

use exports::example::text::tools::{Case, Guest, TextStats};

struct Text;

impl Guest for Text {
    fn reverse(text: String) -> String {
        text.chars().rev().collect()
    }

    fn count(text: String) -> TextStats {
        let words: Vec<&str> = text.split_whitespace().collect();
        let longest = words.iter().max_by_key(|w| w.chars().count()).map(|w| w.to_string());
        TextStats { words: words.len() as u32, lines: text.lines().count() as u32, longest }
    }

    fn convert(text: String, to: Case) -> String {
        match to {
            Case::Upper => text.to_uppercase(),
            Case::Lower => text.to_lowercase(),
            Case::Title => text
                .split(' ')
                .map(|w| {
                    let mut chars = w.chars();
                    chars
                        .next()
                        .map(|c| c.to_uppercase().chain(chars.flat_map(char::to_lowercase)).collect())
                        .unwrap_or_default()
                })
                .collect::<Vec<String>>()
                .join(" "),
        }
    }

    fn divide(a: f64, b: f64) -> Result<f64, String> {
        if b == 0.0 { Err("division by zero".into()) } else { Ok(a / b) }
    }
}

export!(Text);
