#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <sys/random.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "csystem.h"

int batchgate_rename_noreplace(int olddirfd, const char *oldpath, int newdirfd, const char *newpath) {
    return renameat2(olddirfd, oldpath, newdirfd, newpath, RENAME_NOREPLACE);
}

int batchgate_syncfs(int fd) {
    return syncfs(fd);
}

int batchgate_malloc_trim(void) {
    return malloc_trim(0);
}

int batchgate_take_read_lease(int fd) {
    return fcntl(fd, F_SETLEASE, F_RDLCK);
}

int batchgate_release_lease(int fd) {
    return fcntl(fd, F_SETLEASE, F_UNLCK);
}

int batchgate_filesystem_type(int fd, unsigned long long *type) {
    struct statfs info;
    int result = fstatfs(fd, &info);
    if (result == 0) *type = (unsigned long long)info.f_type;
    return result;
}

long batchgate_random_bytes(void *buffer, unsigned long length) {
    return getrandom(buffer, length, 0);
}
