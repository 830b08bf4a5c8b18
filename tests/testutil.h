/*
 * testutil.h - small helpers the test programs share: a private temporary
 * folder for files a test writes, removed (with its files) afterwards, and
 * the way to the shared data beside the repository.
 */
#ifndef NORIAI_TESTUTIL_H
#define NORIAI_TESTUTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * The shared folder ($NORIAI_SHARED, else ../shared) into dir, checked by
 * looking for the file probe inside it.  Returns 0, or -1 with the missing
 * path in dir (for the caller's failure message).
 */
static inline int tu_shared_dir(char *dir, size_t len, const char *probe)
{
    const char *env = getenv("NORIAI_SHARED");
    char path[1400];
    struct stat st;

    snprintf(dir, len, "%s", env && *env ? env : "../shared");
    snprintf(path, sizeof(path), "%s/%s", dir, probe);
    if (stat(path, &st) != 0) {
        size_t n = strlen(path) < len ? strlen(path) : len - 1;
        memcpy(dir, path, n);
        dir[n] = '\0';
        return -1;
    }
    return 0;
}

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
