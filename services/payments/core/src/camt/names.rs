//! Namespaces in scope: the URI each prefix stands for where an element opens. Every prefix an
//! element or attribute uses must be declared, and every declared namespace must be a URI.

/// A namespace, as an index into the URIs the document declared; 0 is no namespace.
pub type Namespace = usize;

const NO_NAMESPACE: Namespace = 0;
const XML_NAMESPACE: Namespace = 1;

pub struct Scopes {
    uris: Vec<String>,
    /// (prefix, namespace, depth of the element that declared it); "" is the default namespace.
    declared: Vec<(String, Namespace, usize)>,
}

impl Scopes {
    pub fn new() -> Self {
        Self {
            uris: vec![
                String::new(),
                "http://www.w3.org/XML/1998/namespace".to_owned(),
            ],
            declared: Vec::new(),
        }
    }

    pub fn uri(&self, namespace: Namespace) -> Option<&str> {
        (namespace != NO_NAMESPACE).then(|| self.uris[namespace].as_str())
    }

    /// An `xmlns` or `xmlns:prefix` attribute of the element at `depth`.
    pub fn declare(&mut self, prefix: &str, uri: &str, depth: usize) -> Result<(), String> {
        if !uri.is_empty() && !is_uri(uri) {
            return Err(format!("the namespace {uri:?} is not a URI"));
        }
        let namespace = match self.uris.iter().position(|known| known == uri) {
            Some(known) => known,
            None => {
                self.uris.push(uri.to_owned());
                self.uris.len() - 1
            }
        };
        self.declared.push((prefix.to_owned(), namespace, depth));
        Ok(())
    }

    /// The namespace of a name written with `prefix` ("" for none); elements take the default
    /// namespace, attributes do not.
    pub fn resolve(&self, prefix: &str, is_element: bool) -> Result<Namespace, String> {
        if prefix == "xml" {
            return Ok(XML_NAMESPACE);
        }
        if prefix.is_empty() && !is_element {
            return Ok(NO_NAMESPACE);
        }
        match self
            .declared
            .iter()
            .rev()
            .find(|(known, _, _)| known == prefix)
        {
            Some(&(_, namespace, _)) => Ok(namespace),
            None if prefix.is_empty() => Ok(NO_NAMESPACE),
            None => Err(format!("the namespace prefix {prefix} is not declared")),
        }
    }

    /// The element at `depth` has closed: its declarations go out of scope.
    pub fn close(&mut self, depth: usize) {
        while self
            .declared
            .last()
            .is_some_and(|&(_, _, declared_at)| declared_at >= depth)
        {
            self.declared.pop();
        }
    }
}

/// Characters RFC 3986 allows in a URI (and any beyond ASCII, as in an IRI); a space, a control
/// character or a bracket is not.
fn is_uri(text: &str) -> bool {
    text.chars()
        .all(|c| c.is_ascii_alphanumeric() || "-._~:/?#@!$&'()*+,;=%".contains(c) || !c.is_ascii())
}
