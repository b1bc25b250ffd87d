//! A statement's parts as `payments.domain.statement` has them: entries with their
//! transactions, balances, the transactions summary and the account. A part that cannot be
//! read is refused naming its path and line; the order of the checks is the order of the fields.

use pyo3::prelude::*;
use pyo3::types::PyString;

use super::python::{self as objects, classes, missing, wrong, At};
use super::tree::{cleaned, Element, Node};
use crate::amounts::minor_units;

const TRANSACTIONS: &str = "NtryDtls/TxDtls";

pub fn entry(
    py: Python<'_>,
    element: &Element,
    statement_number: u32,
    number: u32,
    at: &At,
) -> PyResult<PyObject> {
    let node = Node(element);
    let status = node
        .text("Sts/Cd")
        .or_else(|| node.text("Sts/Prtry"))
        .or_else(|| node.text("Sts"))
        .ok_or_else(|| {
            let message = format!("entry {number} of statement {statement_number} has no status");
            missing(py, at, "Sts", &message)
        })?;
    let amount = required_money(py, node, "Amt", at)?;
    let direction = required_direction(py, node, at)?;
    let reversal = matches!(node.text("RvslInd").as_deref(), Some("true" | "1"));
    let booking_date = date(py, node, "BookgDt", at)?;
    let value_date = date(py, node, "ValDt", at)?;
    let transactions = node
        .all(TRANSACTIONS)
        .iter()
        .enumerate()
        .map(|(index, details)| transaction(py, details, index + 1, element, at))
        .collect::<PyResult<Vec<_>>>()?;
    let arguments = crate::arguments![
        py;
            statement_number,
            number,
            amount,
            direction,
            reversal,
            status,
            booking_date,
            value_date,
            node.text("AcctSvcrRef"),
            node.text("NtryRef"),
            bank_transaction_code(node),
            node.text("AddtlNtryInf"),
            objects::tuple(py, transactions)?,
            at.to_python(py)?,
    ];
    classes(py)?.entry.call1(py, arguments)
}

fn transaction(
    py: Python<'_>,
    element: &Element,
    number: usize,
    entry: &Element,
    entry_at: &At,
) -> PyResult<PyObject> {
    let relative = entry
        .path_to(element)
        .expect("a transaction lies inside its entry");
    let at = At {
        path: format!("{}/{relative}", entry_at.path),
        line: element.line,
    };
    let node = Node(element);
    let amount = match optional_money(py, node, "Amt", &at)? {
        Some(amount) => Some(amount),
        None => optional_money(py, node, "AmtDtls/TxAmt/Amt", &at)?,
    };
    let direction = match node.text("CdtDbtInd") {
        Some(indicator) => Some(self::direction(py, &indicator, &at)?),
        None => None,
    };
    let remittance_lines: Vec<String> = ["RmtInf/Ustrd", "RmtInf/Strd/AddtlRmtInf"]
        .iter()
        .flat_map(|path| node.all(path))
        .filter_map(|found| cleaned(&found.text))
        .collect();
    let references = node
        .all("RmtInf/Strd/CdtrRefInf")
        .iter()
        .filter_map(|found| creditor_reference(py, found).transpose())
        .collect::<PyResult<Vec<_>>>()?;
    let documents: Vec<String> = node
        .all("RmtInf/Strd/RfrdDocInf")
        .iter()
        .filter_map(|found| Node(found).text("Nb"))
        .collect();
    let details = crate::arguments![
        py;
        number,
        amount,
        direction,
        node.text("Refs/EndToEndId"),
        node.text("Refs/AcctSvcrRef"),
        party(py, node, "RltdPties/Dbtr", "RltdPties/DbtrAcct")?,
        party(py, node, "RltdPties/Cdtr", "RltdPties/CdtrAcct")?,
        objects::tuple(py, strings(py, remittance_lines))?,
        objects::tuple(py, references)?,
        objects::tuple(py, strings(py, documents))?,
        node.text("AddtlTxInf"),
        at.to_python(py)?,
        return_reason(node),
    ];
    classes(py)?.transaction_details.call1(py, details)
}

/// RtrInf: the reason code (Cd or Prtry) and the bank's words, if the transaction returns an
/// earlier payment.
fn return_reason(node: Node<'_>) -> Option<String> {
    node.first("RtrInf")?;
    let code = node
        .text("RtrInf/Rsn/Cd")
        .or_else(|| node.text("RtrInf/Rsn/Prtry"));
    let words: Vec<String> = node
        .all("RtrInf/AddtlInf")
        .iter()
        .filter_map(|found| cleaned(&found.text))
        .collect();
    let parts: Vec<String> = code
        .into_iter()
        .chain(Some(words.join(" ")))
        .filter(|part| !part.is_empty())
        .collect();
    Some(if parts.is_empty() {
        "no reason given".to_owned()
    } else {
        parts.join(": ")
    })
}

fn creditor_reference(py: Python<'_>, element: &Element) -> PyResult<Option<PyObject>> {
    let node = Node(element);
    let Some(value) = node.text("Ref") else {
        return Ok(None);
    };
    let code = node
        .text("Tp/CdOrPrtry/Cd")
        .or_else(|| node.text("Tp/CdOrPrtry/Prtry"));
    let reference = classes(py)?
        .creditor_reference
        .call1(py, (value, code, node.text("Tp/Issr")))?;
    Ok(Some(reference))
}

fn party(py: Python<'_>, node: Node<'_>, party: &str, account: &str) -> PyResult<PyObject> {
    let name = node
        .text_in(party, "Nm")
        .or_else(|| node.text_in(party, "Pty/Nm"));
    let iban = node.text_in(account, "Id/IBAN");
    let other_id = node.text_in(account, "Id/Othr/Id");
    if name.is_none() && iban.is_none() && other_id.is_none() {
        return Ok(py.None());
    }
    classes(py)?.party.call1(py, (name, iban, other_id))
}

pub fn account(py: Python<'_>, element: &Element) -> PyResult<(PyObject, bool)> {
    let node = Node(element);
    let (iban, other_id) = (node.text("Id/IBAN"), node.text("Id/Othr/Id"));
    let identified = iban.is_some() || other_id.is_some();
    let account = classes(py)?
        .account
        .call1(py, (iban, other_id, node.text("Ccy")))?;
    Ok((account, identified))
}

pub fn balance(py: Python<'_>, element: &Element, at: &At) -> PyResult<PyObject> {
    let node = Node(element);
    let code = node
        .text("Tp/CdOrPrtry/Cd")
        .or_else(|| node.text("Tp/CdOrPrtry/Prtry"))
        .ok_or_else(|| missing(py, at, "Tp/CdOrPrtry", "a balance states no type"))?;
    let amount = required_money(py, node, "Amt", at)?;
    let direction = required_direction(py, node, at)?;
    let on = date(py, node, "Dt", at)?;
    classes(py)?
        .balance
        .call1(py, (code, amount, direction, on, at.to_python(py)?))
}

pub fn summary(py: Python<'_>, element: &Element, at: &At) -> PyResult<PyObject> {
    let node = Node(element);
    let entries = stated_total(py, node, "TtlNtries", at)?;
    let credits = stated_total(py, node, "TtlCdtNtries", at)?;
    let debits = stated_total(py, node, "TtlDbtNtries", at)?;
    classes(py)?
        .transactions_summary
        .call1(py, (entries, credits, debits))
}

fn stated_total(py: Python<'_>, node: Node<'_>, name: &str, at: &At) -> PyResult<PyObject> {
    let Some(found) = node.first(name) else {
        return Ok(py.None());
    };
    let here = At {
        path: format!("{}/{name}", at.path),
        line: found.line,
    };
    let count = match node.first_in(name, "NbOfNtries") {
        Some(count) => Some(whole_number(py, count, &here)?),
        None => None,
    };
    let total = match node.text_in(name, "Sum") {
        Some(sum) => Some(decimal(py, &sum, &here)?),
        None => None,
    };
    classes(py)?
        .stated_total
        .call1(py, (count, total, here.to_python(py)?))
}

fn bank_transaction_code(node: Node<'_>) -> Option<String> {
    match node.text("BkTxCd/Domn/Cd") {
        Some(domain) => {
            let codes: Vec<String> = [
                Some(domain),
                node.text("BkTxCd/Domn/Fmly/Cd"),
                node.text("BkTxCd/Domn/Fmly/SubFmlyCd"),
            ]
            .into_iter()
            .flatten()
            .collect();
            Some(codes.join("/"))
        }
        None => node.text("BkTxCd/Prtry/Cd"),
    }
}

// Values

fn required_money(py: Python<'_>, node: Node<'_>, path: &str, at: &At) -> PyResult<PyObject> {
    optional_money(py, node, path, at)?.ok_or_else(|| missing(py, at, path, "no amount"))
}

fn optional_money(
    py: Python<'_>,
    node: Node<'_>,
    path: &str,
    at: &At,
) -> PyResult<Option<PyObject>> {
    let Some(found) = node.first(path) else {
        return Ok(None);
    };
    let currency = match found.currency.as_deref() {
        Some(currency) if !currency.is_empty() => currency,
        _ => return Err(wrong(py, at, path, "the amount has no Ccy attribute")),
    };
    let minor = minor_units(&found.text, currency).map_err(|error| {
        let message = error.message(|text| crate::python::repr(py, text));
        wrong(py, at, path, &message)
    })?;
    let money = classes(py)?
        .money
        .call_method1(py, "of", (minor, currency))?;
    Ok(Some(money))
}

fn required_direction(py: Python<'_>, node: Node<'_>, at: &At) -> PyResult<&'static str> {
    let indicator = node
        .text("CdtDbtInd")
        .ok_or_else(|| missing(py, at, "CdtDbtInd", "no credit/debit indicator"))?;
    direction(py, &indicator, at)
}

fn direction(py: Python<'_>, indicator: &str, at: &At) -> PyResult<&'static str> {
    match indicator {
        "CRDT" => Ok("credit"),
        "DBIT" => Ok("debit"),
        other => {
            let message = format!(
                "{} is neither CRDT nor DBIT",
                crate::python::repr(py, other)
            );
            Err(wrong(py, at, "CdtDbtInd", &message))
        }
    }
}

fn date(py: Python<'_>, node: Node<'_>, path: &str, at: &At) -> PyResult<Option<PyObject>> {
    let day = node.text_in(path, "Dt");
    let instant = node.text_in(path, "DtTm");
    let read = match (&day, &instant) {
        (Some(day), _) => objects::iso_date(py, day),
        (None, Some(instant)) => objects::iso_datetime_date(py, instant),
        (None, None) => return Ok(None),
    };
    read.map(Some).map_err(|_| {
        let text = day.or(instant).unwrap_or_default();
        let message = format!("{} is not an ISO 8601 date", crate::python::repr(py, &text));
        wrong(py, at, path, &message)
    })
}

/// A number of entries or a sequence number: ASCII digits, read as a Python int of any size.
pub fn whole_number(py: Python<'_>, element: &Element, at: &At) -> PyResult<PyObject> {
    let text = cleaned(&element.text).unwrap_or_default();
    let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
    let number = if digits {
        objects::integer(py, &text).ok()
    } else {
        None
    };
    number.ok_or_else(|| {
        let reason = format!("{} is not a whole number", crate::python::repr(py, &text));
        super::python::malformed(py, &reason, &[(&at.describe(), "expected a whole number")])
    })
}

fn decimal(py: Python<'_>, text: &str, at: &At) -> PyResult<PyObject> {
    objects::decimal(py, text).map_err(|_| {
        let reason = format!("{} is not a decimal number", crate::python::repr(py, text));
        super::python::malformed(py, &reason, &[(&at.describe(), "expected a decimal")])
    })
}

fn strings(py: Python<'_>, texts: Vec<String>) -> Vec<PyObject> {
    texts
        .into_iter()
        .map(|text| PyString::new(py, &text).into_any().unbind())
        .collect()
}
