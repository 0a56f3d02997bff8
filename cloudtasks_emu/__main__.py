"""`python -m cloudtasks_emu start ...`"""

from .cli import main

if __name__ == "__main__":
    main()
