//! The document's outline: the root and its version, the message with its group header, and
//! each statement (notification) with its header parts and entries, in file order. A
//! statement's header is handed out when its first entry starts (or, without entries, when it
//! ends); each entry when it has been read whole.

use std::collections::HashMap;

use pyo3::prelude::*;
use regex::Regex;
use std::sync::LazyLock;

use super::parts;
use super::python::{self as objects, classes, malformed, missing, unsupported, At};
use super::tree::{cleaned, read_element, skip_element, Element, Node};
use super::xml::{Tag, Xml, XmlError};

const SUPPORTED_VERSIONS: [&str; 7] = [
    "camt.053.001.02",
    "camt.053.001.03",
    "camt.053.001.04",
    "camt.053.001.08",
    "camt.054.001.02",
    "camt.054.001.04",
    "camt.054.001.08",
];
/// The names the reader looks for at the root: anything else is not a camt document.
const KNOWN_NAMES: [&str; 11] = [
    "Document",
    "GrpHdr",
    "Stmt",
    "Ntfctn",
    "Ntry",
    "Id",
    "ElctrncSeqNb",
    "CreDtTm",
    "Acct",
    "Bal",
    "TxsSummry",
];
static ISO_20022: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^urn:iso:std:iso:20022:tech:xsd:(?P<message>[a-z]{4}\.\d{3}\.\d{3}\.\d{2})$")
        .expect("a valid pattern")
});

/// The statement element each message holds.
fn statement_name(message: &str) -> Option<&'static str> {
    match message {
        "BkToCstmrStmt" => Some("Stmt"),
        "BkToCstmrDbtCdtNtfctn" => Some("Ntfctn"),
        _ => None,
    }
}

/// Where the reader is in the document's outline.
enum Level {
    BeforeRoot,
    Root,
    Message(&'static str),
    Statement(&'static str),
}

pub struct Outline {
    level: Level,
    version: String,
    message_id: Option<String>,
    statements: u32,
    header: Option<Header>,
    children: HashMap<String, u32>,
}

/// What the reader does next.
pub enum Step {
    Continue,
    Hand(PyObject),
    /// A statement's entry has started (its header, handed out, came first): read it next.
    ReadEntry(Tag),
}

impl Outline {
    pub fn new() -> Self {
        Self {
            level: Level::BeforeRoot,
            version: String::new(),
            message_id: None,
            statements: 0,
            header: None,
            children: HashMap::new(),
        }
    }

    pub fn opened(&mut self, py: Python<'_>, xml: &mut Xml, tag: Tag) -> PyResult<Step> {
        match self.level {
            Level::BeforeRoot => {
                self.version = document_version(py, &tag, xml.uri(tag.namespace), xml.doctype)?;
                self.level = Level::Root;
            }
            Level::Root => match statement_name(tag.name.as_str()) {
                Some(statement) => self.level = Level::Message(statement),
                None => skip(py, xml)?,
            },
            Level::Message(statement) => {
                if tag.name.as_str() == "GrpHdr" {
                    let header = element(py, xml, tag)?;
                    self.message_id = Node(&header).text("MsgId");
                } else if tag.name.as_str() == statement {
                    self.begin_statement(tag.line);
                    self.level = Level::Statement(statement);
                } else {
                    skip(py, xml)?;
                }
            }
            Level::Statement(_) => return self.statement_child(py, xml, tag),
        }
        Ok(Step::Continue)
    }

    pub fn closed(&mut self, py: Python<'_>) -> PyResult<Step> {
        match self.level {
            Level::Statement(statement) => {
                self.level = Level::Message(statement);
                let header = self.header.take().expect("a statement has a header");
                if !header.handed_out {
                    return Ok(Step::Hand(header.build(py)?));
                }
            }
            Level::Message(_) => self.level = Level::Root,
            Level::Root | Level::BeforeRoot => self.level = Level::BeforeRoot,
        }
        Ok(Step::Continue)
    }

    pub fn finish(&self, py: Python<'_>) -> PyResult<()> {
        if self.statements == 0 {
            let (messages, statement) = self.messages_path();
            return Err(malformed(
                py,
                "the document holds no statement",
                &[(&messages, &format!("no {statement} element"))],
            ));
        }
        Ok(())
    }

    pub fn entry(&mut self, py: Python<'_>, xml: &mut Xml, tag: Tag) -> PyResult<PyObject> {
        let header = self
            .header
            .as_ref()
            .expect("entries are read inside a statement");
        let count = self.children["Ntry"];
        let at = At {
            path: format!("{}/Ntry[{count}]", header.at.path),
            line: tag.line,
        };
        let read = element(py, xml, tag)?;
        parts::entry(py, &read, header.number, count, &at)
    }

    fn begin_statement(&mut self, line: u32) {
        self.statements += 1;
        let (messages, statement) = self.messages_path();
        let at = At {
            path: format!("{messages}/{statement}[{}]", self.statements),
            line,
        };
        self.header = Some(Header::new(
            self.statements,
            &self.version,
            &self.message_id,
            at,
        ));
        self.children.clear();
    }

    fn statement_child(&mut self, py: Python<'_>, xml: &mut Xml, tag: Tag) -> PyResult<Step> {
        let name = tag.name.clone();
        if !KNOWN_NAMES.contains(&name.as_str()) {
            skip(py, xml)?;
            return Ok(Step::Continue);
        }
        let count = *self
            .children
            .entry(name.clone())
            .and_modify(|count| *count += 1)
            .or_insert(1);
        let header = self.header.as_mut().expect("inside a statement");
        if name == "Ntry" {
            if header.handed_out {
                return Ok(Step::ReadEntry(tag));
            }
            let built = header.build(py)?;
            header.handed_out = true;
            header.pending_entry = Some(tag);
            return Ok(Step::Hand(built));
        }
        let path = if name == "Bal" {
            format!("{}/Bal[{count}]", header.at.path)
        } else {
            format!("{}/{name}", header.at.path)
        };
        let read = element(py, xml, tag)?;
        let at = At {
            path,
            line: read.line,
        };
        header.take(py, &name, &read, &at)?;
        Ok(Step::Continue)
    }

    /// The entry whose start came with its statement's header, if it is still to be read.
    pub fn pending_entry(&mut self) -> Option<Tag> {
        self.header.as_mut()?.pending_entry.take()
    }

    fn messages_path(&self) -> (String, &'static str) {
        let (message, statement) = if self.version.starts_with("camt.054") {
            ("BkToCstmrDbtCdtNtfctn", "Ntfctn")
        } else {
            ("BkToCstmrStmt", "Stmt")
        };
        (format!("/Document/{message}"), statement)
    }
}

/// Reads the element whole. Python may run meanwhile: the reader holds the GIL only while it
/// reads a block of the file.
fn element(py: Python<'_>, xml: &mut Xml, tag: Tag) -> PyResult<Element> {
    py.allow_threads(|| read_element(xml, tag))
        .map_err(|error| refused(py, xml, &error))
}

fn skip(py: Python<'_>, xml: &mut Xml) -> PyResult<()> {
    py.allow_threads(|| skip_element(xml))
        .map_err(|error| refused(py, xml, &error))
}

/// The file is not well-formed XML; or reading it failed, and that failure is raised.
pub fn refused(py: Python<'_>, xml: &mut Xml, error: &XmlError) -> PyErr {
    match xml.source_mut().take_failure() {
        Some(failure) => failure,
        None => objects::not_well_formed(py, &error.message, error.at),
    }
}

fn document_version(
    py: Python<'_>,
    root: &Tag,
    namespace: Option<&str>,
    doctype: bool,
) -> PyResult<String> {
    let found = namespace
        .filter(|_| KNOWN_NAMES.contains(&root.name.as_str()))
        .and_then(|namespace| ISO_20022.captures(namespace));
    let Some(found) = found else {
        let namespace = namespace.unwrap_or("(none)");
        let name = root.name.as_str();
        return Err(unsupported(
            py,
            &format!(
                "the root element is {name} in namespace {namespace}, not an ISO 20022 Document"
            ),
            &[(&format!("/{name}"), &format!("namespace {namespace}"))],
        ));
    };
    let message = &found["message"];
    if !SUPPORTED_VERSIONS.contains(&message) {
        return Err(unsupported(
            py,
            &format!(
                "{message} is not supported; supported: {}",
                SUPPORTED_VERSIONS.join(", ")
            ),
            &[("/Document", &format!("namespace {}", &found[0]))],
        ));
    }
    if doctype {
        return Err(unsupported(
            py,
            "bank statements carry no DOCTYPE; this file declares one",
            &[("/", "DOCTYPE declaration")],
        ));
    }
    Ok(message.to_owned())
}

/// A statement's header parts (they all come before its first entry).
struct Header {
    number: u32,
    version: String,
    message_id: Option<String>,
    at: At,
    handed_out: bool,
    pending_entry: Option<Tag>,
    statement_id: Option<String>,
    account: Option<(PyObject, bool)>,
    electronic_sequence: Option<PyObject>,
    created_at: Option<PyObject>,
    balances: Vec<PyObject>,
    summary: Option<PyObject>,
}

impl Header {
    fn new(number: u32, version: &str, message_id: &Option<String>, at: At) -> Self {
        Self {
            number,
            version: version.to_owned(),
            message_id: message_id.clone(),
            at,
            handed_out: false,
            pending_entry: None,
            statement_id: None,
            account: None,
            electronic_sequence: None,
            created_at: None,
            balances: Vec::new(),
            summary: None,
        }
    }

    fn take(&mut self, py: Python<'_>, name: &str, element: &Element, at: &At) -> PyResult<()> {
        match name {
            "Id" => self.statement_id = cleaned(&element.text),
            "ElctrncSeqNb" => {
                self.electronic_sequence = Some(parts::whole_number(py, element, at)?)
            }
            "CreDtTm" => self.created_at = created_at(py, element, at)?,
            "Acct" => self.account = Some(parts::account(py, element)?),
            "Bal" => self.balances.push(parts::balance(py, element, at)?),
            "TxsSummry" => self.summary = Some(parts::summary(py, element, at)?),
            _ => {}
        }
        Ok(())
    }

    fn build(&self, py: Python<'_>) -> PyResult<PyObject> {
        let Some(statement_id) = &self.statement_id else {
            let message = format!("statement {} has no Id", self.number);
            return Err(missing(py, &self.at, "Id", &message));
        };
        let account = match &self.account {
            Some((account, true)) => account.clone_ref(py),
            _ => {
                let message = format!("statement {statement_id} names no account");
                return Err(missing(py, &self.at, "Acct/Id", &message));
            }
        };
        let classes = classes(py)?;
        let summary = match &self.summary {
            Some(summary) => summary.clone_ref(py),
            None => classes.transactions_summary.call0(py)?,
        };
        let balances = self.balances.iter().map(|b| b.clone_ref(py)).collect();
        classes.statement.call1(
            py,
            (
                self.number,
                self.version.as_str(),
                self.message_id.as_deref(),
                statement_id.as_str(),
                account,
                self.electronic_sequence.as_ref().map(|n| n.clone_ref(py)),
                self.created_at.as_ref().map(|at| at.clone_ref(py)),
                objects::tuple(py, balances)?,
                summary,
                self.at.to_python(py)?,
            ),
        )
    }
}

fn created_at(py: Python<'_>, element: &Element, at: &At) -> PyResult<Option<PyObject>> {
    let Some(text) = cleaned(&element.text) else {
        return Ok(None);
    };
    objects::iso_datetime(py, &text).map(Some).map_err(|_| {
        let message = format!(
            "{} is not an ISO 8601 date and time",
            crate::python::repr(py, &text)
        );
        malformed(py, &message, &[(&at.describe(), &message)])
    })
}
