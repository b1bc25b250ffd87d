//! The file as XML: elements opening and closing, and their text, with whatever is not
//! well-formed refused where it is found, as strictly as libxml2 refuses it (including its
//! limits: 256 levels of nesting, names of 50,000 characters, texts of 10,000,000). Comments and
//! processing instructions are dropped, CDATA and references (`&amp;`, `&#233;`) become text,
//! and line ends read as `\n`. A DOCTYPE is noted (a statement must not have one), never applied.

use quick_xml::errors::{Error, IllFormedError};
use quick_xml::events::{BytesDecl, BytesStart, Event};
use quick_xml::Reader;

use super::names::{Namespace, Scopes};
use super::source::{Position, Source};

const MAX_DEPTH: usize = 256;
const MAX_NAME: usize = 50_000;
const MAX_TEXT: usize = 10_000_000;

pub struct Xml {
    reader: Reader<Source>,
    buffer: Vec<u8>,
    /// The names of the open elements, one after the other, and where each starts and is.
    open_names: String,
    open: Vec<(usize, u32)>,
    scopes: Scopes,
    events: u64,
    text_run: usize,
    root_seen: bool,
    pub doctype: bool,
}

/// An element's start tag: its local name, its namespace, where it is, and what the reader
/// needs of its attributes.
pub struct Tag {
    pub name: String,
    pub namespace: Namespace,
    pub line: u32,
    pub currency: Option<String>,
}

pub enum Token {
    Open(Tag),
    Close,
    Text(String),
    End,
}

/// Why the file is not well-formed XML, and where that was found.
pub struct XmlError {
    pub message: String,
    pub at: Position,
}

fn local(qname: &str) -> &str {
    qname.rsplit_once(':').map_or(qname, |(_, name)| name)
}

fn prefix(qname: &str) -> &str {
    qname.rsplit_once(':').map_or("", |(prefix, _)| prefix)
}

impl Xml {
    pub fn new(source: Source) -> Self {
        let mut reader = Reader::from_reader(source);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.check_comments = true;
        Self {
            reader,
            buffer: Vec::new(),
            open_names: String::new(),
            open: Vec::new(),
            scopes: Scopes::new(),
            events: 0,
            text_run: 0,
            root_seen: false,
            doctype: false,
        }
    }

    pub fn source_mut(&mut self) -> &mut Source {
        self.reader.get_mut()
    }

    /// The URI of a namespace the document declared.
    pub fn uri(&self, namespace: Namespace) -> Option<&str> {
        self.scopes.uri(namespace)
    }

    pub fn next(&mut self) -> Result<Token, XmlError> {
        let mut buffer = std::mem::take(&mut self.buffer);
        let token = self.next_into(&mut buffer);
        self.buffer = buffer;
        token
    }

    fn next_into(&mut self, buffer: &mut Vec<u8>) -> Result<Token, XmlError> {
        loop {
            buffer.clear();
            let event = self.reader.read_event_into(buffer);
            if let Some((message, at)) = self.reader.get_mut().take_fault() {
                return Err(XmlError { message, at });
            }
            self.events += 1;
            let token = match event {
                Ok(Event::Start(start)) => Some(Token::Open(self.opened(&start)?)),
                Ok(Event::End(_)) => Some(self.closed()),
                Ok(Event::Text(text)) => {
                    let raw: &str = text.as_ref();
                    if raw.contains('>') && raw.contains("]]>") {
                        return Err(self.error("']]>' in text, where only a CDATA section ends"));
                    }
                    self.text(text.xml10_content().into_owned())?
                }
                Ok(Event::CData(data)) => self.text(data.xml10_content().into_owned())?,
                Ok(Event::GeneralRef(reference)) => {
                    let text = resolved(&reference.into_inner())
                        .ok_or_else(|| self.error("a reference to an undefined entity"))?;
                    self.text(text)?
                }
                Ok(Event::Decl(declaration)) => self.declared(&declaration)?,
                Ok(Event::PI(instruction)) if instruction.target().eq_ignore_ascii_case("xml") => {
                    return Err(self.error("an XML declaration after the start of the file"))
                }
                Ok(Event::DocType(_)) if self.root_seen => {
                    return Err(self.error("a DOCTYPE after the root element"))
                }
                Ok(Event::DocType(_)) => {
                    self.doctype = true;
                    None
                }
                Ok(Event::Eof) => Some(self.ended()?),
                Ok(Event::PI(_) | Event::Comment(_)) => None,
                Ok(Event::Empty(_)) => unreachable!("empty elements are expanded"),
                Err(error) => return Err(self.error(&describe(&error))),
            };
            if let Some(token) = token {
                return Ok(token);
            }
        }
    }

    fn declared(&self, declaration: &BytesDecl<'_>) -> Result<Option<Token>, XmlError> {
        if self.events > 1 {
            return Err(self.error("an XML declaration after the start of the file"));
        }
        let version = declaration
            .version()
            .map_err(|error| self.error(&describe(&error)))?;
        if !version.starts_with("1.") {
            return Err(self.error(&format!("XML version {version} is not supported")));
        }
        Ok(None)
    }

    fn opened(&mut self, start: &BytesStart<'_>) -> Result<Tag, XmlError> {
        if self.open.is_empty() && self.root_seen {
            return Err(self.error("an element after the end of the root element"));
        }
        if self.open.len() >= MAX_DEPTH {
            return Err(self.error(&format!("elements nested more than {MAX_DEPTH} deep")));
        }
        let name = start.name();
        let qname: &str = name.as_ref();
        if qname.len() > MAX_NAME {
            return Err(self.error(&format!("a name longer than {MAX_NAME} characters")));
        }
        self.root_seen = true;
        self.text_run = 0;
        let line = self.reader.get_ref().position().line;
        self.open.push((self.open_names.len(), line));
        self.open_names.push_str(qname);
        let currency = self.attributes(start)?;
        let namespace = self
            .scopes
            .resolve(prefix(qname), true)
            .map_err(|message| self.error(&message))?;
        Ok(Tag {
            name: local(qname).to_owned(),
            namespace,
            line,
            currency,
        })
    }

    /// Checks the attributes, declares the namespaces among them, and gives the `Ccy`.
    fn attributes(&mut self, start: &BytesStart<'_>) -> Result<Option<String>, XmlError> {
        let mut currency = None;
        let mut prefixed = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|error| self.error(&error.to_string()))?;
            let raw: &str = attribute.value.as_ref();
            if raw.contains('<') || raw.len() > MAX_TEXT {
                return Err(self.error("an attribute value holding '<' or too long"));
            }
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|error| self.error(&describe(&error)))?;
            let name: &str = attribute.key.as_ref();
            let declared = match name.strip_prefix("xmlns") {
                Some("") => Some(""),
                Some(rest) => rest.strip_prefix(':'),
                None => None,
            };
            if let Some(declared) = declared {
                let depth = self.open.len();
                self.scopes
                    .declare(declared, &value, depth)
                    .map_err(|message| self.error(&message))?;
            } else if name == "Ccy" {
                currency = Some(value.into_owned());
            } else if name.contains(':') {
                prefixed.push(prefix(name).to_owned());
            }
        }
        for prefix in prefixed {
            self.scopes
                .resolve(&prefix, false)
                .map_err(|message| self.error(&message))?;
        }
        Ok(currency)
    }

    fn closed(&mut self) -> Token {
        let (start, _) = self.open.pop().expect("quick-xml matches end tags");
        self.open_names.truncate(start);
        self.scopes.close(self.open.len() + 1);
        self.text_run = 0;
        Token::Close
    }

    fn ended(&self) -> Result<Token, XmlError> {
        match self.open.last() {
            Some(&(start, line)) => Err(self.error(&format!(
                "the file ends inside <{}> (opened on line {line})",
                &self.open_names[start..]
            ))),
            None if !self.root_seen => Err(self.error("the file holds no XML element")),
            None => Ok(Token::End),
        }
    }

    /// Text inside the root element; outside it, only white space may stand.
    fn text(&mut self, text: String) -> Result<Option<Token>, XmlError> {
        self.text_run += text.len();
        if self.text_run > MAX_TEXT {
            return Err(self.error(&format!("a text longer than {MAX_TEXT} characters")));
        }
        if !self.open.is_empty() {
            return Ok(Some(Token::Text(text)));
        }
        if text.chars().all(|c| matches!(c, ' ' | '\t' | '\r' | '\n')) {
            return Ok(None);
        }
        Err(self.error("text outside the root element"))
    }

    fn error(&self, message: &str) -> XmlError {
        XmlError {
            message: message.to_owned(),
            at: self.reader.get_ref().position(),
        }
    }
}

/// `amp` -> '&', `#233` -> 'é'; `None` for an entity no DTD-less document can define, or a
/// character XML does not allow.
fn resolved(reference: &str) -> Option<String> {
    if let Some(number) = reference.strip_prefix('#') {
        let code = match number.strip_prefix('x') {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code)
            .filter(|&c| is_xml_char(c))
            .map(String::from);
    }
    quick_xml::escape::resolve_predefined_entity(reference).map(str::to_owned)
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}')
        || c >= '\u{10000}'
}

fn describe(error: &Error) -> String {
    match error {
        Error::IllFormed(IllFormedError::MismatchedEndTag { expected, found }) => {
            format!("</{found}> where </{expected}> closes the open element")
        }
        Error::IllFormed(IllFormedError::UnmatchedEndTag(name)) => {
            format!("</{name}> closes no open element")
        }
        other => other.to_string(),
    }
}
