//! A small element tree built with quick-xml: names, text and children, nothing else (オン資
//! messages use neither attributes nor mixed content). Bounded in depth and element count.

use quick_xml::Reader;
use quick_xml::events::Event;

use super::OnshiError;
use pmh_core::domain::text::quoted;

const MAX_DEPTH: usize = 32;
const MAX_ELEMENTS: usize = 20_000;

#[derive(Debug, Clone, Default)]
pub struct Element {
    pub name: String,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The trimmed text of the first child named `name`, if present and not empty.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| {
                c.text
                    .trim_matches(|ch: char| ch.is_whitespace() && ch != '\u{3000}')
            })
            .filter(|t| !t.is_empty())
    }

    /// Like `text_of`, but keeping leading spaces (オン資 pads insurer numbers with them).
    pub fn raw_text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim_end())
            .filter(|t| !t.trim().is_empty())
    }
}

/// Parses a decoded document into its root element.
pub fn parse(text: &str) -> Result<Element, OnshiError> {
    let mut reader = Reader::from_str(text);
    let cfg = reader.config_mut();
    cfg.trim_text(false);
    cfg.check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let syntax = |reader: &Reader<&[u8]>, e: &dyn std::fmt::Display| OnshiError::Syntax {
        offset: usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX),
        reason: quoted(&e.to_string(), 200),
    };
    loop {
        let event = reader.read_event().map_err(|e| syntax(&reader, &e))?;
        match event {
            Event::Start(e) => {
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(OnshiError::TooMany(MAX_ELEMENTS));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(OnshiError::TooDeep(MAX_DEPTH));
                }
                if root.is_some() {
                    return Err(syntax(&reader, &"content after the root element"));
                }
                let name = String::from_utf8_lossy(e.local_name().as_ref()).into_owned();
                stack.push(Element {
                    name,
                    ..Default::default()
                });
            }
            Event::Empty(e) => {
                // Empty elements count too: `<a/>` a million times is a million elements.
                count += 1;
                if count > MAX_ELEMENTS {
                    return Err(OnshiError::TooMany(MAX_ELEMENTS));
                }
                let el = Element {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Default::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None if root.is_none() => root = Some(el),
                    None => return Err(syntax(&reader, &"content after the root element")),
                }
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| syntax(&reader, &"unbalanced end tag"))?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(el),
                    None => root = Some(el),
                }
            }
            Event::Text(t) => {
                if let Some(cur) = stack.last_mut() {
                    let s = t.decode().map_err(|e| syntax(&reader, &e))?;
                    cur.text.push_str(&s);
                } else if !t.iter().all(|b| b.is_ascii_whitespace()) {
                    return Err(syntax(&reader, &"text outside the root element"));
                }
            }
            Event::CData(t) => {
                if let Some(cur) = stack.last_mut() {
                    let s = t.decode().map_err(|e| syntax(&reader, &e))?;
                    cur.text.push_str(&s);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref().map_err(|e| syntax(&reader, &e))? {
                    Some(c) => c,
                    None => match &*r as &[u8] {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        other => {
                            return Err(syntax(
                                &reader,
                                &format!("unknown entity &{};", String::from_utf8_lossy(other)),
                            ));
                        }
                    },
                };
                if let Some(cur) = stack.last_mut() {
                    cur.text.push(resolved);
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(OnshiError::Syntax {
            offset: text.len(),
            reason: format!(
                "element <{}> is not closed",
                quoted(&stack[stack.len() - 1].name, 64)
            ),
        });
    }
    root.ok_or(OnshiError::Syntax {
        offset: 0,
        reason: "no root element".into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_element_cap_counts_empty_elements() {
        let many = format!("<XmlMsg>{}</XmlMsg>", "<a/>".repeat(MAX_ELEMENTS + 1));
        assert_eq!(parse(&many).unwrap_err(), OnshiError::TooMany(MAX_ELEMENTS));
        let fine = format!("<XmlMsg>{}</XmlMsg>", "<a/>".repeat(MAX_ELEMENTS - 1));
        assert_eq!(parse(&fine).unwrap().children.len(), MAX_ELEMENTS - 1);
        let deep = format!(
            "{}{}",
            "<a>".repeat(MAX_DEPTH + 1),
            "</a>".repeat(MAX_DEPTH + 1)
        );
        assert_eq!(parse(&deep).unwrap_err(), OnshiError::TooDeep(MAX_DEPTH));
    }
}
