//! The bytes of a statement file, read from the Python file object the reader was handed, a
//! block at a time. Bytes are counted into lines and columns as the parser consumes them, so
//! each element and each error can say where it is. A file in another encoding than UTF-8 (it
//! says so in a byte order mark or its XML declaration) is turned into UTF-8 on the way in.

use std::io::{self, BufRead, Read};

use encoding_rs::{CoderResult, Decoder, Encoding, UTF_8};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

const BLOCK: usize = 1 << 16;

pub struct Source {
    file: Py<PyAny>,
    buffer: Vec<u8>,
    consumed: usize,
    decoder: Option<Decoder>,
    started: bool,
    ended: bool,
    failure: Option<PyErr>,
    fault: Option<(String, Position)>,
    /// How far into a UTF-8 sequence EF BF .. (U+FFFE, U+FFFF) the last bytes were.
    noncharacter: u8,
    line: u32,
    /// Bytes consumed before this block, and the offset (in all bytes) where the line starts.
    offset: u64,
    line_start: u64,
}

/// Where the parser is: a 1-based line, and the byte on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

impl Source {
    pub fn new(file: Py<PyAny>) -> Self {
        Self {
            file,
            buffer: Vec::with_capacity(BLOCK),
            consumed: 0,
            decoder: None,
            started: false,
            ended: false,
            failure: None,
            fault: None,
            noncharacter: 0,
            line: 1,
            offset: 0,
            line_start: 0,
        }
    }

    pub fn position(&self) -> Position {
        Position {
            line: self.line,
            column: u32::try_from(self.offset + self.consumed as u64 - self.line_start + 1)
                .unwrap_or(u32::MAX),
        }
    }

    /// What in the bytes read so far XML does not allow (the first such thing), and where.
    pub fn take_fault(&mut self) -> Option<(String, Position)> {
        self.fault.take()
    }

    fn found(&mut self, message: String) {
        if self.fault.is_none() {
            self.fault = Some((message, self.position()));
        }
    }

    /// The Python exception reading the file raised, if that is why the parser stopped.
    pub fn take_failure(&mut self) -> Option<PyErr> {
        self.failure.take()
    }

    fn read_block(&mut self) -> io::Result<Vec<u8>> {
        Python::with_gil(|py| {
            let block = self.file.call_method1(py, "read", (BLOCK,))?;
            Ok::<_, PyErr>(block.downcast_bound::<PyBytes>(py)?.as_bytes().to_vec())
        })
        .map_err(|error| {
            self.failure = Some(error);
            io::Error::other("the statement file could not be read")
        })
    }

    fn refill(&mut self) -> io::Result<()> {
        self.buffer.drain(..self.consumed);
        self.offset += self.consumed as u64;
        self.consumed = 0;
        while self.buffer.is_empty() && !self.ended {
            let raw = self.read_block()?;
            if !self.started {
                self.started = true;
                match decoder_for(&raw) {
                    Ok(encoding) => {
                        self.decoder = encoding.map(Encoding::new_decoder_with_bom_removal);
                    }
                    Err(label) => {
                        self.found(format!("the file is in an unknown encoding, {label}"))
                    }
                }
            }
            self.ended = raw.is_empty();
            match &mut self.decoder {
                Some(decoder) => transcode(decoder, &raw, self.ended, &mut self.buffer),
                None => self.buffer.extend_from_slice(&raw),
            }
        }
        Ok(())
    }
}

impl Read for Source {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let size = available.len().min(out.len());
        out[..size].copy_from_slice(&available[..size]);
        self.consume(size);
        Ok(size)
    }
}

impl BufRead for Source {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.consumed == self.buffer.len() {
            self.refill()?;
        }
        Ok(&self.buffer[self.consumed..])
    }

    fn consume(&mut self, amount: usize) {
        let end = (self.consumed + amount).min(self.buffer.len());
        for index in self.consumed..end {
            let byte = self.buffer[index];
            // Only a line end, a control character or the start of U+FFFE/U+FFFF needs a look.
            if (0x20..0xEF).contains(&byte) && self.noncharacter == 0 {
                continue;
            }
            if byte == b'\n' {
                self.line += 1;
                self.line_start = self.offset + index as u64 + 1;
            } else if byte < 0x20 && byte != b'\t' && byte != b'\r' {
                self.consumed = index;
                self.found(format!(
                    "the character U+{byte:04X}, which XML does not allow"
                ));
            }
            self.noncharacter = match (self.noncharacter, byte) {
                (_, 0xEF) => 1,
                (1, 0xBF) => 2,
                (2, 0xBE | 0xBF) => {
                    self.consumed = index;
                    self.found("the character U+FFFE or U+FFFF, which XML does not allow".into());
                    0
                }
                _ => 0,
            };
        }
        self.consumed = end;
    }
}

/// The encoding of a file that is not UTF-8, from its byte order mark or XML declaration; the
/// declared name if no encoding has it.
fn decoder_for(head: &[u8]) -> Result<Option<&'static Encoding>, String> {
    if let Some((encoding, _)) = Encoding::for_bom(head) {
        return Ok((encoding != UTF_8).then_some(encoding));
    }
    let Some(label) = declared_encoding(head) else {
        return Ok(None);
    };
    match Encoding::for_label(label.as_bytes()) {
        Some(encoding) => Ok((encoding != UTF_8).then_some(encoding)),
        None => Err(label),
    }
}

fn declared_encoding(head: &[u8]) -> Option<String> {
    let declaration = head.split(|&byte| byte == b'>').next()?;
    if !declaration.starts_with(b"<?xml") {
        return None;
    }
    let text = String::from_utf8_lossy(declaration);
    let label = text.split("encoding").nth(1)?;
    let quoted = label.trim_start_matches([' ', '=', '\t', '\r', '\n']);
    let quote = quoted.chars().next()?;
    Some(quoted[1..].split(quote).next()?.to_owned())
}

fn transcode(decoder: &mut Decoder, raw: &[u8], last: bool, out: &mut Vec<u8>) {
    let mut text = String::with_capacity(
        decoder
            .max_utf8_buffer_length(raw.len())
            .unwrap_or(raw.len() * 3),
    );
    let (result, _, _) = decoder.decode_to_string(raw, &mut text, last);
    debug_assert!(matches!(result, CoderResult::InputEmpty));
    out.extend_from_slice(text.as_bytes());
}
