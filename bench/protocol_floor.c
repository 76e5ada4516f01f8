// What the routing protocol alone costs the kernel: the system calls the daemon makes for each
// manifest with fsync off (Router: open and lease ask, claim, read, free-name look-ups, two report
// files, the stamp check, the move), replayed in one thread over N staged files, with nothing
// else: no inotify, no evaluation, no second thread. The figure behind "94 to 115 µs of CPU a
// manifest" in docs/benchmarks.md, to set beside the burst's rename floor.
//
//   cc -O2 -o /tmp/protocol_floor bench/protocol_floor.c && /tmp/protocol_floor DIR [N]
//
// DIR must be an empty folder on the filesystem to measure; it is left full (N manifests and 2 N
// reports): delete it after, and on ext4 without a journal wait 5 minutes after deleting many
// files before measuring again.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

static double cpu(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_utime.tv_usec / 1e6 + u.ru_stime.tv_sec + u.ru_stime.tv_usec / 1e6;
}

static int folder(int parent, const char *name) {
    mkdirat(parent, name, 0755);
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY);
    if (fd < 0) { perror(name); exit(1); }
    return fd;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: %s DIR [N]\n", argv[0]); return 64; }
    int n = argc > 2 ? atoi(argv[2]) : 10000;
    int root = open(argv[1], O_RDONLY | O_DIRECTORY);
    if (root < 0) { perror(argv[1]); return 66; }
    int staging = folder(root, "staging"), inbox = folder(root, "inbox");
    int processing = folder(root, "processing"), outcome = folder(root, "accepted");
    char name[128], json[160], text[160], buffer[4096], manifest[300], report[700];
    memset(manifest, 'x', sizeof manifest);
    memset(report, 'y', sizeof report);
    struct stat status;

    // The burst as the bench drops it: staged, flushed, then renamed into the inbox.
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "burst-%06d.json", i);
        int fd = openat(staging, name, O_WRONLY | O_CREAT | O_EXCL, 0640);
        if (fd < 0 || write(fd, manifest, sizeof manifest) != sizeof manifest) { perror(name); return 1; }
        close(fd);
    }
    sync();
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "burst-%06d.json", i);
        renameat(staging, name, inbox, name);
    }

    double started = now(), cpuStarted = cpu();
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "burst-%06d.json", i);
        snprintf(json, sizeof json, "%s.report.json", name);
        snprintf(text, sizeof text, "%s.report.txt", name);
        // Opened once, the lease asked and given back (no writer holds it), claimed, read.
        int fd = openat(inbox, name, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
        fcntl(fd, F_SETLEASE, F_RDLCK);
        fcntl(fd, F_SETLEASE, F_UNLCK);
        renameat2(inbox, name, processing, name, RENAME_NOREPLACE);
        fstat(fd, &status);
        (void)pread(fd, buffer, status.st_size + 1, 0);
        fstat(fd, &status);
        close(fd);
        // The free-name look-ups, the two reports, the stamp check and the move.
        fstatat(outcome, name, &status, AT_SYMLINK_NOFOLLOW);
        fstatat(outcome, json, &status, AT_SYMLINK_NOFOLLOW);
        fstatat(outcome, text, &status, AT_SYMLINK_NOFOLLOW);
        int out = openat(outcome, json, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        (void)write(out, report, 600);
        close(out);
        out = openat(outcome, text, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
        (void)write(out, report, 400);
        close(out);
        fstatat(processing, name, &status, AT_SYMLINK_NOFOLLOW);
        renameat2(processing, name, outcome, name, RENAME_NOREPLACE);
    }
    printf("%d manifests: %.3f s wall, %.1f us CPU a manifest\n", n, now() - started, (cpu() - cpuStarted) / n * 1e6);
    return 0;
}
