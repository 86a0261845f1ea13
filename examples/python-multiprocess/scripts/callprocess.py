import os

# Python -> sh -> Python: os.system forks, the child execs /bin/sh, the shell forks and execs
# python3 (see the README for why Graphene needed a trick for this chain).
status = os.system("python3 scripts/helloworld.py")
print("exit code of child process: {}".format(status))
