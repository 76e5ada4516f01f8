#define _GNU_SOURCE
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
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
