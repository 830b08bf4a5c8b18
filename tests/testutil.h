/*
 * testutil.h - small helpers the test programs share: a private temporary
 * folder for files a test writes, removed (with its files) afterwards.
 */
#ifndef NORIAI_TESTUTIL_H
#define NORIAI_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Creates /tmp/noriai-test-<tag>-?????? into dir; 0 or -1. */
static inline int tu_tmpdir_create(char *dir, size_t len, const char *tag)
{
    snprintf(dir, len, "/tmp/noriai-test-%s-XXXXXX", tag); /* mkdtemp's template */
    return mkdtemp(dir) == NULL ? -1 : 0;
}

/* Removes the files in dir (one level) and dir itself. */
static inline void tu_tmpdir_remove(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char p[600];

    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

#endif
