// Linux calls that Swift's Glibc module does not show: their declarations need _GNU_SOURCE, or
// sit in a header the module leaves out (malloc.h). Each wrapper returns what the call returns
// and leaves errno set on failure.
#ifndef BATCHGATE_CSYSTEM_H
#define BATCHGATE_CSYSTEM_H

/// renameat2(2) with RENAME_NOREPLACE: fails with EEXIST instead of replacing the target, and
/// with EINVAL or ENOSYS where the kernel or filesystem does not support the flag.
int batchgate_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/// syncfs(2): flushes every dirty file of the filesystem that holds `fd` to disk.
int batchgate_syncfs(int fd);

/// malloc_trim(0): gives the free memory of every malloc arena back to the system. Returns 1
/// when some was given back.
int batchgate_malloc_trim(void);

#endif
