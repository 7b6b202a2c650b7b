"""``python -m coursekit.data prepare [mnist fashion_mnist hymenoptera]``: prepare the datasets into data/."""

import sys

from .prepare import main

if __name__ == "__main__":
    sys.exit(main())
