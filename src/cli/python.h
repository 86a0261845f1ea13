/* The Python facts a manifest template asks for ({{ python.stdlib }} and friends), read from
 * the interpreter itself once, the first time a template names one, as Gramine's template
 * environment does with sysconfig. */
#pragma once

typedef struct python_info {
        char *stdlib;     /* sysconfig.get_paths()["stdlib"], e.g. /usr/lib/python3.11 */
        char *platstdlib; /* ["platstdlib"] */
        char *purelib;    /* ["purelib"], e.g. /usr/local/lib/python3.11/dist-packages */
        char *distlib;    /* Debian's dist-packages: /usr/lib/python3/dist-packages */
} python_info_t;

/* Runs `python -I -c ...` (python is a path) and fills *ret. Returns 0, or a negative errno:
 * -ENOENT/-EACCES when it cannot be run, -EPROTO when it ran but did not answer as expected
 * (its stderr is passed through). */
int python_query(const char *python, python_info_t *ret);

void python_info_done(python_info_t *info);
