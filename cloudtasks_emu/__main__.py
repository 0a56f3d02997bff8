"""`python -m cloudtasks_emu start ...`"""

from .cli import main

main()
