/*
 * zip.h - reads one file out of a .zip archive (GTFS feeds come zipped).
 *
 * Only what feeds use: single-disk archives, entries stored (method 0) or
 * deflated (method 8).  Zip64, encrypted entries, other methods and split
 * archives are refused with a message saying so.  Every size and offset in the
 * archive is checked against the file before it is used, the uncompressed size
 * is capped by the caller, and the data's CRC-32 and length must match the
 * central directory: a damaged archive gives ZIP_EFORMAT (or ZIP_ECRC), never
 * a crash or an allocation larger than the cap.
 */
#ifndef NORIAI_ZIP_H
#define NORIAI_ZIP_H

#include <stddef.h>

#define ZIP_ERRNO_MAP(X)                                                                           \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(INVAL, -2, "invalid argument")                                                               \
    X(OPEN, -3, "cannot read file")                                                                \
    X(FORMAT, -4, "not a zip archive or a damaged one")                                            \
    X(UNSUPPORTED, -5, "zip feature not supported")                                                \
    X(NOTFOUND, -6, "no such file in the archive")                                                 \
    X(TOOBIG, -7, "file in the archive too large")                                                 \
    X(CRC, -8, "checksum mismatch")

enum {
#define ZIP_ERR_ENUM(name, code, msg) ZIP_E##name = (code),
    ZIP_ERRNO_MAP(ZIP_ERR_ENUM)
#undef ZIP_ERR_ENUM
};

const char *zip_strerror(int err);

/* The archive's central directory holds at most this many entries. */
#define ZIP_MAX_ENTRIES 65535

/*
 * Reads the entry called name from the archive at path into a new buffer
 * (*data, malloc'd, NUL-terminated after *len bytes; the caller frees it).
 * name matches an entry's full name, or else the base name of exactly one
 * entry ("feed/stops.txt" for "stops.txt"); several such entries are an error.
 * Entries larger than max_len bytes are refused with ZIP_ETOOBIG.
 * On error *data is NULL and err says what is wrong, starting with path.
 */
int zip_read_entry(const char *path, const char *name, size_t max_len, char **data, size_t *len,
                   char *err, size_t err_len);

#endif
