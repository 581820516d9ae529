"""`python -m adsgen`: the same command line as the `adsgen` console script."""

from adsgen.cli import main

if __name__ == "__main__":
    main()
