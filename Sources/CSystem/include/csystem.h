// Linux system calls that Swift's Glibc module does not show, because their declarations need
// _GNU_SOURCE. Each wrapper returns what the call returns and leaves errno set on failure.
#ifndef BATCHGATE_CSYSTEM_H
#define BATCHGATE_CSYSTEM_H

/// renameat2(2) with RENAME_NOREPLACE: fails with EEXIST instead of replacing the target, and
/// with EINVAL or ENOSYS where the kernel or filesystem does not support the flag.
int batchgate_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath);

/// syncfs(2): flushes every dirty file of the filesystem that holds `fd` to disk.
int batchgate_syncfs(int fd);

#endif
