/* Runs a command with some syscalls failing, to test how lamina copes with a kernel that lacks
 * them or a host that forbids them (no Landlock, no user namespaces):
 *   deny-syscall NAME:ERRNO[,NAME:ERRNO...] COMMAND [ARGS...]
 * e.g. deny-syscall landlock_create_ruleset:38 lamina run ... (38 = ENOSYS). The filter is
 * inherited by COMMAND and everything it starts. */
#include <errno.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        scmp_filter_ctx ctx;
        char *list, *item, *save = NULL;

        if (argc < 3) {
                fprintf(stderr, "usage: %s NAME:ERRNO[,...] COMMAND [ARGS...]\n", argv[0]);
                return 2;
        }
        ctx = seccomp_init(SCMP_ACT_ALLOW);
        list = strdup(argv[1]);
        if (!ctx || !list)
                return 1;
        for (item = strtok_r(list, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
                char *colon = strchr(item, ':');
                int nr;

                if (!colon) {
                        fprintf(stderr, "deny-syscall: '%s' is not NAME:ERRNO\n", item);
                        return 2;
                }
                *colon = '\0';
                nr = seccomp_syscall_resolve_name(item);
                if (nr == __NR_SCMP_ERROR ||
                    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(atoi(colon + 1)), nr, 0) < 0) {
                        fprintf(stderr, "deny-syscall: cannot deny '%s'\n", item);
                        return 1;
                }
        }
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0) {
                perror("deny-syscall");
                return 1;
        }
        seccomp_release(ctx);
        free(list);
        execvp(argv[2], argv + 2);
        perror("deny-syscall: exec");
        return 127;
}
