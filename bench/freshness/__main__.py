import sys

from bench.freshness.run import main

sys.exit(main())
