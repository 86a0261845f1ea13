import os
import sys

# A chain python -> sh -> python -> sh -> python: each level starts the next through
# os.system, as callprocess.py does, until level 0 says hello.
level = int(sys.argv[1])
if level == 0:
    print("level 0: helloworld")
    sys.exit(0)
status = os.system("python3 scripts/chain.py {}".format(level - 1))
print("level {}: exit code of child process: {}".format(level, status))
sys.exit(0 if status == 0 else 1)
