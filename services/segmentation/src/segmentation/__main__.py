from settle_shared.runtime import main

from segmentation.bootstrap import SERVICE

main(SERVICE)
