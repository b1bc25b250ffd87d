from payments.bootstrap import SERVICE
from settle_shared.runtime import main

main(SERVICE)
