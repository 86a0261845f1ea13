/* Asking a Python interpreter for its paths (see python.h). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/python.h"
#include "shared/macro.h"

extern char **environ;

/* One path per line, in the order of python_info_t. distlib is Gramine's formula: the stdlib
 * path for the major version only, plus dist-packages. */
static const char query[] =
        "import sysconfig\n"
        "p = sysconfig.get_paths()\n"
        "print(p['stdlib']); print(p['platstdlib']); print(p['purelib'])\n"
        "print(sysconfig.get_path('stdlib', vars={'py_version_short': '3'}) + '/dist-packages')\n";

void python_info_done(python_info_t *info)
{
        free(info->stdlib);
        free(info->platstdlib);
        free(info->purelib);
        free(info->distlib);
        *info = (python_info_t){0};
}

int python_query(const char *python, python_info_t *ret)
{
        char *args[] = {(char *)python, "-I", "-c", (char *)query, NULL};
        python_info_t info = {0};
        char **fields[] = {&info.stdlib, &info.platstdlib, &info.purelib, &info.distlib};
        posix_spawn_file_actions_t actions;
        _cleanup_fclose_ FILE *out = NULL;
        char *line = NULL;
        size_t line_size = 0, n = 0;
        int fds[2], status, r;
        pid_t pid;

        if (pipe2(fds, O_CLOEXEC) < 0)
                return -errno;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
        r = posix_spawn(&pid, python, &actions, NULL, args, environ);
        posix_spawn_file_actions_destroy(&actions);
        close(fds[1]);
        if (r != 0) {
                close(fds[0]);
                return -r;
        }
        out = fdopen(fds[0], "r");
        if (!out) {
                r = -errno;
                close(fds[0]);
                waitpid(pid, NULL, 0);
                return r;
        }
        while (getline(&line, &line_size, out) > 0) {
                line[strcspn(line, "\n")] = '\0';
                if (n < ELEMENTSOF(fields) && line[0] == '/')
                        *fields[n] = strdup(line);
                n++;
        }
        free(line);
        if (waitpid(pid, &status, 0) < 0)
                r = -errno;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n != ELEMENTSOF(fields))
                r = -EPROTO;
        for (size_t i = 0; r == 0 && i < ELEMENTSOF(fields); i++)
                if (!*fields[i])
                        r = -EPROTO; /* not a path, or strdup() failed */
        if (r < 0) {
                python_info_done(&info);
                return r;
        }
        *ret = info;
        return 0;
}
