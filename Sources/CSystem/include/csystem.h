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

/// fcntl(F_SETLEASE, F_RDLCK): a read lease, refused with EAGAIN exactly when some process holds
/// the file open for writing. Returns 0 when granted (release it with batchgate_release_lease).
int batchgate_take_read_lease(int fd);

/// fcntl(F_SETLEASE, F_UNLCK).
int batchgate_release_lease(int fd);

/// fstatfs(2)'s f_type (the filesystem's magic number) into `type`; returns what fstatfs returns.
int batchgate_filesystem_type(int fd, unsigned long long *type);

/// getrandom(2) with no flags: up to `length` random bytes into `buffer` (all of them for up to
/// 256 bytes); returns how many, or -1.
long batchgate_random_bytes(void *buffer, unsigned long length);

#endif
