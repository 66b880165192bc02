"""Run the cjsx command as ``python -m cjsx``."""

from cjsx.cli import main

main()
