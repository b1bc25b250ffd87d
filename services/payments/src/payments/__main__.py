import sys

from payments.bootstrap import SERVICE
from payments.entrypoints import parse
from settle_shared.runtime import main

if sys.argv[1:2] == ["parse"]:
    sys.exit(parse.main(sys.argv[2:]))
main(SERVICE)
