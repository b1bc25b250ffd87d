import sys

from ingestion.bootstrap import SERVICE
from ingestion.entrypoints import cli
from settle_shared.runtime import main

if __name__ == "__main__":
    if sys.argv[1:2] == ["import"]:
        sys.exit(cli.main(sys.argv[2:]))
    main(SERVICE)
