"""A statement's fingerprint is how an upload of it again is recognised, so it must never change:
these are the fingerprints stored for corpus statements before statements were read and put into
canonical JSON by compiled code (each was computed with the Python code of efe1834)."""

from pathlib import Path

import pytest

from payments.adapters.statement_files import read_statement_file
from payments.domain.checks import check_file

CORPORA = Path(__file__).parents[2] / "fixtures" / "corpora"


@pytest.mark.parametrize(
    ("name", "fingerprints"),
    [
        (
            "camt053/genkgo_camt053_v02_multi_statement.xml",
            [
                "ae1472822bd8b2c8c3242660515d040b3d86492ccc15e07af5ede98ffe269779",
                "187eb248a5c66fec238c71188736db135e1dc37e06b6b436e6b0a05e1a909e9c",
            ],
        ),
        (
            "camt053/viafintech_camt053_v04_ch_postfinance.xml",
            ["49a3d77c666432b702fba9066f6bfd6a223ae4d48bb7d76cec7f7d3f9abd6176"],
        ),
        (
            "camt054/dvbern_camt054_v08_ch_qrr.xml",
            ["5a44ee83c40d0eafdba8335a8362f920b8170cdb7982b6eac0ebc805b8eeab5e"],
        ),
        (
            "mt940/wolph_mbank.sta",
            ["62ae957eec05483f499f9d3e198b18718dfac122a431724abfad206a6681b3f3"],
        ),
    ],
)
def test_a_statement_keeps_the_fingerprint_stored_for_it_before(
    name: str, fingerprints: list[str]
) -> None:
    with (CORPORA / name).open("rb") as file:
        checked = check_file(read_statement_file(file))

    assert [statement.fingerprint for statement in checked] == fingerprints
