#!/bin/sh
# check-layers.sh - checks that every #include between the project's folders
# follows the layering of DESIGN.md ("Shape"); docs/architecture.md explains
# it, and the table below is the authority.
#
#   scripts/check-layers.sh         (from anywhere; reads the repository it lives in)
#
# Every .c and .h file in solver/ data/ dispatcher/ simulator/ api/ (not
# tests/, not api/web/ - no C there, only npm packages) is read; each
# `#include "x"` (and `#include <x>` naming one of those folders) is resolved
# to a repository path - root-relative when it starts with one of the five
# folders, as the Makefile's -I. has it, else relative to the including
# file (so a quoted system header counts as the file's own folder) - and the
# folder of the including file must have an edge to the folder of the header.
# Generated protobuf-c headers (data/proto/*.pb-c.h, found through -I$(GEN))
# are judged by the path they are included under: they belong to data.
#
# Prints each violation as "file:line: folder may not include header" and
# exits 1; otherwise prints one summary line and exits 0.  POSIX sh + awk.
set -u

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

# folder: the folders it may include from ("*" = any).  A folder of a file is
# its api/<sub>/ for api, else its top-level folder.  A folder missing here may
# include nothing (a new folder needs a line, and a reason, here first).
LAYERS='
solver: solver
data: data solver
dispatcher: dispatcher data solver
simulator: simulator dispatcher data solver
api/http: api/http
api/server: api/server api/http dispatcher data solver
api/cli: *
'

files=$(find solver data dispatcher simulator api -path api/web -prune -o \
    -type f \( -name '*.c' -o -name '*.h' \) -print 2>/dev/null | LC_ALL=C sort)
if [ -z "$files" ]; then
    echo "check-layers: no source files found under $ROOT" >&2
    exit 2
fi

# shellcheck disable=SC2086 # the file list is split on purpose (no blanks in our paths)
printf '%s\n' $files | awk -v layers="$LAYERS" '
function folder_of(path,    n, p) {
    n = split(path, p, "/")
    if (p[1] == "api")
        return n >= 3 ? "api/" p[2] : "api"
    return p[1]
}
function dir_of(path) {
    sub(/\/[^\/]*$/, "", path)
    return path
}
# "a/b/../c/./d.h" -> "a/c/d.h"
function normalize(path,    n, p, out, k, i) {
    n = split(path, p, "/")
    k = 0
    for (i = 1; i <= n; i++) {
        if (p[i] == "" || p[i] == ".")
            continue
        if (p[i] == "..") {
            if (k > 0)
                k--
            continue
        }
        out[++k] = p[i]
    }
    path = ""
    for (i = 1; i <= k; i++)
        path = path (i > 1 ? "/" : "") out[i]
    return path
}
function ours(path) {
    return path ~ /^(solver|data|dispatcher|simulator|api)\//
}
BEGIN {
    n = split(layers, lines, "\n")
    for (i = 1; i <= n; i++) {
        if (lines[i] !~ /:/)
            continue
        from = lines[i]
        sub(/:.*/, "", from)
        rest = lines[i]
        sub(/^[^:]*:/, "", rest)
        m = split(rest, tos, " ")
        known[from] = 1
        for (j = 1; j <= m; j++)
            allowed[from, tos[j]] = 1
    }
}
{
    file = $0
    from = folder_of(file)
    nfiles++
    lineno = 0
    while ((getline line < file) > 0) {
        lineno++
        if (line !~ /^[ \t]*#[ \t]*include[ \t]*["<]/)
            continue
        quoted = line ~ /^[ \t]*#[ \t]*include[ \t]*"/
        hdr = line
        sub(/^[ \t]*#[ \t]*include[ \t]*["<]/, "", hdr)
        sub(/[">].*$/, "", hdr)
        if (!quoted && !ours(hdr))
            continue
        if (!ours(hdr)) {
            rel = normalize(dir_of(file) "/" hdr)
            if (!ours(rel))
                continue # above the repository: not ours
            hdr = rel
        }
        hdr = normalize(hdr)
        nincl++
        to = folder_of(hdr)
        if (allowed[from, "*"] || allowed[from, to])
            continue
        why = known[from] ? "" : " (no line for " from " in the layer table)"
        printf "%s:%d: %s may not include %s%s\n", file, lineno, from, hdr, why
        nbad++
    }
    close(file)
}
END {
    if (nbad > 0) {
        printf "check-layers: %d violation(s) in %d includes of %d files\n", nbad, nincl, nfiles
        exit 1
    }
    printf "check-layers: %d files, %d project includes, all within the allowed layers\n", nfiles, nincl
}
'
