//! One statement part (an entry, a balance, the account) read whole into a small tree, and
//! looked up by local-name paths ('RmtInf/Ustrd') whatever namespace or prefix the file uses.

use super::names::Namespace;
use super::xml::{Tag, Token, Xml, XmlError};

pub struct Element {
    /// The local name: without the prefix, if any.
    pub name: String,
    pub namespace: Namespace,
    pub line: u32,
    pub currency: Option<String>,
    /// The text before the first child element (lxml's `.text`).
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The element's path below `self`: `NtryDtls/TxDtls[2]`, with a position wherever a parent
    /// holds more than one element of that name.
    pub fn path_to(&self, target: &Element) -> Option<String> {
        for child in &self.children {
            let step = self.step(child);
            if std::ptr::eq(child, target) {
                return Some(step);
            }
            if let Some(rest) = child.path_to(target) {
                return Some(format!("{step}/{rest}"));
            }
        }
        None
    }

    fn step(&self, child: &Element) -> String {
        let twins: Vec<&Element> = self
            .children
            .iter()
            .filter(|sibling| sibling.namespace == child.namespace && sibling.name == child.name)
            .collect();
        if twins.len() < 2 {
            return child.name.clone();
        }
        let position = twins
            .iter()
            .position(|twin| std::ptr::eq(*twin, child))
            .expect("a child is its own twin");
        format!("{}[{}]", child.name, position + 1)
    }
}

/// Reads the rest of the element `tag` opened, up to and including its end tag.
pub fn read_element(xml: &mut Xml, tag: Tag) -> Result<Element, XmlError> {
    let mut element = Element {
        name: tag.name,
        namespace: tag.namespace,
        line: tag.line,
        currency: tag.currency,
        text: String::new(),
        children: Vec::new(),
    };
    loop {
        match xml.next()? {
            Token::Open(child) => element.children.push(read_element(xml, child)?),
            Token::Text(text) if element.children.is_empty() => element.text.push_str(&text),
            Token::Text(_) => {}
            Token::Close => return Ok(element),
            Token::End => unreachable!("the reader ends the file inside an element with an error"),
        }
    }
}

/// Reads past the element `tag` opened, checking it is well-formed.
pub fn skip_element(xml: &mut Xml) -> Result<(), XmlError> {
    let mut depth = 1;
    while depth > 0 {
        match xml.next()? {
            Token::Open(_) => depth += 1,
            Token::Close => depth -= 1,
            Token::Text(_) => {}
            Token::End => unreachable!("the reader ends the file inside an element with an error"),
        }
    }
    Ok(())
}

/// An element's descendants by local-name path ('RmtInf/Ustrd'), in document order.
#[derive(Clone, Copy)]
pub struct Node<'a>(pub &'a Element);

impl<'a> Node<'a> {
    pub fn all(self, path: &str) -> Vec<&'a Element> {
        let mut found = vec![self.0];
        for step in path.split('/') {
            found = found
                .iter()
                .flat_map(|element| element.children.iter())
                .filter(|child| is_named(child, step))
                .collect();
        }
        found
    }

    pub fn first(self, path: &str) -> Option<&'a Element> {
        first(self.0, path.split('/'))
    }

    /// `first("{prefix}/{path}")`, without putting the path together.
    pub fn first_in(self, prefix: &str, path: &str) -> Option<&'a Element> {
        first(self.0, prefix.split('/').chain(path.split('/')))
    }

    /// The first such element's text, without surrounding white space; `None` if that is empty.
    pub fn text(self, path: &str) -> Option<String> {
        self.first(path).and_then(|found| cleaned(&found.text))
    }

    pub fn text_in(self, prefix: &str, path: &str) -> Option<String> {
        self.first_in(prefix, path)
            .and_then(|found| cleaned(&found.text))
    }
}

fn first<'a, 's>(
    element: &'a Element,
    mut steps: impl Iterator<Item = &'s str> + Clone,
) -> Option<&'a Element> {
    let Some(step) = steps.next() else {
        return Some(element);
    };
    element
        .children
        .iter()
        .filter(|child| is_named(child, step))
        .find_map(|child| first(child, steps.clone()))
}

/// `element.name == name`, without a call to compare bytes for most names that differ.
fn is_named(element: &Element, name: &str) -> bool {
    let own = element.name.as_bytes();
    own.len() == name.len() && own.first() == name.as_bytes().first() && own == name.as_bytes()
}

pub fn cleaned(text: &str) -> Option<String> {
    let stripped = crate::text::py_strip(text);
    (!stripped.is_empty()).then(|| stripped.to_owned())
}
